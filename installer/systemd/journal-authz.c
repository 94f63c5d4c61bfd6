/* SPDX-License-Identifier: MIT */
#include <syslog.h>

#include "base/message-ids.h"
#include "systemd/journal-authz.h"
#include "systemd/journal.h"

int journal_send_authz_refusal(const struct journal_authz_refusal *r) {
        struct journal_entry e = {};

        journal_entry_begin(&e, r->message, LOG_WARNING, MID_AUTHZ_DENIED);
        journal_entry_add(&e, "DIND_TENANT", r->tenant);
        journal_entry_add(&e, "DIND_RULE", r->rule);
        journal_entry_add(&e, "DIND_METHOD", r->method);
        journal_entry_add(&e, "DIND_PATH", r->path);
        journal_entry_add(&e, "DIND_SERIAL", r->serial);
        return journal_entry_send(&e);
}
