/* SPDX-License-Identifier: MIT */
/* The pruner's decisions: the last-use state and what events move it, the order images
 * go in, and the build cache's targets. (Its settings: base/test-settings.c.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "prune/prune-plan.h"
#include "prune/prune-state.h"

#define ID(c) "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
                        c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

static struct docker_image image(const char *id, const char *tag, int64_t created, uint64_t size, char **layers) {
        struct docker_image i = { .id = strdup(id), .created = created, .size = size, .layers = layers };
        i.tags = calloc(2, sizeof(char *));
        if (tag)
                i.tags[0] = strdup(tag);
        return i;
}

static char **layers(const char *a, const char *b) {
        char **l = calloc(3, sizeof(char *));
        l[0] = strdup(a);
        if (b)
                l[1] = strdup(b);
        return l;
}

/* base <- hot, base <- cold; other stands alone. */
static struct docker_image_list sample(void) {
        struct docker_image_list l = { .items = calloc(4, sizeof(struct docker_image)), .n = 4 };
        l.items[0] = image(ID("a"), "bb:latest", 100, 3, layers("L0", NULL));
        l.items[1] = image(ID("b"), "hot:latest", 200, 30, layers("L0", "L1"));
        l.items[2] = image(ID("c"), "cold:latest", 150, 30, layers("L0", "L2"));
        l.items[3] = image(ID("d"), NULL, 120, 10, layers("L9", NULL));
        return l;
}

static void test_names_resolve_to_images(void **state) {
        struct docker_image_list l = sample();

        assert_ptr_equal(prune_resolve_image(&l, "hot"), &l.items[1]);
        assert_ptr_equal(prune_resolve_image(&l, "hot:latest"), &l.items[1]);
        assert_ptr_equal(prune_resolve_image(&l, "docker.io/library/cold"), &l.items[2]);
        assert_ptr_equal(prune_resolve_image(&l, ID("d")), &l.items[3]);
        assert_ptr_equal(prune_resolve_image(&l, "dddddddddddd"), &l.items[3]);   /* short id */
        assert_null(prune_resolve_image(&l, "hot:2"));
        assert_null(prune_resolve_image(&l, "ddd"));                               /* too short */
        assert_null(prune_resolve_image(&l, ""));
        docker_image_list_done(&l);
}

static void test_events_move_last_use_forward_only(void **state) {
        struct docker_image_list l = sample();
        struct docker_event ev[] = {
                { .type = "container", .action = "create", .image = "hot", .time = 500 },
                { .type = "container", .action = "die", .image = "cold", .time = 600 },      /* not a use */
                { .type = "image", .action = "tag", .actor_id = ID("c"), .image = "cold:latest", .time = 300 },
                { .type = "image", .action = "pull", .actor_id = "bb:latest", .time = 400 },
                { .type = "container", .action = "start", .image = "hot:latest", .time = 450 }, /* older */
                { .type = "container", .action = "create", .image = "gone:latest", .time = 700 },
        };
        struct docker_event_list events = { .items = ev, .n = sizeof(ev) / sizeof(ev[0]) };
        struct prune_state s = {};

        assert_int_equal(prune_state_apply_events(&s, &events, &l), 0);
        assert_int_equal(prune_state_get(&s, ID("b")), 500);
        assert_int_equal(prune_state_get(&s, ID("c")), 300);
        assert_int_equal(prune_state_get(&s, ID("a")), 400);
        assert_int_equal(prune_state_get(&s, ID("d")), 0);
        assert_int_equal(s.n, 3);
        prune_state_done(&s);
        docker_image_list_done(&l);
}

static void test_state_file_round_trip_and_damage(void **state) {
        struct docker_image_list l = sample();
        struct prune_state s = { .last_run = 1234 }, back = {};
        char path[] = "/tmp/test-prune-state-XXXXXX";
        char *text = NULL;
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(prune_state_touch(&s, ID("b"), 500), 0);
        assert_int_equal(prune_state_touch(&s, ID("e"), 9), 0);     /* an image that is gone */
        prune_state_forget_gone(&s, &l);
        assert_int_equal(s.n, 1);
        assert_int_equal(prune_state_save(path, &s), 0);
        assert_int_equal(prune_state_load(path, &back), 0);
        assert_int_equal(back.last_run, 1234);
        assert_int_equal(prune_state_get(&back, ID("b")), 500);
        assert_int_equal(prune_state_format(&back, &text), 0);
        assert_non_null(strstr(text, "\"version\":1"));
        free(text);
        prune_state_done(&back);

        assert_int_equal(prune_state_parse("{\"version\":2}", 13, &back), -EBADMSG);
        assert_int_equal(prune_state_parse("[]", 2, &back), -EBADMSG);
        /* Keys that are not image ids are dropped, not trusted. */
        static const char odd[] = "{\"version\":1,\"last_run\":5,\"images\":{\"../x\":1,\"" ID("a") "\":\"x\"}}";
        assert_int_equal(prune_state_parse(odd, strlen(odd), &back), 0);
        assert_int_equal(back.n, 0);
        prune_state_done(&back);

        unlink(path);
        assert_int_equal(prune_state_load(path, &back), 0);          /* missing: empty */
        assert_int_equal(back.n, 0);
        prune_state_done(&s);
        docker_image_list_done(&l);
}

static size_t index_of(const struct prune_image *p, size_t n, const char *id) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(p[i].image->id, id) == 0)
                        return i;
        fail_msg("%s not in the plan", id);
        return 0;
}

static void test_plan_orders_lru_and_protects_bases_and_containers(void **state) {
        struct docker_image_list l = sample();
        struct docker_container run[] = { { .id = "c1", .image_id = ID("d"), .state = "exited" } };
        struct docker_container_list none = {}, some = { .items = run, .n = 1 };
        struct prune_state s = {};
        struct prune_image *p = NULL;
        size_t n = 0;

        prune_state_touch(&s, ID("b"), 5000);   /* hot used lately */
        assert_int_equal(prune_plan_images(&l, &none, &s, 10000, 0, true, &p, &n), 0);
        assert_int_equal(n, 4);
        /* other (120), cold (150), then hot (5000) and its base, which inherits hot's use. */
        assert_string_equal(p[0].image->id, ID("d"));
        assert_string_equal(p[1].image->id, ID("c"));
        assert_int_equal(p[index_of(p, n, ID("a"))].last_use, 5000);
        assert_true(index_of(p, n, ID("a")) > index_of(p, n, ID("b")));   /* the child goes first */
        free(p);

        /* A stopped container holds its image; MIN_AGE keeps hot and its base. */
        assert_int_equal(prune_plan_images(&l, &some, &s, 10000, 6000ULL * 1000000, true, &p, &n), 0);
        assert_int_equal(p[index_of(p, n, ID("d"))].verdict, PRUNE_KEEP_IN_USE);
        assert_int_equal(p[index_of(p, n, ID("b"))].verdict, PRUNE_KEEP_RECENT);
        assert_int_equal(p[index_of(p, n, ID("a"))].verdict, PRUNE_KEEP_RECENT);
        assert_int_equal(p[index_of(p, n, ID("c"))].verdict, PRUNE_CANDIDATE);
        free(p);

        /* Without the grace (above CRIT) only the container's image stays. */
        assert_int_equal(prune_plan_images(&l, &some, &s, 10000, 6000ULL * 1000000, false, &p, &n), 0);
        assert_int_equal(p[index_of(p, n, ID("b"))].verdict, PRUNE_CANDIDATE);
        assert_int_equal(p[index_of(p, n, ID("d"))].verdict, PRUNE_KEEP_IN_USE);
        free(p);

        /* The base of an image a container uses is in use too. */
        run[0].image_id = ID("c");
        assert_int_equal(prune_plan_images(&l, &some, &s, 10000, 0, true, &p, &n), 0);
        assert_int_equal(p[index_of(p, n, ID("a"))].verdict, PRUNE_KEEP_IN_USE);
        free(p);
        prune_state_done(&s);
        docker_image_list_done(&l);
}

static void test_build_cache_targets(void **state) {
        struct node_settings s = { .high = 80, .low = 70, .crit = 90, .reserve = 10 };
        struct docker_build_prune p;
        struct prune_fs fs;

        /* 1000 blocks of 1 MiB, 850 used, all free space available: 85%. */
        prune_fs_from_counts(1000, 150, 150, 1 << 20, &fs);
        assert_int_equal(fs.percent, 85);
        assert_true(prune_bytes_over(&fs, 70) == 150ULL << 20);

        prune_build_params(&fs, &s, false, 400ULL << 20, &p);
        assert_false(p.all);
        assert_true(p.min_free_space == 300ULL << 20);
        assert_true(p.max_used_space == 700ULL << 20);
        assert_true(p.reserved_space == 100ULL << 20);
        assert_true(p.keep_storage == 250ULL << 20);      /* 400 - 150 needed */

        prune_build_params(&fs, &s, false, 200ULL << 20, &p);
        assert_true(p.keep_storage == 100ULL << 20);      /* never below the reserve */

        prune_build_params(&fs, &s, true, 100ULL << 20, &p);
        assert_true(p.all);
        assert_true(p.reserved_space == 0 && p.max_used_space == 0);
        assert_true(p.keep_storage == 0);                 /* all of it */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names_resolve_to_images),
                cmocka_unit_test(test_events_move_last_use_forward_only),
                cmocka_unit_test(test_state_file_round_trip_and_damage),
                cmocka_unit_test(test_plan_orders_lru_and_protects_bases_and_containers),
                cmocka_unit_test(test_build_cache_targets),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
