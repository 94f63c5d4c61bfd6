/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "disk/mountinfo.h"
#include "base/util.h"

/* Copies the next space-separated field of *P, decoding \ooo escapes. NULL at the
 * end of the line or on -ENOMEM (told apart by *P). */
static char *next_field(const char **p) {
        const char *s = *p, *end;
        char *out, *o;

        s += strspn(s, " ");
        if (!*s) {
                *p = s;
                return NULL;
        }
        end = s + strcspn(s, " ");
        out = o = malloc((size_t) (end - s) + 1);
        if (!out)
                return NULL;
        for (const char *i = s; i < end; i++) {
                if (i[0] == '\\' && end - i >= 4 && i[1] >= '0' && i[1] <= '3' &&
                    i[2] >= '0' && i[2] <= '7' && i[3] >= '0' && i[3] <= '7') {
                        *o++ = (char) ((i[1] - '0') << 6 | (i[2] - '0') << 3 | (i[3] - '0'));
                        i += 3;
                } else
                        *o++ = *i;
        }
        *o = '\0';
        *p = end;
        return out;
}

int mountinfo_parse_line(const char *line, struct mountinfo_entry *ret) {
        _cleanup_(mountinfo_entry_done) struct mountinfo_entry e = {};
        _cleanup_free_ char *dev = NULL;
        unsigned major, minor;
        const char *p = line;
        int n = 0;

        if (sscanf(p, "%u %u %n", &e.id, &e.parent_id, &n) != 2 || n == 0)
                return -EINVAL;
        p += n;
        dev = next_field(&p);
        e.root = next_field(&p);
        e.mount_point = next_field(&p);
        e.options = next_field(&p);
        if (!dev || !e.root || !e.mount_point || !e.options)
                return *p ? -ENOMEM : -EINVAL;
        if (sscanf(dev, "%u:%u%n", &major, &minor, &n) != 2 || dev[n])
                return -EINVAL;
        e.dev = makedev(major, minor);

        /* Optional fields ("shared:1", "master:2") up to the lone "-". */
        for (;;) {
                _cleanup_free_ char *f = next_field(&p);
                if (!f)
                        return *p ? -ENOMEM : -EINVAL;
                if (streq(f, "-"))
                        break;
        }
        e.fs_type = next_field(&p);
        e.source = next_field(&p);
        e.super_options = next_field(&p);
        if (!e.fs_type || !e.source || !e.super_options)
                return *p ? -ENOMEM : -EINVAL;

        *ret = e;
        e = (struct mountinfo_entry) {};
        return 0;
}

static bool path_under(const char *path, const char *mount_point) {
        size_t n = strlen(mount_point);

        if (streq(mount_point, "/"))
                return path[0] == '/';
        return strncmp(path, mount_point, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int mountinfo_find(const char *mountinfo, const char *path, struct mountinfo_entry *ret) {
        _cleanup_free_ char *data = NULL;
        struct mountinfo_entry best = {};
        size_t best_len = 0;
        bool found = false;
        int r;

        r = read_file_full(mountinfo ?: "/proc/self/mountinfo", MOUNTINFO_MAX, &data, NULL);
        if (r < 0)
                return r;

        for (char *line = data, *next; line && *line; line = next) {
                struct mountinfo_entry e;
                size_t len;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                r = mountinfo_parse_line(line, &e);
                if (r == -ENOMEM) {
                        mountinfo_entry_done(&best);
                        return r;
                }
                if (r < 0)
                        continue; /* a line we cannot read says nothing about PATH */
                len = strlen(e.mount_point);
                if (path_under(path, e.mount_point) && (!found || len >= best_len)) {
                        mountinfo_entry_done(&best);
                        best = e;
                        best_len = len;
                        found = true;
                } else
                        mountinfo_entry_done(&e);
        }
        if (!found)
                return -ENOENT;
        *ret = best;
        return 0;
}

void mountinfo_entry_done(struct mountinfo_entry *e) {
        free(e->root);
        free(e->mount_point);
        free(e->options);
        free(e->fs_type);
        free(e->source);
        free(e->super_options);
        *e = (struct mountinfo_entry) {};
}
