/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "base/text.h"
#include "systemd/journal.h"
#include "systemd/journal-prune.h"
#include "base/util.h"

int journal_send_prune(const struct journal_prune_entry *e) {
        struct journal_entry x;

        journal_entry_begin(&x, e->message, e->priority, e->message_id);
        journal_entry_add(&x, "DIND_PRUNE_STEP", e->step);
        if (e->has_counts) {
                journal_entry_addf(&x, "DIND_COUNT", "%" PRIu64, e->count);
                journal_entry_addf(&x, "DIND_BYTES", "%" PRIu64, e->bytes);
        }
        if (e->use_before >= 0)
                journal_entry_addf(&x, "DIND_USE_BEFORE", "%d", e->use_before);
        if (e->use_after >= 0)
                journal_entry_addf(&x, "DIND_USE_AFTER", "%d", e->use_after);
        journal_entry_add(&x, "DIND_DATA_DIR", e->data_dir);
        journal_entry_add(&x, "DIND_DOCKER_HOST", e->docker_host);
        journal_entry_add(&x, "DIND_RUN_ID", e->run_id);
        journal_entry_add(&x, "DIND_PARAMS", e->params);
        return journal_entry_send(&x);
}

void journal_prune_run_done(struct journal_prune_run *r) {
        free(r->message);
        *r = (struct journal_prune_run) {};
}

/* The value of FIELD in the current entry, cleaned and capped, or NULL. */
static char *field(sd_journal *j, const char *name) {
        const void *data;
        size_t len, n = strlen(name);
        _cleanup_free_ char *raw = NULL;

        if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= n + 1)
                return NULL;
        raw = strndup((const char *) data + n + 1, len - n - 1);
        return raw ? text_sanitize_line(raw, 1024) : NULL;
}

int journal_read_last_prune(struct journal_prune_run *ret) {
        sd_journal *j = NULL;
        struct journal_prune_run run = {};
        int r;

        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        r = sd_journal_add_match(j, "SYSLOG_IDENTIFIER=dind-cache", 0);
        if (r >= 0)
                r = sd_journal_add_match(j, "DIND_PRUNE_STEP=summary", 0);
        if (r >= 0)
                r = sd_journal_add_match(j, "DIND_PRUNE_STEP=daemon", 0);
        if (r >= 0)
                r = sd_journal_add_match(j, "DIND_PRUNE_STEP=settings", 0);
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        if (r >= 0)
                r = sd_journal_previous(j);
        if (r > 0) {
                _cleanup_free_ char *prio = field(j, "PRIORITY");
                long p = 6;
                run.message = field(j, "MESSAGE");
                if (prio)
                        (void) parse_int_range(prio, 0, 7, &p);
                run.priority = (int) p;
                (void) sd_journal_get_realtime_usec(j, &run.realtime_usec);
                *ret = run;
                r = 1;
        }
        sd_journal_close(j);
        return r;
}
