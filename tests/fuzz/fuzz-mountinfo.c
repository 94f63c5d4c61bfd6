/* SPDX-License-Identifier: MIT */
/* disk/mountinfo.h: any mountinfo text is parsed without crashing or leaking;
 * mountinfo_find() picks the last of the longest mount points that hold the path among
 * the lines that parse; a line written as the kernel writes it (show_mountinfo(),
 * " \t\n\\" escaped as octal) reads back to the same fields. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "disk/mountinfo.h"
#include "fuzz.h"

static bool under(const char *path, const char *mp) {
        size_t n = strlen(mp);
        if (strcmp(mp, "/") == 0)
                return path[0] == '/';
        return strncmp(path, mp, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The kernel's mangling of a path in mountinfo. Caller frees. */
static char *mangle(const char *s) {
        char *out = malloc(strlen(s) * 4 + 1), *o = out;

        if (!out)
                abort();
        for (; *s; s++)
                if (strchr(" \t\n\\", *s))
                        o += sprintf(o, "\\%03o", (unsigned char) *s);
                else
                        *o++ = *s;
        *o = '\0';
        return out;
}

static void find_matches_model(const char *text, size_t size, const char *path) {
        char name[64], *copy = fuzz_strndup((const uint8_t *) text, size);
        struct mountinfo_entry got = {}, best = {};
        bool found = false;
        size_t best_len = 0;
        int fd, r;

        /* The model: every line, parsed alone. */
        for (char *line = copy, *next; line && *line; line = next) {
                struct mountinfo_entry e;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (mountinfo_parse_line(line, &e) < 0)
                        continue;
                if (under(path, e.mount_point) && (!found || strlen(e.mount_point) >= best_len)) {
                        mountinfo_entry_done(&best);
                        best = e;
                        best_len = strlen(e.mount_point);
                        found = true;
                } else
                        mountinfo_entry_done(&e);
        }
        free(copy);

        fd = memfd_create("mountinfo", MFD_CLOEXEC);
        FUZZ_ASSERT(fd >= 0);
        FUZZ_ASSERT(write(fd, text, size) == (ssize_t) size);
        snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
        r = mountinfo_find(name, path, &got);
        close(fd);
        if (!found)
                FUZZ_ASSERT(r == -ENOENT);
        else {
                FUZZ_ASSERT(r == 0);
                FUZZ_ASSERT(got.id == best.id && got.parent_id == best.parent_id && got.dev == best.dev);
                FUZZ_ASSERT(strcmp(got.mount_point, best.mount_point) == 0);
                FUZZ_ASSERT(strcmp(got.source, best.source) == 0);
                mountinfo_entry_done(&got);
        }
        mountinfo_entry_done(&best);
}

/* A line made from the input's fields, as the kernel writes it, reads back exactly. */
static void round_trip(const char *text) {
        char *fields[4] = {}, *copy = strdup(text), *p = copy, *line = NULL;
        struct mountinfo_entry e = {};
        char *root, *mp;

        if (!copy)
                abort();
        for (size_t i = 0; i < 4 && p; i++) {
                char *sep = strchr(p, '|');
                if (sep)
                        *sep = '\0';
                fields[i] = p;
                p = sep ? sep + 1 : NULL;
        }
        if (!fields[3] || !*fields[0] || !*fields[1] || !*fields[2] || !*fields[3] ||
            strpbrk(fields[2], " \t\n\\") || strpbrk(fields[3], " \t\n\\"))
                goto out;
        root = mangle(fields[0]);
        mp = mangle(fields[1]);
        if (asprintf(&line, "36 35 98:0 %s %s rw,noatime shared:1 - %s %s rw", root, mp, fields[2],
                     fields[3]) < 0)
                abort();
        free(root);
        free(mp);
        FUZZ_ASSERT(mountinfo_parse_line(line, &e) == 0);
        FUZZ_ASSERT(e.id == 36 && e.parent_id == 35 && e.dev == makedev(98, 0));
        FUZZ_ASSERT(strcmp(e.root, fields[0]) == 0 && strcmp(e.mount_point, fields[1]) == 0);
        FUZZ_ASSERT(strcmp(e.fs_type, fields[2]) == 0 && strcmp(e.source, fields[3]) == 0);
        FUZZ_ASSERT(strcmp(e.options, "rw,noatime") == 0 && strcmp(e.super_options, "rw") == 0);
        mountinfo_entry_done(&e);
out:
        free(line);
        free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const paths[] = { "/", "/mnt/k8s/docker", "/mnt/k8s/docker/overlay2/l", "/var" };
        char *text;

        if (size > 65536)
                return 0;
        text = fuzz_strndup(data, size);
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                find_matches_model(text, strlen(text), paths[i]);
        round_trip(text);
        free(text);
        return 0;
}
