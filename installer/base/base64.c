/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/base64.h"

/* Each byte's 6 bits, or -1 outside the alphabet. */
static const signed char sextets[256] = {
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
        52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
        -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
        15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
        -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
        41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int sextet(unsigned char c) {
        return sextets[c];
}

int base64_decode(const char *s, size_t len, size_t max, char **ret, size_t *ret_size) {
        size_t pad = 0, size, o = 0;
        char *out;

        if (!s || len % 4 != 0)
                return -EBADMSG;
        if (len > 0 && s[len - 1] == '=')
                pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
        size = len / 4 * 3 - pad;
        if (size > max)
                return -EFBIG;
        out = malloc(size + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                int v[4];
                bool last = i + 4 == len;
                uint32_t n = 0;

                for (size_t k = 0; k < 4; k++) {
                        v[k] = sextet((unsigned char) s[i + k]);
                        /* Padding only in the last group's last one or two places. */
                        if (v[k] < 0 && !(last && s[i + k] == '=' && k >= 4 - pad))
                                goto bad;
                        n = n << 6 | (uint32_t) (v[k] < 0 ? 0 : v[k]);
                }
                /* The bits after the last byte are zero, as Go's strict decoder wants. */
                if ((last && pad == 1 && (n & 0xff)) || (last && pad == 2 && (n & 0xffff)))
                        goto bad;
                out[o++] = (char) (n >> 16);
                if (!(last && pad == 2))
                        out[o++] = (char) (n >> 8 & 0xff);
                if (!(last && pad >= 1))
                        out[o++] = (char) (n & 0xff);
        }
        out[o] = '\0';
        *ret = out;
        *ret_size = o;
        return 0;
bad:
        free(out);
        return -EBADMSG;
}

char *base64_encode(const void *data, size_t size) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *d = data;
        char *out = malloc((size + 2) / 3 * 4 + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t n = (uint32_t) d[i] << 16 | (i + 1 < size ? (uint32_t) d[i + 1] << 8 : 0) |
                             (i + 2 < size ? d[i + 2] : 0);

                *o++ = alphabet[n >> 18 & 63];
                *o++ = alphabet[n >> 12 & 63];
                *o++ = i + 1 < size ? alphabet[n >> 6 & 63] : '=';
                *o++ = i + 2 < size ? alphabet[n & 63] : '=';
        }
        *o = '\0';
        return out;
}
