/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "systemd/journal.h"
#include "base/message-ids.h"

bool journal_available(void) {
        return access(JOURNAL_SOCKET, F_OK) == 0;
}

int journal_new_run_id(char ret[JOURNAL_RUN_ID_LEN + 1]) {
        sd_id128_t id;
        int r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        sd_id128_to_string(id, ret);
        return 0;
}

static void entry_take(struct journal_entry *e, char *field) {
        if (!field)
                e->oom = true;
        else if (e->n >= JOURNAL_MAX_FIELDS)
                free(field);
        else
                e->fields[e->n++] = field;
}

void journal_entry_add(struct journal_entry *e, const char *name, const char *value) {
        if (value)
                entry_take(e, strdup_printf("%s=%s", name, value));
}

void journal_entry_addf(struct journal_entry *e, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *value = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&value, fmt, ap) < 0)
                value = NULL;
        va_end(ap);
        entry_take(e, value ? strdup_printf("%s=%s", name, value) : NULL);
}

void journal_entry_begin(struct journal_entry *e, const char *message, int priority, const char *message_id) {
        *e = (struct journal_entry) {};
        journal_entry_add(e, "MESSAGE", message);
        journal_entry_addf(e, "PRIORITY", "%d", priority);
        journal_entry_add(e, "MESSAGE_ID", message_id);
        journal_entry_add(e, "SYSLOG_IDENTIFIER", "dind-cache");
}

int journal_entry_send(struct journal_entry *e) {
        struct iovec iov[JOURNAL_MAX_FIELDS];
        int r;

        for (size_t i = 0; i < e->n; i++)
                iov[i] = (struct iovec) { .iov_base = e->fields[i], .iov_len = strlen(e->fields[i]) };
        r = e->oom ? -ENOMEM : sd_journal_sendv(iov, (int) e->n);
        for (size_t i = 0; i < e->n; i++)
                free(e->fields[i]);
        *e = (struct journal_entry) {};
        return r;
}

static void entry_common(struct journal_entry *e, const char *message, enum check_state state,
                         const char *message_id, const char *check, const char *data_dir,
                         const char *instance, const char *run_id) {
        journal_entry_begin(e, message, check_state_to_priority(state), message_id);
        journal_entry_add(e, "DIND_CHECK", check);
        journal_entry_add(e, "DIND_STATE", check_state_to_plugin_string(state));
        journal_entry_add(e, "DIND_DATA_DIR", data_dir);
        journal_entry_add(e, "DIND_RUN_ID", run_id);
        journal_entry_add(e, "DIND_INSTANCE", instance);
}

int journal_send_checks(const struct check_list *l, const char *summary, const char *data_dir,
                        const char *run_id) {
        return journal_send_checks_instance(l, summary, data_dir, NULL, run_id);
}

int journal_send_checks_instance(const struct check_list *l, const char *summary, const char *data_dir,
                                 const char *instance, const char *run_id) {
        int first = 0, r;

        for (size_t i = 0; i < l->n; i++) {
                const struct check_result *c = &l->items[i];
                struct journal_entry e;

                entry_common(&e, c->message, c->state, c->message_id, c->name, data_dir, instance, run_id);
                journal_entry_add(&e, "DIND_VALUE", c->value);
                journal_entry_add(&e, "DIND_THRESHOLD", c->threshold);
                if (c->state != CHECK_OK)
                        journal_entry_add(&e, "DIND_REMEDY", c->remedy);
                r = journal_entry_send(&e);
                if (r < 0 && first == 0)
                        first = r;
        }

        struct journal_entry e;
        entry_common(&e, summary, check_list_worst(l), MID_SUMMARY, "summary", data_dir, instance, run_id);
        r = journal_entry_send(&e);
        if (r < 0 && first == 0)
                first = r;
        return first;
}
