/* SPDX-License-Identifier: MIT */
#pragma once

/* Facts about a block device and the rules that keep data safe: a device is only
 * ever formatted when it is blank by every measure below, and the checks are made
 * again, under an exclusive open, right before mkfs runs. Never prints.
 *
 * A device is refused when it: does not exist or is not a block device; is mounted;
 * is used as swap; has holders (LVM, md, dm) or partitions; is read-only; cannot be
 * opened O_EXCL; is smaller than the capacity asked; or carries ANY signature libblkid
 * finds (superblocks and partition tables; an ambivalent probe counts as one).
 * The one exception: XFS with ftype=1 (a re-run) is reused as it is. */

#include <stdbool.h>
#include <stdint.h>

#include "base/check-list.h"

enum blockdev_verdict {
        BLOCKDEV_REFUSE,        /* unsafe or unfit: see the FAIL results */
        BLOCKDEV_BLANK,         /* may be formatted, with --format */
        BLOCKDEV_REUSE_XFS,     /* already XFS with ftype=1: use as it is */
};

struct blockdev_info {
        char *path;
        uint64_t size;          /* bytes */
        bool read_only;
        char *mount_point;      /* or NULL */
        bool swap;
        char **holders;         /* /sys/class/block/X/holders, NULL-terminated */
        unsigned partitions;
        char *signature;        /* libblkid's TYPE or PTTYPE, or NULL when blank */
        bool ambivalent;        /* libblkid found conflicting signatures */
        char *uuid;             /* filesystem UUID, or NULL */
        bool xfs_ftype;         /* XFS that records d_type (from the superblock) */
        unsigned xfs_version;   /* 4 or 5 when XFS */
        /* Added with the implementation: */
        char **partition_names; /* "vdb1", ..., NULL-terminated, or NULL */
        char **signatures;      /* every signature a wipefs-style scan of the whole
                                 * device finds: "ext4 at offset 0x438", or NULL */
        char *label;            /* filesystem LABEL, or NULL */
        bool busy;              /* an O_EXCL open was refused (EBUSY) */
        bool unknown_data;      /* no signature, but the first or last MiB is not all
                                 * zeros: data libblkid does not know (plain dm-crypt,
                                 * a foreign filesystem); refused like a signature */
};

struct mountinfo;

/* Gathers the facts about PATH (read-only opens only). MOUNTS: the run's mount table
 * (mountinfo.h), NULL to read /proc/self/mountinfo. */
int blockdev_inspect(const char *path, const struct mountinfo *mounts, struct blockdev_info *ret);
void blockdev_info_done(struct blockdev_info *i);

/* The device checks, judged from what blockdev_inspect() returned for PATH (INSPECTED
 * its return value, I its facts when that was 0): appended to L, and what may be done
 * with the device in RET_VERDICT. CAPACITY 0: no size asked for. Pure: no I/O.
 * 0, or -ENOMEM. */
int blockdev_judge(const char *path, int inspected, const struct blockdev_info *i, uint64_t capacity,
                   struct check_list *l, enum blockdev_verdict *ret_verdict);

/* blockdev_inspect() and blockdev_judge() in one call. */
int blockdev_check(const char *path, const struct mountinfo *mounts, uint64_t capacity, struct check_list *l,
                   enum blockdev_verdict *ret_verdict);

/* Formats PATH with `mkfs.xfs -n ftype=1` (never -f), after checking again under
 * O_EXCL that it is blank (the mount table read afresh: a destructive act); probes it
 * again to confirm ftype=1 and returns its UUID.
 * -EBUSY (in use), -EEXIST (a signature appeared), -EIO (mkfs failed). */
int blockdev_format_xfs(const char *path, char **ret_uuid);

/* The same, and when mkfs.xfs fails (-EIO), what it wrote on stderr (at most 64 KiB)
 * in RET_MKFS_ERROR, for the caller to show. RET_MKFS_ERROR may be NULL. */
int blockdev_format_xfs_full(const char *path, char **ret_uuid, char **ret_mkfs_error);

/* Asks udev to process PATH again (writes "change" to its sysfs uevent file), so that
 * /dev/disk/by-uuid links and systemd's device unit follow a new filesystem. */
int blockdev_udev_change(const char *path);
