/* SPDX-License-Identifier: MIT */
#pragma once

/* The pruner's journal entries (built with journal.h's entry builder): one per step
 * and one summary per run; and the last run read back for status. Never prints.
 *
 * Every entry carries:
 *   MESSAGE, PRIORITY, MESSAGE_ID (message-ids.h, MID_PRUNE_*), SYSLOG_IDENTIFIER=dind-cache
 *   DIND_PRUNE_STEP   containers | dangling | build-cache | images | summary | settings | daemon
 *   DIND_COUNT, DIND_BYTES            what the step removed (steps and summary)
 *   DIND_USE_BEFORE, DIND_USE_AFTER   percent used of the data filesystem
 *   DIND_DATA_DIR, DIND_DOCKER_HOST, DIND_RUN_ID, DIND_PARAMS (when set)
 * The caller cleans what came from outside (daemon messages) before it gets here. */

#include <stdbool.h>
#include <stdint.h>

struct journal_prune_entry {
        const char *message;
        int priority;             /* LOG_INFO, LOG_WARNING, LOG_ERR */
        const char *message_id;
        const char *step;
        bool has_counts;          /* DIND_COUNT and DIND_BYTES */
        uint64_t count, bytes;
        int use_before, use_after;  /* -1 unknown */
        const char *data_dir, *docker_host, *run_id, *params;
};

int journal_send_prune(const struct journal_prune_entry *e);

struct journal_prune_run {
        uint64_t realtime_usec;   /* when it was logged */
        char *message;            /* the summary (or the error that ended the run), capped */
        int priority;
};

/* The last run's summary entry (DIND_PRUNE_STEP summary, daemon or settings) in the
 * system journal: 1 found, 0 none, negative errno. */
int journal_read_last_prune(struct journal_prune_run *ret);
void journal_prune_run_done(struct journal_prune_run *r);
