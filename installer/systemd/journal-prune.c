/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

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
