/* SPDX-License-Identifier: MIT */
/* Facts about the filesystem that holds a directory: statfs, statvfs, mountinfo;
 * the fitness of filesystem types for overlay2; error counters; boot mounts.
 * The probes that write are in disk-probe.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include "disk/disk.h"
#include "disk/mountinfo.h"
#include "base/unit-name.h"
#include "base/util.h"

static const struct {
        unsigned long magic;
        const char *name;
} fs_magics[] = {
        { 0x58465342UL, "xfs" },                /* XFS_SUPER_MAGIC */
        { EXT4_SUPER_MAGIC, "ext2/3/4" },
        { BTRFS_SUPER_MAGIC, "btrfs" },
        { TMPFS_MAGIC, "tmpfs" },
        { RAMFS_MAGIC, "ramfs" },
        { OVERLAYFS_SUPER_MAGIC, "overlayfs" },
        { NFS_SUPER_MAGIC, "nfs" },
        { 0xFF534D42UL, "cifs" },               /* CIFS_SUPER_MAGIC */
        { 0xFE534D42UL, "smb2" },               /* SMB2_SUPER_MAGIC */
        { 0x65735546UL, "fuse" },               /* FUSE_SUPER_MAGIC */
        { ECRYPTFS_SUPER_MAGIC, "ecryptfs" },
        { MSDOS_SUPER_MAGIC, "vfat" },
        { 0x2011BAB0UL, "exfat" },
        { 0x5346544EUL, "ntfs" },
        { 0x2FC12FC1UL, "zfs" },
        { 0xF2F52010UL, "f2fs" },
        { SQUASHFS_MAGIC, "squashfs" },
        { 0x00C36400UL, "ceph" },
        { 0x0BD00BD0UL, "lustre" },
        { 0x47504653UL, "gpfs" },
        { PROC_SUPER_MAGIC, "proc" },
        { SYSFS_MAGIC, "sysfs" },
        { 0x01021997UL, "9p" },                 /* V9FS_MAGIC */
        { 0x786F4256UL, "virtiofs" },
        { 0x28cd3d45UL, "cramfs" },
};

const char *fs_magic_to_string(unsigned long magic) {
        for (size_t i = 0; i < ELEMENTSOF(fs_magics); i++)
                if (fs_magics[i].magic == magic)
                        return fs_magics[i].name;
        return NULL;
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum fs_fitness fs_type_fitness(const char *fs_type, const char **ret_reason) {
        static const struct {
                const char *type;
                enum fs_fitness fitness;
                const char *reason;
        } table[] = {
                { "xfs", FS_FIT, "supported by overlay2 (with ftype=1)" },
                { "ext4", FS_FIT, "supported by overlay2" },
                { "ext3", FS_FIT_WARN, "works with overlay2, but ext4 or xfs is recommended" },
                { "ext2", FS_FIT_WARN, "works with overlay2, but has no journal: a crash can corrupt the cache" },
                { "btrfs", FS_FIT_WARN, "overlay2 works on btrfs, but Docker would rather use its btrfs driver there and btrfs needs regular balancing" },
                { "tmpfs", FS_UNFIT, "memory-backed, not persistent: the cache is lost at every reboot" },
                { "ramfs", FS_UNFIT, "memory-backed, not persistent: the cache is lost at every reboot" },
                { "overlay", FS_UNFIT, "overlay2 cannot use an overlayfs as its upper layer" },
                { "nfs", FS_UNFIT, "a network filesystem: overlay2 does not support it as its upper layer" },
                { "nfs4", FS_UNFIT, "a network filesystem: overlay2 does not support it as its upper layer" },
                { "cifs", FS_UNFIT, "a network filesystem: overlay2 does not support it as its upper layer" },
                { "smb3", FS_UNFIT, "a network filesystem: overlay2 does not support it as its upper layer" },
                { "ceph", FS_UNFIT, "a network filesystem: overlay2 does not support it as its upper layer" },
                { "9p", FS_UNFIT, "a network filesystem: overlay2 does not support it as its upper layer" },
                { "ecryptfs", FS_UNFIT, "ecryptfs is a stacked filesystem overlay2 cannot use" },
                { "vfat", FS_UNFIT, "FAT has no owners, permissions, hard links or device files" },
                { "msdos", FS_UNFIT, "FAT has no owners, permissions, hard links or device files" },
                { "exfat", FS_UNFIT, "exFAT has no owners, permissions, hard links or device files" },
                { "zfs", FS_UNFIT, "overlay2 on zfs needs OpenZFS 2.2 or later; Docker uses its zfs driver there" },
                { "squashfs", FS_UNFIT, "read-only filesystem" },
                { "iso9660", FS_UNFIT, "read-only filesystem" },
        };
        const char *reason = "an unknown filesystem: overlay2 is only known to work on xfs (ftype=1) and ext4";
        enum fs_fitness fitness = FS_UNFIT;

        if (isempty(fs_type))
                reason = "the filesystem type is unknown";
        else if (startswith(fs_type, "fuse")) /* fuse, fuseblk, fuse.sshfs, ... */
                reason = "a FUSE filesystem: overlay2 does not support it as its upper layer";
        else
                for (size_t i = 0; i < ELEMENTSOF(table); i++)
                        if (streq(fs_type, table[i].type)) {
                                fitness = table[i].fitness;
                                reason = table[i].reason;
                                break;
                        }
        if (ret_reason)
                *ret_reason = reason;
        return fitness;
}

int disk_facts_get(const char *path, const struct mountinfo *mounts, struct disk_facts *ret) {
        _cleanup_(mountinfo_done) struct mountinfo read_here = {};
        _cleanup_free_ char *canonical = NULL;
        const struct mountinfo_entry *m;
        struct disk_facts f = {};
        struct statfs sfs;
        struct statvfs svfs;
        struct stat st, root_st;
        int r;

        canonical = realpath(path, NULL);
        if (!canonical)
                return -errno;
        if (stat(canonical, &st) < 0 || statfs(canonical, &sfs) < 0 || statvfs(canonical, &svfs) < 0)
                return -errno;
        if (stat("/", &root_st) < 0)
                return -errno;

        r = mountinfo_given_or_read(&mounts, &read_here);
        if (r < 0)
                return r;
        m = mountinfo_holder_unbound(mounts, canonical);
        if (!m)
                return -ENOENT;

        f.path = strdup(path);
        f.mount_point = strdup(m->mount_point);
        f.mount_root = strdup(m->root);
        f.source = strdup(m->source);
        f.fs_type = strdup(m->fs_type);
        f.mount_options = strdup_printf("%s,%s", m->options, m->super_options);
        if (!f.path || !f.mount_point || !f.mount_root || !f.source || !f.fs_type || !f.mount_options) {
                disk_facts_done(&f);
                return -ENOMEM;
        }
        f.fs_magic = (unsigned long) sfs.f_type;
        f.dev = st.st_dev;
        f.mount_id = m->id;
        f.read_only = svfs.f_flag & ST_RDONLY;
        f.is_mount_point = streq(canonical, m->mount_point);
        f.is_fs_root = f.is_mount_point && mountinfo_entry_is_fs_root(m);
        f.on_root_fs = st.st_dev == root_st.st_dev;
        f.size = (uint64_t) svfs.f_blocks * svfs.f_frsize;
        f.avail = (uint64_t) svfs.f_bavail * svfs.f_frsize;
        f.free = (uint64_t) svfs.f_bfree * svfs.f_frsize;
        f.inodes = svfs.f_files;
        f.inodes_free = svfs.f_ffree;
        *ret = f;
        return 0;
}

void disk_facts_done(struct disk_facts *f) {
        free(f->path);
        free(f->mount_point);
        free(f->mount_root);
        free(f->source);
        free(f->fs_type);
        free(f->mount_options);
        *f = (struct disk_facts) {};
}

/* The kernel name of the block device DEV ("vdb", "loop3"), from /sys/dev/block. */
static int block_name(dev_t dev, char **ret) {
        char link[64], target[PATH_MAX];
        const char *base;
        ssize_t n;

        snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev), minor(dev));
        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        *ret = strdup(base);
        return *ret ? 0 : -ENOMEM;
}

static int read_u64_file(const char *path, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        char *end;
        unsigned long long v;
        int r;

        r = read_file_full(path, 64, &text, NULL);
        if (r < 0)
                return r;
        errno = 0;
        v = strtoull(text, &end, 10);
        if (end == text || (*end && *end != '\n') || errno)
                return -EINVAL;
        *ret = v;
        return 0;
}

int disk_error_count(const struct disk_facts *f, uint64_t *ret_count) {
        _cleanup_free_ char *name = NULL, *path = NULL;
        int r;

        /* XFS exposes error-handling settings under /sys/fs/xfs/DEV/error but no
         * counter; ext2/3/4 (all served by the ext4 driver) count in errors_count. */
        if (!streq(f->fs_type, "ext4") && !streq(f->fs_type, "ext3") && !streq(f->fs_type, "ext2"))
                return -ENOENT;
        r = block_name(f->dev, &name);
        if (r < 0)
                return r;
        path = strdup_printf("/sys/fs/ext4/%s/errors_count", name);
        if (!path)
                return -ENOMEM;
        return read_u64_file(path, ret_count);
}

/* Reads fstab field 2 (the mount point) of each line; 1 when one is MOUNT_POINT and
 * is not marked noauto. */
static int fstab_mounts(const char *fstab, const char *mount_point) {
        _cleanup_free_ char *data = NULL;
        int r;

        r = read_file_full(fstab, 1024 * 1024, &data, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (char *line = data, *next; line && *line; line = next) {
                struct mountinfo_entry e = {};
                _cleanup_free_ char *fake = NULL;
                char what[4096], where[4096], type[256], options[4096];
                bool match;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                line += strspn(line, " \t");
                if (*line == '#' || !*line)
                        continue;
                options[0] = '\0';
                if (sscanf(line, "%4095s %4095s %255s %4095s", what, where, type, options) < 3)
                        continue;
                /* Decode \040 escapes with the mountinfo field reader. */
                fake = strdup_printf("0 0 0:0 / %s rw - fstab - rw", where);
                if (!fake)
                        return -ENOMEM;
                if (mountinfo_parse_line(fake, &e) < 0)
                        continue;
                for (size_t n = strlen(e.mount_point); n > 1 && e.mount_point[n - 1] == '/'; n--)
                        e.mount_point[n - 1] = '\0';
                match = streq(e.mount_point, mount_point);
                mountinfo_entry_done(&e);
                if (match && !strstr(options, "noauto"))
                        return 1;
        }
        return 0;
}

/* 1 when UNIT is enabled in UNIT_DIR: a link in one of its *.wants or *.requires. */
static int unit_enabled_in(const char *unit_dir, const char *unit) {
        static const char *const targets[] = { "local-fs.target", "multi-user.target",
                                               "remote-fs.target", "default.target",
                                               "graphical.target" };
        static const char *const kinds[] = { "wants", "requires" };

        for (size_t i = 0; i < ELEMENTSOF(targets); i++)
                for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                        _cleanup_free_ char *link = strdup_printf("%s/%s.%s/%s", unit_dir, targets[i], kinds[k], unit);
                        /* The link itself: its target may be absolute, outside ROOT. */
                        struct stat st;
                        if (!link)
                                return -ENOMEM;
                        if (lstat(link, &st) == 0)
                                return 1;
                }
        return 0;
}

int disk_boot_mount_source(const char *mount_point, const char *root, char **ret_source) {
        static const char *const unit_dirs[] = { "etc/systemd/system", "run/systemd/generator",
                                                 "usr/lib/systemd/system", "lib/systemd/system" };
        _cleanup_free_ char *unit = NULL, *fstab = NULL, *etc_dir = NULL;
        const char *prefix = isempty(root) ? "" : root;
        char *source;
        int r;

        if (prefix[0] && streq(prefix, "/"))
                prefix = "";
        r = unit_name_from_path(mount_point, ".mount", &unit);
        if (r < 0)
                return r;

        /* A unit file counts when it is enabled: linked from a target in /etc (where
         * systemctl enable puts links) or, for fstab-generated units, in the generator
         * directory (local-fs.target.requires). */
        etc_dir = strdup_printf("%s/etc/systemd/system", prefix);
        if (!etc_dir)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(unit_dirs); i++) {
                _cleanup_free_ char *dir = strdup_printf("%s/%s", prefix, unit_dirs[i]);
                _cleanup_free_ char *file = NULL;

                if (!dir)
                        return -ENOMEM;
                file = strdup_printf("%s/%s", dir, unit);
                if (!file)
                        return -ENOMEM;
                if (access(file, F_OK) < 0)
                        continue;
                r = unit_enabled_in(etc_dir, unit);
                if (r == 0 && i == 1)
                        r = unit_enabled_in(dir, unit);
                if (r < 0)
                        return r;
                if (r > 0) {
                        source = strdup(unit);
                        if (!source)
                                return -ENOMEM;
                        *ret_source = source;
                        return 1;
                }
        }

        fstab = strdup_printf("%s/etc/fstab", prefix);
        if (!fstab)
                return -ENOMEM;
        r = fstab_mounts(fstab, mount_point);
        if (r <= 0)
                return r;
        source = strdup("/etc/fstab");
        if (!source)
                return -ENOMEM;
        *ret_source = source;
        return 1;
}
