/* SPDX-License-Identifier: MIT */
#pragma once

/* The node's settings: the keys of /etc/dind-cache/dind-cache.env, their defaults,
 * parsing and validation, in one place. The check and prune units load that file as
 * their EnvironmentFile=, so both commands read the environment, and a shell that
 * exports the same variables behaves like the timers:
 *
 *     key                          check                    prune
 *     DOCKER_HOST                  unset: daemon not        required
 *                                  checked
 *     DOCKER_TLS_VERIFY            non-empty: mutual TLS, as the Docker CLI reads it
 *     DOCKER_CERT_PATH             absolute, needed with DOCKER_TLS_VERIFY
 *                                  (check: the checker's identity)
 *     DIND_CACHE_PRUNE_CERT_PATH                            absolute, with
 *                                                           DOCKER_TLS_VERIFY: the
 *                                                           pruner's identity,
 *                                                           SETTINGS_DEFAULT_PRUNE_CERT_PATH
 *     DIND_CACHE_DATA_DIR          absolute, SETTINGS_DEFAULT_DATA_DIR
 *     DIND_CACHE_TIMEOUT           5s (1ms to 10m)          60s (1ms to 1h)
 *     DIND_CACHE_DEADLINE          30s (1ms to 1h)
 *     DIND_CACHE_DISK_WARN/_CRIT   80/90, 1 to 100, WARN < CRIT
 *     DIND_CACHE_INODE_WARN/_CRIT  80/90, 1 to 100, WARN < CRIT
 *     DIND_CACHE_WRITE_WARN_MS     1000 (1 to 3600000)
 *     DIND_CACHE_CERT_WARN_DAYS    30 (1 to 3650)
 *     DIND_CACHE_CERT_CRIT_DAYS    7 (1 to 3650), below WARN
 *     DIND_CACHE_PRUNE_HIGH/LOW/CRIT                        80/70/90, 1 to 100,
 *                                                           LOW < HIGH < CRIT
 *     DIND_CACHE_PRUNE_RESERVE                              10 (0 to 50)
 *     DIND_CACHE_PRUNE_MIN_AGE                              1h (0s to 720h)
 *     DIND_CACHE_PRUNE_STATE                                absolute,
 *                                                           SETTINGS_DEFAULT_PRUNE_STATE
 *     STATE_DIRECTORY              absolute: where the
 *                                  checker keeps the build
 *                                  cache's state (systemd sets
 *                                  it from StateDirectory=);
 *                                  unset: none kept
 *     DIND_CACHE_AUTHZ_SOCKET      absolute: the authorization
 *                                  plugin's socket, checked
 *                                  (install writes
 *                                  SETTINGS_DEFAULT_AUTHZ_SOCKET);
 *                                  "": install left the plugin
 *                                  out (--plaintext), WARNING;
 *                                  unset: not checked
 *     DIND_CACHE_INSTANCE          the instance's name (both; the journal and metrics)
 *     DIND_CACHE_TEXTFILE_DIR      where the metrics files go (both)
 *
 * Invariants:
 * - A key set to "" is unset (an empty line in the env file), except
 *   DIND_CACHE_TEXTFILE_DIR, where "" turns the metrics off, and
 *   DIND_CACHE_AUTHZ_SOCKET, where "" says that install left the plugin out.
 * - Each command reads and validates only its own keys: a bad value of a key only
 *   check reads never stops prune, and the reverse.
 * - Every refused value is a problem in PROBLEMS: an UNKNOWN result "settings" with
 *   MESSAGE_ID MID_SETTINGS_INVALID whose message names the variable and shows the
 *   value escaped and capped (text_escape()), on one line. check gets every problem
 *   (or, when a value is not printable UTF-8 text, every such one); prune the first.
 * - DOCKER_HOST is parsed here, once, into a struct docker_host (base/docker-host.h)
 *   that the Docker client takes as it is.
 * - RET is untouched on failure. Library: never prints. */

#include <stdbool.h>
#include <stdint.h>

#include "base/check-list.h"
#include "base/docker-host.h"

#define SETTINGS_ENV_FILE "/etc/dind-cache/dind-cache.env"
#define SETTINGS_DEFAULT_DATA_DIR "/mnt/k8s/docker"
#define SETTINGS_STATE_DIR "/var/lib/dind-cache"   /* the prune unit's StateDirectory= */
#define SETTINGS_PRUNE_STATE_NAME "prune-state.json"
#define SETTINGS_DEFAULT_PRUNE_STATE SETTINGS_STATE_DIR "/" SETTINGS_PRUNE_STATE_NAME
#define SETTINGS_KEY_TEXTFILE_DIR "DIND_CACHE_TEXTFILE_DIR"
#define SETTINGS_KEY_INSTANCE "DIND_CACHE_INSTANCE"
/* The prune timer's client certificate folder (ca.pem, cert.pem, key.pem): the pruner's
 * own identity, not the checker's (DOCKER_CERT_PATH), though both units read the one
 * env file. */
#define SETTINGS_KEY_PRUNE_CERT_PATH "DIND_CACHE_PRUNE_CERT_PATH"
#define SETTINGS_DEFAULT_PRUNE_CERT_PATH "/etc/dind-cache/pki/pruner"
/* The authorization plugin's socket on the node (dind-cache-authz.socket), which the
 * checker's `authz` check asks straight. */
#define SETTINGS_KEY_AUTHZ_SOCKET "DIND_CACHE_AUTHZ_SOCKET"
#define SETTINGS_DEFAULT_AUTHZ_SOCKET "/run/dind-cache/plugins/dind-cache-authz.sock"

struct node_settings {
        /* check and prune */
        struct docker_host docker_host; /* DOCKER_HOST; kind DOCKER_HOST_UNSET when unset */
        bool tls_verify;                /* DOCKER_TLS_VERIFY set (non-empty) */
        char *cert_path;                /* with tls_verify, else NULL: check DOCKER_CERT_PATH,
                                         * prune DIND_CACHE_PRUNE_CERT_PATH */
        char *data_dir;                 /* DIND_CACHE_DATA_DIR */
        uint64_t timeout_usec;          /* DIND_CACHE_TIMEOUT: each daemon call (check: and the disk probes) */

        /* check */
        int disk_warn, disk_crit;       /* percent of space used */
        int inode_warn, inode_crit;     /* percent of inodes used */
        uint64_t write_warn_usec;       /* DIND_CACHE_WRITE_WARN_MS */
        uint64_t deadline_usec;         /* DIND_CACHE_DEADLINE: the whole run */
        int cert_warn_days, cert_crit_days;
        char *state_dir;                /* STATE_DIRECTORY, or NULL: no state kept */
        char *authz_socket;             /* DIND_CACHE_AUTHZ_SOCKET, or NULL: unset or "" */
        bool authz_left_out;            /* DIND_CACHE_AUTHZ_SOCKET="": install left it out */

        /* prune */
        int high, low, crit;            /* DIND_CACHE_PRUNE_HIGH/LOW/CRIT: percent used */
        int reserve;                    /* DIND_CACHE_PRUNE_RESERVE: percent of the filesystem */
        uint64_t min_age_usec;          /* DIND_CACHE_PRUNE_MIN_AGE */
        char *state_path;               /* DIND_CACHE_PRUNE_STATE */
};

/* ENV: "KEY=VALUE" strings ending with NULL, as environ (NULL: this process's
 * environment). Each returns 0 with RET filled, -EINVAL when PROBLEMS got problems,
 * -ENOMEM. */
int node_settings_read_check(char *const *env, struct node_settings *ret, struct check_list *problems);
int node_settings_read_prune(char *const *env, struct node_settings *ret, struct check_list *problems);
void node_settings_done(struct node_settings *s);

/* DIND_CACHE_INSTANCE as written, or NULL when unset or empty (whether it is a name
 * install could have written is kube/instance.h's to say). */
const char *node_settings_instance(char *const *env);

/* DIND_CACHE_TEXTFILE_DIR as written: NULL unset, "" metrics off. */
const char *node_settings_textfile_dir(char *const *env);
