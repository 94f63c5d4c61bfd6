/* SPDX-License-Identifier: MIT */
/* dind-cache prune [--dry-run] [--json] [--no-journal]: keeps the data filesystem under
 * its watermarks, what the prune timer runs. Exit status: 0 under HIGH at the end (or
 * nothing to do), 1 still above HIGH with nothing more allowed to go, 2 the run failed
 * (the daemon is unreachable, an API call failed, or a local error: statfs, the state
 * file, memory, the report), 3 bad settings. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "docker/docker-prune.h"
#include "base/http.h"
#include "metrics/prune-metrics.h"
#include "metrics/textfile.h"
#include "prune/prune-plan.h"
#include "prune/prune-state.h"
#include "base/settings.h"
#include "systemd/journal.h"
#include "systemd/journal-prune.h"
#include "base/message-ids.h"
#include "base/json-util.h"
#include "base/log.h"
#include "base/text.h"

#define EXIT_PRUNE_HIGH 1
#define EXIT_PRUNE_DAEMON 2
#define EXIT_PRUNE_SETTINGS 3

static bool arg_dry_run;
static bool arg_json;
static bool arg_journal = true;

struct run {
        struct node_settings s;
        struct docker_client *c;
        char version[16];
        char run_id[JOURNAL_RUN_ID_LEN + 1];
        bool journal;
        int64_t now;
        struct prune_fs fs;            /* the latest reading (estimated in a dry run) */
        int use_start;
        bool fs_known;                 /* fs and use_start were read */
        json_t *steps, *images;        /* for --json */
        uint64_t removed_images, kept_in_use, kept_recent, failed_busy;
};

static void usage(void) {
        printf("Usage: dind-cache prune [--dry-run] [--json] [--no-journal]\n"
               "\n"
               "Keeps the cache's filesystem under its watermarks: always removes stopped\n"
               "containers and dangling images older than MIN_AGE; above HIGH trims the build\n"
               "cache, then removes images least recently used first, one at a time, until use\n"
               "is under LOW; above CRIT without the reserve and the MIN_AGE grace. Never an\n"
               "image a container uses. Exit status: 0 under HIGH, 1 still above HIGH, 2 the\n"
               "run failed (daemon unreachable, API or local error), 3 bad settings.\n"
               "\n"
               "Options:\n"
               "      --dry-run     list what would be removed, in order; change nothing\n"
               "      --json        print the run as JSON\n"
               "      --no-journal  do not send the steps to the journal\n"
               "  -h, --help        show this help\n"
               "\n"
               "Settings (environment; the timer reads " SETTINGS_ENV_FILE "):\n"
               "  DOCKER_HOST                 tcp://HOST:PORT or unix:///PATH of the daemon\n"
               "  DOCKER_TLS_VERIFY, DOCKER_CERT_PATH  mutual TLS with the daemon, as for check\n"
               "  DIND_CACHE_DATA_DIR         the cache's mount point (default %s)\n"
               "  DIND_CACHE_PRUNE_HIGH/LOW/CRIT  percent used (default 80/70/90)\n"
               "  DIND_CACHE_PRUNE_MIN_AGE    nothing used more recently is removed (default 1h)\n"
               "  DIND_CACHE_PRUNE_RESERVE    percent of the filesystem the build cache keeps (10)\n"
               "  DIND_CACHE_PRUNE_STATE      last-use state file (default %s)\n"
               "  DIND_CACHE_TIMEOUT          each daemon call (default 60s)\n",
               SETTINGS_DEFAULT_DATA_DIR, SETTINGS_DEFAULT_PRUNE_STATE);
}

static int parse_argv(int argc, char **argv) {
        enum { ARG_DRY_RUN = 0x100, ARG_JSON, ARG_NO_JOURNAL };
        static const struct option options[] = {
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-journal", no_argument, NULL, ARG_NO_JOURNAL },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        usage();
                        return 0;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_JOURNAL:
                        arg_journal = false;
                        break;
                default:
                        fprintf(stderr, "dind-cache prune: unknown option '%s' (try 'dind-cache prune --help')\n",
                                argv[optind - 1]);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "dind-cache prune: unexpected argument '%s' (try 'dind-cache prune --help')\n",
                        argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* A line for people; --json keeps stdout for the document. */
static void say(const char *fmt, ...) _printf_(1, 2);
static void say(const char *fmt, ...) {
        va_list ap;

        if (arg_json)
                return;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
}

static void journal_entry(struct run *r, const char *message, int priority, const char *mid,
                          const char *step, bool counts, uint64_t count, uint64_t bytes,
                          int before, int after, const char *params) {
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

static int daemon_failed(struct run *r, int error, const char *what) {
        _cleanup_free_ char *msg = strdup_printf("dind-cache prune: %s: %s", what, docker_client_last_error(r->c));

        if (!msg)
                return log_error_errno(-ENOMEM, "out of memory: %m");
        log_error("%s", msg + strlen("dind-cache prune: "));
        journal_entry(r, msg, LOG_ERR, MID_PRUNE_DAEMON_ERROR, "daemon", false, 0, 0, r->fs.percent, -1, NULL);
        return -EPROTO;
}

/* Re-reads the filesystem; in a dry run, lowers the reading by ESTIMATE instead. */
static int reread(struct run *r, uint64_t estimate) {
        if (arg_dry_run) {
                uint64_t used = r->fs.used > estimate ? r->fs.used - estimate : 0;
                uint64_t size = r->fs.size;
                r->fs.used = used;
                r->fs.avail = size - used;
                r->fs.percent = size ? (int) ((used * 100 + size - 1) / size) : 0;
                return 0;
        }
        /* XFS frees the blocks of unlinked inodes in the background, shortly after the
         * daemon answered: read until two readings 100 ms apart agree (at most 2 s). */
        struct prune_fs prev;
        int q = prune_fs_read(r->s.data_dir, &prev);
        for (int i = 0; q >= 0 && i < 20; i++) {
                usleep(100 * 1000);
                q = prune_fs_read(r->s.data_dir, &r->fs);
                if (q >= 0 && r->fs.used >= prev.used)
                        break;
                prev = r->fs;
        }
        if (q < 0)
                return log_error_errno(q, "cannot read the use of '%s': %m", r->s.data_dir);
        return 0;
}

static void step_done(struct run *r, const char *step, const char *mid, uint64_t count, uint64_t bytes,
                      int before, const char *what, const char *params) {
        char b[16];
        _cleanup_free_ char *msg = strdup_printf("%s: %s %" PRIu64 " %s (%s), use %d%% -> %d%%%s%s%s",
                                                 step, arg_dry_run ? "would remove" : "removed", count, what,
                                                 format_bytes(bytes, b, sizeof(b)), before, r->fs.percent,
                                                 arg_dry_run ? " (estimate)" : "", params ? "; " : "",
                                                 params ? params : "");
        if (!msg)
                return;
        say("%s", msg);
        if (r->steps) {
                json_t *o = json_pack("{s:s, s:I, s:I, s:i, s:i}", "step", step, "count", (json_int_t) count,
                                      "bytes", (json_int_t) bytes, "use_before", before, "use_after", r->fs.percent);
                if (o && params)
                        json_object_set_new(o, "params", json_string(params));
                json_array_append_new(r->steps, o);
        }
        if (!arg_dry_run)
                journal_entry(r, msg, LOG_INFO, mid, step, true, count, bytes, before, r->fs.percent, params);
}

static uint64_t freed(uint64_t before, uint64_t after) {
        return before > after ? before - after : 0;
}

static bool container_stopped(const struct docker_container *k) {
        return !streq(k->state, "running") && !streq(k->state, "paused") && !streq(k->state, "restarting");
}

/* Stopped containers, then dangling images, older than MIN_AGE. */
static int tidy(struct run *r, const struct docker_image_list *images, const struct docker_container_list *containers) {
        int64_t cutoff = r->now - (int64_t) (r->s.min_age_usec / 1000000);
        struct docker_prune_report rep = {};
        int before = r->fs.percent, q;
        uint64_t used = r->fs.used;

        if (arg_dry_run) {
                rep = (struct docker_prune_report) {};
                for (size_t i = 0; i < containers->n; i++)
                        if (container_stopped(&containers->items[i]) && containers->items[i].created <= cutoff) {
                                say("containers: would remove %.12s (%s)", containers->items[i].id,
                                    containers->items[i].state ?: "?");
                                rep.count++;
                        }
        } else {
                q = docker_prune_containers(r->c, r->s.min_age_usec / 1000000, &rep);
                if (q < 0)
                        return daemon_failed(r, q, "cannot remove stopped containers");
        }
        q = reread(r, 0);
        if (q < 0)
                return q;
        step_done(r, "containers", MID_PRUNE_CONTAINERS, rep.count, arg_dry_run ? 0 : freed(used, r->fs.used),
                  before, rep.count == 1 ? "stopped container" : "stopped containers", NULL);

        before = r->fs.percent;
        used = r->fs.used;
        rep = (struct docker_prune_report) {};
        if (arg_dry_run) {
                for (size_t i = 0; i < images->n; i++) {
                        const struct docker_image *img = &images->items[i];
                        bool used_by = false;
                        for (size_t k = 0; k < containers->n && !used_by; k++)
                                used_by = streq(containers->items[k].image_id, img->id);
                        if (!img->tags[0] && !used_by && img->created <= cutoff) {
                                say("dangling: would remove %.19s", img->id);
                                rep.count++;
                                rep.bytes += img->size;
                        }
                }
        } else {
                q = docker_prune_dangling_images(r->c, r->s.min_age_usec / 1000000, &rep);
                if (q < 0)
                        return daemon_failed(r, q, "cannot remove dangling images");
        }
        q = reread(r, arg_dry_run ? rep.bytes : 0);
        if (q < 0)
                return q;
        step_done(r, "dangling", MID_PRUNE_DANGLING, rep.count, arg_dry_run ? rep.bytes : freed(used, r->fs.used),
                  before, rep.count == 1 ? "dangling image" : "dangling images", NULL);
        return 0;
}

/* CRIT: the sizes without the reserve. ALL: records images still hold too (BuildKit's
 * `all`), which frees little on the classic store (the images keep the layers) and
 * throws away the hot projects' cache: the last resort. */
static int build_cache(struct run *r, bool crit, bool all) {
        const char *step = all ? "build-cache-all" : crit ? "build-cache-crit" : "build-cache";
        struct docker_build_prune p;
        struct docker_prune_report rep = {};
        _cleanup_free_ char *query = NULL;
        uint64_t cache = 0, records = 0, used = r->fs.used;
        int before = r->fs.percent, q;

        q = docker_build_cache_size(r->c, r->version, &cache, &records);
        if (q < 0)
                return daemon_failed(r, q, "cannot read the build cache's size");
        prune_build_params(&r->fs, &r->s, crit, cache, &p);
        p.all = all;
        q = docker_build_prune_query(r->version, &p, &query);
        if (q < 0)
                return log_error_errno(q, "out of memory: %m");
        const char *params = query[0] ? query + 1 : "no size limits";

        if (arg_dry_run) {
                uint64_t need = prune_bytes_over(&r->fs, r->s.low);
                uint64_t keep = p.reserved_space > p.keep_storage ? p.reserved_space : p.keep_storage;
                uint64_t can = cache > keep ? cache - keep : 0;
                if (all)
                        can = cache;
                uint64_t est = can < need ? can : need;
                say("build-cache: would ask the daemon (API %s) to trim its cache of %" PRIu64 " records with %s",
                    r->version, records, params);
                q = reread(r, est);
                if (q < 0)
                        return q;
                step_done(r, step, MID_PRUNE_BUILD_CACHE, records, est, before, "build cache records at most", params);
                return 0;
        }
        q = docker_build_prune(r->c, r->version, &p, &rep);
        if (q < 0)
                return daemon_failed(r, q, "cannot trim the build cache");
        q = reread(r, 0);
        if (q < 0)
                return q;
        step_done(r, step, MID_PRUNE_BUILD_CACHE, rep.count,
                  freed(used, r->fs.used), before, rep.count == 1 ? "build cache record" : "build cache records",
                  params);
        return 0;
}

/* After an image went: on the classic store BuildKit's cache records and images share
 * layers, and BuildKit never trims a record an image still holds (it would free
 * nothing), so removing an image frees nothing either while its records stay. Asks
 * BuildKit to trim again with the same sizes: the records that image held are now its
 * own, and its LRU decides which go; those of the images kept stay shared and stay.
 * Adds the records it removed to *RECORDS. */
static int release_build_cache(struct run *r, bool crit, uint64_t *records) {
        struct docker_build_prune p;
        struct docker_prune_report rep = {};
        uint64_t cache = 0, n = 0;
        int q;

        q = docker_build_cache_size(r->c, r->version, &cache, &n);
        if (q < 0)
                return daemon_failed(r, q, "cannot read the build cache's size");
        if (n == 0)
                return 0;
        prune_build_params(&r->fs, &r->s, crit, cache, &p);
        p.all = false;  /* never the records of the images kept */
        q = docker_build_prune(r->c, r->version, &p, &rep);
        if (q < 0)
                return daemon_failed(r, q, "cannot trim the build cache");
        *records += rep.count;
        return rep.count > 0 ? reread(r, 0) : 0;
}

static void image_json(struct run *r, const struct prune_image *pi, const char *action) {
        json_t *tags = json_array(), *o;

        if (!r->images || !tags) {
                json_decref(tags);
                return;
        }
        for (char **t = pi->image->tags; *t; t++)
                json_array_append_new(tags, json_string(*t));
        o = json_pack("{s:s, s:o, s:I, s:I, s:s}", "id", pi->image->id, "tags", tags, "last_use",
                      (json_int_t) pi->last_use, "size", (json_int_t) pi->image->size, "action", action);
        json_array_append_new(r->images, o);
}

/* Removes one image, tag by tag (an untagged one by id). 0 gone, -EBUSY refused. */
static int remove_image(struct run *r, const struct docker_image *img) {
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

static int images_step(struct run *r, const struct docker_image_list *images,
                       const struct docker_container_list *containers, const struct prune_state *state, bool grace) {
        _cleanup_free_ struct prune_image *plan = NULL;
        uint64_t count = 0, used = r->fs.used, est = 0, released = 0;
        _cleanup_free_ char *note = NULL;
        size_t n = 0;
        int before = r->fs.percent, q;
        int64_t cutoff = r->now - (int64_t) (r->s.min_age_usec / 1000000);
        char t[64], b[16];

        q = prune_plan_images(images, containers, state, r->now, r->s.min_age_usec, grace, &plan, &n);
        if (q < 0)
                return log_error_errno(q, "out of memory: %m");
        r->kept_in_use = r->kept_recent = 0;
        for (size_t i = 0; i < n; i++) {
                const struct prune_image *pi = &plan[i];
                const char *name = pi->image->tags[0] ? pi->image->tags[0] : pi->image->id;
                time_t lu = (time_t) pi->last_use;
                struct tm tm;

                if (pi->verdict == PRUNE_KEEP_IN_USE) {
                        r->kept_in_use++;
                        continue;
                }
                if (pi->verdict == PRUNE_KEEP_RECENT) {
                        r->kept_recent++;
                        continue;
                }
                /* Without the grace, only the recent ones are new: the first pass had the rest. */
                if (!grace && pi->last_use <= cutoff)
                        continue;
                if (r->fs.percent < r->s.low)
                        continue;  /* under LOW: the rest stays, counted as left */
                if (!gmtime_r(&lu, &tm) || strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                        snprintf(t, sizeof(t), "?");
                if (arg_dry_run) {
                        say("images: would remove %s (%.19s, %s, last used %s)", name, pi->image->id,
                            format_bytes(pi->image->size, b, sizeof(b)), t);
                        image_json(r, pi, "would remove");
                        count++;
                        est += pi->image->size;
                        q = reread(r, pi->image->size);
                        if (q < 0)
                                return q;
                        continue;
                }
                q = remove_image(r, pi->image);
                if (q == -EBUSY) {
                        say("images: kept %s: %s", name, docker_client_last_error(r->c));
                        image_json(r, pi, "refused by the daemon");
                        r->failed_busy++;
                        continue;
                }
                if (q < 0)
                        return daemon_failed(r, q, "cannot remove an image");
                q = reread(r, 0);
                if (q < 0)
                        return q;
                say("images: removed %s (%.19s, last used %s), use now %d%%", name, pi->image->id, t, r->fs.percent);
                image_json(r, pi, "removed");
                count++;
                if (r->fs.percent >= r->s.low) {
                        uint64_t before_records = released;
                        q = release_build_cache(r, !grace, &released);
                        if (q < 0)
                                return q;
                        if (released > before_records)
                                say("images: then %" PRIu64 " build cache records no image holds any more, use now %d%%",
                                    released - before_records, r->fs.percent);
                }
        }
        if (released > 0 && !(note = strdup_printf("and %" PRIu64 " build cache records they had held", released)))
                return log_error_errno(-ENOMEM, "out of memory: %m");
        r->removed_images += count;
        step_done(r, grace ? "images" : "images-no-grace", MID_PRUNE_IMAGES, count,
                  arg_dry_run ? est : freed(used, r->fs.used), before, count == 1 ? "image" : "images", note);
        return 0;
}

/* Fills in LastTagTime and the layers, which only GET /images/{id}/json tells. */
static int inspect_images(struct run *r, struct docker_image_list *images) {
        for (size_t i = 0; i < images->n; i++) {
                int q = docker_image_inspect(r->c, &images->items[i]);
                if (q == -ENOENT)
                        continue;
                if (q < 0)
                        return daemon_failed(r, q, "cannot inspect an image");
        }
        return 0;
}

static int update_state(struct run *r, const struct docker_image_list *images, struct prune_state *state) {
        _cleanup_(docker_event_list_done) struct docker_event_list events = {};
        int q;

        q = prune_state_load(r->s.state_path, state);
        if (q == -EBADMSG || q == -EFBIG) {
                log_warning("the state file '%s' is damaged; starting afresh", r->s.state_path);
                *state = (struct prune_state) {};
        } else if (q < 0)
                return log_error_errno(q, "cannot read '%s': %m", r->s.state_path);

        /* The daemon leaves out events later than the whole second UNTIL names, and
         * holds the stream open until then: the next second, to see every event so far. */
        int64_t until = r->now + 1;
        q = docker_get_events(r->c, state->last_run > 0 && state->last_run < until ? state->last_run : 1, until,
                              &events);
        if (q < 0)
                return daemon_failed(r, q, "cannot read the daemon's events");
        q = prune_state_apply_events(state, &events, images);
        if (q < 0)
                return log_error_errno(q, "out of memory: %m");
        prune_state_forget_gone(state, images);
        state->last_run = until;
        if (arg_dry_run)
                return 0;
        q = prune_state_save(r->s.state_path, state);
        if (q < 0)
                log_warning_errno(q, "cannot write '%s': %m", r->s.state_path);
        return 0;
}

static int finish(struct run *r) {
        bool high = r->fs.percent >= r->s.high;
        int status = high ? EXIT_PRUNE_HIGH : 0;
        _cleanup_free_ char *summary = NULL;

        if (high)
                summary = strdup_printf("dind-cache prune WARNING: %s %d%% -> %d%% used, still at or above high %d%%: "
                                        "%" PRIu64 " images in use by containers, %" PRIu64 " used within MIN_AGE, "
                                        "%" PRIu64 " refused by the daemon; the rest is build cache BuildKit keeps "
                                        "or files that are not Docker's",
                                        r->s.data_dir, r->use_start, r->fs.percent, r->s.high, r->kept_in_use,
                                        r->kept_recent, r->failed_busy);
        else
                summary = strdup_printf("dind-cache prune OK: %s %d%% -> %d%% used (high %d%%, low %d%%)%s",
                                        r->s.data_dir, r->use_start, r->fs.percent, r->s.high, r->s.low,
                                        arg_dry_run ? ", dry run: nothing was changed" : "");
        if (!summary)
                return log_error_errno(-ENOMEM, "out of memory: %m");
        if (!arg_dry_run)
                journal_entry(r, summary, high ? LOG_WARNING : LOG_INFO, high ? MID_PRUNE_STILL_HIGH : MID_PRUNE_DONE,
                              "summary", true, r->removed_images, 0, r->use_start, r->fs.percent, NULL);
        if (arg_json) {
                _cleanup_json_ json_t *doc = json_pack(
                        "{s:s, s:s, s:b, s:i, s:i, s:i, s:i, s:i, s:O, s:O, s:s, s:i, s:s}", "data_dir",
                        r->s.data_dir, "api_version", r->version, "dry_run", arg_dry_run, "high", r->s.high, "low",
                        r->s.low, "crit", r->s.crit, "use_before", r->use_start, "use_after", r->fs.percent, "steps",
                        r->steps, "images", r->images, "status", high ? "WARNING" : "OK", "exit_status", status,
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

static int run(struct run *r) {
        _cleanup_(docker_image_list_done) struct docker_image_list images = {};
        _cleanup_(docker_container_list_done) struct docker_container_list containers = {};
        _cleanup_(prune_state_done) struct prune_state state = {};
        _cleanup_(check_list_done) struct check_list problems = {};
        int q;

        q = node_settings_read_prune(NULL, &r->s, &problems);
        if (q == -EINVAL) {
                const char *problem = problems.items[0].message;
                _cleanup_free_ char *msg = strdup_printf("dind-cache prune: bad setting: %s", problem);
                log_error("bad setting: %s", problem);
                if (msg)
                        journal_entry(r, msg, LOG_ERR, MID_PRUNE_SETTINGS_INVALID, "settings", false, 0, 0, -1, -1, NULL);
                return EXIT_PRUNE_SETTINGS;
        }
        if (q < 0)
                return log_error_errno(q, "cannot read the settings: %m");
        q = prune_fs_read(r->s.data_dir, &r->fs);
        if (q < 0) {
                log_error_errno(q, "cannot read the use of '%s': %m", r->s.data_dir);
                return EXIT_PRUNE_SETTINGS;
        }
        r->use_start = r->fs.percent;
        r->fs_known = true;

        q = docker_client_new(&r->s.docker_host, &r->c);
        if (q < 0) {
                log_error_errno(q, "bad setting: DOCKER_HOST='%s': %m", r->s.docker_host.text);
                return EXIT_PRUNE_SETTINGS;
        }
        docker_client_set_timeout(r->c, r->s.timeout_usec);
        if (r->s.cert_path) {
                _cleanup_free_ char *bad_file = NULL;

                q = docker_client_set_tls(r->c, r->s.cert_path, &bad_file);
                if (q == -ENOMEM)
                        return log_error_errno(-ENOMEM, "out of memory: %m");
                if (q < 0 && bad_file) {
                        _cleanup_free_ char *path = text_sanitize_line(bad_file, 256);
                        log_error("bad setting: DOCKER_CERT_PATH: cannot read '%s': %s", path ? path : "?",
                                  file_error_to_string(q));
                        return EXIT_PRUNE_SETTINGS;
                }
                if (q < 0) {
                        _cleanup_free_ char *path = text_sanitize_line(r->s.cert_path, 256);
                        log_error_errno(q, "bad setting: DOCKER_CERT_PATH='%s': %m", path ? path : "?");
                        return EXIT_PRUNE_SETTINGS;
                }
        }
        q = docker_negotiate_version(r->c, r->version);
        if (q < 0)
                return daemon_failed(r, q, "cannot reach the daemon"), EXIT_PRUNE_DAEMON;
        r->now = (int64_t) time(NULL);

        say("prune: %s %d%% used (high %d%%, low %d%%, crit %d%%), daemon API %s%s", r->s.data_dir, r->fs.percent,
            r->s.high, r->s.low, r->s.crit, r->version, arg_dry_run ? ", dry run" : "");

        q = docker_list_images(r->c, &images);
        if (q >= 0)
                q = docker_list_containers(r->c, &containers);
        if (q < 0)
                return daemon_failed(r, q, "cannot list images and containers"), EXIT_PRUNE_DAEMON;
        q = update_state(r, &images, &state);
        if (q < 0)
                return q == -EPROTO ? EXIT_PRUNE_DAEMON : q;

        q = tidy(r, &images, &containers);
        /* Above CRIT: the build cache without the reserve, then the images used within
         * MIN_AGE (least recently used first, BuildKit trimming the records each one
         * held), and only if that is not enough, every record images still hold (`all`):
         * asked first, `all` threw away the hot projects' cache and freed little. */
        if (q >= 0 && r->fs.percent >= r->s.high) {
                q = build_cache(r, false, false);
                if (q >= 0 && r->fs.percent >= r->s.low)
                        q = inspect_images(r, &images);
                if (q >= 0 && r->fs.percent >= r->s.low)
                        q = images_step(r, &images, &containers, &state, true);
                if (q >= 0 && r->fs.percent >= r->s.crit) {
                        q = build_cache(r, true, false);
                        if (q >= 0 && r->fs.percent >= r->s.low)
                                q = images_step(r, &images, &containers, &state, false);
                        if (q >= 0 && r->fs.percent >= r->s.crit)
                                q = build_cache(r, true, true);
                }
        }
        if (q < 0)
                return q == -EPROTO ? EXIT_PRUNE_DAEMON : q;
        return finish(r);
}

/* dind_cache_prune.prom beside the checker's metrics, when that directory is there.
 * A failure costs the metrics, not the run: a warning; the exit status stays. */
static void write_metrics(const struct run *r, int status) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        struct timespec ts;
        int q;

        if (arg_dry_run || cmd_metrics_dir(&dir) <= 0)
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        q = metrics_prune_text(&(struct metrics_prune_input) {
                                       .exit_status = status,
                                       .use_known = r->fs_known,
                                       .use_start = r->use_start,
                                       .use_end = r->fs.percent,
                                       .high = r->s.high,
                                       .low = r->s.low,
                                       .crit = r->s.crit,
                                       .counts_known = status <= EXIT_PRUNE_HIGH,
                                       .removed_images = r->removed_images,
                                       .kept_in_use = r->kept_in_use,
                                       .kept_recent = r->kept_recent,
                                       .refused = r->failed_busy,
                                       .timestamp_usec = (uint64_t) ts.tv_sec * 1000000ULL +
                                                         (uint64_t) ts.tv_nsec / 1000,
                               }, &text);
        if (q >= 0)
                q = metrics_write_named(dir, METRICS_PRUNE_FILE_NAME, text);
        if (q < 0)
                log_warning_errno(q, "cannot write the metrics file '%s/%s': %m", dir, METRICS_PRUNE_FILE_NAME);
}

int cmd_prune(int argc, char **argv) {
        _cleanup_json_ json_t *steps = NULL, *images = NULL;
        struct run r = {};
        int q;

        q = parse_argv(argc, argv);
        if (q <= 0)
                return q < 0 ? EXIT_PRUNE_SETTINGS : 0;
        r.journal = arg_journal && journal_available();
        if (r.journal && journal_new_run_id(r.run_id) < 0)
                r.run_id[0] = '\0';
        if (arg_json) {
                r.steps = steps = json_array();
                r.images = images = json_array();
                if (!steps || !images)
                        return log_error_errno(-ENOMEM, "out of memory: %m"), EXIT_PRUNE_DAEMON;
        }
        q = run(&r);
        q = q < 0 ? EXIT_PRUNE_DAEMON : q;
        write_metrics(&r, q);
        docker_client_free(r.c);
        node_settings_done(&r.s);
        return q;
}
