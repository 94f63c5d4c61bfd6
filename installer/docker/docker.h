/* SPDX-License-Identifier: MIT */
#pragma once

/* The Engine API as the node needs it: the checker's /_ping, /info and /version here,
 * the pruner's calls in docker-prune.h, every one through one request helper.
 *
 * Invariants: a client talks to one daemon named by a parsed DOCKER_HOST
 * (base/docker-host.h: the node's settings parse it once and pass the struct down).
 * Strings from the daemon (driver, backing filesystem, versions) are capped (256
 * bytes; the root directory PATH_MAX) and cleaned of control characters
 * (text_sanitize) as they are parsed.
 * Every call has its own timeout (connect and total), set by docker_client_set_timeout()
 * before the call, and every response body is capped (1 MiB unless the call says
 * more), so a hung or hostile daemon costs at most the timeout and the cap. Never
 * prints; negative errno as in http.h, plus:
 *   -EBADMSG   the daemon answered, but not with what the API promises (bad JSON, not
 *              "OK" from /_ping)
 *   -EPROTO    an HTTP status other than 200 (docker_client_last_error() says which,
 *              with the daemon's own message)
 *   -EBUSY     409 Conflict (an image in use), -ENOENT 404 (no such object)
 * docker_client_last_error() says what went wrong for every failure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/docker-host.h"

struct docker_client;

/* A client of the daemon at HOST. -EINVAL for an unset HOST. */
int docker_client_new(const struct docker_host *host, struct docker_client **ret);
struct docker_client *docker_client_free(struct docker_client *c);
static inline void docker_client_freep(struct docker_client **c) {
        docker_client_free(*c);
}

/* Mutual TLS as the Docker CLI does it with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH:
 * https to a tcp:// host, the server verified against CERT_PATH/ca.pem (CA and name:
 * the host of DOCKER_HOST must be among its SANs), CERT_PATH/cert.pem and key.pem
 * presented. Never insecure. -EINVAL for a unix:// client. The three files are read
 * here (regular files only, at most DOCKER_MAX_PEM bytes each) and handed to libcurl
 * as data: a FIFO or device there is -EBADFD at once, not an open() that blocks. When
 * a file cannot be read, *RET_BAD_FILE (if given) is its path, for the caller to name. */
#define DOCKER_MAX_PEM (256u << 10)
int docker_client_set_tls(struct docker_client *c, const char *cert_path, char **ret_bad_file);

/* Why a TLS handshake failed, in a few words, from what curl said about it:
 * "unknown CA", "name mismatch", "expired", "client certificate refused", or NULL when
 * TEXT does not describe a TLS failure. */
const char *docker_tls_failure_reason(const char *text);

/* The connect and total timeout of each following call. Default 5 s. */
void docker_client_set_timeout(struct docker_client *c, uint64_t usec);

/* What went wrong in the last failed call, for people ("" if nothing). */
const char *docker_client_last_error(const struct docker_client *c);

/* Names API version VERSION ("1.51") in the path of every request, so the daemon
 * speaks that version's API; NULL: no version (the daemon's newest). -EINVAL unless
 * VERSION is "1.N". */
int docker_client_set_api_version(struct docker_client *c, const char *version);

struct http_response;

/* The one request helper: METHOD PATH ("/images/json?all=1", already escaped), behind
 * the version prefix when one is set, with the body capped at MAX_BODY (0: the 1 MiB
 * default). 0 with a 200 response in RET (released with http_response_done(); NULL:
 * dropped); any other status is an error as the invariants say. */
int docker_request(struct docker_client *c, const char *method, const char *path, size_t max_body,
                   struct http_response *ret);

/* docker_request() whose body PARSE reads into USERDATA; when PARSE says -EBADMSG, the
 * last error is "METHOD PATH: not WHAT" (WHAT: "the JSON the API describes"). */
int docker_request_parsed(struct docker_client *c, const char *method, const char *path, size_t max_body,
                          int (*parse)(const char *body, size_t size, void *userdata), void *userdata,
                          const char *what);

/* Sets what docker_client_last_error() says (for callers that judge a reply). */
void docker_client_set_error(struct docker_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* GET /_ping: 0 when the daemon answered "OK"; RET_RTT_USEC is the round trip. */
int docker_ping(struct docker_client *c, uint64_t *ret_rtt_usec);

struct docker_info {
        char *driver;            /* "overlay2", "overlayfs", "vfs", ... */
        char *backing_fs;        /* DriverStatus "Backing Filesystem": "xfs", "extfs", or NULL */
        int supports_d_type;     /* DriverStatus "Supports d_type": 1, 0, -1 not reported */
        char *driver_type;       /* DriverStatus "driver-type", or NULL */
        bool containerd_store;   /* the containerd image store (snapshotter) is in use */
        char *root_dir;          /* DockerRootDir, or NULL */
        char *server_version;    /* ServerVersion, or NULL */
        char **authz_plugins;    /* Plugins.Authorization (NULL-terminated, cleaned, at most
                                  * DOCKER_MAX_AUTHZ_PLUGINS), or NULL: none */
};
#define DOCKER_MAX_AUTHZ_PLUGINS 16

/* Parses the JSON body of GET /info (at most SIZE bytes). -EBADMSG when it is not a
 * JSON object or has no "Driver" string. Unknown fields are ignored. */
int docker_info_parse(const char *json, size_t size, struct docker_info *ret);
int docker_get_info(struct docker_client *c, struct docker_info *ret);
void docker_info_done(struct docker_info *i);

struct docker_version {
        char *version;           /* "20.10.24" */
        char *api_version;       /* "1.41" */
};

/* Parses the JSON body of GET /version. -EBADMSG without an "ApiVersion" string. */
int docker_version_parse(const char *json, size_t size, struct docker_version *ret);
int docker_get_version(struct docker_client *c, struct docker_version *ret);
void docker_version_done(struct docker_version *v);
