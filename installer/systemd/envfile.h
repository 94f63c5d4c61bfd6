/* SPDX-License-Identifier: MIT */
#pragma once

/* The checker's settings file, /etc/dind-cache/dind-cache.env, read by systemd as the
 * service's EnvironmentFile= (and by `status`):
 *     DOCKER_HOST=tcp://10.96.0.12:2375
 *     DIND_CACHE_DATA_DIR=/mnt/k8s/docker
 *     DIND_CACHE_NODE=node1
 *     DIND_CACHE_INSTANCE=a                    (a named instance only)
 *     DOCKER_TLS_VERIFY=1
 *     DOCKER_CERT_PATH=/etc/dind-cache/pki/checker
 *     DIND_CACHE_PRUNE_CERT_PATH=/etc/dind-cache/pki/pruner
 *     DIND_CACHE_AUTHZ_SOCKET=/run/dind-cache/plugins/dind-cache-authz.sock   ("" plaintext)
 *
 * Invariants:
 * - The reader is systemd's EnvironmentFile= parser (src/basic/env-file.c): values
 *   may run across lines (a trailing backslash, quotes), CR ends a line; a NUL
 *   anywhere in the file, or invalid UTF-8 in a key or value, refuses the whole file
 *   (-EBADMSG), as systemd then refuses to start the unit.
 * - One rule differs by version: in systemd 252 (Debian 12) a comment ending in a
 *   backslash runs on over the next line; since systemd 254 (Debian 13) the line break
 *   ends it and the next line counts ("# note \" then "X=1": X unset, then set). A
 *   file the two read alike (almost every file: the rule only matters for a comment
 *   ending in a backslash) is read and written normally. A file they would read
 *   differently (their whole environments compared) is refused, -EBADMSG, naming the
 *   comment's line and the line read two ways (envfile_explain()). Refused rather than
 *   kept as it was: a kept line is still read two ways, and on 254 such a line can
 *   open a quote that swallows the settings written after it, or set a key ours
 *   replaced earlier; nor written back by one version's rules, which silently drops
 *   what the other set (the fault this replaces: normalised by 252's rules, the
 *   service on 254 lost the assignment it had).
 * - Writing keeps what else the file holds (comments, thresholds such as
 *   DIND_CACHE_DISK_WARN that an administrator added), but writes the whole file back
 *   normalised: every assignment as one KEY=VALUE line that systemd reads back as the
 *   same value, comments and ignored lines cut where systemd ends them, so no line
 *   can swallow the next. Our keys are replaced in place (later duplicates dropped),
 *   missing ones appended. A key set to NULL is left with the value it has.
 * - Values are written unquoted when they are made of safe characters only, else in
 *   double quotes with \ " $ ` escaped, so systemd reads back exactly the value.
 *   Our values with control characters (a newline) or invalid UTF-8 are refused
 *   (-EINVAL); a file the reader refuses is refused (-EBADMSG), untouched. What is
 *   written is read the same by every systemd version (no comment ends in a
 *   backslash).
 * - The file holds no secret (an address, paths, a node name), so a new one is 0644:
 *   people and tools on the node may read where the cache is. An existing file keeps
 *   a stricter mode an administrator gave it (never more than 0644). Written
 *   atomically.
 * - Library code: never prints; negative errno. */

#include <stddef.h>

#define ENVFILE_MAX_SIZE (64u << 10)

struct envfile {
        char *docker_host;       /* DOCKER_HOST, or NULL */
        char *data_dir;          /* DIND_CACHE_DATA_DIR, or NULL */
        char *node;              /* DIND_CACHE_NODE, or NULL */
        char *tls_verify;        /* DOCKER_TLS_VERIFY: "1", "" (plaintext), or NULL */
        char *cert_path;         /* DOCKER_CERT_PATH: the checker's ca/cert/key.pem folder
                                  * (paths only: the key stays in its 0600 file) */
        char *prune_cert_path;   /* DIND_CACHE_PRUNE_CERT_PATH: the pruner's folder, or NULL */
        char *instance;          /* DIND_CACHE_INSTANCE: the instance's name (kube/instance.h);
                                  * absent for the unnamed one, whose install never writes it */
        char *textfile_dir;      /* DIND_CACHE_TEXTFILE_DIR (the metrics directory), or NULL;
                                  * an administrator's setting, which install only reads */
        char *authz_socket;      /* DIND_CACHE_AUTHZ_SOCKET: the plugin's socket the checker
                                  * asks, "" (plaintext: install left the plugin out), or NULL */
};

void envfile_done(struct envfile *e);

/* OLD (the file's current text, or NULL) with E's non-NULL keys set: a new text. */
int envfile_update_text(const char *old, const struct envfile *e, char **ret_text);

/* envfile_update_text() on PATH's content (missing: empty), written atomically with
 * mode 0644. Returns 1 when written, 0 when it already said exactly that. */
int envfile_write(const char *path, const struct envfile *e);

/* Our keys' values from TEXT[0..SIZE) (systemd's rules: comments, quotes, escapes; the
 * last assignment wins). Keys absent stay NULL. -EBADMSG when systemd refuses the file
 * (a NUL in it, invalid UTF-8 in a key or value), or systemd 252 and 254 would read it
 * differently. */
int envfile_parse(const char *text, size_t size, struct envfile *ret);
/* The same from PATH; -ENOENT when it does not exist, -EFBIG over ENVFILE_MAX_SIZE. */
int envfile_read(const char *path, struct envfile *ret);

/* Why envfile_parse() refuses TEXT[0..SIZE), naming the line, one printable line
 * ("line 3 holds a NUL byte, ..."); NULL when it does not refuse it, or -ENOMEM. The
 * caller frees. */
char *envfile_explain(const char *text, size_t size);
/* The same for the file at PATH; NULL also when it cannot be read. */
char *envfile_explain_file(const char *path);
