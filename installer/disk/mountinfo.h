/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading /proc/self/mountinfo (proc(5)): which mount holds a path. Never prints.
 * The file is read whole, capped at MOUNTINFO_MAX bytes (-EFBIG beyond).
 *
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   id parent dev root mount-point options [optional...] - type source super-options
 *
 * Octal escapes (\040 for a space) in paths are decoded.
 *
 * A run reads the table once (mountinfo_read) and passes it down as a fact; it reads
 * it again only where the mounts may have changed: right before a destructive act,
 * and after one of its own mounts. */

#include <stdbool.h>
#include <stddef.h>
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

/* The whole table, in the kernel's order (a mount listed later is on top of an
 * earlier one at the same mount point). */
struct mountinfo {
        struct mountinfo_entry *entries;
        size_t n;
};

/* Parses one mountinfo line (without its newline). -EINVAL when malformed. */
int mountinfo_parse_line(const char *line, struct mountinfo_entry *ret);

/* Reads FILE (NULL: /proc/self/mountinfo) into RET. Lines that do not parse are left
 * out (they say nothing about any path), and so is what follows a NUL byte. */
int mountinfo_read(const char *file, struct mountinfo *ret);
/* The same from TEXT (NUL-terminated). */
int mountinfo_parse(const char *text, struct mountinfo *ret);
void mountinfo_done(struct mountinfo *m);

/* For a function that takes the run's table or NULL: *M when set, else the table read
 * into STORAGE (which the caller frees with mountinfo_done), and *M points at it. */
int mountinfo_given_or_read(const struct mountinfo **m, struct mountinfo *storage);

/* The mount that holds PATH (absolute, canonical: no symlinks, no ".."): the entry
 * whose mount point is the longest prefix of PATH, the last one listed when several
 * share it (the one on top). NULL when none does (a table without "/"). */
const struct mountinfo_entry *mountinfo_holder(const struct mountinfo *m, const char *path);

/* The mount that holds PATH, seen through binds of a place onto itself: a mount
 * that shows at PATH exactly the directory of the same filesystem that the mount
 * beneath it shows there (systemd's ReadWritePaths= and ReadOnlyPaths= make such
 * binds in a unit's sandbox) is skipped, so that a unit and a shell see the same
 * mount. NULL when no mount holds PATH. */
const struct mountinfo_entry *mountinfo_holder_unbound(const struct mountinfo *m, const char *path);

/* The first mount of the block device RDEV: by its device number, or by a source
 * path naming the device (btrfs mounts show an anonymous device number). NULL when
 * it is not mounted. */
const struct mountinfo_entry *mountinfo_device_mount(const struct mountinfo *m, dev_t rdev);

/* True when E shows the root of its filesystem, not a directory inside it (a bind
 * mount): its root field is "/", or on btrfs the subvolume it mounts ("subvol=/@data"
 * among the super options, root "/@data"). */
bool mountinfo_entry_is_fs_root(const struct mountinfo_entry *e);

/* mountinfo_read() and mountinfo_holder() in one call, for a single question: a copy
 * of the entry in RET, -ENOENT when no mount holds PATH. */
int mountinfo_find(const char *mountinfo, const char *path, struct mountinfo_entry *ret);

int mountinfo_entry_copy(const struct mountinfo_entry *e, struct mountinfo_entry *ret);
void mountinfo_entry_done(struct mountinfo_entry *e);
