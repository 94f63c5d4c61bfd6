/* SPDX-License-Identifier: MIT */
#pragma once

/* Wiping the data directory's contents for `uninstall --wipe-data`. Never prints.
 *
 * Invariants: only what lies inside DIR is removed, never DIR itself; symbolic
 * links are removed as links, never followed; nothing on another filesystem is
 * touched (a mount anywhere beneath DIR refuses the whole wipe before anything is
 * removed, and an entry on another device is left alone); the device and its
 * filesystem signature are never written to directly; a directory that is in use
 * as far as the mount table tells (see below) is not wiped at all. */

#include <stdbool.h>
#include <stdint.h>

/* How deep the tree may go (Docker's data root is a few levels deep). */
#define WIPE_MAX_DEPTH 128

struct wipe_stats {
        uint64_t removed;      /* entries removed */
        uint64_t skipped;      /* entries left: on another device */
};

/* True for paths whose contents are never wiped: "/", and the top-level system
 * directories (/etc, /usr, /var, /var/lib, /home, /mnt, ...). */
bool wipe_path_is_protected(const char *path);

/* Removes everything inside DIR (absolute). MOUNTINFO: the mount table to look for
 * mounts (NULL: /proc/self/mountinfo). -EPERM for a protected path, -EBUSY when
 * something is mounted beneath DIR or the part of its filesystem DIR shows is also
 * mounted elsewhere (the kubelet's bind mount into a running pod), -ENOTDIR when DIR is not a
 * directory or not its canonical path (a symlink on the way), -ELOOP deeper than WIPE_MAX_DEPTH; otherwise the
 * first error met (the rest is still attempted). RET is filled in every case. */
int wipe_directory_contents(const char *dir, const char *mountinfo, struct wipe_stats *ret);
