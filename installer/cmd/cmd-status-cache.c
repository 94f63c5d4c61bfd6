/* SPDX-License-Identifier: MIT */
/* The Cache section of `dind-cache status`: what the checker keeps of the build cache
 * in its state directory (check/cache-state.h), read back, never the daemon's or the
 * data directory's own. Command layer. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/json-util.h"
#include "check/cache-state.h"
#include "cmd/status.h"
#include "systemd/checker-units.h"

void status_cache_done(struct status_cache *c) {
        cache_state_done(&c->state);
        free(c->tenants);
        *c = (struct status_cache) {};
}

int status_cache_gather(const char *state_dir, struct status_cache *ret) {
        struct status_cache c = { .dir = state_dir, .now = (int64_t) time(NULL) };

        c.r = cache_state_load(state_dir, &c.state);
        if (c.r >= 0)
                c.r = c.state.known || c.state.images_known || c.state.n_tenants > 0;
        if (c.r > 0 && c.state.n_tenants > 0) {
                c.tenants = calloc(c.state.n_tenants, sizeof(*c.tenants));
                if (!c.tenants) {
                        status_cache_done(&c);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < c.state.n_tenants; i++)
                        c.tenants[c.n_tenants++] = (struct status_tenant_builds) {
                                .tenant = c.state.tenants[i].name,
                                .builds = cache_series_since(&c.state.tenants[i].builds, c.now - 86400, NULL),
                        };
        }
        *ret = c;
        return 0;
}

/* "in the last hour", or "since 10:15" when the history starts later. */
static const char *window(const struct status_cache *c, int64_t seconds, const char *name, char *buf,
                          size_t size) {
        char when[64];
        int64_t from = 0;

        (void) cache_series_since(&c->state.reuses, c->now - seconds, &from);
        if (from <= c->now - seconds)
                return name;
        snprintf(buf, size, "since %s", format_timestamp_unit((uint64_t) from * 1000000ULL, when, sizeof(when)));
        return buf;
}

void status_print_tenant_builds(const struct status_tenant_builds *v, size_t n) {
        if (n == 0)
                return;
        printf("Tenants:  builds in the last day:");
        for (size_t i = 0; i < n; i++)
                printf("%s %s %" PRIu64, i ? "," : "", v[i].tenant, v[i].builds);
        putchar('\n');
}

void status_cache_print(const struct status_cache *c) {
        const struct cache_state *st = &c->state;
        char a[16], b[16], d[16], when[64], w1[96], w2[96];

        if (c->r < 0) {
                printf("Cache:    cannot read %s/%s: %s\n", c->dir, CACHE_STATE_FILE, strerror(-c->r));
                return;
        }
        if (c->r == 0) {
                printf("Cache:    nothing kept in %s yet (the checker's timer keeps it)\n", c->dir);
                return;
        }
        if (st->known)
                printf("Cache:    %" PRIu64 " build cache records, %s (%s reclaimable), %s not used for a week\n",
                       st->summary.records, format_bytes(st->summary.bytes, a, sizeof(a)),
                       format_bytes(st->summary.reclaimable, b, sizeof(b)),
                       format_bytes(st->summary.unused_bytes, d, sizeof(d)));
        if (st->read_at > 0)
                printf("          read %s (a big cache is read now and then)\n",
                       format_timestamp_unit((uint64_t) st->read_at * 1000000ULL, when, sizeof(when)));
        if (st->images_known)
                printf("Images:   %" PRIu64 ", %s\n", st->images, format_bytes(st->image_bytes, a, sizeof(a)));
        if (st->reuses.n > 0)
                printf("Reuses:   %" PRIu64 " %s, %" PRIu64 " %s, %" PRIu64 " in all\n",
                       cache_series_since(&st->reuses, c->now - 3600, NULL),
                       window(c, 3600, "in the last hour", w1, sizeof(w1)),
                       cache_series_since(&st->reuses, c->now - 86400, NULL),
                       window(c, 86400, "in the last day", w2, sizeof(w2)), st->reuses.total);
        if (st->summary.n_top > 0)
                printf("Most reused steps:\n");
        for (size_t i = 0; i < st->summary.n_top; i++)
                printf("  %6" PRIu64 "  %s\n", st->summary.top[i].reuses, st->summary.top[i].description);
        status_print_tenant_builds(c->tenants, c->n_tenants);
}

static json_t *top_json(const struct cache_summary *sum) {
        _cleanup_json_ json_t *a = json_array();

        for (size_t i = 0; a && i < sum->n_top; i++)
                if (json_array_append_new(a, json_pack("{s:s, s:I}", "description", sum->top[i].description,
                                                       "reuses", (json_int_t) sum->top[i].reuses)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

static json_t *tenants_json(const struct status_cache *c) {
        _cleanup_json_ json_t *a = json_array();

        for (size_t i = 0; a && i < c->n_tenants; i++)
                if (json_array_append_new(a, json_pack("{s:s, s:I}", "tenant", c->tenants[i].tenant,
                                                       "builds_last_day", (json_int_t) c->tenants[i].builds)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

json_t *status_cache_json(const struct status_cache *c) {
        const struct cache_state *st = &c->state;
        _cleanup_json_ json_t *o = NULL;

        if (c->r < 0)
                return json_pack("{s:s, s:s}", "state_dir", c->dir, "error", strerror(-c->r));
        o = json_pack("{s:s, s:b}", "state_dir", c->dir, "kept", c->r > 0);
        if (!o || c->r == 0)
                return TAKE_PTR(o);
        if (st->known &&
            json_object_update_new(o, json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}",
                                                "records", (json_int_t) st->summary.records,
                                                "bytes", (json_int_t) st->summary.bytes,
                                                "reclaimable_bytes", (json_int_t) st->summary.reclaimable,
                                                "unused_week_bytes", (json_int_t) st->summary.unused_bytes,
                                                "read_at", (json_int_t) st->read_at,
                                                "top", top_json(&st->summary))) < 0)
                return NULL;
        if (st->images_known &&
            json_object_update_new(o, json_pack("{s:I, s:I}", "images", (json_int_t) st->images,
                                                "image_bytes", (json_int_t) st->image_bytes)) < 0)
                return NULL;
        if (json_object_update_new(o, json_pack("{s:I, s:I, s:I, s:o}",
                                                "reuses_total", (json_int_t) st->reuses.total,
                                                "reuses_last_hour",
                                                (json_int_t) cache_series_since(&st->reuses, c->now - 3600, NULL),
                                                "reuses_last_day",
                                                (json_int_t) cache_series_since(&st->reuses, c->now - 86400, NULL),
                                                "tenants", tenants_json(c))) < 0)
                return NULL;
        return TAKE_PTR(o);
}
