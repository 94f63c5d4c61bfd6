/* SPDX-License-Identifier: MIT */
#pragma once

/* The node's PKI directory: a CA whose key never leaves it, and three leaves made,
 * kept and renewed by install.
 *
 *   DIR/                 0700 root
 *     ca/cert.pem        the CA certificate
 *     ca/key.pem         its key (0600; in no Secret, ever)
 *     ca/previous.pem    the CA before a --rotate-ca, trusted until the next run
 *     server/            ca.pem cert.pem key.pem   -> the daemon's Secret
 *     client/            ca.pem cert.pem key.pem   -> the CI jobs' Secrets
 *     checker/           ca.pem cert.pem key.pem   -> the node's checker (DOCKER_CERT_PATH)
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
 *   has less than PKI_RENEW_DAYS left, (server) its SANs differ from the wanted ones;
 *   or on request (renew, rotate_ca).
 * - A CA that exists but does not parse or does not match its key is never replaced
 *   silently: -EBADMSG / -EKEYREJECTED, with ret_state->error saying which file.
 * - Every file is written atomically; keys 0600, certificates 0644, directories 0700.
 * - Library code: never prints; negative errno. */

#include <stdbool.h>

#include "pki/pki.h"

#define PKI_DEFAULT_DIR "/etc/dind-cache/pki"
#define PKI_CN_SERVER "docker-dind"
#define PKI_CN_CLIENT "dind-cache-ci"
#define PKI_CN_CHECKER "dind-cache-checker"

enum pki_item {
        PKI_ITEM_CA,
        PKI_ITEM_SERVER,
        PKI_ITEM_CLIENT,
        PKI_ITEM_CHECKER,
        _PKI_ITEM_MAX,
};
/* "CA", "server", "client", "checker" */
const char *pki_item_to_string(enum pki_item i);

enum pki_action {
        PKI_KEPT,
        PKI_CREATED,
        PKI_RENEWED,
};

struct pki_request {
        const char *dir;                 /* NULL: PKI_DEFAULT_DIR */
        const struct pki_sans *server_sans;
        bool renew;                      /* re-issue every leaf (--renew-certs) */
        bool rotate_ca;                  /* a new CA, the old one kept in the bundle */
        bool dry_run;                    /* decide only: no key is made (not even in
                                          * memory), nothing is written; what would be
                                          * made or renewed has no pair and no info */
};

struct pki_state {
        struct pki_pair ca;              /* the CA's certificate and key */
        char *bundle;                    /* the trust bundle (each ca.pem) */
        struct pki_pair leaf[_PKI_ITEM_MAX]; /* [SERVER], [CLIENT], [CHECKER] */
        struct pki_info info[_PKI_ITEM_MAX]; /* each item's certificate, as it is now */
        enum pki_action action[_PKI_ITEM_MAX];
        char *reason[_PKI_ITEM_MAX];     /* why made or renewed; NULL when kept */
        bool previous_dropped;           /* the previous CA left the bundle in this run */
        bool changed;                    /* something was (or, dry run, would be) written */
        char *error;                     /* on failure: which file and what is wrong */
};
void pki_state_done(struct pki_state *s);

int pki_store_ensure(const struct pki_request *req, struct pki_state *ret);

/* Removes DIR and what it holds (our files only; an unknown file is left and the
 * directory with it: -ENOTEMPTY). 0 when removed, 0 also when already gone. */
int pki_store_remove(const char *dir);
