/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading the checker's last run back from the journal (what `dind-cache check`
 * wrote through journal.h). Never prints; returns negative errno.
 *
 * A run is its summary entry (SYSLOG_IDENTIFIER=dind-cache, DIND_CHECK=summary)
 * plus the entries that share its DIND_RUN_ID, one per check. Input is capped: at
 * most JOURNAL_RUN_MAX_CHECKS entries per run, fields of at most
 * JOURNAL_FIELD_MAX bytes (longer values are cut). */

#include <stdint.h>

#include "base/check-list.h"

#define JOURNAL_RUN_MAX_CHECKS 128
#define JOURNAL_FIELD_MAX 4096

struct journal_run {
        char *run_id;             /* 32 hex digits */
        uint64_t realtime_usec;   /* when the summary was logged */
        enum check_state state;   /* the summary's DIND_STATE */
        char *summary;            /* the summary's MESSAGE */
        char *data_dir;           /* DIND_DATA_DIR, or NULL */
        char *unit;               /* _SYSTEMD_UNIT, or NULL when run from a shell */
        struct check_list checks; /* one per check entry, in journal order */
};

/* The newest run whose summary was logged at or after SINCE_USEC (realtime; 0 for
 * any). When none is there yet, waits for journald up to TIMEOUT_USEC (0: no wait).
 * Returns 1 and fills RET, 0 when there is no such run, <0 error. A caller that
 * may not read the system journal (not root, not in systemd-journal) sees none. */
int journal_read_last_run(uint64_t since_usec, uint64_t timeout_usec, struct journal_run *ret);
void journal_run_done(struct journal_run *r);

/* "OK", "WARNING", "CRITICAL", "UNKNOWN" (and "SKIP") to a state; -EINVAL otherwise. */
int check_state_from_plugin_string(const char *s, enum check_state *ret);
