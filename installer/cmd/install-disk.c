/* SPDX-License-Identifier: MIT */
/* install's disk step: the facts gathered once (disk_step_gather), what to do decided
 * from them alone (disk_step_decide, disk/disk-step.h), then the acts. Without
 * --device: the data directory's checks. With --device: the device's safety checks,
 * mkfs.xfs on a blank device with --format, a systemd mount unit that mounts it at the
 * data directory at every boot, then the checks on the mounted filesystem. Running it
 * again with the same arguments changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "base/log.h"
#include "base/unit-name.h"
#include "check/report.h"
#include "cmd/install.h"
#include "disk/blockdev.h"
#include "disk/datadir.h"
#include "disk/disk-step.h"
#include "disk/seal.h"
#include "systemd/units.h"

#define MOUNT_OPTIONS "defaults,noatime"
#define MOUNT_START_TIMEOUT_USEC (120ULL * 1000000)
/* udev makes /dev/disk/by-uuid/UUID after mkfs; nudge it once, then give up. */
#define UDEV_LINK_WAIT_USEC (5ULL * 1000000)
#define UDEV_LINK_NUDGE_WAIT_USEC (20ULL * 1000000)

/* One run of the step: the options, the facts, the plan. */
struct disk_run {
        const struct install_options *o;
        struct disk_step_options so;
        struct disk_step_facts f;
        struct disk_step_plan p;
        const struct mountinfo *mounts;  /* f.mounts, or the table read after our mount */
        struct mountinfo mounts_after;
};

static void disk_run_done(struct disk_run *d) {
        disk_step_facts_done(&d->f);
        disk_step_plan_done(&d->p);
        mountinfo_done(&d->mounts_after);
}

static const char *bus_error_text(const sd_bus_error *e, int r) {
        return sd_bus_error_is_set(e) ? e->message : strerror(-r);
}

/* Prints L; 1 when it holds a FAIL (or UNKNOWN). */
static int print_report(const struct check_list *l) {
        int r = report_print_text(stdout, l);
        if (r < 0)
                return log_error_errno(r, "cannot write the report: %m");
        fflush(stdout);
        return check_list_worst(l) >= CHECK_UNKNOWN;
}

/* The filesystem size of PATH, or of its nearest existing parent (a dry run). */
static int fs_facts(const char *path, const struct mountinfo *mounts, struct disk_facts *ret) {
        _cleanup_free_ char *p = strdup(path);
        int r;

        if (!p)
                return -ENOMEM;
        for (;;) {
                r = disk_facts_get(p, mounts, ret);
                if (r != -ENOENT)
                        return r;
                char *slash = strrchr(p, '/');
                if (!slash || slash == p) {
                        if (streq(p, "/"))
                                return r;
                        strcpy(p, "/");
                } else
                        *slash = '\0';
        }
}

/* What the step found or made; FALLBACK_TYPE (a dry run that would format) stands
 * for the filesystem not made yet, FALLBACK_SIZE for its size. */
static int fill_result(const struct disk_run *d, const char *fallback_type, uint64_t fallback_size,
                       const char *uuid, struct install_disk_result *ret) {
        _cleanup_(disk_facts_done) struct disk_facts f = {};
        const struct install_options *o = d->o;
        struct install_disk_result res = {};
        const char *type = fallback_type;
        uint64_t size = fallback_size;
        char a[32], b[32];
        int r;

        r = fs_facts(o->data_dir, d->mounts, &f);
        if (r < 0 && !fallback_type)
                return log_error_errno(r, "cannot examine the filesystem of '%s': %m", o->data_dir);
        if (r >= 0 && !fallback_type) {
                type = f.fs_type;
                size = f.size;
        }
        res.fs_size = size;
        res.capacity = o->capacity ? o->capacity : capacity_round_down(size);
        res.fs_type = strdup(type ? type : "unknown");
        res.uuid = uuid ? strdup(uuid) : NULL;
        if (!res.fs_type || (uuid && !res.uuid)) {
                install_disk_result_done(&res);
                return log_error_errno(-ENOMEM, "cannot describe the disk: %m");
        }
        if (fallback_type && !uuid)
                log_info("Disk: %s would be on %s of at most %s (the device's size); the volume would claim %s",
                         o->data_dir, res.fs_type, format_bytes(res.fs_size, a, sizeof(a)),
                         format_quantity(res.capacity, b, sizeof(b)));
        else
                log_info("Disk: %s on %s, %s; the volume claims %s", o->data_dir, res.fs_type,
                         format_bytes(res.fs_size, a, sizeof(a)), format_quantity(res.capacity, b, sizeof(b)));
        *ret = res;
        return 0;
}

static int check_data_dir(const struct disk_run *d, bool create, const char *device) {
        _cleanup_(check_list_done) struct check_list l = {};
        const struct install_options *o = d->o;
        struct datadir_options opts = {
                .data_dir = o->data_dir,
                .capacity = o->capacity,
                .create = create,
                .device = device,
                .mounts = d->mounts,
        };
        int r;

        r = datadir_check(&opts, &l);
        if (r < 0)
                return log_error_errno(r, "cannot check '%s': %m", o->data_dir);
        r = print_report(&l);
        if (r < 0)
                return r;
        if (r > 0) {
                size_t fails = check_list_count(&l, CHECK_FAIL) + check_list_count(&l, CHECK_UNKNOWN);
                return log_error_errno(-EINVAL, "the data directory '%s' is not fit for overlay2: %zu check(s) failed",
                                       o->data_dir, fails);
        }
        return 0;
}

/* Logs why the plan refuses and returns its negative errno. */
static int say_refusal(const struct disk_run *d) {
        const char *dir = d->o->data_dir, *dev = d->o->device;
        int e = d->p.error;

        switch (d->p.refusal) {
        case DISK_REFUSAL_MOUNT_UNKNOWN:
                return log_error_errno(e, "cannot tell whether '%s' is mounted at '%s': %m", dev, dir);
        case DISK_REFUSAL_DEVICE_UNREADABLE:
                return log_error_errno(e, "cannot examine '%s': %m", dev);
        case DISK_REFUSAL_NO_UUID:
                return log_error_errno(-EINVAL, "'%s' is mounted at '%s' but libblkid finds no filesystem UUID on it",
                                       dev, dir);
        case DISK_REFUSAL_OTHER_MOUNT:
                return log_error_errno(-EBUSY, "'%s' is already a mount point (%s from %s): unmount it first, "
                                       "or choose another --data-dir; %s was not touched", dir,
                                       d->f.at_data_dir.fs_type, d->f.at_data_dir.source, dev);
        case DISK_REFUSAL_DEVICE_CHECKS:
                return log_error_errno(-EBUSY, "refusing to use '%s': see the failed checks above; "
                                       "nothing was written to it (there is no option to override this)", dev);
        case DISK_REFUSAL_BLANK:
                return log_error_errno(-EINVAL, "'%s' is blank: add --format to format it with mkfs.xfs -n ftype=1 "
                                       "(nothing was written to it)", dev);
        case DISK_REFUSAL_DIR_UNREADABLE:
                return log_error_errno(e, "cannot examine '%s': %m", dir);
        case DISK_REFUSAL_SEAL_MISSING:
                return log_error_errno(-ENOENT, "cannot seal '%s': it does not exist, so nothing is mounted there",
                                       dir);
        case DISK_REFUSAL_SEAL_NOT_MOUNT:
                return log_error_errno(-EINVAL, "cannot seal '%s': it is not a mount point, so it is the cache itself "
                                       "(--seal-mount-point seals the directory beneath a disk mounted there)", dir);
        case DISK_REFUSAL_NONE:
                break;
        }
        return log_error_errno(-EINVAL, "cannot use '%s'", dir);
}

/* Seals the bare directory beneath the data directory's mount (seal.h): while the
 * disk is not mounted, nothing can be written there. 1 when it changed something. */
static int seal_bare_directory(const struct disk_run *d) {
        const struct install_options *o = d->o;
        int r;

        if (o->dry_run) {
                if (d->f.seal <= 0)
                        printf("Would seal %s: make the directory beneath the mount immutable (chattr +i), so that "
                               "nothing is written there while the disk is not mounted\n", o->data_dir);
                return 0;
        }
        r = seal_set(o->data_dir, true);
        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "cannot seal '%s': the filesystem beneath it keeps no immutable attribute, "
                                       "so pods could write there while the disk is not mounted", o->data_dir);
        if (r < 0)
                return log_error_errno(r, "cannot seal '%s' (chattr +i on the directory beneath the mount): %m",
                                       o->data_dir);
        if (r > 0)
                log_info("Disk: sealed %s: the directory beneath the mount is immutable, so nothing can be written "
                         "there while the disk is not mounted", o->data_dir);
        else
                log_info("Disk: %s is sealed beneath the mount", o->data_dir);
        return r;
}

static int disk_without_device(struct disk_run *d, struct install_disk_result *ret) {
        int r;

        log_info("Disk: checking the data directory %s", d->o->data_dir);
        if (d->p.action == DISK_STEP_REFUSE)
                return say_refusal(d);
        if (d->p.seal) {
                r = seal_bare_directory(d);
                if (r < 0)
                        return r;
        }
        r = check_data_dir(d, d->p.check_creates_dir, NULL);
        if (r < 0)
                return r;
        return fill_result(d, NULL, 0, NULL, ret);
}

/* Waits until udev has made LINK; nudges udev once when it is slow. */
static int wait_for_link(const char *link, const char *device) {
        uint64_t deadline = now_usec() + UDEV_LINK_WAIT_USEC;
        bool nudged = false;

        for (;;) {
                if (access(link, F_OK) == 0)
                        return 0;
                if (now_usec() >= deadline) {
                        if (nudged)
                                return -ETIMEDOUT;
                        (void) blockdev_udev_change(device);
                        nudged = true;
                        deadline = now_usec() + UDEV_LINK_NUDGE_WAIT_USEC;
                }
                usleep(100 * 1000);
        }
}

/* mkfs.xfs on the blank device (blockdev_format_xfs checks it once more, under
 * O_EXCL, against the mount table read right then): its new UUID in RET_UUID. */
static int format_device(const struct install_options *o, char **ret_uuid) {
        _cleanup_free_ char *mkfs_error = NULL;
        int r;

        log_info("Disk: formatting %s with mkfs.xfs -n ftype=1", o->device);
        r = blockdev_format_xfs_full(o->device, ret_uuid, &mkfs_error);
        switch (r) {
        case 0:
                log_info("Disk: %s formatted: xfs with ftype=1, UUID %s", o->device, *ret_uuid);
                return 0;
        case -EBUSY:
                return log_error_errno(r, "refusing to format '%s': it came into use during the checks", o->device);
        case -EEXIST:
                return log_error_errno(r, "refusing to format '%s': a signature appeared on it during the checks",
                                       o->device);
        case -EIO:
                return log_error_errno(r, "cannot format '%s': %s", o->device, mkfs_error ? mkfs_error : "mkfs.xfs failed");
        default:
                return log_error_errno(r, "cannot format '%s': %m", o->device);
        }
}

/* The device as the plan has it: reused, formatted, or mounted already. Its UUID in
 * RET_UUID (NULL in a dry run that would format). */
static int prepare_device(const struct disk_run *d, char **ret_uuid) {
        const struct install_options *o = d->o;

        switch (d->p.action) {
        case DISK_STEP_REUSE:
        case DISK_STEP_USE_MOUNTED:
                if (d->p.action == DISK_STEP_REUSE)
                        log_info("Disk: %s already holds xfs with ftype=1 (UUID %s): using it as it is", o->device,
                                 d->f.device.uuid);
                *ret_uuid = strdup(d->f.device.uuid);
                return *ret_uuid ? 0 : log_error_errno(-ENOMEM, "cannot use '%s': %m", o->device);
        case DISK_STEP_FORMAT:
                if (!o->dry_run)
                        return format_device(o, ret_uuid);
                printf("Would format %s with mkfs.xfs -n ftype=1\n", o->device);
                *ret_uuid = NULL;
                return 0;
        default:
                return say_refusal(d);
        }
}

/* Writes, enables and reloads for the mount unit; RET_WRITTEN, RET_ENABLED. */
static int enable_mount_unit(sd_bus *bus, const char *unit, const char *text, bool *ret_written,
                             bool *ret_enabled) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *const names[] = { (char *) unit, NULL };
        int r, written, enabled;

        written = unit_file_write(UNIT_DIR, unit, text);
        if (written < 0)
                return log_error_errno(written, "cannot write '%s/%s': %m", UNIT_DIR, unit);
        log_info("Disk: %s/%s %s", UNIT_DIR, unit, written ? "written" : "unchanged");
        if (written || systemd_need_daemon_reload(bus, unit) > 0) {
                r = systemd_daemon_reload(bus, &error);
                if (r < 0)
                        return log_error_errno(r, "cannot reload systemd: %s", bus_error_text(&error, r));
        }
        enabled = systemd_enable(bus, names, &error);
        if (enabled < 0)
                return log_error_errno(enabled, "cannot enable '%s': %s", unit, bus_error_text(&error, enabled));
        if (enabled)
                log_info("Disk: %s enabled (local-fs.target wants it)", unit);
        *ret_written = written > 0;
        *ret_enabled = enabled > 0;
        return 0;
}

/* Starts the mount unit, once udev has made its What= link. */
static int start_mount_unit(const struct install_options *o, sd_bus *bus, const char *unit, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *result = NULL;
        int r;

        r = wait_for_link(what, o->device);
        if (r < 0)
                return log_error_errno(r, "'%s' did not appear: udev has not processed '%s' (is systemd-udevd "
                                       "running? try: udevadm trigger --action=add %s && udevadm settle)",
                                       what, o->device, o->device);
        log_info("Disk: starting %s", unit);
        r = systemd_start(bus, unit, MOUNT_START_TIMEOUT_USEC, &result, &error);
        if (r < 0 && sd_bus_error_is_set(&error))
                return log_error_errno(r, "cannot start '%s': %s", unit, error.message);
        if (r < 0)
                return log_error_errno(r, "cannot mount %s at %s: %s %s (see journalctl -u %s)", what,
                                       o->data_dir, unit, r == -ETIMEDOUT ? "timed out" : result ? result : "failed",
                                       unit);
        return 0;
}

/* The data directory made and sealed, the mount unit written, enabled and started.
 * RET_CHANGED: something was changed; RET_STARTED: the unit was started (a mount). */
static int mount_persistently(const struct disk_run *d, const char *unit, const char *text, const char *what,
                              bool *ret_changed, bool *ret_started) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(unit_state_done) struct unit_state st = {};
        const struct install_options *o = d->o;
        bool mounted = d->p.action == DISK_STEP_USE_MOUNTED, written = false, enabled = false, start;
        int r, sealed;

        r = mkdir_p(o->data_dir, 0711);
        if (r < 0)
                return log_error_errno(r, "cannot create '%s': %m", o->data_dir);
        if (r > 0)
                log_info("Disk: created %s (mode 0711)", o->data_dir);
        /* Before the first mount (or beneath the mount of an earlier run). */
        sealed = seal_bare_directory(d);
        if (sealed < 0)
                return sealed;

        r = systemd_connect(&bus);
        if (r < 0)
                return log_error_errno(r, "cannot connect to systemd: %m (is systemd running on this host?)");
        r = enable_mount_unit(bus, unit, text, &written, &enabled);
        if (r < 0)
                return r;
        r = systemd_unit_state(bus, unit, &st);
        if (r < 0)
                return log_error_errno(r, "cannot read the state of '%s': %m", unit);
        start = !mounted || !streq(st.active_state, "active");
        if (start) {
                r = start_mount_unit(o, bus, unit, what);
                if (r < 0)
                        return r;
        }
        *ret_changed = written || enabled || sealed > 0 || !mounted;
        *ret_started = start;
        return 0;
}

/* --dry-run with --device: what would be done, and the checks as far as they go. */
static int say_dry_run(const struct disk_run *d, const char *unit, const char *unit_path, const char *text,
                       const char *what, const char *fs_type, const char *uuid, struct install_disk_result *ret) {
        const struct install_options *o = d->o;
        bool same = uuid && unit_file_same(UNIT_DIR, unit, text) > 0;
        int r;

        printf("Would %s %s (What=%s Where=%s Type=%s Options=%s)\n", same ? "leave unchanged" : "write",
               unit_path, what, o->data_dir, fs_type, MOUNT_OPTIONS);
        if (d->p.create_dir)
                printf("Would create %s and seal it (immutable while the disk is not mounted)\n", o->data_dir);
        else
                (void) seal_bare_directory(d);
        if (d->p.action != DISK_STEP_USE_MOUNTED)
                printf("Would reload systemd, enable and start %s\n", unit);
        r = check_data_dir(d, false, o->device);
        if (r < 0)
                return r;
        return fill_result(d, "xfs", d->f.device.size, uuid, ret);
}

/* After the mount: the device at the data directory, by the mount table as it is
 * now (read again when this run mounted it), then the checks on its filesystem. */
static int check_mounted(struct disk_run *d, const char *unit, bool changed, bool started, const char *uuid,
                         struct install_disk_result *ret) {
        const struct install_options *o = d->o;
        int r;

        if (started) {
                r = mountinfo_read(NULL, &d->mounts_after);
                if (r < 0)
                        return log_error_errno(r, "cannot read the mount table: %m");
                d->mounts = &d->mounts_after;
        }
        r = datadir_device_mounted(o->data_dir, o->device, d->mounts);
        if (r <= 0)
                return log_error_errno(r < 0 ? r : -ENXIO, "%s reports success but %s is not mounted at %s "
                                       "(see journalctl -u %s)", unit, o->device, o->data_dir, unit);
        if (d->p.action == DISK_STEP_FORMAT && chmod(o->data_dir, 0711) < 0)
                return log_error_errno(-errno, "cannot set the mode of '%s': %m", o->data_dir);
        log_info("Disk: %s is mounted at %s by %s", o->device, o->data_dir, unit);
        if (!changed)
                log_info("Disk: nothing changed (%s already mounted at %s by %s)", o->device, o->data_dir, unit);

        r = check_data_dir(d, true, o->device);
        if (r < 0)
                return r;
        return fill_result(d, NULL, 0, uuid, ret);
}

static int disk_with_device(struct disk_run *d, struct install_disk_result *ret) {
        _cleanup_free_ char *uuid = NULL, *unit = NULL, *what = NULL, *text = NULL, *unit_path = NULL;
        const struct install_options *o = d->o;
        const char *fs_type = "xfs";
        bool changed = false, started = false;
        int r;

        r = unit_name_from_path(o->data_dir, ".mount", &unit);
        if (r < 0)
                return log_error_errno(r, "cannot name a mount unit for '%s': %m", o->data_dir);
        unit_path = strdup_printf("%s/%s", UNIT_DIR, unit);
        if (!unit_path)
                return log_error_errno(-ENOMEM, "cannot name a mount unit for '%s': %m", o->data_dir);

        if (d->f.mounted_r > 0)
                log_info("Disk: %s is mounted at %s", o->device, o->data_dir);
        else if (d->p.device_report) {
                log_info("Disk: checking the device %s", o->device);
                r = print_report(&d->p.device_checks);
                if (r < 0)
                        return r;
        }
        r = prepare_device(d, &uuid);
        if (r < 0)
                return r;
        if (d->p.action == DISK_STEP_USE_MOUNTED && !isempty(d->f.device.signature))
                fs_type = d->f.device.signature;

        what = strdup_printf("/dev/disk/by-uuid/%s", uuid ? uuid : "<UUID of the new filesystem>");
        if (!what)
                return log_error_errno(-ENOMEM, "cannot prepare the mount unit: %m");
        r = mount_unit_text(what, o->data_dir, fs_type, MOUNT_OPTIONS, &text);
        if (r < 0)
                return log_error_errno(r, "cannot write a mount unit for '%s' (a path systemd cannot take as it is?): %m",
                                       o->data_dir);
        if (o->dry_run)
                return say_dry_run(d, unit, unit_path, text, what, fs_type, uuid, ret);

        r = mount_persistently(d, unit, text, what, &changed, &started);
        if (r < 0)
                return r;
        return check_mounted(d, unit, changed, started, uuid, ret);
}

int install_disk(const struct install_options *o, struct install_disk_result *ret) {
        _cleanup_(disk_run_done) struct disk_run d = {
                .o = o,
                .so = {
                        .data_dir = o->data_dir,
                        .device = o->device,
                        .capacity = o->capacity,
                        .format = o->format,
                        .seal_mount_point = o->seal_mount_point,
                        .dry_run = o->dry_run,
                },
        };
        int r;

        r = disk_step_gather(&d.so, &d.f);
        if (r < 0)
                return log_error_errno(r, "cannot read the mount table: %m");
        d.mounts = &d.f.mounts;
        r = disk_step_decide(&d.so, &d.f, &d.p);
        if (r < 0)
                return log_error_errno(r, "cannot plan the disk step: %m");
        if (!o->device)
                return disk_without_device(&d, ret);
        return disk_with_device(&d, ret);
}
