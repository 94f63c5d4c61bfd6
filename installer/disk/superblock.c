/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "disk/superblock.h"
#include "base/util.h"

/* XFS, from the kernel's fs/xfs/libxfs/xfs_format.h (struct xfs_dsb, big-endian). */
#define XFS_SB_MAGIC 0x58465342u          /* "XFSB" */
#define XFS_SB_OFF_MAGIC 0
#define XFS_SB_OFF_BLOCKSIZE 4
#define XFS_SB_OFF_DBLOCKS 8
#define XFS_SB_OFF_UUID 32
#define XFS_SB_OFF_VERSIONNUM 100
#define XFS_SB_OFF_FEATURES2 200
#define XFS_SB_SIZE_USED 208              /* every field read lies before this */
#define XFS_SB_VERSION_NUMBITS 0x000fu
#define XFS_SB_VERSION_MOREBITSBIT 0x8000u
#define XFS_SB_VERSION2_FTYPE 0x00000200u

/* ext2/3/4, from fs/ext4/ext4.h (struct ext4_super_block, little-endian). */
#define EXT4_SB_OFFSET 1024               /* on the device */
#define EXT4_SB_SIZE 1024
#define EXT4_SB_MAGIC 0xEF53u
#define EXT4_OFF_BLOCKS_COUNT_LO 4
#define EXT4_OFF_LOG_BLOCK_SIZE 24
#define EXT4_OFF_MAGIC 56
#define EXT4_OFF_FEATURE_COMPAT 92
#define EXT4_OFF_FEATURE_INCOMPAT 96
#define EXT4_OFF_UUID 104
#define EXT4_OFF_BLOCKS_COUNT_HI 336
#define EXT4_SB_USED 340
#define EXT4_COMPAT_HAS_JOURNAL 0x0004u
#define EXT4_INCOMPAT_FILETYPE 0x0002u
#define EXT4_INCOMPAT_64BIT 0x0080u

static uint16_t be16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}
static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}
static uint64_t be64(const uint8_t *p) {
        return (uint64_t) be32(p) << 32 | be32(p + 4);
}
static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[1] << 8 | p[0]);
}
static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[3] << 24 | (uint32_t) p[2] << 16 | (uint32_t) p[1] << 8 | p[0];
}

static void uuid_format(const uint8_t *u, char ret[static 37]) {
        snprintf(ret, 37,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
                 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

int xfs_sb_parse(const void *buf, size_t size, struct xfs_sb_info *ret) {
        const uint8_t *b = buf;
        struct xfs_sb_info info = {};
        uint16_t versionnum;
        uint32_t features2 = 0;

        if (size < XFS_SB_SIZE_USED)
                return -EIO;
        if (be32(b + XFS_SB_OFF_MAGIC) != XFS_SB_MAGIC)
                return -EINVAL;

        versionnum = be16(b + XFS_SB_OFF_VERSIONNUM);
        info.version = versionnum & XFS_SB_VERSION_NUMBITS;
        if (info.version != 4 && info.version != 5)
                return -EINVAL; /* V1-V3 are long gone; anything else is not XFS we know */
        /* sb_features2 is only meaningful when the "more bits" flag says so. */
        if (versionnum & XFS_SB_VERSION_MOREBITSBIT)
                features2 = be32(b + XFS_SB_OFF_FEATURES2);
        /* V5 always records the file type (XFS_SB_FEAT_INCOMPAT_FTYPE is implied by
         * mkfs and required by the kernel for V5 directories); V4 only with the bit. */
        info.ftype = info.version == 5 || (features2 & XFS_SB_VERSION2_FTYPE);

        info.block_size = be32(b + XFS_SB_OFF_BLOCKSIZE);
        if (info.block_size < 512 || info.block_size > 65536 ||
            (info.block_size & (info.block_size - 1)))
                return -EINVAL;
        info.data_blocks = be64(b + XFS_SB_OFF_DBLOCKS);
        uuid_format(b + XFS_SB_OFF_UUID, info.uuid);

        *ret = info;
        return 0;
}

int ext4_sb_parse(const void *buf, size_t size, struct ext4_sb_info *ret) {
        const uint8_t *b = buf;
        struct ext4_sb_info info = {};
        uint32_t log_block_size, incompat;

        if (size < EXT4_SB_USED)
                return -EIO;
        if (le16(b + EXT4_OFF_MAGIC) != EXT4_SB_MAGIC)
                return -EINVAL;

        log_block_size = le32(b + EXT4_OFF_LOG_BLOCK_SIZE);
        if (log_block_size > 6) /* 1 KiB << 6 = 64 KiB, the largest ext4 allows */
                return -EINVAL;
        info.block_size = 1024u << log_block_size;

        incompat = le32(b + EXT4_OFF_FEATURE_INCOMPAT);
        info.filetype = incompat & EXT4_INCOMPAT_FILETYPE;
        info.has_journal = le32(b + EXT4_OFF_FEATURE_COMPAT) & EXT4_COMPAT_HAS_JOURNAL;
        info.block_count = le32(b + EXT4_OFF_BLOCKS_COUNT_LO);
        if (incompat & EXT4_INCOMPAT_64BIT)
                info.block_count |= (uint64_t) le32(b + EXT4_OFF_BLOCKS_COUNT_HI) << 32;
        uuid_format(b + EXT4_OFF_UUID, info.uuid);

        *ret = info;
        return 0;
}

/* Reads exactly SIZE bytes at OFFSET of PATH; -EIO on a short read. */
static int read_at(const char *path, off_t offset, void *buf, size_t size) {
        _cleanup_close_ int fd = -1;
        size_t done = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        while (done < size) {
                ssize_t n = pread(fd, (uint8_t *) buf + done, size - done, offset + (off_t) done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                done += (size_t) n;
        }
        return 0;
}

int xfs_sb_read(const char *path, struct xfs_sb_info *ret) {
        uint8_t buf[512];
        int r = read_at(path, 0, buf, sizeof(buf));
        return r < 0 ? r : xfs_sb_parse(buf, sizeof(buf), ret);
}

int ext4_sb_read(const char *path, struct ext4_sb_info *ret) {
        uint8_t buf[EXT4_SB_SIZE];
        int r = read_at(path, EXT4_SB_OFFSET, buf, sizeof(buf));
        return r < 0 ? r : ext4_sb_parse(buf, sizeof(buf), ret);
}
