/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "base/text.h"
#include "systemd/journal-prune.h"
#include "base/util.h"

#define MAX_FIELDS 16

struct fields {
        char *f[MAX_FIELDS];
        size_t n;
        bool oom;
};

static void add(struct fields *x, const char *name, const char *fmt, ...) _printf_(3, 4);
static void add(struct fields *x, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *value = NULL;
        va_list ap;

        if (x->n >= MAX_FIELDS)
                return;
        va_start(ap, fmt);
        if (vasprintf(&value, fmt, ap) < 0)
                value = NULL;
        va_end(ap);
        char *f = value ? strdup_printf("%s=%s", name, value) : NULL;
        if (!f)
                x->oom = true;
        else
                x->f[x->n++] = f;
}

int journal_send_prune(const struct journal_prune_entry *e) {
        struct fields x = {};
        struct iovec iov[MAX_FIELDS];
        int r;

        add(&x, "MESSAGE", "%s", e->message);
        add(&x, "PRIORITY", "%d", e->priority);
        add(&x, "MESSAGE_ID", "%s", e->message_id);
        add(&x, "SYSLOG_IDENTIFIER", "%s", "dind-cache");
        add(&x, "DIND_PRUNE_STEP", "%s", e->step);
        if (e->has_counts) {
                add(&x, "DIND_COUNT", "%" PRIu64, e->count);
                add(&x, "DIND_BYTES", "%" PRIu64, e->bytes);
        }
        if (e->use_before >= 0)
                add(&x, "DIND_USE_BEFORE", "%d", e->use_before);
        if (e->use_after >= 0)
                add(&x, "DIND_USE_AFTER", "%d", e->use_after);
        if (e->data_dir)
                add(&x, "DIND_DATA_DIR", "%s", e->data_dir);
        if (e->docker_host)
                add(&x, "DIND_DOCKER_HOST", "%s", e->docker_host);
        if (e->run_id)
                add(&x, "DIND_RUN_ID", "%s", e->run_id);
        if (e->params)
                add(&x, "DIND_PARAMS", "%s", e->params);

        for (size_t i = 0; i < x.n; i++)
                iov[i] = (struct iovec) { .iov_base = x.f[i], .iov_len = strlen(x.f[i]) };
        r = x.oom ? -ENOMEM : sd_journal_sendv(iov, (int) x.n);
        for (size_t i = 0; i < x.n; i++)
                free(x.f[i]);
        return r;
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
