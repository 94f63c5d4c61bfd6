/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/json-util.h"
#include "base/text.h"
#include "check/cache-state.h"
#include "metrics/authz-metrics.h"

void cache_state_done(struct cache_state *s) {
        cache_summary_done(&s->summary);
        free(s->reuses.points);
        for (size_t i = 0; i < s->n_tenants; i++) {
                free(s->tenants[i].name);
                free(s->tenants[i].builds.points);
        }
        free(s->tenants);
        *s = (struct cache_state) {};
}

/* A count or size read back: a non-negative integer, else 0. */
static uint64_t get_u64(const json_t *o, const char *key) {
        json_int_t v = json_integer_value(json_object_get(o, key));
        return v > 0 ? (uint64_t) v : 0;
}

static int parse_points(const json_t *list, struct cache_series *s) {
        json_t *p;
        size_t idx, n = json_array_size(list);

        if (n > CACHE_HISTORY_MAX)
                n = CACHE_HISTORY_MAX;
        s->points = calloc(n + 1, sizeof(*s->points));
        if (!s->points)
                return -ENOMEM;
        json_array_foreach(list, idx, p) {
                json_int_t t = json_integer_value(json_array_get(p, 0)), v = json_integer_value(json_array_get(p, 1));

                if (s->n >= n)
                        break;
                if (t <= 0 || v < 0 || (s->n > 0 && t < s->points[s->n - 1].time))
                        continue;
                s->points[s->n++] = (struct cache_point) { .time = t, .total = (uint64_t) v };
        }
        return 0;
}

/* "tenants": {"NAME": [TOTAL, [[TIME, TOTAL], ...]], ...} */
static int parse_tenants(const json_t *o, struct cache_state *s) {
        const char *name;
        json_t *v;

        s->tenants = calloc(json_object_size(o) + 1, sizeof(*s->tenants));
        if (!s->tenants)
                return -ENOMEM;
        json_object_foreach((json_t *) o, name, v) {
                struct cache_tenant *t = &s->tenants[s->n_tenants];
                json_int_t total = json_integer_value(json_array_get(v, 0));

                if (s->n_tenants >= CACHE_TENANTS_MAX || total < 0)
                        continue;
                t->name = text_sanitize_line(name, CACHE_TENANT_MAX_NAME);
                if (!t->name)
                        return -ENOMEM;
                s->n_tenants++;
                t->builds.total = (uint64_t) total;
                if (parse_points(json_array_get(v, 1), &t->builds) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int parse_top(const json_t *list, struct cache_summary *sum) {
        json_t *p;
        size_t idx;

        json_array_foreach(list, idx, p) {
                const char *d = json_string_value(json_array_get(p, 0));
                json_int_t v = json_integer_value(json_array_get(p, 1));

                if (sum->n_top >= CACHE_TOP_N)
                        break;
                if (!d || v <= 0)
                        continue;
                sum->top[sum->n_top].description = text_sanitize_line(d, CACHE_TOP_WIDTH);
                if (!sum->top[sum->n_top].description)
                        return -ENOMEM;
                sum->top[sum->n_top++].reuses = (uint64_t) v;
        }
        return 0;
}

int cache_state_parse(const char *text, size_t size, struct cache_state *ret) {
        _cleanup_json_ json_t *doc = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
        struct cache_state s = {};
        int r;

        if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "version")) != 1)
                return -EBADMSG;
        s.known = json_is_integer(json_object_get(doc, "records"));
        s.read_at = json_integer_value(json_object_get(doc, "read_at"));
        s.body_size = get_u64(doc, "body_size");
        s.summary.records = get_u64(doc, "records");
        s.summary.bytes = get_u64(doc, "bytes");
        s.summary.reclaimable = get_u64(doc, "reclaimable");
        s.summary.unused_bytes = get_u64(doc, "unused_bytes");
        s.images_known = json_is_integer(json_object_get(doc, "images"));
        s.images = get_u64(doc, "images");
        s.image_bytes = get_u64(doc, "image_bytes");
        s.reuses.total = get_u64(doc, "reuses_total");
        r = parse_points(json_object_get(doc, "history"), &s.reuses);
        if (r >= 0)
                r = parse_top(json_object_get(doc, "top"), &s.summary);
        if (r >= 0)
                r = parse_tenants(json_object_get(doc, "tenants"), &s);
        if (r < 0) {
                cache_state_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

static int set_u64(json_t *o, const char *key, uint64_t v) {
        return json_object_set_new(o, key, json_integer((json_int_t) (v > INT64_MAX ? INT64_MAX : v))) < 0 ? -ENOMEM : 0;
}

static json_t *points_json(const struct cache_series *s) {
        _cleanup_json_ json_t *a = json_array();

        for (size_t i = 0; a && i < s->n; i++)
                if (json_array_append_new(a, json_pack("[I, I]", (json_int_t) s->points[i].time,
                                                       (json_int_t) s->points[i].total)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

static json_t *tenants_json(const struct cache_state *s) {
        _cleanup_json_ json_t *o = json_object();

        for (size_t i = 0; o && i < s->n_tenants; i++) {
                const struct cache_tenant *t = &s->tenants[i];
                if (json_object_set_new(o, t->name, json_pack("[I, o]", (json_int_t) t->builds.total,
                                                              points_json(&t->builds))) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);
}

static json_t *top_json(const struct cache_summary *sum) {
        _cleanup_json_ json_t *a = json_array();

        for (size_t i = 0; a && i < sum->n_top; i++)
                if (json_array_append_new(a, json_pack("[s, I]", sum->top[i].description,
                                                       (json_int_t) sum->top[i].reuses)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

int cache_state_format(const struct cache_state *s, char **ret) {
        _cleanup_json_ json_t *doc = json_object();
        char *text;

        if (!doc || set_u64(doc, "version", 1) < 0 ||
            json_object_set_new(doc, "read_at", json_integer(s->read_at)) < 0 ||
            set_u64(doc, "body_size", s->body_size) < 0 || set_u64(doc, "reuses_total", s->reuses.total) < 0 ||
            json_object_set_new(doc, "history", points_json(&s->reuses)) < 0)
                return -ENOMEM;
        if (s->known &&
            (set_u64(doc, "records", s->summary.records) < 0 || set_u64(doc, "bytes", s->summary.bytes) < 0 ||
             set_u64(doc, "reclaimable", s->summary.reclaimable) < 0 ||
             set_u64(doc, "unused_bytes", s->summary.unused_bytes) < 0 ||
             json_object_set_new(doc, "top", top_json(&s->summary)) < 0))
                return -ENOMEM;
        if (s->images_known && (set_u64(doc, "images", s->images) < 0 || set_u64(doc, "image_bytes", s->image_bytes) < 0))
                return -ENOMEM;
        if (s->n_tenants > 0 && json_object_set_new(doc, "tenants", tenants_json(s)) < 0)
                return -ENOMEM;
        text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

/* DIR/NAME read (at most MAX bytes) and parsed by PARSE into RET; -ENOENT: RET empty. */
static int load(const char *dir, const char *name, size_t max, int (*parse)(const char *, size_t, void *),
                void *ret) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name), *text = NULL;
        size_t size = 0;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file_full(path, max, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return parse(text, size, ret);
}

static int save(const char *dir, const char *name, char *text) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name), *owned = text;
        int r;

        if (!path)
                return -ENOMEM;
        r = write_file_atomic(path, owned, strlen(owned), 0600);
        return r < 0 ? r : 0;
}

static int parse_state(const char *text, size_t size, void *ret) {
        return cache_state_parse(text, size, ret);
}

int cache_state_load(const char *dir, struct cache_state *ret) {
        *ret = (struct cache_state) {};
        return load(dir, CACHE_STATE_FILE, CACHE_STATE_MAX_SIZE, parse_state, ret);
}

int cache_state_save(const char *dir, const struct cache_state *s) {
        char *text = NULL;
        int r = cache_state_format(s, &text);
        return r < 0 ? r : save(dir, CACHE_STATE_FILE, text);
}

int cache_series_set(struct cache_series *s, uint64_t total, int64_t now) {
        size_t drop = 0;

        s->total = total;
        if (s->n == 0 || s->points[s->n - 1].total != total) {
                struct cache_point *grown = reallocarray(s->points, s->n + 1, sizeof(*grown));
                if (!grown)
                        return -ENOMEM;
                s->points = grown;
                s->points[s->n++] = (struct cache_point) { .time = now, .total = total };
        }
        /* Keep one point at or before a day ago, and none older. */
        while (s->n - drop >= 2 &&
               (s->points[drop + 1].time <= now - CACHE_HISTORY_AGE || s->n - drop > CACHE_HISTORY_MAX))
                drop++;
        memmove(s->points, s->points + drop, (s->n - drop) * sizeof(*s->points));
        s->n -= drop;
        return 0;
}

uint64_t cache_series_since(const struct cache_series *s, int64_t since, int64_t *ret_from) {
        const struct cache_point *at = NULL;

        for (size_t i = 0; i < s->n && s->points[i].time <= since; i++)
                at = &s->points[i];
        if (!at && s->n > 0)
                at = &s->points[0];
        if (ret_from)
                *ret_from = at && at->time > since ? at->time : since;
        return at && s->total >= at->total ? s->total - at->total : 0;
}

int cache_state_add_reuses(struct cache_state *s, uint64_t reuses, int64_t now) {
        uint64_t total;

        if (__builtin_add_overflow(s->reuses.total, reuses, &total))
                total = UINT64_MAX;
        return cache_series_set(&s->reuses, total, now);
}

int cache_state_note_tenant(struct cache_state *s, const char *name, uint64_t builds, int64_t now) {
        _cleanup_free_ char *clean = text_sanitize_line(name, CACHE_TENANT_MAX_NAME);
        struct cache_tenant *grown;

        if (!clean)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_tenants; i++)
                if (streq(s->tenants[i].name, clean))
                        return cache_series_set(&s->tenants[i].builds, builds, now);
        if (s->n_tenants >= CACHE_TENANTS_MAX)
                return 0;
        grown = reallocarray(s->tenants, s->n_tenants + 1, sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        s->tenants = grown;
        s->tenants[s->n_tenants] = (struct cache_tenant) { .name = TAKE_PTR(clean) };
        return cache_series_set(&s->tenants[s->n_tenants++].builds, builds, now);
}

int cache_state_note_authz_counters(struct cache_state *s, const char *text, int64_t now) {
        _cleanup_(authz_counters_done) struct authz_counters c = {};
        int r;

        /* The plugin's own reader of its file (metrics/authz-metrics.h). */
        r = authz_counters_state_parse(&c, text, strlen(text));
        if (r < 0)
                return r;
        for (size_t i = 0; i < c.n; i++) {
                r = cache_state_note_tenant(s, c.items[i].tenant, c.items[i].builds, now);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cache_counts_parse(const char *text, size_t size, struct cache_counts *ret) {
        _cleanup_json_ json_t *doc = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
        _cleanup_(cache_counts_done) struct cache_counts c = {};
        const char *id;
        json_t *counts, *v;

        if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "version")) != 1 ||
            !json_is_object(counts = json_object_get(doc, "counts")))
                return -EBADMSG;
        json_object_foreach(counts, id, v) {
                if (c.n >= DOCKER_CACHE_MAX_RECORDS)
                        break;
                if (json_integer_value(v) <= 1 || strlen(id) > 64 || text_setting_problem(id))
                        continue;
                if (cache_counts_add(&c, id, (uint64_t) json_integer_value(v)) < 0)
                        return -ENOMEM;
        }
        cache_counts_sort(&c);
        *ret = c;
        c = (struct cache_counts) {};
        return 0;
}

int cache_counts_format(const struct cache_counts *c, char **ret) {
        _cleanup_json_ json_t *doc = json_object(), *counts = json_object();
        char *text;

        if (!doc || !counts)
                return -ENOMEM;
        for (size_t i = 0; i < c->n; i++)
                if (set_u64(counts, c->items[i].id, c->items[i].count) < 0)
                        return -ENOMEM;
        if (set_u64(doc, "version", 1) < 0 || json_object_set(doc, "counts", counts) < 0)
                return -ENOMEM;
        text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

static int parse_counts(const char *text, size_t size, void *ret) {
        return cache_counts_parse(text, size, ret);
}

int cache_counts_load(const char *dir, struct cache_counts *ret) {
        *ret = (struct cache_counts) {};
        return load(dir, CACHE_RECORDS_FILE, CACHE_RECORDS_MAX_SIZE, parse_counts, ret);
}

int cache_counts_save(const char *dir, const struct cache_counts *c) {
        char *text = NULL;
        int r = cache_counts_format(c, &text);
        return r < 0 ? r : save(dir, CACHE_RECORDS_FILE, text);
}
