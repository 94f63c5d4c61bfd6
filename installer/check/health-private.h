/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by health.c, health-disk.c and health-daemon.c only. */

#include <stdarg.h>
#include <stdint.h>

#include "base/check-list.h"
#include "check/health.h"

/* check_list_add() that also sets the MESSAGE_ID. NULL on -ENOMEM. */
struct check_result *health_add(struct check_list *l, const char *name, enum check_state state,
                                const char *message_id, const char *remedy, const char *fmt, ...)
        _printf_(6, 7);

/* Microseconds left until DEADLINE (a now_usec() time), 0 when it has passed. */
uint64_t health_time_left(uint64_t deadline);

/* MIN(per-call timeout, time left), at least 1 ms. */
uint64_t health_call_timeout(uint64_t timeout, uint64_t deadline);

/* The UNKNOWN result of a check NAME that could not start before the deadline. */
int health_add_deadline_passed(struct check_list *l, const char *name, uint64_t deadline_usec);

/* Short text for a duration measured: "3ms", "1.2s". BUF holds at least 16 bytes. */
char *health_format_latency(uint64_t usec, char *buf, size_t size);

/* health_check_disk() and health_check_daemon() that also fill FIG (may be NULL). */
int health_check_disk_figures(const struct node_settings *s, uint64_t deadline, struct check_list *l,
                              char **ret_fs_type, struct health_figures *fig);
int health_check_daemon_figures(const struct node_settings *s, const char *data_dir_fs_type,
                                uint64_t deadline, struct check_list *l, struct health_figures *fig);

struct docker_client;

/* Gives the next daemon call its timeout: 0 go on, 1 the deadline passed (reported as
 * NAME's result), -ENOMEM. */
int health_next_call(struct docker_client *c, const struct node_settings *s, uint64_t deadline,
                     const char *name, struct check_list *l, uint64_t *ret_timeout);

/* Why daemon call R failed, for people, into BUF. */
void health_error_text(int r, const struct docker_client *c, uint64_t timeout, char *buf, size_t size);

/* The caches' figures (health-cache.c), after /version said API_VERSION (NULL: it
 * could not be read): the result "build_cache", FIG's cache figures, the node's state. */
int health_check_cache(struct docker_client *c, const struct node_settings *s, const char *api_version,
                       uint64_t deadline, struct check_list *l, struct health_figures *fig);
