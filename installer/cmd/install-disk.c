/* SPDX-License-Identifier: MIT */
/* install's disk step. Without --device: the data directory's checks. With --device:
 * the device's safety checks, mkfs.xfs on a blank device with --format, a systemd
 * mount unit that mounts it at the data directory at every boot, then the checks on
 * the mounted filesystem. Running it again with the same arguments changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "disk/blockdev.h"
#include "disk/datadir.h"
#include "disk/disk.h"
#include "cmd/install.h"
#include "base/log.h"
#include "disk/mountinfo.h"
#include "disk/seal.h"
#include "check/report.h"
#include "systemd/units.h"
#include "base/unit-name.h"

#define MOUNT_OPTIONS "defaults,noatime"
#define MOUNT_START_TIMEOUT_USEC (120ULL * 1000000)
/* udev makes /dev/disk/by-uuid/UUID after mkfs; nudge it once, then give up. */
#define UDEV_LINK_WAIT_USEC (5ULL * 1000000)
#define UDEV_LINK_NUDGE_WAIT_USEC (20ULL * 1000000)

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
static int fs_facts(const char *path, struct disk_facts *ret) {
        _cleanup_free_ char *p = strdup(path);
        int r;

        if (!p)
                return -ENOMEM;
        for (;;) {
                r = disk_facts_get(p, NULL, ret);
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

static int fill_result(const struct install_options *o, const char *fallback_type, uint64_t fallback_size,
                       const char *uuid, struct install_disk_result *ret) {
        _cleanup_(disk_facts_done) struct disk_facts f = {};
        struct install_disk_result res = {};
        const char *type = fallback_type;
        uint64_t size = fallback_size;
        char a[32], b[32];
        int r;

        r = fs_facts(o->data_dir, &f);
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

static int check_data_dir(const struct install_options *o, bool create, const char *device) {
        _cleanup_(check_list_done) struct check_list l = {};
        struct datadir_options d = {
                .data_dir = o->data_dir,
                .capacity = o->capacity,
                .create = create,
                .device = device,
        };
        int r;

        r = datadir_check(&d, &l);
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

/* Seals the bare directory beneath the data directory's mount (seal.h): while the
 * disk is not mounted, nothing can be written there. 1 when it changed something. */
static int seal_bare_directory(const struct install_options *o) {
        int r;

        if (o->dry_run) {
                r = seal_state(o->data_dir);
                if (r <= 0)
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

/* --seal-mount-point without --device: the disk someone else mounted there. */
static int seal_existing_mount(const struct install_options *o) {
        _cleanup_(disk_facts_done) struct disk_facts f = {};
        int r;

        r = disk_facts_get(o->data_dir, NULL, &f);
        if (r == -ENOENT && o->dry_run)
                return log_error_errno(r, "cannot seal '%s': it does not exist, so nothing is mounted there", o->data_dir);
        if (r < 0)
                return log_error_errno(r, "cannot examine '%s': %m", o->data_dir);
        if (!f.is_mount_point)
                return log_error_errno(-EINVAL, "cannot seal '%s': it is not a mount point, so it is the cache itself "
                                       "(--seal-mount-point seals the directory beneath a disk mounted there)",
                                       o->data_dir);
        r = seal_bare_directory(o);
        return r < 0 ? r : 0;
}

static int disk_without_device(const struct install_options *o, struct install_disk_result *ret) {
        int r;

        log_info("Disk: checking the data directory %s", o->data_dir);
        if (o->seal_mount_point) {
                r = seal_existing_mount(o);
                if (r < 0)
                        return r;
        }
        r = check_data_dir(o, !o->dry_run, NULL);
        if (r < 0)
                return r;
        return fill_result(o, NULL, 0, NULL, ret);
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

/* The device step up to a device known to hold xfs with ftype=1: its UUID in
 * RET_UUID (NULL in a dry run that would format), *RET_FORMATTED. */
static int prepare_device(const struct install_options *o, char **ret_uuid, bool *ret_formatted,
                          uint64_t *ret_device_size) {
        _cleanup_(check_list_done) struct check_list l = {};
        _cleanup_(blockdev_info_done) struct blockdev_info info = {};
        _cleanup_free_ char *uuid = NULL, *mkfs_error = NULL;
        enum blockdev_verdict verdict;
        int r;

        log_info("Disk: checking the device %s", o->device);
        r = blockdev_check(o->device, NULL, o->capacity, &l, &verdict);
        if (r < 0)
                return log_error_errno(r, "cannot check '%s': %m", o->device);
        r = print_report(&l);
        if (r < 0)
                return r;
        if (verdict == BLOCKDEV_REFUSE)
                return log_error_errno(-EBUSY, "refusing to use '%s': see the failed checks above; "
                                       "nothing was written to it (there is no option to override this)", o->device);

        r = blockdev_inspect(o->device, NULL, &info);
        if (r < 0)
                return log_error_errno(r, "cannot examine '%s': %m", o->device);
        *ret_device_size = info.size;

        if (verdict == BLOCKDEV_REUSE_XFS) {
                log_info("Disk: %s already holds xfs with ftype=1 (UUID %s): using it as it is", o->device,
                         info.uuid);
                uuid = strdup(info.uuid);
                if (!uuid)
                        return log_error_errno(-ENOMEM, "cannot use '%s': %m", o->device);
                *ret_uuid = TAKE_PTR(uuid);
                *ret_formatted = false;
                return 0;
        }

        /* BLOCKDEV_BLANK */
        if (!o->format)
                return log_error_errno(-EINVAL, "'%s' is blank: add --format to format it with mkfs.xfs -n ftype=1 "
                                       "(nothing was written to it)", o->device);
        if (o->dry_run) {
                printf("Would format %s with mkfs.xfs -n ftype=1\n", o->device);
                *ret_uuid = NULL;
                *ret_formatted = true;
                return 0;
        }
        log_info("Disk: formatting %s with mkfs.xfs -n ftype=1", o->device);
        r = blockdev_format_xfs_full(o->device, &uuid, &mkfs_error);
        switch (r) {
        case 0:
                break;
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
        log_info("Disk: %s formatted: xfs with ftype=1, UUID %s", o->device, uuid);
        *ret_uuid = TAKE_PTR(uuid);
        *ret_formatted = true;
        return 0;
}

/* Writes, enables and starts the mount unit. RET_CHANGED: something was changed. */
static int mount_persistently(const struct install_options *o, const char *unit, const char *text,
                              const char *what, bool mounted, bool *ret_changed) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(unit_state_done) struct unit_state st = {};
        char *const names[] = { (char *) unit, NULL };
        int r, written, enabled, sealed;

        r = mkdir_p(o->data_dir, 0711);
        if (r < 0)
                return log_error_errno(r, "cannot create '%s': %m", o->data_dir);
        if (r > 0)
                log_info("Disk: created %s (mode 0711)", o->data_dir);
        /* Before the first mount (or beneath the mount of an earlier run). */
        sealed = seal_bare_directory(o);
        if (sealed < 0)
                return sealed;

        written = unit_file_write(UNIT_DIR, unit, text);
        if (written < 0)
                return log_error_errno(written, "cannot write '%s/%s': %m", UNIT_DIR, unit);
        log_info("Disk: %s/%s %s", UNIT_DIR, unit, written ? "written" : "unchanged");

        r = systemd_connect(&bus);
        if (r < 0)
                return log_error_errno(r, "cannot connect to systemd: %m (is systemd running on this host?)");
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

        r = systemd_unit_state(bus, unit, &st);
        if (r < 0)
                return log_error_errno(r, "cannot read the state of '%s': %m", unit);
        if (!mounted || !streq(st.active_state, "active")) {
                _cleanup_free_ char *result = NULL;

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
        }
        *ret_changed = written > 0 || enabled > 0 || sealed > 0 || !mounted;
        return 0;
}

/* Something else already mounted at the data directory would end up hidden under
 * the new mount, with the daemon's data on it: refuse. */
static int refuse_other_mount(const struct install_options *o) {
        _cleanup_(mountinfo_entry_done) struct mountinfo_entry e = {};
        int r;

        r = mountinfo_find(NULL, o->data_dir, &e);
        if (r < 0)
                return log_error_errno(r, "cannot read the mount table: %m");
        if (streq(e.mount_point, o->data_dir))
                return log_error_errno(-EBUSY, "'%s' is already a mount point (%s from %s): unmount it first, "
                                       "or choose another --data-dir; %s was not touched",
                                       o->data_dir, e.fs_type, e.source, o->device);
        return 0;
}

static int disk_with_device(const struct install_options *o, struct install_disk_result *ret) {
        _cleanup_free_ char *uuid = NULL, *unit = NULL, *what = NULL, *text = NULL, *unit_path = NULL,
                            *fs_type = NULL;
        bool formatted = false, mounted, changed = false;
        uint64_t device_size = 0;
        int r;

        r = unit_name_from_path(o->data_dir, ".mount", &unit);
        if (r < 0)
                return log_error_errno(r, "cannot name a mount unit for '%s': %m", o->data_dir);
        unit_path = strdup_printf("%s/%s", UNIT_DIR, unit);
        if (!unit_path)
                return log_error_errno(-ENOMEM, "cannot name a mount unit for '%s': %m", o->data_dir);

        /* Mounted at the data directory already (install has run): its filesystem is
         * judged by the data directory's checks, not refused as "in use". */
        r = datadir_device_mounted(o->data_dir, o->device, NULL);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "cannot tell whether '%s' is mounted at '%s': %m", o->device, o->data_dir);
        mounted = r > 0;
        if (mounted) {
                _cleanup_(blockdev_info_done) struct blockdev_info info = {};

                log_info("Disk: %s is mounted at %s", o->device, o->data_dir);
                r = blockdev_inspect(o->device, NULL, &info);
                if (r < 0)
                        return log_error_errno(r, "cannot examine '%s': %m", o->device);
                if (isempty(info.uuid))
                        return log_error_errno(-EINVAL, "'%s' is mounted at '%s' but libblkid finds no filesystem UUID on it",
                                               o->device, o->data_dir);
                uuid = strdup(info.uuid);
                fs_type = strdup(isempty(info.signature) ? "xfs" : info.signature);
                if (!uuid || !fs_type)
                        return log_error_errno(-ENOMEM, "cannot prepare the mount unit: %m");
                device_size = info.size;
        } else {
                r = refuse_other_mount(o);
                if (r < 0)
                        return r;
                r = prepare_device(o, &uuid, &formatted, &device_size);
                if (r < 0)
                        return r;
                fs_type = strdup("xfs");
                if (!fs_type)
                        return log_error_errno(-ENOMEM, "cannot prepare the mount unit: %m");
        }

        what = strdup_printf("/dev/disk/by-uuid/%s", uuid ? uuid : "<UUID of the new filesystem>");
        if (!what)
                return log_error_errno(-ENOMEM, "cannot prepare the mount unit: %m");
        r = mount_unit_text(what, o->data_dir, fs_type, MOUNT_OPTIONS, &text);
        if (r < 0)
                return log_error_errno(r, "cannot write a mount unit for '%s' (a path systemd cannot take as it is?): %m",
                                       o->data_dir);

        if (o->dry_run) {
                bool same = uuid && unit_file_same(UNIT_DIR, unit, text) > 0;
                printf("Would %s %s (What=%s Where=%s Type=%s Options=%s)\n", same ? "leave unchanged" : "write",
                       unit_path, what, o->data_dir, fs_type, MOUNT_OPTIONS);
                if (access(o->data_dir, F_OK) == 0)
                        (void) seal_bare_directory(o);
                else
                        printf("Would create %s and seal it (immutable while the disk is not mounted)\n", o->data_dir);
                if (!mounted)
                        printf("Would reload systemd, enable and start %s\n", unit);
                r = check_data_dir(o, false, o->device);
                if (r < 0)
                        return r;
                return fill_result(o, "xfs", device_size, uuid, ret);
        }

        r = mount_persistently(o, unit, text, what, mounted, &changed);
        if (r < 0)
                return r;
        r = datadir_device_mounted(o->data_dir, o->device, NULL);
        if (r <= 0)
                return log_error_errno(r < 0 ? r : -ENXIO, "%s reports success but %s is not mounted at %s "
                                       "(see journalctl -u %s)", unit, o->device, o->data_dir, unit);
        if (formatted && chmod(o->data_dir, 0711) < 0)
                return log_error_errno(-errno, "cannot set the mode of '%s': %m", o->data_dir);
        log_info("Disk: %s is mounted at %s by %s", o->device, o->data_dir, unit);
        if (!changed)
                log_info("Disk: nothing changed (%s already mounted at %s by %s)", o->device, o->data_dir, unit);

        r = check_data_dir(o, true, o->device);
        if (r < 0)
                return r;
        return fill_result(o, NULL, 0, uuid, ret);
}

int install_disk(const struct install_options *o, struct install_disk_result *ret) {
        if (!o->device)
                return disk_without_device(o, ret);
        return disk_with_device(o, ret);
}
