/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "authz/revoked.h"
#include "base/text.h"
#include "base/util.h"

int revoked_init(struct revoked *r, const char *path) {
        *r = (struct revoked) { .path = path ? strdup(path) : NULL };
        return !path || r->path ? 0 : -ENOMEM;
}

static void clear_list(struct revoked *r) {
        strv_free(r->serials);
        r->serials = NULL;
        r->n = 0;
        r->n_bad = 0;
}

void revoked_done(struct revoked *r) {
        clear_list(r);
        free(r->path);
        *r = (struct revoked) {};
}

int revoked_normalize_serial(const char *serial, char *buf, size_t size) {
        const char *p = serial;
        bool neg = false;
        size_t n, o = 0;

        if (!serial || size < 48)
                return -EINVAL;
        if (*p == '-') {
                neg = true;
                p++;
        }
        n = strspn(p, "0123456789abcdefABCDEF");
        if (n == 0 || n > 40 || p[n] != '\0')
                return -EINVAL;
        while (n > 1 && *p == '0') {
                p++;
                n--;
        }
        if (neg && !(n == 1 && *p == '0'))
                buf[o++] = '-';
        for (size_t i = 0; i < n; i++)
                buf[o++] = (char) toupper((unsigned char) p[i]);
        buf[o] = '\0';
        return 0;
}

/* Appends a copy of S to the NULL-terminated LIST of *N strings, *ALLOCATED slots. */
static int push(char ***list, size_t *n, size_t *allocated, const char *s) {
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        if (*n + 2 > *allocated) {
                size_t want = *allocated * 2 + 16;
                char **grown = reallocarray(*list, want, sizeof(char *));

                if (!grown) {
                        free(copy);
                        return -ENOMEM;
                }
                *list = grown;
                *allocated = want;
        }
        (*list)[(*n)++] = copy;
        (*list)[*n] = NULL;
        return 0;
}

int revoked_parse(struct revoked *r, const char *text, size_t size) {
        char **list = NULL;
        size_t n = 0, allocated = 0, bad = 0;

        for (const char *line = text; line < text + size;) {
                const char *end = memchr(line, '\n', (size_t) (text + size - line)) ?: text + size;
                size_t field = strcspn(line, "\t\n");
                char serial[64], norm[48];

                if (field > (size_t) (end - line))
                        field = (size_t) (end - line);
                if (field == 0 && end == line) {
                        /* an empty line */
                } else if (field >= sizeof(serial)) {
                        bad++;
                } else {
                        memcpy(serial, line, field);
                        serial[field] = '\0';
                        if (revoked_normalize_serial(serial, norm, sizeof(norm)) < 0)
                                bad++;
                        else if (push(&list, &n, &allocated, norm) < 0) {
                                strv_free(list);
                                return -ENOMEM;
                        }
                }
                line = end + 1;
        }
        clear_list(r);
        r->n = strv_sort_unique(list, n);
        r->serials = list;
        r->n_bad = bad;
        return 0;
}

int revoked_refresh(struct revoked *r) {
        _cleanup_free_ char *data = NULL;
        struct file_stamp now;
        size_t size;
        int q;

        if (!r->path)
                return 0;
        q = file_read_changed(&r->stamp, r->path, REVOKED_MAX_SIZE, &data, &size, &now);
        if (q == 0)
                return 0;
        if (q > 0)
                q = revoked_parse(r, data ?: "", size);
        if (q == -ENOMEM)
                return q;
        if (q < 0) {
                clear_list(r);
                r->stamp = (struct file_stamp) {};
                return q;
        }
        r->stamp = now;
        return 1;
}

bool revoked_contains(const struct revoked *r, const char *serial) {
        char norm[48];

        if (revoked_normalize_serial(serial, norm, sizeof(norm)) < 0)
                return false;
        return strv_sorted_contains(r->serials, r->n, norm);
}

int revoked_add(const char *path, const char *serial, const char *cn, time_t when) {
        _cleanup_free_ char *old = NULL, *text = NULL, *upper = NULL, *lock = NULL;
        _cleanup_close_ int lock_fd = -1;
        struct revoked cur = {};
        char norm[48];
        size_t size = 0;
        int q;

        if (revoked_normalize_serial(serial, norm, sizeof(norm)) < 0 || (cn && (strchr(cn, '\t') ||
                                                                                   text_setting_problem(cn))))
                return -EINVAL;
        /* Written as `openssl x509 -serial` prints it: upper case, the zeros kept. */
        upper = strdup(serial);
        if (!upper)
                return -ENOMEM;
        for (char *p = upper; *p; p++)
                *p = (char) toupper((unsigned char) *p);
        /* install and revoke may add at once: one reads and writes at a time, so that
         * neither writes back a list without the other's line. */
        lock = strdup_printf("%s.lock", path);
        if (!lock)
                return -ENOMEM;
        lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lock_fd < 0)
                return -errno;
        if (flock(lock_fd, LOCK_EX) < 0)
                return -errno;
        q = read_file_full(path, REVOKED_MAX_SIZE, &old, &size);
        if (q < 0 && q != -ENOENT)
                return q;
        q = revoked_parse(&cur, old ?: "", old ? size : 0);
        if (q < 0)
                return q;
        q = revoked_contains(&cur, norm);
        strv_free(cur.serials);
        if (q)
                return 0;
        text = strdup_printf("%.*s%s%s\t%s\t%" PRIdMAX "\n", (int) size, old ?: "",
                             size > 0 && old[size - 1] != '\n' ? "\n" : "", upper, cn ?: "", (intmax_t) when);
        if (!text)
                return -ENOMEM;
        q = write_file_atomic(path, text, strlen(text), 0644);
        return q < 0 ? q : 1;
}
