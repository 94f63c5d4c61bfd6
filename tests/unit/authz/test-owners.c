/* SPDX-License-Identifier: MIT */
/* Ownership: resolved as dockerd resolves names and IDs, kept in a file across
 * restarts, and forgotten when the daemon's own lists say the object is gone. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "authz-test.h"
#include "authz/owners.h"

#define A1 "a1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define A2 "a1aaaaaaaaaa2222222222222222222222222222222222222222222222222222"
#define B1 "b1bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define EA "eaeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static const char *owner_of(const struct owners *o, enum owner_kind k, const char *ref) {
        const struct owner_record *r = owners_resolve(o, k, ref);
        return r ? r->owner : NULL;
}

static void references_resolve_as_the_daemon_resolves_them(void **state) {
        struct owners *o;

        assert_int_equal(owners_new(NULL, &o), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "web", "alpha", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, B1, "db", "beta", NULL, 1), 0);
        assert_string_equal(owner_of(o, OWNER_CONTAINER, A1), "alpha");
        assert_string_equal(owner_of(o, OWNER_CONTAINER, "web"), "alpha");
        assert_string_equal(owner_of(o, OWNER_CONTAINER, "/web"), "alpha");
        assert_string_equal(owner_of(o, OWNER_CONTAINER, "a1aaaaaaaaaa"), "alpha");
        assert_null(owner_of(o, OWNER_CONTAINER, "a1aaaaaaaaa"));  /* 11 digits: too short */
        assert_null(owner_of(o, OWNER_CONTAINER, "A1AAAAAAAAAA"));
        assert_null(owner_of(o, OWNER_CONTAINER, "nobody"));
        assert_null(owner_of(o, OWNER_CONTAINER, ""));
        /* Two records under one prefix: ambiguous, as the daemon says. */
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A2, NULL, "alpha", NULL, 1), 0);
        assert_null(owner_of(o, OWNER_CONTAINER, "a1aaaaaaaaaa"));
        assert_string_equal(owner_of(o, OWNER_CONTAINER, "a1aaaaaaaaaa2"), "alpha");
        /* A name wins over a prefix, an ID over a name (the daemon's order). */
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, B1, "a1aaaaaaaaaa2", "beta", NULL, 1), 0);
        assert_string_equal(owner_of(o, OWNER_CONTAINER, "a1aaaaaaaaaa2"), "beta");
        /* Volumes and exec instances: exact only. */
        assert_int_equal(owners_learn(o, OWNER_VOLUME, "cache", NULL, "alpha", NULL, 1), 0);
        assert_null(owner_of(o, OWNER_VOLUME, "cach"));
        assert_int_equal(owners_learn(o, OWNER_EXEC, EA, NULL, "alpha", A1, 1), 0);
        assert_null(owner_of(o, OWNER_EXEC, "eaeeeeeeeeeeee"));
        owners_free(o);
}

static void a_name_spelling_an_unknown_id_resolves_to_nothing(void **state) {
        struct owners *o;

        /* beta names its container like the ID of one the plugin never saw (a classic
         * build's step): the daemon takes that reference as the ID. */
        assert_int_equal(owners_new(NULL, &o), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, B1, A1, "beta", NULL, 1), 0);
        assert_null(owners_resolve(o, OWNER_CONTAINER, A1));
        assert_string_equal(owner_of(o, OWNER_CONTAINER, "/" A1), "beta");   /* a name, for the daemon too */
        assert_int_equal(owners_learn(o, OWNER_NETWORK, B1, A1, "beta", NULL, 1), 0);
        assert_null(owners_resolve(o, OWNER_NETWORK, A1));
        /* Known, the ID is its record's. */
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "web", "alpha", NULL, 1), 0);
        assert_string_equal(owner_of(o, OWNER_CONTAINER, A1), "alpha");
        owners_free(o);
}

static void nothing_from_outside_is_kept_raw(void **state) {
        struct owners *o;

        assert_int_equal(owners_new(NULL, &o), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, "abc", NULL, "alpha", NULL, 1), -EINVAL);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "we\tb", "alpha", NULL, 1), -EINVAL);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "web", "al\npha", NULL, 1), -EINVAL);
        assert_int_equal(owners_learn(o, OWNER_VOLUME, "-x", NULL, "alpha", NULL, 1), -EINVAL);
        assert_int_equal(owners_learn(o, OWNER_EXEC, EA, NULL, "alpha", "parent", 1), -EINVAL);
        assert_int_equal(o->n[OWNER_CONTAINER] + o->n[OWNER_VOLUME] + o->n[OWNER_EXEC], 0);
        owners_free(o);
}

static void a_name_belongs_to_one_record(void **state) {
        struct owners *o;

        assert_int_equal(owners_new(NULL, &o), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "build", "alpha", NULL, 1), 0);
        /* alpha's container removed itself (--rm); beta makes another "build". */
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, B1, "build", "beta", NULL, 2), 0);
        assert_string_equal(owner_of(o, OWNER_CONTAINER, "build"), "beta");
        assert_int_equal(owners_set_name(o, OWNER_CONTAINER, A1, "build"), 1);
        assert_string_equal(owner_of(o, OWNER_CONTAINER, "build"), "alpha");
        assert_null(owners_resolve(o, OWNER_CONTAINER, B1)->name);
        owners_free(o);
}

static void forgetting_a_container_takes_its_execs(void **state) {
        struct owners *o;

        assert_int_equal(owners_new(NULL, &o), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "web", "alpha", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_EXEC, EA, NULL, "alpha", A1, 1), 0);
        assert_int_equal(owners_forget(o, OWNER_CONTAINER, A1), 1);
        assert_null(owners_resolve(o, OWNER_EXEC, EA));
        assert_int_equal(owners_forget(o, OWNER_CONTAINER, A1), 0);
        owners_free(o);
}

static void a_complete_list_forgets_what_it_lacks_but_fresh_records(void **state) {
        struct owners *o;
        const struct owners_listed list[] = { { A1, "renamed" } };

        assert_int_equal(owners_new(NULL, &o), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "web", "alpha", NULL, 1000), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A2, "gone", "alpha", NULL, 1000), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, B1, "fresh", "beta", NULL, 1990), 0);
        /* A filtered list teaches names only. */
        assert_int_equal(owners_sync(o, OWNER_CONTAINER, list, 1, false, 2000), 1);
        assert_non_null(owners_resolve(o, OWNER_CONTAINER, "gone"));
        assert_string_equal(owner_of(o, OWNER_CONTAINER, "renamed"), "alpha");
        /* A complete one forgets A2; B1 was learned within the grace period. */
        assert_int_equal(owners_sync(o, OWNER_CONTAINER, list, 1, true, 2000), 1);
        assert_null(owners_resolve(o, OWNER_CONTAINER, "gone"));
        assert_non_null(owners_resolve(o, OWNER_CONTAINER, "fresh"));
        owners_free(o);
}

static void the_file_keeps_everything_and_skips_what_it_cannot_read(void **state) {
        char dir[] = "/tmp/test-owners-XXXXXX";
        _cleanup_free_ char *path = NULL, *text = NULL;
        struct owners *o, *back;
        struct stat st;
        size_t size;

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/owners", dir);
        assert_int_equal(owners_new(path, &o), 0);
        assert_int_equal(owners_load(o), 0); /* none yet: empty */
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "web", "alpha", NULL, 7), 0);
        assert_int_equal(owners_learn(o, OWNER_EXEC, EA, NULL, "alpha", A1, 8), 0);
        assert_int_equal(owners_learn(o, OWNER_VOLUME, "cache", NULL, "beta", NULL, 9), 0);
        assert_int_equal(owners_learn(o, OWNER_NETWORK, B1, "net", "beta", NULL, 10), 0);
        assert_int_equal(owners_save(o), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(owners_new(path, &back), 0);
        assert_int_equal(owners_load(back), 0);
        assert_int_equal(owners_text(o, &text), 0);
        free(text);
        text = NULL;
        assert_string_equal(owner_of(back, OWNER_CONTAINER, "web"), "alpha");
        assert_string_equal(owners_resolve(back, OWNER_EXEC, EA)->parent, A1);
        assert_string_equal(owner_of(back, OWNER_VOLUME, "cache"), "beta");
        assert_string_equal(owner_of(back, OWNER_NETWORK, "net"), "beta");
        assert_int_equal(owners_resolve(back, OWNER_NETWORK, "net")->learned, 10);
        owners_free(back);
        /* Damaged lines are skipped, counted; the rest is read. */
        assert_int_equal(read_file_full(path, 1 << 20, &text, &size), 0);
        {
                _cleanup_free_ char *bad = strdup_printf("%sx\ty\nc\tnothex\t\talpha\t1\t\nc\t%s\t\tal pha\t1\t\n", text, B1);
                assert_int_equal(write_file_atomic(path, bad, strlen(bad), 0600), 1);
        }
        assert_int_equal(owners_new(path, &back), 0);
        assert_int_equal(owners_load(back), 0);
        assert_int_equal(back->n_bad, 3);
        assert_int_equal(back->n[OWNER_CONTAINER], 1);
        owners_free(back);
        owners_free(o);
        unlink(path);
        rmdir(dir);
}

static size_t count_lines(const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t size, n = 0;

        assert_int_equal(read_file_full(path, 64 << 20, &text, &size), 0);
        for (size_t i = 0; i < size; i++)
                n += text[i] == '\n';
        return n;
}

/* The node crashed in the middle of appending STUMP to the file at PATH. */
static void crash_while_appending(const char *path, const char *stump) {
        FILE *f = fopen(path, "a");

        assert_non_null(f);
        fputs(stump, f);
        fclose(f);
}

static void changes_are_appended_and_the_log_is_compacted(void **state) {
        char dir[] = "/tmp/test-owners-XXXXXX";
        _cleanup_free_ char *path = NULL;
        struct owners *o, *back;
        struct stat st1, st2;

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/owners", dir);
        assert_int_equal(owners_new(path, &o), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "web", "alpha", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_EXEC, EA, NULL, "alpha", A1, 1), 0);
        assert_int_equal(owners_save(o), 0);
        assert_int_equal(stat(path, &st1), 0);
        assert_int_equal(owners_forget(o, OWNER_CONTAINER, A1), 1);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, B1, "db", "beta", NULL, 2), 0);
        assert_int_equal(owners_save(o), 0);
        assert_int_equal(stat(path, &st2), 0);
        assert_int_equal(st1.st_ino, st2.st_ino);   /* appended, not replaced */
        assert_int_equal(count_lines(path), 4);
        /* A crash in the middle of a line: the rest is read, the stump skipped. */
        crash_while_appending(path, "c\tb1bbbbbbbbbbbbbb");
        assert_int_equal(owners_new(path, &back), 0);
        assert_int_equal(owners_load(back), 0);
        assert_null(owners_resolve(back, OWNER_CONTAINER, "web"));
        assert_null(owners_resolve(back, OWNER_EXEC, EA));
        assert_string_equal(owner_of(back, OWNER_CONTAINER, "db"), "beta");
        assert_int_equal(back->n_bad, 1);
        owners_free(back);
        /* Churn: the file stays about as long as what it holds. */
        for (int i = 0; i < 3000; i++) {
                assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "web", "alpha", NULL, 3), 0);
                assert_int_equal(owners_forget(o, OWNER_CONTAINER, A1), 1);
                assert_int_equal(owners_save(o), 0);
        }
        assert_true(count_lines(path) <= 2 * 1 + 1024 + 2);
        assert_int_equal(owners_new(path, &back), 0);
        assert_int_equal(owners_load(back), 0);
        assert_int_equal(back->n[OWNER_CONTAINER], 1);
        assert_string_equal(owner_of(back, OWNER_CONTAINER, "db"), "beta");
        owners_free(back);
        owners_free(o);
        unlink(path);
        rmdir(dir);
}

static void a_full_table_drops_the_oldest_record_of_the_biggest_holder(void **state) {
        struct owners *o;
        char name[32];

        assert_int_equal(owners_new(NULL, &o), 0);
        o->max = 4;
        assert_int_equal(owners_learn(o, OWNER_VOLUME, "a-cache", NULL, "alpha", NULL, 1), 0);
        /* beta fills the table and goes on: its own oldest go, never alpha's volume
         * (which would then be nobody's, and a volume nobody owns is anyone's). */
        for (int i = 0; i < 20; i++) {
                snprintf(name, sizeof(name), "b%d", i);
                assert_int_equal(owners_learn(o, OWNER_VOLUME, name, NULL, "beta", NULL, 2 + i), 0);
                assert_int_equal(o->n[OWNER_VOLUME], i < 3 ? (size_t) i + 2 : 4);
                assert_string_equal(owner_of(o, OWNER_VOLUME, "a-cache"), "alpha");
        }
        assert_null(owners_resolve(o, OWNER_VOLUME, "b16"));
        assert_string_equal(owner_of(o, OWNER_VOLUME, "b17"), "beta");
        /* With alpha the biggest holder, alpha's oldest goes. */
        for (int i = 0; i < 3; i++) {
                snprintf(name, sizeof(name), "a%d", i);
                assert_int_equal(owners_learn(o, OWNER_VOLUME, name, NULL, "alpha", NULL, 30 + i), 0);
        }
        assert_null(owners_resolve(o, OWNER_VOLUME, "a-cache"));
        assert_string_equal(owner_of(o, OWNER_VOLUME, "b19"), "beta");
        owners_free(o);
}

static void a_line_cut_by_a_crash_does_not_swallow_the_next_one(void **state) {
        char dir[] = "/tmp/test-owners-XXXXXX";
        _cleanup_free_ char *path = NULL;
        struct owners *o, *back;

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/owners", dir);
        assert_int_equal(owners_new(path, &o), 0);
        assert_int_equal(owners_learn(o, OWNER_VOLUME, "a-cache", NULL, "alpha", NULL, 1), 0);
        assert_int_equal(owners_save(o), 0);
        owners_free(o);
        crash_while_appending(path, "v\tb-cache\t\tbe");
        /* The restarted plugin learns one more; its line must not be glued to the stump. */
        assert_int_equal(owners_new(path, &o), 0);
        assert_int_equal(owners_load(o), 0);
        assert_int_equal(owners_learn(o, OWNER_VOLUME, "c-cache", NULL, "gamma", NULL, 2), 0);
        assert_int_equal(owners_save(o), 0);
        assert_int_equal(owners_new(path, &back), 0);
        assert_int_equal(owners_load(back), 0);
        assert_string_equal(owner_of(back, OWNER_VOLUME, "a-cache"), "alpha");
        assert_string_equal(owner_of(back, OWNER_VOLUME, "c-cache"), "gamma");
        assert_null(owners_resolve(back, OWNER_VOLUME, "b-cache"));
        assert_int_equal(back->n_bad, 0);
        owners_free(back);
        owners_free(o);
        unlink(path);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(references_resolve_as_the_daemon_resolves_them),
                cmocka_unit_test(a_name_spelling_an_unknown_id_resolves_to_nothing),
                cmocka_unit_test(nothing_from_outside_is_kept_raw),
                cmocka_unit_test(a_name_belongs_to_one_record),
                cmocka_unit_test(forgetting_a_container_takes_its_execs),
                cmocka_unit_test(a_complete_list_forgets_what_it_lacks_but_fresh_records),
                cmocka_unit_test(the_file_keeps_everything_and_skips_what_it_cannot_read),
                cmocka_unit_test(changes_are_appended_and_the_log_is_compacted),
                cmocka_unit_test(a_full_table_drops_the_oldest_record_of_the_biggest_holder),
                cmocka_unit_test(a_line_cut_by_a_crash_does_not_swallow_the_next_one),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
