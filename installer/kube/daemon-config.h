/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's /etc/docker/daemon.json, carried by the ConfigMap docker-dind-daemon
 * and mounted into the dind container; its hash goes into the pod template's
 * annotation DAEMON_CONFIG_HASH_ANNOTATION, so a change restarts the pod and an
 * unchanged file never does.
 *
 * Invariants:
 * - The text is a function of its inputs only (same inputs, same bytes): keys in a
 *   fixed order, two-space indent, a final newline.
 * - BuildKit's garbage collector is enabled with a policy sized in absolute bytes
 *   from the volume's capacity (never left to size itself from the node's disk); every
 *   rule carries all three sizes (in Docker 28 a rule without sizes deletes everything
 *   its filter matches) and every filter key has one value (more is refused by the
 *   daemon).
 * - "features": {"containerd-snapshotter": false}: a future image cannot silently
 *   start a fresh containerd image store beside the overlay2 cache.
 * - What a build job may ask of the daemon is narrowed: "icc": false (containers on
 *   the default bridge cannot reach one another: one job's service containers are not
 *   another's to probe), "no-new-privileges": true (no setuid gain in any container),
 *   "builder.entitlements" with network-host and security-insecure false (BuildKit
 *   refuses `RUN --network=host` and `--security=insecure` even when the client asks
 *   with --allow), "builder.history" capped (maxAge DAEMON_CONFIG_HISTORY_MAX_AGE,
 *   maxEntries DAEMON_CONFIG_HISTORY_MAX_ENTRIES): every build's args, logs and
 *   Dockerfile are kept for a day at most, readable by every tenant through BuildKit's
 *   own API, which no authorization plugin sees.
 * - "authorization-plugins": [DAEMON_CONFIG_AUTHZ_PLUGIN] unless plaintext: dockerd asks
 *   the node's plugin (dind-cache-authz.socket, reached through the pod's hostPath
 *   volume) before and after every API call, and answers nothing while it is absent.
 * - --registry-mirror and --mtu live here, not in the container's args (dockerd
 *   refuses a setting given both ways). */

#include <stdbool.h>
#include <stdint.h>

#define DAEMON_CONFIG_MAP "docker-dind-daemon"
#define DAEMON_CONFIG_KEY "daemon.json"
#define DAEMON_CONFIG_HASH_ANNOTATION "dind-cache.io/daemon-json-hash"
#define DAEMON_CONFIG_DEFAULT_CAPACITY (UINT64_C(5) << 30)
/* Build history: a day, for a job (or a person that day) to look at a failed build;
 * 50 entries (BuildKit's own example's count), far fewer than a busy day's builds, so
 * that what every tenant can read of the others' builds stays short. */
#define DAEMON_CONFIG_HISTORY_MAX_AGE "24h"
#define DAEMON_CONFIG_HISTORY_MAX_ENTRIES 50
/* The authorization plugin's name: dockerd finds it at /run/docker/plugins/NAME.sock
 * (authz/plugin.h's AUTHZ_PLUGIN_NAME; a unit test holds the two together). */
#define DAEMON_CONFIG_AUTHZ_PLUGIN "dind-cache-authz"

struct daemon_config_params {
        uint64_t capacity;               /* bytes; 0: 5Gi */
        const char *registry_mirror;     /* NULL: none */
        long mtu;                        /* 0: none */
        bool authz;                      /* "authorization-plugins" (not with --plaintext:
                                          * no identities to authorize) */
};

/* The daemon.json text. -EINVAL for an MTU outside 68..65535. */
int daemon_config_text(const struct daemon_config_params *p, char **ret);

/* "fnv1a64:" and 16 hex digits of TEXT, in BUF (at least 32 bytes). */
char *daemon_config_hash(const char *text, char *buf, size_t size);
