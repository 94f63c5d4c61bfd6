/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "disk/datadir.h"
#include "disk/disk.h"
#include "disk/mountinfo.h"
#include "disk/seal.h"
#include "disk/superblock.h"

#define LOW_PERCENT 10
#define REMEDY_REFORMAT "put the data directory on an xfs (ftype=1) or ext4 filesystem: " \
        "dind-cache install --device DEV --format, or mount such a filesystem there"

/* What the checks of one run share. */
struct run {
        const struct datadir_options *o;
        struct check_list *l;
        bool root;
        bool exists;              /* data_dir is a real directory */
        const char *skip_fs;      /* when set, the filesystem checks are SKIP with this */
        bool facts_error;         /* skip_fs says why the facts could not be had */
        struct disk_facts f;      /* of data_dir, or of its nearest existing parent */
        char *device;             /* the block device under the filesystem, or NULL */
};

static bool is_ext(const char *type) {
        return streq(type, "ext4") || streq(type, "ext3") || streq(type, "ext2");
}

static int add(struct run *r, const char *name, enum check_state state, const char *remedy,
               const char *fmt, ...) _printf_(5, 6);
static int add(struct run *r, const char *name, enum check_state state, const char *remedy,
               const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        struct check_result *res = check_list_addv(r->l, name, state, remedy, fmt, ap);
        va_end(ap);
        return res ? 0 : -ENOMEM;
}

static int check_privileges(struct run *r) {
        if (r->root)
                return add(r, "privileges", CHECK_OK, NULL, "running as root");
        return add(r, "privileges", CHECK_WARN, "run it again as root",
                   "not running as root (uid %u): the checks that need root are skipped",
                   (unsigned) geteuid());
}

static int check_kernel_overlay(struct run *r) {
        _cleanup_free_ char *fs = NULL, *module = NULL;
        struct utsname u;
        int k;

        k = read_file_full("/proc/filesystems", 64 * 1024, &fs, NULL);
        if (k < 0)
                return add(r, "kernel_overlay", CHECK_SKIP, NULL,
                           "cannot read /proc/filesystems: %s", strerror(-k));
        for (char *line = strtok(fs, "\n"); line; line = strtok(NULL, "\n")) {
                char *name = strrchr(line, '\t');
                if (streq(name ? name + 1 : line, "overlay"))
                        return add(r, "kernel_overlay", CHECK_OK, NULL, "the kernel has the overlay filesystem");
        }
        /* Not loaded yet: the kernel loads the module on the first overlay mount. */
        if (uname(&u) == 0) {
                module = strdup_printf("/lib/modules/%s/kernel/fs/overlayfs", u.release);
                if (!module)
                        return -ENOMEM;
                if (access(module, F_OK) == 0)
                        return add(r, "kernel_overlay", CHECK_OK, NULL,
                                   "the overlay module is available (it loads on first use)");
        }
        return add(r, "kernel_overlay", CHECK_FAIL,
                   "load it (modprobe overlay) and have it loaded at boot (/etc/modules-load.d), or use a kernel built with CONFIG_OVERLAY_FS",
                   "the kernel has no overlay filesystem (not in /proc/filesystems, no overlay module)");
}

/* The nearest existing ancestor of PATH. */
static int existing_parent(const char *path, char **ret) {
        _cleanup_free_ char *p = strdup(path);
        struct stat st;

        if (!p)
                return -ENOMEM;
        for (;;) {
                char *slash = strrchr(p, '/');
                if (!slash)
                        return -ENOENT;
                if (slash == p)
                        slash[1] = '\0';
                else
                        *slash = '\0';
                if (lstat(p, &st) == 0) {
                        if (!S_ISDIR(st.st_mode))
                                return -ENOTDIR;
                        *ret = TAKE_PTR(p);
                        return 0;
                }
                if (errno != ENOENT)
                        return -errno;
                if (streq(p, "/"))
                        return -ENOENT;
        }
}

/* Checks data_dir and fills r->exists, r->skip_fs and the facts of what is there. */
static int check_data_dir(struct run *r, char **ret_target) {
        const char *path = r->o->data_dir;
        _cleanup_free_ char *parent = NULL;
        struct stat st;
        int k;

        if (lstat(path, &st) < 0) {
                if (errno != ENOENT) {
                        r->skip_fs = "the data directory cannot be examined (see data_dir)";
                        return add(r, "data_dir", CHECK_FAIL, NULL, "cannot examine '%s': %m", path);
                }
                if (r->o->create) {
                        k = mkdir_p(path, 0711);
                        if (k < 0) {
                                r->skip_fs = "the data directory could not be created (see data_dir)";
                                return add(r, "data_dir", CHECK_FAIL, NULL, "cannot create '%s': %s", path, strerror(-k));
                        }
                        r->exists = true;
                        *ret_target = strdup(path);
                        if (!*ret_target)
                                return -ENOMEM;
                        return add(r, "data_dir", CHECK_OK, NULL, "created %s (mode 0711, owner root)", path);
                }
                k = existing_parent(path, &parent);
                if (k < 0) {
                        r->skip_fs = "the data directory cannot be created (see data_dir)";
                        return add(r, "data_dir", CHECK_FAIL, "choose another --data-dir",
                                   "'%s' cannot be created: %s", path,
                                   k == -ENOTDIR ? "a parent is not a directory" : strerror(-k));
                }
                /* The filesystem checks judge the filesystem it would be created on. */
                *ret_target = TAKE_PTR(parent);
                return add(r, "data_dir", CHECK_OK, NULL,
                           "%s does not exist: install would create it (mode 0711, owner root) in %s",
                           path, *ret_target);
        }

        if (S_ISLNK(st.st_mode)) {
                _cleanup_free_ char *target = realpath(path, NULL);
                r->skip_fs = "the data directory is not a real directory (see data_dir)";
                return add(r, "data_dir", CHECK_FAIL,
                           "give --data-dir the real directory: a local volume's path must not be a symlink",
                           "%s is a symbolic link%s%s", path, target ? " to " : "", target ?: "");
        }
        if (!S_ISDIR(st.st_mode)) {
                r->skip_fs = "the data directory is not a directory (see data_dir)";
                return add(r, "data_dir", CHECK_FAIL, "choose another --data-dir or remove what is there",
                           "%s exists but is not a directory", path);
        }
        r->exists = true;
        *ret_target = strdup(path);
        if (!*ret_target)
                return -ENOMEM;
        if (st.st_uid != 0 || (st.st_mode & 022)) {
                _cleanup_free_ char *remedy = strdup_printf("chown root:root %s && chmod 0711 %s", path, path);
                if (!remedy)
                        return -ENOMEM;
                return add(r, "data_dir", CHECK_WARN, remedy,
                           "%s is owned by uid %u with mode %04o: others could change the cached layers",
                           path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
        }
        return add(r, "data_dir", CHECK_OK, NULL, "%s is a directory (mode %04o, owner root)",
                   path, (unsigned) (st.st_mode & 07777));
}

/* The block device node of the filesystem: its mount source when that is the
 * device, else /dev/block/MAJ:MIN. NULL when there is none (tmpfs, btrfs). */
static int find_device(const struct disk_facts *f, char **ret) {
        char alt[64];
        const char *candidates[] = { f->source, alt };
        struct stat st;

        snprintf(alt, sizeof(alt), "/dev/block/%u:%u", major(f->dev), minor(f->dev));
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (candidates[i][0] == '/' && stat(candidates[i], &st) == 0 &&
                    S_ISBLK(st.st_mode) && st.st_rdev == f->dev) {
                        *ret = strdup(candidates[i]);
                        return *ret ? 1 : -ENOMEM;
                }
        *ret = NULL;
        return 0;
}

static int check_fs_type(struct run *r) {
        const char *reason, *type = r->f.fs_type;
        enum fs_fitness fit = fs_type_fitness(type, &reason);
        const char *magic = fs_magic_to_string(r->f.fs_magic);
        struct check_result *res;

        if (!magic)
                magic = "unknown";
        if (fit == FS_FIT)
                res = check_list_add(r->l, "fs_type", CHECK_OK, NULL, "%s on %s mounted at %s",
                                     type, r->f.source, r->f.mount_point);
        else
                res = check_list_add(r->l, "fs_type", fit == FS_FIT_WARN ? CHECK_WARN : CHECK_FAIL,
                                     fit == FS_FIT_WARN ? "prefer xfs (ftype=1) or ext4 for the data directory" : REMEDY_REFORMAT,
                                     "%s on %s mounted at %s (statfs: %s, 0x%lx): %s", type, r->f.source,
                                     r->f.mount_point, magic, r->f.fs_magic, reason);
        if (!res || check_result_set_value(res, "%s", type) < 0)
                return -ENOMEM;
        return 0;
}

/* Why a probe that writes into the data directory cannot run, or NULL. */
static const char *probe_blocker(struct run *r, bool needs_root) {
        if (!r->exists)
                return "the data directory does not exist yet: run preflight again once it does";
        if (r->f.read_only)
                return "the filesystem is read-only: nothing can be written to probe it";
        if (needs_root && !r->root)
                return "needs root (a test mount): run it as root";
        if (access(r->o->data_dir, W_OK | X_OK) < 0)
                return "no write access to the data directory: run it as root";
        return NULL;
}

/* What to do about a filesystem without d_type; NULL on -ENOMEM. */
static char *dtype_remedy(const struct run *r) {
        const char *dev = r->device ?: "DEV";

        if (streq(r->f.fs_type, "xfs"))
                return strdup_printf("back up the data, then reformat with mkfs.xfs -n ftype=1 %s", dev);
        if (is_ext(r->f.fs_type))
                return strdup_printf("while unmounted: tune2fs -O filetype %s && e2fsck -f %s, or reformat with mkfs.ext4", dev, dev);
        return strdup(REMEDY_REFORMAT);
}

static int check_d_type(struct run *r) {
        const char *blocker = probe_blocker(r, false);
        int k;

        if (blocker)
                return add(r, "d_type", CHECK_SKIP, NULL, "%s", blocker);
        k = disk_probe_dtype(r->o->data_dir);
        if (k > 0)
                return add(r, "d_type", CHECK_OK, NULL,
                           "entries read back with getdents64 carry their file type");
        if (k == 0) {
                _cleanup_free_ char *remedy = dtype_remedy(r);
                if (!remedy)
                        return -ENOMEM;
                return add(r, "d_type", CHECK_FAIL, remedy,
                           "%s returns DT_UNKNOWN in directory entries: overlay2 needs d_type", r->f.fs_type);
        }
        return add(r, "d_type", CHECK_FAIL, NULL, "cannot probe d_type in %s: %s", r->o->data_dir, strerror(-k));
}

static int check_overlay_mount(struct run *r) {
        const char *blocker = probe_blocker(r, true), *reason;
        int k;

        if (blocker)
                return add(r, "overlay_mount", CHECK_SKIP, NULL, "%s", blocker);
        k = disk_probe_overlay(r->o->data_dir);
        if (k == 0)
                return add(r, "overlay_mount", CHECK_OK, NULL,
                           "an overlay with two lower layers mounted, merged and unmounted in %s", r->o->data_dir);
        if (fs_type_fitness(r->f.fs_type, &reason) == FS_UNFIT)
                return add(r, "overlay_mount", CHECK_FAIL, REMEDY_REFORMAT,
                           "overlay cannot be mounted in %s (%s): %s", r->o->data_dir, strerror(-k), reason);
        return add(r, "overlay_mount", CHECK_FAIL,
                   "see the kernel log (dmesg) for the reason; check that the overlay module loads (modprobe overlay)",
                   "overlay cannot be mounted in %s: %s", r->o->data_dir, strerror(-k));
}

/* Not allowed to open DEV: not root, or a container's device rules. */
static int skip_unreadable(struct run *r, const char *dev, int error) {
        if (!r->root)
                return add(r, "fs_features", CHECK_SKIP, NULL, "needs root to read the superblock of %s", dev);
        return add(r, "fs_features", CHECK_SKIP, NULL, "cannot read the superblock of %s: %s", dev, strerror(-error));
}

static int check_fs_features(struct run *r) {
        const char *type = r->f.fs_type, *dev = r->device;
        int k;

        if (!streq(type, "xfs") && !is_ext(type))
                return add(r, "fs_features", CHECK_SKIP, NULL, "no superblock check for %s", type);
        if (!dev)
                return add(r, "fs_features", CHECK_SKIP, NULL,
                           "cannot find the block device of %s (source '%s')", r->f.mount_point, r->f.source);
        if (streq(type, "xfs")) {
                struct xfs_sb_info x;
                _cleanup_free_ char *remedy = NULL;

                k = xfs_sb_read(dev, &x);
                if (k == -EACCES || k == -EPERM)
                        return skip_unreadable(r, dev, k);
                if (k < 0)
                        return add(r, "fs_features", CHECK_FAIL, NULL, "cannot read the xfs superblock of %s: %s", dev, strerror(-k));
                if (!x.ftype) {
                        remedy = strdup_printf("back up the data, then reformat with mkfs.xfs -n ftype=1 %s", dev);
                        if (!remedy)
                                return -ENOMEM;
                        return add(r, "fs_features", CHECK_FAIL, remedy,
                                   "xfs V%u without ftype on %s: directory entries carry no file type (d_type), overlay2 cannot work",
                                   x.version, dev);
                }
                if (x.version == 4)
                        return add(r, "fs_features", CHECK_WARN, "reformat with mkfs.xfs -n ftype=1 (V5) when convenient",
                                   "xfs V4 with ftype=1 on %s: the V4 format is deprecated (no metadata checksums)", dev);
                return add(r, "fs_features", CHECK_OK, NULL, "xfs V%u with ftype=1 on %s (uuid %s)", x.version, dev, x.uuid);
        } else {
                struct ext4_sb_info e;

                k = ext4_sb_read(dev, &e);
                if (k == -EACCES || k == -EPERM)
                        return skip_unreadable(r, dev, k);
                if (k < 0)
                        return add(r, "fs_features", CHECK_FAIL, NULL, "cannot read the %s superblock of %s: %s", type, dev, strerror(-k));
                if (!e.filetype) {
                        _cleanup_free_ char *remedy = dtype_remedy(r);
                        if (!remedy)
                                return -ENOMEM;
                        return add(r, "fs_features", CHECK_FAIL, remedy,
                                   "%s without the filetype feature on %s: directory entries carry no file type (d_type)",
                                   type, dev);
                }
                return add(r, "fs_features", CHECK_OK, NULL, "%s with the filetype feature on %s (uuid %s)", type, dev, e.uuid);
        }
}

static int check_read_only(struct run *r) {
        if (r->f.read_only) {
                _cleanup_free_ char *remedy = strdup_printf(
                        "find out why (dmesg: errors make a filesystem read-only), then mount -o remount,rw %s",
                        r->f.mount_point);
                if (!remedy)
                        return -ENOMEM;
                return add(r, "read_only", CHECK_FAIL, remedy, "%s is mounted read-only", r->f.mount_point);
        }
        return add(r, "read_only", CHECK_OK, NULL, "%s is mounted read-write", r->f.mount_point);
}

static int check_capacity(struct run *r) {
        char size[32], cap[32];
        struct check_result *res;

        format_bytes(r->f.size, size, sizeof(size));
        if (r->o->capacity == 0)
                res = check_list_add(r->l, "capacity", CHECK_OK, NULL,
                                     "no --capacity given: the volume will claim the filesystem's size, %s", size);
        else if (r->f.size < r->o->capacity)
                res = check_list_add(r->l, "capacity", CHECK_FAIL, "use a larger filesystem or a smaller --capacity",
                                     "the filesystem holds %s, less than --capacity %s", size,
                                     format_quantity(r->o->capacity, cap, sizeof(cap)));
        else
                res = check_list_add(r->l, "capacity", CHECK_OK, NULL, "the filesystem holds %s, enough for --capacity %s",
                                     size, format_quantity(r->o->capacity, cap, sizeof(cap)));
        if (!res || check_result_set_value(res, "%" PRIu64, r->f.size) < 0 ||
            (r->o->capacity && check_result_set_threshold(res, "%" PRIu64, r->o->capacity) < 0))
                return -ENOMEM;
        return 0;
}

/* WARN when FREE is less than LOW_PERCENT of TOTAL. */
static int check_low(struct run *r, const char *name, const char *what, uint64_t free_, uint64_t total,
                     const char *remedy) {
        struct check_result *res;
        unsigned pct;

        if (total == 0)
                return add(r, name, CHECK_OK, NULL, "the filesystem has no fixed number of %s", what);
        pct = (unsigned) (free_ * 100 / total);
        if (pct < LOW_PERCENT)
                res = check_list_add(r->l, name, CHECK_WARN, remedy, "only %u%% of the %s of %s are free",
                                     pct, what, r->f.mount_point);
        else
                res = check_list_add(r->l, name, CHECK_OK, NULL, "%u%% of the %s of %s are free", pct, what,
                                     r->f.mount_point);
        if (!res || check_result_set_value(res, "%u", pct) < 0 ||
            check_result_set_threshold(res, "%u", LOW_PERCENT) < 0)
                return -ENOMEM;
        return 0;
}

static int check_dedicated(struct run *r) {
        const char *remedy = "mount a dedicated disk at the data directory: dind-cache install --device DEV --format";

        if (r->exists && r->f.is_fs_root)
                return add(r, "dedicated_fs", CHECK_OK, NULL, "%s is its own filesystem (%s)",
                           r->o->data_dir, r->f.source);
        if (r->exists && r->f.is_mount_point)
                return add(r, "dedicated_fs", CHECK_WARN, remedy,
                           "%s is a bind mount of the directory %s of %s, not a filesystem of its own: "
                           "the checker takes it for a missing disk", r->o->data_dir, r->f.mount_root, r->f.source);
        if (r->f.on_root_fs)
                return add(r, "dedicated_fs", CHECK_WARN, remedy,
                           "%s is on the root filesystem: the cache can fill the node's disk", r->o->data_dir);
        return add(r, "dedicated_fs", CHECK_WARN, remedy,
                   "%s is not a mount point: it shares the filesystem of %s with other data",
                   r->o->data_dir, r->f.mount_point);
}

/* The directory beneath the mount: sealed (seal.h), or where pods would write the
 * cache while the disk is not mounted. */
static int check_sealed(struct run *r) {
        const char *dir = r->o->data_dir;
        int k;

        if (!r->exists || !r->f.is_mount_point)
                return add(r, "sealed", CHECK_SKIP, NULL, "%s is not a mount point: nothing beneath it to seal", dir);
        if (!r->root)
                return add(r, "sealed", CHECK_SKIP, "run as root", "needs root to look beneath the mount at %s", dir);
        k = seal_state(dir);
        if (k > 0)
                return add(r, "sealed", CHECK_OK, NULL, "the directory beneath the mount at %s is immutable: "
                           "nothing can be written there while the disk is not mounted", dir);
        if (k == 0)
                return add(r, "sealed", CHECK_WARN,
                           "dind-cache install --seal-mount-point (chattr +i on the directory beneath the mount, "
                           "without unmounting; install --device does it by itself)",
                           "the directory beneath the mount at %s is writable: while the disk is not mounted, "
                           "pods would write the cache there, onto the filesystem beneath", dir);
        if (k == -EOPNOTSUPP)
                return add(r, "sealed", CHECK_WARN, "make the mount point a directory on ext4 or xfs",
                           "the filesystem beneath %s keeps no immutable attribute: while the disk is not mounted, "
                           "pods would write the cache there", dir);
        return add(r, "sealed", CHECK_SKIP, NULL, "cannot look beneath the mount at %s: %s", dir, strerror(-k));
}

static int check_boot_mount(struct run *r) {
        _cleanup_free_ char *source = NULL;
        int k;

        if (streq(r->f.mount_point, "/"))
                return add(r, "boot_mount", CHECK_OK, NULL, "on the root filesystem, there at every boot");
        k = disk_boot_mount_source(r->f.mount_point, r->o->root, &source);
        if (k < 0)
                return add(r, "boot_mount", CHECK_SKIP, NULL, "cannot tell what mounts %s at boot: %s",
                           r->f.mount_point, strerror(-k));
        if (k > 0)
                return add(r, "boot_mount", CHECK_OK, NULL, "%s mounts %s at boot", source, r->f.mount_point);
        return add(r, "boot_mount", CHECK_WARN,
                   "mount it with an enabled systemd mount unit or an /etc/fstab line (dind-cache install --device DEV does this)",
                   "nothing mounts %s at boot (no enabled mount unit, no /etc/fstab line): "
                   "after a reboot the pod would write into the bare directory", r->f.mount_point);
}

static const char *const fs_checks[] = { "fs_type", "d_type", "overlay_mount", "fs_features",
                                         "read_only", "capacity", "free_space", "free_inodes",
                                         "dedicated_fs", "sealed", "boot_mount" };

static int check_filesystem(struct run *r) {
        int k;

        if (r->facts_error) {
                if (add(r, "fs_type", CHECK_FAIL, NULL, "%s", r->skip_fs) < 0)
                        return -ENOMEM;
                r->skip_fs = "the filesystem is unknown (see fs_type)";
        }
        if (r->skip_fs) {
                for (size_t i = r->facts_error ? 1 : 0; i < ELEMENTSOF(fs_checks); i++)
                        if (add(r, fs_checks[i], CHECK_SKIP, NULL, "%s", r->skip_fs) < 0)
                                return -ENOMEM;
                return 0;
        }
        if ((k = check_fs_type(r)) < 0 || (k = check_d_type(r)) < 0 || (k = check_overlay_mount(r)) < 0 ||
            (k = check_fs_features(r)) < 0 || (k = check_read_only(r)) < 0 || (k = check_capacity(r)) < 0 ||
            (k = check_low(r, "free_space", "blocks", r->f.avail, r->f.size,
                           "free space: docker system prune, or a larger disk")) < 0 ||
            (k = check_low(r, "free_inodes", "inodes", r->f.inodes_free, r->f.inodes,
                           "free inodes: docker system prune, or reformat with more inodes")) < 0 ||
            (k = check_dedicated(r)) < 0 || (k = check_sealed(r)) < 0 || (k = check_boot_mount(r)) < 0)
                return k;
        return 0;
}

int datadir_device_mounted(const char *data_dir, const char *device, const struct mountinfo *mounts) {
        _cleanup_(disk_facts_done) struct disk_facts f = {};
        struct stat st;
        int k;

        if (stat(device, &st) < 0)
                return -errno;
        if (!S_ISBLK(st.st_mode))
                return 0;
        k = disk_facts_get(data_dir, mounts, &f);
        if (k == -ENOENT || k == -ENOTDIR)
                return 0;
        if (k < 0)
                return k;
        return f.is_fs_root && f.dev == st.st_rdev;
}

int datadir_check(const struct datadir_options *o, struct check_list *l) {
        _cleanup_(mountinfo_done) struct mountinfo read_here = {};
        _cleanup_free_ char *target = NULL, *skip = NULL;
        struct run r = { .o = o, .l = l, .root = geteuid() == 0 };
        const struct mountinfo *mounts = o->mounts;
        int k;

        if ((k = check_privileges(&r)) < 0 || (k = check_kernel_overlay(&r)) < 0 ||
            (k = check_data_dir(&r, &target)) < 0)
                goto finish;
        /* Read once for every question below; on failure each asks again and
         * reports what it met. */
        if (!r.skip_fs) {
                k = mountinfo_given_or_read(&mounts, &read_here);
                if (k == -ENOMEM)
                        goto finish;
        }

        if (!r.skip_fs && o->device) {
                k = datadir_device_mounted(o->data_dir, o->device, mounts);
                if (k <= 0) {
                        skip = strdup_printf("checked once %s is mounted at %s", o->device, o->data_dir);
                        if (!skip) {
                                k = -ENOMEM;
                                goto finish;
                        }
                        r.skip_fs = skip;
                }
        }
        if (!r.skip_fs) {
                k = disk_facts_get(target, mounts, &r.f);
                if (k < 0) {
                        skip = strdup_printf("cannot learn about the filesystem of %s: %s", target, strerror(-k));
                        if (!skip) {
                                k = -ENOMEM;
                                goto finish;
                        }
                        r.skip_fs = skip;
                        r.facts_error = true;
                } else if ((k = find_device(&r.f, &r.device)) < 0)
                        goto finish;
        }
        k = check_filesystem(&r);
finish:
        disk_facts_done(&r.f);
        free(r.device);
        return k < 0 ? k : 0;
}
