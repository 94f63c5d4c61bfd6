/* SPDX-License-Identifier: MIT */
/* kube/validate.h: the flag validators against models of what they stand for, so that
 * a value is refused exactly when the API server (or the kubelet's image parser) would
 * refuse it:
 *   - DNS-1123 labels and subdomains, label values, node names: apimachinery's regular
 *     expressions and lengths, run by POSIX <regex.h>;
 *   - images: distribution/reference's ParseNormalizedNamed(), its regular expression
 *     (ReferenceRegexp) run by <regex.h> on the name as splitDockerDomain() normalises
 *     it, the lengths (the path, and the whole name as older copies count it), go-digest's
 *     algorithms; a first component taken for a registry that is none leaves Go a name
 *     without a domain, which no pull reaches: refused on purpose;
 *   - CronJob schedules: robfig/cron v3's ParseStandard() transliterated (strings.Fields
 *     on Unicode white space, strings.FieldsFunc on ',', strings.Split on '/' and '-',
 *     strconv.Atoi, time.ParseDuration for @every), and the API server's "TZ" rule;
 *   - local paths: absolute, no "..", normalised as the components say.
 * And every refusal's reason is one printable line (the value may hold anything).
 *
 * Input: the value, given to every validator. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>

#include "fuzz.h"
#include "kube/validate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

#define VALUE_MAX 1024
#define REASON_MAX 4096

static regex_t label_re, subdomain_re, label_value_re, reference_re, domain_re, hex64_re;
static int reference_digest_group;

/* ------------------------------------------------------------------------------- */
/* Regular expressions, as apimachinery and distribution/reference write them. */

#define DNS_LABEL "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define ALNUM "[a-z0-9]+"
#define SEPARATOR "([._]|__|[-]+)"
#define PATH_COMPONENT ALNUM "(" SEPARATOR ALNUM ")*"
#define REMOTE_NAME PATH_COMPONENT "(/" PATH_COMPONENT ")*"
#define DOMAIN_COMPONENT "([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
#define DOMAIN_NAME DOMAIN_COMPONENT "(\\." DOMAIN_COMPONENT ")*"
#define IPV6 "\\[[a-fA-F0-9:]+\\]"
#define DOMAIN_AND_PORT "(" DOMAIN_NAME "|" IPV6 ")(:[0-9]+)?"
#define NAME_PAT "(" DOMAIN_AND_PORT "/)?" REMOTE_NAME
#define TAG "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
#define DIGEST "[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"

static void compile(regex_t *re, const char *pattern) {
        if (regcomp(re, pattern, REG_EXTENDED) != 0)
                abort();
}

static size_t count_groups(const char *pattern) {
        size_t n = 0;
        for (const char *p = pattern; *p; p++)
                n += *p == '(' && (p == pattern || p[-1] != '\\');
        return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        compile(&label_re, "^" DNS_LABEL "$");
        compile(&subdomain_re, "^" DNS_LABEL "(\\." DNS_LABEL ")*$");
        compile(&label_value_re, "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$");
        compile(&reference_re, "^(" NAME_PAT ")(:(" TAG "))?(@(" DIGEST "))?$");
        compile(&domain_re, "^" DOMAIN_AND_PORT "$");
        compile(&hex64_re, "^[a-f0-9]{64}$");
        /* Groups: 1 the name, then NAME_PAT's own, then (:(TAG)) and (@(DIGEST)). */
        reference_digest_group = (int) (1 + count_groups(NAME_PAT) + 2 + 2);
        return 0;
}

static bool matches(const regex_t *re, const char *s) {
        return regexec(re, s, 0, NULL, 0) == 0;
}

/* ------------------------------------------------------------------------------- */
/* Kubernetes names. */

static bool model_label(const char *s) {
        return strlen(s) <= 63 && matches(&label_re, s);
}

static bool model_subdomain(const char *s) {
        return strlen(s) <= 253 && matches(&subdomain_re, s);
}

static bool model_label_value(const char *s) {
        return strlen(s) <= 63 && matches(&label_value_re, s);
}

/* ------------------------------------------------------------------------------- */
/* Images: ParseNormalizedNamed(). */

static bool has_upper(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] >= 'A' && s[i] <= 'Z')
                        return true;
        return false;
}

static bool model_digest(const char *d, size_t n) {
        static const struct {
                const char *name;
                size_t hex;
        } algorithms[] = { { "sha256", 64 }, { "sha384", 96 }, { "sha512", 128 } };
        const char *colon = memchr(d, ':', n);

        for (size_t i = 0; colon && i < ELEMENTSOF(algorithms); i++)
                if ((size_t) (colon - d) == strlen(algorithms[i].name) &&
                    strncmp(d, algorithms[i].name, (size_t) (colon - d)) == 0) {
                        size_t hex = n - (size_t) (colon - d) - 1;
                        return hex == algorithms[i].hex && strspn(colon + 1, "0123456789abcdef") >= hex;
                }
        return false;
}

static bool model_image(const char *s) {
        const char *slash = strchr(s, '/'), *remote_end;
        char domain[VALUE_MAX + 16], remainder[VALUE_MAX + 16], full[2 * VALUE_MAX + 32];
        regmatch_t m[64];
        size_t name_n, path_n, domain_n;

        if (!*s || matches(&hex64_re, s))
                return false;
        /* splitDockerDomain() */
        if (!slash) {
                snprintf(domain, sizeof(domain), "docker.io");
                snprintf(remainder, sizeof(remainder), "library/%s", s);
        } else {
                size_t f = (size_t) (slash - s);
                snprintf(domain, sizeof(domain), "%.*s", (int) f, s);
                snprintf(remainder, sizeof(remainder), "%s", slash + 1);
                if (strcmp(domain, "index.docker.io") == 0)
                        snprintf(domain, sizeof(domain), "docker.io");
                else if (strcmp(domain, "localhost") != 0 && !memchr(s, '.', f) && !memchr(s, ':', f) &&
                         !has_upper(s, f)) {
                        snprintf(domain, sizeof(domain), "docker.io");
                        snprintf(remainder, sizeof(remainder), "%s", s);
                }
                if (strcmp(domain, "docker.io") == 0 && !strchr(remainder, '/')) {
                        char copy[sizeof(remainder)];
                        snprintf(copy, sizeof(copy), "%s", remainder);
                        snprintf(remainder, sizeof(remainder), "library/%s", copy);
                }
        }
        remote_end = strchr(remainder, ':');
        if (has_upper(remainder, remote_end ? (size_t) (remote_end - remainder) : strlen(remainder)))
                return false;
        /* Parse() */
        snprintf(full, sizeof(full), "%s/%s", domain, remainder);
        if (regexec(&reference_re, full, ELEMENTSOF(m), m, 0) != 0)
                return false;
        /* A domain that is none leaves a name without one: Go takes it, no pull reaches it. */
        if (!matches(&domain_re, domain))
                return false;
        name_n = (size_t) (m[1].rm_eo - m[1].rm_so);
        domain_n = strlen(domain);
        path_n = name_n - domain_n - 1;
        if (path_n > 255 || name_n > 255)
                return false;
        if (m[reference_digest_group].rm_so >= 0 &&
            !model_digest(full + m[reference_digest_group].rm_so,
                          (size_t) (m[reference_digest_group].rm_eo - m[reference_digest_group].rm_so)))
                return false;
        return true;
}

/* ------------------------------------------------------------------------------- */
/* Schedules: robfig/cron v3, ParseStandard(). Go strings are (pointer, length). */

struct gostr {
        const char *p;
        size_t n;
};

/* utf8.DecodeRuneInString(): the rune and its width; RuneError (U+FFFD) width 1 for
 * bytes that are not UTF-8. */
static uint32_t decode_rune(const char *p, size_t n, size_t *width) {
        const unsigned char *u = (const unsigned char *) p;
        for (size_t w = 1; w <= 4 && w <= n; w++)
                if (fuzz_utf8_valid(p, w)) {
                        static const unsigned masks[] = { 0x7f, 0x1f, 0x0f, 0x07 };
                        uint32_t r = u[0] & masks[w - 1];
                        for (size_t i = 1; i < w; i++)
                                r = r << 6 | (u[i] & 0x3f);
                        *width = w;
                        return r;
                }
        *width = 1;
        return 0xfffd;
}

/* unicode.IsSpace() */
static bool go_is_space(uint32_t r) {
        if (r <= 0xff)
                return r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == ' ' || r == 0x85 ||
                       r == 0xa0;
        return r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f ||
               r == 0x205f || r == 0x3000;
}

/* strings.Fields(): at most MAX fields (the count goes on past it). */
static size_t go_fields(const char *s, struct gostr *out, size_t max) {
        size_t n = strlen(s), count = 0, i = 0;

        while (i < n) {
                size_t w, start;
                while (i < n && go_is_space(decode_rune(s + i, n - i, &w)))
                        i += w;
                if (i >= n)
                        break;
                start = i;
                while (i < n && !go_is_space(decode_rune(s + i, n - i, &w)))
                        i += w;
                if (count < max)
                        out[count] = (struct gostr) { s + start, i - start };
                count++;
        }
        return count;
}

/* strings.Split(S, SEP) into at most MAX parts; returns the number of parts. */
static size_t go_split(struct gostr s, char sep, struct gostr *out, size_t max) {
        size_t count = 0, start = 0;
        for (size_t i = 0; i <= s.n; i++)
                if (i == s.n || s.p[i] == sep) {
                        if (count < max)
                                out[count] = (struct gostr) { s.p + start, i - start };
                        count++;
                        start = i + 1;
                }
        return count;
}

/* strconv.Atoi() on 64 bits, then mustParseInt()'s negative check. */
static bool go_must_parse_int(struct gostr s, uint64_t *ret) {
        const uint64_t cutoff = UINT64_C(1) << 63;
        uint64_t v = 0;
        size_t i = 0;
        bool neg = false;

        if (s.n > 0 && (s.p[0] == '+' || s.p[0] == '-'))
                neg = s.p[i++] == '-';
        if (i == s.n)
                return false;
        for (; i < s.n; i++) {
                if (s.p[i] < '0' || s.p[i] > '9' || v >= cutoff / 10 + 1)
                        return false;
                v = v * 10 + (uint64_t) (s.p[i] - '0');
                if (v > cutoff)
                        return false;
        }
        if (neg ? v > cutoff : v >= cutoff)
                return false;                   /* out of range */
        if (neg && v > 0)
                return false;                   /* negative number not allowed */
        *ret = v;
        return true;
}

struct bounds {
        uint64_t min, max;
        const char *const *names;
};

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                      "dec", NULL };
static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static bool go_parse_int_or_name(struct gostr s, const struct bounds *b, uint64_t *ret) {
        for (size_t i = 0; b->names && b->names[i]; i++)
                if (s.n == strlen(b->names[i]) && strncasecmp(s.p, b->names[i], s.n) == 0) {
                        *ret = b->min + i;
                        return true;
                }
        return go_must_parse_int(s, ret);
}

static bool go_get_range(struct gostr expr, const struct bounds *b) {
        struct gostr range_and_step[3], low_and_high[3];
        size_t n_rs = go_split(expr, '/', range_and_step, 3), n_lh = go_split(range_and_step[0], '-', low_and_high, 3);
        uint64_t start, end, step;

        if ((low_and_high[0].n == 1 && (low_and_high[0].p[0] == '*' || low_and_high[0].p[0] == '?'))) {
                start = b->min;
                end = b->max;
        } else {
                if (!go_parse_int_or_name(low_and_high[0], b, &start))
                        return false;
                if (n_lh == 1)
                        end = start;
                else if (n_lh == 2) {
                        if (!go_parse_int_or_name(low_and_high[1], b, &end))
                                return false;
                } else
                        return false;
        }
        if (n_rs == 1)
                step = 1;
        else if (n_rs == 2) {
                if (!go_must_parse_int(range_and_step[1], &step))
                        return false;
                if (n_lh == 1)
                        end = b->max;
        } else
                return false;
        return start >= b->min && end <= b->max && start <= end && step != 0;
}

/* time.ParseDuration() */
static bool go_leading_int(const char **s, uint64_t *x) {
        *x = 0;
        for (; **s >= '0' && **s <= '9'; (*s)++) {
                if (*x > (UINT64_C(1) << 63) / 10)
                        return false;
                *x = *x * 10 + (uint64_t) (**s - '0');
                if (*x > UINT64_C(1) << 63)
                        return false;
        }
        return true;
}

static void go_leading_fraction(const char **s, uint64_t *x, double *scale) {
        bool overflow = false;
        *x = 0;
        *scale = 1;
        for (; **s >= '0' && **s <= '9'; (*s)++) {
                uint64_t y;
                if (overflow)
                        continue;
                if (*x > ((UINT64_C(1) << 63) - 1) / 10) {
                        overflow = true;
                        continue;
                }
                y = *x * 10 + (uint64_t) (**s - '0');
                if (y > UINT64_C(1) << 63) {
                        overflow = true;
                        continue;
                }
                *x = y;
                *scale *= 10;
        }
}

static bool go_parse_duration(const char *s) {
        static const struct {
                const char *name;
                uint64_t ns;
        } unit_map[] = { { "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
                         { "ms", 1000000 }, { "s", 1000000000 }, { "m", UINT64_C(60) * 1000000000 },
                         { "h", UINT64_C(3600) * 1000000000 } };
        uint64_t d = 0;
        bool neg = false;

        if (*s == '-' || *s == '+') {
                neg = *s == '-';
                s++;
        }
        if (strcmp(s, "0") == 0)
                return true;
        if (!*s)
                return false;
        while (*s) {
                uint64_t v, f = 0, unit = 0;
                double scale = 1;
                const char *before = s, *u;
                bool pre, post = false;
                size_t i;

                if (!(*s == '.' || (*s >= '0' && *s <= '9')))
                        return false;
                if (!go_leading_int(&s, &v))
                        return false;
                pre = s != before;
                if (*s == '.') {
                        s++;
                        before = s;
                        go_leading_fraction(&s, &f, &scale);
                        post = s != before;
                }
                if (!pre && !post)
                        return false;
                for (i = 0; s[i] && !(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')); i++)
                        ;
                if (i == 0)
                        return false;
                u = s;
                s += i;
                for (size_t k = 0; k < ELEMENTSOF(unit_map); k++)
                        if (strlen(unit_map[k].name) == i && strncmp(u, unit_map[k].name, i) == 0)
                                unit = unit_map[k].ns;
                if (!unit)
                        return false;
                if (v > (UINT64_C(1) << 63) / unit)
                        return false;
                v *= unit;
                if (f > 0) {
                        v += (uint64_t) ((double) f * ((double) unit / scale));
                        if (v > UINT64_C(1) << 63)
                                return false;
                }
                d += v;
                if (d > UINT64_C(1) << 63)
                        return false;
        }
        return neg || d <= (UINT64_C(1) << 63) - 1;
}

static bool model_cron(const char *spec) {
        static const char *const descriptors[] = { "@yearly", "@annually", "@monthly", "@weekly", "@daily",
                                                   "@midnight", "@hourly" };
        const struct bounds b[] = { { 0, 59, NULL }, { 0, 23, NULL }, { 1, 31, NULL }, { 1, 12, months },
                                    { 0, 6, days } };
        struct gostr fields[5];

        if (!*spec || strstr(spec, "TZ"))       /* the API server's rule covers TZ= and CRON_TZ= */
                return false;
        if (spec[0] == '@') {
                for (size_t i = 0; i < ELEMENTSOF(descriptors); i++)
                        if (strcmp(spec, descriptors[i]) == 0)
                                return true;
                return strncmp(spec, "@every ", 7) == 0 && go_parse_duration(spec + 7);
        }
        if (go_fields(spec, fields, 5) != 5)
                return false;
        for (size_t f = 0; f < 5; f++) {
                /* strings.FieldsFunc(field, ','): the non-empty parts */
                struct gostr parts[VALUE_MAX];
                size_t n = go_split(fields[f], ',', parts, ELEMENTSOF(parts));
                for (size_t i = 0; i < n; i++)
                        if (parts[i].n > 0 && !go_get_range(parts[i], &b[f]))
                                return false;
        }
        return true;
}

/* ------------------------------------------------------------------------------- */
/* Local paths. */

static bool model_local_path(const char *s, char *out) {
        size_t o = 0;

        if (s[0] != '/')
                return false;
        for (const char *p = s; *p;) {
                size_t c;
                while (*p == '/')
                        p++;
                c = strcspn(p, "/");
                if (c == 0)
                        break;
                if (c == 2 && p[0] == '.' && p[1] == '.')
                        return false;
                if (!(c == 1 && p[0] == '.')) {
                        out[o++] = '/';
                        memcpy(out + o, p, c);
                        o += c;
                }
                p += c;
        }
        out[o] = '\0';
        return o > 0;
}

/* ------------------------------------------------------------------------------- */

/* V(S) agrees with the model; a refusal says why on one printable line, an acceptance
 * leaves the reason alone. */
static void check(int (*v)(const char *, char **), const char *s, bool want) {
        char *why = NULL;
        int r = v(s, &why);

        FUZZ_ASSERT(r == 0 || r == -EINVAL);
        if (r == 0) {
                FUZZ_ASSERT(want && !why);
                return;
        }
        FUZZ_ASSERT(!want);
        FUZZ_ASSERT(why && *why && strlen(why) < REASON_MAX);
        FUZZ_ASSERT(fuzz_utf8_valid(why, strlen(why)) && fuzz_no_control(why, NULL));
        free(why);
        /* ... and without a place for the reason, the same answer. */
        FUZZ_ASSERT(v(s, NULL) == -EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s, *path = NULL, *why = NULL, want_path[VALUE_MAX + 2];
        bool path_ok;
        int r;

        if (size > VALUE_MAX)
                return 0;
        s = fuzz_strndup(data, size);

        check(validate_dns_label, s, model_label(s));
        check(validate_dns_subdomain, s, model_subdomain(s));
        check(validate_label_value, s, model_label_value(s));
        check(validate_node_name, s, model_subdomain(s) && model_label_value(s));
        check(validate_image_reference, s, model_image(s));
        check(validate_cron_schedule, s, model_cron(s));

        path_ok = model_local_path(s, want_path);
        r = validate_local_path(s, &path, &why);
        FUZZ_ASSERT(r == 0 || r == -EINVAL);
        FUZZ_ASSERT((r == 0) == path_ok);
        if (r == 0) {
                char *again = NULL;
                FUZZ_ASSERT(!why && strcmp(path, want_path) == 0);
                /* Normalised once is normalised. */
                FUZZ_ASSERT(validate_local_path(path, &again, NULL) == 0 && strcmp(again, path) == 0);
                free(again);
        } else
                FUZZ_ASSERT(why && fuzz_utf8_valid(why, strlen(why)) && fuzz_no_control(why, NULL));
        free(path);
        free(why);
        free(s);
        return 0;
}
