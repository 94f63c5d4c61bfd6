/* SPDX-License-Identifier: MIT */
/* The build cache's records and the image list's totals, as the daemon sends them
 * (bodies shaped like dockerd 28.5.2's), capped and cleaned where they enter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "docker/docker-cache.h"

/* A literal body, NUL bytes and all. */
#define PARSE(lit) docker_build_cache_parse((lit), sizeof(lit) - 1, &bc)

static const char df[] =
        "{\"LayersSize\":0,\"Images\":null,\"Containers\":null,\"Volumes\":null,\"BuildCache\":["
        "{\"ID\":\"uuqs\",\"Type\":\"source.local\",\"Description\":\"local source for context\","
        "\"InUse\":false,\"Shared\":false,\"Size\":12,\"CreatedAt\":\"2026-12-03T17:34:37.003873806Z\","
        "\"LastUsedAt\":\"2026-12-03T17:34:37.263372454Z\",\"UsageCount\":3},"
        "{\"ID\":\"9pi5\",\" Parents\":[\"vo8v\",\"x2\"],\"Type\":\"regular\","
        "\"Description\":\"mount / from exec /bin/sh -c echo \\u001b[31mred\\nline\",\"InUse\":true,"
        "\"Shared\":true,\"Size\":4,\"LastUsedAt\":\"0001-01-01T00:00:00Z\",\"UsageCount\":2},"
        "{\"ID\":\"old1\",\"Parent\":\"p1\",\"Type\":\"regular\",\"Size\":-5,\"UsageCount\":1e300},"
        "{\"ID\":\"new1\",\"Parents\":[\"p2\"],\"Type\":\"regular\"},"
        "{\"Type\":\"regular\"}, 7]}";

static void test_records_are_read_with_every_parents_spelling(void **state) {
        struct docker_build_cache bc = {};

        assert_int_equal(docker_build_cache_parse(df, strlen(df), &bc), 0);
        assert_int_equal(bc.n, 4);                              /* no ID, not an object: skipped */
        assert_int_equal(bc.body_size, strlen(df));
        assert_string_equal(bc.items[0].type, "source.local");
        assert_int_equal(bc.items[0].usage_count, 3);
        assert_int_equal(bc.items[0].size, 12);
        assert_int_equal(bc.items[0].last_used, 1796319277);
        assert_int_equal(bc.items[1].n_parents, 2);             /* 28.5.2's " Parents" */
        assert_string_equal(bc.items[1].parents[1], "x2");
        assert_true(bc.items[1].shared && bc.items[1].in_use);
        assert_int_equal(bc.items[1].last_used, 0);             /* Go's zero time */
        /* Control characters never get through: one line, no escape sequence. */
        assert_string_equal(bc.items[1].description, "mount / from exec /bin/sh -c echo ?[31mred?line");
        assert_int_equal(bc.items[2].n_parents, 1);             /* the old "Parent" */
        assert_string_equal(bc.items[2].parents[0], "p1");
        assert_int_equal(bc.items[2].size, 0);
        assert_int_equal(bc.items[2].usage_count, 0);           /* out of range */
        assert_null(bc.items[2].description);
        assert_string_equal(bc.items[3].parents[0], "p2");      /* the documented "Parents" */
        docker_build_cache_done(&bc);
}

static void test_answers_that_are_not_the_api_are_refused(void **state) {
        struct docker_build_cache bc = {};

        assert_int_equal(PARSE("[]"), -EBADMSG);
        assert_int_equal(PARSE("{\"BuildCache\":{}}"), -EBADMSG);
        assert_int_equal(PARSE("{\"BuildCache\":["), -EBADMSG);
        assert_int_equal(PARSE("{\"BuildCache\":null}"), 0);
        assert_int_equal(bc.n, 0);
        docker_build_cache_done(&bc);
}

static void test_long_strings_and_many_parents_are_capped(void **state) {
        char body[4096], desc[1000];
        struct docker_build_cache bc = {};

        memset(desc, 'd', sizeof(desc) - 1);
        desc[sizeof(desc) - 1] = '\0';
        snprintf(body, sizeof(body), "{\"BuildCache\":[{\"ID\":\"%0100d\",\"Description\":\"%s\","
                 "\"Parents\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}]}", 7, desc);
        assert_int_equal(docker_build_cache_parse(body, strlen(body), &bc), 0);
        assert_int_equal(strlen(bc.items[0].id), 64);
        assert_int_equal(strlen(bc.items[0].description), DOCKER_CACHE_MAX_DESCRIPTION);
        assert_int_equal(bc.items[0].n_parents, DOCKER_CACHE_MAX_PARENTS);
        docker_build_cache_done(&bc);
}

static void test_escapes_are_decoded_and_what_is_kept_must_be_utf8(void **state) {
        const char *ok = "{\"Other\":{\"a\":[1,2.5e3,-0.1,true,false,null,{\"x\":\"\\\"\"}]},"
                         "\"BuildCache\":[{\"ID\":\"a\\u00e9\\ud83d\\ude00\\ud800x\\u0000\",\"Size\":5,"
                         "\"Size\":7,\"Descr\\u0069ption\":\"not read: an escaped key\","
                         "\"Description\":\"tab\\there\\/\"}]} \n";
        struct docker_build_cache bc = {};
        char deep[300] = "{\"BuildCache\":[{\"x\":";

        assert_int_equal(docker_build_cache_parse(ok, strlen(ok), &bc), 0);
        assert_int_equal(bc.n, 1);
        assert_string_equal(bc.items[0].id, "a\xc3\xa9\xf0\x9f\x98\x80?x?");  /* a lone surrogate, a NUL: '?' */
        assert_int_equal(bc.items[0].size, 7);                                   /* the last of a duplicate */
        assert_string_equal(bc.items[0].description, "tab?here/");
        docker_build_cache_done(&bc);

        /* A string kept must be UTF-8; one skipped is only scanned. */
        assert_int_equal(PARSE("{\"BuildCache\":[{\"ID\":\"\xff\"}]}"), -EBADMSG);
        assert_int_equal(PARSE("{\"X\":\"\xff\",\"BuildCache\":[]}"), 0);
        docker_build_cache_done(&bc);
        /* What JSON refuses is refused: raw control characters, bad escapes, trailing
         * text, nesting past the cap. */
        assert_int_equal(PARSE("{\"X\":\"a\nb\"}"), -EBADMSG);
        assert_int_equal(PARSE("{\"X\":\"\\q\"}"), -EBADMSG);
        assert_int_equal(PARSE("{\"X\":\"\\u12\"}"), -EBADMSG);
        assert_int_equal(PARSE("{} x"), -EBADMSG);
        assert_int_equal(PARSE("{\"X\":tru}"), -EBADMSG);
        assert_int_equal(PARSE("{\"X\":1,}"), -EBADMSG);
        for (int i = 0; i < 70; i++)
                strcat(deep, "[");
        assert_int_equal(docker_build_cache_parse(deep, strlen(deep), &bc), -EBADMSG);
        /* A NUL byte is no JSON, wherever it is. */
        assert_int_equal(PARSE("{\"X\":1\0}"), -EBADMSG);
        assert_int_equal(PARSE("{\"X\":\"\0\"}"), -EBADMSG);
}

static void test_image_totals_add_up_the_list(void **state) {
        const char *list = "[{\"Id\":\"sha256:a\",\"Size\":100},{\"Id\":\"sha256:b\",\"Size\":50},"
                           "{\"Id\":\"sha256:c\",\"Size\":-1},3]";
        uint64_t count = 0, bytes = 0;

        assert_int_equal(docker_image_totals_parse(list, strlen(list), &count, &bytes), 0);
        assert_int_equal(count, 3);
        assert_int_equal(bytes, 150);
        assert_int_equal(docker_image_totals_parse("{}", 2, &count, &bytes), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_records_are_read_with_every_parents_spelling),
                cmocka_unit_test(test_answers_that_are_not_the_api_are_refused),
                cmocka_unit_test(test_long_strings_and_many_parents_are_capped),
                cmocka_unit_test(test_escapes_are_decoded_and_what_is_kept_must_be_utf8),
                cmocka_unit_test(test_image_totals_add_up_the_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
