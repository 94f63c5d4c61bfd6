/* SPDX-License-Identifier: MIT */
/* Formatting a blank device: the last checks under O_EXCL, mkfs.xfs, and the proof
 * that what it made is xfs with ftype=1. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "disk/blockdev-private.h"
#include "disk/mountinfo.h"
#include "base/util.h"

#define MKFS_STDERR_MAX (64U * 1024)
/* mkfs.xfs discards the whole device first; a slow large disk takes minutes. */
#define MKFS_TIMEOUT_USEC (30ULL * 60 * 1000000)

static const char *const mkfs_paths[] = { "/usr/sbin/mkfs.xfs", "/sbin/mkfs.xfs" };

/* Reads FD until its end or DEADLINE (-ETIMEDOUT), keeping the first MKFS_STDERR_MAX
 * bytes in BUF (*LEN of them) and draining the rest, so the writer never blocks on a
 * full pipe. 0 at the end, or <0. */
static int read_until(int fd, uint64_t deadline, char *buf, size_t *len) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint64_t now = now_usec();
                char chunk[4096];
                ssize_t n;

                if (now >= deadline)
                        return -ETIMEDOUT;
                n = poll(&p, 1, (int) ((deadline - now) / 1000 + 1));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        continue;
                n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return 0;
                if (*len < MKFS_STDERR_MAX) {
                        size_t take = (size_t) n < MKFS_STDERR_MAX - *len ? (size_t) n : MKFS_STDERR_MAX - *len;
                        memcpy(buf + *len, chunk, take);
                        *len += take;
                }
        }
}

/* Runs ARGV (argv[0] a path; failing that, mkfs.xfs looked up in PATH), no shell, stdin and
 * stdout on /dev/null; collects stderr up to the cap. The exit status (0..255),
 * -ETIMEDOUT (killed), or a negative errno. */
static int run_capture_stderr(char *const *argv, uint64_t timeout_usec, char **ret_stderr) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int fds[2], status, r = 0;
        uint64_t deadline = now_usec() + timeout_usec;
        pid_t pid;

        buf = malloc(MKFS_STDERR_MAX + 1);
        if (!buf)
                return -ENOMEM;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                sigset_t all;

                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(fds[1], 2) < 0)
                        _exit(126);
                execv(argv[0], argv);
                execvp("mkfs.xfs", argv);
                _exit(127);
        }
        close(fds[1]);
        r = read_until(fds[0], deadline, buf, &len);
        close(fds[0]);
        if (r < 0)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (r < 0)
                return r;
        buf[len] = '\0';
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
                buf[--len] = '\0';
        if (ret_stderr)
                *ret_stderr = TAKE_PTR(buf);
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The checks again, this time while holding the device O_EXCL: nobody can mount it,
 * add it to an array or open it exclusively until we let go. MOUNTS: read right
 * before, as the last look before the device is written. */
static int recheck_exclusive(const char *path, const struct mountinfo *mounts) {
        _cleanup_(blockdev_info_done) struct blockdev_info i = {};
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        fd = blockdev_open(path, O_EXCL, &st);
        if (fd < 0)
                return fd;
        i.path = strdup(path);
        if (!i.path)
                return -ENOMEM;
        r = blockdev_inspect_fd(path, fd, &st, true, mounts, &i);
        if (r < 0)
                return r;
        if (i.mount_point || i.swap || i.holders || i.partitions)
                return -EBUSY;
        if (i.read_only)
                return -EROFS;
        if (i.signature || i.ambivalent || i.signatures || i.unknown_data)
                return -EEXIST;
        return 0;
}

int blockdev_format_xfs_full(const char *path, char **ret_uuid, char **ret_mkfs_error) {
        _cleanup_(blockdev_info_done) struct blockdev_info after = {};
        _cleanup_(mountinfo_done) struct mountinfo mounts = {};
        _cleanup_free_ char *err = NULL, *uuid = NULL;
        char *argv[] = { (char *) mkfs_paths[0], (char *) "-n", (char *) "ftype=1", (char *) path, NULL };
        int r;

        if (isempty(path) || path[0] != '/')
                return -EINVAL;
        r = mountinfo_read(NULL, &mounts);
        if (r < 0)
                return r;
        r = recheck_exclusive(path, &mounts);
        if (r < 0)
                return r;

        /* mkfs.xfs opens the device O_EXCL itself, so ours is closed now; without -f it
         * also refuses on its own any signature that appeared in between. */
        if (access(mkfs_paths[0], X_OK) < 0 && access(mkfs_paths[1], X_OK) == 0)
                argv[0] = (char *) mkfs_paths[1];
        r = run_capture_stderr(argv, MKFS_TIMEOUT_USEC, &err);
        if (r < 0)
                return r;
        if (r != 0) {
                if (ret_mkfs_error) {
                        if (isempty(err)) {
                                free(err);
                                err = strdup_printf("mkfs.xfs exited with status %d", r);
                        }
                        *ret_mkfs_error = TAKE_PTR(err);
                }
                return -EIO;
        }

        /* Proof, from the device itself, that overlay2 can use what was made (its
         * mounts are not the question: the table of the recheck serves). */
        r = blockdev_inspect(path, &mounts, &after);
        if (r < 0)
                return r;
        if (!streq(after.signature, "xfs") || !after.xfs_ftype || isempty(after.uuid)) {
                if (ret_mkfs_error)
                        *ret_mkfs_error = strdup_printf("after mkfs.xfs, %s holds %s%s, not xfs with ftype=1", path,
                                                        after.signature ? after.signature : "no signature",
                                                        streq(after.signature, "xfs") ? " without ftype=1" : "");
                return -EIO;
        }
        uuid = strdup(after.uuid);
        if (!uuid)
                return -ENOMEM;
        *ret_uuid = TAKE_PTR(uuid);
        return 0;
}

int blockdev_format_xfs(const char *path, char **ret_uuid) {
        return blockdev_format_xfs_full(path, ret_uuid, NULL);
}

int blockdev_udev_change(const char *path) {
        _cleanup_free_ char *uevent = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        uevent = strdup_printf("/sys/dev/block/%u:%u/uevent", major(st.st_rdev), minor(st.st_rdev));
        if (!uevent)
                return -ENOMEM;
        fd = open(uevent, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, "change", 6) != 6)
                return errno > 0 ? -errno : -EIO;
        return 0;
}
