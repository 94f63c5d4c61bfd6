/* SPDX-License-Identifier: MIT */
#pragma once

/* The authorization plugin's counters, per caller: requests by verdict and builds
 * (a /grpc or /session upgrade, a POST /build), in the same file family as the
 * checker's (textfile.h): DIR/dind_cache_authz.prom.
 *
 *   dind_cache_authz_requests_total{tenant="NS",verdict="allow|deny"}
 *   dind_cache_tenant_requests_total{tenant="NS"}   (allowed and denied together)
 *   dind_cache_tenant_builds_total{tenant="NS"}
 *
 * The tenant label is the caller's certificate name (a namespace, a node identity),
 * "anonymous" without a certificate, "unknown" when the certificate was refused
 * before it was read; control characters read as '?', at most 255 bytes.
 *
 * Invariants: those of textfile.h. Counters only grow: the plugin keeps them in its
 * state directory (authz_counters_state_text/parse) across restarts. At most
 * AUTHZ_COUNTERS_MAX callers have their own series; the others add up under
 * tenant="other". Library: never prints; negative errno. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_AUTHZ_FILE_NAME "dind_cache_authz.prom"
#define AUTHZ_COUNTERS_MAX 1024

struct authz_counter {
        char *tenant;
        uint64_t allowed, denied, builds;
};

struct authz_counters {
        struct authz_counter *items;
        size_t n;
        bool dirty;                     /* changed since the last write */
};

void authz_counters_done(struct authz_counters *c);

/* One decision by TENANT; BUILD: an allowed build. */
int authz_counters_add(struct authz_counters *c, const char *tenant, bool allowed, bool build);

/* The metrics file's text. */
int authz_counters_text(const struct authz_counters *c, char **ret);

/* The state file ("TENANT<TAB>ALLOWED<TAB>DENIED<TAB>BUILDS" lines) and back; a line
 * that does not parse is skipped. */
int authz_counters_state_text(const struct authz_counters *c, char **ret);
int authz_counters_state_parse(struct authz_counters *c, const char *text, size_t size);
