/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared between blockdev.c (facts and checks) and blockdev-format.c (mkfs). */

#include <sys/stat.h>

#include "disk/blockdev.h"

/* Opens PATH O_RDONLY|O_CLOEXEC|O_NONBLOCK|EXTRA_FLAGS and checks it is a block
 * device: the fd, -ENOTBLK, or the open's negative errno. */
int blockdev_open(const char *path, int extra_flags, struct stat *ret_st);

struct mountinfo;

/* Fills I (whose path is set) from FD, open on PATH, and the mount table MOUNTS (NULL:
 * read it). With HOLDING_EXCL the caller holds the O_EXCL open itself, so that test is
 * left out. */
int blockdev_inspect_fd(const char *path, int fd, const struct stat *st, bool holding_excl,
                        const struct mountinfo *mounts, struct blockdev_info *i);
