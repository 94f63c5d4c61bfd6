/* SPDX-License-Identifier: MIT */
/* The caches' figures of health.h: the build cache (GET /system/df?type=build-cache)
 * with its reuse counter kept in the node's state (cache-state.h), and the images'
 * totals (GET /images/json). One result, "build_cache".
 *
 * Cost: the image list every run; the build cache every run while its answer is at
 * most CACHE_READ_EVERY_RUN_MAX bytes, else once per CACHE_READ_PERIOD for each such
 * slice of it (10,000 records, 3.1 MiB: every 65 minutes), the figures of the last
 * read standing in between (their time is in the metrics). A full read of 10,000
 * records costs the checker about 4 times a run without them (tests/bench/
 * cache-cost.sh), and the daemon more to make the answer. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/message-ids.h"
#include "check/cache-state.h"
#include "check/health-private.h"
#include "docker/docker-cache.h"
#include "docker/docker-prune.h"

#define CACHE_READ_EVERY_RUN_MAX (256u << 10)
#define CACHE_READ_PERIOD 300
#define REMEDY_CACHE "look at the daemon's health (the other checks) and at the state directory's disk"

/* One run's view of the caches. */
struct cache_run {
        struct cache_state state;
        bool state_usable;          /* the state directory is set and its file was read */
        char state_problem[160];    /* why it is not kept, or "" */
        bool read;                  /* the build cache was read in this run */
        bool skipped;               /* not read: the last read is recent enough */
        uint64_t new_reuses;
};

static void cache_run_done(struct cache_run *cr) {
        cache_state_done(&cr->state);
}

/* Whether this run reads the build cache: always, unless its last answer was big and
 * was read less than its period ago. */
static bool read_due(const struct cache_run *cr, int64_t now) {
        const struct cache_state *st = &cr->state;
        uint64_t slices;

        if (!cr->state_usable || !st->known || st->body_size <= CACHE_READ_EVERY_RUN_MAX || st->read_at <= 0 ||
            now < st->read_at)
                return true;
        slices = (st->body_size + CACHE_READ_EVERY_RUN_MAX - 1) / CACHE_READ_EVERY_RUN_MAX;
        return (uint64_t) (now - st->read_at) >= slices * CACHE_READ_PERIOD;
}

static void load_state(const struct node_settings *s, struct cache_run *cr) {
        int r;

        if (!s->state_dir)
                return;
        r = cache_state_load(s->state_dir, &cr->state);
        if (r == -EBADMSG)
                snprintf(cr->state_problem, sizeof(cr->state_problem), "%s/%s was damaged: the counter starts afresh",
                         s->state_dir, CACHE_STATE_FILE);
        else if (r < 0) {
                snprintf(cr->state_problem, sizeof(cr->state_problem), "cannot read %s/%s: %s", s->state_dir,
                         CACHE_STATE_FILE, file_error_to_string(r));
                return;
        }
        cr->state_usable = true;
}

/* The authorization plugin's build counts per tenant, when it keeps them beside us. */
static void note_tenants(const struct node_settings *s, struct cache_run *cr, int64_t now) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size;

        if (!cr->state_usable || !(path = strdup_printf("%s/%s", s->state_dir, CACHE_AUTHZ_COUNTERS)))
                return;
        if (read_file_full(path, CACHE_STATE_MAX_SIZE, &text, &size) < 0)
                return;  /* no plugin here, or nothing it could tell */
        (void) cache_state_note_authz_counters(&cr->state, text, now);
}

/* Accounts BC into the state: the new figures, and the reuses since the kept counts
 * (none when those could not be read: better miss some than count some twice). The
 * counts are written before the total grows, for the same reason. */
static int account(const struct node_settings *s, const struct docker_build_cache *bc, int64_t now,
                   struct cache_run *cr) {
        _cleanup_(cache_counts_done) struct cache_counts prev = {}, counts = {};
        struct cache_summary sum = {};
        bool baseline_only = false;
        int r;

        if (cr->state_usable) {
                r = cache_counts_load(s->state_dir, &prev);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        baseline_only = true;
                        snprintf(cr->state_problem, sizeof(cr->state_problem),
                                 "%s/%s was damaged: this run counts no reuse", s->state_dir, CACHE_RECORDS_FILE);
                }
        }
        r = cache_account(bc, &prev, now, &sum, &counts, &cr->new_reuses);
        if (r < 0)
                return r;
        if (baseline_only)
                cr->new_reuses = 0;
        cache_summary_done(&cr->state.summary);
        cr->state.summary = sum;
        cr->state.known = true;
        cr->state.body_size = bc->body_size;
        cr->state.read_at = bc->body_size > CACHE_READ_EVERY_RUN_MAX ? now : 0;
        cr->read = true;
        if (!cr->state_usable)
                return 0;
        r = cache_counts_save(s->state_dir, &counts);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                snprintf(cr->state_problem, sizeof(cr->state_problem), "cannot write %s/%s: %s", s->state_dir,
                         CACHE_RECORDS_FILE, strerror(-r));
                cr->state_usable = false;
                return 0;
        }
        return cache_state_add_reuses(&cr->state, cr->new_reuses, now);
}

/* GET /system/df?type=build-cache into the state: 0 read, 1 not (WHY says it), -ENOMEM. */
static int read_build_cache(struct docker_client *c, const struct node_settings *s, const char *api,
                            uint64_t deadline, struct cache_run *cr, char *why, size_t size) {
        _cleanup_(docker_build_cache_done) struct docker_build_cache bc = {};
        uint64_t timeout = health_call_timeout(s->timeout_usec, deadline);
        int r;

        if (!api) {
                snprintf(why, size, "the daemon's API version is unknown");
                return 1;
        }
        docker_client_set_timeout(c, timeout);
        r = docker_get_build_cache(c, api, &bc);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                health_error_text(r, c, timeout, why, size);
                return 1;
        }
        return account(s, &bc, (int64_t) time(NULL), cr);
}

static void fill_figures(const struct cache_run *cr, struct health_figures *fig) {
        const struct cache_state *st = &cr->state;

        if (cr->read || cr->skipped) {
                fig->cache_known = true;
                fig->cache_records = st->summary.records;
                fig->cache_bytes = st->summary.bytes;
                fig->cache_reclaimable = st->summary.reclaimable;
                fig->cache_read_at = st->read_at > 0 && !cr->read ? st->read_at : (int64_t) time(NULL);
        }
        if (cr->state_usable) {
                fig->reuses_known = true;
                fig->cache_reuses_total = st->reuses.total;
        }
}

/* The result: what the caches hold, or why they could not be read. */
static int add_result(struct check_list *l, const struct cache_run *cr, const struct health_figures *fig,
                      const char *why, const char *images_why, enum check_state state, const char *mid) {
        char bytes[16], reclaim[16], images[16], when[32], reuses[48] = "", text[512];
        struct check_result *res;
        int64_t now = (int64_t) time(NULL);

        if (fig->reuses_known)
                snprintf(reuses, sizeof(reuses), ", %" PRIu64 " reuses counted", fig->cache_reuses_total);
        if (!fig->cache_known)
                snprintf(text, sizeof(text), "build cache not read: %s", why);
        else
                snprintf(text, sizeof(text), "build cache %" PRIu64 " records, %s (%s reclaimable)%s%s%s",
                         fig->cache_records, format_bytes(fig->cache_bytes, bytes, sizeof(bytes)),
                         format_bytes(fig->cache_reclaimable, reclaim, sizeof(reclaim)), reuses,
                         cr->skipped ? ", as read " : "",
                         cr->skipped ? format_duration((uint64_t) (now - fig->cache_read_at) * 1000000ULL, when,
                                                       sizeof(when)) : "");
        if (cr->skipped)
                strncat(text, " ago (a big cache is read now and then)", sizeof(text) - strlen(text) - 1);
        if (fig->images_known)
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "; %" PRIu64 " images, %s",
                         fig->images, format_bytes(fig->image_bytes, images, sizeof(images)));
        else
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "; images not read: %s", images_why);
        if (cr->state_problem[0])
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "; %s", cr->state_problem);
        if (cr->state_problem[0] && state == CHECK_OK)
                state = CHECK_WARN, mid = MID_CACHE_FAILED;
        res = health_add(l, "build_cache", state, mid, REMEDY_CACHE, "%s", text);
        if (!res)
                return -ENOMEM;
        return fig->cache_known ? check_result_set_value(res, "%" PRIu64, fig->cache_records) : 0;
}

/* GET /images/json's totals into FIG; 1 when not read (WHY says it). */
static int read_images(struct docker_client *c, const struct node_settings *s, uint64_t deadline,
                       struct health_figures *fig, char *why, size_t size) {
        uint64_t timeout = health_call_timeout(s->timeout_usec, deadline);
        int r;

        docker_client_set_timeout(c, timeout);
        r = docker_get_image_totals(c, &fig->images, &fig->image_bytes);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                health_error_text(r, c, timeout, why, size);
                return 1;
        }
        fig->images_known = true;
        return 0;
}

int health_check_cache(struct docker_client *c, const struct node_settings *s, const char *api_version,
                       uint64_t deadline, struct check_list *l, struct health_figures *fig) {
        _cleanup_(cache_run_done) struct cache_run cr = {};
        struct health_figures local = { .daemon_up = -1 };
        enum check_state state = CHECK_OK;
        const char *mid = MID_CACHE_OK;
        uint64_t timeout;
        char why[320] = "", images_why[320] = "";
        int r;

        if (!fig)
                fig = &local;
        r = health_next_call(c, s, deadline, "build_cache", l, &timeout);
        if (r != 0)
                return r < 0 ? r : 0;
        load_state(s, &cr);
        note_tenants(s, &cr, (int64_t) time(NULL));
        r = read_images(c, s, deadline, fig, images_why, sizeof(images_why));
        if (r < 0)
                return r;
        if (r > 0)
                state = CHECK_WARN, mid = MID_CACHE_FAILED;
        if (docker_api_version_compare(api_version, DOCKER_CACHE_API_OLDEST) < 0 && api_version) {
                snprintf(why, sizeof(why), "the daemon's API %s is older than %s (its /system/df has no type=)",
                         api_version, DOCKER_CACHE_API_OLDEST);
                if (state == CHECK_OK)
                        state = CHECK_SKIP, mid = MID_CACHE_SKIPPED;
        } else if (!read_due(&cr, (int64_t) time(NULL)))
                cr.skipped = true;
        else if (health_time_left(deadline) > 0) {
                r = read_build_cache(c, s, api_version, deadline, &cr, why, sizeof(why));
                if (r < 0)
                        return r;
                if (r > 0)
                        state = CHECK_WARN, mid = MID_CACHE_FAILED;
        } else
                snprintf(why, sizeof(why), "the run's deadline passed");
        if (fig->images_known) {
                cr.state.images_known = true;
                cr.state.images = fig->images;
                cr.state.image_bytes = fig->image_bytes;
        }
        if (cr.state_usable) {
                r = cache_state_save(s->state_dir, &cr.state);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        snprintf(cr.state_problem, sizeof(cr.state_problem), "cannot write %s/%s: %s",
                                 s->state_dir, CACHE_STATE_FILE, strerror(-r));
        }
        fill_figures(&cr, fig);
        return add_result(l, &cr, fig, why, images_why, state, mid);
}
