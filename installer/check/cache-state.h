/* SPDX-License-Identifier: MIT */
#pragma once

/* What the checker keeps of the build cache between runs, in its state directory
 * (the unit's StateDirectory=, /var/lib/dind-cache), in two files:
 *   cache.json          small: the last figures read, the reuse counter and its
 *                       history, the most reused steps; what `dind-cache status`
 *                       reads and a run that does not read the daemon's answer uses
 *     {"version":1,"read_at":0,"body_size":1234,"records":41,"bytes":...,
 *      "reclaimable":...,"unused_bytes":...,"images":3,"image_bytes":...,
 *      "reuses_total":17,"history":[[1764410000,12],[1764410300,17]],
 *      "top":[["RUN npm ci",9],...],"tenants":{"team-a":[42,[[1764410000,40],...]]}}
 *   cache-records.json  the UsageCount of each record used more than once
 *     {"version":1,"counts":{"ID":3,...}}
 *
 * Invariants:
 * - Both are capped when read (CACHE_STATE_MAX_SIZE, CACHE_RECORDS_MAX_SIZE) and
 *   written atomically, mode 0600 (step descriptions are commands people wrote), and
 *   only when their text changed (write_file_atomic leaves an equal file alone).
 * - A missing file is an empty state; a damaged one is -EBADMSG (the caller starts
 *   afresh; the counter then restarts, which Prometheus reads as a counter reset).
 * - A series (the reuses; each tenant's builds) holds a total and its (time, total)
 *   points, oldest first, one added only when the total changed, so the total at any
 *   time is the newest point at or before it; points older than a day go but the
 *   newest of them (the day's start), at most CACHE_HISTORY_MAX points.
 * - Tenants: the authorization plugin's build totals per caller (its state file
 *   authz/counters, "TENANT<TAB>ALLOWED<TAB>DENIED<TAB>BUILDS" lines), noted by each
 *   run; at most CACHE_TENANTS_MAX, names cleaned and cut at 255 bytes.
 * - Strings read back are cleaned again (text_sanitize_line): the file is input too.
 * - Library: never prints; negative errno. */

#include <stdbool.h>
#include <stdint.h>

#include "check/cache-reuse.h"

#define CACHE_STATE_FILE "cache.json"
#define CACHE_RECORDS_FILE "cache-records.json"
#define CACHE_STATE_MAX_SIZE (1u << 20)
#define CACHE_RECORDS_MAX_SIZE (16u << 20)
#define CACHE_HISTORY_MAX 1000
#define CACHE_HISTORY_AGE 86400
#define CACHE_TENANTS_MAX 1024
#define CACHE_TENANT_MAX_NAME 255
#define CACHE_AUTHZ_COUNTERS "authz/counters"     /* in the state directory */

struct cache_point {
        int64_t time;               /* unix seconds */
        uint64_t total;             /* the total then */
};

struct cache_series {
        uint64_t total;
        struct cache_point *points;
        size_t n;
};

/* Sets S's total at NOW and keeps its points as the invariants say. */
int cache_series_set(struct cache_series *s, uint64_t total, int64_t now);
/* The total now less the total at SINCE. When the points start later, since their
 * first: *RET_FROM (if given) says since when. */
uint64_t cache_series_since(const struct cache_series *s, int64_t since, int64_t *ret_from);

struct cache_tenant {
        char *name;
        struct cache_series builds;
};

struct cache_state {
        bool known;                 /* the build cache was read at least once */
        int64_t read_at;            /* when it was last read, while its answer is big
                                     * enough to be read only now and then; else 0 */
        uint64_t body_size;         /* bytes of the last answer */
        struct cache_summary summary;
        bool images_known;
        uint64_t images, image_bytes;
        struct cache_series reuses;
        struct cache_tenant *tenants;
        size_t n_tenants;
};

void cache_state_done(struct cache_state *s);
int cache_state_parse(const char *text, size_t size, struct cache_state *ret);
int cache_state_format(const struct cache_state *s, char **ret);
/* DIR/cache.json; -ENOENT is not an error here: RET is then empty. */
int cache_state_load(const char *dir, struct cache_state *ret);
int cache_state_save(const char *dir, const struct cache_state *s);

/* Adds REUSES to the reuse total at NOW. */
int cache_state_add_reuses(struct cache_state *s, uint64_t reuses, int64_t now);

/* Notes tenant NAME's build total at NOW (a new tenant past CACHE_TENANTS_MAX is
 * left out). */
int cache_state_note_tenant(struct cache_state *s, const char *name, uint64_t builds, int64_t now);

/* The plugin's counters file's text (authz_counters_state_parse() reads it): each
 * tenant's build total noted at NOW; lines that do not parse are skipped. */
int cache_state_note_authz_counters(struct cache_state *s, const char *text, int64_t now);

int cache_counts_parse(const char *text, size_t size, struct cache_counts *ret);
int cache_counts_format(const struct cache_counts *c, char **ret);
int cache_counts_load(const char *dir, struct cache_counts *ret);
int cache_counts_save(const char *dir, const struct cache_counts *c);
