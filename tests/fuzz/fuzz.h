/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz-*.c). A harness never prints: a
 * property that fails aborts, and libFuzzer keeps the input that did it. Everything a
 * harness allocates is freed (leak detection is on). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test: abort when it does not hold. */
#define FUZZ_ASSERT(cond)                                                              \
        do {                                                                           \
                if (!(cond))                                                           \
                        abort();                                                       \
        } while (0)

/* DATA as a NUL-terminated string (a copy; NULs inside are kept, so strlen() may be
 * shorter than SIZE). Caller frees. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        if (size)
                memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* Splits DATA at the first "\n---8<---\n" (or not at all): two inputs from one. */
static inline void fuzz_split(const uint8_t *data, size_t size, const uint8_t **ret_a, size_t *ret_a_size,
                              const uint8_t **ret_b, size_t *ret_b_size) {
        static const char sep[] = "\n---8<---\n";
        const uint8_t *m = memmem(data, size, sep, sizeof(sep) - 1);

        *ret_a = data;
        *ret_a_size = m ? (size_t) (m - data) : size;
        *ret_b = m ? m + sizeof(sep) - 1 : data + size;
        *ret_b_size = m ? size - *ret_a_size - (sizeof(sep) - 1) : 0;
}

/* True when S[0..LEN) is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static inline bool fuzz_utf8_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s, *end = p + len;

        while (p < end) {
                unsigned c = *p, n;
                uint32_t cp;

                if (c < 0x80) {
                        p++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        n = 2, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        n = 3, cp = c & 0x07;
                else
                        return false;
                if ((size_t) (end - p) <= n)
                        return false;
                for (unsigned i = 1; i <= n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                p += n + 1;
        }
        return true;
}

/* True when S has no control character (C0, DEL, C1 as UTF-8), but those in ALLOWED. */
static inline bool fuzz_no_control(const char *s, const char *allowed) {
        if (!s)
                return true;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p < 0x20 || *p == 0x7f) && !(allowed && strchr(allowed, *p)))
                        return false;
                if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
                        return false;
        }
        return true;
}
