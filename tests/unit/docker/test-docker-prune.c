/* SPDX-License-Identifier: MIT */
/* What the pruner reads from a daemon and sends to it: lists, inspect, the event log as
 * real daemons send them, hostile strings cleaned, and /build/prune's parameters by API
 * version. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "docker/docker-prune.h"
#include "base/text.h"

static void test_api_versions_compare_by_number(void **state) {
        assert_true(docker_api_version_compare("1.41", "1.48") < 0);
        assert_true(docker_api_version_compare("1.51", "1.48") > 0);
        assert_true(docker_api_version_compare("1.9", "1.41") < 0);   /* not as text */
        assert_int_equal(docker_api_version_compare("1.48", "1.48"), 0);
        assert_true(docker_api_version_compare("junk", "1.12") < 0);
}

static void test_build_prune_sends_only_what_the_api_reads(void **state) {
        struct docker_build_prune p = { .reserved_space = 100, .max_used_space = 700, .min_free_space = 300,
                                        .keep_storage = 500 };
        char *q = NULL;

        assert_int_equal(docker_build_prune_query("1.51", &p, &q), 0);
        assert_string_equal(q, "?reserved-space=100&max-used-space=700&min-free-space=300");
        free(q);
        assert_int_equal(docker_build_prune_query("1.48", &p, &q), 0);
        assert_null(strstr(q, "keep-storage"));
        free(q);
        assert_int_equal(docker_build_prune_query("1.41", &p, &q), 0);
        assert_string_equal(q, "?keep-storage=500");
        free(q);

        /* Above CRIT: every record, no reserve; zeros are never sent. */
        p = (struct docker_build_prune) { .all = true, .min_free_space = 300 };
        assert_int_equal(docker_build_prune_query("1.51", &p, &q), 0);
        assert_string_equal(q, "?all=1&min-free-space=300");
        free(q);
        assert_int_equal(docker_build_prune_query("1.41", &p, &q), 0);
        assert_string_equal(q, "?all=1");
        free(q);
        p = (struct docker_build_prune) {};
        assert_int_equal(docker_build_prune_query("1.41", &p, &q), 0);
        assert_string_equal(q, "");
        free(q);
}

static void test_image_list(void **state) {
        static const char body[] =
                "[{\"Containers\":-1,\"Created\":1764400000,\"Id\":\"sha256:aa\",\"Labels\":null,"
                "\"ParentId\":\"\",\"RepoDigests\":null,\"RepoTags\":[\"hot:latest\",\"registry:5000/x/hot:1\"],"
                "\"SharedSize\":-1,\"Size\":28140277},"
                "{\"Created\":1764300000,\"Id\":\"sha256:bb\",\"RepoTags\":[\"<none>:<none>\"],\"Size\":5},"
                "{\"Created\":1,\"RepoTags\":[\"no-id:latest\"]},"
                "{\"Created\":2,\"Id\":\"sha256:cc\",\"RepoTags\":null}]";
        struct docker_image_list l = {};

        assert_int_equal(docker_images_parse(body, strlen(body), &l), 0);
        assert_int_equal(l.n, 3);
        assert_string_equal(l.items[0].id, "sha256:aa");
        assert_string_equal(l.items[0].tags[0], "hot:latest");
        assert_string_equal(l.items[0].tags[1], "registry:5000/x/hot:1");
        assert_null(l.items[0].tags[2]);
        assert_int_equal(l.items[0].created, 1764400000);
        assert_int_equal(l.items[0].size, 28140277);
        assert_null(l.items[1].tags[0]);      /* dangling */
        assert_null(l.items[2].tags[0]);
        docker_image_list_done(&l);

        assert_int_equal(docker_images_parse("{}", 2, &l), -EBADMSG);
        assert_int_equal(docker_images_parse("[", 1, &l), -EBADMSG);
}

static void test_inspect_gives_last_tag_time_and_layers(void **state) {
        static const char body[] =
                "{\"Id\":\"sha256:aa\",\"RootFS\":{\"Type\":\"layers\",\"Layers\":[\"sha256:l1\",\"sha256:l2\"]},"
                "\"Metadata\":{\"LastTagTime\":\"2025-11-29T10:00:00.123456789+01:00\"}}";
        static const char zero[] = "{\"Metadata\":{\"LastTagTime\":\"0001-01-01T00:00:00Z\"}}";
        struct docker_image img = { .id = (char *) "sha256:aa" };

        assert_int_equal(docker_image_inspect_parse(body, strlen(body), &img), 0);
        assert_int_equal(img.last_tag_time, 1764406800);   /* 09:00:00 UTC */
        assert_string_equal(img.layers[0], "sha256:l1");
        assert_string_equal(img.layers[1], "sha256:l2");
        assert_null(img.layers[2]);
        assert_int_equal(docker_image_inspect_parse(zero, strlen(zero), &img), 0);
        assert_int_equal(img.last_tag_time, 0);
        assert_null(img.layers[0]);
        free(img.layers);
        assert_int_equal(docker_image_inspect_parse("[]", 2, &img), -EBADMSG);
}

static void test_containers(void **state) {
        static const char body[] =
                "[{\"Id\":\"c1\",\"Image\":\"hot\",\"ImageID\":\"sha256:aa\",\"State\":\"running\",\"Created\":5},"
                "{\"Id\":\"c2\",\"ImageID\":\"sha256:bb\",\"State\":\"exited\"},{\"Image\":\"no id\"}]";
        struct docker_container_list l = {};

        assert_int_equal(docker_containers_parse(body, strlen(body), &l), 0);
        assert_int_equal(l.n, 2);
        assert_string_equal(l.items[0].image_id, "sha256:aa");
        assert_string_equal(l.items[0].state, "running");
        assert_int_equal(l.items[0].created, 5);
        assert_string_equal(l.items[1].state, "exited");
        docker_container_list_done(&l);
}

/* As dockerd 28.5.2 sends them: one object a line; the last one cut short by the cap. */
static void test_event_log(void **state) {
        static const char body[] =
                "{\"status\":\"tag\",\"id\":\"sha256:65\",\"Type\":\"image\",\"Action\":\"tag\","
                "\"Actor\":{\"ID\":\"sha256:65\",\"Attributes\":{\"name\":\"bb:latest\"}},\"scope\":\"local\","
                "\"time\":1795955730,\"timeNano\":1795955730515349819}\n"
                "{\"Type\":\"container\",\"Action\":\"create\",\"Actor\":{\"ID\":\"63c7\",\"Attributes\":"
                "{\"image\":\"bb:latest\",\"name\":\"old\"}},\"time\":1795955731}\n"
                "{\"Type\":\"network\",\"Action\":\"connect\"}\n"
                "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"63c7\",\"Attributes\":"
                "{\"image\":\"evil\\u001b[31m\"}},\"time\":1795955732}\n"
                "{\"Type\":\"container\",\"Action\":\"die\",\"ti";
        struct docker_event_list l = {};

        assert_int_equal(docker_events_parse(body, strlen(body), &l), 0);
        assert_int_equal(l.n, 3);
        assert_string_equal(l.items[0].type, "image");
        assert_string_equal(l.items[0].actor_id, "sha256:65");
        assert_string_equal(l.items[0].image, "bb:latest");
        assert_int_equal(l.items[0].time, 1795955730);
        assert_string_equal(l.items[1].action, "create");
        assert_string_equal(l.items[1].image, "bb:latest");
        assert_string_equal(l.items[2].image, "evil?[31m");   /* no terminal escapes */
        docker_event_list_done(&l);

        assert_int_equal(docker_events_parse("", 0, &l), 0);
        assert_int_equal(l.n, 0);
        docker_event_list_done(&l);
}

static void test_strings_are_cleaned_and_capped(void **state) {
        char *s = text_sanitize_line("a\nb\tc\x7f", 100);
        assert_string_equal(s, "a?b?c?");
        free(s);
        /* "é" is two bytes: a cut inside it steps back. */
        s = text_sanitize_line("ab\xc3\xa9", 3);
        assert_string_equal(s, "ab");
        free(s);
}

static void test_system_df_counts_the_cache_not_shared_with_images(void **state) {
        static const char body[] =
                "{\"BuildCache\":[{\"ID\":\"a\",\"Size\":100,\"Shared\":false},{\"ID\":\"b\",\"Size\":50,"
                "\"Shared\":true},{\"ID\":\"c\",\"Size\":7}],\"Images\":null}";
        uint64_t bytes = 0, count = 0;

        assert_int_equal(docker_system_df_build_cache_parse(body, strlen(body), &bytes, &count), 0);
        assert_int_equal(bytes, 107);
        assert_int_equal(count, 3);
        assert_int_equal(docker_system_df_build_cache_parse("{\"BuildCache\":null}", 19, &bytes, &count), 0);
        assert_int_equal(bytes, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_api_versions_compare_by_number),
                cmocka_unit_test(test_build_prune_sends_only_what_the_api_reads),
                cmocka_unit_test(test_image_list),
                cmocka_unit_test(test_inspect_gives_last_tag_time_and_layers),
                cmocka_unit_test(test_containers),
                cmocka_unit_test(test_event_log),
                cmocka_unit_test(test_strings_are_cleaned_and_capped),
                cmocka_unit_test(test_system_df_counts_the_cache_not_shared_with_images),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
