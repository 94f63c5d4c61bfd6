/* SPDX-License-Identifier: MIT */
#pragma once

/* The checker's settings file, /etc/dind-cache/dind-cache.env, read by systemd as the
 * service's EnvironmentFile= (and by `status`):
 *     DOCKER_HOST=tcp://10.96.0.12:2375
 *     DIND_CACHE_DATA_DIR=/mnt/k8s/docker
 *     DIND_CACHE_NODE=node1
 *
 * Invariants:
 * - Writing keeps what else the file holds (comments, thresholds such as
 *   DIND_CACHE_DISK_WARN that an administrator added): our keys are replaced in place
 *   (later duplicates dropped), missing ones appended. A key set to NULL is left as
 *   the file has it.
 * - Values are written unquoted when they are made of safe characters only, else in
 *   double quotes with \ " $ ` escaped, so systemd reads back exactly the value.
 *   Values with control characters (a newline) are refused (-EINVAL).
 * - The file holds no secret (an address, a path, a node name), so it is 0644: people
 *   and tools on the node may read where the cache is. Written atomically.
 * - Library code: never prints; negative errno. */

#include <stddef.h>

#define ENVFILE_MAX_SIZE (64u << 10)

struct envfile {
        char *docker_host;       /* DOCKER_HOST, or NULL */
        char *data_dir;          /* DIND_CACHE_DATA_DIR, or NULL */
        char *node;              /* DIND_CACHE_NODE, or NULL */
        char *textfile_dir;      /* DIND_CACHE_TEXTFILE_DIR (the metrics directory), or NULL;
                                  * an administrator's setting, which install only reads */
};

void envfile_done(struct envfile *e);

/* OLD (the file's current text, or NULL) with E's non-NULL keys set: a new text. */
int envfile_update_text(const char *old, const struct envfile *e, char **ret_text);

/* envfile_update_text() on PATH's content (missing: empty), written atomically with
 * mode 0644. Returns 1 when written, 0 when it already said exactly that. */
int envfile_write(const char *path, const struct envfile *e);

/* Our keys' values from TEXT (systemd's rules: comments, quotes, escapes; the last
 * assignment wins). Keys absent stay NULL. */
int envfile_parse(const char *text, size_t size, struct envfile *ret);
/* The same from PATH; -ENOENT when it does not exist, -EFBIG over ENVFILE_MAX_SIZE. */
int envfile_read(const char *path, struct envfile *ret);
