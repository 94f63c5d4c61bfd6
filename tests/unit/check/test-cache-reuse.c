/* SPDX-License-Identifier: MIT */
/* Counting build cache reuses from the records /system/df lists, as dockerd 28.5.2
 * shows them (see check/cache-reuse.h), and keeping the counter between runs. */
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

#include "check/cache-reuse.h"
#include "check/cache-state.h"

/* A record: ID TYPE DESCRIPTION USAGE [PARENT]. */
#define REC(id_, type_, desc_, count_, parent_) \
        { .id = (char *) (id_), .type = (char *) (type_), .description = (char *) (desc_), \
          .usage_count = (count_), .parents = { (char *) (parent_) }, .n_parents = (parent_) ? 1 : 0, \
          .size = 100, .last_used = 1000 }

/* The base image's two layers and a linear 4-step Dockerfile on it, as the pinned
 * daemon lists them; the context's own record grows on every build. */
static struct docker_cache_record linear[] = {
        REC("base1", "regular", "from local ", 1, NULL),
        REC("base2", "regular", "from local ", 1, "base1"),
        REC("run1", "regular", "mount / from exec /bin/sh -c npm ci", 1, "base2"),
        REC("run2", "regular", "mount / from exec /bin/sh -c echo two > /two", 1, "run1"),
        REC("copy", "regular", "[stage-0 4/5] COPY app.txt /app.txt", 1, "run2"),
        REC("run3", "regular", "mount / from exec /bin/sh -c make", 1, "copy"),
        REC("ctx", "source.local", "local source for context", 1, NULL),
        REC("mnt", "exec.cachemount", "cached mount /cache from exec /bin/sh -c npm ci", 1, NULL),
};

static uint64_t account(struct docker_cache_record *recs, size_t n, struct cache_counts *counts) {
        struct docker_build_cache bc = { .items = recs, .n = n };
        struct cache_counts next = {};
        struct cache_summary sum = {};
        uint64_t reuses = 99;

        assert_int_equal(cache_account(&bc, counts, 2000, &sum, &next, &reuses), 0);
        cache_summary_done(&sum);
        cache_counts_done(counts);
        *counts = next;
        return reuses;
}

static void set_count(struct docker_cache_record *recs, size_t n, const char *id, uint64_t count) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(recs[i].id, id) == 0)
                        recs[i].usage_count = count;
}

static void test_a_load_counts_the_chain_of_steps_beneath_it(void **state) {
        struct docker_cache_record recs[ELEMENTSOF(linear)];
        struct cache_counts counts = {};

        memcpy(recs, linear, sizeof(recs));
        assert_int_equal(account(recs, ELEMENTSOF(recs), &counts), 0);  /* first build: no reuse */

        /* Fully cached: 4 CACHED steps, the top one's count alone grows; the context
         * and the cache mount grow too and are no reuse. */
        set_count(recs, ELEMENTSOF(recs), "run3", 2);
        set_count(recs, ELEMENTSOF(recs), "ctx", 2);
        set_count(recs, ELEMENTSOF(recs), "mnt", 3);
        assert_int_equal(account(recs, ELEMENTSOF(recs), &counts), 4);
        assert_int_equal(account(recs, ELEMENTSOF(recs), &counts), 0);  /* nothing new */

        /* COPY changed: the two RUN steps before it were CACHED, run2 loaded. */
        set_count(recs, ELEMENTSOF(recs), "run2", 2);
        assert_int_equal(account(recs, ELEMENTSOF(recs), &counts), 2);

        /* The first RUN changed: FROM printed CACHED, the base's top layer loaded. */
        set_count(recs, ELEMENTSOF(recs), "base2", 2);
        assert_int_equal(account(recs, ELEMENTSOF(recs), &counts), 1);
        cache_counts_done(&counts);
}

static void test_a_record_first_seen_counts_all_but_its_first_use(void **state) {
        struct docker_cache_record recs[ELEMENTSOF(linear)];
        struct cache_counts counts = {};

        memcpy(recs, linear, sizeof(recs));
        set_count(recs, ELEMENTSOF(recs), "run3", 3);   /* two fully cached builds before the first run */
        assert_int_equal(account(recs, ELEMENTSOF(recs), &counts), 8);
        assert_int_equal(counts.n, 1);
        assert_int_equal(cache_counts_get(&counts, "run3"), 3);
        cache_counts_done(&counts);
}

static void test_an_evicted_record_leaves_its_count_behind(void **state) {
        struct docker_cache_record recs[ELEMENTSOF(linear)];
        struct cache_counts counts = {};

        memcpy(recs, linear, sizeof(recs));
        set_count(recs, ELEMENTSOF(recs), "run3", 2);
        assert_int_equal(account(recs, ELEMENTSOF(recs), &counts), 4);
        /* Pruned: the top step goes; nothing is taken back, nothing added. */
        assert_int_equal(account(recs, ELEMENTSOF(recs) - 3, &counts), 0);
        assert_int_equal(counts.n, 0);
        /* A new record under the same id (never seen from BuildKit, but cheap to get
         * right): counted from 1 again, not from the old count. */
        set_count(recs, ELEMENTSOF(recs), "run3", 2);
        counts.n = 0;
        assert_int_equal(cache_counts_add(&counts, "run3", 5), 0);
        assert_int_equal(account(recs, ELEMENTSOF(recs), &counts), 4);
        cache_counts_done(&counts);
}

static void test_a_cycle_or_a_missing_parent_costs_nothing(void **state) {
        struct docker_cache_record recs[] = {
                REC("a", "regular", "[1/2] COPY a /a", 2, "b"),
                REC("b", "regular", "[2/2] COPY b /b", 1, "a"),
                REC("c", "regular", "[1/1] COPY c /c", 2, "gone"),
        };
        struct cache_counts counts = {};

        assert_int_equal(account(recs, ELEMENTSOF(recs), &counts), 2 + 1);
        cache_counts_done(&counts);
}

static void test_the_summary_names_the_most_reused_steps(void **state) {
        struct docker_cache_record recs[ELEMENTSOF(linear)];
        struct docker_build_cache bc = { .items = recs, .n = ELEMENTSOF(recs) };
        struct cache_counts prev = {}, next = {};
        struct cache_summary sum = {};
        uint64_t reuses;

        memcpy(recs, linear, sizeof(recs));
        set_count(recs, ELEMENTSOF(recs), "run3", 3);
        set_count(recs, ELEMENTSOF(recs), "run2", 2);
        recs[5].shared = true;                  /* held by an image: not the cache's bytes */
        recs[6].in_use = true;
        recs[7].last_used = 2000;               /* used now; the others a week ago and more */
        assert_int_equal(cache_account(&bc, &prev, 1000 + CACHE_UNUSED_AGE + 1, &sum, &next, &reuses), 0);
        assert_int_equal(sum.records, 8);
        assert_int_equal(sum.bytes, 700);
        assert_int_equal(sum.reclaimable, 600);
        assert_int_equal(sum.unused_bytes, 600);
        assert_int_equal(sum.n_top, 4);
        /* Ties go by the daemon's description, whatever order it lists them in. */
        assert_string_equal(sum.top[0].description, "RUN echo two > /two");  /* 2 + 1 */
        assert_int_equal(sum.top[0].reuses, 3);
        assert_string_equal(sum.top[1].description, "RUN npm ci");
        assert_string_equal(sum.top[2].description, "COPY app.txt /app.txt");
        assert_int_equal(sum.top[2].reuses, 2);
        assert_string_equal(sum.top[3].description, "RUN make");
        cache_summary_done(&sum);
        cache_counts_done(&next);
}

static void test_step_names_are_cut_for_people(void **state) {
        char long_cmd[200];
        char *s;

        memset(long_cmd, 'x', sizeof(long_cmd) - 1);
        long_cmd[sizeof(long_cmd) - 1] = '\0';
        s = cache_step_name(long_cmd);
        assert_int_equal(strlen(s), CACHE_TOP_WIDTH);
        assert_string_equal(s + CACHE_TOP_WIDTH - 3, "...");
        free(s);
        s = cache_step_name("mount / from exec /usr/bin/make all");
        assert_string_equal(s, "RUN /usr/bin/make all");
        free(s);
        /* Not cut inside a UTF-8 sequence. */
        char accents[CACHE_TOP_WIDTH * 2 + 1] = "";
        for (size_t i = 0; i < CACHE_TOP_WIDTH; i++)
                strcat(accents, "\xc3\xa9");
        s = cache_step_name(accents);
        assert_true(strlen(s) <= CACHE_TOP_WIDTH);
        assert_int_equal((strlen(s) - 3) % 2, 0);
        free(s);
}

static void test_the_state_keeps_a_day_of_history(void **state) {
        struct cache_state s = {};
        struct cache_state back = {};
        int64_t from;
        char *text;

        assert_int_equal(cache_state_add_reuses(&s, 5, 1000), 0);
        assert_int_equal(cache_state_add_reuses(&s, 0, 1300), 0);          /* unchanged: no point */
        assert_int_equal(s.reuses.n, 1);
        assert_int_equal(cache_state_add_reuses(&s, 3, 4000), 0);
        assert_int_equal(cache_state_add_reuses(&s, 2, 90000), 0);
        assert_int_equal(s.reuses.total, 10);
        /* A day before 90000 is 3600: the point at 1000 is the day's start. */
        assert_int_equal(s.reuses.n, 3);
        assert_int_equal(cache_series_since(&s.reuses, 90000 - 3600, &from), 2);
        assert_int_equal(cache_series_since(&s.reuses, 90000 - 86400, &from), 5);
        assert_int_equal(from, 90000 - 86400);
        assert_int_equal(cache_series_since(&s.reuses, 10, &from), 5);   /* the history starts later */
        assert_int_equal(from, 1000);
        assert_int_equal(cache_state_add_reuses(&s, 1, 200000), 0);
        assert_int_equal(s.reuses.n, 2);                               /* 90000 is the day's start now */

        s.known = true;
        s.summary.records = 7;
        s.summary.n_top = 1;
        s.summary.top[0] = (struct cache_top) { .description = strdup("RUN a\x01"), .reuses = 4 };
        assert_int_equal(cache_state_format(&s, &text), 0);
        assert_int_equal(cache_state_parse(text, strlen(text), &back), 0);
        assert_true(back.known);
        assert_int_equal(back.summary.records, 7);
        assert_int_equal(back.reuses.total, 11);
        assert_int_equal(back.reuses.n, 2);
        assert_string_equal(back.summary.top[0].description, "RUN a?");  /* the file is input too */
        free(text);
        cache_state_done(&back);
        cache_state_done(&s);
        assert_int_equal(cache_state_parse("{\"version\":2}", 13, &back), -EBADMSG);
        assert_int_equal(cache_state_parse("[", 1, &back), -EBADMSG);
}

static void test_tenants_builds_are_noted_from_the_plugins_counters(void **state) {
        struct cache_state s = {}, back = {};
        char *text;

        assert_int_equal(cache_state_note_authz_counters(&s, "team-a\t10\t1\t4\nteam-b\t3\t0\t0\n"
                                                             "bad line\nteam-c\t1\t1\tmany\n", 1000), 0);
        assert_int_equal(s.n_tenants, 2);
        assert_int_equal(cache_state_note_authz_counters(&s, "team-a\t20\t1\t9\nteam-b\t3\t0\t0\n", 5000), 0);
        assert_string_equal(s.tenants[0].name, "team-a");
        assert_int_equal(cache_series_since(&s.tenants[0].builds, 5000 - 86400, NULL), 5);
        assert_int_equal(cache_series_since(&s.tenants[0].builds, 2000, NULL), 5);
        assert_int_equal(cache_series_since(&s.tenants[1].builds, 0, NULL), 0);
        assert_int_equal(cache_state_format(&s, &text), 0);
        assert_int_equal(cache_state_parse(text, strlen(text), &back), 0);
        assert_int_equal(back.n_tenants, 2);
        assert_int_equal(back.tenants[0].builds.total, 9);
        assert_int_equal(back.tenants[0].builds.n, 2);
        free(text);
        cache_state_done(&back);
        cache_state_done(&s);
}

static void test_the_counts_survive_a_round_trip(void **state) {
        struct cache_counts c = {}, back = {};
        const char *bad = "{\"version\":1,\"counts\":{\"a\":3,\"b\":1,\"c\":\"x\",\"d\\n\":4}}";
        char *text;

        assert_int_equal(cache_counts_add(&c, "zz", 2), 0);
        assert_int_equal(cache_counts_add(&c, "aa", 7), 0);
        assert_int_equal(cache_counts_add(&c, "zz", 9), 0);
        cache_counts_sort(&c);
        assert_int_equal(c.n, 2);
        assert_int_equal(cache_counts_format(&c, &text), 0);
        assert_string_equal(text, "{\"counts\":{\"aa\":7,\"zz\":2},\"version\":1}");
        assert_int_equal(cache_counts_parse(text, strlen(text), &back), 0);
        assert_int_equal(cache_counts_get(&back, "aa"), 7);
        assert_int_equal(cache_counts_get(&back, "bb"), 0);
        free(text);
        cache_counts_done(&back);
        /* Counts of 1, non-numbers and ids with control characters are dropped. */
        assert_int_equal(cache_counts_parse(bad, strlen(bad), &back), 0);
        assert_int_equal(back.n, 1);
        cache_counts_done(&back);
        cache_counts_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_load_counts_the_chain_of_steps_beneath_it),
                cmocka_unit_test(test_a_record_first_seen_counts_all_but_its_first_use),
                cmocka_unit_test(test_an_evicted_record_leaves_its_count_behind),
                cmocka_unit_test(test_a_cycle_or_a_missing_parent_costs_nothing),
                cmocka_unit_test(test_the_summary_names_the_most_reused_steps),
                cmocka_unit_test(test_step_names_are_cut_for_people),
                cmocka_unit_test(test_the_state_keeps_a_day_of_history),
                cmocka_unit_test(test_tenants_builds_are_noted_from_the_plugins_counters),
                cmocka_unit_test(test_the_counts_survive_a_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
