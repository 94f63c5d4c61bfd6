/* SPDX-License-Identifier: MIT */
/* --wipe-data's removal: everything inside the directory goes, nothing outside it,
 * symlinks are removed and never followed, a mount beneath refuses the wipe. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "base/util.h"
#include "disk/wipe.h"

static char base[] = "/var/tmp/test-wipe-XXXXXX";

static void touch(const char *sub) {
        char path[512];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", base, sub);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
}

static void mk(const char *sub) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", base, sub);
        assert_int_equal(mkdir(path, 0755), 0);
}

static bool exists(const char *sub) {
        char path[512];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", base, sub);
        return lstat(path, &st) == 0;
}

static int setup(void **state) {
        char path[512];

        if (!mkdtemp(base))
                return -1;
        mk("data");
        mk("data/overlay2");
        mk("data/overlay2/abc");
        mk("data/overlay2/abc/diff");
        touch("data/overlay2/abc/diff/file");
        touch("data/engine-id");
        mk("outside");
        touch("outside/keep");
        snprintf(path, sizeof(path), "%s/outside", base);
        char link[512];
        snprintf(link, sizeof(link), "%s/data/to-outside", base);
        assert_int_equal(symlink(path, link), 0);
        snprintf(path, sizeof(path), "%s/outside/keep", base);
        snprintf(link, sizeof(link), "%s/data/overlay2/abc/keep-link", base);
        assert_int_equal(symlink(path, link), 0);
        return 0;
}

static int teardown(void **state) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
        (void) system(cmd);
        strcpy(base, "/var/tmp/test-wipe-XXXXXX");
        return 0;
}

static void removes_everything_inside_and_nothing_outside(void **state) {
        struct wipe_stats st;
        char dir[512];

        snprintf(dir, sizeof(dir), "%s/data", base);
        assert_int_equal(wipe_directory_contents(dir, NULL, &st), 0);
        assert_int_equal(st.removed, 7);
        assert_true(exists("data"));
        assert_false(exists("data/engine-id"));
        assert_false(exists("data/overlay2"));
        assert_false(exists("data/to-outside"));
        /* The links went, what they pointed at stayed. */
        assert_true(exists("outside/keep"));
        /* Twice is fine: nothing left. */
        assert_int_equal(wipe_directory_contents(dir, NULL, &st), 0);
        assert_int_equal(st.removed, 0);
}

static void refuses_a_symlink_on_the_way(void **state) {
        struct wipe_stats st;
        char link[512], target[512];

        snprintf(target, sizeof(target), "%s/data", base);
        snprintf(link, sizeof(link), "%s/link", base);
        assert_int_equal(symlink(target, link), 0);
        assert_int_equal(wipe_directory_contents(link, NULL, &st), -ENOTDIR);
        snprintf(link, sizeof(link), "%s/link/overlay2", base);
        assert_int_equal(wipe_directory_contents(link, NULL, &st), -ENOTDIR);
        assert_true(exists("data/engine-id"));
}

static void refuses_when_something_is_mounted_beneath(void **state) {
        char mi[512], dir[512];
        struct wipe_stats st;
        FILE *f;

        snprintf(dir, sizeof(dir), "%s/data", base);
        snprintf(mi, sizeof(mi), "%s/mountinfo", base);
        f = fopen(mi, "we");
        assert_non_null(f);
        fprintf(f, "1 0 8:1 / / rw - ext4 /dev/vda rw\n"
                   "2 1 0:50 / %s/overlay2/abc/merged rw - overlay overlay rw\n", dir);
        fclose(f);
        assert_int_equal(wipe_directory_contents(dir, mi, &st), -EBUSY);
        assert_int_equal(st.removed, 0);
        assert_true(exists("data/engine-id"));
}

static void refuses_when_the_directory_is_also_mounted_elsewhere(void **state) {
        char mi[512], dir[512];
        struct wipe_stats st;
        FILE *f;

        snprintf(dir, sizeof(dir), "%s/data", base);
        snprintf(mi, sizeof(mi), "%s/mountinfo", base);
        /* Another part of the same filesystem mounted elsewhere is fine. */
        f = fopen(mi, "we");
        assert_non_null(f);
        fprintf(f, "1 0 8:1 / / rw - ext4 /dev/vda rw\n"
                   "3 1 8:1 %s/outside /srv/other rw - ext4 /dev/vda rw\n", base);
        fclose(f);
        assert_int_equal(wipe_directory_contents(dir, mi, &st), 0);
        assert_false(exists("data/engine-id"));

        /* The kubelet's bind mount of the data directory into a pod: in use. */
        assert_int_equal(teardown(state), 0);
        assert_int_equal(setup(state), 0);
        snprintf(dir, sizeof(dir), "%s/data", base);
        snprintf(mi, sizeof(mi), "%s/mountinfo", base);
        f = fopen(mi, "we");
        assert_non_null(f);
        fprintf(f, "1 0 8:1 / / rw - ext4 /dev/vda rw\n"
                   "3 1 8:1 %s/data /var/lib/kubelet/pods/1/volumes/kubernetes.io~local-volume/docker-pv rw "
                   "- ext4 /dev/vda rw\n", base);
        fclose(f);
        assert_int_equal(wipe_directory_contents(dir, mi, &st), -EBUSY);
        assert_true(exists("data/engine-id"));
}

static void refuses_when_a_subdirectory_is_mounted_elsewhere(void **state) {
        char mi[512], dir[512];
        struct wipe_stats st;
        FILE *f;

        snprintf(dir, sizeof(dir), "%s/data", base);
        snprintf(mi, sizeof(mi), "%s/mountinfo", base);
        /* A pod's subPath: the kubelet binds a directory inside the volume. */
        f = fopen(mi, "we");
        assert_non_null(f);
        fprintf(f, "1 0 8:1 / / rw - ext4 /dev/vda rw\n"
                   "4 1 8:1 %s/data/overlay2/abc /var/lib/kubelet/pods/1/volume-subpaths/docker-pv/dind/0 rw "
                   "- ext4 /dev/vda rw\n", base);
        fclose(f);
        assert_int_equal(wipe_directory_contents(dir, mi, &st), -EBUSY);
        assert_int_equal(st.removed, 0);
        assert_true(exists("data/engine-id"));
        assert_true(exists("data/overlay2/abc/diff/file"));

        /* The same subdirectory on the volume's own filesystem, mounted at the data
         * directory (the disk mounted there, the bind taken from that mount). */
        f = fopen(mi, "we");
        assert_non_null(f);
        fprintf(f, "1 0 8:1 / / rw - ext4 /dev/vda rw\n"
                   "5 1 259:3 / %s rw - xfs /dev/vdb rw\n"
                   "6 1 259:3 /overlay2 /var/lib/kubelet/pods/2/volume-subpaths/docker-pv/dind/0 rw "
                   "- xfs /dev/vdb rw\n", dir);
        fclose(f);
        assert_int_equal(wipe_directory_contents(dir, mi, &st), -EBUSY);
        assert_true(exists("data/engine-id"));
}

static void refuses_system_directories(void **state) {
        struct wipe_stats st;

        assert_true(wipe_path_is_protected("/"));
        assert_true(wipe_path_is_protected("/var/lib"));
        assert_true(wipe_path_is_protected("/mnt/"));
        assert_false(wipe_path_is_protected("/mnt/k8s/docker"));
        assert_int_equal(wipe_directory_contents("/etc", NULL, &st), -EPERM);
        assert_int_equal(wipe_directory_contents("relative", NULL, &st), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(removes_everything_inside_and_nothing_outside, setup, teardown),
                cmocka_unit_test_setup_teardown(refuses_a_symlink_on_the_way, setup, teardown),
                cmocka_unit_test_setup_teardown(refuses_when_something_is_mounted_beneath, setup, teardown),
                cmocka_unit_test_setup_teardown(refuses_when_the_directory_is_also_mounted_elsewhere, setup, teardown),
                cmocka_unit_test_setup_teardown(refuses_when_a_subdirectory_is_mounted_elsewhere, setup, teardown),
                cmocka_unit_test(refuses_system_directories),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
