/* SPDX-License-Identifier: MIT */
/* The pruner's ladder, driven step by step against a simulated node: a filesystem of
 * 1000 MiB, images with their last uses, containers, and what each step frees. Each
 * row says what a user would see happen, in order:
 *   containers, dangling          the cheap steps
 *   build-cache[-crit|-all]       a trim of the build cache (its parameters in [] when
 *                                 the row asks for them)
 *   inspect                       the images inspected (their layers: the LRU order
 *                                 needs them)
 *   rm:NAME                       one image removed (or refused, or estimated)
 *   retrim                        BuildKit asked to trim again after an image went
 *   images, images-no-grace       the images rung ended
 * Every trim must come right after a measure of the build cache. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/util.h"
#include "prune/prune-ladder.h"

#define MIB (1ULL << 20)
#define NOW 1000000000
#define MINUTES 60
#define DAYS (24 * 60 * MINUTES)
#define MAX_IMAGES 8

struct image_row {
        const char *name;         /* its tag; NULL ends the list */
        unsigned mib;             /* what removing it frees */
        int64_t used_ago;         /* its last use (seconds ago), as the events told */
        const char *base;         /* the image it was built on, or NULL */
};

struct container_row {
        const char *image;        /* NULL ends the list */
        const char *state;
};

struct ladder_row {
        const char *what;
        unsigned used;            /* MiB used at the start */
        const char *version;      /* the daemon's API (default 1.51) */
        bool dry_run, show_params;
        unsigned frees_containers, frees_dangling;
        unsigned frees_build[3];  /* build-cache, build-cache-crit, build-cache-all */
        unsigned frees_retrim;
        unsigned cache_mib, records;  /* what a measure of the build cache reads */
        const char *refused;      /* the daemon refuses to remove this image */
        struct image_row images[MAX_IMAGES];
        struct container_row containers[4];
        const char *want;
        uint64_t kept_in_use, kept_recent;
};

/* Settings: HIGH 80, LOW 70, CRIT 90, RESERVE 10, MIN_AGE 1h. */
static const struct node_settings settings = {
        .high = 80, .low = 70, .crit = 90, .reserve = 10, .min_age_usec = 3600ULL * 1000000,
};

/* cold0 and cold1 used days ago, hot0 90 minutes ago, new0 10 minutes ago (within MIN_AGE). */
#define COLD_AND_HOT \
        { { "cold1", 50, 2 * DAYS }, { "cold0", 50, 3 * DAYS }, { "hot0", 50, 90 * MINUTES }, \
          { "new0", 50, 10 * MINUTES } }

/* A little used: one image above CRIT, two within MIN_AGE. */
#define CRIT_IMAGES \
        { { "cold0", 30, 3 * DAYS }, { "new1", 5, 5 * MINUTES }, { "new0", 5, 10 * MINUTES } }

static const struct ladder_row rows[] = {
        { .what = "under HIGH only the cheap steps run", .used = 790, .records = 5,
          .images = COLD_AND_HOT,
          .want = "containers dangling" },
        { .what = "what the cheap steps free counts: under HIGH after them, nothing more", .used = 820,
          .frees_containers = 30, .frees_dangling = 10, .records = 5, .images = COLD_AND_HOT,
          .want = "containers dangling" },
        { .what = "above HIGH the build cache goes first, and it may be enough", .used = 850,
          .frees_build = { 160 }, .records = 5, .images = COLD_AND_HOT,
          .want = "containers dangling build-cache" },
        { .what = "then images least recently used first, each followed by a re-trim, until under LOW",
          .used = 850, .frees_build = { 40 }, .frees_retrim = 20, .records = 5, .images = COLD_AND_HOT,
          .want = "containers dangling build-cache inspect rm:cold0 retrim rm:cold1 images",
          .kept_recent = 1 },
        { .what = "images used within MIN_AGE stay below CRIT", .used = 850, .records = 5,
          .images = { { "new0", 50, 10 * MINUTES }, { "new1", 50, 20 * MINUTES } },
          .want = "containers dangling build-cache inspect images", .kept_recent = 2 },
        { .what = "no image a container uses goes, running or stopped, nor its base, even above CRIT",
          .used = 950, .records = 5,
          .images = { { "bb", 5, 4 * DAYS }, { "cold0", 50, 3 * DAYS, "bb" }, { "cold1", 50, 3 * DAYS },
                      { "cold2", 50, 3 * DAYS }, { "new0", 50, 10 * MINUTES }, { "hot0", 50, 2 * DAYS } },
          .containers = { { "cold0", "running" }, { "cold1", "exited" }, { "cold2", "created" },
                          { "new0", "paused" } },
          .want = "containers dangling build-cache inspect rm:hot0 retrim images build-cache-crit "
                  "images-no-grace build-cache-all",
          .kept_in_use = 5 },
        { .what = "above CRIT: the build cache without the reserve, images without the grace, `all` last",
          .used = 960, .frees_build = { 10, 10 }, .records = 5, .images = CRIT_IMAGES,
          .want = "containers dangling build-cache inspect rm:cold0 retrim images build-cache-crit "
                  "rm:new0 retrim rm:new1 retrim images-no-grace build-cache-all" },
        { .what = "above CRIT, no `all` once the images without the grace reach LOW", .used = 960,
          .frees_build = { 10, 10 }, .records = 5,
          .images = { { "cold0", 30, 3 * DAYS }, { "new0", 250, 10 * MINUTES }, { "new1", 5, 5 * MINUTES } },
          .want = "containers dangling build-cache inspect rm:cold0 retrim images build-cache-crit "
                  "rm:new0 images-no-grace" },
        { .what = "above CRIT the build cache without the reserve may be enough", .used = 950,
          .frees_build = { 0, 300 }, .records = 5, .images = { { "new0", 50, 10 * MINUTES } },
          .want = "containers dangling build-cache inspect images build-cache-crit", .kept_recent = 1 },
        { .what = "an image the daemon refuses is passed over, with no re-trim", .used = 850,
          .frees_build = { 40 }, .frees_retrim = 20, .records = 5, .refused = "cold0", .images = COLD_AND_HOT,
          .want = "containers dangling build-cache inspect rm:cold0 rm:cold1 retrim rm:hot0 images",
          .kept_recent = 1 },
        { .what = "no re-trim while the build cache has no records", .used = 850, .frees_build = { 40 },
          .frees_retrim = 20, .records = 0, .images = COLD_AND_HOT,
          .want = "containers dangling build-cache inspect rm:cold0 rm:cold1 rm:hot0 images", .kept_recent = 1 },
        { .what = "a dry run never re-trims", .used = 850, .dry_run = true, .frees_build = { 40 },
          .frees_retrim = 20, .records = 5, .images = COLD_AND_HOT,
          .want = "containers dangling build-cache inspect rm:cold0 rm:cold1 rm:hot0 images", .kept_recent = 1 },
        { .what = "a base image goes after the images built on it (it is used when they are)", .used = 850,
          .frees_build = { 40 }, .records = 5,
          .images = { { "bb", 5, 4 * DAYS }, { "cold0", 50, 3 * DAYS, "bb" }, { "cold1", 50, 2 * DAYS, "bb" } },
          .want = "containers dangling build-cache inspect rm:cold0 retrim rm:cold1 retrim rm:bb retrim images" },
        { .what = "API 1.48 and newer: reserved-space, max-used-space, min-free-space; none above CRIT "
                  "but min-free-space",
          .used = 960, .show_params = true, .frees_build = { 10 }, .cache_mib = 400, .records = 5,
          .images = CRIT_IMAGES,
          .want = "containers dangling "
                  "build-cache[reserved-space=104857600&max-used-space=734003200&min-free-space=314572800] inspect "
                  "rm:cold0 retrim[reserved-space=104857600&max-used-space=734003200&min-free-space=314572800] "
                  "images build-cache-crit[min-free-space=314572800] rm:new0 retrim[min-free-space=314572800] "
                  "rm:new1 retrim[min-free-space=314572800] images-no-grace "
                  "build-cache-all[all=1&min-free-space=314572800]" },
        { .what = "older APIs: keep-storage, the cache less what must go, at least the reserve below CRIT",
          .used = 960, .version = "1.41", .show_params = true, .frees_build = { 10 }, .cache_mib = 400,
          .records = 5, .images = CRIT_IMAGES,
          .want = "containers dangling build-cache[keep-storage=146800640] inspect "
                  "rm:cold0 retrim[keep-storage=188743680] images build-cache-crit[keep-storage=188743680] "
                  "rm:new0 retrim[keep-storage=193986560] rm:new1 retrim[keep-storage=199229440] "
                  "images-no-grace build-cache-all[all=1&keep-storage=199229440]" },
        { .what = "older APIs with a small cache: the reserve below CRIT, no size limits above", .used = 960,
          .version = "1.41", .show_params = true, .frees_build = { 10 }, .cache_mib = 100, .records = 5,
          .images = { { "new0", 5, 10 * MINUTES } },
          .want = "containers dangling build-cache[keep-storage=104857600] inspect images "
                  "build-cache-crit[no size limits] rm:new0 retrim[no size limits] images-no-grace "
                  "build-cache-all[all=1]" },
};

/* The simulated node of one row. */
struct node {
        struct docker_image_list images;
        struct docker_container_list containers;
        struct prune_state state;
        char **layers[MAX_IMAGES];         /* what INSPECT fills in */
        uint64_t used;                     /* MiB */
};

static void fs_of(uint64_t used_mib, struct prune_fs *ret) {
        prune_fs_from_counts(1000, 1000 - used_mib, 1000 - used_mib, MIB, ret);
}

/* "sha256:" and the name in hex, padded with zeros: one id per name. */
static char *id_of(const char *name) {
        char *id = calloc(7 + 64 + 1, 1);

        memcpy(id, "sha256:", 7);
        memset(id + 7, '0', 64);
        for (size_t i = 0; name[i] && i < 32; i++) {
                id[7 + 2 * i] = "0123456789abcdef"[(unsigned char) name[i] >> 4];
                id[8 + 2 * i] = "0123456789abcdef"[(unsigned char) name[i] & 15];
        }
        return id;
}

static const struct image_row *row_image(const struct ladder_row *row, const char *name) {
        for (size_t i = 0; i < MAX_IMAGES && row->images[i].name; i++)
                if (strcmp(row->images[i].name, name) == 0)
                        return &row->images[i];
        fail_msg("no image %s", name);
        return NULL;
}

/* An image's layers: its base's, then one of its own. */
static char **layers_of(const struct ladder_row *row, const char *name) {
        char **l = calloc(MAX_IMAGES + 1, sizeof(char *));
        size_t n = 0;

        for (const struct image_row *i = row_image(row, name); i; i = i->base ? row_image(row, i->base) : NULL)
                n++;
        size_t k = n;
        for (const struct image_row *i = row_image(row, name); i; i = i->base ? row_image(row, i->base) : NULL) {
                char buf[32];
                snprintf(buf, sizeof(buf), "L-%s", i->name);
                l[--k] = strdup(buf);
        }
        return l;
}

static void node_make(const struct ladder_row *row, struct node *n) {
        size_t ni = 0, nc = 0;

        *n = (struct node) { .used = row->used };
        while (ni < MAX_IMAGES && row->images[ni].name)
                ni++;
        while (nc < 4 && row->containers[nc].image)
                nc++;
        n->images = (struct docker_image_list) { .items = calloc(ni + 1, sizeof(struct docker_image)), .n = ni };
        for (size_t i = 0; i < ni; i++) {
                const struct image_row *r = &row->images[i];
                struct docker_image *img = &n->images.items[i];
                *img = (struct docker_image) { .id = id_of(r->name), .created = NOW - 30 * DAYS,
                                               .size = r->mib * MIB, .tags = calloc(2, sizeof(char *)) };
                img->tags[0] = strdup(r->name);
                n->layers[i] = layers_of(row, r->name);
                assert_int_equal(prune_state_touch(&n->state, img->id, NOW - r->used_ago), 0);
        }
        n->containers = (struct docker_container_list) { .items = calloc(nc + 1, sizeof(struct docker_container)),
                                                         .n = nc };
        for (size_t i = 0; i < nc; i++)
                n->containers.items[i] = (struct docker_container) {
                        .id = strdup("c"), .image_id = id_of(row->containers[i].image),
                        .state = strdup(row->containers[i].state), .created = NOW - DAYS,
                };
}

static void node_done(struct node *n) {
        for (size_t i = 0; i < n->images.n; i++)
                if (!n->images.items[i].layers)
                        strv_free(n->layers[i]);
        docker_image_list_done(&n->images);
        docker_container_list_done(&n->containers);
        prune_state_done(&n->state);
}

static void frees(struct node *n, unsigned mib) {
        n->used = n->used > mib ? n->used - mib : 0;
}

static void append(char *buf, size_t size, const char *word, const char *params) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s%s%s%s", len ? " " : "", word, params ? "[" : "", params ? params : "",
                 params ? "]" : "");
}

/* Does STEP on the node; returns the word it shows as (NULL: none). */
static const char *act(const struct ladder_row *row, struct node *n, struct prune_progress *p,
                       const struct prune_step *st, char *word, size_t size) {
        int trim = st->rung == PRUNE_RUNG_BUILD_CACHE ? 0 : st->rung == PRUNE_RUNG_BUILD_CACHE_CRIT ? 1 : 2;

        switch (st->kind) {
        case PRUNE_STEP_CONTAINERS:
        case PRUNE_STEP_DANGLING:
                assert_int_equal(st->min_age_sec, 3600);
                assert_int_equal(st->until, NOW - 3600);
                frees(n, st->kind == PRUNE_STEP_CONTAINERS ? row->frees_containers : row->frees_dangling);
                return prune_rung_to_string(st->rung);
        case PRUNE_STEP_MEASURE:
                p->cache_bytes = row->cache_mib * MIB;
                p->cache_records = row->records;
                return NULL;
        case PRUNE_STEP_BUILD_CACHE:
                frees(n, row->frees_build[trim]);
                return prune_rung_to_string(st->rung);
        case PRUNE_STEP_INSPECT:
                for (size_t i = 0; i < n->images.n; i++)
                        n->images.items[i].layers = n->layers[i];
                return "inspect";
        case PRUNE_STEP_IMAGE:
                p->removed = !row->refused || strcmp(row->refused, st->image->image->tags[0]) != 0;
                if (p->removed)
                        frees(n, (unsigned) (st->image->image->size / MIB));
                snprintf(word, size, "rm:%s", st->image->image->tags[0]);
                return word;
        case PRUNE_STEP_RETRIM:
                frees(n, row->frees_retrim);
                return "retrim";
        case PRUNE_STEP_IMAGES_DONE:
                return prune_rung_to_string(st->rung);
        default:
                fail_msg("step %d", st->kind);
                return NULL;
        }
}

static void run_row(const struct ladder_row *row) {
        struct node n;
        struct prune_progress p = {};
        struct prune_step st;
        enum prune_step_kind prev = PRUNE_STEP_BEGIN;
        char got[1024] = "", word[64];
        size_t steps = 0;

        node_make(row, &n);
        const struct prune_facts f = {
                .settings = &settings, .api_version = row->version ?: "1.51", .now = NOW, .dry_run = row->dry_run,
                .images = &n.images, .containers = &n.containers, .state = &n.state,
        };
        fs_of(n.used, &p.fs);
        for (;;) {
                assert_int_equal(prune_next(&f, &p, &st), 0);
                if (st.kind == PRUNE_STEP_STOP)
                        break;
                if (st.kind == PRUNE_STEP_BUILD_CACHE || st.kind == PRUNE_STEP_RETRIM)
                        assert_int_equal(prev, PRUNE_STEP_MEASURE);
                const char *w = act(row, &n, &p, &st, word, sizeof(word));
                if (w)
                        append(got, sizeof(got), w,
                               row->show_params && (st.kind == PRUNE_STEP_BUILD_CACHE || st.kind == PRUNE_STEP_RETRIM)
                                       ? st.params : NULL);
                fs_of(n.used, &p.fs);
                prev = st.kind;
                assert_true(++steps < 100);
        }
        if (strcmp(got, row->want) != 0)
                fail_msg("%s:\n  got  %s\n  want %s", row->what, got, row->want);
        if (p.kept_in_use != row->kept_in_use || p.kept_recent != row->kept_recent)
                fail_msg("%s: kept %ju in use and %ju recent, want %ju and %ju", row->what, (uintmax_t) p.kept_in_use,
                         (uintmax_t) p.kept_recent, (uintmax_t) row->kept_in_use, (uintmax_t) row->kept_recent);
        /* Asked again, it stays stopped. */
        assert_int_equal(prune_next(&f, &p, &st), 0);
        assert_int_equal(st.kind, PRUNE_STEP_STOP);
        prune_progress_done(&p);
        node_done(&n);
}

static void test_ladder(void **state) {
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                run_row(&rows[i]);
}

/* A dry run's estimates: what the daemon's own prune endpoints would take, and what a
 * trim frees at most (never more than use over LOW). */
static void test_dry_run_estimates(void **state) {
        static const struct ladder_row row = {
                .used = 850,
                .images = { { "bb", 5, 4 * DAYS }, { "cold0", 50, 3 * DAYS } },
                .containers = { { "bb", "exited" } },
        };
        struct node n;
        struct prune_step st = { .until = NOW - 3600 };
        struct prune_progress p = { .cache_bytes = 400 * MIB };
        struct docker_container fresh = { .state = "exited", .created = NOW - 60 };
        struct docker_container up = { .state = "running", .created = NOW - DAYS };

        node_make(&row, &n);
        const struct prune_facts f = { .settings = &settings, .containers = &n.containers };
        assert_true(prune_container_goes(&st, &n.containers.items[0]));
        assert_false(prune_container_goes(&st, &fresh));          /* within MIN_AGE */
        assert_false(prune_container_goes(&st, &up));

        free(n.images.items[0].tags[0]);                          /* both dangling now */
        free(n.images.items[1].tags[0]);
        n.images.items[0].tags[0] = n.images.items[1].tags[0] = NULL;
        assert_false(prune_dangling_goes(&f, &st, &n.images.items[0]));   /* a container's */
        assert_true(prune_dangling_goes(&f, &st, &n.images.items[1]));
        n.images.items[1].created = NOW - 60;
        assert_false(prune_dangling_goes(&f, &st, &n.images.items[1]));

        fs_of(850, &p.fs);                                        /* 150 MiB over LOW */
        st.build = (struct docker_build_prune) { .reserved_space = 100 * MIB, .keep_storage = 300 * MIB };
        assert_true(prune_build_estimate(&f, &p, &st) == 100 * MIB);       /* the cache above what it keeps */
        st.build.keep_storage = 0;
        assert_true(prune_build_estimate(&f, &p, &st) == 150 * MIB);       /* no more than over LOW */
        st.build.all = true;
        p.cache_bytes = 20 * MIB;
        assert_true(prune_build_estimate(&f, &p, &st) == 20 * MIB);        /* all of it */

        prune_fs_lower(&p.fs, 200 * MIB);
        assert_int_equal(p.fs.percent, 65);
        assert_true(p.fs.used == 650 * MIB && p.fs.avail == 350 * MIB);
        prune_fs_lower(&p.fs, 2000 * MIB);
        assert_int_equal(p.fs.percent, 0);
        node_done(&n);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ladder),
                cmocka_unit_test(test_dry_run_estimates),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
