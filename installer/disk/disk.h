/* SPDX-License-Identifier: MIT */
#pragma once

/* Facts about the filesystem that holds a directory, and probes that prove overlay2
 * can use it. Used by preflight/install (datadir.h) and by the checker (health.h).
 * Never prints; returns negative errno.
 *
 * Every probe that writes works in a fresh, randomly named subdirectory of the
 * directory given, named for the process (.dind-cache-probe-PID-XXXXXX), and removes
 * it before returning, success or failure; the write probe uses an unnamed file
 * (O_TMPFILE). A probe killed mid-way (a deadline) can leave its scratch directory:
 * disk_probe_cleanup() removes it. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct disk_facts {
        char *path;              /* the directory asked about */
        char *mount_point;       /* the mount point that holds it (mountinfo_holder_unbound():
                                  * a bind of a place onto itself, as a unit's sandbox
                                  * makes, is seen through) */
        char *mount_root;        /* that mount's root inside its filesystem: "/", or the
                                  * directory a bind mount shows ("/docker") */
        char *source;            /* that mount's source: "/dev/vdb", "tmpfs", ... */
        char *fs_type;           /* the mount's type from mountinfo: "xfs", "ext4", ... */
        unsigned long fs_magic;  /* statfs f_type */
        char *mount_options;     /* per-mount and super options, comma separated */
        dev_t dev;               /* st_dev of path */
        unsigned mount_id;       /* mountinfo's mount id */
        bool read_only;          /* statvfs ST_RDONLY */
        bool is_mount_point;     /* path itself is a mount point (of any mount) */
        bool is_fs_root;         /* ... of a filesystem mounted there: its mount shows the
                                  * filesystem's root (or btrfs subvolume), not a
                                  * directory inside it (mountinfo_entry_is_fs_root()) */
        bool on_root_fs;         /* path is on the same filesystem as "/" */
        uint64_t size;           /* bytes */
        uint64_t avail;          /* bytes available to unprivileged users */
        uint64_t free;           /* bytes free */
        uint64_t inodes;         /* 0 when the filesystem has no inode limit (btrfs) */
        uint64_t inodes_free;
};

struct mountinfo;

/* Fills RET for PATH, which must exist. MOUNTS is the mount table read earlier in the
 * run (mountinfo.h), so tests can inject one; NULL: /proc/self/mountinfo is read. */
int disk_facts_get(const char *path, const struct mountinfo *mounts, struct disk_facts *ret);
void disk_facts_done(struct disk_facts *f);

/* The name of a statfs f_type: "xfs", "ext2/3/4", "btrfs", "tmpfs", "overlayfs",
 * "nfs", ... or NULL when unknown. */
const char *fs_magic_to_string(unsigned long magic);

/* How fit a filesystem type (mountinfo name) is for overlay2's data root. */
enum fs_fitness {
        FS_FIT,        /* xfs, ext4 */
        FS_FIT_WARN,   /* btrfs: works, but Docker would rather use its btrfs driver */
        FS_UNFIT,      /* tmpfs, ramfs, overlay, nfs, cifs, fuse, ecryptfs, vfat, unknown */
};
enum fs_fitness fs_type_fitness(const char *fs_type, const char **ret_reason);

/* Creates entries in a scratch directory under DIR and reads them back with
 * getdents64. 1: every entry had a real d_type; 0: DT_UNKNOWN seen; <0 error. */
int disk_probe_dtype(const char *dir);

/* Mounts overlay with two lower directories, an upper and a work directory inside a
 * scratch directory under DIR (as Docker's overlay2 driver probes), checks a file
 * from the lower layers is visible, unmounts. 0 works; <0 the mount's errno. */
int disk_probe_overlay(const char *dir);

/* Removes the scratch directories probes left in DIR: those of process PID, or with
 * PID 0 those of every process that no longer exists. Never crosses a mount. The
 * number removed, or <0 when DIR cannot be read. */
int disk_probe_cleanup(const char *dir, pid_t pid);

/* Writes a small unnamed file (O_TMPFILE) in DIR and fsyncs it. Returns 0 and the time
 * it took; <0 the errno of the step that failed (-EROFS, -ENOSPC, -EIO, ...). */
int disk_probe_write(const char *dir, uint64_t *ret_latency_usec);

/* The kernel's error counter for the filesystem (ext4: /sys/fs/ext4/DEV/errors_count;
 * xfs: the sum of /sys/fs/xfs/DEV/error/... where exposed). -ENOENT when the kernel
 * exposes none for this filesystem. */
int disk_error_count(const struct disk_facts *f, uint64_t *ret_count);

/* How the mount at MOUNT_POINT comes back after a reboot: a systemd mount unit in
 * /etc/systemd/system or /run/systemd/generator (from fstab), or an /etc/fstab line.
 * Returns 1 and a description ("mnt-k8s-docker.mount", "/etc/fstab") in RET,
 * 0 when nothing mounts it at boot. ROOT prefixes the paths looked at (NULL: "/"). */
int disk_boot_mount_source(const char *mount_point, const char *root, char **ret_source);
