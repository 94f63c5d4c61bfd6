/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/util.h"

void strv_free(char **v) {
        if (!v)
                return;
        for (char **i = v; *i; i++)
                free(*i);
        free(v);
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int strv_extend(char ***v, const char *s) {
        size_t n = strv_length(*v);
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        char **grown = realloc(*v, (n + 2) * sizeof(char *));
        if (!grown) {
                free(copy);
                return -ENOMEM;
        }
        grown[n] = copy;
        grown[n + 1] = NULL;
        *v = grown;
        return 0;
}

bool strv_contains(char *const *v, const char *s) {
        for (size_t i = 0; v && v[i]; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

static int mkdir_parents(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        return 0;
}

static bool file_has_content(const char *path, const void *data, size_t size, mode_t mode) {
        struct stat st;
        _cleanup_free_ char *old = NULL;
        size_t old_size;

        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != mode)
                return false;
        if ((size_t) st.st_size != size)
                return false;
        if (read_file_full(path, size + 1, &old, &old_size) < 0)
                return false;
        return old_size == size && memcmp(old, data, size) == 0;
}

/* TEMP_PREFIX is "NAME.tmp-": true when ENTRY is that and six more characters of
 * mkostemp's alphabet, the name write_file_atomic gives its temporary file. */
static bool is_temp_of(const char *entry, const char *temp_prefix) {
        size_t n = strlen(temp_prefix);

        if (strncmp(entry, temp_prefix, n) != 0 || strlen(entry + n) != 6)
                return false;
        return strspn(entry + n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == 6;
}

int remove_stale_temps(const char *path) {
        _cleanup_free_ char *dircopy = strdup(path), *basecopy = strdup(path), *prefix = NULL;
        _cleanup_close_ int dfd = -1;
        struct dirent *de;
        DIR *d;
        int removed = 0;

        if (!dircopy || !basecopy)
                return -ENOMEM;
        prefix = strdup_printf("%s.tmp-", basename(basecopy));
        if (!prefix)
                return -ENOMEM;
        dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(dfd);
        if (!d)
                return -errno;
        dfd = -1; /* the DIR owns it */
        while ((de = readdir(d)))
                if (is_temp_of(de->d_name, prefix) && unlinkat(dirfd(d), de->d_name, 0) == 0)
                        removed++;
        closedir(d);
        return removed;
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_free_ char *tmp = NULL, *dircopy = NULL;
        _cleanup_close_ int fd = -1, dfd = -1;
        int r;

        /* What a run killed between creating its temporary file and the rename left. */
        (void) remove_stale_temps(path);
        if (file_has_content(path, data, size, mode))
                return 0;

        r = mkdir_parents(path);
        if (r < 0)
                return r;

        tmp = strdup_printf("%s.tmp-XXXXXX", path);
        if (!tmp)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, mode) < 0)
                goto fail;
        for (size_t done = 0; done < size;) {
                ssize_t n = write(fd, (const char *) data + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        goto fail;
                }
                done += (size_t) n;
        }
        if (fsync(fd) < 0)
                goto fail;
        if (rename(tmp, path) < 0)
                goto fail;

        dircopy = strdup(path);
        if (!dircopy)
                return -ENOMEM;
        dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 1;

fail:
        r = -errno;
        (void) unlink(tmp);
        return r;
}

int read_file_full(const char *path, size_t max, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        if (fd < 0)
                return -errno;
        for (;;) {
                if (allocated - size < 4096 + 1) {
                        size_t want = allocated ? allocated * 2 : 8192;
                        if (want > max + 1)
                                want = max + 1 + 1;
                        char *grown = realloc(buf, want);
                        if (!grown)
                                return -ENOMEM;
                        buf = grown;
                        allocated = want;
                }
                ssize_t n = read(fd, buf + size, allocated - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max)
                        return -EFBIG;
        }
        buf[size] = '\0';
        *ret_data = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

static const struct {
        const char *suffix;
        uint64_t factor;
} quantity_suffixes[] = {
        { "Ki", 1ULL << 10 }, { "Mi", 1ULL << 20 }, { "Gi", 1ULL << 30 },
        { "Ti", 1ULL << 40 }, { "Pi", 1ULL << 50 }, { "Ei", 1ULL << 60 },
        { "k", 1000ULL }, { "M", 1000000ULL }, { "G", 1000000000ULL },
        { "T", 1000000000000ULL }, { "P", 1000000000000000ULL },
        { "E", 1000000000000000000ULL }, { "", 1 },
};

/* Multiplies A by B, -ERANGE on overflow. */
static int mul_u64(uint64_t a, uint64_t b, uint64_t *ret) {
        if (__builtin_mul_overflow(a, b, ret))
                return -ERANGE;
        return 0;
}

int parse_quantity(const char *s, uint64_t *ret_bytes) {
        uint64_t whole = 0, frac = 0, frac_scale = 1, factor = 1, result;
        const char *p = s;
        bool digits = false;
        int r;

        if (isempty(s))
                return -EINVAL;
        if (*p == '+')
                p++;
        for (; *p >= '0' && *p <= '9'; p++, digits = true)
                if (mul_u64(whole, 10, &whole) < 0 || __builtin_add_overflow(whole, (uint64_t) (*p - '0'), &whole))
                        return -ERANGE;
        if (*p == '.') {
                for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
                        if (frac_scale < 1000000000000000000ULL) {
                                frac = frac * 10 + (uint64_t) (*p - '0');
                                frac_scale *= 10;
                        }
        }
        if (!digits)
                return -EINVAL;

        if ((*p == 'e' || *p == 'E') && p[1] >= '0' && p[1] <= '9') {
                long exp = 0;
                for (p++; *p >= '0' && *p <= '9'; p++)
                        if ((exp = exp * 10 + (*p - '0')) > 18)
                                return -ERANGE;
                for (long i = 0; i < exp; i++)
                        factor *= 10;
        } else {
                size_t i;
                for (i = 0; i < ELEMENTSOF(quantity_suffixes); i++)
                        if (streq(p, quantity_suffixes[i].suffix))
                                break;
                if (i == ELEMENTSOF(quantity_suffixes))
                        return -EINVAL;
                factor = quantity_suffixes[i].factor;
                p += strlen(quantity_suffixes[i].suffix);
        }
        if (*p)
                return -EINVAL;

        r = mul_u64(whole, factor, &result);
        if (r < 0)
                return r;
        /* The fraction, rounded down to whole bytes: frac/frac_scale * factor. */
        if (frac) {
                long double f = (long double) frac / (long double) frac_scale * (long double) factor;
                if (__builtin_add_overflow(result, (uint64_t) f, &result))
                        return -ERANGE;
        }
        *ret_bytes = result;
        return 0;
}

char *format_quantity(uint64_t bytes, char *buf, size_t size) {
        static const char *const names[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
        unsigned i = 0;

        while (bytes != 0 && i + 1 < ELEMENTSOF(names) && bytes % 1024 == 0) {
                bytes /= 1024;
                i++;
        }
        snprintf(buf, size, "%" PRIu64 "%s", bytes, names[i]);
        return buf;
}

char *format_bytes(uint64_t bytes, char *buf, size_t size) {
        static const char units[] = "BKMGTPE";
        long double v = (long double) bytes;
        unsigned i = 0;

        while (v >= 1024 && i + 1 < sizeof(units) - 1) {
                v /= 1024;
                i++;
        }
        if (i == 0)
                snprintf(buf, size, "%" PRIu64 "B", bytes);
        else
                snprintf(buf, size, "%.1Lf%c", v, units[i]);
        return buf;
}

int parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *unit;
                uint64_t usec;
        } units[] = {
                { "ms", 1000ULL }, { "us", 1ULL }, { "h", 3600000000ULL },
                { "m", 60000000ULL }, { "s", 1000000ULL },
        };
        uint64_t total = 0;
        const char *p = s;

        if (isempty(s))
                return -EINVAL;

        /* A plain number of seconds. */
        if (strspn(s, "0123456789") == strlen(s)) {
                long v;
                int r = parse_int_range(s, 0, LONG_MAX / 1000000, &v);
                if (r < 0)
                        return r;
                *ret_usec = (uint64_t) v * 1000000ULL;
                return 0;
        }

        while (*p) {
                uint64_t n = 0, part;
                size_t i;

                if (*p < '0' || *p > '9')
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++)
                        if (mul_u64(n, 10, &n) < 0 || __builtin_add_overflow(n, (uint64_t) (*p - '0'), &n))
                                return -ERANGE;
                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (strncmp(p, units[i].unit, strlen(units[i].unit)) == 0)
                                break;
                if (i == ELEMENTSOF(units))
                        return -EINVAL;
                p += strlen(units[i].unit);
                if (mul_u64(n, units[i].usec, &part) < 0 || __builtin_add_overflow(total, part, &total))
                        return -ERANGE;
        }
        *ret_usec = total;
        return 0;
}

char *format_duration(uint64_t usec, char *buf, size_t size) {
        uint64_t sec = usec / 1000000ULL;
        uint64_t h = sec / 3600, m = (sec % 3600) / 60, s = sec % 60;
        size_t n = 0;

        buf[0] = '\0';
        if (sec == 0) {
                snprintf(buf, size, "%" PRIu64 "ms", usec / UINT64_C(1000));
                return buf;
        }
        if (h && n < size)
                n += (size_t) snprintf(buf + n, size - n, "%" PRIu64 "h", h);
        if (m && n < size)
                n += (size_t) snprintf(buf + n, size - n, "%" PRIu64 "m", m);
        if (s && n < size)
                snprintf(buf + n, size - n, "%" PRIu64 "s", s);
        return buf;
}

uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

int parse_int_range(const char *s, long min, long max, long *ret) {
        char *end;
        long v;

        if (isempty(s))
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (*end || end == s)
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}
