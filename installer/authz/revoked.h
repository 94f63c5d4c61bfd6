/* SPDX-License-Identifier: MIT */
#pragma once

/* The deny list: /var/lib/dind-cache/authz/revoked, one line per revoked certificate,
 * "SERIAL<TAB>CN<TAB>UNIX-TIME", SERIAL in upper-case hex as `openssl x509 -noout
 * -serial` prints it (the identity contract). dockerd reads no CRL: this list is how a
 * leaked client certificate stops working before it expires.
 *
 * Invariants:
 * - The reader looks at the file's identity (inode, size, modification time) on every
 *   refresh and reads it again when it changed, so that a revocation applies from the
 *   next request; a missing file is an empty list.
 * - Serials compare as numbers: case and leading zeros do not matter. The list is kept
 *   sorted, each serial once: reading it and looking a serial up stay quick however long
 *   it grows (60,000 lines took 10 s with a list searched from the start, and every
 *   request waited for it).
 * - A line that does not hold a serial is skipped (counted in n_bad); a file that
 *   cannot be read is an error, and the plugin then refuses every certificate (it
 *   cannot tell which are revoked).
 * - The writer adds a line and replaces the file atomically (fsync'ed: a revocation
 *   must survive a crash), mode 0644; adding a serial already there changes nothing.
 * - At most REVOKED_MAX_SIZE bytes are read.
 * - Library: never prints; negative errno. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "base/util.h"

#define REVOKED_FILE "revoked"
#define REVOKED_MAX_SIZE (16u << 20)

struct revoked {
        char *path;
        struct file_stamp stamp;        /* the file read last */
        char **serials;                 /* normalized (upper case, no leading zeros), sorted, unique */
        size_t n;
        size_t n_bad;
};

/* PATH NULL: an empty list, never read (tests, the fuzzer). */
int revoked_init(struct revoked *r, const char *path);
void revoked_done(struct revoked *r);

/* Reads the file again when it changed: 1 read, 0 unchanged, negative errno (the
 * list is then empty and the caller must refuse). */
int revoked_refresh(struct revoked *r);

/* SERIAL (any case, leading zeros or not) is on the list. */
bool revoked_contains(const struct revoked *r, const char *serial);

/* Parses TEXT into R's list (replacing it). */
int revoked_parse(struct revoked *r, const char *text, size_t size);

/* SERIAL in its normalized form into BUF (at least 48 bytes): -EINVAL when it is not
 * hex (an optional "-" first, at most 40 digits). */
int revoked_normalize_serial(const char *serial, char *buf, size_t size);

/* Adds SERIAL (named CN, at time WHEN) to the file at PATH. 1 added, 0 already there,
 * -EINVAL a bad serial or a CN with a tab or a control character. */
int revoked_add(const char *path, const char *serial, const char *cn, time_t when);
