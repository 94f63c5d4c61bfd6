/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/util.h"
#include "check/cache-reuse.h"

void cache_counts_done(struct cache_counts *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->items[i].id);
        free(c->items);
        *c = (struct cache_counts) {};
}

static int count_cmp(const void *a, const void *b) {
        return strcmp(((const struct cache_count *) a)->id, ((const struct cache_count *) b)->id);
}

uint64_t cache_counts_get(const struct cache_counts *c, const char *id) {
        struct cache_count key = { .id = (char *) id };
        const struct cache_count *hit;

        if (c->n == 0)
                return 0;
        hit = bsearch(&key, c->items, c->n, sizeof(*c->items), count_cmp);
        return hit ? hit->count : 0;
}

int cache_counts_add(struct cache_counts *c, const char *id, uint64_t count) {
        /* Grows by powers of two: n is a power of two exactly when the array is full. */
        if ((c->n & (c->n - 1)) == 0) {
                struct cache_count *grown = reallocarray(c->items, c->n ? c->n * 2 : 16, sizeof(*grown));
                if (!grown)
                        return -ENOMEM;
                c->items = grown;
        }
        c->items[c->n].id = strdup(id);
        if (!c->items[c->n].id)
                return -ENOMEM;
        c->items[c->n++].count = count;
        return 0;
}

void cache_counts_sort(struct cache_counts *c) {
        size_t k = 0;

        if (c->n == 0)
                return;
        qsort(c->items, c->n, sizeof(*c->items), count_cmp);
        for (size_t i = 1; i < c->n; i++) {
                if (streq(c->items[i].id, c->items[k].id))
                        free(c->items[i].id);
                else
                        c->items[++k] = c->items[i];
        }
        c->n = k + 1;
}

void cache_summary_done(struct cache_summary *s) {
        for (size_t i = 0; i < s->n_top; i++)
                free(s->top[i].description);
        *s = (struct cache_summary) {};
}

static bool startswith(const char *s, const char *prefix) {
        return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A base image's layer: no build step of its own. */
static bool is_base(const struct docker_cache_record *r) {
        return startswith(r->description, "from local ") || startswith(r->description, "pulled from ");
}

static bool is_regular(const struct docker_cache_record *r) {
        return streq(r->type, "regular");
}

static bool is_step(const struct docker_cache_record *r) {
        return is_regular(r) && !is_base(r);
}

char *cache_step_name(const char *description) {
        _cleanup_free_ char *name = NULL;
        const char *d = description ? description : "", *end;
        size_t n;

        if (startswith(d, "[") && (end = strstr(d, "] ")))
                d = end + 2;
        if (startswith(d, "mount / from exec /bin/sh -c "))
                name = strdup_printf("RUN %s", d + strlen("mount / from exec /bin/sh -c "));
        else if (startswith(d, "mount / from exec "))
                name = strdup_printf("RUN %s", d + strlen("mount / from exec "));
        else
                name = strdup(d);
        if (!name)
                return NULL;
        n = strlen(name);
        if (n <= CACHE_TOP_WIDTH)
                return TAKE_PTR(name);
        /* Cut on a UTF-8 boundary, then say so. */
        _cleanup_free_ char *cut = text_sanitize_line(name, CACHE_TOP_WIDTH - 3);
        return cut ? strdup_printf("%s...", cut) : NULL;
}

/* The records of a build cache by id, for the walks up their parents. */
struct walk {
        const struct docker_build_cache *bc;
        size_t *by_id;              /* indices into bc->items, sorted by id */
        uint32_t *seen;             /* the walk that last visited each record */
        bool *duplicate;            /* an id an earlier record has (a hostile daemon's) */
        uint64_t *tally;            /* each step's reuses by the counts now */
        size_t *queue;
        uint32_t walk_id;
        uint64_t budget;            /* visits left */
};

static const struct docker_build_cache *sort_bc;

/* By id, then by place in the list: the first of records that share an id sorts first. */
static int index_cmp(const void *a, const void *b) {
        size_t i = *(const size_t *) a, j = *(const size_t *) b;
        int c = strcmp(sort_bc->items[i].id, sort_bc->items[j].id);
        return c ? c : i < j ? -1 : i > j;
}

static size_t find(const struct walk *w, const char *id) {
        size_t lo = 0, hi = w->bc->n;

        /* The first record of that id. */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(w->bc->items[w->by_id[mid]].id, id) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < w->bc->n && streq(w->bc->items[w->by_id[lo]].id, id) ? w->by_id[lo] : SIZE_MAX;
}

static int walk_init(struct walk *w, const struct docker_build_cache *bc) {
        size_t n = bc->n ? bc->n : 1;

        *w = (struct walk) { .bc = bc, .budget = CACHE_WALK_BUDGET };
        w->by_id = calloc(n, sizeof(*w->by_id));
        w->seen = calloc(n, sizeof(*w->seen));
        w->tally = calloc(n, sizeof(*w->tally));
        w->duplicate = calloc(n, sizeof(*w->duplicate));
        w->queue = calloc(CACHE_WALK_MAX, sizeof(*w->queue));
        if (!w->by_id || !w->seen || !w->tally || !w->duplicate || !w->queue)
                return -ENOMEM;
        for (size_t i = 0; i < bc->n; i++)
                w->by_id[i] = i;
        sort_bc = bc;
        qsort(w->by_id, bc->n, sizeof(*w->by_id), index_cmp);
        sort_bc = NULL;
        for (size_t k = 1; k < bc->n; k++)
                w->duplicate[w->by_id[k]] = streq(bc->items[w->by_id[k]].id, bc->items[w->by_id[k - 1]].id);
        return 0;
}

static void walk_done(struct walk *w) {
        free(w->by_id);
        free(w->seen);
        free(w->tally);
        free(w->duplicate);
        free(w->queue);
}

/* Record I's chain: I and its ancestors that are steps (each seen once), each
 * tallied WEIGHT. Returns the chain's length. */
static uint64_t walk_chain(struct walk *w, size_t i, uint64_t weight) {
        size_t head = 0, tail = 0;
        uint64_t length = 0;

        w->walk_id++;
        w->seen[i] = w->walk_id;
        w->queue[tail++] = i;
        while (head < tail) {
                const struct docker_cache_record *r = &w->bc->items[w->queue[head]];

                if (w->queue[head] == i || is_step(r)) {
                        length++;
                        w->tally[w->queue[head]] += weight;
                }
                head++;
                for (size_t p = 0; p < r->n_parents && tail < CACHE_WALK_MAX && w->budget > 0; p++) {
                        size_t j = find(w, r->parents[p]);
                        w->budget--;
                        if (j == SIZE_MAX || w->seen[j] == w->walk_id || !is_step(&w->bc->items[j]))
                                continue;
                        w->seen[j] = w->walk_id;
                        w->queue[tail++] = j;
                }
        }
        return length;
}

static void add_capped(uint64_t *sum, uint64_t v) {
        if (__builtin_add_overflow(*sum, v, sum))
                *sum = UINT64_MAX;
}

static void sizes(const struct docker_build_cache *bc, int64_t now, struct cache_summary *s) {
        s->records = bc->n;
        for (size_t i = 0; i < bc->n; i++) {
                const struct docker_cache_record *r = &bc->items[i];

                if (r->shared)
                        continue;
                add_capped(&s->bytes, r->size);
                if (!r->in_use)
                        add_capped(&s->reclaimable, r->size);
                if (r->last_used > 0 && r->last_used < now - CACHE_UNUSED_AGE)
                        add_capped(&s->unused_bytes, r->size);
        }
}

/* Whether step I goes before step J in the top list: the higher tally, then by
 * description (the daemon lists records in no fixed order). */
static bool before(const struct walk *w, size_t i, size_t j) {
        const char *a = w->bc->items[i].description ?: "", *b = w->bc->items[j].description ?: "";

        if (w->tally[i] != w->tally[j])
                return w->tally[i] > w->tally[j];
        return strcmp(a, b) < 0;
}

/* The CACHE_TOP_N steps of the highest tally, best first. */
static int top(const struct walk *w, struct cache_summary *s) {
        size_t best[CACHE_TOP_N], n = 0;

        for (size_t i = 0; i < w->bc->n; i++) {
                size_t k;

                if (w->tally[i] == 0 || !is_step(&w->bc->items[i]))
                        continue;
                for (k = n; k > 0 && before(w, i, best[k - 1]); k--)
                        if (k < CACHE_TOP_N)
                                best[k] = best[k - 1];
                if (k < CACHE_TOP_N) {
                        best[k] = i;
                        if (n < CACHE_TOP_N)
                                n++;
                }
        }
        for (size_t k = 0; k < n; k++) {
                s->top[k].description = cache_step_name(w->bc->items[best[k]].description);
                if (!s->top[k].description)
                        return -ENOMEM;
                s->top[k].reuses = w->tally[best[k]];
                s->n_top = k + 1;
        }
        return 0;
}

/* The reuses of the regular records used more than once, and the counts to keep. */
static int count_reuses(struct walk *w, const struct cache_counts *prev, struct cache_counts *counts,
                        uint64_t *ret_reuses) {
        uint64_t reuses = 0;
        int r;

        for (size_t i = 0; i < w->bc->n; i++) {
                const struct docker_cache_record *rec = &w->bc->items[i];
                uint64_t before, delta, length;

                if (!is_regular(rec) || rec->usage_count <= 1 || w->duplicate[i])
                        continue;
                before = cache_counts_get(prev, rec->id);
                /* Kept higher than now: an id used again for a new record. */
                if (before == 0 || before > rec->usage_count)
                        before = 1;
                delta = rec->usage_count - before;
                length = walk_chain(w, i, rec->usage_count - 1);
                add_capped(&reuses, delta * length);
                r = cache_counts_add(counts, rec->id, rec->usage_count);
                if (r < 0)
                        return r;
        }
        cache_counts_sort(counts);
        *ret_reuses = reuses;
        return 0;
}

int cache_account(const struct docker_build_cache *bc, const struct cache_counts *prev, int64_t now,
                  struct cache_summary *ret_summary, struct cache_counts *ret_counts, uint64_t *ret_reuses) {
        _cleanup_(cache_counts_done) struct cache_counts counts = {};
        struct cache_summary s = {};
        struct walk w;
        uint64_t reuses = 0;
        int r;

        r = walk_init(&w, bc);
        if (r >= 0)
                r = count_reuses(&w, prev, &counts, &reuses);
        if (r >= 0) {
                sizes(bc, now, &s);
                r = top(&w, &s);
        }
        walk_done(&w);
        if (r < 0) {
                cache_summary_done(&s);
                return r;
        }
        *ret_summary = s;
        *ret_counts = counts;
        counts = (struct cache_counts) {};
        *ret_reuses = reuses;
        return 0;
}
