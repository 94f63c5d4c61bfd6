/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading filesystem superblocks straight from a device or image file, mounted or
 * not, to learn what statfs cannot tell: whether XFS records file types in
 * directory entries (ftype), and whether ext4 has the filetype feature.
 * Never prints; returns negative errno: -EINVAL when the bytes are not that
 * filesystem's superblock, -EIO on a short read. */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct xfs_sb_info {
        unsigned version;       /* 4 or 5 */
        bool ftype;             /* directory entries carry d_type */
        uint32_t block_size;
        uint64_t data_blocks;
        char uuid[37];          /* "8-4-4-4-12" */
};

/* Parses the first 512 bytes of an XFS device (big-endian on disk). */
int xfs_sb_parse(const void *buf, size_t size, struct xfs_sb_info *ret);
/* Reads and parses the superblock of PATH (a device or image file). */
int xfs_sb_read(const char *path, struct xfs_sb_info *ret);

struct ext4_sb_info {
        bool filetype;          /* INCOMPAT_FILETYPE */
        bool has_journal;
        uint64_t block_count;
        uint32_t block_size;
        char uuid[37];
};

/* Parses the 1024-byte ext2/3/4 superblock (little-endian; it starts at byte 1024). */
int ext4_sb_parse(const void *buf, size_t size, struct ext4_sb_info *ret);
int ext4_sb_read(const char *path, struct ext4_sb_info *ret);
