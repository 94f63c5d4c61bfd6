/* SPDX-License-Identifier: MIT */
#include <blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "disk/blockdev-private.h"
#include "disk/mountinfo.h"
#include "disk/superblock.h"
#include "base/util.h"

/* Bytes read at each end of the device to tell "never written" from "data libblkid
 * does not know" (plain dm-crypt, a foreign filesystem). */
#define EDGE_BYTES (1024U * 1024)
#define SIGNATURES_MAX 16
#define SWAPS_MAX (1024U * 1024)
#define SYSFS_ENTRIES_MAX 4096

static void blkid_free_probep(blkid_probe *pr) {
        if (*pr)
                blkid_free_probe(*pr);
}
#define _cleanup_blkid_probe_ _cleanup_(blkid_free_probep)

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

void blockdev_info_done(struct blockdev_info *i) {
        if (!i)
                return;
        free(i->path);
        free(i->mount_point);
        strv_free(i->holders);
        strv_free(i->partition_names);
        free(i->signature);
        strv_free(i->signatures);
        free(i->uuid);
        free(i->label);
        *i = (struct blockdev_info) {};
}

/* The mount point of the device RDEV's first mount, by MOUNTS (NULL: read them). */
static int find_mount(dev_t rdev, const struct mountinfo *mounts, char **ret_mount_point) {
        _cleanup_(mountinfo_done) struct mountinfo read_here = {};
        const struct mountinfo_entry *e;
        int r;

        r = mountinfo_given_or_read(&mounts, &read_here);
        if (r < 0)
                return r;
        e = mountinfo_device_mount(mounts, rdev);
        if (!e)
                return 0;
        *ret_mount_point = strdup(e->mount_point);
        return *ret_mount_point ? 1 : -ENOMEM;
}

/* Decodes the octal escapes (\040) the kernel writes in /proc/swaps, in place. */
static void unoctal(char *s) {
        char *o = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *o++ = (char) ((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
                        p += 3;
                } else
                        *o++ = *p;
        }
        *o = '\0';
}

static int find_swap(dev_t rdev) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_file_full("/proc/swaps", SWAPS_MAX, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        /* "Filename Type Size Used Priority", then one line per swap area. */
        for (char *line = strchr(data, '\n'), *next; line && *++line; line = next) {
                struct stat st;

                next = strchr(line, '\n');
                if (next)
                        *next = '\0';
                line[strcspn(line, " \t")] = '\0';
                unoctal(line);
                if (stat(line, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == rdev)
                        return 1;
                if (!next)
                        break;
        }
        return 0;
}

/* The entries of /sys/dev/block/MAJ:MIN/holders, and the partitions of the device:
 * its subdirectories that hold a "partition" file. */
static int read_sysfs(dev_t rdev, struct blockdev_info *i) {
        _cleanup_free_ char *dir = NULL, *holders = NULL;
        _cleanup_(closedirp) DIR *d = NULL, *h = NULL;
        struct dirent *de;
        unsigned n = 0;
        int r;

        dir = strdup_printf("/sys/dev/block/%u:%u", major(rdev), minor(rdev));
        holders = strdup_printf("/sys/dev/block/%u:%u/holders", major(rdev), minor(rdev));
        if (!dir || !holders)
                return -ENOMEM;

        h = opendir(holders);
        while (h && (de = readdir(h)) && n++ < SYSFS_ENTRIES_MAX) {
                if (de->d_name[0] == '.')
                        continue;
                r = strv_extend(&i->holders, de->d_name);
                if (r < 0)
                        return r;
        }

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        n = 0;
        while ((de = readdir(d)) && n++ < SYSFS_ENTRIES_MAX) {
                _cleanup_free_ char *part = NULL;

                if (de->d_name[0] == '.')
                        continue;
                part = strdup_printf("%s/%s/partition", dir, de->d_name);
                if (!part)
                        return -ENOMEM;
                if (access(part, F_OK) < 0)
                        continue;
                r = strv_extend(&i->partition_names, de->d_name);
                if (r < 0)
                        return r;
                i->partitions++;
        }
        return 0;
}

static void configure_probe(blkid_probe pr, bool force_gpt) {
        blkid_probe_enable_superblocks(pr, 1);
        /* BADCSUM: a superblock with a bad checksum is still somebody's data. */
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL |
                                                      BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM);
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC | (force_gpt ? BLKID_PARTS_FORCE_GPT : 0));
}

static const char *lookup(blkid_probe pr, const char *name) {
        const char *v = NULL;
        if (blkid_probe_lookup_value(pr, name, &v, NULL) < 0)
                return NULL;
        return v;
}

/* libblkid's verdict (safeprobe), then every signature a wipefs-style scan finds,
 * wherever it lies on the device. */
static int probe_signatures(int fd, struct blockdev_info *i) {
        _cleanup_blkid_probe_ blkid_probe pr = NULL, scan = NULL;
        const char *type, *uuid, *label;
        unsigned n = 0;
        int r;

        pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, 0, 0) < 0)
                return errno > 0 ? -errno : -EIO;
        configure_probe(pr, false);
        errno = 0;
        r = blkid_do_safeprobe(pr);
        if (r == -1)
                return errno > 0 ? -errno : -EIO;
        if (r == -2)
                i->ambivalent = true;
        else if (r == 0) {
                type = lookup(pr, "TYPE");
                if (!type)
                        type = lookup(pr, "PTTYPE");
                r = free_and_strdup(&i->signature, type ? type : "unknown");
                if (r < 0)
                        return r;
                uuid = lookup(pr, "UUID");
                if (uuid && (r = free_and_strdup(&i->uuid, uuid)) < 0)
                        return r;
                label = lookup(pr, "LABEL");
                if (label && (r = free_and_strdup(&i->label, label)) < 0)
                        return r;
        }

        scan = blkid_new_probe();
        if (!scan)
                return -ENOMEM;
        if (blkid_probe_set_device(scan, fd, 0, 0) < 0)
                return errno > 0 ? -errno : -EIO;
        configure_probe(scan, true);
        while (n++ < SIGNATURES_MAX && blkid_do_probe(scan) == 0) {
                const char *offset;
                _cleanup_free_ char *s = NULL;

                type = lookup(scan, "TYPE");
                offset = lookup(scan, "SBMAGIC_OFFSET");
                if (!type) {
                        type = lookup(scan, "PTTYPE");
                        offset = lookup(scan, "PTMAGIC_OFFSET");
                }
                if (!type)
                        continue;
                if (offset) {
                        char *end = NULL;
                        unsigned long long off;

                        errno = 0;
                        off = strtoull(offset, &end, 10);
                        s = errno == 0 && end && *end == '\0' ? strdup_printf("%s at offset 0x%llx", type, off)
                                                              : strdup_printf("%s at offset %s", type, offset);
                } else
                        s = strdup(type);
                if (!s)
                        return -ENOMEM;
                if (!strv_contains(i->signatures, s) && (r = strv_extend(&i->signatures, s)) < 0)
                        return r;
                if (!i->signature && !i->ambivalent && (r = free_and_strdup(&i->signature, type)) < 0)
                        return r;
        }
        return 0;
}

static bool all_zero(const uint8_t *p, size_t n) {
        for (size_t k = 0; k < n; k++)
                if (p[k])
                        return false;
        return true;
}

/* 1 when the first or last EDGE_BYTES hold anything but zeros. */
static int edges_written(int fd, uint64_t size) {
        _cleanup_free_ uint8_t *buf = NULL;
        uint64_t offsets[2] = { 0, 0 };
        size_t len = size < EDGE_BYTES ? (size_t) size : EDGE_BYTES;

        if (len == 0)
                return 0;
        buf = malloc(len);
        if (!buf)
                return -ENOMEM;
        offsets[1] = size - len;
        for (size_t k = 0; k < ELEMENTSOF(offsets); k++) {
                size_t done = 0;
                while (done < len) {
                        ssize_t n = pread(fd, buf + done, len - done, (off_t) (offsets[k] + done));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return -errno;
                        if (n == 0)
                                return -EIO;
                        done += (size_t) n;
                }
                if (!all_zero(buf, len))
                        return 1;
        }
        return 0;
}

int blockdev_inspect_fd(const char *path, int fd, const struct stat *st, bool holding_excl,
                        const struct mountinfo *mounts, struct blockdev_info *i) {
        int ro = 0, r;

        if (ioctl(fd, BLKGETSIZE64, &i->size) < 0)
                return -errno;
        if (ioctl(fd, BLKROGET, &ro) < 0)
                return -errno;
        i->read_only = ro != 0;

        r = find_mount(st->st_rdev, mounts, &i->mount_point);
        if (r < 0)
                return r;
        r = find_swap(st->st_rdev);
        if (r < 0)
                return r;
        i->swap = r > 0;
        r = read_sysfs(st->st_rdev, i);
        if (r < 0)
                return r;

        if (!holding_excl) {
                _cleanup_close_ int excl = open(path, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);
                if (excl < 0) {
                        if (errno != EBUSY)
                                return -errno;
                        i->busy = true;
                }
        }

        r = probe_signatures(fd, i);
        if (r < 0)
                return r;
        if (!i->signature && !i->ambivalent) {
                r = edges_written(fd, i->size);
                if (r < 0)
                        return r;
                i->unknown_data = r > 0;
        }

        if (streq(i->signature, "xfs")) {
                struct xfs_sb_info sb;
                r = xfs_sb_read(path, &sb);
                if (r >= 0) {
                        i->xfs_version = sb.version;
                        i->xfs_ftype = sb.ftype;
                }
        }
        return 0;
}

int blockdev_open(const char *path, int extra_flags, struct stat *ret_st) {
        int fd;

        if (isempty(path))
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | extra_flags);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (!S_ISBLK(ret_st->st_mode)) {
                close(fd);
                return -ENOTBLK;
        }
        return fd;
}

int blockdev_inspect(const char *path, const struct mountinfo *mounts, struct blockdev_info *ret) {
        _cleanup_(blockdev_info_done) struct blockdev_info i = {};
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        fd = blockdev_open(path, 0, &st);
        if (fd < 0)
                return fd;
        i.path = strdup(path);
        if (!i.path)
                return -ENOMEM;
        r = blockdev_inspect_fd(path, fd, &st, false, mounts, &i);
        if (r < 0)
                return r;
        *ret = i;
        i = (struct blockdev_info) {};
        return 0;
}

/* Joins V with ", " (at most the first 8). */
static char *strv_join_comma(char *const *v) {
        size_t len = 1, n = strv_length(v) > 8 ? 8 : strv_length(v);
        char *s, *o;

        for (size_t k = 0; k < n; k++)
                len += strlen(v[k]) + 2;
        s = malloc(len + 4);
        if (!s)
                return NULL;
        o = s;
        *o = '\0';
        for (size_t k = 0; k < n; k++)
                o = stpcpy(stpcpy(o, k ? ", " : ""), v[k]);
        if (strv_length(v) > n)
                strcpy(o, ", ...");
        return s;
}

#define ADD(l, name, state, remedy, ...)                                        \
        do {                                                                    \
                if (!check_list_add(l, name, state, remedy, __VA_ARGS__))       \
                        return -ENOMEM;                                         \
        } while (0)

/* The refusals that concern what the device is used for right now. */
static int check_usage(const struct blockdev_info *i, struct check_list *l) {
        const char *p = i->path;
        _cleanup_free_ char *remedy = NULL, *list = NULL;

        if (i->mount_point) {
                remedy = strdup_printf("use another device; if you are sure nothing on it is needed: "
                                       "umount '%s' && wipefs -a %s", i->mount_point, p);
                if (!remedy)
                        return -ENOMEM;
                ADD(l, "device_mounted", CHECK_FAIL, remedy, "%s is mounted at %s", p, i->mount_point);
        } else
                ADD(l, "device_mounted", CHECK_OK, NULL, "%s is not mounted", p);
        free(TAKE_PTR(remedy));

        if (i->swap) {
                remedy = strdup_printf("use another device; if you are sure it is not needed as swap: "
                                       "swapoff %s && wipefs -a %s", p, p);
                if (!remedy)
                        return -ENOMEM;
                ADD(l, "device_swap", CHECK_FAIL, remedy, "%s is in use as swap", p);
        } else
                ADD(l, "device_swap", CHECK_OK, NULL, "%s is not used as swap", p);
        free(TAKE_PTR(remedy));

        if (i->holders) {
                list = strv_join_comma(i->holders);
                if (!list)
                        return -ENOMEM;
                ADD(l, "device_holders", CHECK_FAIL, "use another device, or take it out of the LVM volume group, "
                    "RAID array or device-mapper table that holds it (see lsblk)",
                    "%s is held by %s (LVM, RAID or device mapper)", p, list);
        } else
                ADD(l, "device_holders", CHECK_OK, NULL, "%s has no holders", p);
        free(TAKE_PTR(list));

        if (i->partitions) {
                list = strv_join_comma(i->partition_names);
                remedy = strdup_printf("use another device; if you are sure no partition is needed: "
                                       "wipefs -a %s (after wiping each partition)", p);
                if (!list || !remedy)
                        return -ENOMEM;
                ADD(l, "device_partitions", CHECK_FAIL, remedy, "%s has %u partition%s: %s", p, i->partitions,
                    i->partitions == 1 ? "" : "s", list);
        } else
                ADD(l, "device_partitions", CHECK_OK, NULL, "%s has no partitions", p);

        if (i->read_only)
                ADD(l, "device_read_only", CHECK_FAIL, "use a writable device (blockdev --setrw, or the "
                    "device's write protection)", "%s is read-only", p);
        else
                ADD(l, "device_read_only", CHECK_OK, NULL, "%s is writable", p);

        if (i->busy)
                ADD(l, "device_exclusive", CHECK_FAIL, "use another device, or stop what holds it open "
                    "(a mount, a swap area, a RAID or LVM member, a program: see lsblk, fuser -v)",
                    "%s is held open exclusively by someone else", p);
        else
                ADD(l, "device_exclusive", CHECK_OK, NULL, "%s can be opened exclusively", p);
        return 0;
}

/* The refusal (or reuse) that concerns what is written on the device. */
static int check_contents(const struct blockdev_info *i, struct check_list *l, bool *ret_reuse) {
        const char *p = i->path;
        _cleanup_free_ char *wipe = NULL, *found = NULL, *ids = NULL;

        *ret_reuse = false;
        wipe = strdup_printf("use another device; if you are sure its data may be destroyed: wipefs -a %s", p);
        if (!wipe)
                return -ENOMEM;
        if (i->signatures) {
                found = strv_join_comma(i->signatures);
                if (!found)
                        return -ENOMEM;
        }
        ids = strdup_printf("%s%s%s%s%s", i->uuid ? " UUID " : "", i->uuid ? i->uuid : "",
                            i->label ? " LABEL \"" : "", i->label ? i->label : "", i->label ? "\"" : "");
        if (!ids)
                return -ENOMEM;

        if (i->ambivalent)
                ADD(l, "device_signature", CHECK_FAIL, wipe, "%s carries conflicting signatures (%s)", p,
                    found ? found : "libblkid cannot tell which");
        else if (streq(i->signature, "xfs") && i->xfs_ftype)
                ADD(l, "device_signature", CHECK_OK, NULL,
                    "%s already holds xfs with ftype=1 (V%u,%s): used as it is", p, i->xfs_version, ids);
        else if (streq(i->signature, "xfs")) {
                _cleanup_free_ char *remedy = strdup_printf(
                        "overlay2 needs d_type: back up its data, then wipefs -a %s and run install again with "
                        "--format (mkfs.xfs -n ftype=1)", p);
                if (!remedy)
                        return -ENOMEM;
                if (i->xfs_version)
                        ADD(l, "device_signature", CHECK_FAIL, remedy, "%s holds xfs V%u without ftype=1 (%s)", p,
                            i->xfs_version, isempty(ids) ? "no d_type" : ids + 1);
                else
                        ADD(l, "device_signature", CHECK_FAIL, remedy,
                            "%s holds xfs whose superblock cannot be read (%s)", p, isempty(ids) ? "?" : ids + 1);
        } else if (i->signature)
                ADD(l, "device_signature", CHECK_FAIL, wipe, "%s carries a%s %s signature (%s%s%s)", p,
                    strchr("aeiouAEIOU", i->signature[0]) ? "n" : "", i->signature, found ? found : i->signature,
                    isempty(ids) ? "" : ",", ids);
        else if (i->unknown_data) {
                _cleanup_free_ char *remedy = strdup_printf(
                        "use another device; if you are sure its data may be destroyed: "
                        "dd if=/dev/zero of=%s bs=1M count=1 conv=fsync", p);
                if (!remedy)
                        return -ENOMEM;
                ADD(l, "device_signature", CHECK_FAIL, remedy,
                    "%s carries no known signature but is not blank: its first or last MiB holds data", p);
        } else {
                ADD(l, "device_signature", CHECK_OK, NULL, "%s is blank: no signature, no data at either end", p);
                return 0;
        }
        *ret_reuse = streq(i->signature, "xfs") && i->xfs_ftype && !i->ambivalent;
        return 0;
}

/* The single result of a device that could not be inspected (R < 0). */
static int judge_uninspected(const char *path, int r, struct check_list *l) {
        switch (r) {
        case -ENOENT:
                ADD(l, "device", CHECK_FAIL, "check the path: lsblk lists block devices", "%s does not exist", path);
                return 0;
        case -ENOTBLK:
                ADD(l, "device", CHECK_FAIL, "give a block device such as /dev/vdb (lsblk lists them)",
                    "%s is not a block device", path);
                return 0;
        case -EACCES:
        case -EPERM:
                /* Not proven safe, so refused; but not a finding about the device. */
                ADD(l, "device", CHECK_SKIP, "run as root", "cannot examine %s: %s", path, strerror(-r));
                return 0;
        case -ENOMEM:
                return r;
        default:
                ADD(l, "device", CHECK_FAIL, NULL, "cannot examine %s: %s", path, strerror(-r));
                return 0;
        }
}

int blockdev_judge(const char *path, int inspected, const struct blockdev_info *i, uint64_t capacity,
                   struct check_list *l, enum blockdev_verdict *ret_verdict) {
        size_t fails_before = check_list_count(l, CHECK_FAIL);
        char size[16], want[16];
        bool reuse;
        int r;

        if (inspected < 0) {
                r = judge_uninspected(path, inspected, l);
                if (r < 0)
                        return r;
                *ret_verdict = BLOCKDEV_REFUSE;
                return 0;
        }

        format_bytes(i->size, size, sizeof(size));
        ADD(l, "device", CHECK_OK, NULL, "%s is a block device of %s", path, size);
        r = check_usage(i, l);
        if (r < 0)
                return r;
        if (capacity > 0 && i->size < capacity)
                ADD(l, "device_capacity", CHECK_FAIL, "use a larger device or a smaller --capacity",
                    "%s holds %s, less than --capacity %s", path, size, format_bytes(capacity, want, sizeof(want)));
        else if (capacity > 0)
                ADD(l, "device_capacity", CHECK_OK, NULL, "%s holds %s, --capacity %s", path, size,
                    format_bytes(capacity, want, sizeof(want)));
        r = check_contents(i, l, &reuse);
        if (r < 0)
                return r;

        if (check_list_count(l, CHECK_FAIL) > fails_before)
                *ret_verdict = BLOCKDEV_REFUSE;
        else
                *ret_verdict = reuse ? BLOCKDEV_REUSE_XFS : BLOCKDEV_BLANK;
        return 0;
}

int blockdev_check(const char *path, const struct mountinfo *mounts, uint64_t capacity, struct check_list *l,
                   enum blockdev_verdict *ret_verdict) {
        _cleanup_(blockdev_info_done) struct blockdev_info i = {};
        int r = blockdev_inspect(path, mounts, &i);

        return blockdev_judge(path, r, &i, capacity, l, ret_verdict);
}
