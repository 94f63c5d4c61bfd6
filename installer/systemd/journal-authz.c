/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "base/message-ids.h"
#include "base/util.h"
#include "systemd/journal-authz.h"

int journal_send_authz_refusal(const struct journal_authz_refusal *r) {
        const struct {
                const char *name, *value;
        } fields[] = {
                { "MESSAGE", r->message },       { "MESSAGE_ID", MID_AUTHZ_DENIED },
                { "SYSLOG_IDENTIFIER", "dind-cache" }, { "DIND_TENANT", r->tenant },
                { "DIND_RULE", r->rule },        { "DIND_METHOD", r->method },
                { "DIND_PATH", r->path },        { "DIND_SERIAL", r->serial },
        };
        char *texts[ELEMENTSOF(fields) + 1] = {};
        struct iovec iov[ELEMENTSOF(fields) + 1];
        size_t n = 0;
        int q = 0;

        texts[n] = strdup_printf("PRIORITY=%d", LOG_WARNING);
        if (!texts[n])
                return -ENOMEM;
        n++;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                if (isempty(fields[i].value))
                        continue;
                texts[n] = strdup_printf("%s=%s", fields[i].name, fields[i].value);
                if (!texts[n]) {
                        q = -ENOMEM;
                        break;
                }
                n++;
        }
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec) { .iov_base = texts[i], .iov_len = strlen(texts[i]) };
        if (q == 0)
                q = sd_journal_sendv(iov, (int) n);
        for (size_t i = 0; i < n; i++)
                free(texts[i]);
        return q;
}
