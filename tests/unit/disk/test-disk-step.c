/* SPDX-License-Identifier: MIT */
/* install's disk step decided from facts alone (disk/disk-step.h): each row is the
 * flags, what was found on the node, and what must be done, with no disk touched. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "disk/disk-step.h"

#define DEV "/dev/vdb"
#define DIR "/mnt/k8s/docker"
#define MIB (UINT64_C(1) << 20)

/* What blockdev_inspect() would have found. */
struct device_facts {
        int inspect_r;
        uint64_t size;
        const char *signature;   /* libblkid's TYPE, or NULL: blank */
        bool xfs_ftype;
        const char *uuid;
        const char *mounted_at;  /* the device mounted somewhere, or NULL */
        bool busy, unknown_data, read_only;
};

struct row {
        const char *name;
        /* flags */
        bool device, format, dry_run, seal_mount_point;
        uint64_t capacity;
        /* the data directory */
        int dir_r;
        bool is_mount_point;
        /* the device */
        int mounted_r;           /* the device is mounted at the data directory */
        bool other_mount;        /* something is mounted at the data directory */
        struct device_facts dev;
        /* what must be done */
        enum disk_step_action action;
        enum disk_step_refusal refusal;
        int error;
        bool device_report, create_dir, seal, mount, check_creates_dir;
        const char *failed_check; /* a device check that must FAIL, or NULL */
};

#define BLANK { .size = 512 * MIB }
#define XFS { .size = 512 * MIB, .signature = "xfs", .xfs_ftype = true, .uuid = "1b2c" }

static const struct row rows[] = {
        { "no device: the directory's checks, which may create it",
          .dir_r = -ENOENT, .action = DISK_STEP_CHECK, .check_creates_dir = true },
        { "no device, a dry run: checks that create nothing",
          .dry_run = true, .dir_r = -ENOENT, .action = DISK_STEP_CHECK },
        { "--seal-mount-point on a mount point: sealed",
          .seal_mount_point = true, .is_mount_point = true, .action = DISK_STEP_CHECK, .seal = true,
          .check_creates_dir = true },
        { "--seal-mount-point on a plain directory: it is the cache itself",
          .seal_mount_point = true, .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_SEAL_NOT_MOUNT },
        { "--seal-mount-point, no directory, a dry run: nothing is mounted there",
          .seal_mount_point = true, .dry_run = true, .dir_r = -ENOENT, .action = DISK_STEP_REFUSE,
          .refusal = DISK_REFUSAL_SEAL_MISSING },
        { "--seal-mount-point, no directory: it cannot be examined",
          .seal_mount_point = true, .dir_r = -ENOENT, .action = DISK_STEP_REFUSE,
          .refusal = DISK_REFUSAL_DIR_UNREADABLE, .error = -ENOENT },
        { "a blank device with --format: formatted, mounted, the directory made and sealed",
          .device = true, .format = true, .dir_r = -ENOENT, .dev = BLANK, .action = DISK_STEP_FORMAT,
          .device_report = true, .create_dir = true, .seal = true, .mount = true },
        { "a blank device with --format, a dry run: the same plan",
          .device = true, .format = true, .dry_run = true, .dir_r = -ENOENT, .dev = BLANK,
          .action = DISK_STEP_FORMAT, .device_report = true, .create_dir = true, .seal = true, .mount = true },
        { "a blank device without --format: refused",
          .device = true, .dir_r = -ENOENT, .dev = BLANK, .action = DISK_STEP_REFUSE,
          .refusal = DISK_REFUSAL_BLANK, .device_report = true },
        { "xfs with ftype=1: used as it is, without --format too",
          .device = true, .dev = XFS, .action = DISK_STEP_REUSE, .device_report = true, .seal = true,
          .mount = true },
        { "mounted at the data directory already: used as it is, its checks not shown",
          .device = true, .is_mount_point = true, .mounted_r = 1, .other_mount = true,
          .dev = { .size = 512 * MIB, .signature = "xfs", .xfs_ftype = true, .uuid = "1b2c", .mounted_at = DIR,
                   .busy = true },
          .action = DISK_STEP_USE_MOUNTED, .seal = true, .mount = true },
        { "mounted at the data directory, no UUID on it",
          .device = true, .is_mount_point = true, .mounted_r = 1, .other_mount = true,
          .dev = { .size = 512 * MIB, .signature = "xfs", .mounted_at = DIR },
          .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_NO_UUID },
        { "mounted at the data directory, the device unreadable",
          .device = true, .is_mount_point = true, .mounted_r = 1, .other_mount = true,
          .dev = { .inspect_r = -EACCES }, .action = DISK_STEP_REFUSE,
          .refusal = DISK_REFUSAL_DEVICE_UNREADABLE, .error = -EACCES },
        { "unknown whether it is mounted there",
          .device = true, .mounted_r = -EIO, .dev = BLANK, .action = DISK_STEP_REFUSE,
          .refusal = DISK_REFUSAL_MOUNT_UNKNOWN, .error = -EIO },
        { "something else mounted at the data directory: refused before the device is judged",
          .device = true, .format = true, .is_mount_point = true, .other_mount = true, .dev = BLANK,
          .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_OTHER_MOUNT },
        { "no such device",
          .device = true, .format = true, .mounted_r = -ENOENT, .dir_r = -ENOENT, .dev = { .inspect_r = -ENOENT },
          .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_DEVICE_CHECKS, .device_report = true,
          .failed_check = "device" },
        { "an ext4 signature",
          .device = true, .format = true, .dir_r = -ENOENT,
          .dev = { .size = 512 * MIB, .signature = "ext4", .uuid = "9f" },
          .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_DEVICE_CHECKS, .device_report = true,
          .failed_check = "device_signature" },
        { "xfs without ftype",
          .device = true, .format = true, .dir_r = -ENOENT,
          .dev = { .size = 512 * MIB, .signature = "xfs", .uuid = "9f" },
          .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_DEVICE_CHECKS, .device_report = true,
          .failed_check = "device_signature" },
        { "data libblkid does not know",
          .device = true, .format = true, .dir_r = -ENOENT, .dev = { .size = 512 * MIB, .unknown_data = true },
          .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_DEVICE_CHECKS, .device_report = true,
          .failed_check = "device_signature" },
        { "mounted somewhere else",
          .device = true, .format = true, .dir_r = -ENOENT,
          .dev = { .size = 512 * MIB, .signature = "xfs", .xfs_ftype = true, .uuid = "1b2c",
                   .mounted_at = "/srv", .busy = true },
          .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_DEVICE_CHECKS, .device_report = true,
          .failed_check = "device_mounted" },
        { "held open exclusively",
          .device = true, .format = true, .dir_r = -ENOENT, .dev = { .size = 512 * MIB, .busy = true },
          .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_DEVICE_CHECKS, .device_report = true,
          .failed_check = "device_exclusive" },
        { "read-only",
          .device = true, .format = true, .dir_r = -ENOENT, .dev = { .size = 512 * MIB, .read_only = true },
          .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_DEVICE_CHECKS, .device_report = true,
          .failed_check = "device_read_only" },
        { "smaller than --capacity",
          .device = true, .format = true, .capacity = 1024 * MIB, .dir_r = -ENOENT, .dev = BLANK,
          .action = DISK_STEP_REFUSE, .refusal = DISK_REFUSAL_DEVICE_CHECKS, .device_report = true,
          .failed_check = "device_capacity" },
        { "as large as --capacity",
          .device = true, .format = true, .capacity = 512 * MIB, .dir_r = -ENOENT, .dev = BLANK,
          .action = DISK_STEP_FORMAT, .device_report = true, .create_dir = true, .seal = true, .mount = true },
};

static void facts_of(const struct row *w, struct disk_step_facts *f) {
        *f = (struct disk_step_facts) {
                .dir_r = w->dir_r,
                .dir = { .is_mount_point = w->is_mount_point },
                .seal = -ENODATA,
                .mounted_r = w->mounted_r,
                .other_mount = w->other_mount,
                .inspect_r = w->dev.inspect_r,
                .device = {
                        .path = (char *) DEV,
                        .size = w->dev.size,
                        .signature = (char *) w->dev.signature,
                        .xfs_ftype = w->dev.xfs_ftype,
                        .xfs_version = w->dev.signature && !strcmp(w->dev.signature, "xfs") ? 5 : 0,
                        .uuid = (char *) w->dev.uuid,
                        .mount_point = (char *) w->dev.mounted_at,
                        .busy = w->dev.busy,
                        .unknown_data = w->dev.unknown_data,
                        .read_only = w->dev.read_only,
                },
        };
        if (w->other_mount)
                f->at_data_dir = (struct mountinfo_entry) { .mount_point = (char *) DIR, .root = (char *) "/",
                                                            .fs_type = (char *) "tmpfs", .source = (char *) "tmpfs" };
}

static void check_row(const struct row *w) {
        struct disk_step_options o = {
                .data_dir = DIR,
                .device = w->device ? DEV : NULL,
                .capacity = w->capacity,
                .format = w->format,
                .seal_mount_point = w->seal_mount_point,
                .dry_run = w->dry_run,
        };
        struct disk_step_facts f;
        struct disk_step_plan p = {};

        facts_of(w, &f);
        assert_int_equal(disk_step_decide(&o, &f, &p), 0);
        if (p.action != w->action || p.refusal != w->refusal || p.error != w->error ||
            p.device_report != w->device_report || p.create_dir != w->create_dir || p.seal != w->seal ||
            p.mount != w->mount || p.check_creates_dir != w->check_creates_dir)
                fail_msg("%s: action %d refusal %d error %d report %d create %d seal %d mount %d creates %d", w->name,
                         p.action, p.refusal, p.error, p.device_report, p.create_dir, p.seal, p.mount,
                         p.check_creates_dir);
        if (!w->device_report && p.device_checks.n)
                fail_msg("%s: device checks made but not to be shown", w->name);
        if (w->failed_check) {
                const struct check_result *c = check_list_find(&p.device_checks, w->failed_check);
                if (!c || c->state != CHECK_FAIL)
                        fail_msg("%s: %s is not a FAIL", w->name, w->failed_check);
        }
        /* A device judged fit passed every check; one refused by them failed one. */
        if (w->device_report)
                assert_int_equal(check_list_count(&p.device_checks, CHECK_FAIL) > 0,
                                 p.refusal == DISK_REFUSAL_DEVICE_CHECKS);
        disk_step_plan_done(&p);
}

static void every_row_decides_as_its_table_says(void **state) {
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                check_row(&rows[i]);
}

/* The decision reads the facts only: twice the same facts, twice the same plan, and
 * the facts are left as they were. */
static void deciding_changes_nothing_in_the_facts(void **state) {
        const struct row *w = &rows[6];
        struct disk_step_options o = { .data_dir = DIR, .device = DEV, .format = true };
        struct disk_step_facts f, copy;
        struct disk_step_plan a = {}, b = {};

        facts_of(w, &f);
        copy = f;
        assert_int_equal(disk_step_decide(&o, &f, &a), 0);
        assert_int_equal(disk_step_decide(&o, &f, &b), 0);
        assert_memory_equal(&f, &copy, sizeof(f));
        assert_int_equal(a.action, b.action);
        assert_int_equal(a.device_checks.n, b.device_checks.n);
        disk_step_plan_done(&a);
        disk_step_plan_done(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_row_decides_as_its_table_says),
                cmocka_unit_test(deciding_changes_nothing_in_the_facts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
