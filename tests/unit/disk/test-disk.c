/* SPDX-License-Identifier: MIT */
/* Filesystem facts: statfs names, fitness for overlay2, mountinfo (injected), boot
 * mounts from a fake root, and the probes on the test's own temporary directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "disk/datadir.h"
#include "disk/disk.h"
#include "disk/mountinfo.h"
#include "base/util.h"

static void magic_names(void **state) {
        assert_string_equal(fs_magic_to_string(0x58465342UL), "xfs");
        assert_string_equal(fs_magic_to_string(EXT4_SUPER_MAGIC), "ext2/3/4");
        assert_string_equal(fs_magic_to_string(BTRFS_SUPER_MAGIC), "btrfs");
        assert_string_equal(fs_magic_to_string(TMPFS_MAGIC), "tmpfs");
        assert_string_equal(fs_magic_to_string(OVERLAYFS_SUPER_MAGIC), "overlayfs");
        assert_string_equal(fs_magic_to_string(NFS_SUPER_MAGIC), "nfs");
        assert_string_equal(fs_magic_to_string(MSDOS_SUPER_MAGIC), "vfat");
        assert_string_equal(fs_magic_to_string(0x65735546UL), "fuse");
        assert_null(fs_magic_to_string(0x12345678UL));
}

static void fitness(void **state) {
        static const struct {
                const char *type;
                enum fs_fitness want;
        } cases[] = {
                { "xfs", FS_FIT }, { "ext4", FS_FIT }, { "btrfs", FS_FIT_WARN },
                { "tmpfs", FS_UNFIT }, { "ramfs", FS_UNFIT }, { "overlay", FS_UNFIT },
                { "nfs", FS_UNFIT }, { "nfs4", FS_UNFIT }, { "cifs", FS_UNFIT },
                { "fuse", FS_UNFIT }, { "fuseblk", FS_UNFIT }, { "fuse.sshfs", FS_UNFIT },
                { "ecryptfs", FS_UNFIT }, { "vfat", FS_UNFIT }, { "zfs", FS_UNFIT },
                { "madeupfs", FS_UNFIT }, { "", FS_UNFIT }, { NULL, FS_UNFIT },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *reason = NULL;
                if (fs_type_fitness(cases[i].type, &reason) != cases[i].want)
                        fail_msg("fitness of '%s'", cases[i].type ?: "(null)");
                assert_non_null(reason);
        }
        assert_int_equal(fs_type_fitness("tmpfs", NULL), FS_UNFIT);
}

/* A fresh temporary directory; freed and removed by the test. */
static char *make_tmpdir(const char *name) {
        char *d = strdup_printf("/tmp/test-disk-%s-XXXXXX", name);
        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static void mountinfo_line_fields_and_escapes(void **state) {
        struct mountinfo_entry e;

        assert_int_equal(mountinfo_parse_line("36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue", &e), 0);
        assert_int_equal(e.id, 36);
        assert_int_equal(e.parent_id, 35);
        assert_string_equal(e.root, "/mnt1");
        assert_string_equal(e.mount_point, "/mnt/with space");
        assert_string_equal(e.options, "rw,noatime");
        assert_string_equal(e.fs_type, "ext3");
        assert_string_equal(e.source, "/dev/root");
        assert_string_equal(e.super_options, "rw,errors=continue");
        mountinfo_entry_done(&e);

        assert_int_equal(mountinfo_parse_line("", &e), -EINVAL);
        assert_int_equal(mountinfo_parse_line("36 35 98:0 / /mnt rw master:1", &e), -EINVAL); /* no "-" */
        assert_int_equal(mountinfo_parse_line("36 35 98:0 / /mnt rw - xfs", &e), -EINVAL);    /* truncated */
        assert_int_equal(mountinfo_parse_line("36 35 98x0 / /mnt rw - xfs /dev/vdb rw", &e), -EINVAL);
        assert_int_equal(mountinfo_parse_line("x 35 98:0 / /mnt rw - xfs /dev/vdb rw", &e), -EINVAL);
}

/* The facts of DIR by the mountinfo text in the file MI. */
static int facts_by(const char *dir, const char *mi, struct disk_facts *f) {
        _cleanup_(mountinfo_done) struct mountinfo m = {};
        int r = mountinfo_read(mi, &m);

        return r < 0 ? r : disk_facts_get(dir, &m, f);
}

static void facts_from_an_injected_mountinfo(void **state) {
        _cleanup_free_ char *dir = make_tmpdir("facts"), *mi = NULL, *sub = NULL, *text = NULL;
        struct disk_facts f = {};

        mi = strdup_printf("%s/mountinfo", dir);
        sub = strdup_printf("%s/sub", dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        /* "/" as ext4, DIR as xfs twice: the later mount is on top and counts;
         * a garbage line in the middle is ignored. */
        text = strdup_printf("1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                             "2 1 253:16 / %s rw,noatime shared:5 - xfs /dev/vdc rw,attr2\n"
                             "this line is not mountinfo\n"
                             "3 1 253:17 / %s rw,noatime shared:6 - xfs /dev/vdb rw,attr2,inode64\n"
                             "4 1 0:50 / /tmp/test-disk-f tmpfs rw - tmpfs tmpfs rw\n",
                             dir, dir);
        write_text(mi, text);

        assert_int_equal(facts_by(dir, mi, &f), 0);
        assert_string_equal(f.path, dir);
        assert_string_equal(f.mount_point, dir);
        assert_string_equal(f.mount_root, "/");
        assert_string_equal(f.source, "/dev/vdb");
        assert_string_equal(f.fs_type, "xfs");
        assert_string_equal(f.mount_options, "rw,noatime,rw,attr2,inode64");
        assert_int_equal(f.mount_id, 3);
        assert_true(f.is_mount_point);
        assert_true(f.is_fs_root);
        assert_true(f.size > 0);
        assert_true(f.avail <= f.free && f.free <= f.size);
        disk_facts_done(&f);

        /* A directory below it: same mount, not a mount point itself. */
        assert_int_equal(facts_by(sub, mi, &f), 0);
        assert_string_equal(f.mount_point, dir);
        assert_false(f.is_mount_point);
        assert_false(f.is_fs_root);
        disk_facts_done(&f);

        /* Symlinks are resolved before matching. */
        {
                _cleanup_free_ char *link = strdup_printf("%s/link", dir);
                assert_int_equal(symlink(sub, link), 0);
                assert_int_equal(facts_by(link, mi, &f), 0);
                assert_string_equal(f.path, link);
                assert_string_equal(f.mount_point, dir);
                disk_facts_done(&f);
                unlink(link);
        }

        /* A mountinfo with no mount holding the path. */
        write_text(mi, "2 1 253:16 / /nowhere rw - xfs /dev/vdc rw\n");
        assert_int_equal(facts_by(dir, mi, &f), -ENOENT);
        unlink(mi);
        assert_int_equal(facts_by(dir, mi, &f), -ENOENT);
        assert_int_equal(disk_facts_get("/does/not/exist", NULL, &f), -ENOENT);

        rmdir(sub);
        rmdir(dir);
}

/* A data directory that is a subdirectory of another filesystem, with and without
 * the bind of it onto itself that a unit's ReadWritePaths= makes: the same facts,
 * not a mount point. A bind of another directory there is a mount point, but not
 * a filesystem of its own; a btrfs subvolume mounted there is one. */
static void facts_see_through_a_sandbox_bind(void **state) {
        _cleanup_free_ char *base = make_tmpdir("bind"), *dir = NULL;
        static const struct {
                const char *lines;      /* %1$s the data directory, %2$s its parent */
                const char *mount_point, *root;
                bool is_mount_point, is_fs_root;
        } cases[] = {
                { "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                  "2 1 7:0 / %2$s rw - ext4 /dev/loop0 rw\n",
                  "parent", "/", false, false },
                { "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                  "2 1 7:0 / %2$s rw - ext4 /dev/loop0 rw\n"
                  "3 2 7:0 /docker %1$s rw - ext4 /dev/loop0 rw\n",
                  "parent", "/", false, false },
                { "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                  "2 1 7:0 / %2$s rw - ext4 /dev/loop0 rw\n"
                  "3 2 7:0 /elsewhere %1$s rw - ext4 /dev/loop0 rw\n",
                  "dir", "/elsewhere", true, false },
                { "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                  "2 1 7:1 / %1$s rw - xfs /dev/loop1 rw\n"
                  "3 2 7:1 / %1$s rw - xfs /dev/loop1 rw\n",
                  "dir", "/", true, true },
                { "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                  "2 1 0:40 /@cache %1$s rw - btrfs /dev/loop2 rw,space_cache=v2,subvolid=256,subvol=/@cache\n",
                  "dir", "/@cache", true, true },
                { "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                  "2 1 0:40 /@cache/docker %1$s rw - btrfs /dev/loop2 rw,subvolid=256,subvol=/@cache\n",
                  "dir", "/@cache/docker", true, false },
        };

        dir = strdup_printf("%s/docker", base);
        assert_int_equal(mkdir(dir, 0700), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(mountinfo_done) struct mountinfo m = {};
                _cleanup_free_ char *text = NULL;
                struct disk_facts f = {};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                text = strdup_printf(cases[i].lines, dir, base);
#pragma GCC diagnostic pop
                assert_int_equal(mountinfo_parse(text, &m), 0);
                assert_int_equal(disk_facts_get(dir, &m, &f), 0);
                if (!streq(f.mount_point, streq(cases[i].mount_point, "dir") ? dir : base) ||
                    !streq(f.mount_root, cases[i].root) || f.is_mount_point != cases[i].is_mount_point ||
                    f.is_fs_root != cases[i].is_fs_root)
                        fail_msg("case %zu: %s (root %s), mount point %d, filesystem root %d", i, f.mount_point,
                                 f.mount_root, f.is_mount_point, f.is_fs_root);
                disk_facts_done(&f);
        }
        rmdir(dir);
        rmdir(base);
}

static void facts_of_the_real_root(void **state) {
        struct disk_facts f = {};

        assert_int_equal(disk_facts_get("/", NULL, &f), 0);
        assert_string_equal(f.mount_point, "/");
        assert_true(f.is_mount_point);
        assert_true(f.on_root_fs);
        assert_non_null(f.fs_type);
        disk_facts_done(&f);
}

/* The fake root's tree for the boot-mount tests. */
static char *fake_root(void) {
        char *root = make_tmpdir("root");
        _cleanup_free_ char *d = strdup_printf("%s/etc/systemd/system/local-fs.target.wants", root);
        _cleanup_free_ char *cmd = strdup_printf("mkdir -p '%s' '%s/run/systemd/generator/local-fs.target.requires'", d, root);
        assert_int_equal(system(cmd), 0);
        return root;
}

static void remove_tree(const char *path) {
        _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", path);
        assert_int_equal(system(cmd), 0);
}

static void boot_mount_from_fstab(void **state) {
        _cleanup_free_ char *root = fake_root(), *fstab = strdup_printf("%s/etc/fstab", root);
        char *source = NULL;

        assert_int_equal(disk_boot_mount_source("/mnt/k8s/docker", root, &source), 0);
        assert_null(source);

        write_text(fstab, "# /mnt/k8s/docker is mentioned in a comment only\n"
                          "UUID=1234 / ext4 defaults 0 1\n"
                          "/dev/vdc /mnt/other xfs defaults 0 0\n");
        assert_int_equal(disk_boot_mount_source("/mnt/k8s/docker", root, &source), 0);

        write_text(fstab, "UUID=1234 / ext4 defaults 0 1\n"
                          "/dev/vdb /mnt/k8s/docker xfs noauto,nofail 0 0\n");
        assert_int_equal(disk_boot_mount_source("/mnt/k8s/docker", root, &source), 0);

        write_text(fstab, "UUID=1234 / ext4 defaults 0 1\n"
                          "  UUID=abcd\t/mnt/k8s/docker/  xfs defaults,nofail 0 0\n");
        assert_int_equal(disk_boot_mount_source("/mnt/k8s/docker", root, &source), 1);
        assert_string_equal(source, "/etc/fstab");
        free(source);
        source = NULL;

        write_text(fstab, "/dev/vdb /mnt/with\\040space xfs defaults 0 0\n");
        assert_int_equal(disk_boot_mount_source("/mnt/with space", root, &source), 1);
        free(source);

        remove_tree(root);
}

static void boot_mount_from_an_enabled_mount_unit(void **state) {
        _cleanup_free_ char *root = fake_root();
        _cleanup_free_ char *unit = strdup_printf("%s/etc/systemd/system/mnt-k8s-docker.mount", root);
        _cleanup_free_ char *link = strdup_printf("%s/etc/systemd/system/local-fs.target.wants/mnt-k8s-docker.mount", root);
        char *source = NULL;

        write_text(unit, "[Mount]\nWhat=/dev/disk/by-uuid/1234\nWhere=/mnt/k8s/docker\nType=xfs\n"
                         "[Install]\nWantedBy=local-fs.target\n");
        /* Written but not enabled: nothing pulls it in at boot. */
        assert_int_equal(disk_boot_mount_source("/mnt/k8s/docker", root, &source), 0);

        /* Enabled as systemctl does it: an absolute link, dangling outside the root. */
        assert_int_equal(symlink("/etc/systemd/system/mnt-k8s-docker.mount", link), 0);
        assert_int_equal(disk_boot_mount_source("/mnt/k8s/docker", root, &source), 1);
        assert_string_equal(source, "mnt-k8s-docker.mount");
        free(source);
        source = NULL;

        /* Another path's unit does not count. */
        assert_int_equal(disk_boot_mount_source("/mnt/k8s/other", root, &source), 0);
        remove_tree(root);
}

static void boot_mount_from_the_fstab_generator(void **state) {
        _cleanup_free_ char *root = fake_root();
        _cleanup_free_ char *unit = strdup_printf("%s/run/systemd/generator/srv-cache.mount", root);
        _cleanup_free_ char *link = strdup_printf("%s/run/systemd/generator/local-fs.target.requires/srv-cache.mount", root);
        char *source = NULL;

        write_text(unit, "[Mount]\nWhat=/dev/vdb\nWhere=/srv/cache\n");
        assert_int_equal(symlink("../srv-cache.mount", link), 0);
        assert_int_equal(disk_boot_mount_source("/srv/cache", root, &source), 1);
        assert_string_equal(source, "srv-cache.mount");
        free(source);
        remove_tree(root);
}

/* Counts the entries of DIR other than . and .. */
static unsigned count_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                n += !streq(de->d_name, ".") && !streq(de->d_name, "..");
        closedir(d);
        return n;
}

static void probes_leave_nothing_behind(void **state) {
        _cleanup_free_ char *dir = make_tmpdir("probe");
        uint64_t usec = UINT64_MAX;

        assert_int_equal(disk_probe_dtype(dir), 1);
        assert_int_equal(disk_probe_write(dir, &usec), 0);
        assert_true(usec != UINT64_MAX);
        if (geteuid() == 0)
                assert_int_equal(disk_probe_overlay(dir), 0);
        else
                assert_true(disk_probe_overlay(dir) < 0);
        assert_int_equal(count_entries(dir), 0);

        assert_int_equal(disk_probe_dtype("/does/not/exist"), -ENOENT);
        assert_int_equal(disk_probe_write("/does/not/exist", &usec), -ENOENT);
        rmdir(dir);
}

static void error_count_is_enoent_where_the_kernel_has_none(void **state) {
        struct disk_facts f = { .fs_type = (char *) "xfs" };
        uint64_t n = 42;

        assert_int_equal(disk_error_count(&f, &n), -ENOENT);
        f.fs_type = (char *) "tmpfs";
        assert_int_equal(disk_error_count(&f, &n), -ENOENT);
        assert_int_equal(n, 42);
}

/* datadir_check creates a missing directory only when asked, 0711. */
static void datadir_creates_only_when_asked(void **state) {
        _cleanup_free_ char *dir = make_tmpdir("datadir"), *data = NULL;
        struct check_list l = {};
        struct datadir_options o = {};
        const struct check_result *r;
        struct stat st;

        data = strdup_printf("%s/a/b", dir);
        o.data_dir = data;
        assert_int_equal(datadir_check(&o, &l), 0);
        assert_int_equal(stat(data, &st), -1);
        r = check_list_find(&l, "data_dir");
        assert_non_null(r);
        assert_int_equal(r->state, CHECK_OK);
        assert_non_null(strstr(r->message, "would create"));
        assert_int_equal(check_list_find(&l, "d_type")->state, CHECK_SKIP);
        check_list_done(&l);

        o.create = true;
        assert_int_equal(datadir_check(&o, &l), 0);
        assert_int_equal(stat(data, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0711);
        assert_int_equal(check_list_find(&l, "data_dir")->state, CHECK_OK);
        assert_int_equal(check_list_find(&l, "d_type")->state, CHECK_OK);
        assert_int_equal(check_list_find(&l, "dedicated_fs")->state, CHECK_WARN);
        check_list_done(&l);

        /* With a device that is not mounted there, the filesystem is not judged. */
        o.device = "/dev/null";
        assert_int_equal(datadir_check(&o, &l), 0);
        r = check_list_find(&l, "fs_type");
        assert_int_equal(r->state, CHECK_SKIP);
        assert_non_null(strstr(r->message, "checked once /dev/null is mounted at"));
        check_list_done(&l);

        remove_tree(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(magic_names),
                cmocka_unit_test(fitness),
                cmocka_unit_test(mountinfo_line_fields_and_escapes),
                cmocka_unit_test(facts_from_an_injected_mountinfo),
                cmocka_unit_test(facts_see_through_a_sandbox_bind),
                cmocka_unit_test(facts_of_the_real_root),
                cmocka_unit_test(boot_mount_from_fstab),
                cmocka_unit_test(boot_mount_from_an_enabled_mount_unit),
                cmocka_unit_test(boot_mount_from_the_fstab_generator),
                cmocka_unit_test(probes_leave_nothing_behind),
                cmocka_unit_test(error_count_is_enoent_where_the_kernel_has_none),
                cmocka_unit_test(datadir_creates_only_when_asked),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
