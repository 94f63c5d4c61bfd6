/* SPDX-License-Identifier: MIT */
#pragma once

/* The authorization plugin's refusals in the journal: one entry each, with its own
 * MESSAGE_ID (MID_AUTHZ_DENIED, explained in the catalog), so that
 * `journalctl MESSAGE_ID=... DIND_TENANT=NS` lists what a tenant was refused.
 *
 * Every entry carries MESSAGE, PRIORITY (warning), MESSAGE_ID, SYSLOG_IDENTIFIER
 * (dind-cache), DIND_TENANT (the certificate's name, "anonymous" without one),
 * DIND_RULE, DIND_METHOD, DIND_PATH (the request target, escaped and cut: as the
 * caller gives them) and DIND_SERIAL when the certificate was read. Built with
 * journal.h's one entry builder. Library: sends, never prints; negative errno. */

struct journal_authz_refusal {
        const char *message;
        const char *tenant;
        const char *serial;             /* or NULL */
        const char *rule;
        const char *method;
        const char *path;
};

int journal_send_authz_refusal(const struct journal_authz_refusal *r);
