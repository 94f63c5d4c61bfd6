/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading /proc/self/mountinfo (proc(5)): which mount holds a path. Never prints.
 * The file is read whole, capped at MOUNTINFO_MAX bytes (-EFBIG beyond).
 *
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   id parent dev root mount-point options [optional...] - type source super-options
 *
 * Octal escapes (\040 for a space) in paths are decoded. */

#include <sys/types.h>

#define MOUNTINFO_MAX (16U * 1024 * 1024)

struct mountinfo_entry {
        unsigned id;
        unsigned parent_id;
        dev_t dev;
        char *root;             /* the mount's root within its filesystem */
        char *mount_point;
        char *options;          /* per-mount options: "rw,noatime" */
        char *fs_type;          /* "xfs", "fuse.sshfs", ... */
        char *source;           /* "/dev/vdb", "tmpfs", ... */
        char *super_options;    /* per-superblock options */
};

/* Parses one mountinfo line (without its newline). -EINVAL when malformed. */
int mountinfo_parse_line(const char *line, struct mountinfo_entry *ret);

/* The mount that holds PATH (absolute, canonical: no symlinks, no "..") according to
 * MOUNTINFO (NULL: /proc/self/mountinfo): the entry whose mount point is the longest
 * prefix of PATH, the last one listed when several share it (the one on top).
 * -ENOENT when none does (a mountinfo without "/"). */
int mountinfo_find(const char *mountinfo, const char *path, struct mountinfo_entry *ret);

void mountinfo_entry_done(struct mountinfo_entry *e);
