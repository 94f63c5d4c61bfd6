/* SPDX-License-Identifier: MIT */
#pragma once

/* The pruner's figures, in the same file family as the checker's (textfile.h):
 * DIR/dind_cache_prune.prom, rewritten by every prune run that is not a dry run, so
 * that an alert can see a pruner that keeps failing or a disk it cannot bring down.
 *
 * Invariants: those of textfile.h (atomic, 0644, no timestamps on samples, one prefix,
 * base units). Figures that were not measured (bad settings, the filesystem not read)
 * are left out, never written as 0; the exit status and the run's time always are.
 * Library: never prints; negative errno. */

#include <stdbool.h>
#include <stdint.h>

#define METRICS_PRUNE_FILE_NAME "dind_cache_prune.prom"

struct metrics_prune_input {
        int exit_status;                 /* 0 under HIGH, 1 still above, 2 daemon/API, 3 settings */
        bool use_known;                  /* the data filesystem was read */
        int use_start, use_end;          /* percent used, before and after the run */
        int high, low, crit;             /* percent; 0: unknown (bad settings) */
        bool counts_known;               /* the image step ran */
        uint64_t removed_images, kept_in_use, kept_recent, refused;
        uint64_t timestamp_usec;         /* realtime of the run */
};

/* The file's text. -ENOMEM. */
int metrics_prune_text(const struct metrics_prune_input *in, char **ret);
