/* SPDX-License-Identifier: MIT */
/* Text from outside, shown: cleaned (what a daemon or API server said) or escaped (a
 * refused value), and the test of what a setting may hold. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/text.h"
#include "base/util.h"

static void sanitize_replaces_control_characters_and_caps(void **state) {
        _cleanup_free_ char *a = text_sanitize("a\033[2Jb\nc\x7f\xc2\x85\xc3\xa9", 13, 100);
        _cleanup_free_ char *b = text_sanitize_line("one\ntwo\r", 100);
        _cleanup_free_ char *c = text_sanitize_line("h\xc3\xa9llo", 2);

        assert_string_equal(a, "a?[2Jb\nc??\xc3\xa9");
        assert_string_equal(b, "one?two?");
        assert_string_equal(c, "h"); /* never half a character */
        assert_null(text_sanitize_line(NULL, 1));
}

static void escape_shows_every_byte_on_one_line(void **state) {
        _cleanup_free_ char *a = text_escape("/x\n[OK] y\t\033]0;t\a\xff\xc3\xa9\\", 100);
        _cleanup_free_ char *b = text_escape("abcdef", 3);
        _cleanup_free_ char *c = text_escape("\xc2\x9b" "31m", 100);

        assert_string_equal(a, "/x\\n[OK] y\\t\\e]0;t\\x07\\xff\xc3\xa9\\");
        assert_string_equal(b, "abc...");
        assert_string_equal(c, "\\xc2\\x9b31m");
}

static void settings_must_be_printable_utf8(void **state) {
        assert_null(text_setting_problem("tcp://docker-dind.kube-ops.svc:2375"));
        assert_null(text_setting_problem("/srv/caché"));
        assert_string_equal(text_setting_problem("/srv/\xff"), "is not valid UTF-8");
        assert_string_equal(text_setting_problem("\xc0\xaf"), "is not valid UTF-8");       /* overlong '/' */
        assert_string_equal(text_setting_problem("\xed\xa0\x80"), "is not valid UTF-8");   /* a surrogate */
        assert_string_equal(text_setting_problem("\xf4\x90\x80\x80"), "is not valid UTF-8"); /* > U+10FFFF */
        assert_string_equal(text_setting_problem("\xe2\x82"), "is not valid UTF-8");       /* cut short */
        assert_string_equal(text_setting_problem("a\nb"), "holds a control character");
        assert_string_equal(text_setting_problem("a\xc2\x85"), "holds a control character");
        assert_string_equal(text_setting_problem("a\x7f"), "holds a control character");
        assert_true(text_is_utf8("\xf0\x9f\x90\xb3"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(sanitize_replaces_control_characters_and_caps),
                cmocka_unit_test(escape_shows_every_byte_on_one_line),
                cmocka_unit_test(settings_must_be_printable_utf8),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
