/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "disk/mountinfo.h"
#include "base/util.h"
#include "disk/wipe.h"

bool wipe_path_is_protected(const char *path) {
        static const char *const protected_dirs[] = {
                "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32",
                "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp",
                "/usr", "/usr/local", "/var", "/var/lib", "/var/tmp", "/var/log",
        };
        size_t n = strlen(path);

        /* Compare without trailing slashes. */
        while (n > 1 && path[n - 1] == '/')
                n--;
        for (size_t i = 0; i < ELEMENTSOF(protected_dirs); i++)
                if (strlen(protected_dirs[i]) == n && strncmp(path, protected_dirs[i], n) == 0)
                        return true;
        return false;
}

static bool path_within(const char *path, const char *dir) {
        size_t n = strlen(dir);
        if (streq(dir, "/"))
                return true;
        return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* -EBUSY when a mount point lies strictly beneath DIR, or when the part of DIR's
 * filesystem that DIR shows is mounted somewhere else too (the kubelet's bind mount
 * of a local volume into a pod: a daemon may be using it). */
static int check_not_in_use(const char *dir, const char *mountinfo) {
        _cleanup_(mountinfo_done) struct mountinfo m = {};
        _cleanup_free_ char *rel = NULL;
        const struct mountinfo_entry *own;
        size_t n = strlen(dir);
        int r;

        /* Read right before the wipe, once for both questions. */
        r = mountinfo_read(mountinfo, &m);
        if (r < 0)
                return r;
        own = mountinfo_holder(&m, dir);
        if (!own)
                return -ENOENT;
        /* DIR's path inside its filesystem: the mount's root plus what follows the
         * mount point. */
        const char *tail = dir + strlen(own->mount_point);
        if (streq(own->mount_point, "/"))
                tail = dir;
        rel = strdup_printf("%s%s", streq(own->root, "/") && *tail ? "" : own->root, tail);
        if (!rel)
                return -ENOMEM;
        for (size_t i = 0; i < m.n; i++) {
                const struct mountinfo_entry *e = &m.entries[i];

                if ((strncmp(e->mount_point, dir, n) == 0 && e->mount_point[n] == '/' && e->mount_point[n + 1]) ||
                    (e->dev == own->dev && e->id != own->id && !path_within(dir, e->mount_point) &&
                     path_within(e->root, rel)))
                        return -EBUSY;
        }
        return 0;
}

static int wipe_fd(int dfd, dev_t dev, unsigned depth, struct wipe_stats *st) {
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > WIPE_MAX_DEPTH) {
                close(dfd);
                return -ELOOP;
        }
        d = fdopendir(dfd);
        if (!d) {
                r = -errno;
                close(dfd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                struct stat sb;
                int q = 0;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
                        q = errno == ENOENT ? 0 : -errno;
                } else if (sb.st_dev != dev) {
                        st->skipped++;
                } else if (S_ISDIR(sb.st_mode)) {
                        int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        struct stat cb;

                        if (cfd < 0)
                                q = -errno;
                        else if (fstat(cfd, &cb) < 0 || cb.st_dev != dev || cb.st_ino != sb.st_ino) {
                                /* Replaced or mounted over since fstatat: leave it. */
                                close(cfd);
                                st->skipped++;
                        } else {
                                q = wipe_fd(cfd, dev, depth + 1, st);
                                if (q >= 0 || q == -ELOOP) {
                                        if (q >= 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
                                                q = -errno;
                                        else if (q >= 0)
                                                st->removed++;
                                }
                        }
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                        q = errno == ENOENT ? 0 : -errno;
                else
                        st->removed++;
                if (q < 0 && r == 0)
                        r = q;
        }
        if (errno != 0 && r == 0)
                r = -errno;
        closedir(d);
        return r;
}

int wipe_directory_contents(const char *dir, const char *mountinfo, struct wipe_stats *ret) {
        struct wipe_stats st = {};
        struct stat sb;
        int fd, r;

        *ret = st;
        if (!dir || dir[0] != '/')
                return -EINVAL;
        if (wipe_path_is_protected(dir))
                return -EPERM;
        /* No symlink anywhere on the way: the path must be its own canonical form. */
        _cleanup_free_ char *canonical = realpath(dir, NULL);
        if (!canonical)
                return -errno;
        if (!streq(canonical, dir))
                return -ENOTDIR;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP ? -ENOTDIR : -errno;
        if (fstat(fd, &sb) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        r = check_not_in_use(dir, mountinfo);
        if (r < 0) {
                close(fd);
                return r;
        }
        r = wipe_fd(fd, sb.st_dev, 0, &st);
        *ret = st;
        return r;
}
