/* SPDX-License-Identifier: MIT */
#pragma once

/* `dind-cache prune`'s run: cmd-prune.c reads the flags, gathers the facts and asks
 * the ladder (prune/prune-ladder.h) for each step; cmd-prune-steps.c does each step
 * (or, in a dry run, estimates it) and reports it: a line for people, an object for
 * --json, a journal entry; then the run's summary and metrics. Command layer. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "docker/docker-prune.h"
#include "prune/prune-ladder.h"
#include "base/settings.h"
#include "prune/prune-state.h"
#include "systemd/journal.h"

#define EXIT_PRUNE_HIGH 1
#define EXIT_PRUNE_DAEMON 2
#define EXIT_PRUNE_SETTINGS 3

struct prune_run_rung {             /* the rung under way, for its report */
        bool open;
        enum prune_rung rung;
        int before;                     /* use when it started */
        uint64_t used, count, estimate, released;
};

struct prune_run {
        bool dry_run, json;
        struct node_settings s;
        struct docker_client *c;
        char version[16];
        char run_id[JOURNAL_RUN_ID_LEN + 1];
        bool journal;
        int64_t now;
        struct docker_image_list images;
        struct docker_container_list containers;
        struct prune_state state;
        struct prune_progress p;       /* p.fs: the latest reading (estimated in a dry run) */
        int use_start;
        bool fs_known;                 /* p.fs and use_start were read */
        json_t *steps, *images_json;   /* for --json */
        uint64_t removed_images, failed_busy;
        struct prune_run_rung rung;
};

/* A line for people on stdout; nothing with --json (stdout holds the document). */
void prune_say(const struct prune_run *r, const char *fmt, ...) _printf_(2, 3);

/* One journal entry (journal-prune.h); COUNTS: with DIND_COUNT and DIND_BYTES. */
void prune_journal(const struct prune_run *r, const char *message, int priority, const char *mid, const char *step,
                   bool counts, uint64_t count, uint64_t bytes, int before, int after, const char *params);

/* Logs and journals a failed daemon call WHAT with the daemon's message: -EPROTO. */
int prune_daemon_failed(struct prune_run *r, const char *what);

/* Does STEP (a dry run: estimates it) and reports it: 0, -EPROTO the daemon failed,
 * another negative errno (logged). */
int prune_run_step(struct prune_run *r, const struct prune_facts *f, const struct prune_step *step);

/* The summary: stdout (or the --json document) and the journal. The exit status
 * (0, EXIT_PRUNE_HIGH), or negative errno (logged). */
int prune_finish(struct prune_run *r);

/* dind_cache_prune.prom beside the checker's metrics; a failure is a warning. */
void prune_write_metrics(const struct prune_run *r, int status);
