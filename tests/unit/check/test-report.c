/* SPDX-License-Identifier: MIT */
/* The report as people and scripts read it: one line per check, and the same as JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/json-util.h"
#include "check/report.h"

static void make_list(struct check_list *l) {
        struct check_result *r;

        assert_non_null(check_list_add(l, "privileges", CHECK_OK, NULL, "running as root"));
        assert_non_null(r = check_list_add(l, "fs_type", CHECK_OK, "never shown when OK",
                                           "xfs on %s mounted at %s", "/dev/vdb", "/mnt/k8s/docker"));
        assert_int_equal(check_result_set_value(r, "%s", "xfs"), 0);
        assert_non_null(check_list_add(l, "overlay_mount", CHECK_SKIP, NULL, "needs root"));
        assert_non_null(r = check_list_add(l, "free_space", CHECK_WARN, "docker system prune",
                                           "only %u%% free", 7u));
        assert_int_equal(check_result_set_value(r, "%u", 7u), 0);
        assert_int_equal(check_result_set_threshold(r, "%u", 10u), 0);
        assert_non_null(check_list_add(l, "d_type", CHECK_FAIL, "reformat with mkfs.xfs -n ftype=1",
                                       "xfs without ftype=1"));
}

/* Renders L as text into a string the caller frees. */
static char *render_text(const struct check_list *l) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        assert_int_equal(report_print_text(f, l), 0);
        fclose(f);
        return buf;
}

static void text_has_one_line_per_check_with_remedies_when_not_ok(void **state) {
        struct check_list l = {};
        char *text;

        make_list(&l);
        text = render_text(&l);
        assert_string_equal(text,
                "[OK]      privileges: running as root\n"
                "[OK]      fs_type: xfs on /dev/vdb mounted at /mnt/k8s/docker\n"
                "[SKIP]    overlay_mount: needs root\n"
                "[WARN]    free_space: only 7% free -> docker system prune\n"
                "[FAIL]    d_type: xfs without ftype=1 -> reformat with mkfs.xfs -n ftype=1\n");
        free(text);
        check_list_done(&l);
}

static void empty_list_renders_nothing_and_is_ok(void **state) {
        struct check_list l = {};
        char *text = render_text(&l);
        json_t *doc;

        assert_string_equal(text, "");
        free(text);
        assert_int_equal(check_list_worst(&l), CHECK_OK);
        doc = report_to_json(&l);
        assert_non_null(doc);
        assert_string_equal(json_object_get_string(doc, "result"), "OK");
        assert_int_equal(json_array_size(json_object_get(doc, "checks")), 0);
        json_decref(doc);
}

static void json_parses_back_with_the_same_checks(void **state) {
        struct check_list l = {};
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        json_error_t err;
        json_t *doc, *checks, *c;

        make_list(&l);
        assert_non_null(f);
        assert_int_equal(report_print_json(f, &l), 0);
        fclose(f);
        assert_true(size > 0 && buf[size - 1] == '\n');

        doc = json_loadb(buf, size, 0, &err);
        if (!doc)
                fail_msg("the report is not JSON: %s", err.text);
        assert_string_equal(json_object_get_string(doc, "result"), "FAIL");
        checks = json_object_get(doc, "checks");
        assert_int_equal(json_array_size(checks), l.n);
        for (size_t i = 0; i < l.n; i++) {
                c = json_array_get(checks, i);
                assert_string_equal(json_object_get_string(c, "name"), l.items[i].name);
                assert_string_equal(json_object_get_string(c, "state"), check_state_to_string(l.items[i].state));
                assert_string_equal(json_object_get_string(c, "message"), l.items[i].message);
        }
        /* Optional fields: present when set, absent otherwise. */
        c = json_array_get(checks, 3);
        assert_string_equal(json_object_get_string(c, "remedy"), "docker system prune");
        assert_string_equal(json_object_get_string(c, "value"), "7");
        assert_string_equal(json_object_get_string(c, "threshold"), "10");
        c = json_array_get(checks, 0);
        assert_null(json_object_get(c, "remedy"));
        assert_null(json_object_get(c, "value"));
        assert_null(json_object_get(c, "threshold"));

        json_decref(doc);
        free(buf);
        check_list_done(&l);
}

static void json_result_is_the_worst_state(void **state) {
        struct check_list l = {};
        json_t *doc;

        assert_non_null(check_list_add(&l, "a", CHECK_OK, NULL, "fine"));
        assert_non_null(check_list_add(&l, "b", CHECK_SKIP, NULL, "skipped"));
        doc = report_to_json(&l);
        assert_string_equal(json_object_get_string(doc, "result"), "SKIP");
        json_decref(doc);
        assert_non_null(check_list_add(&l, "c", CHECK_WARN, NULL, "hm"));
        doc = report_to_json(&l);
        assert_string_equal(json_object_get_string(doc, "result"), "WARN");
        json_decref(doc);
        check_list_done(&l);
}

static void text_with_quotes_and_newlines_stays_valid_json(void **state) {
        struct check_list l = {};
        json_t *doc;
        char *dump;

        assert_non_null(check_list_add(&l, "data_dir", CHECK_FAIL, NULL, "'%s' has \"quotes\"\nand a newline", "/a b"));
        doc = report_to_json(&l);
        dump = json_dumps(doc, 0);
        json_decref(doc);
        doc = json_loads(dump, 0, NULL);
        assert_non_null(doc);
        assert_string_equal(json_object_get_string(json_array_get(json_object_get(doc, "checks"), 0), "message"),
                            "'/a b' has \"quotes\"\nand a newline");
        json_decref(doc);
        free(dump);
        check_list_done(&l);
}

static void write_errors_are_reported(void **state) {
        struct check_list l = {};
        FILE *f = fopen("/dev/full", "we");

        if (!f)
                skip();
        make_list(&l);
        assert_int_equal(report_print_text(f, &l), -EIO);
        fclose(f);
        f = fopen("/dev/full", "we");
        assert_int_equal(report_print_json(f, &l), -EIO);
        fclose(f);
        check_list_done(&l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(text_has_one_line_per_check_with_remedies_when_not_ok),
                cmocka_unit_test(empty_list_renders_nothing_and_is_ok),
                cmocka_unit_test(json_parses_back_with_the_same_checks),
                cmocka_unit_test(json_result_is_the_worst_state),
                cmocka_unit_test(text_with_quotes_and_newlines_stays_valid_json),
                cmocka_unit_test(write_errors_are_reported),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
