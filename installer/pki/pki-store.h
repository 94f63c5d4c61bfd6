/* SPDX-License-Identifier: MIT */
#pragma once

/* The node's PKI directory: a CA whose key never leaves it, and one leaf per identity
 * (the identity contract, README "Identities"), made, kept and renewed by install.
 *
 *   DIR/                 0700 root
 *     ca/cert.pem        the CA certificate
 *     ca/key.pem         its key (0600; in no Secret, ever)
 *     ca/previous.pem    the CA before a --rotate-ca, trusted until a later run
 *     server/            ca.pem cert.pem key.pem   CN docker-dind: the daemon's Secret
 *     checker/           ...                       CN dind-cache:checker: the checker timer
 *                                                  (DOCKER_CERT_PATH)
 *     pruner/            ...                       CN dind-cache:pruner: the prune timer
 *                                                  (DIND_CACHE_PRUNE_CERT_PATH)
 *     prune-job/         ...                       CN dind-cache:prune-job: the prune
 *                                                  CronJob's Secret
 *     tenants/NS/        ...                       CN NS: the Secret in namespace NS, one
 *                                                  per --allow-namespace (a CI tenant)
 *     client-certs.pem   the prune job's and every tenant's certificate (no key): the
 *                        checker reads their days left here, as its sandbox keeps it out
 *                        of tenants/ (the tenants' keys)
 *     client/            an install made before per-tenant identities: one client (CN
 *                        dind-cache-ci) for every job; install removes it once the
 *                        tenants' Secrets are applied (pki_store_remove_legacy_client())
 *
 * Node identities have a ':' in their CN, which no namespace (a DNS-1123 label) can
 * have, so a policy can tell node from job by the CN alone.
 *
 * A certificate and its key change together: the new pair is written beside the old
 * one as cert.pem.new + key.pem.new, then renamed in; a run killed half-way leaves
 * leftovers that the next pki_store_ensure() finishes (the new pair was complete) or
 * discards (it was not), never a certificate beside another one's key.
 *
 * Each ca.pem is the trust bundle: the CA, then the previous CA while a rotation is
 * under way. The Docker CLI's own layout (DOCKER_CERT_PATH=DIR/checker works).
 *
 * Invariants:
 * - pki_store_ensure() changes nothing when everything is good: no file is written
 *   (write_file_atomic() compares), no leaf re-issued. A leaf is re-issued when it is
 *   missing, its key does not match, it does not verify against the CA (alone), it
 *   has less than PKI_RENEW_DAYS left, its subject CN is not its identity's (an install
 *   of an earlier version named the checker dind-cache-checker), (server) its SANs differ
 *   from the wanted ones, its serial is revoked (the request's deny list); or on
 *   request (renew, rotate_ca).
 * - A tenant is a DNS-1123 label (a namespace): anything else is refused (-EINVAL), so
 *   that a name never leaves DIR/tenants/.
 * - A CA that exists but does not parse or does not match its key is never replaced
 *   silently: -EBADMSG / -EKEYREJECTED, with ret_state->error saying which file.
 * - pki_store_ensure() never removes a tenant's folder nor the legacy client/: the
 *   caller removes them (pki_store_remove_tenant(), ..._legacy_client()) once the
 *   cluster no longer hands them out.
 * - Every file is written atomically; keys 0600, certificates 0644, directories 0700.
 * - Library code: never prints; negative errno. */

#include <stdbool.h>

#include "pki/pki.h"

#define PKI_DEFAULT_DIR "/etc/dind-cache/pki"
#define PKI_CN_SERVER "docker-dind"
#define PKI_CN_CHECKER "dind-cache:checker"
#define PKI_CN_PRUNER "dind-cache:pruner"
#define PKI_CN_PRUNE_JOB "dind-cache:prune-job"
/* The checker's authorization probe (check/health-authz.c): a self-signed certificate
 * made for each run and shown to the plugin's socket alone, never issued by the CA
 * (authz/identity.h's IDENTITY_PROBE; a unit test holds the two together). */
#define PKI_CN_PROBE "dind-cache:probe"
#define PKI_TENANTS_FOLDER "tenants"
#define PKI_CLIENT_CERTS_FILE "client-certs.pem"
/* Before per-tenant identities: one client certificate for every job, in client/. */
#define PKI_LEGACY_CLIENT_FOLDER "client"
#define PKI_LEGACY_CN_CLIENT "dind-cache-ci"

/* The items of a pki_state, in order: the CA, the node's identities, then the tenants
 * (tenant K is item PKI_ITEM_TENANTS + K). */
enum pki_item {
        PKI_ITEM_CA,
        PKI_ITEM_SERVER,
        PKI_ITEM_CHECKER,
        PKI_ITEM_PRUNER,
        PKI_ITEM_PRUNE_JOB,
        PKI_ITEM_TENANTS,
};

enum pki_action {
        PKI_KEPT,
        PKI_CREATED,
        PKI_RENEWED,
};

struct pki_request {
        const char *dir;                 /* NULL: PKI_DEFAULT_DIR */
        const struct pki_sans *server_sans;
        char *const *tenants;            /* NULL-terminated namespaces, or NULL: none;
                                          * repeats count once */
        bool renew;                      /* re-issue every leaf (--renew-certs) */
        bool rotate_ca;                  /* a new CA, the old one kept in the bundle */
        bool dry_run;                    /* decide only: no key is made (not even in
                                          * memory), nothing is written; what would be
                                          * made or renewed has no pair and no info */
        /* The deny list (the authorization plugin's, which the caller reads): a leaf whose
         * serial it holds is re-issued. NULL: nothing is revoked. */
        bool (*revoked)(const char *serial, void *userdata);
        void *revoked_userdata;
};

struct pki_state {
        struct pki_pair ca;              /* the CA's certificate and key */
        char *bundle;                    /* the trust bundle (each ca.pem) */
        size_t n_items;                  /* PKI_ITEM_TENANTS + the tenants */
        char **tenants;                  /* the tenants, in the request's order, once each */
        char **name;                     /* each item's name: "CA", "server", "checker",
                                          * "pruner", "prune-job", "tenant NS" */
        struct pki_pair *leaf;           /* [PKI_ITEM_SERVER ...]: each leaf's pair */
        struct pki_info *info;           /* each item's certificate, as it is now */
        enum pki_action *action;
        char **reason;                   /* why made or renewed; NULL when kept */
        bool previous_dropped;           /* the previous CA left the bundle in this run */
        bool changed;                    /* something was (or, dry run, would be) written */
        char *error;                     /* on failure: which file and what is wrong */
};
void pki_state_done(struct pki_state *s);

int pki_store_ensure(const struct pki_request *req, struct pki_state *ret);

/* The tenants with a folder in DIR/tenants, sorted (NULL-terminated; an empty list when
 * there is none). Folders whose name is not a DNS-1123 label are not listed. */
int pki_store_tenants(const char *dir, char ***ret);

/* Removes DIR/tenants/TENANT (our files only: -ENOTEMPTY when another is there). 0 also
 * when already gone. (client-certs.pem holds the request's tenants only: a tenant left
 * out of the request is out of it already.) */
int pki_store_remove_tenant(const char *dir, const char *tenant);

/* 1 when DIR/client (an install before per-tenant identities) is there, 0 when not. */
int pki_store_has_legacy_client(const char *dir);
/* Removes DIR/client. 0 also when already gone. */
int pki_store_remove_legacy_client(const char *dir);

/* Removes DIR and what it holds (our files only; an unknown file is left and the
 * directory with it: -ENOTEMPTY). 0 when removed, 0 also when already gone. */
int pki_store_remove(const char *dir);
