/* SPDX-License-Identifier: MIT */
/* The deny list: written by revoke, read again by the plugin as soon as it changes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "authz/revoked.h"
#include "base/util.h"

static void serials_compare_as_numbers(void **state) {
        char buf[48];

        assert_int_equal(revoked_normalize_serial("00ab12", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "AB12");
        assert_int_equal(revoked_normalize_serial("0", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "0");
        assert_int_equal(revoked_normalize_serial("-01", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "-1");
        assert_int_equal(revoked_normalize_serial("", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(revoked_normalize_serial("0x12", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(revoked_normalize_serial("12 ", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(revoked_normalize_serial("11111111112222222222333333333344444444445", buf, sizeof(buf)),
                         -EINVAL);
}

static void lines_that_hold_no_serial_are_skipped(void **state) {
        struct revoked r = {};
        const char text[] = "0A1B\talpha\t1700000000\n\nnot-hex\tx\t1\n\tempty\t1\n00a1b\tagain\t2\nFF";

        assert_int_equal(revoked_init(&r, NULL), 0);
        assert_int_equal(revoked_parse(&r, text, strlen(text)), 0);
        assert_int_equal(r.n, 2);
        assert_int_equal(r.n_bad, 2);
        assert_true(revoked_contains(&r, "a1b"));
        assert_true(revoked_contains(&r, "00FF"));
        assert_false(revoked_contains(&r, "A1C"));
        revoked_done(&r);
}

static void a_long_list_holds_each_serial_once_and_finds_every_one(void **state) {
        struct revoked r = {};
        char *text = NULL, line[64];
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        /* 20,000 serials, each twice (in another spelling the second time), in no order. */
        for (unsigned i = 0; i < 40000; i++) {
                unsigned v = (i % 20000) * 2654435761u;
                fprintf(f, i < 20000 ? "%X\tt%u\t1\n" : "000%x\tt%u\t1\n", v, i);
        }
        fclose(f);
        assert_int_equal(revoked_init(&r, NULL), 0);
        assert_int_equal(revoked_parse(&r, text, size), 0);
        assert_int_equal(r.n, 20000);
        assert_int_equal(r.n_bad, 0);
        for (unsigned i = 0; i < 20000; i++) {
                snprintf(line, sizeof(line), "%x", i * 2654435761u);
                assert_true(revoked_contains(&r, line));
        }
        assert_false(revoked_contains(&r, "-1"));
        assert_int_equal(revoked_parse(&r, "", 0), 0);
        assert_false(revoked_contains(&r, "0"));
        free(text);
        revoked_done(&r);
}

static void a_revocation_is_seen_at_the_next_refresh(void **state) {
        char dir[] = "/tmp/test-revoked-XXXXXX";
        _cleanup_free_ char *path = NULL, *text = NULL;
        struct revoked r = {};
        struct stat st;
        size_t size;

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/revoked", dir);
        assert_int_equal(revoked_init(&r, path), 0);
        assert_int_equal(revoked_refresh(&r), 1); /* missing: empty */
        assert_int_equal(revoked_refresh(&r), 0);
        assert_false(revoked_contains(&r, "0A"));
        assert_int_equal(revoked_add(path, "0a", "alpha", 1700000000), 1);
        assert_int_equal(revoked_add(path, "A", "alpha", 1700000001), 0); /* the same number */
        assert_int_equal(revoked_refresh(&r), 1);
        assert_true(revoked_contains(&r, "0A"));
        assert_int_equal(revoked_refresh(&r), 0);
        assert_int_equal(revoked_add(path, "BEEF", "beta", 1700000002), 1);
        assert_int_equal(revoked_refresh(&r), 1);
        assert_true(revoked_contains(&r, "beef"));
        assert_int_equal(read_file_full(path, 1 << 20, &text, &size), 0);
        assert_string_equal(text, "0A\talpha\t1700000000\nBEEF\tbeta\t1700000002\n");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        assert_int_equal(revoked_add(path, "zz", "x", 1), -EINVAL);
        assert_int_equal(revoked_add(path, "01", "a\tb", 1), -EINVAL);
        /* Unreadable: an error, and an empty list the caller must not trust. */
        unlink(path);
        assert_int_equal(mkdir(path, 0700), 0);
        assert_true(revoked_refresh(&r) < 0);
        assert_int_equal(r.n, 0);
        rmdir(path);
        revoked_done(&r);
        rmdir(dir);
}

static void two_writers_at_once_lose_no_line(void **state) {
        char dir[] = "/tmp/test-revoked-XXXXXX";
        _cleanup_free_ char *path = NULL;
        struct revoked r = {};
        pid_t pid;
        int status;

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/revoked", dir);
        /* install revoking a dropped tenant while an operator runs revoke. */
        pid = fork();
        assert_true(pid >= 0);
        for (unsigned i = 0; i < 150; i++) {
                char serial[16];

                snprintf(serial, sizeof(serial), "%s%X", pid == 0 ? "A" : "B", i);
                if (revoked_add(path, serial, pid == 0 ? "child" : "parent", 1) != 1)
                        _exit(1);
        }
        if (pid == 0)
                _exit(0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(revoked_init(&r, path), 0);
        assert_int_equal(revoked_refresh(&r), 1);
        assert_int_equal(r.n, 300);
        revoked_done(&r);
        _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(serials_compare_as_numbers),
                cmocka_unit_test(lines_that_hold_no_serial_are_skipped),
                cmocka_unit_test(a_long_list_holds_each_serial_once_and_finds_every_one),
                cmocka_unit_test(a_revocation_is_seen_at_the_next_refresh),
                cmocka_unit_test(two_writers_at_once_lose_no_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
