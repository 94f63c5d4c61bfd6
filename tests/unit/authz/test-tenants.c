/* SPDX-License-Identifier: MIT */
/* The tenant list: written by install from --allow-namespace, read again by the plugin
 * as soon as it changes; a namespace not on it is no tenant. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "authz/tenants.h"
#include "base/util.h"

static void lines_that_are_no_namespace_are_skipped(void **state) {
        struct tenants t = {};
        const char text[] = "team-b\n\nTeam-C\nteam-a\nbad name\nteam:x\nteam-b\n"
                            "a-label-longer-than-sixty-three-characters-is-no-namespace-at-all\nlast";

        assert_int_equal(tenants_init(&t, NULL), 0);
        assert_int_equal(tenants_parse(&t, text, strlen(text)), 0);
        assert_int_equal(t.n, 3);
        assert_int_equal(t.n_bad, 4);
        assert_string_equal(t.names[0], "last");
        assert_string_equal(t.names[1], "team-a");
        assert_string_equal(t.names[2], "team-b");
        tenants_done(&t);
}

static void no_file_lets_every_namespace_pass_an_empty_one_none(void **state) {
        char dir[] = "/tmp/test-tenants-XXXXXX";
        _cleanup_free_ char *path = NULL;
        struct tenants t = {};

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/tenants", dir);
        assert_int_equal(tenants_init(&t, path), 0);
        assert_int_equal(tenants_refresh(&t), 1);
        assert_int_equal(tenants_refresh(&t), 0);
        assert_true(tenants_allow(&t, "anyone"));
        char *const none[] = { NULL };
        assert_int_equal(tenants_write(path, none), 1);
        assert_int_equal(tenants_refresh(&t), 1);
        assert_false(tenants_allow(&t, "anyone"));
        unlink(path);
        assert_int_equal(tenants_refresh(&t), 1);
        assert_true(tenants_allow(&t, "anyone"));
        tenants_done(&t);
        rmdir(dir);
}

static void a_dropped_tenant_is_refused_at_the_next_refresh(void **state) {
        char dir[] = "/tmp/test-tenants-XXXXXX";
        _cleanup_free_ char *path = NULL, *text = NULL;
        struct tenants t = {};
        struct stat st;
        size_t size;

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/tenants", dir);
        char *const two[] = { "team-b", "team-a", "team-b", NULL };
        assert_int_equal(tenants_write(path, two), 1);
        assert_int_equal(tenants_write(path, two), 0); /* the same list: untouched */
        assert_int_equal(read_file_full(path, 1 << 20, &text, &size), 0);
        assert_string_equal(text, "team-a\nteam-b\n");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        assert_int_equal(tenants_init(&t, path), 0);
        assert_int_equal(tenants_refresh(&t), 1);
        assert_true(tenants_allow(&t, "team-a"));
        assert_true(tenants_allow(&t, "team-b"));
        assert_false(tenants_allow(&t, "team-c"));

        char *const one[] = { "team-a", NULL };
        assert_int_equal(tenants_write(path, one), 1);
        assert_int_equal(tenants_refresh(&t), 1);
        assert_true(tenants_allow(&t, "team-a"));
        assert_false(tenants_allow(&t, "team-b"));

        char *const bad[] = { "team-a", "../etc", NULL };
        assert_int_equal(tenants_write(path, bad), -EINVAL);
        assert_int_equal(tenants_refresh(&t), 0); /* nothing written */

        /* Unreadable: an error, and a list that lets nobody pass. */
        unlink(path);
        assert_int_equal(mkdir(path, 0700), 0);
        assert_true(tenants_refresh(&t) < 0);
        assert_false(tenants_allow(&t, "team-a"));
        rmdir(path);
        tenants_done(&t);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(lines_that_are_no_namespace_are_skipped),
                cmocka_unit_test(no_file_lets_every_namespace_pass_an_empty_one_none),
                cmocka_unit_test(a_dropped_tenant_is_refused_at_the_next_refresh),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
