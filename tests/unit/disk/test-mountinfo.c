/* SPDX-License-Identifier: MIT */
/* The mount table read once (disk/mountinfo.h): which mount holds a path, seen
 * through the binds a unit's sandbox makes or not, which mounts show a filesystem's
 * root (btrfs subvolumes included), and the mount of a device. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "base/util.h"
#include "disk/mountinfo.h"

/* A node's table: the root, the cache disk at /mnt/k8s/docker (as the checker's unit
 * sees it: bound onto itself by ReadWritePaths=), another disk at /srv/other with a
 * data directory inside it bound onto itself, a bind of another directory at
 * /srv/bound, and a btrfs subvolume at /srv/sub (also bound onto itself). */
static const char table[] =
        "21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "30 21 253:16 / /mnt/k8s/docker rw,noatime shared:5 - xfs /dev/vdb rw,attr2\n"
        "31 21 7:0 / /srv/other rw - ext4 /dev/loop0 rw\n"
        "garbage that is not a mount\n"
        "32 21 7:0 /elsewhere /srv/bound rw - ext4 /dev/loop0 rw\n"
        "33 21 0:40 /@sub /srv/sub rw - btrfs /dev/loop2 rw,space_cache=v2,subvolid=256,subvol=/@sub\n"
        "40 30 253:16 / /mnt/k8s/docker rw,noatime shared:5 - xfs /dev/vdb rw,attr2\n"
        "41 31 7:0 /docker /srv/other/docker rw - ext4 /dev/loop0 rw\n"
        "42 33 0:40 /@sub /srv/sub rw - btrfs /dev/loop2 rw,space_cache=v2,subvolid=256,subvol=/@sub\n"
        "43 33 0:40 /@sub/inner /srv/sub/inner rw - btrfs /dev/loop2 rw,subvolid=256,subvol=/@sub\n";

static void holders_with_and_without_the_sandbox_binds(void **state) {
        static const struct {
                const char *path;
                unsigned holder, unbound;  /* mount ids */
        } cases[] = {
                { "/", 21, 21 },
                { "/etc", 21, 21 },
                { "/mnt/k8s", 21, 21 },
                { "/mnt/k8s/docker", 40, 30 },       /* the cache disk, bound onto itself */
                { "/mnt/k8s/docker/overlay2", 40, 30 },
                { "/mnt/k8s/dockerx", 21, 21 },      /* a prefix of the name is not a parent */
                { "/srv/other/docker", 41, 31 },     /* a directory of loop0, bound onto itself */
                { "/srv/other/docker/x", 41, 31 },
                { "/srv/bound", 32, 32 },            /* a bind of another directory: not seen through */
                { "/srv/sub", 42, 33 },
                { "/srv/sub/inner", 43, 33 },
        };
        struct mountinfo m = {};

        assert_int_equal(mountinfo_parse(table, &m), 0);
        assert_int_equal(m.n, 9);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct mountinfo_entry *h = mountinfo_holder(&m, cases[i].path);
                const struct mountinfo_entry *u = mountinfo_holder_unbound(&m, cases[i].path);

                if (!h || !u || h->id != cases[i].holder || u->id != cases[i].unbound)
                        fail_msg("%s: held by %u, seen through binds %u", cases[i].path, h ? h->id : 0,
                                 u ? u->id : 0);
        }
        mountinfo_done(&m);
}

static void filesystem_roots_and_btrfs_subvolumes(void **state) {
        static const struct {
                const char *root, *type, *super;
                bool fs_root;
        } cases[] = {
                { "/", "xfs", "rw", true },
                { "/docker", "ext4", "rw", false },
                { "/@sub", "btrfs", "rw,space_cache=v2,subvolid=256,subvol=/@sub", true },
                { "/@sub", "btrfs", "rw,subvol=/@sub,space_cache=v2", true },
                { "/@sub/inner", "btrfs", "rw,subvolid=256,subvol=/@sub", false },
                { "/@sub", "btrfs", "rw,subvol=/@subvolume", false },
                { "/@sub", "btrfs", "rw,notsubvol=/@sub", false },
                { "/@sub", "ext4", "rw,subvol=/@sub", false },   /* only btrfs has subvolumes */
                { "/", "btrfs", "rw,subvolid=5,subvol=/", true },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct mountinfo_entry e = { .root = (char *) cases[i].root, .fs_type = (char *) cases[i].type,
                                             .super_options = (char *) cases[i].super };
                if (mountinfo_entry_is_fs_root(&e) != cases[i].fs_root)
                        fail_msg("%s on %s with %s", cases[i].root, cases[i].type, cases[i].super);
        }
}

static void a_device_is_found_by_its_number(void **state) {
        struct mountinfo m = {};
        const struct mountinfo_entry *e;

        assert_int_equal(mountinfo_parse(table, &m), 0);
        e = mountinfo_device_mount(&m, makedev(7, 0));
        assert_non_null(e);
        assert_string_equal(e->mount_point, "/srv/other");   /* the first of its mounts */
        assert_null(mountinfo_device_mount(&m, makedev(7, 9)));
        mountinfo_done(&m);
}

static void empty_lines_say_nothing_and_a_missing_file_is_enoent(void **state) {
        struct mountinfo m = {};

        assert_int_equal(mountinfo_parse("21 1 8:1 / / rw - ext4 /dev/sda1 rw\n\n"
                                         "30 21 253:16 / /mnt rw - xfs /dev/vdb rw\n", &m), 0);
        assert_int_equal(m.n, 2);
        assert_int_equal(mountinfo_holder(&m, "/mnt/x")->id, 30);
        assert_null(mountinfo_holder(&m, "relative"));
        mountinfo_done(&m);

        assert_int_equal(mountinfo_parse("", &m), 0);
        assert_null(mountinfo_holder(&m, "/"));
        assert_null(mountinfo_holder_unbound(&m, "/"));
        mountinfo_done(&m);

        assert_int_equal(mountinfo_read("/does/not/exist", &m), -ENOENT);
}

static void the_real_table_holds_the_root(void **state) {
        struct mountinfo m = {};
        struct mountinfo_entry e = {};

        assert_int_equal(mountinfo_read(NULL, &m), 0);
        assert_non_null(mountinfo_holder(&m, "/"));
        mountinfo_done(&m);
        assert_int_equal(mountinfo_find(NULL, "/", &e), 0);
        assert_string_equal(e.mount_point, "/");
        mountinfo_entry_done(&e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(holders_with_and_without_the_sandbox_binds),
                cmocka_unit_test(filesystem_roots_and_btrfs_subvolumes),
                cmocka_unit_test(a_device_is_found_by_its_number),
                cmocka_unit_test(empty_lines_say_nothing_and_a_missing_file_is_enoent),
                cmocka_unit_test(the_real_table_holds_the_root),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
