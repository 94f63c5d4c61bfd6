/* SPDX-License-Identifier: MIT */
#pragma once

/* Who is calling: the identity contract (README, "Identities"). dockerd passes the
 * client certificate's subject CN as User and the chain in RequestPeerCertificates; the
 * plugin reads the leaf itself (through pki/) for its serial, the key of revocation.
 *
 * Invariants:
 * - A tenant's CN is its namespace, a DNS-1123 label; a node identity has a ':' in its
 *   CN, which no namespace can have: "dind-cache:checker", "dind-cache:pruner",
 *   "dind-cache:prune-job". No certificate at all (User "" and no chain: the pod's own
 *   unix socket, its probes) is the anonymous caller.
 * - IDENTITY_PROBE is the checker's probe: kind IDENTITY_TENANT, probe set.
 * - Anything else is refused, with the rule that says why: a User without a
 *   certificate or the other way round, a leaf whose last CN (Go's CommonName) is not
 *   User or that has several CNs ("identity"), a CN that is neither a namespace nor a
 *   node identity ("unknown-identity").
 * - What a certificate says is cached by its exact text (IDENTITY_CACHE entries): a
 *   job's calls come with the same certificate, and OpenSSL's reading is the costly
 *   part of a decision.
 * - Library: never prints; negative errno only for -ENOMEM. */

#include <stdbool.h>

#include "authz/authz-request.h"

#define IDENTITY_CACHE 16
#define IDENTITY_CHECKER "dind-cache:checker"
#define IDENTITY_PRUNER "dind-cache:pruner"
#define IDENTITY_PRUNE_JOB "dind-cache:prune-job"
/* The checker's probe (check/health-authz.c): AuthZReq sent straight to the socket with
 * a self-signed certificate of this CN, never through dockerd (which verifies every
 * client certificate against the node's CA, and install never issues this CN). Judged
 * as a tenant, so that the probe shows the tenants' rules at work; never on the tenant
 * list, never counted, never in the journal, never an owner. A certificate of this CN
 * that is not self-issued is refused ("identity"). */
#define IDENTITY_PROBE "dind-cache:probe"

/* A bit each: the policy's "who" column is a set of them. */
enum identity_kind {
        IDENTITY_ANONYMOUS = 1 << 0,
        IDENTITY_TENANT = 1 << 1,
        IDENTITY_CHECKER_KIND = 1 << 2,
        IDENTITY_PRUNER_KIND = 1 << 3,
        IDENTITY_PRUNE_JOB_KIND = 1 << 4,
};

struct identity {
        enum identity_kind kind;
        bool probe;                     /* IDENTITY_PROBE (kind IDENTITY_TENANT) */
        char name[256];                 /* the CN (a tenant's namespace), "" anonymous */
        char serial[48];                /* the leaf's serial (pki_peer), "" anonymous */
};

struct identity_cache_entry {
        char *pem_b64;
        struct identity id;
        const char *rule;               /* a refusal, or NULL */
};

struct identity_cache {
        struct identity_cache_entry e[IDENTITY_CACHE];
        unsigned next;
        unsigned hits, misses;
};

void identity_cache_done(struct identity_cache *c);

/* A DNS-1123 label: 1 to 63 of [a-z0-9-], a letter or digit at both ends. */
bool identity_is_namespace(const char *s);

/* The caller of R. 0 and *RET; or 1 when it is refused, with the rule's name in
 * *RET_RULE (static) and *RET (its name and serial as far as known); -ENOMEM. CACHE may
 * be NULL. */
int identity_of_request(const struct authz_request *r, struct identity_cache *cache, struct identity *ret,
                        const char **ret_rule);

/* "tenant", "checker", "pruner", "prune-job", "anonymous". */
const char *identity_kind_to_string(enum identity_kind k);
