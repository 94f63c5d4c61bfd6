/* SPDX-License-Identifier: MIT */
/* The checker's settings as an operator writes them in the env file, the threshold
 * arithmetic, the summary line, and checks that need neither disk nor daemon. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "health.h"
#include "message-ids.h"

static const char *const VARS[] = {
        "DOCKER_HOST", "DIND_CACHE_DATA_DIR", "DIND_CACHE_DISK_WARN", "DIND_CACHE_DISK_CRIT",
        "DIND_CACHE_INODE_WARN", "DIND_CACHE_INODE_CRIT", "DIND_CACHE_WRITE_WARN_MS",
        "DIND_CACHE_TIMEOUT", "DIND_CACHE_DEADLINE",
};

static int clear_env(void **state) {
        for (size_t i = 0; i < sizeof(VARS) / sizeof(VARS[0]); i++)
                unsetenv(VARS[i]);
        return 0;
}

static void test_defaults(void **state) {
        struct health_settings s = {};
        struct check_list l = {};

        assert_int_equal(health_settings_from_env(&s, &l), 0);
        assert_int_equal(l.n, 0);
        assert_null(s.docker_host);
        assert_string_equal(s.data_dir, "/mnt/k8s/docker");
        assert_int_equal(s.disk_warn, 80);
        assert_int_equal(s.disk_crit, 90);
        assert_int_equal(s.inode_warn, 80);
        assert_int_equal(s.inode_crit, 90);
        assert_int_equal(s.write_warn_usec, 1000000);
        assert_int_equal(s.timeout_usec, 5000000);
        assert_int_equal(s.deadline_usec, 30000000);
        health_settings_done(&s);
}

static void test_values_from_the_environment(void **state) {
        struct health_settings s = {};
        struct check_list l = {};

        setenv("DOCKER_HOST", "tcp://10.0.0.5:2375", 1);
        setenv("DIND_CACHE_DATA_DIR", "/srv/cache", 1);
        setenv("DIND_CACHE_DISK_WARN", "70", 1);
        setenv("DIND_CACHE_DISK_CRIT", "95", 1);
        setenv("DIND_CACHE_INODE_WARN", "", 1); /* an empty line in the env file: default */
        setenv("DIND_CACHE_WRITE_WARN_MS", "250", 1);
        setenv("DIND_CACHE_TIMEOUT", "1500ms", 1);
        setenv("DIND_CACHE_DEADLINE", "20", 1);
        assert_int_equal(health_settings_from_env(&s, &l), 0);
        assert_string_equal(s.docker_host, "tcp://10.0.0.5:2375");
        assert_string_equal(s.data_dir, "/srv/cache");
        assert_int_equal(s.disk_warn, 70);
        assert_int_equal(s.disk_crit, 95);
        assert_int_equal(s.inode_warn, 80);
        assert_int_equal(s.write_warn_usec, 250000);
        assert_int_equal(s.timeout_usec, 1500000);
        assert_int_equal(s.deadline_usec, 20000000);
        health_settings_done(&s);
}

/* Sets NAME=VALUE and expects one UNKNOWN "settings" result naming NAME. */
static void expect_bad(const char *name, const char *value) {
        struct health_settings s = { .data_dir = (char *) "untouched" };
        struct check_list l = {};

        clear_env(NULL);
        setenv(name, value, 1);
        assert_int_equal(health_settings_from_env(&s, &l), -EINVAL);
        assert_string_equal(s.data_dir, "untouched");
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].name, "settings");
        assert_int_equal(l.items[0].state, CHECK_UNKNOWN);
        assert_string_equal(l.items[0].message_id, MID_SETTINGS_INVALID);
        assert_non_null(strstr(l.items[0].message, name));
        assert_int_equal(check_state_to_plugin_status(check_list_worst(&l)), 3);
        check_list_done(&l);
}

static void test_bad_values_are_unknown_naming_the_variable(void **state) {
        expect_bad("DIND_CACHE_DISK_WARN", "abc");
        expect_bad("DIND_CACHE_DISK_WARN", "80%");
        expect_bad("DIND_CACHE_DISK_WARN", "0");
        expect_bad("DIND_CACHE_DISK_CRIT", "101");
        expect_bad("DIND_CACHE_DISK_CRIT", "-5");
        expect_bad("DIND_CACHE_DISK_WARN", "90");   /* not below crit 90 */
        expect_bad("DIND_CACHE_DISK_CRIT", "50");   /* below warn 80 */
        expect_bad("DIND_CACHE_INODE_WARN", "99999999999999999999");
        expect_bad("DIND_CACHE_INODE_CRIT", "1e2");
        expect_bad("DIND_CACHE_WRITE_WARN_MS", "fast");
        expect_bad("DIND_CACHE_WRITE_WARN_MS", "0");
        expect_bad("DIND_CACHE_TIMEOUT", "forever");
        expect_bad("DIND_CACHE_TIMEOUT", "0");
        expect_bad("DIND_CACHE_DEADLINE", "2h");
        expect_bad("DIND_CACHE_DATA_DIR", "relative/dir");
        expect_bad("DOCKER_HOST", "ssh://node1");
        expect_bad("DOCKER_HOST", "tcp://host:notaport");
}

static void test_every_bad_value_is_reported(void **state) {
        struct health_settings s = {};
        struct check_list l = {};

        setenv("DIND_CACHE_DISK_WARN", "x", 1);
        setenv("DIND_CACHE_INODE_CRIT", "200", 1);
        setenv("DOCKER_HOST", "ftp://x", 1);
        assert_int_equal(health_settings_from_env(&s, &l), -EINVAL);
        assert_int_equal(l.n, 3);
        check_list_done(&l);
}

static void test_thresholds(void **state) {
        assert_int_equal(health_threshold_state(0, 80, 90), CHECK_OK);
        assert_int_equal(health_threshold_state(79, 80, 90), CHECK_OK);
        assert_int_equal(health_threshold_state(80, 80, 90), CHECK_WARN);
        assert_int_equal(health_threshold_state(89, 80, 90), CHECK_WARN);
        assert_int_equal(health_threshold_state(90, 80, 90), CHECK_FAIL);
        assert_int_equal(health_threshold_state(100, 80, 90), CHECK_FAIL);
}

static void test_percent_used_rounds_up_like_df(void **state) {
        assert_int_equal(health_percent_used(0, 100), 0);
        assert_int_equal(health_percent_used(1, 99), 1);
        assert_int_equal(health_percent_used(1, 999), 1);    /* 0.1% shows as 1% */
        assert_int_equal(health_percent_used(80, 20), 80);
        assert_int_equal(health_percent_used(801, 199), 81);
        assert_int_equal(health_percent_used(100, 0), 100);
        assert_int_equal(health_percent_used(0, 0), 0);
        assert_int_equal(health_percent_used(UINT64_MAX / 2, UINT64_MAX / 2), 50);
        assert_int_equal(health_percent_used(UINT64_MAX, 1), 0); /* overflow: not a crash */
}

static void test_summary_lists_what_is_not_ok_worst_first(void **state) {
        struct check_list l = {};
        char *s;

        assert_non_null(check_list_add(&l, "mount", CHECK_OK, NULL, "mounted"));
        assert_non_null(check_list_add(&l, "write_probe", CHECK_WARN, NULL, "write took 2.0s (warn 1.0s)"));
        assert_non_null(check_list_add(&l, "disk_usage", CHECK_FAIL, NULL, "disk /mnt/k8s/docker 93%% used (crit 90%%)"));
        assert_non_null(check_list_add(&l, "fs_type", CHECK_OK, NULL, "xfs"));
        s = health_summary(&l);
        assert_string_equal(s, "dind-cache check CRITICAL: disk /mnt/k8s/docker 93% used (crit 90%); "
                               "write took 2.0s (warn 1.0s); 2 OK");
        free(s);
        check_list_done(&l);

        assert_non_null(check_list_add(&l, "mount", CHECK_OK, NULL, "mounted"));
        assert_non_null(check_list_add(&l, "d_type", CHECK_SKIP, NULL, "read-only"));
        s = health_summary(&l);
        assert_string_equal(s, "dind-cache check OK: 1 OK, 1 skipped");
        free(s);
        check_list_done(&l);
}

static void test_missing_data_dir_is_critical(void **state) {
        struct health_settings s = { .data_dir = (char *) "/nonexistent/dind-cache", .disk_warn = 80,
                                     .disk_crit = 90, .timeout_usec = 1000000, .deadline_usec = 5000000 };
        struct check_list l = {};
        char *fs_type = NULL;

        assert_int_equal(health_check_disk(&s, now_usec() + s.deadline_usec, &l, &fs_type), 0);
        assert_null(fs_type);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].name, "data_dir");
        assert_int_equal(l.items[0].state, CHECK_FAIL);
        assert_string_equal(l.items[0].message_id, MID_DATA_DIR_MISSING);
        check_list_done(&l);
}

static void test_no_docker_host_is_a_warning(void **state) {
        struct health_settings s = { .timeout_usec = 1000000, .deadline_usec = 5000000 };
        struct check_list l = {};

        assert_int_equal(health_check_daemon(&s, "xfs", now_usec() + s.deadline_usec, &l), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].name, "daemon");
        assert_int_equal(l.items[0].state, CHECK_WARN);
        assert_non_null(strstr(l.items[0].message, "DOCKER_HOST is not set"));
        check_list_done(&l);
}

static void test_a_passed_deadline_skips_the_daemon_as_unknown(void **state) {
        struct health_settings s = { .docker_host = (char *) "tcp://127.0.0.1:9", .timeout_usec = 1000000,
                                     .deadline_usec = 1000000 };
        struct check_list l = {};

        assert_int_equal(health_check_daemon(&s, "xfs", now_usec() - 1, &l), 0);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.items[0].state, CHECK_UNKNOWN);
        assert_string_equal(l.items[0].message_id, MID_DEADLINE_PASSED);
        check_list_done(&l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_defaults, clear_env),
                cmocka_unit_test_setup(test_values_from_the_environment, clear_env),
                cmocka_unit_test_setup(test_bad_values_are_unknown_naming_the_variable, clear_env),
                cmocka_unit_test_setup(test_every_bad_value_is_reported, clear_env),
                cmocka_unit_test(test_thresholds),
                cmocka_unit_test(test_percent_used_rounds_up_like_df),
                cmocka_unit_test(test_summary_lists_what_is_not_ok_worst_first),
                cmocka_unit_test(test_missing_data_dir_is_critical),
                cmocka_unit_test(test_no_docker_host_is_a_warning),
                cmocka_unit_test(test_a_passed_deadline_skips_the_daemon_as_unknown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
