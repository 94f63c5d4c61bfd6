/* SPDX-License-Identifier: MIT */
/* The metrics file as Prometheus reads it: one series per check, figures only when
 * measured, label values that cannot break the format, written atomically. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "metrics/textfile.h"

static void test_ok_run_has_states_and_figures(void **state) {
        struct check_list l = {};
        struct health_figures fig = { .disk_known = true, .disk_size = 10737418240ULL,
                                      .disk_used = 1073741824ULL, .disk_available = 9663676416ULL,
                                      .inodes = 1000, .inodes_free = 900, .daemon_up = 1,
                                      .round_trip_usec = 1500 };
        char *text = NULL;

        assert_non_null(check_list_add(&l, "mount", CHECK_OK, NULL, "mounted"));
        assert_non_null(check_list_add(&l, "daemon", CHECK_OK, NULL, "answered"));
        assert_int_equal(metrics_text(&(struct metrics_input) { .checks = &l, .figures = &fig,
                                                                .data_dir = "/mnt/k8s/docker", .disk_warn = 80,
                                                                .disk_crit = 90, .timestamp_usec = 1700000000500000ULL },
                                      &text), 0);
        assert_non_null(strstr(text, "\ndind_cache_check_state{check=\"mount\"} 0\n"));
        assert_non_null(strstr(text, "\ndind_cache_check_state{check=\"daemon\"} 0\n"));
        assert_non_null(strstr(text, "\ndind_cache_state 0\n"));
        assert_non_null(strstr(text, "\ndind_cache_disk_size_bytes 10737418240\n"));
        assert_non_null(strstr(text, "\ndind_cache_disk_used_bytes 1073741824\n"));
        assert_non_null(strstr(text, "\ndind_cache_disk_available_bytes 9663676416\n"));
        assert_non_null(strstr(text, "\ndind_cache_disk_inodes 1000\n"));
        assert_non_null(strstr(text, "\ndind_cache_disk_inodes_free 900\n"));
        assert_non_null(strstr(text, "\ndind_cache_disk_usage_critical_ratio 0.900000\n"));
        assert_non_null(strstr(text, "\ndind_cache_daemon_up 1\n"));
        assert_non_null(strstr(text, "\ndind_cache_daemon_round_trip_seconds 0.001500\n"));
        assert_non_null(strstr(text, "\ndind_cache_last_run_timestamp_seconds 1700000000.500000\n"));
        assert_non_null(strstr(text, "# TYPE dind_cache_daemon_up gauge\n"));
        free(text);
        check_list_done(&l);
}

static void test_info_names_the_instance_only_when_it_has_one(void **state) {
        struct check_list l = {};
        char *text = NULL;

        assert_non_null(check_list_add(&l, "mount", CHECK_OK, NULL, "mounted"));
        assert_int_equal(metrics_text(&(struct metrics_input) { .checks = &l, .data_dir = "/mnt/k8s/docker",
                                                                .instance = "b" }, &text), 0);
        assert_non_null(strstr(text, "\ndind_cache_info{data_dir=\"/mnt/k8s/docker\",dind_instance=\"b\"} 1\n"));
        free(text);
        text = NULL;
        assert_int_equal(metrics_text(&(struct metrics_input) { .checks = &l, .data_dir = "/mnt/k8s/docker" },
                                      &text), 0);
        assert_non_null(strstr(text, "\ndind_cache_info{data_dir=\"/mnt/k8s/docker\"} 1\n"));
        free(text);
        check_list_done(&l);
}

static void test_bad_settings_give_unknown_and_no_figures(void **state) {
        struct check_list l = {};
        char *text = NULL;

        /* Two bad variables: two results named "settings", one series. */
        assert_non_null(check_list_add(&l, "settings", CHECK_UNKNOWN, NULL, "DIND_CACHE_DISK_WARN"));
        assert_non_null(check_list_add(&l, "settings", CHECK_UNKNOWN, NULL, "DIND_CACHE_TIMEOUT"));
        assert_int_equal(metrics_text(&(struct metrics_input) { .checks = &l, .timestamp_usec = 1000000 }, &text), 0);
        assert_non_null(strstr(text, "\ndind_cache_check_state{check=\"settings\"} 3\n"));
        assert_null(strstr(strstr(text, "check=\"settings\"") + 1, "check=\"settings\""));
        assert_non_null(strstr(text, "\ndind_cache_state 3\n"));
        assert_null(strstr(text, "dind_cache_disk_size_bytes"));
        assert_null(strstr(text, "dind_cache_daemon_up"));
        assert_null(strstr(text, "ratio"));
        free(text);
        check_list_done(&l);
}

static void test_daemon_down_has_no_round_trip(void **state) {
        struct check_list l = {};
        struct health_figures fig = { .daemon_up = 0 };
        char *text = NULL;

        assert_non_null(check_list_add(&l, "daemon", CHECK_FAIL, NULL, "no answer"));
        assert_int_equal(metrics_text(&(struct metrics_input) { .checks = &l, .figures = &fig }, &text), 0);
        assert_non_null(strstr(text, "\ndind_cache_daemon_up 0\n"));
        assert_non_null(strstr(text, "\ndind_cache_check_state{check=\"daemon\"} 2\n"));
        assert_null(strstr(text, "round_trip"));
        assert_null(strstr(text, "dind_cache_disk_size_bytes"));
        free(text);
        check_list_done(&l);
}

static void test_label_values_are_escaped_and_capped(void **state) {
        char buf[METRICS_LABEL_MAX * 2 + 8], big[METRICS_LABEL_MAX * 3];

        assert_string_equal(metrics_label_escape("/mnt/a\"b\\c", buf, sizeof(buf)), "/mnt/a\\\"b\\\\c");
        assert_string_equal(metrics_label_escape("a\nb\x1b[31mc\x7f", buf, sizeof(buf)), "ab[31mc");
        assert_string_equal(metrics_label_escape("caf\xc3\xa9 \xff!", buf, sizeof(buf)), "caf\xc3\xa9 ?!");
        /* Only strict UTF-8 passes (promtool refuses the whole file otherwise): an
         * overlong '/', a surrogate and a code point above U+10FFFF are '?' byte by byte. */
        assert_string_equal(metrics_label_escape("/a\xe0\x80\xaf/b", buf, sizeof(buf)), "/a\?\?\?/b");
        assert_string_equal(metrics_label_escape("\xed\xa0\x80x", buf, sizeof(buf)), "???x");
        assert_string_equal(metrics_label_escape("\xf4\x90\x80\x80!", buf, sizeof(buf)), "\?\?\?\?!");
        assert_string_equal(metrics_label_escape("\xf4\x8f\xbf\xbf", buf, sizeof(buf)), "\xf4\x8f\xbf\xbf");
        /* C1 controls (a CSI) are dropped like C0 ones; U+00A0 stays. */
        assert_string_equal(metrics_label_escape("a\xc2\x9b" "31m\xc2\xa0", buf, sizeof(buf)), "a31m\xc2\xa0");

        /* Capped at METRICS_LABEL_MAX bytes, never inside a UTF-8 sequence. */
        memset(big, 'x', sizeof(big));
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(strlen(metrics_label_escape(big, buf, sizeof(buf))), METRICS_LABEL_MAX);
        memset(big, 'x', METRICS_LABEL_MAX - 1);
        memcpy(big + METRICS_LABEL_MAX - 1, "\xc3\xa9zz", 5);
        metrics_label_escape(big, buf, sizeof(buf));
        assert_int_equal(strlen(buf), METRICS_LABEL_MAX - 1);
        /* Escaping doubles at most: a value of only quotes still fits. */
        memset(big, '"', sizeof(big) - 1);
        assert_int_equal(strlen(metrics_label_escape(big, buf, sizeof(buf))), METRICS_LABEL_MAX * 2);
}

static void test_textfile_dir_choice(void **state) {
        char tmpl[] = "/tmp/test-textfile-XXXXXX", file[64];
        char *dir = NULL;
        FILE *f;

        assert_non_null(mkdtemp(tmpl));
        /* Unset: the default when it exists, else no metrics. */
        assert_int_equal(metrics_textfile_dir(NULL, tmpl, &dir), 1);
        assert_string_equal(dir, tmpl);
        free(dir);
        dir = NULL;
        assert_int_equal(metrics_textfile_dir(NULL, "/nonexistent/node-exporter", &dir), 0);
        assert_null(dir);
        /* Set: it must exist; empty turns metrics off. */
        assert_int_equal(metrics_textfile_dir("", tmpl, &dir), 0);
        assert_int_equal(metrics_textfile_dir("relative/dir", NULL, &dir), -EINVAL);
        assert_int_equal(metrics_textfile_dir("/nonexistent/x", NULL, &dir), -ENOENT);
        snprintf(file, sizeof(file), "%s/plain", tmpl);
        assert_non_null(f = fopen(file, "w"));
        fclose(f);
        assert_int_equal(metrics_textfile_dir(file, NULL, &dir), -ENOTDIR);
        assert_null(dir);
        unlink(file);
        rmdir(tmpl);
}

static void test_write_replaces_the_file_0644_and_never_makes_the_dir(void **state) {
        char tmpl[] = "/tmp/test-textfile-XXXXXX", path[96], missing[96];
        char buf[64] = "";
        struct stat st;
        FILE *f;

        assert_non_null(mkdtemp(tmpl));
        umask(0077);
        assert_int_equal(metrics_write(tmpl, "dind_cache_state 0\n"), 0);
        assert_int_equal(metrics_write(tmpl, "dind_cache_state 2\n"), 0);
        snprintf(path, sizeof(path), "%s/%s", tmpl, METRICS_FILE_NAME);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_non_null(f = fopen(path, "r"));
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        assert_string_equal(buf, "dind_cache_state 2\n");

        /* Other files of the family; never a name node_exporter would not read as ours. */
        assert_int_equal(metrics_write_named(tmpl, "dind_cache_prune.prom", "x 1\n"), 0);
        snprintf(missing, sizeof(missing), "%s/dind_cache_prune.prom", tmpl);
        assert_int_equal(unlink(missing), 0);
        assert_int_equal(metrics_write_named(tmpl, "other.prom", "x 1\n"), -EINVAL);
        assert_int_equal(metrics_write_named(tmpl, "dind_cache.txt", "x 1\n"), -EINVAL);
        assert_int_equal(metrics_write_named(tmpl, "dind_cache/../x.prom", "x 1\n"), -EINVAL);

        snprintf(missing, sizeof(missing), "%s/gone", tmpl);
        assert_int_equal(metrics_write(missing, "x 1\n"), -ENOENT);
        assert_int_not_equal(access(missing, F_OK), 0);
        unlink(path);
        rmdir(tmpl);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ok_run_has_states_and_figures),
                cmocka_unit_test(test_bad_settings_give_unknown_and_no_figures),
                cmocka_unit_test(test_info_names_the_instance_only_when_it_has_one),
                cmocka_unit_test(test_daemon_down_has_no_round_trip),
                cmocka_unit_test(test_label_values_are_escaped_and_capped),
                cmocka_unit_test(test_textfile_dir_choice),
                cmocka_unit_test(test_write_replaces_the_file_0644_and_never_makes_the_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
