/* SPDX-License-Identifier: MIT */
/* The steps of `dind-cache prune`, each done as the ladder names it (a dry run only
 * estimates), the filesystem re-read after it, and reported; then the run's summary
 * (stdout, --json, the journal) and its metrics file. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/json-util.h"
#include "base/message-ids.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/prune.h"
#include "metrics/prune-metrics.h"
#include "metrics/textfile.h"
#include "systemd/journal-prune.h"

void prune_say(const struct prune_run *r, const char *fmt, ...) {
        va_list ap;

        if (r->json)
                return;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
}

void prune_journal(const struct prune_run *r, const char *message, int priority, const char *mid, const char *step,
                   bool counts, uint64_t count, uint64_t bytes, int before, int after, const char *params) {
        struct journal_prune_entry e = {
                .message = message, .priority = priority, .message_id = mid, .step = step,
                .has_counts = counts, .count = count, .bytes = bytes,
                .use_before = before, .use_after = after,
                .data_dir = r->s.data_dir, .docker_host = r->s.docker_host.text,
                .run_id = r->run_id[0] ? r->run_id : NULL, .params = params,
        };
        int q;

        if (!r->journal)
                return;
        q = journal_send_prune(&e);
        if (q < 0)
                log_warning_errno(q, "cannot send to the journal: %m");
}

int prune_daemon_failed(struct prune_run *r, const char *what) {
        _cleanup_free_ char *msg = strdup_printf("dind-cache prune: %s: %s", what, docker_client_last_error(r->c));

        if (!msg)
                return log_error_errno(-ENOMEM, "out of memory: %m");
        log_error("%s", msg + strlen("dind-cache prune: "));
        prune_journal(r, msg, LOG_ERR, MID_PRUNE_DAEMON_ERROR, "daemon", false, 0, 0, r->p.fs.percent, -1, NULL);
        return -EPROTO;
}

/* Re-reads the filesystem; in a dry run, lowers the reading by ESTIMATE instead. */
static int reread(struct prune_run *r, uint64_t estimate) {
        struct prune_fs *fs = &r->p.fs;

        if (r->dry_run) {
                prune_fs_lower(fs, estimate);
                return 0;
        }
        /* XFS frees the blocks of unlinked inodes in the background, shortly after the
         * daemon answered: read until two readings 100 ms apart agree (at most 2 s). */
        struct prune_fs prev;
        int q = prune_fs_read(r->s.data_dir, &prev);
        for (int i = 0; q >= 0 && i < 20; i++) {
                usleep(100 * 1000);
                q = prune_fs_read(r->s.data_dir, fs);
                if (q >= 0 && fs->used >= prev.used)
                        break;
                prev = *fs;
        }
        if (q < 0)
                return log_error_errno(q, "cannot read the use of '%s': %m", r->s.data_dir);
        return 0;
}

static uint64_t freed(const struct prune_run *r) {
        return r->rung.used > r->p.fs.used ? r->rung.used - r->p.fs.used : 0;
}

static const char *rung_message_id(enum prune_rung rung) {
        switch (rung) {
        case PRUNE_RUNG_CONTAINERS:
                return MID_PRUNE_CONTAINERS;
        case PRUNE_RUNG_DANGLING:
                return MID_PRUNE_DANGLING;
        case PRUNE_RUNG_IMAGES:
        case PRUNE_RUNG_IMAGES_NO_GRACE:
                return MID_PRUNE_IMAGES;
        default:
                return MID_PRUNE_BUILD_CACHE;
        }
}

/* The rung under way is done: COUNT WHAT removed, BYTES freed (estimated). */
static void rung_done(struct prune_run *r, uint64_t count, uint64_t bytes, const char *what, const char *params) {
        const char *step = prune_rung_to_string(r->rung.rung);
        int before = r->rung.before, after = r->p.fs.percent;
        char b[16];
        _cleanup_free_ char *msg = strdup_printf("%s: %s %" PRIu64 " %s (%s), use %d%% -> %d%%%s%s%s", step,
                                                 r->dry_run ? "would remove" : "removed", count, what,
                                                 format_bytes(bytes, b, sizeof(b)), before, after,
                                                 r->dry_run ? " (estimate)" : "", params ? "; " : "",
                                                 params ? params : "");
        if (!msg)
                return;
        prune_say(r, "%s", msg);
        if (r->steps) {
                json_t *o = json_pack("{s:s, s:I, s:I, s:i, s:i}", "step", step, "count", (json_int_t) count,
                                      "bytes", (json_int_t) bytes, "use_before", before, "use_after", after);
                if (o && params)
                        json_object_set_new(o, "params", json_string(params));
                json_array_append_new(r->steps, o);
        }
        if (!r->dry_run)
                prune_journal(r, msg, LOG_INFO, rung_message_id(r->rung.rung), step, true, count, bytes, before, after,
                              params);
}

/* Stopped containers, or dangling images, older than MIN_AGE. */
static int tidy(struct prune_run *r, const struct prune_facts *f, const struct prune_step *st) {
        bool containers = st->kind == PRUNE_STEP_CONTAINERS;
        struct docker_prune_report rep = {};
        int q;

        if (r->dry_run && containers) {
                for (size_t i = 0; i < r->containers.n; i++)
                        if (prune_container_goes(st, &r->containers.items[i])) {
                                prune_say(r, "containers: would remove %.12s (%s)", r->containers.items[i].id,
                                          r->containers.items[i].state ?: "?");
                                rep.count++;
                        }
        } else if (r->dry_run) {
                for (size_t i = 0; i < r->images.n; i++)
                        if (prune_dangling_goes(f, st, &r->images.items[i])) {
                                prune_say(r, "dangling: would remove %.19s", r->images.items[i].id);
                                rep.count++;
                                rep.bytes += r->images.items[i].size;
                        }
        } else {
                q = containers ? docker_prune_containers(r->c, st->min_age_sec, &rep)
                               : docker_prune_dangling_images(r->c, st->min_age_sec, &rep);
                if (q < 0)
                        return prune_daemon_failed(r, containers ? "cannot remove stopped containers"
                                                                 : "cannot remove dangling images");
        }
        q = reread(r, r->dry_run ? rep.bytes : 0);
        if (q < 0)
                return q;
        rung_done(r, rep.count, r->dry_run ? rep.bytes : freed(r), containers ?
                  (rep.count == 1 ? "stopped container" : "stopped containers") :
                  (rep.count == 1 ? "dangling image" : "dangling images"), NULL);
        return 0;
}

static int build_cache(struct prune_run *r, const struct prune_facts *f, const struct prune_step *st) {
        struct docker_prune_report rep = {};
        int q;

        if (r->dry_run) {
                uint64_t estimate = prune_build_estimate(f, &r->p, st);
                prune_say(r, "build-cache: would ask the daemon (API %s) to trim its cache of %" PRIu64 " records with %s",
                          r->version, r->p.cache_records, st->params);
                q = reread(r, estimate);
                if (q >= 0)
                        rung_done(r, r->p.cache_records, estimate, "build cache records at most", st->params);
                return q;
        }
        q = docker_build_prune(r->c, r->version, &st->build, &rep);
        if (q < 0)
                return prune_daemon_failed(r, "cannot trim the build cache");
        q = reread(r, 0);
        if (q >= 0)
                rung_done(r, rep.count, freed(r), rep.count == 1 ? "build cache record" : "build cache records",
                          st->params);
        return q;
}

/* After an image went: on the classic store BuildKit's cache records and images share
 * layers, and BuildKit never trims a record an image still holds (it would free
 * nothing), so removing an image frees nothing either while its records stay. The
 * ladder asks BuildKit to trim again with the same sizes: the records that image held
 * are now its own, and its LRU decides which go; those of the images kept stay shared
 * and stay. */
static int retrim(struct prune_run *r, const struct prune_step *st) {
        struct docker_prune_report rep = {};
        int q;

        q = docker_build_prune(r->c, r->version, &st->build, &rep);
        if (q < 0)
                return prune_daemon_failed(r, "cannot trim the build cache");
        if (rep.count == 0)
                return 0;
        r->rung.released += rep.count;
        q = reread(r, 0);
        if (q >= 0)
                prune_say(r, "images: then %" PRIu64 " build cache records no image holds any more, use now %d%%",
                          rep.count, r->p.fs.percent);
        return q;
}

static void image_json(struct prune_run *r, const struct prune_image *pi, const char *action) {
        json_t *tags = json_array(), *o;

        if (!r->images_json || !tags) {
                json_decref(tags);
                return;
        }
        for (char **t = pi->image->tags; *t; t++)
                json_array_append_new(tags, json_string(*t));
        o = json_pack("{s:s, s:o, s:I, s:I, s:s}", "id", pi->image->id, "tags", tags, "last_use",
                      (json_int_t) pi->last_use, "size", (json_int_t) pi->image->size, "action", action);
        json_array_append_new(r->images_json, o);
}

/* Removes one image, tag by tag (an untagged one by id). 0 gone, -EBUSY refused. */
static int remove_image(struct prune_run *r, const struct docker_image *img) {
        int q;

        if (!img->tags[0]) {
                q = docker_remove_image(r->c, img->id);
                return q == -ENOENT ? 0 : q;
        }
        for (char **t = img->tags; *t; t++) {
                q = docker_remove_image(r->c, *t);
                if (q < 0 && q != -ENOENT)
                        return q;
        }
        return 0;
}

static int image(struct prune_run *r, const struct prune_image *pi) {
        const char *name = pi->image->tags[0] ? pi->image->tags[0] : pi->image->id;
        time_t lu = (time_t) pi->last_use;
        char t[64], b[16];
        struct tm tm;
        int q;

        if (!gmtime_r(&lu, &tm) || strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(t, sizeof(t), "?");
        r->p.removed = false;
        if (r->dry_run) {
                prune_say(r, "images: would remove %s (%.19s, %s, last used %s)", name, pi->image->id,
                          format_bytes(pi->image->size, b, sizeof(b)), t);
                image_json(r, pi, "would remove");
                r->rung.count++;
                r->rung.estimate += pi->image->size;
                return reread(r, pi->image->size);
        }
        q = remove_image(r, pi->image);
        if (q == -EBUSY) {
                prune_say(r, "images: kept %s: %s", name, docker_client_last_error(r->c));
                image_json(r, pi, "refused by the daemon");
                r->failed_busy++;
                return 0;
        }
        if (q < 0)
                return prune_daemon_failed(r, "cannot remove an image");
        q = reread(r, 0);
        if (q < 0)
                return q;
        prune_say(r, "images: removed %s (%.19s, last used %s), use now %d%%", name, pi->image->id, t,
                  r->p.fs.percent);
        image_json(r, pi, "removed");
        r->rung.count++;
        r->p.removed = true;
        return 0;
}

static int images_done(struct prune_run *r) {
        _cleanup_free_ char *note = NULL;
        uint64_t n = r->rung.count;

        if (r->rung.released > 0 &&
            !(note = strdup_printf("and %" PRIu64 " build cache records they had held", r->rung.released)))
                return log_error_errno(-ENOMEM, "out of memory: %m");
        r->removed_images += n;
        rung_done(r, n, r->dry_run ? r->rung.estimate : freed(r), n == 1 ? "image" : "images", note);
        return 0;
}

/* Fills in LastTagTime and the layers, which only GET /images/{id}/json tells. */
static int inspect_images(struct prune_run *r) {
        for (size_t i = 0; i < r->images.n; i++) {
                int q = docker_image_inspect(r->c, &r->images.items[i]);
                if (q == -ENOENT)
                        continue;
                if (q < 0)
                        return prune_daemon_failed(r, "cannot inspect an image");
        }
        return 0;
}

int prune_run_step(struct prune_run *r, const struct prune_facts *f, const struct prune_step *st) {
        if (!r->rung.open || st->rung != r->rung.rung)
                r->rung = (struct prune_run_rung) { .open = true, .rung = st->rung, .before = r->p.fs.percent,
                                                    .used = r->p.fs.used };
        switch (st->kind) {
        case PRUNE_STEP_CONTAINERS:
        case PRUNE_STEP_DANGLING:
                return tidy(r, f, st);
        case PRUNE_STEP_MEASURE:
                if (docker_build_cache_size(r->c, r->version, &r->p.cache_bytes, &r->p.cache_records) < 0)
                        return prune_daemon_failed(r, "cannot read the build cache's size");
                return 0;
        case PRUNE_STEP_BUILD_CACHE:
                return build_cache(r, f, st);
        case PRUNE_STEP_INSPECT:
                return inspect_images(r);
        case PRUNE_STEP_IMAGE:
                return image(r, st->image);
        case PRUNE_STEP_RETRIM:
                return retrim(r, st);
        case PRUNE_STEP_IMAGES_DONE:
                return images_done(r);
        default:
                return 0;
        }
}

int prune_finish(struct prune_run *r) {
        bool high = r->p.fs.percent >= r->s.high;
        int status = high ? EXIT_PRUNE_HIGH : 0;
        _cleanup_free_ char *summary = NULL;

        if (high)
                summary = strdup_printf("dind-cache prune WARNING: %s %d%% -> %d%% used, still at or above high %d%%: "
                                        "%" PRIu64 " images in use by containers, %" PRIu64 " used within MIN_AGE, "
                                        "%" PRIu64 " refused by the daemon; the rest is build cache BuildKit keeps "
                                        "or files that are not Docker's",
                                        r->s.data_dir, r->use_start, r->p.fs.percent, r->s.high, r->p.kept_in_use,
                                        r->p.kept_recent, r->failed_busy);
        else
                summary = strdup_printf("dind-cache prune OK: %s %d%% -> %d%% used (high %d%%, low %d%%)%s",
                                        r->s.data_dir, r->use_start, r->p.fs.percent, r->s.high, r->s.low,
                                        r->dry_run ? ", dry run: nothing was changed" : "");
        if (!summary)
                return log_error_errno(-ENOMEM, "out of memory: %m");
        if (!r->dry_run)
                prune_journal(r, summary, high ? LOG_WARNING : LOG_INFO, high ? MID_PRUNE_STILL_HIGH : MID_PRUNE_DONE,
                              "summary", true, r->removed_images, 0, r->use_start, r->p.fs.percent, NULL);
        if (r->json) {
                _cleanup_json_ json_t *doc = json_pack(
                        "{s:s, s:s, s:b, s:i, s:i, s:i, s:i, s:i, s:O, s:O, s:s, s:i, s:s}", "data_dir",
                        r->s.data_dir, "api_version", r->version, "dry_run", r->dry_run, "high", r->s.high, "low",
                        r->s.low, "crit", r->s.crit, "use_before", r->use_start, "use_after", r->p.fs.percent, "steps",
                        r->steps, "images", r->images_json, "status", high ? "WARNING" : "OK", "exit_status", status,
                        "summary", summary);
                if (!doc || json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
                        return log_error_errno(-EIO, "cannot write the report: %m");
                fputc('\n', stdout);
        } else
                printf("%s\n", summary);
        if (fflush(stdout) != 0 || ferror(stdout))
                return log_error_errno(-EIO, "cannot write the report: %m");
        return status;
}

/* dind_cache_prune.prom beside the checker's metrics, when that directory is there.
 * A failure costs the metrics, not the run: a warning; the exit status stays. */
void prune_write_metrics(const struct prune_run *r, int status) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        struct timespec ts;
        int q;

        if (r->dry_run || cmd_metrics_dir(&dir) <= 0)
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        q = metrics_prune_text(&(struct metrics_prune_input) {
                                       .exit_status = status,
                                       .use_known = r->fs_known,
                                       .use_start = r->use_start,
                                       .use_end = r->p.fs.percent,
                                       .high = r->s.high,
                                       .low = r->s.low,
                                       .crit = r->s.crit,
                                       .counts_known = status <= EXIT_PRUNE_HIGH,
                                       .removed_images = r->removed_images,
                                       .kept_in_use = r->p.kept_in_use,
                                       .kept_recent = r->p.kept_recent,
                                       .refused = r->failed_busy,
                                       .timestamp_usec = (uint64_t) ts.tv_sec * 1000000ULL +
                                                         (uint64_t) ts.tv_nsec / 1000,
                               }, &text);
        if (q >= 0)
                q = metrics_write_named(dir, METRICS_PRUNE_FILE_NAME, text);
        if (q < 0)
                log_warning_errno(q, "cannot write the metrics file '%s/%s': %m", dir, METRICS_PRUNE_FILE_NAME);
}
