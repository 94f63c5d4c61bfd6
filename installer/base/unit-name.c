/* SPDX-License-Identifier: MIT */
/* systemd's unit-name escaping of paths (systemd-escape --path). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/unit-name.h"
#include "base/util.h"

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
