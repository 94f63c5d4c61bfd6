/* SPDX-License-Identifier: MIT */
/* What the device checks refuse without needing root or a real disk: paths that are
 * not block devices are refused, and formatting never runs on them. The loop-device
 * cases (signatures, mounts, O_EXCL, ...) are in tests/integration/test_install_disk.py. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "disk/blockdev.h"
#include "check/check.h"

static void refused_with(const char *path, const char *text) {
        struct check_list l = {};
        enum blockdev_verdict v = BLOCKDEV_BLANK;
        const struct check_result *c;

        assert_int_equal(blockdev_check(path, 0, &l, &v), 0);
        assert_int_equal(v, BLOCKDEV_REFUSE);
        c = check_list_find(&l, "device");
        assert_non_null(c);
        assert_int_equal(c->state, CHECK_FAIL);
        assert_non_null(strstr(c->message, path));
        assert_non_null(strstr(c->message, text));
        check_list_done(&l);
}

static void a_missing_path_is_refused(void **state) {
        refused_with("/dev/dind-cache-test-no-such-device", "does not exist");
}

static void a_character_device_is_refused(void **state) {
        refused_with("/dev/null", "is not a block device");
}

static void a_regular_file_is_refused_and_never_formatted(void **state) {
        char path[] = "/tmp/test-blockdev-XXXXXX";
        struct blockdev_info i = {};
        char *uuid = NULL, *err = NULL;
        char buf[4096] = { 0 };
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t) sizeof(buf));
        refused_with(path, "is not a block device");
        assert_int_equal(blockdev_inspect(path, &i), -ENOTBLK);
        assert_int_equal(blockdev_format_xfs_full(path, &uuid, &err), -ENOTBLK);
        assert_null(uuid);
        assert_null(err);
        /* Still all zeros: mkfs never ran. */
        assert_int_equal(pread(fd, buf, sizeof(buf), 0), (ssize_t) sizeof(buf));
        for (size_t k = 0; k < sizeof(buf); k++)
                assert_int_equal(buf[k], 0);
        close(fd);
        unlink(path);
}

static void formatting_wants_an_absolute_path(void **state) {
        char *uuid = NULL;
        assert_int_equal(blockdev_format_xfs("vdb", &uuid), -EINVAL);
        assert_int_equal(blockdev_format_xfs("", &uuid), -EINVAL);
        assert_null(uuid);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_missing_path_is_refused),
                cmocka_unit_test(a_character_device_is_refused),
                cmocka_unit_test(a_regular_file_is_refused_and_never_formatted),
                cmocka_unit_test(formatting_wants_an_absolute_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
