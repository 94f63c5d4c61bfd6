/* SPDX-License-Identifier: MIT */
/* docker/docker-cache.c's scanner of GET /system/df?type=build-cache and the reuse
 * counting over what it kept (check/cache-reuse.c): any body is read without crashing
 * or leaking; every string kept is UTF-8 without control characters, within its cap;
 * counting the same records twice adds no reuse the second time; the state the counts
 * make reads back. */
#include <errno.h>

#include "fuzz.h"
#include "base/text.h"
#include "check/cache-reuse.h"
#include "check/cache-state.h"
#include "docker/docker-cache.h"

static void clean(const char *s, size_t max) {
        if (!s)
                return;
        FUZZ_ASSERT(strlen(s) <= max && text_is_utf8(s));
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                FUZZ_ASSERT(*p >= 0x20 && *p != 0x7f);
}

static void count_twice(const struct docker_build_cache *bc) {
        struct cache_counts none = {}, first = {}, second = {};
        struct cache_summary a = {}, b = {};
        struct cache_state st = {}, back = {};
        uint64_t reuses = 0, again = 1;
        char *text = NULL;

        FUZZ_ASSERT(cache_account(bc, &none, 1800000000, &a, &first, &reuses) == 0);
        FUZZ_ASSERT(cache_account(bc, &first, 1800000300, &b, &second, &again) == 0);
        FUZZ_ASSERT(again == 0);
        FUZZ_ASSERT(first.n == second.n && a.records == bc->n && a.n_top <= CACHE_TOP_N);
        for (size_t i = 0; i < a.n_top; i++)
                clean(a.top[i].description, CACHE_TOP_WIDTH);
        st.known = true;
        st.summary = a;
        FUZZ_ASSERT(cache_state_add_reuses(&st, reuses, 1800000000) == 0);
        FUZZ_ASSERT(cache_state_format(&st, &text) == 0);
        FUZZ_ASSERT(cache_state_parse(text, strlen(text), &back) == 0);
        FUZZ_ASSERT(back.reuses.total == reuses && back.summary.n_top == a.n_top);
        free(text);
        cache_state_done(&back);
        cache_state_done(&st);  /* frees A */
        cache_summary_done(&b);
        cache_counts_done(&first);
        cache_counts_done(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct docker_build_cache bc = {};
        int r;

        r = docker_build_cache_parse((const char *) data, size, &bc);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        if (r < 0)
                return 0;
        FUZZ_ASSERT(bc.body_size == size && bc.n <= DOCKER_CACHE_MAX_RECORDS);
        for (size_t i = 0; i < bc.n; i++) {
                const struct docker_cache_record *rec = &bc.items[i];

                FUZZ_ASSERT(rec->id && rec->n_parents <= DOCKER_CACHE_MAX_PARENTS);
                clean(rec->id, 64);
                clean(rec->type, 32);
                clean(rec->description, DOCKER_CACHE_MAX_DESCRIPTION);
                for (size_t p = 0; p < rec->n_parents; p++)
                        clean(rec->parents[p], 64);
        }
        count_twice(&bc);
        docker_build_cache_done(&bc);
        return 0;
}
