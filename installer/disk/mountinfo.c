/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
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

void mountinfo_done(struct mountinfo *m) {
        for (size_t i = 0; i < m->n; i++)
                mountinfo_entry_done(&m->entries[i]);
        free(m->entries);
        *m = (struct mountinfo) {};
}

/* Parses DATA, which it cuts into lines in place. */
static int parse_lines(char *data, struct mountinfo *ret) {
        _cleanup_(mountinfo_done) struct mountinfo m = {};
        size_t cap = 0;
        int r;

        for (char *line = data, *next; line && *line; line = next) {
                struct mountinfo_entry e;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                r = mountinfo_parse_line(line, &e);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue; /* a line we cannot read says nothing about any path */
                if (m.n == cap) {
                        size_t want = cap ? cap * 2 : 64;
                        struct mountinfo_entry *grown = reallocarray(m.entries, want, sizeof(*grown));
                        if (!grown) {
                                mountinfo_entry_done(&e);
                                return -ENOMEM;
                        }
                        m.entries = grown;
                        cap = want;
                }
                m.entries[m.n++] = e;
        }
        *ret = m;
        m = (struct mountinfo) {};
        return 0;
}

int mountinfo_parse(const char *text, struct mountinfo *ret) {
        _cleanup_free_ char *data = strdup(text);

        if (!data)
                return -ENOMEM;
        return parse_lines(data, ret);
}

int mountinfo_read(const char *file, struct mountinfo *ret) {
        _cleanup_free_ char *data = NULL;
        int r;

        r = read_file_full(file ?: "/proc/self/mountinfo", MOUNTINFO_MAX, &data, NULL);
        if (r < 0)
                return r;
        return parse_lines(data, ret);
}

int mountinfo_given_or_read(const struct mountinfo **m, struct mountinfo *storage) {
        int r;

        if (*m)
                return 0;
        r = mountinfo_read(NULL, storage);
        if (r < 0)
                return r;
        *m = storage;
        return 0;
}

/* The entry that holds PATH among those ranked below (LEN, INDEX) by (length of the
 * mount point, position in the table): the top one with SIZE_MAX, SIZE_MAX. */
static size_t holder_below(const struct mountinfo *m, const char *path, size_t len, size_t index) {
        size_t best = SIZE_MAX, best_len = 0;

        for (size_t i = 0; i < m->n; i++) {
                size_t n = strlen(m->entries[i].mount_point);

                if (!path_under(path, m->entries[i].mount_point))
                        continue;
                if (n > len || (n == len && i >= index))
                        continue;
                if (best == SIZE_MAX || n >= best_len) {
                        best = i;
                        best_len = n;
                }
        }
        return best;
}

const struct mountinfo_entry *mountinfo_holder(const struct mountinfo *m, const char *path) {
        size_t i = holder_below(m, path, SIZE_MAX, SIZE_MAX);
        return i == SIZE_MAX ? NULL : &m->entries[i];
}

/* PATH's place inside the filesystem E shows, as two parts to be read one after the
 * other: E's root and what follows E's mount point in PATH. */
static void place_in_fs(const struct mountinfo_entry *e, const char *path, const char **ret_a,
                        const char **ret_b) {
        const char *tail = streq(e->mount_point, "/") ? path : path + strlen(e->mount_point);

        if (streq(tail, "/"))
                tail = "";
        *ret_a = streq(e->root, "/") && *tail ? "" : e->root;
        *ret_b = tail;
}

/* A1 A2 and B1 B2, each read as one string, are the same. */
static bool joined_equal(const char *a1, const char *a2, const char *b1, const char *b2) {
        for (;;) {
                if (!*a1 && a2) {
                        a1 = a2;
                        a2 = NULL;
                        continue;
                }
                if (!*b1 && b2) {
                        b1 = b2;
                        b2 = NULL;
                        continue;
                }
                if (*a1 != *b1)
                        return false;
                if (!*a1)
                        return true;
                a1++;
                b1++;
        }
}

const struct mountinfo_entry *mountinfo_holder_unbound(const struct mountinfo *m, const char *path) {
        size_t top = holder_below(m, path, SIZE_MAX, SIZE_MAX);

        while (top != SIZE_MAX) {
                const struct mountinfo_entry *e = &m->entries[top], *b;
                size_t below = holder_below(m, path, strlen(e->mount_point), top);
                const char *a1, *a2, *b1, *b2;

                if (below == SIZE_MAX)
                        break;
                b = &m->entries[below];
                place_in_fs(e, path, &a1, &a2);
                place_in_fs(b, path, &b1, &b2);
                if (e->dev != b->dev || !joined_equal(a1, a2, b1, b2))
                        break;
                top = below; /* the same directory of the same filesystem: a bind onto itself */
        }
        return top == SIZE_MAX ? NULL : &m->entries[top];
}

const struct mountinfo_entry *mountinfo_device_mount(const struct mountinfo *m, dev_t rdev) {
        for (size_t i = 0; i < m->n; i++) {
                const struct mountinfo_entry *e = &m->entries[i];
                struct stat st;

                if (e->dev == rdev ||
                    (e->source[0] == '/' && stat(e->source, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == rdev))
                        return e;
        }
        return NULL;
}

bool mountinfo_entry_is_fs_root(const struct mountinfo_entry *e) {
        size_t n;

        if (streq(e->root, "/"))
                return true;
        if (!streq(e->fs_type, "btrfs"))
                return false;
        n = strlen(e->root);
        for (const char *p = e->super_options; p; p = strchr(p, ',')) {
                if (*p == ',')
                        p++;
                if (strncmp(p, "subvol=", 7) == 0 && strncmp(p + 7, e->root, n) == 0 &&
                    (p[7 + n] == '\0' || p[7 + n] == ','))
                        return true;
        }
        return false;
}

int mountinfo_entry_copy(const struct mountinfo_entry *e, struct mountinfo_entry *ret) {
        struct mountinfo_entry c = {
                .id = e->id,
                .parent_id = e->parent_id,
                .dev = e->dev,
                .root = strdup(e->root),
                .mount_point = strdup(e->mount_point),
                .options = strdup(e->options),
                .fs_type = strdup(e->fs_type),
                .source = strdup(e->source),
                .super_options = strdup(e->super_options),
        };

        if (!c.root || !c.mount_point || !c.options || !c.fs_type || !c.source || !c.super_options) {
                mountinfo_entry_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int mountinfo_find(const char *mountinfo, const char *path, struct mountinfo_entry *ret) {
        _cleanup_(mountinfo_done) struct mountinfo m = {};
        const struct mountinfo_entry *e;
        int r;

        r = mountinfo_read(mountinfo, &m);
        if (r < 0)
                return r;
        e = mountinfo_holder(&m, path);
        if (!e)
                return -ENOENT;
        return mountinfo_entry_copy(e, ret);
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
