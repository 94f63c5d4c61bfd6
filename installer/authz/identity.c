/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "authz/identity.h"
#include "base/util.h"
#include "pki/pki.h"

void identity_cache_done(struct identity_cache *c) {
        for (unsigned i = 0; i < IDENTITY_CACHE; i++)
                free(c->e[i].pem_b64);
        *c = (struct identity_cache) {};
}

bool identity_is_namespace(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > 63 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
                return false;
        return s[0] != '-' && s[n - 1] != '-';
}

const char *identity_kind_to_string(enum identity_kind k) {
        switch (k) {
        case IDENTITY_ANONYMOUS:
                return "anonymous";
        case IDENTITY_TENANT:
                return "tenant";
        case IDENTITY_CHECKER_KIND:
                return "checker";
        case IDENTITY_PRUNER_KIND:
                return "pruner";
        case IDENTITY_PRUNE_JOB_KIND:
                return "prune-job";
        }
        return "unknown";
}

static const char *kind_of_cn(const char *cn, bool self_issued, struct identity *id) {
        enum identity_kind *ret = &id->kind;

        /* The probe's certificate is self-signed, which dockerd's chain check never
         * lets through: one of that CN that a CA issued is no probe. */
        id->probe = streq(cn, IDENTITY_PROBE) && self_issued;
        if (id->probe)
                *ret = IDENTITY_TENANT;
        else if (streq(cn, IDENTITY_PROBE))
                return "identity";
        else if (streq(cn, IDENTITY_CHECKER))
                *ret = IDENTITY_CHECKER_KIND;
        else if (streq(cn, IDENTITY_PRUNER))
                *ret = IDENTITY_PRUNER_KIND;
        else if (streq(cn, IDENTITY_PRUNE_JOB))
                *ret = IDENTITY_PRUNE_JOB_KIND;
        else if (identity_is_namespace(cn))
                *ret = IDENTITY_TENANT;
        else
                return "unknown-identity";
        return NULL;
}

/* Reads the leaf: the rule that refuses the certificate itself, or NULL. */
static const char *read_leaf(const struct authz_request *r, struct identity *id) {
        struct pki_peer p = {};
        const char *rule = NULL;

        if (!r->peer_pem || pki_peer_from_pem(r->peer_pem, strlen(r->peer_pem), &p) < 0)
                return "identity";
        snprintf(id->serial, sizeof(id->serial), "%s", p.serial);
        snprintf(id->name, sizeof(id->name), "%s", p.cn ?: "");
        if (p.n_cn != 1)
                rule = "identity";
        else
                rule = kind_of_cn(p.cn, p.self_issued, id);
        pki_peer_done(&p);
        return rule;
}

static int cache_put(struct identity_cache *c, const char *b64, const struct identity *id, const char *rule) {
        struct identity_cache_entry *e = &c->e[c->next];
        char *copy = strdup(b64);

        if (!copy)
                return -ENOMEM;
        free(e->pem_b64);
        *e = (struct identity_cache_entry) { .pem_b64 = copy, .id = *id, .rule = rule };
        c->next = (c->next + 1) % IDENTITY_CACHE;
        return 0;
}

int identity_of_request(const struct authz_request *r, struct identity_cache *cache, struct identity *ret,
                        const char **ret_rule) {
        struct identity id = {};
        const char *rule;

        *ret_rule = NULL;
        if (!r->user && r->n_peer_certs == 0) {
                *ret = (struct identity) { .kind = IDENTITY_ANONYMOUS };
                return 0;
        }
        if (!r->user || r->n_peer_certs == 0 || !r->peer_b64) {
                snprintf(ret->name, sizeof(ret->name), "%s", r->user ?: "");
                ret->serial[0] = '\0';
                ret->kind = 0;
                *ret_rule = "identity";
                return 1;
        }
        for (unsigned i = 0; cache && i < IDENTITY_CACHE; i++)
                if (streq(cache->e[i].pem_b64, r->peer_b64)) {
                        cache->hits++;
                        id = cache->e[i].id;
                        rule = cache->e[i].rule;
                        goto done;
                }
        rule = read_leaf(r, &id);
        if (cache) {
                cache->misses++;
                if (cache_put(cache, r->peer_b64, &id, rule) < 0)
                        return -ENOMEM;
        }
done:
        /* dockerd's User is the same CN: anything else is not what it sends. */
        if (!rule && !streq(id.name, r->user))
                rule = "identity";
        *ret = id;
        *ret_rule = rule;
        return rule ? 1 : 0;
}
