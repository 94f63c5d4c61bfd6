/* SPDX-License-Identifier: MIT */
#pragma once

/* The tenants of this daemon: /var/lib/dind-cache/authz/tenants, one namespace a line,
 * sorted, written by install from its --allow-namespace list (before it hands out a
 * new tenant's certificate, and as it drops one). The plugin refuses a certificate
 * whose CN is a namespace that is not on it ("not-a-tenant"): a certificate the CA
 * issued to a namespace dropped since, or the one certificate every job shared before
 * per-tenant identities (CN dind-cache-ci), is refused though it still verifies.
 *
 * Invariants:
 * - No file is no list: every namespace CN passes (the plugin run by hand, or before an
 *   install wrote one); a file with no line lists no tenant at all.
 * - The reader looks at the file's identity on every refresh (base/util.h file_stamp)
 *   and reads it again when it changed: an install's change applies from the next
 *   request. A file that cannot be read is an error: the plugin then refuses every
 *   tenant ("tenant-list") until it can.
 * - A line that is not a DNS-1123 label is skipped (counted in n_bad); at most
 *   TENANTS_MAX_SIZE bytes are read.
 * - The writer writes the names sorted, each once, atomically (fsync'ed), mode 0644;
 *   the same list writes nothing.
 * - Library: never prints; negative errno. */

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

#define TENANTS_FILE "tenants"
#define TENANTS_MAX_SIZE (1u << 20)

struct tenants {
        char *path;
        struct file_stamp stamp;        /* the file read last */
        char **names;                   /* sorted, unique */
        size_t n;
        size_t n_bad;
};

/* PATH NULL: no list, never read (tests, the fuzzer). */
int tenants_init(struct tenants *t, const char *path);
void tenants_done(struct tenants *t);

/* Reads the file again when it changed: 1 read, 0 unchanged, negative errno (the
 * caller must refuse every tenant). */
int tenants_refresh(struct tenants *t);

/* Parses TEXT into T's list (replacing it); the list then exists, however short. */
int tenants_parse(struct tenants *t, const char *text, size_t size);

/* NAME may act as a tenant: it is listed, or there is no list. */
bool tenants_allow(const struct tenants *t, const char *name);

#define TENANTS_MODE 0644

/* The file's text for NAMES (NULL-terminated, or NULL: none): sorted, each once, a
 * line each. -EINVAL when a name is not a DNS-1123 label. */
int tenants_text(char *const *names, char **ret);

/* Writes tenants_text(NAMES) to PATH. 1 written, 0 unchanged, -EINVAL as above. */
int tenants_write(const char *path, char *const *names);

/* PATH holds exactly the list of NAMES: writing it would change nothing. */
bool tenants_written(const char *path, char *const *names);
