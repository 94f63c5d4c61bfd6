/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/text.h"
#include "base/util.h"
#include "pki/pki.h"

#define BACKDATE_SECONDS 3600

static inline void X509_freep(X509 **p) {
        X509_free(*p);
}
static inline void EVP_PKEY_freep(EVP_PKEY **p) {
        EVP_PKEY_free(*p);
}
static inline void BIO_freep(BIO **p) {
        BIO_free(*p);
}
static inline void X509_STORE_freep(X509_STORE **p) {
        X509_STORE_free(*p);
}
static inline void X509_STORE_CTX_freep(X509_STORE_CTX **p) {
        X509_STORE_CTX_free(*p);
}
static inline void GENERAL_NAMES_freep(GENERAL_NAMES **p) {
        GENERAL_NAMES_free(*p);
}
static inline void X509_NAME_freep(X509_NAME **p) {
        X509_NAME_free(*p);
}
static inline void BIGNUM_freep(BIGNUM **p) {
        BN_free(*p);
}

void pki_pair_done(struct pki_pair *p) {
        free(p->cert_pem);
        if (p->key_pem)
                explicit_bzero(p->key_pem, strlen(p->key_pem));
        free(p->key_pem);
        *p = (struct pki_pair) {};
}

void pki_sans_done(struct pki_sans *s) {
        for (size_t i = 0; i < s->n_dns; i++)
                free(s->dns[i]);
        for (size_t i = 0; i < s->n_ip; i++)
                free(s->ip[i]);
        *s = (struct pki_sans) {};
}

static bool list_contains(char *const *list, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(list[i], s))
                        return true;
        return false;
}

/* The canonical text of an IP address, or false when S is not one. */
static bool ip_canonical(const char *s, char *buf, size_t size) {
        unsigned char a[16];

        if (inet_pton(AF_INET, s, a) == 1)
                return inet_ntop(AF_INET, a, buf, size) != NULL;
        if (inet_pton(AF_INET6, s, a) == 1)
                return inet_ntop(AF_INET6, a, buf, size) != NULL;
        return false;
}

int pki_sans_add(struct pki_sans *s, const char *name) {
        char ip[INET6_ADDRSTRLEN];
        char **list;
        size_t *n;
        char *copy;

        if (isempty(name))
                return -EINVAL;
        if (ip_canonical(name, ip, sizeof(ip))) {
                name = ip;
                list = s->ip;
                n = &s->n_ip;
        } else {
                list = s->dns;
                n = &s->n_dns;
        }
        if (list_contains(list, *n, name))
                return 0;
        if (*n >= PKI_MAX_SANS)
                return -E2BIG;
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        list[(*n)++] = copy;
        return 0;
}

static bool same_set(char *const *a, size_t na, char *const *b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!list_contains(b, nb, a[i]))
                        return false;
        return true;
}

bool pki_sans_equal(const struct pki_sans *a, const struct pki_sans *b) {
        return same_set(a->dns, a->n_dns, b->dns, b->n_dns) && same_set(a->ip, a->n_ip, b->ip, b->n_ip);
}

/* ---- making */

static EVP_PKEY *new_key(void) {
        return EVP_EC_gen("P-256");
}

static int random_serial(X509 *x) {
        _cleanup_(BIGNUM_freep) BIGNUM *bn = NULL;
        unsigned char b[16];

        if (RAND_bytes(b, sizeof(b)) != 1)
                return -EIO;
        b[0] &= 0x7f;   /* positive in DER */
        b[0] |= 0x01;   /* and never zero, never shorter than the rest */
        bn = BN_bin2bn(b, sizeof(b), NULL);
        if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
                return -ENOMEM;
        return 0;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
        X509V3_CTX ctx;
        X509_EXTENSION *ext;
        int ok;

        X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!ext)
                return -EINVAL;
        ok = X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        return ok ? 0 : -ENOMEM;
}

static char *sans_text(const struct pki_sans *s) {
        _cleanup_free_ char *t = strdup("");

        for (size_t i = 0; t && i < s->n_dns; i++) {
                char *next = strdup_printf("%s%sDNS:%s", t, *t ? "," : "", s->dns[i]);
                free(t);
                t = next;
        }
        for (size_t i = 0; t && i < s->n_ip; i++) {
                char *next = strdup_printf("%s%sIP:%s", t, *t ? "," : "", s->ip[i]);
                free(t);
                t = next;
        }
        return TAKE_PTR(t);
}

static char *bio_text(BIO *b) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        char *s;

        if (n < 0)
                return NULL;
        s = malloc((size_t) n + 1);
        if (!s)
                return NULL;
        memcpy(s, data, (size_t) n);
        s[n] = '\0';
        return s;
}

static int to_pem(X509 *x, EVP_PKEY *key, struct pki_pair *ret) {
        /* The key's PEM goes through a secure-memory BIO, cleared when freed. */
        _cleanup_(BIO_freep) BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_secmem());
        struct pki_pair p = {};

        if (!cb || !kb)
                return -ENOMEM;
        if (!PEM_write_bio_X509(cb, x) || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
                return -ENOMEM;
        p.cert_pem = bio_text(cb);
        p.key_pem = bio_text(kb);
        /* Our copy is cleared in pki_pair_done(). */
        if (!p.cert_pem || !p.key_pem) {
                pki_pair_done(&p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

static X509 *read_cert(const char *pem, size_t size) {
        _cleanup_(BIO_freep) BIO *b = NULL;

        if (!pem || size > INT32_MAX)
                return NULL;
        b = BIO_new_mem_buf(pem, (int) size);
        return b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
}

static EVP_PKEY *read_key(const char *pem) {
        _cleanup_(BIO_freep) BIO *b = NULL;

        if (!pem)
                return NULL;
        b = BIO_new_mem_buf(pem, (int) strlen(pem));
        return b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
}

static int set_name(X509 *x, const char *cn, bool subject) {
        X509_NAME *n = subject ? X509_get_subject_name(x) : X509_get_issuer_name(x);

        if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *) "dind-cache", -1, -1, 0) ||
            !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0))
                return -ENOMEM;
        return 0;
}

static int new_cert(X509 **ret, EVP_PKEY *key, const char *cn, long days) {
        _cleanup_(X509_freep) X509 *x = X509_new();
        time_t now = time(NULL);
        int r;

        if (!x || !X509_set_version(x, 2))
                return -ENOMEM;
        r = random_serial(x);
        if (r < 0)
                return r;
        if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, -BACKDATE_SECONDS, &now) ||
            !X509_time_adj_ex(X509_getm_notAfter(x), (int) days, 0, &now))
                return -EINVAL;
        if (!X509_set_pubkey(x, key))
                return -ENOMEM;
        r = set_name(x, cn, true);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(x);
        return 0;
}

int pki_make_ca(const char *cn, struct pki_pair *ret) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = new_key();
        _cleanup_(X509_freep) X509 *x = NULL;
        int r;

        if (isempty(cn))
                return -EINVAL;
        if (!key)
                return -ENOMEM;
        r = new_cert(&x, key, cn, PKI_CA_DAYS);
        if (r < 0)
                return r;
        if (!X509_set_issuer_name(x, X509_get_subject_name(x)))
                return -ENOMEM;
        if ((r = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE")) < 0 ||
            (r = add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")) < 0 ||
            (r = add_ext(x, x, NID_subject_key_identifier, "hash")) < 0 ||
            (r = add_ext(x, x, NID_authority_key_identifier, "keyid:always")) < 0)
                return r;
        if (!X509_sign(x, key, EVP_sha256()))
                return -EIO;
        return to_pem(x, key, ret);
}

int pki_make_leaf(const struct pki_pair *ca, enum pki_usage usage, const char *cn,
                  const struct pki_sans *sans, struct pki_pair *ret) {
        _cleanup_(X509_freep) X509 *ca_cert = NULL, *x = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *ca_key = NULL, *key = NULL;
        _cleanup_free_ char *san = NULL;
        int r;

        if (isempty(cn) || !ca || (usage != PKI_USAGE_SERVER && usage != PKI_USAGE_CLIENT))
                return -EINVAL;
        ca_cert = read_cert(ca->cert_pem, ca->cert_pem ? strlen(ca->cert_pem) : 0);
        ca_key = read_key(ca->key_pem);
        if (!ca_cert || !ca_key)
                return -EBADMSG;
        if (X509_check_private_key(ca_cert, ca_key) != 1)
                return -EKEYREJECTED;
        key = new_key();
        if (!key)
                return -ENOMEM;
        r = new_cert(&x, key, cn, PKI_LEAF_DAYS);
        if (r < 0)
                return r;
        if (!X509_set_issuer_name(x, X509_get_subject_name(ca_cert)))
                return -ENOMEM;
        if ((r = add_ext(x, ca_cert, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
            (r = add_ext(x, ca_cert, NID_key_usage, "critical,digitalSignature")) < 0 ||
            (r = add_ext(x, ca_cert, NID_ext_key_usage,
                         usage == PKI_USAGE_SERVER ? "serverAuth" : "clientAuth")) < 0 ||
            (r = add_ext(x, ca_cert, NID_subject_key_identifier, "hash")) < 0 ||
            (r = add_ext(x, ca_cert, NID_authority_key_identifier, "keyid:always")) < 0)
                return r;
        if (usage == PKI_USAGE_SERVER && sans && (sans->n_dns + sans->n_ip) > 0) {
                san = sans_text(sans);
                if (!san)
                        return -ENOMEM;
                r = add_ext(x, ca_cert, NID_subject_alt_name, san);
                if (r < 0)
                        return r;
        }
        if (!X509_sign(x, ca_key, EVP_sha256()))
                return -EIO;
        return to_pem(x, key, ret);
}

/* ---- reading */

void pki_info_done(struct pki_info *i) {
        free(i->subject_cn);
        free(i->issuer_cn);
        pki_sans_done(&i->sans);
        *i = (struct pki_info) {};
}

static char *name_cn(const X509_NAME *n) {
        int idx = X509_NAME_get_index_by_NID((X509_NAME *) n, NID_commonName, -1);
        unsigned char *utf8 = NULL;
        char *s;
        int len;

        if (idx < 0)
                return NULL;
        len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, idx)));
        if (len < 0)
                return NULL;
        /* Names reach terminals, the journal and metrics: capped at a character
         * boundary, control characters (C1 too) as '?'. OpenSSL's UTF-8 is valid; a NUL
         * in it ends the name. */
        s = text_sanitize_line((const char *) utf8, PKI_MAX_NAME);
        OPENSSL_free(utf8);
        return s;
}

static int read_sans(X509 *x, struct pki_sans *ret) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        int r;

        for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                char buf[INET6_ADDRSTRLEN] = "";

                if (g->type == GEN_DNS) {
                        const char *d = (const char *) ASN1_STRING_get0_data(g->d.dNSName);
                        int n = ASN1_STRING_length(g->d.dNSName);
                        _cleanup_free_ char *s = strndup(d, (size_t) n);
                        if (!s)
                                return -ENOMEM;
                        if (strlen(s) != (size_t) n || strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.*") != (size_t) n)
                                continue;   /* not a name we would have written */
                        r = pki_sans_add(ret, s);
                } else if (g->type == GEN_IPADD) {
                        int n = ASN1_STRING_length(g->d.iPAddress);
                        const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
                        /* The length first: a SAN of another length is not an address, and
                         * inet_ntop() would read 16 bytes past a shorter one. */
                        if ((n != 4 && n != 16) || !inet_ntop(n == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf)))
                                continue;
                        r = pki_sans_add(ret, buf);
                } else
                        continue;
                if (r < 0 && r != -E2BIG)
                        return r;
        }
        return 0;
}

static int asn1_time_to_time_t(const ASN1_TIME *t, time_t *ret) {
        struct tm tm = {};

        if (!ASN1_TIME_to_tm(t, &tm))
                return -EBADMSG;
        *ret = timegm(&tm);
        return 0;
}

static int info_from_x509(X509 *x, struct pki_info *ret) {
        struct pki_info i = {};
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        int r;

        if (asn1_time_to_time_t(X509_get0_notBefore(x), &i.not_before) < 0 ||
            asn1_time_to_time_t(X509_get0_notAfter(x), &i.not_after) < 0)
                return -EBADMSG;
        i.subject_cn = name_cn(X509_get_subject_name(x));
        i.issuer_cn = name_cn(X509_get_issuer_name(x));
        i.is_ca = X509_check_ca(x) > 0;
        r = read_sans(x, &i.sans);
        if (r < 0 || !X509_digest(x, EVP_sha256(), md, &mdlen)) {
                pki_info_done(&i);
                return r < 0 ? r : -EIO;
        }
        for (unsigned k = 0; k < mdlen && k < 32; k++)
                snprintf(i.sha256 + 2 * k, 3, "%02x", md[k]);
        *ret = i;
        return 0;
}

int pki_info_from_pem(const char *pem, size_t size, struct pki_info *ret) {
        _cleanup_(X509_freep) X509 *x = read_cert(pem, size);

        if (!x)
                return -EBADMSG;
        return info_from_x509(x, ret);
}

/* Every certificate of PEM, in order. -EINVAL on bad arguments. */
static int read_certs(const char *pem, size_t size, STACK_OF(X509) **ret) {
        _cleanup_(BIO_freep) BIO *b = NULL;
        STACK_OF(X509) *certs;

        if (!pem || size > INT32_MAX)
                return -EINVAL;
        b = BIO_new_mem_buf(pem, (int) size);
        certs = sk_X509_new_null();
        if (!b || !certs) {
                sk_X509_free(certs);
                return -ENOMEM;
        }
        for (;;) {
                X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
                if (!x)
                        break;
                if (!sk_X509_push(certs, x)) {
                        X509_free(x);
                        sk_X509_pop_free(certs, X509_free);
                        return -ENOMEM;
                }
        }
        ERR_clear_error();
        *ret = certs;
        return 0;
}

int pki_info_soonest_from_pem(const char *pem, size_t size, struct pki_info *ret) {
        STACK_OF(X509) *certs = NULL;
        X509 *soonest = NULL;
        int r = read_certs(pem, size, &certs);

        if (r < 0)
                return r == -EINVAL ? -EBADMSG : r;
        for (int i = 0; i < sk_X509_num(certs); i++) {
                X509 *x = sk_X509_value(certs, i);
                if (!soonest || ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(soonest)) < 0)
                        soonest = x;
        }
        r = soonest ? info_from_x509(soonest, ret) : -EBADMSG;
        sk_X509_pop_free(certs, X509_free);
        return r;
}

void pki_peer_done(struct pki_peer *p) {
        free(p->cn);
        *p = (struct pki_peer) {};
}

int pki_peer_from_pem(const char *pem, size_t size, struct pki_peer *ret) {
        _cleanup_(X509_freep) X509 *x = read_cert(pem, size);
        const ASN1_INTEGER *sn;
        const unsigned char *d;
        X509_NAME *subject;
        struct pki_peer p = {};
        int len, idx = -1, last = -1;
        size_t o = 0;

        if (!x) {
                ERR_clear_error();
                return -EBADMSG;
        }
        sn = X509_get0_serialNumber(x);
        d = ASN1_STRING_get0_data(sn);
        len = ASN1_STRING_length(sn);
        if (len < 0 || len > 20)
                return -E2BIG;
        if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER)
                p.serial[o++] = '-';
        for (int k = 0; k < len; k++, o += 2)
                snprintf(p.serial + o, 3, "%02X", d[k]);
        if (len == 0)
                memcpy(p.serial + o, "00", 3);
        subject = X509_get_subject_name(x);
        p.self_issued = X509_NAME_cmp(X509_get_issuer_name(x), subject) == 0;
        while ((idx = X509_NAME_get_index_by_NID(subject, NID_commonName, idx)) >= 0) {
                last = idx;
                p.n_cn++;
        }
        if (last >= 0) {
                _cleanup_(X509_NAME_freep) X509_NAME *one = X509_NAME_new();

                /* name_cn() reads the first CN of a name: give it the last one alone. */
                if (!one || !X509_NAME_add_entry(one, X509_NAME_get_entry(subject, last), -1, 0))
                        return -ENOMEM;
                p.cn = name_cn(one);
                if (!p.cn)
                        return -EBADMSG;
        }
        *ret = p;
        return 0;
}

long pki_days_left(const struct pki_info *i, time_t now) {
        double d = difftime(i->not_after, now);
        long days = (long) (d / 86400.0);

        if (d < 0 && (double) days * 86400.0 != d)
                days--;
        return days;
}

int pki_count_certs(const char *pem, size_t size) {
        STACK_OF(X509) *certs = NULL;
        int r = read_certs(pem, size, &certs);

        if (r < 0)
                return r;
        r = sk_X509_num(certs);
        sk_X509_pop_free(certs, X509_free);
        return r;
}

int pki_verify(const char *ca_bundle_pem, const char *cert_pem, enum pki_usage usage, char **ret_reason) {
        _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        _cleanup_(X509_freep) X509 *x = NULL;
        _cleanup_(BIO_freep) BIO *b = NULL;
        int n = 0, ok;

        if (!ca_bundle_pem || !cert_pem)
                return -EINVAL;
        if (!store || !ctx)
                return -ENOMEM;
        x = read_cert(cert_pem, strlen(cert_pem));
        if (!x)
                return -EBADMSG;
        b = BIO_new_mem_buf(ca_bundle_pem, (int) strlen(ca_bundle_pem));
        if (!b)
                return -ENOMEM;
        for (;;) {
                X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
                if (!ca)
                        break;
                ok = X509_STORE_add_cert(store, ca);
                X509_free(ca);
                if (!ok)
                        return -ENOMEM;
                n++;
        }
        ERR_clear_error();
        if (n == 0)
                return -EBADMSG;
        if (!X509_STORE_CTX_init(ctx, store, x, NULL))
                return -ENOMEM;
        X509_STORE_CTX_set_purpose(ctx, usage == PKI_USAGE_SERVER ? X509_PURPOSE_SSL_SERVER :
                                        usage == PKI_USAGE_CLIENT ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_ANY);
        ok = X509_verify_cert(ctx);
        ERR_clear_error();
        if (ok == 1)
                return 0;
        if (ret_reason) {
                char *why = strdup(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
                if (!why)
                        return -ENOMEM;
                *ret_reason = why;
        }
        return -EKEYREJECTED;
}

int pki_key_matches(const char *cert_pem, const char *key_pem) {
        _cleanup_(X509_freep) X509 *x = read_cert(cert_pem, cert_pem ? strlen(cert_pem) : 0);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = read_key(key_pem);
        int ok;

        if (!x || !k) {
                ERR_clear_error();
                return -EBADMSG;
        }
        ok = X509_check_private_key(x, k);
        ERR_clear_error();
        return ok == 1 ? 0 : -EKEYREJECTED;
}

int pki_sha256_hex(const void *data, size_t size, char hex[65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;

        if (!EVP_Digest(data, size, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
                return -EIO;
        for (unsigned k = 0; k < mdlen; k++)
                snprintf(hex + 2 * k, 3, "%02x", md[k]);
        return 0;
}
