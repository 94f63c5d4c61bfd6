/* SPDX-License-Identifier: MIT */
/* Unit names, unit text and unit files. The manager over sd-bus is units-bus.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "systemd/units.h"
#include "base/unit-name.h"
#include "base/util.h"

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
