/* SPDX-License-Identifier: MIT */
#pragma once

/* Structured journal entries (sd-journal): the one entry builder, and the checker's
 * results on it, one entry per result and one summary entry per run (the pruner's
 * entries, journal-prune.h, are built with it too). The designated journal module: it
 * sends, but never prints; only cmd/ calls it.
 *
 * Every entry carries (helper `status` reads these back; keep the names):
 *   MESSAGE           the result's message, readable on its own
 *   PRIORITY          check_state_to_priority()
 *   MESSAGE_ID        the result's id (message-ids.h); the summary's is MID_SUMMARY
 *   SYSLOG_IDENTIFIER dind-cache
 *   DIND_CHECK        the check name; "summary" for the summary entry
 *   DIND_STATE        OK | WARNING | CRITICAL | UNKNOWN (check_state_to_plugin_string)
 *   DIND_VALUE, DIND_THRESHOLD   when the result has them
 *   DIND_REMEDY       when the result has one and is not OK
 *   DIND_DATA_DIR     the data directory checked
 *   DIND_RUN_ID       32 hex digits, the same in every entry of one run
 *   DIND_INSTANCE     the cache instance (DIND_CACHE_INSTANCE), when it has a name
 * The summary's MESSAGE is health_summary(). */

#include <stdbool.h>
#include <stddef.h>

#include "base/check-list.h"
#include "base/util.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define JOURNAL_RUN_ID_LEN 32
#define JOURNAL_MAX_FIELDS 16

/* One entry under construction: fields "NAME=value", in the order they were added.
 * A field that cannot be made (memory) makes the send fail with -ENOMEM; fields past
 * JOURNAL_MAX_FIELDS are dropped. */
struct journal_entry {
        char *fields[JOURNAL_MAX_FIELDS];
        size_t n;
        bool oom;
};

/* Starts E afresh with MESSAGE, PRIORITY, MESSAGE_ID and SYSLOG_IDENTIFIER=dind-cache,
 * the fields every entry of dind-cache carries. */
void journal_entry_begin(struct journal_entry *e, const char *message, int priority, const char *message_id);
/* Adds NAME=VALUE; a NULL VALUE adds nothing. */
void journal_entry_add(struct journal_entry *e, const char *name, const char *value);
/* Adds NAME=the formatted value. */
void journal_entry_addf(struct journal_entry *e, const char *name, const char *fmt, ...) _printf_(3, 4);
/* Sends E and frees its fields (E is empty after): 0 or negative errno. */
int journal_entry_send(struct journal_entry *e);

/* Whether journald listens here (its socket exists). */
bool journal_available(void);

/* A fresh random run id: 32 lower-case hex digits and a NUL in RET. */
int journal_new_run_id(char ret[JOURNAL_RUN_ID_LEN + 1]);

/* Sends one entry per result of L, then the summary entry with SUMMARY as its MESSAGE.
 * Every entry is attempted; returns 0 or the first error (negative errno). */
int journal_send_checks(const struct check_list *l, const char *summary, const char *data_dir,
                        const char *run_id);
/* The same, every entry with DIND_INSTANCE=INSTANCE (NULL: none, as above). */
int journal_send_checks_instance(const struct check_list *l, const char *summary, const char *data_dir,
                                 const char *instance, const char *run_id);
