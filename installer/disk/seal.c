/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "disk/seal.h"

/* The errors by which a filesystem says it keeps no such attribute. */
static int unsupported(int e) {
        return e == ENOTTY || e == EOPNOTSUPP || e == EINVAL || e == ENOSYS ? -EOPNOTSUPP : -e;
}

/* An fd (O_RDONLY) on the directory DIR of the filesystem beneath any mount on DIR. */
static int open_beneath(const char *dir) {
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int tree = -1;
        const char *base;
        struct stat st_tree, st_dir;
        char *slash;
        int fd;

        if (isempty(dir) || dir[0] != '/')
                return -EINVAL;
        parent = strdup(dir);
        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        base = dir + (slash - parent) + 1;
        if (isempty(base) || streq(base, ".") || streq(base, ".."))
                return -EINVAL;
        if (slash == parent)
                slash[1] = '\0'; /* "/docker": the parent is "/" */
        else
                *slash = '\0';

        /* Not recursive: the clone holds the parent's mount only, none of the mounts
         * on top of it, so DIR in it is the bare directory. */
        tree = open_tree(AT_FDCWD, parent, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return -errno;
        fd = openat(tree, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(tree, &st_tree) < 0 || fstat(fd, &st_dir) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (st_tree.st_dev != st_dir.st_dev) {
                close(fd); /* a mount came along with the clone: not the bare directory */
                return -EXDEV;
        }
        return fd;
}

static int get_flags(int fd, int *ret) {
        int flags = 0;

        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return unsupported(errno);
        *ret = flags;
        return 0;
}

int seal_state(const char *dir) {
        _cleanup_close_ int fd = open_beneath(dir);
        int flags, r;

        if (fd < 0)
                return fd;
        r = get_flags(fd, &flags);
        if (r < 0)
                return r;
        return !!(flags & FS_IMMUTABLE_FL);
}

int seal_state_here(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        int flags, r;

        if (fd < 0)
                return -errno;
        r = get_flags(fd, &flags);
        if (r < 0)
                return r;
        return !!(flags & FS_IMMUTABLE_FL);
}

int seal_set(const char *dir, bool seal) {
        _cleanup_close_ int fd = open_beneath(dir);
        int flags, want, r;

        if (fd < 0)
                return fd;
        r = get_flags(fd, &flags);
        if (r < 0)
                return r;
        want = seal ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        if (want == flags)
                return 0;
        if (ioctl(fd, FS_IOC_SETFLAGS, &want) < 0)
                return unsupported(errno);
        return 1;
}
