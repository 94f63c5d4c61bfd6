/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
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

static int strv_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

size_t strv_sort_unique(char **v, size_t n) {
        size_t kept = 0;

        if (n == 0)
                return 0;
        qsort(v, n, sizeof(*v), strv_cmp);
        for (size_t i = 0; i < n; i++) {
                if (kept > 0 && streq(v[kept - 1], v[i]))
                        free(v[i]);
                else
                        v[kept++] = v[i];
        }
        v[kept] = NULL;
        return kept;
}

bool strv_sorted_contains(char *const *v, size_t n, const char *s) {
        return n > 0 && bsearch(&s, v, n, sizeof(*v), strv_cmp);
}

int free_and_strdup(char **p, const char *s) {
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        free(*p);
        *p = copy;
        return 0;
}

char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

int mkdir_parents(const char *path) {
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

int mkdir_p(const char *dir, mode_t mode) {
        struct stat st;
        int r;

        if (stat(dir, &st) == 0)
                return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        r = mkdir_parents(dir);
        if (r < 0)
                return r;
        if (mkdir(dir, mode) < 0) {
                if (errno != EEXIST)
                        return -errno;
                if (stat(dir, &st) < 0)
                        return -errno;
                return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        }
        if (chmod(dir, mode) < 0)
                return -errno;
        return 1;
}

bool file_has_content(const char *path, const void *data, size_t size, mode_t mode) {
        struct stat st;
        _cleanup_free_ char *old = NULL;
        size_t old_size;

        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != mode)
                return false;
        if ((size_t) st.st_size != size)
                return false;
        bool same;

        if (read_file_full(path, size + 1, &old, &old_size) < 0)
                return false;
        same = old_size == size && memcmp(old, data, size) == 0;
        /* The old content may be a key: cleared before it is freed. */
        explicit_bzero(old, old_size);
        return same;
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
        while ((de = readdir(d))) {
                _cleanup_close_ int fd = -1;

                if (!is_temp_of(de->d_name, prefix))
                        continue;
                /* A writer holds a lock on its temporary file until the rename: only a
                 * file nobody holds (its writer was killed) is stale. */
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
                if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) == 0)
                        removed++;
        }
        closedir(d);
        return removed;
}

static int write_file_renamed(const char *path, const void *data, size_t size, mode_t mode, bool sync) {
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
        /* Held until the rename: remove_stale_temps() of a concurrent writer of the
         * same file leaves this one alone. */
        if (flock(fd, LOCK_EX) < 0 || fchmod(fd, mode) < 0)
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
        if (sync && fsync(fd) < 0)
                goto fail;
        if (rename(tmp, path) < 0)
                goto fail;
        if (!sync)
                return 1;

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

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        return write_file_renamed(path, data, size, mode, true);
}

int write_file_replace(const char *path, const void *data, size_t size, mode_t mode) {
        return write_file_renamed(path, data, size, mode, false);
}

int open_regular(const char *path, int flags) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int fl;

        /* O_NONBLOCK: opening a FIFO for reading never waits for a writer; the type is
         * then checked on what was opened (no stat-then-open race), and only a regular
         * file gets blocking reads back. */
        fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
                return -errno;
        return TAKE_FD(fd);
}

const char *file_error_to_string(int error) {
        if (error == -EBADFD || error == EBADFD)
                return "not a regular file";
        if (error == -EISDIR || error == EISDIR)
                return "a directory, not a file";
        return strerror(error < 0 ? -error : error);
}

/* Frees a read buffer of ALLOCATED bytes, cleared first: it may hold a key. */
static void erase_buffer(char *buf, size_t allocated) {
        if (buf)
                explicit_bzero(buf, allocated);
        free(buf);
}

static bool stamp_matches(const struct file_stamp *s, const struct stat *st) {
        return s->known && s->present && st->st_ino == s->ino && st->st_size == s->size &&
               st->st_mtim.tv_sec == s->mtime.tv_sec && st->st_mtim.tv_nsec == s->mtime.tv_nsec;
}

int file_stamp_check(const struct file_stamp *stamp, const char *path, struct file_stamp *ret_now) {
        struct stat st;

        if (stat(path, &st) < 0) {
                if (errno != ENOENT)
                        return -errno;
                *ret_now = (struct file_stamp) { .known = true };
                return stamp->known && !stamp->present ? 0 : 1;
        }
        *ret_now = (struct file_stamp) { .known = true, .present = true, .ino = st.st_ino, .size = st.st_size,
                                         .mtime = st.st_mtim };
        return stamp_matches(stamp, &st) ? 0 : 1;
}

int file_read_changed(const struct file_stamp *stamp, const char *path, size_t max, char **ret_data,
                      size_t *ret_size, struct file_stamp *ret_now) {
        int q = file_stamp_check(stamp, path, ret_now);

        *ret_data = NULL;
        *ret_size = 0;
        if (q <= 0)
                return q;
        if (ret_now->present && (q = read_file_full(path, max, ret_data, ret_size)) < 0)
                return q;
        return 1;
}

int read_file_full(const char *path, size_t max, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int fd = open_regular(path, O_RDONLY);
        char *buf = NULL;
        size_t size = 0, allocated = 0;
        int r;

        if (fd < 0)
                return fd;
        for (;;) {
                if (allocated - size < 4096 + 1) {
                        size_t want = allocated ? allocated * 2 : 8192;
                        if (want > max + 1)
                                want = max + 1 + 1;
                        if (want != allocated) {
                                /* Not realloc: the old block is cleared before it goes. */
                                char *grown = malloc(want);
                                if (!grown) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                if (buf)
                                        memcpy(grown, buf, size);
                                erase_buffer(buf, allocated);
                                buf = grown;
                                allocated = want;
                        }
                }
                ssize_t n = read(fd, buf + size, allocated - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max) {
                        r = -EFBIG;
                        goto fail;
                }
        }
        buf[size] = '\0';
        *ret_data = buf;
        if (ret_size)
                *ret_size = size;
        return 0;
fail:
        erase_buffer(buf, allocated);
        return r;
}

/* Multiplies A by B, -ERANGE on overflow. */
static int mul_u64(uint64_t a, uint64_t b, uint64_t *ret) {
        if (__builtin_mul_overflow(a, b, ret))
                return -ERANGE;
        return 0;
}

/* Quantities are exact decimals (resource.Quantity), so they are worked out on their
 * decimal digits: the longest text taken, and so the most digits there can be. */
#define QUANTITY_MAX_LEN 128
#define QUANTITY_MAX_EXP 1000

/* A quantity's number as its decimal digits, most significant first, leading zeros
 * dropped, with room for the binary factor's doubling (2^60 adds at most 19 digits). */
struct quantity_digits {
        unsigned char d[QUANTITY_MAX_LEN + 24];
        size_t n;                 /* significant digits */
        size_t nfrac;             /* digits after the dot (zeros too) */
        size_t ndigits;           /* digits written (zeros too) */
};

/* Reads digits and at most one dot at P into Q; returns where they end. */
static const char *read_digits(const char *p, struct quantity_digits *q) {
        bool dot = false;

        for (;; p++) {
                if (*p >= '0' && *p <= '9') {
                        q->ndigits++;
                        if (dot)
                                q->nfrac++;
                        if (q->n > 0 || *p != '0')
                                q->d[q->n++] = (unsigned char) (*p - '0');
                } else if (*p == '.' && !dot)
                        dot = true;
                else
                        return p;
        }
}

/* All that follows the number, a suffix or a decimal exponent, as powers of ten and of
 * two. -EINVAL for anything else. */
static int read_suffix(const char *p, long *ret_exp10, int *ret_exp2) {
        static const struct {
                const char *suffix;
                int exp10, exp2;
        } suffixes[] = {
                { "Ki", 0, 10 }, { "Mi", 0, 20 }, { "Gi", 0, 30 }, { "Ti", 0, 40 }, { "Pi", 0, 50 },
                { "Ei", 0, 60 }, { "n", -9, 0 }, { "u", -6, 0 }, { "m", -3, 0 }, { "", 0, 0 },
                { "k", 3, 0 }, { "M", 6, 0 }, { "G", 9, 0 }, { "T", 12, 0 }, { "P", 15, 0 },
                { "E", 18, 0 },
        };
        const char *q = p + 1;
        bool neg = false;
        long e = 0;

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (streq(p, suffixes[i].suffix)) {
                        *ret_exp10 = suffixes[i].exp10;
                        *ret_exp2 = suffixes[i].exp2;
                        return 0;
                }
        /* A decimal exponent: e or E and a signed integer (strconv.ParseInt). */
        if (*p != 'e' && *p != 'E')
                return -EINVAL;
        if (*q == '+' || *q == '-')
                neg = *q++ == '-';
        if (!*q || strspn(q, "0123456789") != strlen(q))
                return -EINVAL;
        for (; *q; q++)
                if (e <= QUANTITY_MAX_EXP)
                        e = e * 10 + (*q - '0');
        *ret_exp10 = neg ? -e : e;
        *ret_exp2 = 0;
        return 0;
}

/* Q times 2^EXP2, doubling the decimal digits. */
static void double_digits(struct quantity_digits *q, int exp2) {
        for (int k = 0; k < exp2; k++) {
                unsigned carry = 0;
                for (size_t j = q->n; j-- > 0;) {
                        unsigned v = q->d[j] * 2u + carry;
                        q->d[j] = (unsigned char) (v % 10);
                        carry = v / 10;
                }
                if (carry) {
                        memmove(q->d + 1, q->d, q->n++);
                        q->d[0] = (unsigned char) carry;
                }
        }
}

/* Q's digits times 10^EXP10 as a whole number: the first n + exp10 digits (then exp10
 * zeros when positive); any non-zero digit after them rounds up, as Quantity.Value()
 * does. -ERANGE past UINT64_MAX. */
static int digits_value(const struct quantity_digits *q, long exp10, uint64_t *ret) {
        uint64_t result = 0;
        bool round_up = false;
        size_t whole;

        if (exp10 > 0) {
                if ((long) q->n + exp10 > 20)
                        return -ERANGE;
                whole = q->n;
        } else if ((long) q->n + exp10 <= 0) {
                whole = 0;
                round_up = true;                       /* n > 0: something non-zero below 1 */
        } else {
                whole = (size_t) ((long) q->n + exp10);
                for (size_t j = whole; j < q->n; j++)
                        round_up = round_up || q->d[j] != 0;
        }
        for (size_t j = 0; j < whole; j++)
                if (mul_u64(result, 10, &result) < 0 || __builtin_add_overflow(result, q->d[j], &result))
                        return -ERANGE;
        for (long j = 0; j < exp10; j++)
                if (mul_u64(result, 10, &result) < 0)
                        return -ERANGE;
        if (round_up && __builtin_add_overflow(result, 1, &result))
                return -ERANGE;
        *ret = result;
        return 0;
}

/* S as a whole number of 10^-SCALE units (Value() for 0, MilliValue() for 3). */
static int parse_quantity_scaled(const char *s, long scale, uint64_t *ret) {
        struct quantity_digits q = {};
        bool negative = false;
        long exp10 = 0;
        int exp2 = 0, r;
        const char *p = s;

        if (isempty(s) || strlen(s) > QUANTITY_MAX_LEN)
                return -EINVAL;
        if (*p == '+' || *p == '-')
                negative = *p++ == '-';
        p = read_digits(p, &q);
        if (q.ndigits == 0)
                return -EINVAL;
        r = read_suffix(p, &exp10, &exp2);
        if (r < 0)
                return r;
        if (q.n == 0) {                                /* zero, however written */
                *ret = 0;
                return 0;
        }
        if (negative)
                return -EINVAL;
        double_digits(&q, exp2);
        return digits_value(&q, exp10 + scale - (long) q.nfrac, ret);
}

int parse_quantity(const char *s, uint64_t *ret_bytes) {
        return parse_quantity_scaled(s, 0, ret_bytes);
}

int parse_quantity_milli(const char *s, uint64_t *ret_milli) {
        return parse_quantity_scaled(s, 3, ret_milli);
}

char *format_quantity_milli(uint64_t milli, char *buf, size_t size) {
        if (milli % 1000 == 0)
                snprintf(buf, size, "%" PRIu64, milli / 1000);
        else
                snprintf(buf, size, "%" PRIu64 "m", milli);
        return buf;
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

uint64_t capacity_round_down(uint64_t fs_bytes) {
        const uint64_t mib = UINT64_C(1) << 20, gib = UINT64_C(1) << 30;

        if (fs_bytes >= gib)
                return fs_bytes / gib * gib;
        if (fs_bytes >= mib)
                return fs_bytes / mib * mib;
        return fs_bytes;
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

/* One part of a Go duration at *P, a number and its unit ("1.5h"), in nanoseconds,
 * moving *P past it. Exact: -EDOM for a part of a nanosecond. */
static int read_duration_part(const char **p, unsigned __int128 *ret_nsec) {
        static const struct {
                const char *unit;
                uint64_t nsec;
        } units[] = {
                { "ns", 1ULL }, { "us", 1000ULL }, { "\xc2\xb5s", 1000ULL }, { "\xce\xbcs", 1000ULL },
                { "ms", 1000000ULL }, { "s", 1000000000ULL }, { "m", 60000000000ULL },
                { "h", 3600000000000ULL },
        };
        uint64_t whole = 0, frac = 0, scale = 1;
        unsigned __int128 part;
        bool digits = false, inexact = false;
        size_t i, nfrac = 0;
        const char *f;

        for (; **p >= '0' && **p <= '9'; (*p)++, digits = true)
                if (mul_u64(whole, 10, &whole) < 0 || __builtin_add_overflow(whole, (uint64_t) (**p - '0'), &whole))
                        return -ERANGE;
        if (**p == '.') {
                f = ++*p;
                *p += strspn(*p, "0123456789");
                digits = digits || *p > f;
                nfrac = (size_t) (*p - f);
                while (nfrac > 0 && f[nfrac - 1] == '0')
                        nfrac--;               /* trailing zeros say nothing */
                if (nfrac > 19)
                        inexact = true;        /* finer than any unit can make whole */
                for (size_t j = 0; !inexact && j < nfrac; j++) {
                        frac = frac * 10 + (uint64_t) (f[j] - '0');
                        scale *= 10;
                }
        }
        if (!digits)
                return -EINVAL;
        for (i = 0; i < ELEMENTSOF(units); i++) {
                size_t n = strlen(units[i].unit);
                /* "ms" before "m": the longer unit that matches. */
                if (strncmp(*p, units[i].unit, n) == 0 && !(n == 1 && (*p)[1] == 's' && **p == 'm'))
                        break;
        }
        if (i == ELEMENTSOF(units))
                return -EINVAL;
        *p += strlen(units[i].unit);
        if (inexact)
                return -EDOM;
        part = (unsigned __int128) whole * units[i].nsec;
        if (frac) {
                unsigned __int128 x = (unsigned __int128) frac * units[i].nsec;
                if (x % scale)
                        return -EDOM;          /* part of a nanosecond */
                part += x / scale;
        }
        *ret_nsec = part;
        return 0;
}

int parse_duration(const char *s, uint64_t *ret_usec) {
        const unsigned __int128 max_nsec = (unsigned __int128) UINT64_MAX * 1000;
        unsigned __int128 total = 0, part;
        const char *p = s;
        int r;

        if (isempty(s))
                return -EINVAL;

        /* A plain number of seconds. */
        if (strspn(s, "0123456789") == strlen(s)) {
                long v;
                r = parse_int_range(s, 0, LONG_MAX / 1000000, &v);
                if (r < 0)
                        return r;
                *ret_usec = (uint64_t) v * 1000000ULL;
                return 0;
        }

        /* Go's time.ParseDuration: [+]([0-9]*(.[0-9]*)?UNIT)+, each part exact. */
        if (*p == '+')
                p++;
        if (!*p)
                return -EINVAL;
        while (*p) {
                r = read_duration_part(&p, &part);
                if (r < 0)
                        return r;
                if (part > max_nsec || (total += part) > max_nsec)
                        return -ERANGE;
        }
        if (total % 1000)
                return -EDOM;                          /* part of a microsecond */
        if (total / 1000 > UINT64_MAX)
                return -ERANGE;
        *ret_usec = (uint64_t) (total / 1000);
        return 0;
}

char *format_duration(uint64_t usec, char *buf, size_t size) {
        static const struct {
                const char *unit;
                uint64_t usec;
        } units[] = {
                { "h", 3600000000ULL }, { "m", 60000000ULL }, { "s", 1000000ULL },
                { "ms", 1000ULL }, { "us", 1ULL },
        };
        size_t n = 0;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        if (usec == 0) {
                snprintf(buf, size, "0s");
                return buf;
        }
        for (size_t i = 0; i < ELEMENTSOF(units) && n < size; i++) {
                uint64_t v = usec / units[i].usec;
                usec %= units[i].usec;
                if (v)
                        n += (size_t) snprintf(buf + n, size - n, "%" PRIu64 "%s", v, units[i].unit);
        }
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
