/* SPDX-License-Identifier: MIT */
#pragma once

/* Check results as data: what preflight, install, check and status report, render
 * (report.h) and log (journal.h). A check list owns its results and their strings.
 *
 * States are ordered by severity, so the worst of a list is its maximum. SKIP means
 * "could not be checked here" (not root, not applicable) and is never a silent OK. */

#include <stdarg.h>
#include <stddef.h>

#include "base/util.h"

enum check_state {
        CHECK_OK,
        CHECK_SKIP,
        CHECK_WARN,
        CHECK_UNKNOWN, /* the checker could not tell: a bad setting, an internal error */
        CHECK_FAIL,    /* CRITICAL for the monitoring-plugin convention */
        _CHECK_STATE_MAX,
};

struct check_result {
        char *name;             /* short, stable identifier: "d_type", "disk_usage" */
        enum check_state state;
        char *message;          /* readable on its own: "xfs with ftype=1 on /dev/vdb" */
        char *remedy;           /* what to do about it, or NULL */
        char *value;            /* measured value, for journal/JSON, or NULL: "93" */
        char *threshold;        /* threshold it was compared with, or NULL: "90" */
        const char *message_id; /* journal MESSAGE_ID (32 hex chars), or NULL */
};

struct check_list {
        struct check_result *items;
        size_t n;
};

/* Appends a result; MESSAGE is printf-style. Returns a pointer to the new result
 * (so the caller may set value, threshold, message_id), or NULL on -ENOMEM. */
struct check_result *check_list_add(struct check_list *l, const char *name,
                                    enum check_state state, const char *remedy,
                                    const char *fmt, ...) _printf_(5, 6);
struct check_result *check_list_addv(struct check_list *l, const char *name,
                                     enum check_state state, const char *remedy,
                                     const char *fmt, va_list ap) _printf_(5, 0);

/* Sets the optional value and threshold of R (printf-style); -ENOMEM. */
int check_result_set_value(struct check_result *r, const char *fmt, ...) _printf_(2, 3);
int check_result_set_threshold(struct check_result *r, const char *fmt, ...) _printf_(2, 3);

/* The worst state in the list; CHECK_OK for an empty list. */
enum check_state check_list_worst(const struct check_list *l);
/* The first result named NAME, or NULL. */
const struct check_result *check_list_find(const struct check_list *l, const char *name);
size_t check_list_count(const struct check_list *l, enum check_state state);

void check_list_done(struct check_list *l);

/* "OK", "SKIP", "WARN", "UNKNOWN", "FAIL" */
const char *check_state_to_string(enum check_state s);
/* Monitoring-plugin names: "OK", "OK" (skip), "WARNING", "UNKNOWN", "CRITICAL" */
const char *check_state_to_plugin_string(enum check_state s);
/* Monitoring-plugin exit status: 0 OK (and SKIP), 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
int check_state_to_plugin_status(enum check_state s);
/* syslog priority: LOG_INFO, LOG_NOTICE (skip), LOG_WARNING, LOG_ERR, LOG_CRIT */
int check_state_to_priority(enum check_state s);
