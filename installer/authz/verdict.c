/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "authz/verdict.h"
#include "base/text.h"

void authz_verdict_done(struct authz_verdict *v) {
        free(v->message);
        *v = (struct authz_verdict) {};
}

int authz_refuse(struct authz_verdict *v, const char *rule, const char *fmt, ...) {
        char text[VERDICT_MESSAGE_MAX];
        va_list ap;
        int n;

        n = snprintf(text, sizeof(text), "rule %s: ", rule);
        va_start(ap, fmt);
        if (n >= 0 && (size_t) n < sizeof(text))
                vsnprintf(text + n, sizeof(text) - (size_t) n, fmt, ap);
        va_end(ap);
        free(v->message);
        v->allow = false;
        v->rule = rule;
        /* Cut at a character boundary, one clean line, whatever the format made. */
        v->message = text_sanitize_line(text, VERDICT_MESSAGE_MAX - 1);
        return v->message ? 1 : -ENOMEM;
}

const char *verdict_quote(const char *s) {
        static char bufs[4][4 * VERDICT_QUOTE_MAX + 8];
        static unsigned next;
        char *buf = bufs[next++ % 4];
        _cleanup_free_ char *e = text_escape(s ?: "", VERDICT_QUOTE_MAX);

        snprintf(buf, sizeof(bufs[0]), "%s", e ?: "?");
        return buf;
}

static int require(const struct authz_ctx *c, enum owner_kind k, const char *ref, const char *rule,
                   bool new_ok, struct authz_verdict *v) {
        const struct owner_record *rec = owners_resolve(c->owners, k, ref);

        if (rec && streq(rec->owner, c->id->name))
                return 0;
        if (!rec && k == OWNER_VOLUME && owners_valid_id(ref))
                return authz_refuse(v, rule, "volume '%s' is not one this identity created (64 hex digits name "
                                    "an anonymous volume the daemon made for a container)", verdict_quote(ref));
        if (!rec && new_ok)
                return 0;
        return authz_refuse(v, rule, "%s '%s' is not one this identity created", owner_kind_to_string(k),
                            verdict_quote(ref));
}

int authz_require_owner(const struct authz_ctx *c, enum owner_kind k, const char *ref, const char *rule,
                        struct authz_verdict *v) {
        return require(c, k, ref, rule, false, v);
}

int authz_require_owner_or_new(const struct authz_ctx *c, enum owner_kind k, const char *ref, const char *rule,
                               struct authz_verdict *v) {
        return require(c, k, ref, rule, true, v);
}
