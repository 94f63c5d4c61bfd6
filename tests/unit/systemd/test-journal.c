/* SPDX-License-Identifier: MIT */
/* Every MESSAGE_ID the checker logs is explained in the embedded catalog, run ids are
 * what `status` filters on, and the one entry builder (the checker's and the pruner's
 * entries) makes the fields it is given, in order. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/assets.h"
#include "systemd/journal.h"
#include "base/message-ids.h"

static const char *const IDS[] = {
#define ID(name, id) id,
        DIND_MESSAGE_IDS(ID)
#undef ID
};

/* The catalog entry of ID in TEXT has a Subject and is defined by dind-cache. */
static void assert_catalog_entry(const char *text, const char *id) {
        char header[40];
        const char *e, *next, *subject, *defined_by;

        assert_int_equal(strlen(id), 32);
        snprintf(header, sizeof(header), "\n-- %s\n", id);
        e = strstr(text, header);
        if (!e)
                fail_msg("MESSAGE_ID %s has no catalog entry", id);
        else {
                next = strstr(e + 1, "\n-- ");
                subject = strstr(e, "\nSubject: ");
                defined_by = strstr(e, "\nDefined-By: dind-cache\n");
                assert_true(subject && (!next || subject < next));
                assert_true(defined_by && (!next || defined_by < next));
        }
}

static void test_every_message_id_has_a_catalog_entry(void **state) {
        const struct asset *a = asset_find("units/dind-cache.catalog");
        size_t entries = 0;

        assert_non_null(a);
        for (size_t i = 0; i < ELEMENTSOF(IDS); i++)
                assert_catalog_entry((const char *) a->data, IDS[i]);
        /* and nothing else: one entry per id, no stale ones */
        for (const char *p = (const char *) a->data; (p = strstr(p, "\n-- ")); p++)
                entries++;
        assert_int_equal(entries, ELEMENTSOF(IDS));
}

static void test_message_ids_are_distinct(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(IDS); i++)
                for (size_t j = i + 1; j < ELEMENTSOF(IDS); j++)
                        assert_string_not_equal(IDS[i], IDS[j]);
}

static void test_run_ids_are_32_hex_and_fresh(void **state) {
        char a[JOURNAL_RUN_ID_LEN + 1], b[JOURNAL_RUN_ID_LEN + 1];

        assert_int_equal(journal_new_run_id(a), 0);
        assert_int_equal(journal_new_run_id(b), 0);
        assert_int_equal(strlen(a), 32);
        for (size_t i = 0; i < 32; i++)
                assert_true(isxdigit((unsigned char) a[i]) && !isupper((unsigned char) a[i]));
        assert_string_not_equal(a, b);
}

static void test_entries_carry_the_common_fields_then_the_given_ones(void **state) {
        static const char *const want[] = {
                "MESSAGE=images: removed 2 images", "PRIORITY=6", "MESSAGE_ID=0123456789abcdef0123456789abcdef",
                "SYSLOG_IDENTIFIER=dind-cache", "DIND_PRUNE_STEP=images", "DIND_COUNT=2", "DIND_USE_AFTER=-1",
        };
        struct journal_entry e;

        journal_entry_begin(&e, "images: removed 2 images", 6, "0123456789abcdef0123456789abcdef");
        journal_entry_add(&e, "DIND_PRUNE_STEP", "images");
        journal_entry_add(&e, "DIND_PARAMS", NULL);               /* none: no field */
        journal_entry_addf(&e, "DIND_COUNT", "%d", 2);
        journal_entry_addf(&e, "DIND_USE_AFTER", "%d", -1);
        assert_false(e.oom);
        assert_int_equal(e.n, ELEMENTSOF(want));
        for (size_t i = 0; i < e.n; i++)
                assert_string_equal(e.fields[i], want[i]);
        /* Past the limit, fields are dropped, never written past the array. */
        for (size_t i = 0; i < 2 * JOURNAL_MAX_FIELDS; i++)
                journal_entry_addf(&e, "DIND_X", "%zu", i);
        assert_int_equal(e.n, JOURNAL_MAX_FIELDS);
        for (size_t i = 0; i < e.n; i++)
                free(e.fields[i]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_message_id_has_a_catalog_entry),
                cmocka_unit_test(test_message_ids_are_distinct),
                cmocka_unit_test(test_run_ids_are_32_hex_and_fresh),
                cmocka_unit_test(test_entries_carry_the_common_fields_then_the_given_ones),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
