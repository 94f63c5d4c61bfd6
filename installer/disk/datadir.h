/* SPDX-License-Identifier: MIT */
#pragma once

/* The data directory's preflight: the numbered checks of preflight and install, as a
 * check list (check.h). Built on disk.h and superblock.h; never prints.
 *
 *   privileges, kernel_overlay, data_dir, fs_type, d_type, overlay_mount,
 *   fs_features (xfs ftype / ext4 filetype), read_only, capacity, free_space,
 *   free_inodes, dedicated_fs, sealed (the directory beneath the mount, seal.h),
 *   boot_mount
 *
 * What needs root and is not run as root is SKIP, never OK. */

#include <stdbool.h>
#include <stdint.h>

#include "base/check-list.h"

struct datadir_options {
        const char *data_dir;
        uint64_t capacity;      /* 0: none asked for */
        bool create;            /* create the directory (0711, root) when missing;
                                 * false: a missing directory is reported, not made */
        const struct mountinfo *mounts; /* the run's mount table (mountinfo.h); NULL: read
                                 * /proc/self/mountinfo once */
        const char *root;       /* prefix for /etc paths (NULL: "/"), for tests */
        const char *device;     /* the device meant to hold data_dir (--device), or NULL:
                                 * until it is mounted at data_dir, the filesystem checks
                                 * are SKIP ("checked once DEV is mounted at PATH") rather
                                 * than judging the bare directory */
};

/* Appends every check above to L. Returns 0 (the verdicts are in L), or a negative
 * errno for an internal failure (-ENOMEM). */
int datadir_check(const struct datadir_options *o, struct check_list *l);

struct mountinfo;

/* 1 when the filesystem mounted at DATA_DIR (its own mount point, showing the
 * filesystem's root) is on the block device DEVICE, 0 when not (or DATA_DIR is
 * missing), <0 error (-ENOENT: no DEVICE). MOUNTS: the run's mount table (NULL: read). */
int datadir_device_mounted(const char *data_dir, const char *device, const struct mountinfo *mounts);
