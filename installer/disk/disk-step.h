/* SPDX-License-Identifier: MIT */
#pragma once

/* install's disk step as facts, a decision and acts. The command gathers the facts
 * once (disk_step_gather: one read of the mount table, one look at the device), decides
 * with disk_step_decide(), a pure function of the facts (no I/O: table-driven unit
 * tests hold every rule), then acts (cmd/install-disk.c). It reads the mount table
 * again only right before a destructive act (blockdev_format_xfs reads it for its last
 * check) and after a mount of its own. preflight reads the same facts. Never prints.
 *
 *   no --device:  the data directory's checks; with --seal-mount-point, a disk mounted
 *                 there by someone else is sealed beneath (refused when nothing is)
 *   --device:     mounted at the data directory already: used as it is; else refused
 *                 when anything is mounted there or the device fails a check; xfs with
 *                 ftype=1 reused, a blank device formatted with --format (refused
 *                 without); then the directory made, sealed, and mounted by a unit */

#include <stdbool.h>
#include <stdint.h>

#include "base/check-list.h"
#include "disk/blockdev.h"
#include "disk/disk.h"
#include "disk/mountinfo.h"

struct disk_step_options {
        const char *data_dir;
        const char *device;          /* --device, or NULL */
        uint64_t capacity;           /* --capacity in bytes, 0: none */
        bool format;                 /* --format */
        bool seal_mount_point;       /* --seal-mount-point (without --device) */
        bool dry_run;
};

struct disk_step_facts {
        struct mountinfo mounts;     /* the mount table, read once */
        int dir_r;                   /* disk_facts_get() of the data directory: 0, -ENOENT, ... */
        struct disk_facts dir;       /* its facts, when dir_r is 0 */
        int seal;                    /* seal_state() of the data directory, for a dry run: 1, 0,
                                      * <0 (also when not looked at: not a dry run, no
                                      * directory, or no seal asked for) */
        /* With a device: */
        int mounted_r;               /* datadir_device_mounted(): 1 the device's filesystem is
                                      * mounted at the data directory, 0 not, <0 unknown */
        struct mountinfo_entry at_data_dir; /* what is mounted at the data directory (the
                                      * top mount, binds included), when other_mount */
        bool other_mount;
        int inspect_r;               /* blockdev_inspect(): 0, or why the device is unreadable */
        struct blockdev_info device; /* its facts, when inspect_r is 0 */
};

/* Gathers the facts for O. Returns 0 (what could not be learned is in the facts), or a
 * negative errno when the mount table cannot be read (or -ENOMEM). */
int disk_step_gather(const struct disk_step_options *o, struct disk_step_facts *ret);
void disk_step_facts_done(struct disk_step_facts *f);

enum disk_step_action {
        DISK_STEP_REFUSE,            /* nothing is changed; refusal says why */
        DISK_STEP_CHECK,             /* no --device: the data directory's checks */
        DISK_STEP_USE_MOUNTED,       /* the device is mounted at the data directory already */
        DISK_STEP_REUSE,             /* the device holds xfs with ftype=1: mounted as it is */
        DISK_STEP_FORMAT,            /* the device is blank and --format: mkfs.xfs, then mounted */
};

enum disk_step_refusal {
        DISK_REFUSAL_NONE,
        DISK_REFUSAL_MOUNT_UNKNOWN,  /* cannot tell whether the device is mounted there (error) */
        DISK_REFUSAL_DEVICE_UNREADABLE, /* mounted there, but the device cannot be examined (error) */
        DISK_REFUSAL_NO_UUID,        /* mounted there, but libblkid finds no filesystem UUID */
        DISK_REFUSAL_OTHER_MOUNT,    /* something else is mounted at the data directory */
        DISK_REFUSAL_DEVICE_CHECKS,  /* the device failed a check (device_checks) */
        DISK_REFUSAL_BLANK,          /* the device is blank and there is no --format */
        DISK_REFUSAL_DIR_UNREADABLE, /* --seal-mount-point: the directory cannot be examined (error) */
        DISK_REFUSAL_SEAL_MISSING,   /* --seal-mount-point: the directory does not exist (dry run) */
        DISK_REFUSAL_SEAL_NOT_MOUNT, /* --seal-mount-point: it is not a mount point: the cache itself */
};

struct disk_step_plan {
        enum disk_step_action action;
        enum disk_step_refusal refusal;
        int error;                   /* the negative errno of a refusal marked "error" */
        bool device_report;          /* device_checks belong in the report */
        struct check_list device_checks; /* the device's checks (blockdev_judge()) */
        bool create_dir;             /* the data directory is made (0711) before it is sealed */
        bool seal;                   /* the bare directory beneath the data directory is sealed
                                      * (an act that finds it sealed changes nothing) */
        bool mount;                  /* a mount unit mounts the device at the data directory */
        bool check_creates_dir;      /* the data directory's checks may create it */
};

/* What to do, from O and the facts F alone. 0, or -ENOMEM. */
int disk_step_decide(const struct disk_step_options *o, const struct disk_step_facts *f,
                     struct disk_step_plan *ret);
void disk_step_plan_done(struct disk_step_plan *p);
