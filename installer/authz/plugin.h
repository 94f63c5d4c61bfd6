/* SPDX-License-Identifier: MIT */
#pragma once

/* The plugin's calls, without the HTTP around them (server.h carries them): dockerd
 * POSTs a JSON body to /Plugin.Activate once, then to /AuthZPlugin.AuthZReq before
 * and /AuthZPlugin.AuthZRes after every API request it serves.
 *
 * Per request: the envelope (authz-request.h) -> the caller (identity.h) -> the deny
 * list (revoked.h) -> a tenant is on the tenant list (tenants.h) -> the table (policy.h) -> the named volumes an allowed create will
 * make, claimed (learn.h) -> the reply {"Allow": bool, "Msg": "...", "Err": ""}, and a
 * count. Per response: what it teaches about ownership (owners.h),
 * then always {"Allow": true}: the request has run by then, a refusal would only hide
 * its result.
 *
 * Invariants:
 * - A request the plugin cannot read is refused ("malformed-request"); so is every
 *   certificate while the deny list cannot be read ("revoked-list"), and every tenant
 *   while the tenant list cannot be read ("tenant-list").
 * - The checker's probe (identity.h, IDENTITY_PROBE) gets the verdict a tenant would,
 *   and leaves no trace: no count, no event, no ownership.
 * - Every refusal of a request gives an event (struct authz_event) for the journal.
 * - State (owners, counters, the deny list) lives in STATE_DIR; without one, in memory.
 * - Single-threaded: one call at a time.
 * - Library: never prints; negative errno (-ENOMEM) only: a verdict is always given. */

#include <stdbool.h>
#include <stddef.h>

#include "authz/identity.h"
#include "authz/owners.h"
#include "authz/revoked.h"
#include "authz/tenants.h"
#include "metrics/authz-metrics.h"

#define AUTHZ_PLUGIN_NAME "dind-cache-authz"
#define AUTHZ_DEFAULT_STATE_DIR "/var/lib/dind-cache/authz"
#define AUTHZ_COUNTERS_FILE "counters"

struct authz_plugin {
        char *state_dir;
        struct owners *owners;
        struct revoked revoked;
        struct tenants tenants;
        struct identity_cache ids;
        struct authz_counters counters;
        int owners_error;               /* the last owners_save() error, 0 none */
        unsigned long requests, responses;
};

/* A refusal, for the journal: every string cleaned, escaped and cut. */
struct authz_event {
        char *message;
        char *tenant;
        char *serial;
        char *rule;
        char *method;
        char *path;
};
void authz_event_done(struct authz_event *e);

/* STATE_DIR may be NULL. Loads what it holds (owners, counters). */
int authz_plugin_new(const char *state_dir, struct authz_plugin **ret);
struct authz_plugin *authz_plugin_free(struct authz_plugin *p);

/* One call: ENDPOINT is the HTTP path dockerd posted to, BODY its body. *RET_STATUS
 * the HTTP status, *RET_REPLY the JSON to answer (caller frees); *RET_EVENT filled
 * (message non-NULL) when a request was refused. */
int authz_plugin_handle(struct authz_plugin *p, const char *endpoint, const char *body, size_t size,
                        int *ret_status, char **ret_reply, struct authz_event *ret_event);

/* Writes the counters to the state directory and, when METRICS_DIR is not NULL, the
 * metrics file there. Only when they changed since the last call. */
int authz_plugin_flush(struct authz_plugin *p, const char *metrics_dir);
