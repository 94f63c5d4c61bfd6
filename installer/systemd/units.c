/* SPDX-License-Identifier: MIT */
/* Unit names, unit text and unit files. The manager over sd-bus is units-bus.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "systemd/units.h"
#include "base/util.h"

/* systemd's UNIT_NAME_MAX: a unit name is at most 255 bytes. */
#define UNIT_NAME_MAX 256

/* The characters systemd leaves alone when escaping (unit-name.c: VALID_CHARS minus
 * '-' and '\\', which it always escapes). */
static bool escape_keeps(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == ':' || c == '_' || c == '.';
}

/* path_simplify() then path_is_normalized(): duplicate slashes and "." components
 * dropped, ".." refused; leading and trailing slashes removed. NULL result on
 * allocation failure; -EINVAL for "..". "" means the root. */
static int simplify_path(const char *path, char **ret) {
        size_t n = strlen(path);
        char *out = malloc(n + 1), *o = out;
        const char *p = path;

        if (!out)
                return -ENOMEM;
        while (*p) {
                size_t len;

                p += strspn(p, "/");
                len = strcspn(p, "/");
                if (len == 0)
                        break;
                if (len == 1 && p[0] == '.') {
                        p += len;
                        continue;
                }
                if (len == 2 && p[0] == '.' && p[1] == '.') {
                        free(out);
                        return -EINVAL;
                }
                if (o != out)
                        *o++ = '/';
                memcpy(o, p, len);
                o += len;
                p += len;
        }
        *o = '\0';
        *ret = out;
        return 0;
}

int unit_name_from_path(const char *path, const char *suffix, char **ret) {
        _cleanup_free_ char *simple = NULL, *name = NULL;
        static const char hex[] = "0123456789abcdef";
        size_t slen;
        char *o;
        int r;

        if (isempty(path) || isempty(suffix) || suffix[0] != '.' || strchr(suffix + 1, '.') ||
            strchr(suffix, '/'))
                return -EINVAL;
        r = simplify_path(path, &simple);
        if (r < 0)
                return r;
        slen = strlen(suffix);
        if (isempty(simple))
                return (*ret = strdup_printf("-%s", suffix)) ? 0 : -ENOMEM;

        if (strlen(simple) >= UNIT_NAME_MAX)
                return -ENAMETOOLONG;
        /* Each byte becomes at most four ("\xNN"). */
        name = malloc(strlen(simple) * 4 + slen + 1);
        if (!name)
                return -ENOMEM;
        o = name;
        for (const char *p = simple; *p; p++) {
                unsigned char c = (unsigned char) *p;

                if (c == '/')
                        *o++ = '-';
                else if ((p == simple && c == '.') || !escape_keeps((char) c)) {
                        *o++ = '\\';
                        *o++ = 'x';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 15];
                } else
                        *o++ = (char) c;
        }
        memcpy(o, suffix, slen + 1);
        if (strlen(name) >= UNIT_NAME_MAX)
                return -ENAMETOOLONG;
        *ret = TAKE_PTR(name);
        return 0;
}

/* A value written into a unit file as it is: one line, no control characters, no
 * surrounding whitespace, no final backslash (a continuation line). '%' becomes
 * "%%", since systemd expands specifiers in these settings. */
static int unit_value_escape(const char *s, char **ret) {
        size_t n = strlen(s), pct = 0;
        char *out, *o;

        if (n == 0 || n > PATH_MAX || s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == '\\')
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return -EINVAL;
                pct += *p == '%';
        }
        out = malloc(n + pct + 1);
        if (!out)
                return -ENOMEM;
        o = out;
        for (const char *p = s; *p; p++) {
                *o++ = *p;
                if (*p == '%')
                        *o++ = '%';
        }
        *o = '\0';
        *ret = out;
        return 0;
}

int mount_unit_text(const char *what, const char *where, const char *type,
                    const char *options, char **ret) {
        _cleanup_free_ char *w = NULL, *d = NULL, *t = NULL, *opt = NULL;
        char *text;
        int r;

        if (isempty(what) || isempty(where) || where[0] != '/' || isempty(type))
                return -EINVAL;
        r = unit_value_escape(what, &w);
        if (r < 0)
                return r;
        r = unit_value_escape(where, &d);
        if (r < 0)
                return r;
        r = unit_value_escape(type, &t);
        if (r < 0)
                return r;
        r = unit_value_escape(isempty(options) ? "defaults" : options, &opt);
        if (r < 0)
                return r;

        text = strdup_printf("# Written by dind-cache install: the filesystem of the Docker data directory.\n"
                             "# Without it mounted, the daemon would write its cache onto the root filesystem.\n"
                             "[Unit]\n"
                             "Description=dind-cache data directory %s\n"
                             "Documentation=man:systemd.mount(5)\n"
                             "\n"
                             "[Mount]\n"
                             "What=%s\n"
                             "Where=%s\n"
                             "Type=%s\n"
                             "Options=%s\n"
                             "DirectoryMode=0711\n"
                             "\n"
                             "[Install]\n"
                             "WantedBy=local-fs.target\n",
                             d, w, d, t, opt);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

/* A plain file name: no '/', not "." or "..". */
static bool file_name_ok(const char *name) {
        return !isempty(name) && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..") &&
               strlen(name) < UNIT_NAME_MAX;
}

int unit_file_write(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = NULL;

        if (isempty(dir) || dir[0] != '/' || !file_name_ok(name) || !text)
                return -EINVAL;
        path = strdup_printf("%s/%s", dir, name);
        if (!path)
                return -ENOMEM;
        return write_file_atomic(path, text, strlen(text), 0644);
}

int unit_file_remove(const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int dfd = -1;

        if (isempty(dir) || dir[0] != '/' || !file_name_ok(name))
                return -EINVAL;
        path = strdup_printf("%s/%s", dir, name);
        if (!path)
                return -ENOMEM;
        /* A write killed before its rename leaves a temporary file: it goes too. */
        if (unlink(path) < 0)
                return errno == ENOENT ? (remove_stale_temps(path) > 0) : -errno;
        (void) remove_stale_temps(path);
        /* Make the removal durable, as write_file_atomic makes writes. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 1;
}

int unit_file_same(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t size;
        int r;

        if (isempty(dir) || !file_name_ok(name) || !text)
                return -EINVAL;
        path = strdup_printf("%s/%s", dir, name);
        if (!path)
                return -ENOMEM;
        r = read_file_full(path, strlen(text) + 1, &data, &size);
        if (r == -ENOENT || r == -EFBIG)
                return 0;
        if (r < 0)
                return r;
        return size == strlen(text) && memcmp(data, text, size) == 0;
}
