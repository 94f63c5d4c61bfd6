/* SPDX-License-Identifier: MIT */
/* The superblock reader on byte buffers built from the documented on-disk layouts
 * (xfs_format.h, ext4.h); the integration tests read real images made by mkfs. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "disk/superblock.h"

static const uint8_t uuid_bytes[16] = { 0x6a, 0xd4, 0xc9, 0x46, 0x73, 0x16, 0x4c, 0x25,
                                        0xbd, 0x45, 0x9c, 0xd0, 0xdd, 0x22, 0x69, 0x1c };
#define UUID_TEXT "6ad4c946-7316-4c25-bd45-9cd0dd22691c"

static void put_be16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}
static void put_be32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (24 - 8 * i));
}
static void put_be64(uint8_t *p, uint64_t v) {
        put_be32(p, (uint32_t) (v >> 32));
        put_be32(p + 4, (uint32_t) v);
}
static void put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}
static void put_le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* An XFS superblock as mkfs.xfs writes it: VERSIONNUM at 100, FEATURES2 at 200. */
static void make_xfs(uint8_t buf[512], uint16_t versionnum, uint32_t features2) {
        memset(buf, 0, 512);
        memcpy(buf, "XFSB", 4);
        put_be32(buf + 4, 4096);
        put_be64(buf + 8, 76800);
        memcpy(buf + 32, uuid_bytes, 16);
        put_be16(buf + 100, versionnum);
        put_be32(buf + 200, features2);
        put_be32(buf + 204, features2); /* sb_bad_features2 mirrors it */
}

static void xfs_v5_always_has_ftype(void **state) {
        uint8_t buf[512];
        struct xfs_sb_info i;

        make_xfs(buf, 0xb4a5, 0x18a); /* mkfs.xfs defaults: crc=1 */
        assert_int_equal(xfs_sb_parse(buf, sizeof(buf), &i), 0);
        assert_int_equal(i.version, 5);
        assert_true(i.ftype);
        assert_int_equal(i.block_size, 4096);
        assert_int_equal(i.data_blocks, 76800);
        assert_string_equal(i.uuid, UUID_TEXT);
}

static void xfs_v4_without_ftype_bit_has_no_ftype(void **state) {
        uint8_t buf[512];
        struct xfs_sb_info i;

        make_xfs(buf, 0xb4a4, 0x08a); /* mkfs.xfs -m crc=0 -n ftype=0 */
        assert_int_equal(xfs_sb_parse(buf, sizeof(buf), &i), 0);
        assert_int_equal(i.version, 4);
        assert_false(i.ftype);
}

static void xfs_v4_with_ftype_bit_has_ftype(void **state) {
        uint8_t buf[512];
        struct xfs_sb_info i;

        make_xfs(buf, 0xb4a4, 0x28a); /* mkfs.xfs -m crc=0 -n ftype=1 */
        assert_int_equal(xfs_sb_parse(buf, sizeof(buf), &i), 0);
        assert_int_equal(i.version, 4);
        assert_true(i.ftype);
}

static void xfs_v4_features2_ignored_without_morebits(void **state) {
        uint8_t buf[512];
        struct xfs_sb_info i;

        make_xfs(buf, 0x34a4, 0x200); /* MOREBITSBIT clear: features2 is garbage */
        assert_int_equal(xfs_sb_parse(buf, sizeof(buf), &i), 0);
        assert_false(i.ftype);
}

static void xfs_bad_magic_is_einval(void **state) {
        uint8_t buf[512];
        struct xfs_sb_info i = { .version = 42 };

        make_xfs(buf, 0xb4a5, 0);
        memcpy(buf, "XFSC", 4);
        assert_int_equal(xfs_sb_parse(buf, sizeof(buf), &i), -EINVAL);
        assert_int_equal(i.version, 42); /* untouched */
}

static void xfs_unknown_version_is_einval(void **state) {
        uint8_t buf[512];
        struct xfs_sb_info i;

        make_xfs(buf, 0xb4a3, 0);
        assert_int_equal(xfs_sb_parse(buf, sizeof(buf), &i), -EINVAL);
        make_xfs(buf, 0xb4a6, 0);
        assert_int_equal(xfs_sb_parse(buf, sizeof(buf), &i), -EINVAL);
}

static void xfs_bad_block_size_is_einval(void **state) {
        uint8_t buf[512];
        struct xfs_sb_info i;

        make_xfs(buf, 0xb4a5, 0);
        put_be32(buf + 4, 4097);
        assert_int_equal(xfs_sb_parse(buf, sizeof(buf), &i), -EINVAL);
}

static void xfs_truncated_is_eio(void **state) {
        uint8_t buf[512];
        struct xfs_sb_info i;

        make_xfs(buf, 0xb4a5, 0);
        assert_int_equal(xfs_sb_parse(buf, 100, &i), -EIO);
        assert_int_equal(xfs_sb_parse(buf, 0, &i), -EIO);
}

/* The 1024-byte ext4 superblock (it lives at byte 1024 of the device). */
static void make_ext4(uint8_t buf[1024], uint32_t compat, uint32_t incompat) {
        memset(buf, 0, 1024);
        put_le32(buf + 4, 307200);    /* s_blocks_count_lo */
        put_le32(buf + 24, 2);        /* s_log_block_size: 4096 */
        put_le16(buf + 56, 0xEF53);   /* s_magic */
        put_le32(buf + 92, compat);
        put_le32(buf + 96, incompat);
        memcpy(buf + 104, uuid_bytes, 16);
}

static void ext4_with_filetype(void **state) {
        uint8_t buf[1024];
        struct ext4_sb_info i;

        make_ext4(buf, 0x3c, 0x2c2); /* mkfs.ext4 defaults */
        assert_int_equal(ext4_sb_parse(buf, sizeof(buf), &i), 0);
        assert_true(i.filetype);
        assert_true(i.has_journal);
        assert_int_equal(i.block_size, 4096);
        assert_int_equal(i.block_count, 307200);
        assert_string_equal(i.uuid, UUID_TEXT);
}

static void ext4_without_filetype(void **state) {
        uint8_t buf[1024];
        struct ext4_sb_info i;

        make_ext4(buf, 0x38, 0x0); /* mkfs.ext2 -O ^filetype */
        assert_int_equal(ext4_sb_parse(buf, sizeof(buf), &i), 0);
        assert_false(i.filetype);
        assert_false(i.has_journal);
}

static void ext4_64bit_block_count_uses_high_word(void **state) {
        uint8_t buf[1024];
        struct ext4_sb_info i;

        make_ext4(buf, 0x3c, 0x2c2); /* mkfs.ext4's defaults include 64bit (0x80) */
        put_le32(buf + 336, 1);
        assert_int_equal(ext4_sb_parse(buf, sizeof(buf), &i), 0);
        assert_int_equal(i.block_count, (1ULL << 32) + 307200);

        make_ext4(buf, 0x3c, 0x2c2 & ~0x80u); /* no 64bit: the high word is ignored */
        put_le32(buf + 336, 1);
        assert_int_equal(ext4_sb_parse(buf, sizeof(buf), &i), 0);
        assert_int_equal(i.block_count, 307200);
}

static void ext4_bad_magic_and_truncated(void **state) {
        uint8_t buf[1024];
        struct ext4_sb_info i;

        make_ext4(buf, 0x3c, 0x2c2);
        put_le16(buf + 56, 0x53EF); /* byte-swapped */
        assert_int_equal(ext4_sb_parse(buf, sizeof(buf), &i), -EINVAL);
        make_ext4(buf, 0x3c, 0x2c2);
        assert_int_equal(ext4_sb_parse(buf, 57, &i), -EIO);
        put_le32(buf + 24, 40); /* absurd block size */
        assert_int_equal(ext4_sb_parse(buf, sizeof(buf), &i), -EINVAL);
}

/* The readers find the superblocks at their places in a file. */
static void read_from_image_files(void **state) {
        char path[] = "/tmp/test-superblock-XXXXXX";
        uint8_t x[512], e[1024], zero[2048] = {};
        struct xfs_sb_info xi;
        struct ext4_sb_info ei;
        int fd = mkostemp(path, O_CLOEXEC);

        assert_true(fd >= 0);
        make_xfs(x, 0xb4a4, 0x28a);
        assert_int_equal(pwrite(fd, x, sizeof(x), 0), sizeof(x));
        assert_int_equal(xfs_sb_read(path, &xi), 0);
        assert_true(xi.ftype);
        assert_int_equal(ext4_sb_read(path, &ei), -EIO); /* too short for byte 1024 */

        assert_int_equal(pwrite(fd, zero, sizeof(zero), 0), sizeof(zero));
        make_ext4(e, 0x3c, 0x2c2);
        assert_int_equal(pwrite(fd, e, sizeof(e), 1024), sizeof(e));
        assert_int_equal(ext4_sb_read(path, &ei), 0);
        assert_true(ei.filetype);
        assert_int_equal(xfs_sb_read(path, &xi), -EINVAL);

        close(fd);
        unlink(path);
        assert_int_equal(xfs_sb_read(path, &xi), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(xfs_v5_always_has_ftype),
                cmocka_unit_test(xfs_v4_without_ftype_bit_has_no_ftype),
                cmocka_unit_test(xfs_v4_with_ftype_bit_has_ftype),
                cmocka_unit_test(xfs_v4_features2_ignored_without_morebits),
                cmocka_unit_test(xfs_bad_magic_is_einval),
                cmocka_unit_test(xfs_unknown_version_is_einval),
                cmocka_unit_test(xfs_bad_block_size_is_einval),
                cmocka_unit_test(xfs_truncated_is_eio),
                cmocka_unit_test(ext4_with_filetype),
                cmocka_unit_test(ext4_without_filetype),
                cmocka_unit_test(ext4_64bit_block_count_uses_high_word),
                cmocka_unit_test(ext4_bad_magic_and_truncated),
                cmocka_unit_test(read_from_image_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
