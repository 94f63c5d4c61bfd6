/* SPDX-License-Identifier: MIT */
#pragma once

/* The sealed mount point. While the cache disk is not mounted, the data directory is
 * an ordinary directory of the filesystem beneath (the root filesystem, usually), and
 * a pod started then would fill that filesystem. Sealing sets the immutable attribute
 * (FS_IMMUTABLE_FL, as chattr +i) on that bare directory: nothing can create anything
 * in it while nothing is mounted on it (mkdir, open O_CREAT, O_TMPFILE all fail with
 * EPERM), while the root of a filesystem mounted on it is writable as usual and is
 * not touched. Mounting needs no change to the attribute: mounting the disk again
 * brings everything back.
 *
 * The bare directory is reached beneath whatever is mounted on it, without unmounting
 * anything: through a detached, non-recursive clone of the parent directory's mount
 * (open_tree(2) OPEN_TREE_CLONE), which shows the parent's filesystem without the
 * mounts on top of it, and vanishes when closed. Needs CAP_SYS_ADMIN (open_tree) and
 * CAP_LINUX_IMMUTABLE (to change the attribute). Never prints; negative errno. */

#include <stdbool.h>

/* 1 when the bare directory DIR (absolute, not "/") is immutable, 0 when not;
 * -EOPNOTSUPP when its filesystem keeps no such attribute (tmpfs on old kernels),
 * -ENOENT, -EPERM (not root), ... */
int seal_state(const char *dir);

/* Sets (SEAL) or clears the immutable attribute of the bare directory DIR, leaving its
 * other attributes as they are. 1 when it changed, 0 when it already was so. */
int seal_set(const char *dir, bool seal);

/* The immutable attribute of DIR itself (not beneath a mount): 1, 0, or <0. For the
 * checker, when DIR is known not to be a mount point. */
int seal_state_here(const char *dir);
