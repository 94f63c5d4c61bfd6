/* SPDX-License-Identifier: MIT */
/* The probes of disk.h that write: d_type through getdents64, a real overlay mount,
 * a small synced write. Each works in a fresh scratch directory under the directory
 * it is given and removes it before returning. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "disk/disk.h"
#include "base/util.h"

#define SCRATCH_PREFIX ".dind-cache-probe-"

/* Makes DIR/.dind-cache-probe-XXXXXX (0700); returns its path and an fd on it. */
static int scratch_make(const char *dir, char **ret, int *ret_fd) {
        char *path = strdup_printf("%s/" SCRATCH_PREFIX "XXXXXX", dir);
        int fd, r;

        if (!path)
                return -ENOMEM;
        if (!mkdtemp(path)) {
                r = -errno;
                free(path);
                return r;
        }
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                r = -errno;
                (void) rmdir(path);
                free(path);
                return r;
        }
        *ret = path;
        *ret_fd = fd;
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        /* FTW_DP: a directory after its contents; FTW_D when FTW_MOUNT kept us out of
         * a mount still standing there, which rmdir then refuses (EBUSY). */
        if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
                (void) rmdir(path);
        else
                (void) unlink(path);
        return 0;
}

/* Removes the scratch directory PATH and everything in it, never crossing into
 * another mount. Frees PATH. */
static void scratch_remove(char *path) {
        if (!path)
                return;
        (void) nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        free(path);
}
static inline void scratch_removep(char **p) {
        scratch_remove(*p);
}
#define _cleanup_scratch_ _cleanup_(scratch_removep)

static int touch_at(int dirfd, const char *name) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

int disk_probe_dtype(const char *dir) {
        _cleanup_scratch_ char *scratch = NULL;
        _cleanup_close_ int fd = -1, rfd = -1;
        char buf[4096];
        unsigned seen = 0;
        bool unknown = false;
        int r;

        r = scratch_make(dir, &scratch, &fd);
        if (r < 0)
                return r;
        /* A file, a directory and a symlink: what image layers are made of. */
        r = touch_at(fd, "file");
        if (r < 0)
                return r;
        if (mkdirat(fd, "dir", 0700) < 0 || symlinkat("file", fd, "link") < 0)
                return -errno;
        /* Read through a fresh open: btrfs does not list entries made after opendir. */
        rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return -errno;

        for (;;) {
                long n = syscall(SYS_getdents64, rfd, buf, sizeof(buf));
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                for (long off = 0; off < n;) {
                        struct linux_dirent64 *d = (struct linux_dirent64 *) (buf + off);
                        if (d->d_reclen == 0)
                                return -EIO;
                        if (!streq(d->d_name, ".") && !streq(d->d_name, "..")) {
                                seen++;
                                if (d->d_type == DT_UNKNOWN)
                                        unknown = true;
                        }
                        off += d->d_reclen;
                }
        }
        if (seen != 3)
                return -EIO; /* the filesystem lost entries we just made */
        return unknown ? 0 : 1;
}

int disk_probe_overlay(const char *dir) {
        static const char *const subdirs[] = { "lower1", "lower2", "upper", "work", "merged" };
        _cleanup_scratch_ char *scratch = NULL;
        _cleanup_free_ char *options = NULL, *merged = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = scratch_make(dir, &scratch, &fd);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++)
                if (mkdirat(fd, subdirs[i], 0700) < 0)
                        return -errno;
        r = touch_at(fd, "lower1/from-lower1");
        if (r >= 0)
                r = touch_at(fd, "lower2/from-lower2");
        if (r < 0)
                return r;

        /* Relative option paths would depend on the cwd: give them whole. */
        options = strdup_printf("lowerdir=%s/lower1:%s/lower2,upperdir=%s/upper,workdir=%s/work",
                                scratch, scratch, scratch, scratch);
        merged = strdup_printf("%s/merged", scratch);
        if (!options || !merged)
                return -ENOMEM;
        if (strlen(options) >= 4096)
                return -ENAMETOOLONG; /* the kernel takes one page of options */
        if (mount("overlay", merged, "overlay", MS_NODEV | MS_NOSUID, options) < 0)
                return -errno;

        /* Both lower layers must show through, and the merged view must be writable. */
        if (faccessat(fd, "merged/from-lower1", F_OK, AT_SYMLINK_NOFOLLOW) < 0 ||
            faccessat(fd, "merged/from-lower2", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                r = errno == ENOENT ? -ENOTSUP : -errno; /* a lower layer is not visible */
        else
                r = touch_at(fd, "merged/from-merged");
        if (r >= 0 && faccessat(fd, "upper/from-merged", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                r = -ENOTSUP; /* the write did not land in the upper layer */

        if (umount2(merged, UMOUNT_NOFOLLOW) < 0)
                (void) umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW);
        return r < 0 ? r : 0;
}

int disk_probe_write(const char *dir, uint64_t *ret_latency_usec) {
        _cleanup_scratch_ char *scratch = NULL;
        _cleanup_close_ int dirfd = -1, fd = -1;
        char block[4096];
        uint64_t start;
        int r;

        r = scratch_make(dir, &scratch, &dirfd);
        if (r < 0)
                return r;
        memset(block, 'x', sizeof(block));

        start = now_usec();
        fd = openat(dirfd, "write", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < sizeof(block);) {
                ssize_t n = write(fd, block + done, sizeof(block) - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) n;
        }
        if (fsync(fd) < 0)
                return -errno;
        if (ret_latency_usec)
                *ret_latency_usec = now_usec() - start;
        return 0;
}
