/* SPDX-License-Identifier: MIT */
#pragma once

/* The pruner's decisions, as pure functions of facts gathered once: the data
 * filesystem's use (statvfs), what the daemon holds, what the state file remembers.
 *
 * Invariants:
 * - Progress is judged by the filesystem (prune_fs_read() after each step), never by
 *   the bytes the daemon says it reclaimed: images and build cache share layers.
 * - An image any container uses (running or stopped) is never a candidate; one used
 *   within MIN_AGE is one only without the grace (above CRIT).
 * - Candidates come least recently used first; an image's last use is the latest of
 *   what the state file remembers, its Created time and its Metadata.LastTagTime, and
 *   a base image (its layers the bottom of another image's) is used when any image
 *   built on it is, and in use when any of them is.
 * - Library: never prints. */

#include <stdbool.h>
#include <stdint.h>

#include "docker/docker-prune.h"
#include "base/settings.h"
#include "prune/prune-state.h"

struct prune_fs {
        uint64_t size;            /* used + available to unprivileged users, as df counts */
        uint64_t used;
        uint64_t avail;
        int percent;              /* used of size, rounded up as df does */
};

/* statvfs of PATH. */
int prune_fs_read(const char *path, struct prune_fs *ret);
/* The same from statvfs numbers (for tests). */
void prune_fs_from_counts(uint64_t blocks, uint64_t bfree, uint64_t bavail, uint64_t frsize,
                          struct prune_fs *ret);

/* FS with BYTES fewer used (a dry run's estimate of a step). */
void prune_fs_lower(struct prune_fs *fs, uint64_t bytes);

/* Bytes to free so that use falls under PERCENT: used - size * PERCENT / 100, or 0. */
uint64_t prune_bytes_over(const struct prune_fs *fs, int percent);

/* The parameters of POST /build/prune above HIGH (CRIT false: keep RESERVE% of the
 * filesystem, cap the cache at LOW%, free until LOW is reached) or above CRIT (no
 * reserve, no cap; `all`, every record images still hold too, is the caller's last
 * resort, set after). CACHE_BYTES is the cache's own size, for keep-storage, which
 * older daemons read instead. */
void prune_build_params(const struct prune_fs *fs, const struct node_settings *s, bool crit,
                        uint64_t cache_bytes, struct docker_build_prune *ret);

enum prune_verdict {
        PRUNE_CANDIDATE,
        PRUNE_KEEP_IN_USE,        /* a container uses it */
        PRUNE_KEEP_RECENT,        /* used within MIN_AGE */
};

struct prune_image {
        const struct docker_image *image;
        int64_t last_use;         /* unix seconds */
        enum prune_verdict verdict;
};

/* Every image of IMAGES with its last use and verdict, least recently used first
 * (ties: larger first, then by id). GRACE false ignores MIN_AGE. RET_ITEMS is freed
 * with free(); the images stay IMAGES'. */
int prune_plan_images(const struct docker_image_list *images, const struct docker_container_list *containers,
                      const struct prune_state *state, int64_t now, uint64_t min_age_usec, bool grace,
                      struct prune_image **ret_items, size_t *ret_n);
