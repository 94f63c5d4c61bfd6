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
 * - --registry-mirror and --mtu live here, not in the container's args (dockerd
 *   refuses a setting given both ways). */

#include <stdint.h>

#define DAEMON_CONFIG_MAP "docker-dind-daemon"
#define DAEMON_CONFIG_KEY "daemon.json"
#define DAEMON_CONFIG_HASH_ANNOTATION "dind-cache.io/daemon-json-hash"
#define DAEMON_CONFIG_DEFAULT_CAPACITY (UINT64_C(5) << 30)

struct daemon_config_params {
        uint64_t capacity;               /* bytes; 0: 5Gi */
        const char *registry_mirror;     /* NULL: none */
        long mtu;                        /* 0: none */
};

/* The daemon.json text. -EINVAL for an MTU outside 68..65535. */
int daemon_config_text(const struct daemon_config_params *p, char **ret);

/* "fnv1a64:" and 16 hex digits of TEXT, in BUF (at least 32 bytes). */
char *daemon_config_hash(const char *text, char *buf, size_t size);
