/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "systemd/journal.h"
#include "base/message-ids.h"

#define MAX_FIELDS 12

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

/* The fields of one entry, each "NAME=value" in its own allocation. */
struct entry {
        char *fields[MAX_FIELDS];
        size_t n;
        bool oom;
};

static void entry_add(struct entry *e, const char *name, const char *value) {
        if (!value || e->n >= MAX_FIELDS)
                return;
        char *f = strdup_printf("%s=%s", name, value);
        if (!f)
                e->oom = true;
        else
                e->fields[e->n++] = f;
}

static int entry_send(struct entry *e) {
        struct iovec iov[MAX_FIELDS];
        int r;

        for (size_t i = 0; i < e->n; i++)
                iov[i] = (struct iovec) { .iov_base = e->fields[i], .iov_len = strlen(e->fields[i]) };
        r = e->oom ? -ENOMEM : sd_journal_sendv(iov, (int) e->n);
        for (size_t i = 0; i < e->n; i++)
                free(e->fields[i]);
        *e = (struct entry) {};
        return r;
}

static void entry_common(struct entry *e, const char *message, enum check_state state,
                         const char *message_id, const char *check, const char *data_dir,
                         const char *instance, const char *run_id) {
        char prio[4];

        snprintf(prio, sizeof(prio), "%d", check_state_to_priority(state));
        entry_add(e, "MESSAGE", message);
        entry_add(e, "PRIORITY", prio);
        entry_add(e, "MESSAGE_ID", message_id);
        entry_add(e, "SYSLOG_IDENTIFIER", "dind-cache");
        entry_add(e, "DIND_CHECK", check);
        entry_add(e, "DIND_STATE", check_state_to_plugin_string(state));
        entry_add(e, "DIND_DATA_DIR", data_dir);
        entry_add(e, "DIND_RUN_ID", run_id);
        entry_add(e, "DIND_INSTANCE", instance);
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
                struct entry e = {};

                entry_common(&e, c->message, c->state, c->message_id, c->name, data_dir, instance, run_id);
                entry_add(&e, "DIND_VALUE", c->value);
                entry_add(&e, "DIND_THRESHOLD", c->threshold);
                if (c->state != CHECK_OK)
                        entry_add(&e, "DIND_REMEDY", c->remedy);
                r = entry_send(&e);
                if (r < 0 && first == 0)
                        first = r;
        }

        struct entry e = {};
        entry_common(&e, summary, check_list_worst(l), MID_SUMMARY, "summary", data_dir, instance, run_id);
        r = entry_send(&e);
        if (r < 0 && first == 0)
                first = r;
        return first;
}
