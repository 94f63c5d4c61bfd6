/* SPDX-License-Identifier: MIT */
#pragma once

/* The pruner's settings, from the environment (the prune unit reads
 * /etc/dind-cache/dind-cache.env as its EnvironmentFile=, so a shell that exports the
 * same variables behaves like the timer):
 *     DOCKER_HOST                   tcp://HOST:PORT or unix:///PATH (required)
 *     DIND_CACHE_DATA_DIR           the data filesystem whose use drives it (/mnt/k8s/docker)
 *     DIND_CACHE_PRUNE_HIGH         percent used that starts eviction (80)
 *     DIND_CACHE_PRUNE_LOW          percent used where eviction stops (70)
 *     DIND_CACHE_PRUNE_CRIT         percent used where the grace ends (90)
 *     DIND_CACHE_PRUNE_MIN_AGE      nothing used more recently is touched (1h)
 *     DIND_CACHE_PRUNE_RESERVE      percent of the filesystem the build cache keeps
 *                                   below CRIT (10; above CRIT it keeps none)
 *     DIND_CACHE_PRUNE_STATE        the last-use state file (/var/lib/dind-cache/prune-state.json)
 *     DIND_CACHE_TIMEOUT            each daemon call (60s: a prune can take a while)
 *
 * Invariants: 1 <= LOW < HIGH < CRIT <= 100; RESERVE 0..50; every bad value is refused
 * with a message that names the variable. Library: never prints. */

#include <stdint.h>

#define PRUNE_DEFAULT_DATA_DIR "/mnt/k8s/docker"
#define PRUNE_STATE_DIR "/var/lib/dind-cache"     /* the prune unit's StateDirectory= */
#define PRUNE_STATE_NAME "prune-state.json"
#define PRUNE_DEFAULT_STATE PRUNE_STATE_DIR "/" PRUNE_STATE_NAME

struct prune_settings {
        char *docker_host;
        char *cert_path;            /* DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set (mutual
                                     * TLS, as the checker), else NULL: plain */
        char *data_dir;
        char *state_path;
        int high, low, crit;        /* percent used */
        int reserve;                /* percent of the filesystem's size */
        uint64_t min_age_usec;
        uint64_t timeout_usec;
};

/* Reads the settings from the environment. -EINVAL with RET_PROBLEM set to a message
 * naming the variable ("DIND_CACHE_PRUNE_LOW=80 must be below DIND_CACHE_PRUNE_HIGH=80"),
 * -ENOMEM. RET untouched on failure. */
int prune_settings_from_env(struct prune_settings *ret, char **ret_problem);
void prune_settings_done(struct prune_settings *s);
