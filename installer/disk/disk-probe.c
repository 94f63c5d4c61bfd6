/* SPDX-License-Identifier: MIT */
/* The probes of disk.h that write: d_type through getdents64, a real overlay mount,
 * a small synced write. The d_type and overlay probes work in a fresh scratch
 * directory under the directory they are given, named for the process that made it
 * (.dind-cache-probe-PID-XXXXXX), and remove it before returning; the write probe
 * writes an unnamed O_TMPFILE, so that being killed mid-way leaves no name behind.
 * What a killed process did leave is removed by disk_probe_cleanup(). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "disk/disk.h"
#include "base/util.h"

#define SCRATCH_PREFIX ".dind-cache-probe-"
/* Entries of the data directory looked at for leftovers (Docker makes a dozen). */
#define SCRATCH_SCAN_MAX 4096

/* Makes DIR/.dind-cache-probe-PID-XXXXXX (0700); returns its path and an fd on it. */
static int scratch_make(const char *dir, char **ret, int *ret_fd) {
        char *path = strdup_printf("%s/" SCRATCH_PREFIX "%ld-XXXXXX", dir, (long) getpid());
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

/* An unnamed file in DIR (O_TMPFILE): a process killed while it writes leaves no
 * entry behind. Where the filesystem has no O_TMPFILE, a named file unlinked at
 * once, before anything is written to it. */
static int open_unnamed(const char *dir) {
        _cleanup_free_ char *path = NULL;
        int fd;

        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd >= 0)
                return fd;
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
                return -errno;
        path = strdup_printf("%s/" SCRATCH_PREFIX "%ld-XXXXXX", dir, (long) getpid());
        if (!path)
                return -ENOMEM;
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (unlink(path) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int disk_probe_write(const char *dir, uint64_t *ret_latency_usec) {
        _cleanup_close_ int fd = -1;
        char block[4096];
        uint64_t start;

        memset(block, 'x', sizeof(block));
        start = now_usec();
        fd = open_unnamed(dir);
        if (fd < 0)
                return fd;
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

/* The PID in NAME, a scratch entry's name (.dind-cache-probe-PID-XXXXXX), or -1. */
static long scratch_pid(const char *name) {
        const char *p = name + strlen(SCRATCH_PREFIX);
        char *end = NULL;
        long pid;

        if (strncmp(name, SCRATCH_PREFIX, strlen(SCRATCH_PREFIX)) != 0 || *p < '1' || *p > '9')
                return -1;
        errno = 0;
        pid = strtol(p, &end, 10);
        if (errno != 0 || !end || *end != '-' || pid <= 0)
                return -1;
        return pid;
}

int disk_probe_cleanup(const char *dir, pid_t pid) {
        _cleanup_close_ int fd = -1;
        DIR *d;
        struct dirent *de;
        unsigned seen = 0, removed = 0;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -1; /* the DIR owns it now */
        while ((de = readdir(d)) && seen++ < SCRATCH_SCAN_MAX) {
                long owner = scratch_pid(de->d_name);
                char *path;

                if (owner <= 0 || (pid > 0 && owner != (long) pid))
                        continue;
                /* Every process's own: only when the process that made it is gone. */
                if (pid == 0 && (kill((pid_t) owner, 0) == 0 || errno != ESRCH))
                        continue;
                path = strdup_printf("%s/%s", dir, de->d_name);
                if (!path) {
                        closedir(d);
                        return -ENOMEM;
                }
                scratch_remove(path);
                removed++;
        }
        closedir(d);
        return (int) removed;
}
