/* SPDX-License-Identifier: MIT */
/* The disk checks of health.h: the data directory's mount, filesystem, space, inodes,
 * a write probe and the kernel's error counter. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "disk/disk.h"
#include "disk/seal.h"
#include "check/health-private.h"
#include "check/health.h"
#include "base/message-ids.h"

/* Sealed (seal.h): nothing was written meanwhile, and the pod, failing to write,
 * restarts until the disk is back. Not sealed: what the pod wrote is in the way. */
#define REMEDY_MOUNT_SEALED "mount the cache disk there (systemctl start its mount unit, or mount it as /etc/fstab " \
        "says): the directory is sealed, so nothing was written there and the docker-dind pod recovers by itself"
#define REMEDY_MOUNT "stop the docker-dind pod, empty the directory, mount the cache disk there (systemctl start " \
        "its mount unit, or mount it as /etc/fstab says), seal it (dind-cache install --seal-mount-point) and " \
        "start the pod again"
#define REMEDY_READ_ONLY "look for I/O errors (journalctl -k), repair the filesystem (xfs_repair or e2fsck) and mount it read-write again"
#define REMEDY_HANG "look for a stalled device or I/O errors (journalctl -k), or a frozen filesystem (fsfreeze -u)"
#define REMEDY_SPACE "remove unused images and build cache (docker image prune, docker builder prune --keep-storage) or grow the disk"
#define REMEDY_INODES "remove unused images and build cache (docker builder prune), or recreate the filesystem with more inodes"

/* How long a probe child killed at its deadline is given to die. */
#define REAP_WAIT_USEC (200ULL * 1000)

/* What the probe child reports, one record per probe. */
struct probe_msg {
        int which;           /* 0 d_type, 1 write */
        int result;          /* the probe's return value */
        uint64_t latency_usec;
};

struct probes {
        bool dtype_done, write_done;
        int dtype;           /* disk_probe_dtype(): 1, 0, <0 */
        int write;           /* disk_probe_write(): 0 or <0 */
        uint64_t write_usec;
};

__attribute__((noreturn)) static void probe_child(int fd, const char *dir) {
        struct probe_msg m = { .which = 0 };
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        /* A child stuck on a hung disk must not hold the caller's stdout open: whoever
         * reads it (systemd, a pipe) would wait for it. */
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
            dup2(null, STDERR_FILENO) < 0)
                _exit(1);

        /* What an earlier run's probe left when it was killed (a hung disk that came
         * back): gone first. Here, in the child, where a hang costs nothing. */
        (void) disk_probe_cleanup(dir, 0);
        m.result = disk_probe_dtype(dir);
        if (write(fd, &m, sizeof(m)) != sizeof(m))
                _exit(1);
        m = (struct probe_msg) { .which = 1 };
        m.result = disk_probe_write(dir, &m.latency_usec);
        if (write(fd, &m, sizeof(m)) != sizeof(m))
                _exit(1);
        _exit(0);
}

/* Waits up to REAP_WAIT_USEC for the killed child PID: true when it is gone. */
static bool reap_briefly(pid_t pid) {
        uint64_t end = now_usec() + REAP_WAIT_USEC;

        for (;;) {
                pid_t k = waitpid(pid, NULL, WNOHANG);
                if (k == pid || (k < 0 && errno != EINTR))
                        return k == pid;
                if (now_usec() >= end)
                        return false;
                usleep(5 * 1000);
        }
}

/* Runs the d_type and write probes in a child process, so that a hung disk (a frozen
 * or stalled device blocks in the kernel, beyond any signal) cannot hold the run past
 * TIMEOUT: the child is then killed and left behind, and the probes not done are
 * reported as such. */
static int run_probes(const char *dir, uint64_t timeout, struct probes *ret) {
        struct probes p = { .dtype = -ETIMEDOUT, .write = -ETIMEDOUT };
        uint64_t end = now_usec() + timeout;
        int fds[2];
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                close(fds[0]);
                probe_child(fds[1], dir);
        }
        close(fds[1]);

        while (!p.write_done) {
                struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
                uint64_t left = health_time_left(end);
                struct probe_msg m;
                ssize_t n;

                if (left == 0)
                        break;
                int k = poll(&pfd, 1, (int) ((left + 999) / 1000));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n = read(fds[0], &m, sizeof(m));
                if (n != sizeof(m))
                        break; /* the child died: what is missing stays -ETIMEDOUT... */
                if (m.which == 0) {
                        p.dtype = m.result;
                        p.dtype_done = true;
                } else {
                        p.write = m.result;
                        p.write_usec = m.latency_usec;
                        p.write_done = true;
                }
        }
        close(fds[0]);
        if (p.write_done)
                (void) waitpid(pid, NULL, 0);
        else {
                (void) kill(pid, SIGKILL);
                /* Killed between two steps, the child leaves its scratch directory:
                 * remove it once the child is gone. A child that does not go at once
                 * is stuck in the kernel on a hung disk; the next run removes what it
                 * leaves (disk_probe_cleanup in probe_child). */
                if (reap_briefly(pid))
                        (void) disk_probe_cleanup(dir, pid);
        }
        *ret = p;
        return 0;
}

static int check_mount(const char *dir, const struct disk_facts *f, struct check_list *l) {
        if (f->is_fs_root && !f->on_root_fs)
                return health_add(l, "mount", CHECK_OK, MID_MOUNT_OK, NULL,
                                  "'%s' is mounted from %s (%s)", dir, f->source ? f->source : "?",
                                  f->fs_type ? f->fs_type : "?") ? 0 : -ENOMEM;
        if (seal_state_here(dir) > 0)
                return health_add(l, "mount", CHECK_FAIL, MID_NOT_MOUNTED, REMEDY_MOUNT_SEALED,
                                  "'%s' is not mounted: the cache disk is missing (the directory is sealed: "
                                  "pods cannot write there)", dir) ? 0 : -ENOMEM;
        if (f->on_root_fs)
                return health_add(l, "mount", CHECK_FAIL, MID_NOT_MOUNTED, REMEDY_MOUNT,
                                  "'%s' is not mounted: pods would write the cache onto the root filesystem",
                                  dir) ? 0 : -ENOMEM;
        if (f->is_mount_point)
                return health_add(l, "mount", CHECK_FAIL, MID_NOT_MOUNTED, REMEDY_MOUNT,
                                  "'%s' is not mounted: only a bind mount of the directory '%s' of %s is there, "
                                  "not a filesystem of its own", dir, f->mount_root ? f->mount_root : "?",
                                  f->source ? f->source : "?") ? 0 : -ENOMEM;
        return health_add(l, "mount", CHECK_FAIL, MID_NOT_MOUNTED, REMEDY_MOUNT,
                          "'%s' is not a mount point: pods would write the cache onto the filesystem "
                          "mounted at '%s'", dir, f->mount_point ? f->mount_point : "?") ? 0 : -ENOMEM;
}

static int check_fs_type(const struct disk_facts *f, struct check_list *l) {
        const char *reason = NULL;
        const char *type = f->fs_type ? f->fs_type : "unknown";
        enum fs_fitness fit = fs_type_fitness(f->fs_type, &reason);
        struct check_result *r;

        if (fit == FS_FIT)
                r = health_add(l, "fs_type", CHECK_OK, MID_FS_TYPE_OK, NULL, "%s is fit for overlay2", type);
        else
                r = health_add(l, "fs_type", fit == FS_FIT_WARN ? CHECK_WARN : CHECK_FAIL, MID_FS_TYPE_UNFIT,
                               "move the cache to an xfs (ftype=1) or ext4 filesystem: dind-cache install --device DEV --format",
                               "%s is %s for overlay2%s%s", type, fit == FS_FIT_WARN ? "not ideal" : "unfit",
                               reason ? ": " : "", reason ? reason : "");
        if (!r || check_result_set_value(r, "%s", type) < 0)
                return -ENOMEM;
        return 0;
}

static int check_read_only(const char *dir, const struct disk_facts *f, struct check_list *l) {
        if (f->read_only)
                return health_add(l, "read_only", CHECK_FAIL, MID_READ_ONLY, REMEDY_READ_ONLY,
                                  "'%s' is read-only: the daemon cannot write layers", dir) ? 0 : -ENOMEM;
        return health_add(l, "read_only", CHECK_OK, MID_READ_WRITE, NULL, "'%s' is writable", dir) ? 0 : -ENOMEM;
}

static int check_dtype(const char *dir, const struct probes *p, struct check_list *l) {
        if (p->dtype == 1)
                return health_add(l, "d_type", CHECK_OK, MID_DTYPE_OK, NULL,
                                  "d_type works on '%s'", dir) ? 0 : -ENOMEM;
        if (p->dtype == 0)
                return health_add(l, "d_type", CHECK_FAIL, MID_DTYPE_MISSING,
                                  "recreate the filesystem with d_type (mkfs.xfs -n ftype=1)",
                                  "d_type is not supported on '%s': overlay2 cannot work", dir) ? 0 : -ENOMEM;
        if (p->dtype == -ETIMEDOUT)
                return health_add(l, "d_type", CHECK_FAIL, MID_WRITE_FAILED, REMEDY_HANG,
                                  "d_type probe on '%s' did not finish in time: the disk hangs", dir) ? 0 : -ENOMEM;
        return health_add(l, "d_type", CHECK_UNKNOWN, MID_CHECK_ERROR, NULL,
                          "cannot probe d_type on '%s': %s", dir, strerror(-p->dtype)) ? 0 : -ENOMEM;
}

static int check_write(const struct node_settings *s, const struct probes *p, struct check_list *l) {
        char lat[16], thr[16];
        struct check_result *r;

        if (!p->write_done && p->write == -ETIMEDOUT) {
                char t[32];
                r = health_add(l, "write_probe", CHECK_FAIL, MID_WRITE_FAILED, REMEDY_HANG,
                               "write probe on '%s' did not finish within %s: the disk hangs", s->data_dir,
                               format_duration(s->timeout_usec, t, sizeof(t)));
        } else if (p->write < 0)
                r = health_add(l, "write_probe", CHECK_FAIL, MID_WRITE_FAILED,
                               p->write == -ENOSPC ? REMEDY_SPACE : REMEDY_READ_ONLY,
                               "cannot write to '%s': %s", s->data_dir, strerror(-p->write));
        else {
                health_format_latency(p->write_usec, lat, sizeof(lat));
                health_format_latency(s->write_warn_usec, thr, sizeof(thr));
                if (p->write_usec > s->write_warn_usec)
                        r = health_add(l, "write_probe", CHECK_WARN, MID_WRITE_SLOW,
                                       "look for a failing or overloaded disk (iostat -x, journalctl -k)",
                                       "write + fsync on '%s' took %s (warn %s)", s->data_dir, lat, thr);
                else
                        r = health_add(l, "write_probe", CHECK_OK, MID_WRITE_OK, NULL,
                                       "write + fsync on '%s' took %s", s->data_dir, lat);
                if (r && (check_result_set_value(r, "%s", lat) < 0 || check_result_set_threshold(r, "%s", thr) < 0))
                        return -ENOMEM;
        }
        return r ? 0 : -ENOMEM;
}

/* One usage check: NAME "disk_usage" or "inode_usage". */
static int check_usage(struct check_list *l, const char *name, const char *what, const char *dir,
                       uint64_t used, uint64_t avail, int warn, int crit, const char *ok_id,
                       const char *high_id, const char *remedy, const char *extra) {
        int pct = percent_used(used, avail);
        enum check_state st = health_threshold_state(pct, warn, crit);
        struct check_result *r;

        if (st == CHECK_OK)
                r = health_add(l, name, st, ok_id, NULL, "%s %s %d%% used%s (warn %d%%)", what, dir, pct, extra, warn);
        else
                r = health_add(l, name, st, high_id, remedy, "%s %s %d%% used (%s %d%%)", what, dir, pct,
                               st == CHECK_FAIL ? "crit" : "warn", st == CHECK_FAIL ? crit : warn);
        if (!r || check_result_set_value(r, "%d%%", pct) < 0 ||
            check_result_set_threshold(r, "%d%%", st == CHECK_FAIL ? crit : warn) < 0)
                return -ENOMEM;
        return 0;
}

static int check_space(const struct node_settings *s, const struct disk_facts *f, struct check_list *l) {
        char avail[16], extra[48];
        uint64_t used = f->size >= f->free ? f->size - f->free : 0;

        snprintf(extra, sizeof(extra), ", %s available", format_bytes(f->avail, avail, sizeof(avail)));
        return check_usage(l, "disk_usage", "disk", s->data_dir, used, f->avail, s->disk_warn, s->disk_crit,
                           MID_DISK_USAGE_OK, MID_DISK_USAGE_HIGH, REMEDY_SPACE, extra);
}

static int check_inodes(const struct node_settings *s, const struct disk_facts *f, struct check_list *l) {
        if (f->inodes == 0)
                return health_add(l, "inode_usage", CHECK_OK, MID_INODES_OK, NULL,
                                  "inodes %s: no inode limit", s->data_dir) ? 0 : -ENOMEM;
        uint64_t used = f->inodes >= f->inodes_free ? f->inodes - f->inodes_free : 0;
        return check_usage(l, "inode_usage", "inodes", s->data_dir, used, f->inodes_free,
                           s->inode_warn, s->inode_crit, MID_INODES_OK, MID_INODES_HIGH, REMEDY_INODES, "");
}

static int check_errors(const struct disk_facts *f, struct check_list *l) {
        const char *dev = f->source ? f->source : "?";
        struct check_result *r;
        uint64_t count = 0;
        int k;

        k = disk_error_count(f, &count);
        if (k == -ENOENT)
                r = health_add(l, "fs_errors", CHECK_OK, MID_FS_ERRORS_NONE, NULL,
                               "error counter of %s: not exposed by the kernel", dev);
        else if (k < 0)
                r = health_add(l, "fs_errors", CHECK_UNKNOWN, MID_CHECK_ERROR, NULL,
                               "cannot read the error counter of %s: %s", dev, strerror(-k));
        else if (count > 0)
                r = health_add(l, "fs_errors", CHECK_WARN, MID_FS_ERRORS,
                               "look at the kernel log (journalctl -k) and check the disk; repair the filesystem at the next maintenance",
                               "%s recorded %" PRIu64 " filesystem error%s", dev, count, count == 1 ? "" : "s");
        else
                r = health_add(l, "fs_errors", CHECK_OK, MID_FS_ERRORS_NONE, NULL,
                               "%s recorded no filesystem errors", dev);
        if (!r || (k >= 0 && check_result_set_value(r, "%" PRIu64, count) < 0))
                return -ENOMEM;
        return 0;
}

int health_check_disk(const struct node_settings *s, uint64_t deadline, struct check_list *l,
                      char **ret_fs_type) {
        return health_check_disk_figures(s, deadline, l, ret_fs_type, NULL);
}

int health_check_disk_figures(const struct node_settings *s, uint64_t deadline, struct check_list *l,
                              char **ret_fs_type, struct health_figures *fig) {
        _cleanup_(disk_facts_done) struct disk_facts f = {};
        const char *dir = s->data_dir;
        struct probes p = {};
        struct stat st;
        int r;

        r = stat(dir, &st) < 0 ? -errno : 0;
        if (r < 0 && r != -ENOENT && r != -ENOTDIR)
                return health_add(l, "data_dir", CHECK_UNKNOWN, MID_CHECK_ERROR, NULL,
                                  "cannot look at data directory '%s': %s", dir, strerror(-r)) ? 0 : -ENOMEM;
        if (r < 0 || !S_ISDIR(st.st_mode))
                return health_add(l, "data_dir", CHECK_FAIL, MID_DATA_DIR_MISSING,
                                  "run dind-cache install, or mount the cache disk there",
                                  "data directory '%s' does not exist or is not a directory", dir) ? 0 : -ENOMEM;
        r = disk_facts_get(dir, NULL, &f);
        if (r < 0)
                return health_add(l, "data_dir", CHECK_UNKNOWN, MID_CHECK_ERROR, NULL,
                                  "cannot read the facts of '%s': %s", dir, strerror(-r)) ? 0 : -ENOMEM;
        if (fig) {
                fig->disk_known = true;
                fig->disk_size = f.size;
                fig->disk_used = f.size >= f.free ? f.size - f.free : 0;
                fig->disk_available = f.avail;
                fig->inodes = f.inodes;
                fig->inodes_free = f.inodes_free;
        }

        if ((r = check_mount(dir, &f, l)) < 0 || (r = check_fs_type(&f, l)) < 0 ||
            (r = check_read_only(dir, &f, l)) < 0)
                return r;

        if (f.read_only) {
                if (!health_add(l, "d_type", CHECK_SKIP, MID_DTYPE_OK, NULL, "d_type not probed: read-only") ||
                    !health_add(l, "write_probe", CHECK_SKIP, MID_WRITE_FAILED, NULL, "write not probed: read-only"))
                        return -ENOMEM;
        } else if (health_time_left(deadline) == 0) {
                if (health_add_deadline_passed(l, "d_type", s->deadline_usec) < 0 ||
                    health_add_deadline_passed(l, "write_probe", s->deadline_usec) < 0)
                        return -ENOMEM;
        } else {
                r = run_probes(dir, health_call_timeout(s->timeout_usec, deadline), &p);
                if (r < 0)
                        return health_add(l, "write_probe", CHECK_UNKNOWN, MID_CHECK_ERROR, NULL,
                                          "cannot start the disk probes: %s", strerror(-r)) ? 0 : -ENOMEM;
                if ((r = check_dtype(dir, &p, l)) < 0 || (r = check_write(s, &p, l)) < 0)
                        return r;
        }

        if ((r = check_space(s, &f, l)) < 0 || (r = check_inodes(s, &f, l)) < 0 || (r = check_errors(&f, l)) < 0)
                return r;

        if (ret_fs_type && f.fs_type) {
                *ret_fs_type = strdup(f.fs_type);
                if (!*ret_fs_type)
                        return -ENOMEM;
        }
        return 0;
}
