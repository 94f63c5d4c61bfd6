/* SPDX-License-Identifier: MIT */
/* The checker's units rendered from the embedded templates: only the values install
 * sets change, paths that a unit file or the sandbox cannot take are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/assets.h"
#include "systemd/checker-units.h"
#include "base/util.h"

static void set_value_replaces_only_that_line(void **state) {
        const char *text = "[Unit]\nExecStart=/no\n[Service]\nType=oneshot\nExecStart=/old check\nUMask=0077\n";
        _cleanup_free_ char *out = NULL;

        assert_int_equal(unit_text_set_value(text, "Service", "ExecStart", "/new check", &out), 0);
        assert_string_equal(out, "[Unit]\nExecStart=/no\n[Service]\nType=oneshot\nExecStart=/new check\nUMask=0077\n");
}

static void set_value_refuses_missing_and_ambiguous_keys(void **state) {
        char *out = NULL;

        assert_int_equal(unit_text_set_value("[Service]\nType=oneshot\n", "Service", "ExecStart", "x", &out), -ENOENT);
        assert_int_equal(unit_text_set_value("[Service]\nExecStart=a\nExecStart=b\n", "Service", "ExecStart", "x", &out),
                         -ENOTUNIQ);
        /* A key that only starts the same is another key. */
        assert_int_equal(unit_text_set_value("[Service]\nExecStartPre=a\n", "Service", "ExecStart", "x", &out), -ENOENT);
        assert_null(out);
}

static void service_points_at_binary_and_data_dir(void **state) {
        struct checker_unit_params p = { "/usr/local/sbin/dind-cache", "/srv/cache", 300000000ULL, NULL };
        const struct asset *tmpl = asset_find(CHECKER_SERVICE_ASSET);
        _cleanup_free_ char *text = NULL, *again = NULL;

        assert_non_null(tmpl);
        assert_int_equal(checker_service_text(&p, &text), 0);
        assert_non_null(strstr(text, "\nExecStart=/usr/local/sbin/dind-cache check\n"));
        assert_non_null(strstr(text, "\nReadWritePaths=-/srv/cache\n"));
        assert_non_null(strstr(text, "\nEnvironmentFile=/etc/dind-cache/dind-cache.env\n"));
        assert_non_null(strstr(text, "\nSuccessExitStatus=1\n"));
        /* Same inputs, same bytes: a second install writes nothing. */
        assert_int_equal(checker_service_text(&p, &again), 0);
        assert_string_equal(text, again);
}

static void timer_interval(void **state) {
        struct checker_unit_params p = { "/usr/local/sbin/dind-cache", "/mnt/k8s/docker", 90000000ULL, NULL };
        _cleanup_free_ char *text = NULL;

        assert_int_equal(checker_timer_text(&p, &text), 0);
        assert_non_null(strstr(text, "\nOnUnitActiveSec=90s\n"));
        assert_non_null(strstr(text, "\nWantedBy=timers.target\n"));
        p.interval_usec = 999999;
        assert_int_equal(checker_timer_text(&p, &text), -EINVAL);
}

static void timespans(void **state) {
        char buf[32];

        assert_string_equal(format_timespan_unit(300000000ULL, buf, sizeof(buf)), "5min");
        assert_string_equal(format_timespan_unit(90000000ULL, buf, sizeof(buf)), "90s");
        assert_string_equal(format_timespan_unit(1500000ULL, buf, sizeof(buf)), "1500ms");
        assert_string_equal(format_timespan_unit(3600000000ULL, buf, sizeof(buf)), "60min");
}

static void paths_a_unit_cannot_take(void **state) {
        static const char *const bad[] = { "relative/dind-cache", "/opt/my tools/dind-cache", "/opt/a%b",
                                           "/opt/$HOME", "/opt/a\"b", "/opt/a;b", "/opt/../x", "/opt/./x",
                                           "/opt//x", "/opt/x/..", "/opt/a\\b", "/opt/a\tb" };
        _cleanup_free_ char *text = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct checker_unit_params p = { bad[i], "/mnt/k8s/docker", 300000000ULL, NULL };
                assert_false(unit_path_is_plain(bad[i]));
                assert_int_equal(checker_service_text(&p, &text), -EINVAL);
        }
        assert_true(unit_path_is_plain("/usr/local/sbin/dind-cache"));
        assert_true(unit_path_is_plain("/mnt/k8s/docker-cache_1.x"));
}

static void paths_the_sandbox_hides(void **state) {
        _cleanup_free_ char *text = NULL;
        struct checker_unit_params p = { "/root/dind-cache", "/mnt/k8s/docker", 300000000ULL, NULL };

        assert_true(checker_path_hidden("/home/ci/docker"));
        assert_true(checker_path_hidden("/tmp"));
        assert_true(checker_path_hidden("/var/tmp/x"));
        assert_true(checker_path_hidden("/run/user/0/x"));
        assert_false(checker_path_hidden("/homework/x"));
        assert_false(checker_path_hidden("/mnt/k8s/docker"));
        assert_int_equal(checker_service_text(&p, &text), -EINVAL);
        p = (struct checker_unit_params) { "/usr/local/sbin/dind-cache", "/home/docker", 300000000ULL, NULL };
        assert_int_equal(checker_service_text(&p, &text), -EINVAL);
        assert_null(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(set_value_replaces_only_that_line),
                cmocka_unit_test(set_value_refuses_missing_and_ambiguous_keys),
                cmocka_unit_test(service_points_at_binary_and_data_dir),
                cmocka_unit_test(timer_interval),
                cmocka_unit_test(timespans),
                cmocka_unit_test(paths_a_unit_cannot_take),
                cmocka_unit_test(paths_the_sandbox_hides),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
