/* SPDX-License-Identifier: MIT */
/* pki/pki.h: the certificates the checker and install read back from files and from
 * the cluster's Secret (pki_info_from_pem(), pki_count_certs(), pki_verify()). Any PEM text is read or refused with -EBADMSG, without crashing
 * or leaking; what is read is clean (names that reach terminals, the journal and
 * metrics are capped printable UTF-8, SANs only what a SAN may be), the fingerprint is
 * the SHA-256 of the certificate's DER, and the days left never overflow.
 *
 * Input: the certificate, optionally then "\n---8<---\n" and a CA bundle to verify it
 * against (without one, the certificate is its own bundle). Each part is PEM text when
 * it starts with "-----BEGIN", else DER that the harness wraps in a PEM CERTIFICATE
 * block, so that mutations reach the X.509 structure rather than break its base64. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "fuzz.h"
#include "pki/pki.h"

#define CN_MAX 256      /* pki.c's cap on a name read from a certificate */

static bool clean_name(const char *s) {
        return !s || (strlen(s) <= CN_MAX && fuzz_no_control(s, NULL) && fuzz_utf8_valid(s, strlen(s)));
}

/* The SHA-256 of the first certificate's DER, independently of pki.c: d2i of the
 * base64 between the first BEGIN/END CERTIFICATE lines, as OpenSSL's PEM reader
 * would give it. Returns false when that cannot be had here. */
static bool der_sha256(const char *pem, size_t size, char ret_hex[65]) {
        BIO *b = BIO_new_mem_buf(pem, (int) size);
        unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        X509 *x;
        int n;
        bool ok = false;

        if (!b)
                abort();
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (x && (n = i2d_X509(x, &der)) > 0 && EVP_Digest(der, (size_t) n, md, &mdlen, EVP_sha256(), NULL) &&
            mdlen == 32) {
                for (unsigned k = 0; k < 32; k++)
                        snprintf(ret_hex + 2 * k, 3, "%02x", md[k]);
                ok = true;
        }
        OPENSSL_free(der);
        X509_free(x);
        BIO_free(b);
        return ok;
}

/* DATA as PEM text: as it is, or (DER) wrapped in a CERTIFICATE block. *RET_SIZE: its
 * length. */
static char *as_pem(const uint8_t *data, size_t size, size_t *ret_size) {
        static const char begin[] = "-----BEGIN CERTIFICATE-----\n", end[] = "-----END CERTIFICATE-----\n";
        char *pem, *p;

        if (size >= 10 && memcmp(data, "-----BEGIN", 10) == 0) {
                *ret_size = size;
                return fuzz_strndup(data, size);
        }
        pem = malloc(sizeof(begin) + (size / 48 + 1) * 66 + sizeof(end) + 1);
        if (!pem)
                abort();
        p = stpcpy(pem, begin);
        for (size_t i = 0; i < size; i += 48) {
                p += EVP_EncodeBlock((unsigned char *) p, data + i, (int) (size - i < 48 ? size - i : 48));
                *p++ = '\n';
        }
        p = stpcpy(p, end);
        *ret_size = (size_t) (p - pem);
        return pem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *a, *b;
        size_t a_size, b_size;
        char *cert, *bundle, *reason = NULL, hex[65];
        struct pki_info info = {};
        int r, n;

        if (size > PKI_MAX_PEM)
                return 0;
        fuzz_split(data, size, &a, &a_size, &b, &b_size);
        cert = as_pem(a, a_size, &a_size);
        if (b_size)
                bundle = as_pem(b, b_size, &b_size);
        else
                bundle = fuzz_strndup((const uint8_t *) cert, b_size = a_size);

        r = pki_info_from_pem(cert, a_size, &info);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        if (r == 0) {
                FUZZ_ASSERT(pki_count_certs(cert, a_size) >= 1);
                FUZZ_ASSERT(clean_name(info.subject_cn) && clean_name(info.issuer_cn));
                FUZZ_ASSERT(strlen(info.sha256) == 64 && strspn(info.sha256, "0123456789abcdef") == 64);
                FUZZ_ASSERT(der_sha256(cert, a_size, hex) && strcmp(hex, info.sha256) == 0);
                FUZZ_ASSERT(info.sans.n_dns <= PKI_MAX_SANS && info.sans.n_ip <= PKI_MAX_SANS);
                for (size_t i = 0; i < info.sans.n_dns; i++)
                        FUZZ_ASSERT(*info.sans.dns[i] &&
                                    strspn(info.sans.dns[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789-.*") == strlen(info.sans.dns[i]));
                for (size_t i = 0; i < info.sans.n_ip; i++) {
                        unsigned char addr[16];
                        FUZZ_ASSERT(inet_pton(AF_INET, info.sans.ip[i], addr) == 1 ||
                                    inet_pton(AF_INET6, info.sans.ip[i], addr) == 1);
                }
                /* Days left, whatever the dates and the clock (UBSan: no overflow). */
                (void) pki_days_left(&info, 0);
                (void) pki_days_left(&info, (time_t) 253402300799);    /* 9999-12-31 */
                (void) pki_days_left(&info, time(NULL));
                pki_info_done(&info);
        }

        /* The bundle a Secret holds, counted (install's CA rotation check), and the
         * certificate verified against it (OpenSSL 3's PEM readers are slow: only for a
         * certificate that parsed). */
        n = pki_count_certs(bundle, b_size);
        FUZZ_ASSERT(n >= 0);
        if (r == 0) {
                r = pki_verify(bundle, cert, PKI_USAGE_SERVER, &reason);
                FUZZ_ASSERT(r == 0 || r == -EKEYREJECTED || r == -EBADMSG);
                FUZZ_ASSERT(r != 0 || !reason);
                FUZZ_ASSERT(r != -EBADMSG || n == 0 || strlen(bundle) < b_size || strlen(cert) < a_size);
                FUZZ_ASSERT(fuzz_no_control(reason, NULL));
                free(reason);
        }

        free(cert);
        free(bundle);
        return 0;
}
