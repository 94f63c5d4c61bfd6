/* SPDX-License-Identifier: MIT */
/* disk/superblock.h: any bytes (a device's first 512 bytes for XFS, the 1024 at offset
 * 1024 for ext4) are judged without reading out of bounds; what is accepted agrees with
 * the on-disk format read independently here, and reading the same bytes from a file
 * gives the same answer. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "disk/superblock.h"
#include "fuzz.h"

static uint64_t be(const uint8_t *p, unsigned n) {
        uint64_t v = 0;
        for (unsigned i = 0; i < n; i++)
                v = v << 8 | p[i];
        return v;
}
static uint64_t le(const uint8_t *p, unsigned n) {
        uint64_t v = 0;
        for (unsigned i = n; i > 0; i--)
                v = v << 8 | p[i - 1];
        return v;
}

static void uuid_text(const uint8_t *u, char out[37]) {
        char *o = out;
        for (unsigned i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *o++ = '-';
                o += sprintf(o, "%02x", u[i]);
        }
}

/* A file holding DATA at OFFSET (zeros before), as /proc/self/fd/N in NAME. */
static int file_with(const uint8_t *data, size_t size, off_t offset, char name[static 64]) {
        int fd = memfd_create("sb", MFD_CLOEXEC);

        FUZZ_ASSERT(fd >= 0);
        FUZZ_ASSERT(pwrite(fd, data, size, offset) == (ssize_t) size);
        snprintf(name, 64, "/proc/self/fd/%d", fd);
        return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct xfs_sb_info x = {}, x2 = {};
        struct ext4_sb_info e = {}, e2 = {};
        char name[64], uuid[37];
        int r, r2, fd;

        if (size > 4096)
                return 0;

        /* XFS: big-endian, the fields of xfs_sb in xfs_format.h. */
        r = xfs_sb_parse(data, size, &x);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -EIO);
        FUZZ_ASSERT((r == -EIO) == (size < 208));
        if (r == 0) {
                uint16_t versionnum = (uint16_t) be(data + 100, 2);
                uint32_t features2 = versionnum & 0x8000 ? (uint32_t) be(data + 200, 4) : 0;

                FUZZ_ASSERT(be(data, 4) == 0x58465342);
                FUZZ_ASSERT(x.version == (versionnum & 0xf) && (x.version == 4 || x.version == 5));
                FUZZ_ASSERT(x.ftype == (x.version == 5 || (features2 & 0x200)));
                FUZZ_ASSERT(x.block_size == be(data + 4, 4) && x.block_size >= 512 && x.block_size <= 65536 &&
                            (x.block_size & (x.block_size - 1)) == 0);
                FUZZ_ASSERT(x.data_blocks == be(data + 8, 8));
                uuid_text(data + 32, uuid);
                FUZZ_ASSERT(strcmp(x.uuid, uuid) == 0);
        }
        fd = file_with(data, size, 0, name);
        r2 = xfs_sb_read(name, &x2);
        close(fd);
        FUZZ_ASSERT(r2 == (size < 512 ? -EIO : r));
        if (r == 0 && r2 == 0)
                FUZZ_ASSERT(memcmp(&x, &x2, sizeof(x)) == 0);

        /* ext2/3/4: little-endian, struct ext4_super_block. */
        r = ext4_sb_parse(data, size, &e);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -EIO);
        FUZZ_ASSERT((r == -EIO) == (size < 340));
        if (r == 0) {
                uint32_t incompat = (uint32_t) le(data + 96, 4);

                FUZZ_ASSERT(le(data + 56, 2) == 0xef53);
                FUZZ_ASSERT(le(data + 24, 4) <= 6 && e.block_size == 1024u << le(data + 24, 4));
                FUZZ_ASSERT(e.filetype == !!(incompat & 0x2));
                FUZZ_ASSERT(e.has_journal == !!(le(data + 92, 4) & 0x4));
                FUZZ_ASSERT(e.block_count == (le(data + 4, 4) | (incompat & 0x80 ? le(data + 336, 4) << 32 : 0)));
                uuid_text(data + 104, uuid);
                FUZZ_ASSERT(strcmp(e.uuid, uuid) == 0);
        }
        fd = file_with(data, size, 1024, name);
        r2 = ext4_sb_read(name, &e2);
        close(fd);
        FUZZ_ASSERT(r2 == (size < 1024 ? -EIO : r));
        if (r == 0 && r2 == 0)
                FUZZ_ASSERT(memcmp(&e, &e2, sizeof(e)) == 0);
        return 0;
}
