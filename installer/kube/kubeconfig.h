/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading a kubeconfig: which file, which context, and from it the server, how to
 * trust it and how to authenticate, as client-go reads them.
 *
 * Invariants:
 * - The file is the explicit path, else the first existing file of $KUBECONFIG (a
 *   colon-separated list, empty entries skipped), else ~/.kube/config, else
 *   /etc/kubernetes/admin.conf. Files are read capped (KUBECONFIG_MAX_SIZE; the
 *   certificate, key, CA and token files they name: KUBECONFIG_MAX_FILE each).
 * - Every file is opened with open_regular(): a FIFO, socket or device where a file is
 *   expected is refused at once ("not a regular file"), never waited on.
 * - Names (context, cluster, user), the server URL and tls-server-name are printable
 *   UTF-8, else refused (-EINVAL) with the value echoed escaped.
 * - Relative paths in the file (certificate-authority, client-certificate, client-key,
 *   tokenFile) resolve against the kubeconfig's own directory, as client-go does.
 * - Every credential ends up in memory (files are read once, when loading): the
 *   client-certificate, client-key, CA and token. kubeconfig_free() scrubs them.
 * - Without a CA the system roots are trusted. insecure-skip-tls-verify is kept as a
 *   flag (the command layer warns loudly) and refused together with a CA, as client-go
 *   refuses it. exec and auth-provider users are refused ("not supported"), naming the
 *   context and the user.
 * - Library code: never prints. Errors are negative errno with *ret_message (caller
 *   frees; may be NULL on -ENOMEM) saying what is wrong, naming the file:
 *     -ENOENT  no kubeconfig found, or a file it names is missing
 *     -EINVAL  not valid YAML, no such context/cluster/user, missing server, a CA with
 *              insecure-skip-tls-verify, bad base64 in a -data field
 *     -EOPNOTSUPP  exec / auth-provider users
 *     -EFBIG   a file over its cap
 *     other    what reading failed with */

#include <stdbool.h>
#include <stddef.h>

#define KUBECONFIG_MAX_SIZE (1u << 20)
#define KUBECONFIG_MAX_FILE (256u << 10)

struct kubeconfig {
        char *path;              /* the file read */
        char *context;           /* the context used */
        char *cluster;           /* its cluster's name */
        char *user;              /* its user's name, or NULL (no user: anonymous) */

        char *server;            /* "https://10.0.0.1:6443" */
        char *tls_server_name;   /* or NULL */
        bool insecure;           /* insecure-skip-tls-verify: true (never with a CA) */
        char *ca;                /* PEM, NUL-terminated, or NULL: the system roots */
        size_t ca_size;
        char *ca_origin;         /* the CA file's absolute path, or NULL (-data) */

        char *cert;              /* client certificate PEM, or NULL */
        size_t cert_size;
        char *key;               /* client key PEM, or NULL */
        size_t key_size;
        char *token;             /* bearer token (token, else tokenFile's content), or NULL */
        char *token_file;        /* where it came from (absolute), or NULL */
};

/* Which file to read: EXPLICIT if not NULL, else $KUBECONFIG's first existing file,
 * else ~/.kube/config (HOME), else /etc/kubernetes/admin.conf. -ENOENT with a message
 * listing what was tried when none exists. The first candidate that exists but is not
 * a regular file is refused with a message naming it (-EBADFD "not a regular file"
 * for a FIFO, a socket or a device, -EISDIR): never opened, never skipped. */
int kubeconfig_find(const char *explicit_path, char **ret_path, char **ret_message);

/* Reads PATH and resolves CONTEXT (NULL: current-context). */
int kubeconfig_load(const char *path, const char *context, struct kubeconfig **ret,
                    char **ret_message);

/* The same from TEXT; relative paths resolve against DIR. PATH_FOR_MESSAGES names the
 * file in messages. */
int kubeconfig_parse(const char *text, size_t size, const char *dir, const char *path_for_messages,
                     const char *context, struct kubeconfig **ret, char **ret_message);

/* Scrubs the key, certificate and token, frees. Accepts NULL; returns NULL. */
struct kubeconfig *kubeconfig_free(struct kubeconfig *k);
static inline void kubeconfig_freep(struct kubeconfig **k) {
        kubeconfig_free(*k);
}
