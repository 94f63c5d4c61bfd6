/* SPDX-License-Identifier: MIT */
#pragma once

/* THE policy: one static table, default deny. Each row is a rule: its name, the
 * methods and path patterns it covers (after the API version prefix), who may use it
 * (identity.h's kinds), the object its path names and the checks of the body or query.
 * The first row whose method and path match decides; a request no row matches is
 * refused by "default-deny". `dind-cache authz --policy` prints the table as README
 * shows it (a test holds the two together).
 *
 * Before the table, whatever the row:
 *   uri           a request target dockerd would not serve as it is (request-uri.h)
 *   form-body     a form Content-Type: Go would read form values from the body
 * Then, for the matched row:
 *   ROW'S RULE    the caller's identity is not in the row's "who"
 *   hidden-body   the row trusts the query, but the plugin did not get a body the
 *                 daemon may read as a form (request has a body that is not JSON, and
 *                 not "Content-Length: 0"): the form's values would override the query
 *   body-required the row checks a JSON body, and dockerd did not forward one (over
 *                 1 MiB, chunked with a non-JSON type, ...)
 *   not-your-*    the object the path names is not the caller's (owners.h)
 *   and the checks' own rules (container-create.h, volume-network.h), and for builds
 *   build-network (networkmode=host or container:) and cgroup-parent.
 *
 * Invariants: policy_decide() always gives a verdict; a refusal's message starts
 * "rule NAME: " (verdict.h). Library: never prints; negative errno (-ENOMEM) only. */

#include <stdio.h>

#include "authz/verdict.h"

enum policy_object {
        POLICY_OBJECT_NONE,
        POLICY_OBJECT_CONTAINER,        /* the path's {id} */
        POLICY_OBJECT_EXEC,
        POLICY_OBJECT_VOLUME,
        POLICY_OBJECT_NETWORK,
        POLICY_OBJECT_COMMIT,           /* the query's container= */
};

enum policy_check {
        POLICY_CHECK_NONE,
        POLICY_CHECK_CONTAINER_CREATE,
        POLICY_CHECK_CONTAINER_UPDATE,
        POLICY_CHECK_EXEC_CREATE,
        POLICY_CHECK_VOLUME_CREATE,
        POLICY_CHECK_NETWORK_CREATE,
        POLICY_CHECK_NETWORK_CONNECT,
        POLICY_CHECK_BUILD,
};

enum policy_learn {
        POLICY_LEARN_NONE,
        POLICY_LEARN_CONTAINER_CREATE,
        POLICY_LEARN_CONTAINER_REMOVE,
        POLICY_LEARN_CONTAINER_RENAME,
        POLICY_LEARN_CONTAINER_INSPECT,
        POLICY_LEARN_CONTAINER_LIST,
        POLICY_LEARN_CONTAINER_PRUNE,
        POLICY_LEARN_EXEC_CREATE,
        POLICY_LEARN_VOLUME_CREATE,
        POLICY_LEARN_VOLUME_REMOVE,
        POLICY_LEARN_VOLUME_LIST,
        POLICY_LEARN_VOLUME_PRUNE,
        POLICY_LEARN_NETWORK_CREATE,
        POLICY_LEARN_NETWORK_REMOVE,
        POLICY_LEARN_NETWORK_LIST,
        POLICY_LEARN_NETWORK_PRUNE,
};

enum policy_flags {
        POLICY_JSON_BODY = 1 << 0,      /* the check reads a JSON body: none is refused */
        POLICY_QUERY_TRUSTED = 1 << 1,  /* decided or learned on the query: no hidden body (a
                                         * JSON_BODY row has none: a body forwarded is JSON) */
        POLICY_UNKNOWN_OK = 1 << 2,     /* an object the plugin does not know passes (reads) */
        POLICY_BUILD = 1 << 3,          /* counted as a build (issue 17's figures) */
};

#define POLICY_WHO_NODE (IDENTITY_CHECKER_KIND | IDENTITY_PRUNER_KIND | IDENTITY_PRUNE_JOB_KIND)
#define POLICY_WHO_PRUNERS (IDENTITY_PRUNER_KIND | IDENTITY_PRUNE_JOB_KIND)
#define POLICY_WHO_ALL (IDENTITY_TENANT | POLICY_WHO_NODE)

struct policy_row {
        const char *rule;
        const char *methods;            /* space-separated; "*" any */
        const char *paths[4];           /* see policy_path_matches() */
        unsigned who;                   /* enum identity_kind bits */
        enum policy_object object;
        enum policy_check check;
        unsigned flags;
        enum policy_learn learn;
        const char *checks;             /* the checks, in README's words */
        const char *refusal;            /* said to a caller the row is not for; NULL: generic */
};

extern const struct policy_row policy_table[];
extern const size_t policy_table_size;

/* PATTERN's "/"-separated segments: a literal; "(a|b|c)" one of these; "{id}" one
 * segment, the object reference (the first one is put in *RET_REF, a new string);
 * "{name...}" one or more segments; "**" at the end, zero or more. RET_REF may be
 * NULL. -ENOMEM, 0 no match, 1 match. */
int policy_path_matches(const char *pattern, const char *path, char **ret_ref);

/* The row of METHOD and PATH (and its {id}), or NULL. */
const struct policy_row *policy_match(const char *method, const char *path, char **ret_ref);

/* The decision for C->req by C->id. 0 (V filled), or -ENOMEM. */
int policy_decide(const struct authz_ctx *c, struct authz_verdict *v);

/* The table as a Markdown table (README's). */
int policy_print_markdown(FILE *f);
