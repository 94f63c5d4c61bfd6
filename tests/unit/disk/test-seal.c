/* SPDX-License-Identifier: MIT */
/* The sealed mount point (seal.h), as root on the real filesystem of /var/tmp: the
 * bare directory refuses every kind of write while sealed, a filesystem mounted on
 * it does not, and the attribute is read and changed beneath that mount without
 * unmounting it. Skipped when not root. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/util.h"
#include "disk/seal.h"

static char base[] = "/var/tmp/test-seal-XXXXXX";
static char dir[sizeof(base) + 16];

static int setup(void **state) {
        if (geteuid() != 0)
                return 0;
        if (!mkdtemp(base))
                return -1;
        snprintf(dir, sizeof(dir), "%s/docker", base);
        return mkdir(dir, 0711);
}

static int teardown(void **state) {
        char cmd[128];

        if (geteuid() != 0)
                return 0;
        (void) umount2(dir, MNT_DETACH);
        (void) seal_set(dir, false);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
        if (system(cmd) != 0)
                return -1;
        strcpy(base, "/var/tmp/test-seal-XXXXXX");
        return 0;
}

static int write_in(const char *d) {
        char path[128];
        int fd;

        snprintf(path, sizeof(path), "%s/x", d);
        if (mkdir(path, 0700) < 0)
                return -errno;
        (void) rmdir(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        close(fd);
        (void) unlink(path);
        fd = open(d, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EOPNOTSUPP)
                return -errno;
        if (fd >= 0)
                close(fd);
        return 0;
}

static void a_sealed_directory_refuses_every_write(void **state) {
        if (geteuid() != 0)
                skip();
        assert_int_equal(seal_state(dir), 0);
        assert_int_equal(write_in(dir), 0);
        assert_int_equal(seal_set(dir, true), 1);
        assert_int_equal(seal_set(dir, true), 0); /* already so */
        assert_int_equal(seal_state(dir), 1);
        assert_int_equal(seal_state_here(dir), 1);
        assert_int_equal(write_in(dir), -EPERM);
        assert_int_equal(seal_set(dir, false), 1);
        assert_int_equal(seal_state_here(dir), 0);
        assert_int_equal(write_in(dir), 0);
}

static void a_mount_on_it_is_writable_and_the_seal_is_reached_beneath(void **state) {
        if (geteuid() != 0)
                skip();
        assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0711"), 0);
        /* Set beneath the mount, without unmounting. */
        assert_int_equal(seal_set(dir, true), 1);
        assert_int_equal(seal_state(dir), 1);
        assert_int_equal(seal_state_here(dir) == 1, false); /* the tmpfs root is not sealed */
        assert_int_equal(write_in(dir), 0);
        assert_int_equal(umount2(dir, 0), 0);
        assert_int_equal(write_in(dir), -EPERM);
        /* Mounted again: writable again, with nothing else done. */
        assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, "size=1m"), 0);
        assert_int_equal(write_in(dir), 0);
        assert_int_equal(seal_set(dir, false), 1);
        assert_int_equal(umount2(dir, 0), 0);
        assert_int_equal(seal_state(dir), 0);
}

static void bad_paths_are_refused(void **state) {
        assert_int_equal(seal_state("relative"), -EINVAL);
        assert_int_equal(seal_state("/"), -EINVAL);
        assert_int_equal(seal_set("/var/tmp/..", true), -EINVAL);
        assert_int_equal(seal_state(""), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(a_sealed_directory_refuses_every_write, setup, teardown),
                cmocka_unit_test_setup_teardown(a_mount_on_it_is_writable_and_the_seal_is_reached_beneath, setup,
                                                teardown),
                cmocka_unit_test(bad_paths_are_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
