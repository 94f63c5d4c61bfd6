/* SPDX-License-Identifier: MIT */
#pragma once

/* Certificates: make, read and verify them. The one place (with pki-store.c) that
 * includes OpenSSL headers; callers see PEM text and plain facts only.
 *
 * Invariants:
 * - Keys are ECDSA P-256, signatures SHA-256, serials 128 random bits, positive.
 * - A CA is valid PKI_CA_DAYS, with basicConstraints critical CA:TRUE, keyUsage
 *   critical keyCertSign and cRLSign, subject and authority key identifiers.
 * - A leaf is valid PKI_LEAF_DAYS, basicConstraints critical CA:FALSE, keyUsage
 *   critical digitalSignature, extendedKeyUsage serverAuth or clientAuth, the
 *   authority key identifier of its CA; a server leaf carries its SANs.
 * - Validity starts one hour before now (clocks drift between node and pods).
 * - "now" is time(NULL) at the call: libfaketime moves it in tests.
 * - Library code: never prints; negative errno. -EBADMSG for PEM that does not parse. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PKI_CA_DAYS 3650
#define PKI_LEAF_DAYS 825
#define PKI_RENEW_DAYS 30             /* a leaf with less left is re-issued */
#define PKI_MAX_PEM (64u << 10)       /* a cap on what is read back */
#define PKI_MAX_SANS 32
#define PKI_MAX_NAME 256              /* a common name read back, in bytes */

enum pki_usage {
        PKI_USAGE_CA,
        PKI_USAGE_SERVER,               /* serverAuth */
        PKI_USAGE_CLIENT,               /* clientAuth */
};

/* A key and its certificate, both PEM, NUL-terminated. */
struct pki_pair {
        char *cert_pem;
        char *key_pem;
};
void pki_pair_done(struct pki_pair *p);

/* The subject alternative names of a server certificate. */
struct pki_sans {
        char *dns[PKI_MAX_SANS];
        size_t n_dns;
        char *ip[PKI_MAX_SANS];         /* text form: "10.96.0.12", "fd00::1" */
        size_t n_ip;
};
void pki_sans_done(struct pki_sans *s);
/* Adds a copy of NAME as a DNS name, or as an IP address when it parses as one.
 * Repeats are ignored. -E2BIG past PKI_MAX_SANS. */
int pki_sans_add(struct pki_sans *s, const char *name);
/* Same names and addresses, in any order. */
bool pki_sans_equal(const struct pki_sans *a, const struct pki_sans *b);

/* A new self-signed CA named CN. */
int pki_make_ca(const char *cn, struct pki_pair *ret);
/* A new leaf for USAGE (server or client) named CN, signed by CA (the first
 * certificate of CA->cert_pem and CA->key_pem). SANS only for a server (may be NULL). */
int pki_make_leaf(const struct pki_pair *ca, enum pki_usage usage, const char *cn,
                  const struct pki_sans *sans, struct pki_pair *ret);

/* What a certificate says. */
struct pki_info {
        char *subject_cn;               /* or NULL; capped at PKI_MAX_NAME bytes, control */
        char *issuer_cn;                /* characters (C0, DEL, C1) read as '?' */
        time_t not_before, not_after;
        bool is_ca;
        struct pki_sans sans;
        char sha256[65];                /* hex of the DER's SHA-256 */
};
void pki_info_done(struct pki_info *i);
/* The first certificate in PEM. */
int pki_info_from_pem(const char *pem, size_t size, struct pki_info *ret);
/* Of every certificate in PEM (a bundle), the one that expires first (the first of
 * those that expire at the same second). -EBADMSG when PEM holds none. */
int pki_info_soonest_from_pem(const char *pem, size_t size, struct pki_info *ret);

/* Who a client certificate names, as dockerd and `openssl x509 -serial` see it: the
 * authorization plugin's identity of a caller. */
struct pki_peer {
        char *cn;                       /* the LAST subject CN (Go's Subject.CommonName), cleaned
                                         * and capped as subject_cn; NULL when none */
        unsigned n_cn;                  /* how many CNs the subject has */
        char serial[2 * 20 + 2];        /* upper-case hex, two digits a byte, "-" first when
                                         * negative: what `openssl x509 -noout -serial` prints */
        bool self_issued;               /* its issuer is its subject (a self-signed one) */
};
void pki_peer_done(struct pki_peer *p);
/* The first certificate in PEM. -EBADMSG when it does not parse, -E2BIG when its serial
 * is longer than 20 bytes (RFC 5280's limit). */
int pki_peer_from_pem(const char *pem, size_t size, struct pki_peer *ret);

/* Whole days left until NOT_AFTER at NOW (negative once expired, rounded down). */
long pki_days_left(const struct pki_info *i, time_t now);

/* Verifies the first certificate of CERT_PEM against the trust anchors in
 * CA_BUNDLE_PEM (one or more CA certificates) for USAGE at the current time.
 * Returns 0 when it verifies; -EKEYREJECTED when it does not, with *ret_reason (may
 * be NULL; caller frees) in OpenSSL's words ("certificate has expired"). */
int pki_verify(const char *ca_bundle_pem, const char *cert_pem, enum pki_usage usage,
               char **ret_reason);

/* 0 when KEY_PEM is the private key of the first certificate of CERT_PEM,
 * -EKEYREJECTED when not. */
int pki_key_matches(const char *cert_pem, const char *key_pem);

/* The number of certificates in PEM (a CA bundle has one or two). */
int pki_count_certs(const char *pem, size_t size);

/* The SHA-256 of DATA[0..SIZE) in lower-case hex, into HEX. */
int pki_sha256_hex(const void *data, size_t size, char hex[65]);
