/* SPDX-License-Identifier: MIT */
/* base/util.h: Kubernetes quantities and Go-style durations, checked against an exact
 * model (128-bit arithmetic: fractions exact, rounded up as Quantity.Value() does), and
 * format_* read back by parse_*. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "base/util.h"
#include "fuzz.h"

/* The model of a quantity (resource.Quantity, then Value(): a fraction of a byte rounds
 * up): [+|-]DIGITS[.DIGITS] or [+|-][DIGITS].DIGITS, then a suffix (Ki..Ei, n u m k M G
 * T P E) or e|E[+|-]DIGITS; at most 128 characters; a negative one is refused unless it
 * is zero. The value N * 2^B * 10^E is computed exactly in 128 bits where it fits.
 * Returns 0, -EINVAL, -ERANGE, or 1 "too many digits for 128 bits, not modelled". */
#define QUANTITY_MAX_LEN 128
static int model_quantity(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                int exp10, exp2;
        } suffixes[] = {
                { "Ki", 0, 10 }, { "Mi", 0, 20 }, { "Gi", 0, 30 }, { "Ti", 0, 40 }, { "Pi", 0, 50 },
                { "Ei", 0, 60 }, { "n", -9, 0 }, { "u", -6, 0 }, { "m", -3, 0 }, { "k", 3, 0 },
                { "M", 6, 0 }, { "G", 9, 0 }, { "T", 12, 0 }, { "P", 15, 0 }, { "E", 18, 0 }, { "", 0, 0 },
        };
        const unsigned __int128 max128 = ((unsigned __int128) 1 << 127) - 1;
        unsigned __int128 n = 0, v, pow10 = 1;
        unsigned significant = 0, digits = 0;
        long e = 0, frac = 0;
        int b = 0;
        bool negative = false, dot = false;
        const char *p = s;

        if (!*s || strlen(s) > QUANTITY_MAX_LEN)
                return -EINVAL;
        if (*p == '+' || *p == '-')
                negative = *p++ == '-';
        for (;; p++) {
                if (*p >= '0' && *p <= '9') {
                        digits++;
                        frac += dot;
                        if ((n > 0 || *p != '0') && ++significant <= 36)
                                n = n * 10 + (unsigned) (*p - '0');
                } else if (*p == '.' && !dot)
                        dot = true;
                else
                        break;
        }
        if (digits == 0)
                return -EINVAL;
        {
                size_t i;
                for (i = 0; i < ELEMENTSOF(suffixes); i++)
                        if (strcmp(p, suffixes[i].suffix) == 0)
                                break;
                if (i < ELEMENTSOF(suffixes))
                        e = suffixes[i].exp10, b = suffixes[i].exp2;
                else if (*p == 'e' || *p == 'E') {
                        bool neg = false;
                        p++;
                        if (*p == '+' || *p == '-')
                                neg = *p++ == '-';
                        if (!*p)
                                return -EINVAL;
                        for (; *p; p++) {
                                if (*p < '0' || *p > '9')
                                        return -EINVAL;
                                if (e < 100000)
                                        e = e * 10 + (*p - '0');
                        }
                        e = neg ? -e : e;
                } else
                        return -EINVAL;
        }
        if (n == 0) {
                *ret = 0;
                return 0;
        }
        if (negative)
                return -EINVAL;
        if (significant > 36)
                return 1;
        e -= frac;
        /* N * 2^B: N < 10^36 < 2^120; more than 2^127 is not modelled. */
        v = n;
        for (int k = 0; k < b; k++) {
                if (v > max128 / 2)
                        return 1;
                v *= 2;
        }
        if (e >= 0) {
                for (long k = 0; k < e; k++) {
                        v *= 10;        /* v <= UINT64_MAX * 10 here: no 128-bit overflow */
                        if (v > UINT64_MAX)
                                return -ERANGE;
                }
                if (v > UINT64_MAX)
                        return -ERANGE;
                *ret = (uint64_t) v;
                return 0;
        }
        if (-e > 38) {          /* v < 2^127 < 10^39: a fraction of one byte, rounded up */
                *ret = 1;
                return 0;
        }
        for (long k = 0; k < -e; k++)
                pow10 *= 10;
        v = v / pow10 + (v % pow10 != 0);
        if (v > UINT64_MAX)
                return -ERANGE;
        *ret = (uint64_t) v;
        return 0;
}

/* The model of a duration: a plain number of seconds (at most LONG_MAX / 10^6), or
 * [+] then one or more [DIGITS][.DIGITS] UNIT (ns us µs μs ms s m h; each part with a
 * digit, its whole number within 64 bits), Go's time.ParseDuration, exact: the sum in
 * nanoseconds must be a whole number of microseconds (-EDOM if not, never rounded)
 * within 64 bits (-ERANGE). A fraction is exact only if its digits (trailing zeros
 * dropped) times the unit divide by 10^digits: with more than 19 digits it never does
 * (the largest unit, 2^13 3^2 5^11 ns, has too few factors 2 and 5). */
static int model_duration(const char *s, uint64_t *ret) {
        static const struct {
                const char *unit;
                uint64_t nsec;
        } units[] = { { "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 }, { "ms", 1000000 },
                      { "h", 3600000000000ULL }, { "m", 60000000000ULL }, { "s", 1000000000ULL } };
        const unsigned __int128 max_nsec = (unsigned __int128) UINT64_MAX * 1000;
        unsigned __int128 total = 0;
        bool edom = false;
        const char *p = s;

        if (!*s)
                return -EINVAL;
        if (strspn(s, "0123456789") == strlen(s)) {
                unsigned __int128 v = 0;
                for (; *p; p++)
                        if ((v = v * 10 + (unsigned) (*p - '0')) > LONG_MAX / 1000000)
                                return -ERANGE;
                *ret = (uint64_t) v * 1000000;
                return 0;
        }
        if (*p == '+')
                p++;
        if (!*p)
                return -EINVAL;
        while (*p) {
                unsigned __int128 whole = 0, frac = 0, scale = 1, part;
                bool digits = false, big = false;
                size_t i, nfrac = 0, ndig;
                const char *f = NULL;

                for (; *p >= '0' && *p <= '9'; p++, digits = true)
                        if ((whole = whole * 10 + (unsigned) (*p - '0')) > UINT64_MAX)
                                big = true, whole = (unsigned __int128) UINT64_MAX + 1;
                if (*p == '.') {
                        f = ++p;
                        ndig = strspn(p, "0123456789");
                        p += ndig;
                        digits |= ndig > 0;
                        nfrac = ndig;
                        while (nfrac > 0 && f[nfrac - 1] == '0')
                                nfrac--;
                }
                if (!digits)
                        return -EINVAL;
                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (strncmp(p, units[i].unit, strlen(units[i].unit)) == 0)
                                break;
                if (i == ELEMENTSOF(units))
                        return -EINVAL;
                p += strlen(units[i].unit);
                if (big)
                        return -ERANGE;
                if (nfrac > 19) {
                        edom = true;
                        continue;
                }
                for (size_t k = 0; k < nfrac; k++) {
                        frac = frac * 10 + (unsigned) (f[k] - '0');
                        scale *= 10;
                }
                part = whole * units[i].nsec;
                if ((frac * units[i].nsec) % scale)
                        edom = true;
                part += frac * units[i].nsec / scale;
                if (part > max_nsec || (total += part) > max_nsec)
                        return -ERANGE;
        }
        if (edom || total % 1000)
                return -EDOM;
        *ret = (uint64_t) (total / 1000);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s, buf[64];
        uint64_t got = 0, want = 0, back = 0;
        int r, m;

        if (size > 256)
                return 0;
        s = fuzz_strndup(data, size);

        r = parse_quantity(s, &got);
        m = model_quantity(s, &want);
        /* Which error (-EINVAL or -ERANGE) when both refuse is not compared. */
        if (m == 1)
                /* Over 36 significant digits, or N * 2^B over 2^127: only the outcome's kind. */
                FUZZ_ASSERT(r == 0 || r == -ERANGE);
        else {
                FUZZ_ASSERT((r == 0) == (m == 0));
                if (r == 0)
                        FUZZ_ASSERT(got == want);
        }
        if (r == 0) {
                FUZZ_ASSERT(parse_quantity(format_quantity(got, buf, sizeof(buf)), &back) == 0);
                FUZZ_ASSERT(back == got);
                FUZZ_ASSERT(strlen(format_bytes(got, buf, sizeof(buf))) < 16);
        }

        r = parse_duration(s, &got);
        m = model_duration(s, &want);
        FUZZ_ASSERT((r == 0) == (m == 0));
        if (r == 0) {
                FUZZ_ASSERT(got == want);
                /* format_duration() is exact: it reads back as the same duration. */
                format_duration(got, buf, sizeof(buf));
                FUZZ_ASSERT(parse_duration(buf, &back) == 0 && back == got);
        }

        /* A number from the input's first 8 bytes: format then parse is exact. */
        if (size >= 8) {
                uint64_t v;
                memcpy(&v, data, 8);
                FUZZ_ASSERT(parse_quantity(format_quantity(v, buf, sizeof(buf)), &back) == 0 && back == v);
                format_duration(v, buf, sizeof(buf));
                FUZZ_ASSERT(parse_duration(buf, &back) == 0 && back == v);
        }
        free(s);
        return 0;
}
