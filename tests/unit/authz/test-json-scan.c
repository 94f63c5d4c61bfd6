/* SPDX-License-Identifier: MIT */
/* The allocation-free JSON reader of the hot path: members and array elements found
 * as spans, whatever lies between, and nothing read past the end. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "authz/json-scan.h"
#include "base/util.h"

static bool member_is(const char *text, const char *key, const char *want) {
        struct jspan v;
        int r = jscan_member(text, strlen(text), key, &v);

        if (!want)
                return r == 0;
        return r == 1 && v.n == strlen(want) && memcmp(v.s, want, v.n) == 0;
}

static void members_are_found_past_anything(void **state) {
        const char *t = " { \"a\" : {\"x\":[1,{\"y\":\"}\"}]}, \"b\\\"\":2, \"Id\":\"abc\",\"n\":null ,\"t\":true,"
                        "\"s\":\"q\\\\\\\"u\\\\\", \"z\":[ ] } ";

        assert_true(member_is(t, "a", "{\"x\":[1,{\"y\":\"}\"}]}"));
        assert_true(member_is(t, "Id", "\"abc\""));
        assert_true(member_is(t, "n", "null"));
        assert_true(member_is(t, "t", "true"));
        assert_true(member_is(t, "s", "\"q\\\\\\\"u\\\\\""));
        assert_true(member_is(t, "z", "[ ]"));
        assert_true(member_is(t, "b", NULL));       /* spelled with an escape: never matches */
        assert_true(member_is(t, "missing", NULL));
        assert_true(member_is("{}", "a", NULL));
}

static void what_cannot_be_walked_is_refused(void **state) {
        static const char *const bad[] = { "", "[]", "{", "{\"a\"", "{\"a\":", "{\"a\":\"x", "{\"a\" 1}",
                                           "{\"a\":1 \"b\":2}", "{1:2}", "{\"a\":[1,2}" };
        struct jspan v;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (jscan_member(bad[i], strlen(bad[i]), "b", &v) >= 0)
                        fail_msg("'%s' was walked", bad[i]);
}

static void arrays_are_walked_element_by_element(void **state) {
        const char *t = "[ {\"Id\":\"a\",\"Names\":[\"/x\"]} , \"s\", 12, [1,[2]], {} ]";
        const char *want[] = { "{\"Id\":\"a\",\"Names\":[\"/x\"]}", "\"s\"", "12", "[1,[2]]", "{}" };
        struct jspan e;
        size_t pos = 0, n = 0, len;
        const char *s;
        int r;

        while ((r = jscan_array_next(t, strlen(t), &pos, &e)) > 0) {
                assert_true(n < ELEMENTSOF(want));
                assert_int_equal(e.n, strlen(want[n]));
                assert_memory_equal(e.s, want[n], e.n);
                n++;
        }
        assert_int_equal(r, 0);
        assert_int_equal(n, 5);
        pos = 0;
        assert_int_equal(jscan_array_next("[]", 2, &pos, &e), 0);
        pos = 0;
        assert_true(jscan_array_next("[1 2]", 5, &pos, &e) == 1 && jscan_array_next("[1 2]", 5, &pos, &e) < 0);
        assert_true(jscan_plain_string(&(struct jspan) { "\"abc\"", 5 }, &s, &len) && len == 3);
        assert_false(jscan_plain_string(&(struct jspan) { "\"a\\nc\"", 6 }, &s, &len));
        assert_false(jscan_plain_string(&(struct jspan) { "12", 2 }, &s, &len));
}

static void nothing_is_read_past_the_end(void **state) {
        /* A copy without the NUL, in its own allocation: ASan sees a read past it. */
        const char *t = "{\"a\":\"xyz";
        char *exact = malloc(strlen(t));
        struct jspan v;

        memcpy(exact, t, strlen(t));
        for (size_t n = 0; n <= strlen(t); n++)
                assert_true(jscan_member(exact, n, "a", &v) < 0);
        free(exact);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(members_are_found_past_anything),
                cmocka_unit_test(what_cannot_be_walked_is_refused),
                cmocka_unit_test(arrays_are_walked_element_by_element),
                cmocka_unit_test(nothing_is_read_past_the_end),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
