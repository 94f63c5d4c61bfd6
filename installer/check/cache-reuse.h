/* SPDX-License-Identifier: MIT */
#pragma once

/* How often the build cache was reused, from its records as GET /system/df lists them
 * (docker/docker-cache.h): a pure function of the records now and the usage counts
 * kept from the run before.
 *
 * What the daemon shows (dockerd 28.5.2, BuildKit, seen with builds that print
 * `--progress=plain`): a record's UsageCount is 1 when a build makes it and grows by
 * one each time a later build LOADS it; a build loads only the last cached step of
 * each chain it goes on from (the step whose result the next step that runs, or the
 * exporter, needs), not the cached steps beneath it: a fully cached 4-step build
 * prints 4 CACHED lines and raises the UsageCount of the fourth step's record alone.
 * The steps beneath are that record's Parents. So one load of a record counts as
 * many reuses as the chain it stands on: itself and each ancestor that is a build
 * step. What counts:
 *   - Type "regular" records only. "source.local" (the build context and the
 *     Dockerfile, "local source for context") grows on every build, cached or not;
 *     "exec.cachemount" (RUN --mount=type=cache) grows by one or two each time a
 *     RUN that mounts it runs, which is no CACHED step; "frontend" and "internal"
 *     are BuildKit's own.
 *   - A base image's layers ("from local ..." from the daemon's image store,
 *     "pulled from ..." from a registry) are no step: a load of the top one counts
 *     one (the FROM step prints CACHED then), and they never count as ancestors.
 * Exact for single-stage Dockerfiles. A multi-stage build whose earlier stages are
 * only copied from (COPY --from) loads none of their records when it is fully
 * cached, so their CACHED steps go uncounted; and two chains loaded by one build
 * count a step they share twice.
 *
 * Counting: a record with UsageCount n whose count was m at the last run (1 when it
 * was not kept: seen at 1, or never seen) adds (n - m) times its chain. Only records
 * with UsageCount > 1 are kept (struct cache_counts), so a record first seen with
 * UsageCount n adds n - 1 times its chain, and an evicted record keeps what it added
 * (the total is the caller's to keep).
 *
 * Invariants: the work is capped (CACHE_WALK_BUDGET ancestor visits in all, each walk
 * at most CACHE_WALK_MAX records: a cycle or a hostile chain costs no more); never
 * prints; -ENOMEM only. */

#include <stdint.h>

#include "docker/docker-cache.h"

#define CACHE_WALK_MAX 1024
#define CACHE_WALK_BUDGET 4000000
#define CACHE_TOP_N 5
#define CACHE_TOP_WIDTH 60          /* bytes of a description shown */
#define CACHE_UNUSED_AGE (7 * 86400)

struct cache_count {
        char *id;
        uint64_t count;             /* UsageCount, > 1 */
};

/* Sorted by id. */
struct cache_counts {
        struct cache_count *items;
        size_t n;
};

void cache_counts_done(struct cache_counts *c);
/* The count kept for ID, 0 none (C sorted). */
uint64_t cache_counts_get(const struct cache_counts *c, const char *id);
/* Appends ID; cache_counts_sort() then sorts by id and keeps the first of each id. */
int cache_counts_add(struct cache_counts *c, const char *id, uint64_t count);
void cache_counts_sort(struct cache_counts *c);

struct cache_top {
        char *description;          /* for people: "RUN npm ci", cut at CACHE_TOP_WIDTH */
        uint64_t reuses;            /* how often it was a cached step, by the counts now */
};

struct cache_summary {
        uint64_t records;           /* every record */
        uint64_t bytes;             /* Size of the records not Shared with an image */
        uint64_t reclaimable;       /* of those, not InUse */
        uint64_t unused_bytes;      /* of those, not used for CACHE_UNUSED_AGE (LastUsedAt) */
        struct cache_top top[CACHE_TOP_N];
        size_t n_top;
};

void cache_summary_done(struct cache_summary *s);

/* Reads BC at time NOW (unix seconds) against PREV: RET_SUMMARY, RET_COUNTS (the
 * counts to keep for the next run) and RET_REUSES (added since PREV). */
int cache_account(const struct docker_build_cache *bc, const struct cache_counts *prev, int64_t now,
                  struct cache_summary *ret_summary, struct cache_counts *ret_counts, uint64_t *ret_reuses);

/* DESCRIPTION as people know the step, at most CACHE_TOP_WIDTH bytes: "mount / from
 * exec /bin/sh -c X" reads "RUN X", a "[stage 2/5] " prefix goes. NULL on -ENOMEM. */
char *cache_step_name(const char *description);
