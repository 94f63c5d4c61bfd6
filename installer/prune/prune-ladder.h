/* SPDX-License-Identifier: MIT */
#pragma once

/* The pruner's ladder: which step comes next, a pure function of the facts gathered
 * once and of the progress so far. The command asks prune_next(), does the step it
 * names (or estimates it, in a dry run), puts the filesystem's use after it in the
 * progress, and asks again, until PRUNE_STEP_STOP. Progress is judged by statfs, never
 * by what the daemon says it reclaimed (images and build cache share layers).
 *
 * The rungs, in order (README "prune"):
 *   containers        stopped containers older than MIN_AGE          always
 *   dangling          dangling images older than MIN_AGE             always
 *   build-cache       keep RESERVE, cap at LOW, free until LOW        use >= HIGH
 *   images            least recently used first, one at a time,       use >= LOW
 *                     never one a container uses (running or
 *                     stopped), never one used within MIN_AGE
 *   build-cache-crit  the same without the reserve                    use >= CRIT
 *   images-no-grace   the images used within MIN_AGE, LRU first       use >= LOW
 *   build-cache-all   `all`: the records kept images still hold too   use >= CRIT
 * An images rung ends once use is under LOW. After each image that went, still at or
 * above LOW, BuildKit is asked to trim again with the same sizes (never `all`): the
 * records that image held are BuildKit's own now. A dry run removes nothing and so
 * never re-trims.
 *
 * Invariants:
 * - Every trim (BUILD_CACHE, RETRIM) comes right after a MEASURE of the build cache;
 *   a RETRIM is skipped when the cache has no records.
 * - The images are inspected (INSPECT) once, only when an images rung starts.
 * - Library: no I/O, never prints. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker/docker-prune.h"
#include "prune/prune-plan.h"
#include "base/settings.h"
#include "prune/prune-state.h"

enum prune_rung {
        PRUNE_RUNG_CONTAINERS,
        PRUNE_RUNG_DANGLING,
        PRUNE_RUNG_BUILD_CACHE,
        PRUNE_RUNG_IMAGES,
        PRUNE_RUNG_BUILD_CACHE_CRIT,
        PRUNE_RUNG_IMAGES_NO_GRACE,
        PRUNE_RUNG_BUILD_CACHE_ALL,
        _PRUNE_RUNG_MAX,
};

enum prune_step_kind {
        PRUNE_STEP_BEGIN,         /* nothing done yet (the progress's start) */
        PRUNE_STEP_CONTAINERS,    /* remove stopped containers created before .until */
        PRUNE_STEP_DANGLING,      /* remove dangling images created before .until */
        PRUNE_STEP_MEASURE,       /* read the build cache's size into the progress */
        PRUNE_STEP_BUILD_CACHE,   /* trim the build cache with .build */
        PRUNE_STEP_INSPECT,       /* inspect every image (layers, last tag time) */
        PRUNE_STEP_IMAGE,         /* remove .image, never forced; set the progress's .removed */
        PRUNE_STEP_RETRIM,        /* trim the build cache again with .build (never all) */
        PRUNE_STEP_IMAGES_DONE,   /* the images rung ended: report it */
        PRUNE_STEP_STOP,
};

/* What the command gathered once. INSPECT fills in the images' layers and last tag
 * times in place. */
struct prune_facts {
        const struct node_settings *settings;
        const char *api_version;  /* negotiated: /build/prune's parameters depend on it */
        int64_t now;              /* unix seconds */
        bool dry_run;
        const struct docker_image_list *images;
        const struct docker_container_list *containers;  /* running and stopped */
        const struct prune_state *state;                 /* the last uses the events told */
};

struct prune_progress {
        /* The command's part, after each step: */
        struct prune_fs fs;       /* statfs now (a dry run: lowered by the estimates) */
        bool removed;             /* IMAGE: it went (false: the daemon refused it) */
        uint64_t cache_bytes;     /* MEASURE: the build cache's own size */
        uint64_t cache_records;   /* MEASURE: its records */
        /* The ladder's part, for the command to read: */
        enum prune_step_kind last;
        enum prune_rung rung;
        uint64_t kept_in_use;     /* the last images rung kept these: a container uses them */
        uint64_t kept_recent;     /* ... and these: used within MIN_AGE */
        /* The ladder's own: */
        enum prune_step_kind pending;  /* the trim a MEASURE is for */
        struct prune_image *plan;      /* after INSPECT: every image, least recently used first */
        size_t n_plan, cursor;
};

struct prune_step {
        enum prune_step_kind kind;
        enum prune_rung rung;
        int64_t until;                    /* CONTAINERS, DANGLING: created before (unix seconds) */
        uint64_t min_age_sec;             /* CONTAINERS, DANGLING: the same as an age */
        struct docker_build_prune build;  /* BUILD_CACHE, RETRIM */
        char params[160];                 /* BUILD_CACHE, RETRIM: the query for the daemon's
                                           * API version, without '?'; "no size limits" */
        const struct prune_image *image;  /* IMAGE: an item of the progress's plan */
};

/* The next step after P->last, in RET. Starts with P zeroed but for P->fs. -ENOMEM. */
int prune_next(const struct prune_facts *f, struct prune_progress *p, struct prune_step *ret);
void prune_progress_done(struct prune_progress *p);

/* "containers", "dangling", "build-cache", "images", "build-cache-crit",
 * "images-no-grace", "build-cache-all": the step names of the journal and --json. */
const char *prune_rung_to_string(enum prune_rung r);

/* A dry run's estimates, from the facts alone: */
/* whether CONTAINERS would remove K (stopped, created before the step's .until); */
bool prune_container_goes(const struct prune_step *s, const struct docker_container *k);
/* whether DANGLING would remove IMG (untagged, no container's, created before .until); */
bool prune_dangling_goes(const struct prune_facts *f, const struct prune_step *s, const struct docker_image *img);
/* what a trim with S's sizes frees at most: the cache above what it keeps (all of it
 * with `all`), and no more than use over LOW. */
uint64_t prune_build_estimate(const struct prune_facts *f, const struct prune_progress *p,
                              const struct prune_step *s);
