/* SPDX-License-Identifier: MIT */
/* The plugin's counters: per caller and verdict, builds apart, kept across restarts,
 * label values escaped, the number of series bounded. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/util.h"
#include "metrics/authz-metrics.h"

static void counts_per_caller_and_verdict(void **state) {
        struct authz_counters c = {}, back = {};
        _cleanup_free_ char *text = NULL, *saved = NULL, *again = NULL;

        assert_int_equal(authz_counters_add(&c, "alpha", true, true), 0);
        assert_int_equal(authz_counters_add(&c, "alpha", true, false), 0);
        assert_int_equal(authz_counters_add(&c, "alpha", false, true), 0); /* a refused build is no build */
        assert_int_equal(authz_counters_add(&c, "we\"ird\n", false, false), 0);
        assert_int_equal(authz_counters_add(&c, NULL, false, false), 0);
        assert_int_equal(authz_counters_text(&c, &text), 0);
        assert_non_null(strstr(text, "# TYPE dind_cache_authz_requests_total counter\n"));
        assert_non_null(strstr(text, "dind_cache_authz_requests_total{tenant=\"alpha\",verdict=\"allow\"} 2\n"));
        assert_non_null(strstr(text, "dind_cache_authz_requests_total{tenant=\"alpha\",verdict=\"deny\"} 1\n"));
        assert_non_null(strstr(text, "dind_cache_tenant_builds_total{tenant=\"alpha\"} 1\n"));
        assert_non_null(strstr(text, "dind_cache_tenant_requests_total{tenant=\"alpha\"} 3\n"));
        assert_non_null(strstr(text, "{tenant=\"we\\\"ird?\",verdict=\"deny\"} 1\n"));
        assert_non_null(strstr(text, "{tenant=\"unknown\",verdict=\"deny\"} 1\n"));
        assert_int_equal(authz_counters_state_text(&c, &saved), 0);
        assert_int_equal(authz_counters_state_parse(&back, saved, strlen(saved)), 0);
        assert_int_equal(authz_counters_state_parse(&back, "bad line\n", 9), 0);
        assert_int_equal(authz_counters_state_text(&back, &again), 0);
        assert_string_equal(saved, again);
        authz_counters_done(&c);
        authz_counters_done(&back);
}

static void past_the_cap_callers_add_up_under_other(void **state) {
        struct authz_counters c = {};

        for (int i = 0; i < AUTHZ_COUNTERS_MAX + 10; i++) {
                char name[32];
                snprintf(name, sizeof(name), "ns-%d", i);
                assert_int_equal(authz_counters_add(&c, name, true, false), 0);
        }
        assert_int_equal(c.n, AUTHZ_COUNTERS_MAX + 1);
        assert_string_equal(c.items[c.n - 1].tenant, "other");
        assert_int_equal(c.items[c.n - 1].allowed, 10);
        authz_counters_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(counts_per_caller_and_verdict),
                cmocka_unit_test(past_the_cap_callers_add_up_under_other),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
