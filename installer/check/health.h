/* SPDX-License-Identifier: MIT */
#pragma once

/* The checker's checks: disk health of the data directory and reachability of the
 * Docker daemon, as a check list (check.h), each result with its MESSAGE_ID
 * (message-ids.h). What `dind-cache check` runs and `install` runs once.
 *
 * Invariants:
 * - Cost stays flat as the cache grows: statfs/statvfs, one mountinfo read, a d_type
 *   probe and a write probe of a few entries, four small daemon calls and the image
 *   list, three small calls to the authorization plugin's socket. The data directory is never walked; /system/df is asked for the build cache
 *   alone, and only now and then once its answer is big (health-cache.c).
 * - The build cache's reuse counter and figures are kept in STATE_DIRECTORY
 *   (check/cache-state.h) when the settings name one; else nothing is written.
 * - A run keeps its deadline: each daemon call is given min(per-call timeout, time
 *   left), and the writing disk probes run in a child process that is abandoned (and
 *   killed) when its time is up, so a hung daemon or a hung disk costs at most the
 *   deadline. Checks that could not start in time are UNKNOWN "deadline passed".
 * - Settings come from the node's settings (base/settings.h, node_settings_read_check()).
 * - Library: never prints; results carry the messages. */

#include <stdbool.h>
#include <stdint.h>

#include "base/check-list.h"
#include "base/figures.h"
#include "base/settings.h"

/* The state of PERCENT against WARN and CRIT: OK below warn, WARN from warn, FAIL from crit. */
enum check_state health_threshold_state(int percent, int warn, int crit);

/* Runs every check into L (appending) and fills RET with the figures measured on the
 * way (always, also on -ENOMEM: what was measured). Returns 0, or -ENOMEM (L then
 * holds what was done). Problems found are results, not errors. */
int health_run_figures(const struct node_settings *s, struct check_list *l,
                       struct health_figures *ret);

/* The disk checks alone, and the daemon checks alone (health_run_figures() calls both).
 * DEADLINE is an absolute now_usec() time. DATA_DIR_FS_TYPE (the data directory's
 * mountinfo type, or NULL) is what the daemon's backing filesystem must be. */
int health_check_disk(const struct node_settings *s, uint64_t deadline, struct check_list *l,
                      char **ret_fs_type);
int health_check_daemon(const struct node_settings *s, const char *data_dir_fs_type,
                        uint64_t deadline, struct check_list *l);

/* The certificates of the node's PKI (the folder above s->cert_path: ca/, server/,
 * client-certs.pem: the jobs' certificate that expires first, and s->cert_path itself),
 * each against the day thresholds. Nothing without tls_verify. FIG (or NULL) gets each
 * one's notAfter.
 * (No check probes a plaintext port 2375: from the node only the Service's ClusterIP is
 * known, which forwards 2376 alone, so such a probe could never fail; README, "check",
 * says what keeps 2375 closed instead.) */
int health_check_certs(const struct node_settings *s, struct check_list *l, struct health_figures *fig);

/* The authorization plugin's name, in daemon.json's authorization-plugins and GET /info's
 * Plugins.Authorization (authz/plugin.h's AUTHZ_PLUGIN_NAME, kube/daemon-config.h's
 * DAEMON_CONFIG_AUTHZ_PLUGIN; tests/unit/check/test-health-authz.c holds them together). */
#define HEALTH_AUTHZ_PLUGIN "dind-cache-authz"

/* The authorization plugin (health-authz.c), one result "authz": nothing when
 * s->authz_socket is unset (and not left out); WARNING when install left the plugin out
 * (s->authz_left_out). Else the check asks the socket itself, as dockerd does:
 * /Plugin.Activate must implement "authz", and an AuthZReq from a self-signed
 * certificate of CN PKI_CN_PROBE (the plugin judges it as a tenant and keeps no trace
 * of it) must refuse a privileged container create and allow GET /version. CRITICAL
 * when the socket does not answer (the daemon then answers no request), when the
 * answers are wrong, and when DAEMON (the figures of the daemon checks, or NULL) says
 * GET /info was read and names no dind-cache-authz. Each answer is capped at
 * HEALTH_AUTHZ_REPLY_MAX bytes and each call at min(timeout, time left). */
#define HEALTH_AUTHZ_REPLY_MAX (64u << 10)
int health_check_authz(const struct node_settings *s, uint64_t deadline, const struct health_figures *daemon,
                       struct check_list *l);

/* One line for people and the journal: "dind-cache check CRITICAL: disk /mnt/k8s/docker
 * 93% used (crit 90%); 8 OK". NULL on -ENOMEM. */
char *health_summary(const struct check_list *l);
