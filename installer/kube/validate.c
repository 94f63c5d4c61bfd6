/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kube/validate.h"
#include "base/text.h"
#include "base/util.h"

#define LOWER_ALNUM "abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM LOWER_ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* Reasons quote parts of the value, which may hold anything (a newline, an escape
 * sequence, bytes that are not UTF-8): the reason is shown escaped (base/text.h), one
 * printable line of at most REASON_MAX bytes of text. */
#define REASON_MAX 512

static int reason(char **ret_reason, const char *fmt, ...) _printf_(2, 3);
static int reason(char **ret_reason, const char *fmt, ...) {
        _cleanup_free_ char *raw = NULL;
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&raw, fmt, ap) < 0)
                raw = NULL;
        va_end(ap);
        s = raw ? text_escape(raw, REASON_MAX) : NULL;
        if (!s)
                return -ENOMEM;
        if (ret_reason)
                *ret_reason = s;
        else
                free(s);
        return -EINVAL;
}

static bool in(char c, const char *set) {
        return c && strchr(set, c);
}

/* N bytes at S: [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static bool label_ok(const char *s, size_t n) {
        if (n == 0 || !in(s[0], LOWER_ALNUM) || !in(s[n - 1], LOWER_ALNUM))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!in(s[i], LOWER_ALNUM "-"))
                        return false;
        return true;
}

#define LABEL_RULE "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " \
                   "and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')"
#define SUBDOMAIN_RULE "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, " \
                       "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')"

int validate_dns_label(const char *s, char **ret_reason) {
        size_t n = strlen(s);

        if (n > 63)
                return reason(ret_reason, "must be no more than 63 characters");
        if (!label_ok(s, n))
                return reason(ret_reason, LABEL_RULE);
        return 0;
}

int validate_dns_subdomain(const char *s, char **ret_reason) {
        size_t n = strlen(s);

        if (n > 253)
                return reason(ret_reason, "must be no more than 253 characters");
        if (n == 0)
                return reason(ret_reason, SUBDOMAIN_RULE);
        for (const char *p = s;;) {
                size_t part = strcspn(p, ".");
                if (part == 0)
                        return reason(ret_reason, "%s; here a dot-separated part is empty",
                                      SUBDOMAIN_RULE);
                if (!label_ok(p, part))
                        return reason(ret_reason, "%s; here the part '%.*s' is not", SUBDOMAIN_RULE,
                                      (int) part, p);
                if (!p[part])
                        break;
                p += part + 1;
                if (!*p)
                        return reason(ret_reason, "%s; here it ends in a dot", SUBDOMAIN_RULE);
        }
        return 0;
}

int validate_label_value(const char *s, char **ret_reason) {
        size_t n = strlen(s);

        if (n > 63)
                return reason(ret_reason, "must be no more than 63 characters");
        if (n > 0 && (!in(s[0], ALNUM) || !in(s[n - 1], ALNUM) || strspn(s, ALNUM "-_.") != n))
                return reason(ret_reason, "a valid label must be an empty string or consist of alphanumeric "
                              "characters, '-', '_' or '.', and must start and end with an alphanumeric character");
        return 0;
}

int validate_node_name(const char *s, char **ret_reason) {
        int r = validate_dns_subdomain(s, ret_reason);

        if (r < 0)
                return r;
        if (strlen(s) > 63)
                return reason(ret_reason, "must be no more than 63 characters: the PersistentVolume's node "
                              "affinity matches it against the node's kubernetes.io/hostname label");
        return 0;
}

/* robfig/cron v3's standard parser, as the CronJob controller runs it. */
struct cron_field {
        const char *name;
        int min, max;
        const char *const *names;       /* names[i] stands for min + i */
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                           "sep", "oct", "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const struct cron_field cron_fields[] = {
        { "minute", 0, 59, NULL },
        { "hour", 0, 23, NULL },
        { "day of month", 1, 31, NULL },
        { "month", 1, 12, month_names },
        { "day of week", 0, 6, dow_names },
};

/* strconv.Atoi: an optional sign and decimal digits, within int64. */
static int cron_int(const char *s, size_t n, long *ret) {
        const uint64_t limit = UINT64_C(1) << 63;
        uint64_t v = 0;
        size_t i = 0;
        bool neg = false;

        if (n > 0 && (s[0] == '+' || s[0] == '-'))
                neg = s[i++] == '-';
        if (i == n)
                return -EINVAL;
        for (; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                if (v > limit / 10 || (v = v * 10 + (uint64_t) (s[i] - '0')) > limit)
                        return -ERANGE;
        }
        if (v == limit && !neg)
                return -ERANGE;
        *ret = v == limit ? LONG_MIN : neg ? -(long) v : (long) v;
        return 0;
}

static int cron_value(const struct cron_field *f, const char *s, size_t n, long *ret, char **ret_reason) {
        int r;

        for (size_t i = 0; f->names && f->names[i]; i++)
                if (n == strlen(f->names[i]) && strncasecmp(s, f->names[i], n) == 0) {
                        *ret = f->min + (long) i;
                        return 0;
                }
        r = cron_int(s, n, ret);
        if (r < 0)
                return reason(ret_reason, "%s field: failed to parse int from '%.*s'", f->name, (int) n, s);
        if (*ret < 0)
                return reason(ret_reason, "%s field: negative number (%ld) not allowed", f->name, *ret);
        return 0;
}

/* One expression, as getRange() reads it: split at '/' (the step) and the range at
 * '-'; a range whose first part is "*" or "?" is the whole field, whatever follows
 * it ("*-5" is "*"). */
static int cron_expression(const struct cron_field *f, const char *s, size_t n, char **ret_reason) {
        const char *slash = memchr(s, '/', n), *dash;
        size_t range_n = slash ? (size_t) (slash - s) : n, low_n;
        long start, end, step = 1;
        int r;

        dash = memchr(s, '-', range_n);
        low_n = dash ? (size_t) (dash - s) : range_n;
        if (low_n == 1 && (s[0] == '*' || s[0] == '?')) {
                start = f->min;
                end = f->max;
        } else {
                if (dash && memchr(dash + 1, '-', range_n - low_n - 1))
                        return reason(ret_reason, "%s field: too many hyphens in '%.*s'", f->name, (int) n, s);
                if ((r = cron_value(f, s, low_n, &start, ret_reason)) < 0)
                        return r;
                end = start;
                if (dash && (r = cron_value(f, dash + 1, range_n - low_n - 1, &end, ret_reason)) < 0)
                        return r;
        }
        if (slash) {
                if (memchr(slash + 1, '/', n - range_n - 1))
                        return reason(ret_reason, "%s field: too many slashes in '%.*s'", f->name, (int) n, s);
                if ((r = cron_int(slash + 1, n - range_n - 1, &step)) < 0)
                        return reason(ret_reason, "%s field: failed to parse int from '%.*s'", f->name,
                                      (int) (n - range_n - 1), slash + 1);
                if (step < 0)
                        return reason(ret_reason, "%s field: negative number (%ld) not allowed", f->name, step);
                if (!dash)
                        end = f->max;           /* N/STEP: from N to the top */
        }
        if (start < f->min)
                return reason(ret_reason, "%s field: beginning of range (%ld) below minimum (%d)", f->name, start, f->min);
        if (end > f->max)
                return reason(ret_reason, "%s field: end of range (%ld) above maximum (%d)", f->name, end, f->max);
        if (start > end)
                return reason(ret_reason, "%s field: beginning of range (%ld) beyond end of range (%ld)", f->name, start, end);
        if (step == 0)
                return reason(ret_reason, "%s field: step of range should be a positive number", f->name);
        return 0;
}

/* The length of the white space character at P as Go's unicode.IsSpace sees it
 * (strings.Fields splits a schedule on it), or 0: the ASCII blanks, U+0085, U+00A0,
 * U+1680, U+2000 to U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
static size_t go_space(const char *p) {
        const unsigned char *u = (const unsigned char *) p;

        if (in(*p, " \t\n\r\v\f"))
                return 1;
        if (u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0))
                return 2;
        if ((u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80) || (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80) ||
            (u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f) ||
            (u[0] == 0xe2 && u[1] == 0x80 && (u[2] <= 0x8a || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf) &&
             u[2] >= 0x80))
                return 3;
        return 0;
}

/* Go's time.ParseDuration accepts S: "0", or [-+]?([0-9]*(\.[0-9]*)?UNIT)+ within
 * 2^63 ns (the arithmetic as Go does it, wrap-around included). robfig/cron's
 * @every takes whatever it parses, a negative duration too (it becomes 1s). */
static bool go_duration_ok(const char *s) {
        static const struct {
                const char *unit;
                uint64_t ns;
        } units[] = {
                { "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 }, { "ms", 1000000 },
                { "s", UINT64_C(1000000000) }, { "m", UINT64_C(60000000000) }, { "h", UINT64_C(3600000000000) },
        };
        const uint64_t limit = UINT64_C(1) << 63;
        uint64_t d = 0;
        bool neg = false;

        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (streq(s, "0"))
                return true;
        if (!*s)
                return false;
        while (*s) {
                const char *digits = s, *u;
                uint64_t v = 0, f = 0, unit = 0;
                double scale = 1;
                bool pre, post = false, overflow = false;

                if (*s != '.' && !(*s >= '0' && *s <= '9'))
                        return false;
                for (; *s >= '0' && *s <= '9'; s++)
                        if (v > limit / 10 || (v = v * 10 + (uint64_t) (*s - '0')) > limit)
                                return false;
                pre = s > digits;
                if (*s == '.') {
                        digits = ++s;
                        for (; *s >= '0' && *s <= '9'; s++) {
                                uint64_t y;
                                if (overflow || f > (limit - 1) / 10 || (y = f * 10 + (uint64_t) (*s - '0')) > limit) {
                                        overflow = true;        /* later digits are ignored */
                                        continue;
                                }
                                f = y;
                                scale *= 10;
                        }
                        post = s > digits;
                }
                if (!pre && !post)
                        return false;
                for (u = s; *s && *s != '.' && !(*s >= '0' && *s <= '9'); s++)
                        ;
                for (size_t i = 0; i < ELEMENTSOF(units) && !unit; i++)
                        if ((size_t) (s - u) == strlen(units[i].unit) && strncmp(u, units[i].unit, (size_t) (s - u)) == 0)
                                unit = units[i].ns;
                if (!unit || v > limit / unit)
                        return false;
                v *= unit;
                if (f > 0 && (v += (uint64_t) ((double) f * ((double) unit / scale))) > limit)
                        return false;
                d += v;
                if (d > limit)
                        return false;
        }
        return neg || d < limit;
}

int validate_cron_schedule(const char *s, char **ret_reason) {
        static const char *const macros[] = { "@yearly", "@annually", "@monthly", "@weekly",
                                              "@daily", "@midnight", "@hourly" };
        const char *p = s;
        size_t fields = 0;
        int r;

        if (!*p)
                return reason(ret_reason, "empty spec string");
        /* The API server refuses any "TZ" in a schedule (validateScheduleFormat). */
        if (strstr(p, "TZ"))
                return reason(ret_reason, "cannot use TZ or CRON_TZ in schedule, use the CronJob's timeZone field instead");
        if (*p == '@') {
                for (size_t i = 0; i < ELEMENTSOF(macros); i++)
                        if (streq(p, macros[i]))
                                return 0;
                if (strncmp(p, "@every ", 7) == 0) {
                        if (go_duration_ok(p + 7))
                                return 0;
                        return reason(ret_reason, "failed to parse duration %s", p);
                }
                return reason(ret_reason, "unrecognized descriptor: %s", p);
        }
        /* Five fields split on white space as strings.Fields() does (counted first, as
         * robfig/cron does), each a comma list of expressions in which empty ones are
         * dropped (strings.FieldsFunc()). */
        for (const char *q = p;;) {
                size_t w;
                while ((w = go_space(q)) > 0)
                        q += w;
                if (!*q)
                        break;
                while (*q && !go_space(q))
                        q++;
                fields++;
        }
        if (fields != ELEMENTSOF(cron_fields))
                return reason(ret_reason, "expected exactly 5 fields, found %zu: [%s]", fields, s);
        for (size_t f = 0; f < ELEMENTSOF(cron_fields); f++) {
                const char *end;
                size_t w;

                while ((w = go_space(p)) > 0)
                        p += w;
                for (end = p; *end && !go_space(end); end++)
                        ;
                for (const char *e = p; e < end;) {
                        size_t en = strcspn(e, ",");
                        if (en > (size_t) (end - e))
                                en = (size_t) (end - e);
                        if (en > 0 && (r = cron_expression(&cron_fields[f], e, en, ret_reason)) < 0)
                                return r;
                        e += en + 1;
                }
                p = end;
        }
        return 0;
}

/* Docker reference grammar (github.com/distribution/reference), as the kubelet's
 * container runtime reads an image with ParseNormalizedNamed. */
static bool domain_ok(const char *s, size_t n) {
        size_t host_n = n;
        const char *colon;

        if (n > 0 && s[0] == '[') {                    /* [IPv6] */
                const char *close = memchr(s, ']', n);
                if (!close || close == s + 1)
                        return false;
                for (const char *q = s + 1; q < close; q++)     /* no IPv4-mapped form */
                        if (!in(*q, "0123456789abcdefABCDEF:"))
                                return false;
                host_n = (size_t) (close - s + 1);
                if (host_n < n && s[host_n] != ':')
                        return false;
        } else {
                colon = memchr(s, ':', n);
                if (colon)
                        host_n = (size_t) (colon - s);
                for (const char *q = s; q < s + host_n;) {  /* components joined by '.' */
                        size_t c = strcspn(q, ".");
                        if (c > (size_t) (s + host_n - q))
                                c = (size_t) (s + host_n - q);
                        if (c == 0 || !in(q[0], ALNUM) || !in(q[c - 1], ALNUM))
                                return false;
                        for (size_t i = 0; i < c; i++)
                                if (!in(q[i], ALNUM "-"))
                                        return false;
                        q += c;
                        if (q < s + host_n && ++q == s + host_n)
                                return false;   /* a trailing dot */
                }
                if (host_n == 0)
                        return false;
        }
        if (host_n < n) {                              /* :PORT */
                size_t port_n = n - host_n - 1;
                if (port_n == 0 || strspn(s + host_n + 1, "0123456789") < port_n)
                        return false;
        }
        return true;
}

/* path-component ['/' path-component]*, path-component: [a-z0-9]+ (separator [a-z0-9]+)*,
 * separator: '.', '_', '__' or one or more '-'. */
static bool path_ok(const char *s, size_t n) {
        for (const char *q = s, *end = s + n; q <= end;) {
                size_t c = strcspn(q, "/");
                if (c > (size_t) (end - q))
                        c = (size_t) (end - q);
                if (c == 0 || !in(q[0], LOWER_ALNUM) || !in(q[c - 1], LOWER_ALNUM))
                        return false;
                for (size_t i = 0; i < c;) {
                        size_t a = strspn(q + i, LOWER_ALNUM), sep;
                        if (a == 0)
                                return false;
                        i += a;
                        if (i >= c)
                                break;
                        sep = strspn(q + i, "-");
                        if (sep == 0)
                                sep = q[i] == '_' && q[i + 1] == '_' ? 2 : (q[i] == '.' || q[i] == '_') ? 1 : 0;
                        if (sep == 0)
                                return false;
                        i += sep;
                }
                q += c + 1;
        }
        return true;
}

/* The digest after '@': ALGORITHM:HEX, as digest.Parse takes it. */
static int check_digest(const char *d, char **ret_reason) {
        const char *c = strchr(d, ':');
        size_t hex;

        if (!c || c == d)
                return reason(ret_reason, "invalid reference format: the digest after '@' must be ALGORITHM:HEX");
        hex = strlen(c + 1);
        if (!(c - d == 6 && (strncmp(d, "sha256", 6) == 0 || strncmp(d, "sha384", 6) == 0 ||
                             strncmp(d, "sha512", 6) == 0)))
                return reason(ret_reason, "unsupported digest algorithm '%.*s' (sha256, sha384 or sha512)",
                              (int) (c - d), d);
        if (strspn(c + 1, "0123456789abcdefABCDEF") != hex)
                return reason(ret_reason, "invalid reference format: the digest is hexadecimal digits");
        if (hex != (size_t) (strncmp(d, "sha256", 6) == 0 ? 64 : strncmp(d, "sha384", 6) == 0 ? 96 : 128))
                return reason(ret_reason, "invalid checksum digest length");
        if (strspn(c + 1, "0123456789abcdef") != hex)
                return reason(ret_reason, "invalid checksum digest format: the hexadecimal digits must be lower case");
        return 0;
}

/* The tag from T up to END: 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
static int check_tag(const char *t, const char *end, char **ret_reason) {
        size_t n = (size_t) (end - t);

        for (const char *q = t; q < end; q++)
                if (!in(*q, ALNUM "_.-"))
                        n = 0;
        if (n == 0 || n > 128 || !in(t[0], ALNUM "_"))
                return reason(ret_reason, "invalid reference format: a tag is 1 to 128 of [A-Za-z0-9_.-], "
                              "not starting with '.' or '-'");
        return 0;
}

int validate_image_reference(const char *s, char **ret_reason) {
        const char *at, *name_end, *slash, *colon, *first_end;
        size_t name_n, domain_n = strlen("docker.io");
        bool hub = true;
        int r;

        if (isempty(s))
                return reason(ret_reason, "an image reference is needed");
        for (const char *q = s; *q; q++)
                if ((unsigned char) *q <= ' ' || (unsigned char) *q >= 0x7f)
                        return reason(ret_reason, "an image reference has no blanks, control or non-ASCII characters");
        if (strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64)
                return reason(ret_reason, "invalid repository name (64-byte hexadecimal), cannot specify "
                              "64-byte hexadecimal strings");

        at = strchr(s, '@');
        if (at) {
                r = check_digest(at + 1, ret_reason);
                if (r < 0)
                        return r;
        }
        name_end = at ?: s + strlen(s);

        /* A tag: after the last ':' that follows the last '/'. */
        slash = memrchr(s, '/', (size_t) (name_end - s));
        colon = memrchr(slash ?: s, ':', (size_t) (name_end - (slash ?: s)));
        if (colon) {
                r = check_tag(colon + 1, name_end, ret_reason);
                if (r < 0)
                        return r;
                name_end = colon;
        }
        name_n = (size_t) (name_end - s);
        if (name_n == 0)
                return reason(ret_reason, "invalid reference format: the repository name is empty");

        /* The first component is a registry when it looks like one (ParseNormalizedNamed). */
        first_end = memchr(s, '/', name_n);
        if (first_end) {
                size_t f = (size_t) (first_end - s);
                bool upper = false;
                for (size_t i = 0; i < f; i++)
                        upper = upper || (s[i] >= 'A' && s[i] <= 'Z');
                if (memchr(s, '.', f) || memchr(s, ':', f) || (f == 9 && strncmp(s, "localhost", 9) == 0) || upper) {
                        if (!domain_ok(s, f))
                                return reason(ret_reason, "invalid reference format: bad registry '%.*s'", (int) f, s);
                        hub = (f == 9 && strncmp(s, "docker.io", 9) == 0) || (f == 15 && strncmp(s, "index.docker.io", 15) == 0);
                        domain_n = hub ? domain_n : f;
                        s = first_end + 1;
                        name_n -= f + 1;
                }
        }
        for (size_t i = 0; i < name_n; i++)
                if (s[i] >= 'A' && s[i] <= 'Z')
                        return reason(ret_reason, "invalid reference format: repository name must be lowercase");
        if (!path_ok(s, name_n))
                return reason(ret_reason, "invalid reference format: a repository path is lower-case letters "
                              "and digits in parts joined by '/', with '.', '_', '__' or '-' between them");
        /* Counted as normalised: Docker Hub's one-part names are docker.io/library/NAME.
         * The path has at most 255 characters (distribution/reference), and so has the
         * whole name (as older copies of it count). */
        if (hub && !memchr(s, '/', name_n))
                name_n += strlen("library/");
        if (name_n > 255 || domain_n + 1 + name_n > 255)
                return reason(ret_reason, "repository name must not be more than 255 characters");
        return 0;
}

int validate_local_path(const char *s, char **ret_path, char **ret_reason) {
        _cleanup_free_ char *out = NULL;
        size_t n = 0;

        if (s[0] != '/')
                return reason(ret_reason, "an absolute path is needed");
        out = malloc(strlen(s) + 2);
        if (!out)
                return -ENOMEM;
        for (const char *p = s; *p;) {
                size_t c;
                p += strspn(p, "/");
                c = strcspn(p, "/");
                if (c == 0)
                        break;
                if (c == 1 && p[0] == '.') {
                        p += c;
                        continue;
                }
                if (c == 2 && p[0] == '.' && p[1] == '.')
                        return reason(ret_reason, "must not contain '..': a local volume's path has no "
                                      "backsteps, so that it means the same on every node");
                out[n++] = '/';
                memcpy(out + n, p, c);
                n += c;
                p += c;
        }
        if (n == 0)
                return reason(ret_reason, "the root directory cannot hold the cache: name a directory below it");
        out[n] = '\0';
        *ret_path = TAKE_PTR(out);
        return 0;
}
