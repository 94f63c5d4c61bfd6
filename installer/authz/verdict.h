/* SPDX-License-Identifier: MIT */
#pragma once

/* What a decision works with and what it gives: shared by the policy table and the
 * checks of request bodies.
 *
 * Invariants:
 * - Every refusal names its rule: the message dockerd passes on (the docker CLI prints
 *   "authorization denied by plugin dind-cache-authz: MESSAGE") starts "rule NAME: ".
 * - A message is one line of printable UTF-8 of at most VERDICT_MESSAGE_MAX bytes;
 *   what it quotes from the request is escaped (text_escape) and cut at
 *   VERDICT_QUOTE_MAX bytes.
 * - Library: never prints; negative errno. */

#include <stdarg.h>
#include <stdbool.h>

#include "authz/authz-request.h"
#include "authz/identity.h"
#include "authz/owners.h"
#include "base/util.h"

#define VERDICT_MESSAGE_MAX 512
#define VERDICT_QUOTE_MAX 80

struct policy_row;

struct authz_ctx {
        const struct authz_request *req;
        const struct identity *id;
        const struct owners *owners;
};

struct authz_verdict {
        bool allow;
        const char *rule;               /* static: the rule that allowed or refused */
        char *message;                  /* a refusal's text; NULL when allowed */
        const struct policy_row *row;   /* the table's row that matched, or NULL */
};

void authz_verdict_done(struct authz_verdict *v);

/* Refuses by RULE with the text FMT (quote outside input with verdict_quote()).
 * Returns 1 (a refusal), or -ENOMEM. */
int authz_refuse(struct authz_verdict *v, const char *rule, const char *fmt, ...) _printf_(3, 4);

/* S escaped and cut for a message, in a small rotating set of static buffers (four
 * quotes per message at most). */
const char *verdict_quote(const char *s);

/* REF (a name, an ID) must name an object of KIND the caller owns. 0 when it does, 1
 * when refused by RULE (an unknown object is refused alike: nothing tells whether it
 * exists or whose it is), -ENOMEM. */
int authz_require_owner(const struct authz_ctx *c, enum owner_kind k, const char *ref, const char *rule,
                        struct authz_verdict *v);

/* The same, but an object the plugin does not know passes (a named volume a create
 * makes, or one from before the plugin: it becomes the caller's). Not a volume named
 * with 64 hex digits: that is the name the daemon makes up for an anonymous volume
 * (`-v /path`, an image's VOLUME), which `docker volume ls` shows every tenant, and
 * which the plugin learns for its container's owner (learn.h), never for whoever asks
 * first. */
int authz_require_owner_or_new(const struct authz_ctx *c, enum owner_kind k, const char *ref, const char *rule,
                               struct authz_verdict *v);
