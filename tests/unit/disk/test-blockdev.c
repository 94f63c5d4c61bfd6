/* SPDX-License-Identifier: MIT */
/* What the device checks refuse without needing root or a real disk: paths that are
 * not block devices are refused, and formatting never runs on them. As root, the
 * format step itself on a real loop device: its own last check refuses data that
 * appeared after the first. The other loop-device cases (signatures, mounts, O_EXCL,
 * ...) are in tests/integration/test_install_disk.py. */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "disk/blockdev.h"
#include "base/check-list.h"

static void refused_with(const char *path, const char *text) {
        struct check_list l = {};
        enum blockdev_verdict v = BLOCKDEV_BLANK;
        const struct check_result *c;

        assert_int_equal(blockdev_check(path, NULL, 0, &l, &v), 0);
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
        assert_int_equal(blockdev_inspect(path, NULL, &i), -ENOTBLK);
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

#define IMAGE_SIZE (512LL * 1024 * 1024)
#define DATA_OFFSET 8192
/* What is compared before and after: both ends, where mkfs.xfs writes first. */
#define EDGE (2 * 1024 * 1024)

struct loop {
        char image[64];
        char dev[32];
        int fd;                 /* on the loop device, while attached */
};

/* A sparse image with DATA at DATA_OFFSET, attached to a free loop device. */
static void loop_attach(struct loop *l, const void *data, size_t len) {
        int ctl, img;

        strcpy(l->image, "/var/tmp/test-blockdev-XXXXXX");
        img = mkostemp(l->image, O_CLOEXEC);
        assert_true(img >= 0);
        assert_int_equal(ftruncate(img, IMAGE_SIZE), 0);
        assert_int_equal(pwrite(img, data, len, DATA_OFFSET), (ssize_t) len);
        assert_int_equal(fsync(img), 0);

        ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        assert_true(ctl >= 0);
        for (int attempt = 0;; attempt++) {
                int n = ioctl(ctl, LOOP_CTL_GET_FREE);
                assert_true(n >= 0);
                snprintf(l->dev, sizeof(l->dev), "/dev/loop%d", n);
                l->fd = open(l->dev, O_RDWR | O_CLOEXEC);
                assert_true(l->fd >= 0);
                if (ioctl(l->fd, LOOP_SET_FD, img) == 0)
                        break;
                /* Another test took it between the two calls: try the next. */
                assert_true(errno == EBUSY && attempt < 10);
                close(l->fd);
        }
        close(ctl);
        close(img);
}

static void loop_detach(struct loop *l) {
        (void) ioctl(l->fd, LOOP_CLR_FD, 0);
        close(l->fd);
        unlink(l->image);
}

static void read_edges(const char *path, uint8_t *buf) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pread(fd, buf, EDGE, 0), EDGE);
        assert_int_equal(pread(fd, buf + EDGE, EDGE, IMAGE_SIZE - EDGE), EDGE);
        close(fd);
}

static void formatting_refuses_data_that_appeared_after_the_checks(void **state) {
        static uint8_t before[2 * EDGE], after[2 * EDGE];
        uint8_t data[4096];
        char *uuid = NULL, *err = NULL;
        struct loop l;
        int rnd, r;

        if (geteuid() != 0)
                skip(); /* loop devices need root */
        /* No signature libblkid knows, but data: what plain dm-crypt looks like. */
        rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        assert_true(rnd >= 0);
        assert_int_equal(read(rnd, data, sizeof(data)), (ssize_t) sizeof(data));
        close(rnd);
        loop_attach(&l, data, sizeof(data));
        read_edges(l.dev, before);

        /* The format step alone, as if the data came after install's first check. */
        r = blockdev_format_xfs_full(l.dev, &uuid, &err);
        read_edges(l.dev, after);
        loop_detach(&l);
        assert_int_equal(r, -EEXIST);
        assert_null(uuid);
        assert_null(err);
        assert_memory_equal(before, after, sizeof(before));
        assert_memory_equal(before + DATA_OFFSET, data, sizeof(data));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_missing_path_is_refused),
                cmocka_unit_test(a_character_device_is_refused),
                cmocka_unit_test(a_regular_file_is_refused_and_never_formatted),
                cmocka_unit_test(formatting_wants_an_absolute_path),
                cmocka_unit_test(formatting_refuses_data_that_appeared_after_the_checks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
