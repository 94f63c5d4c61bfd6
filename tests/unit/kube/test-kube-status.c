/* SPDX-License-Identifier: MIT */
/* The API server's Status objects as data: real replies (403, 409 with conflicts, 422
 * with causes), bodies that are not Status, and hostile input that must neither crash
 * nor reach a terminal with control characters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kube/kube.h"
#include "base/util.h"

static void parse(const char *body, long status, struct kube_error *e) {
        assert_int_equal(kube_status_parse(body, body ? strlen(body) : 0, status, e), 0);
        assert_int_equal(e->http_status, status);
}

static void forbidden_is_read(void **state) {
        struct kube_error e = {};
        parse("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
              "\"message\":\"deployments.apps \\\"docker-dind\\\" is forbidden: User \\\"ci\\\" cannot patch "
              "resource \\\"deployments\\\" in API group \\\"apps\\\" in the namespace \\\"kube-ops\\\"\","
              "\"reason\":\"Forbidden\",\"details\":{\"name\":\"docker-dind\",\"group\":\"apps\","
              "\"kind\":\"deployments\"},\"code\":403}", 403, &e);
        assert_string_equal(e.reason, "Forbidden");
        assert_non_null(strstr(e.message, "cannot patch resource \"deployments\""));
        assert_string_equal(e.details_name, "docker-dind");
        assert_string_equal(e.details_group, "apps");
        assert_string_equal(e.details_kind, "deployments");
        assert_int_equal(e.n_causes, 0);
        kube_error_done(&e);
        assert_null(e.reason);
}

static void conflict_causes_name_fields_and_managers(void **state) {
        struct kube_error e = {};
        parse("{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Conflict\",\"code\":409,"
              "\"message\":\"Apply failed with 2 conflicts: conflicts with \\\"kubectl\\\":\\n- .spec.replicas\\n"
              "- .spec.template.spec.containers[name=\\\"dind\\\"].image\","
              "\"details\":{\"causes\":["
              "{\"reason\":\"FieldManagerConflict\",\"message\":\"conflict with \\\"kubectl\\\"\","
              "\"field\":\".spec.replicas\"},"
              "{\"reason\":\"FieldManagerConflict\",\"message\":\"conflict with \\\"kubectl\\\"\","
              "\"field\":\".spec.template.spec.containers[name=\\\"dind\\\"].image\"}]}}", 409, &e);
        assert_string_equal(e.reason, "Conflict");
        assert_non_null(strchr(e.message, '\n')); /* newlines are kept */
        assert_int_equal(e.n_causes, 2);
        assert_string_equal(e.causes[0].type, "FieldManagerConflict");
        assert_string_equal(e.causes[0].field, ".spec.replicas");
        assert_string_equal(e.causes[1].message, "conflict with \"kubectl\"");
        kube_error_done(&e);
}

static void invalid_causes_are_read(void **state) {
        struct kube_error e = {};
        parse("{\"kind\":\"Status\",\"reason\":\"Invalid\",\"code\":422,\"message\":\"bad\","
              "\"details\":{\"causes\":[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: -1\","
              "\"field\":\"spec.replicas\"}, 7, {}, {\"field\": 3}]}}", 422, &e);
        assert_int_equal(e.n_causes, 3); /* the non-object is skipped, empty ones kept */
        assert_string_equal(e.causes[0].field, "spec.replicas");
        assert_null(e.causes[1].field);
        assert_null(e.causes[2].field);
        kube_error_done(&e);
}

static void other_bodies_keep_an_excerpt(void **state) {
        struct kube_error e = {};
        char big[1000];

        parse("404 page not found\n", 404, &e);
        assert_null(e.reason);
        assert_string_equal(e.message, "404 page not found");
        kube_error_done(&e);

        parse("{\"kind\":\"Deployment\"}", 500, &e);
        assert_null(e.reason);
        kube_error_done(&e);

        parse(NULL, 502, &e);
        assert_null(e.message);
        kube_error_done(&e);

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        parse(big, 503, &e);
        assert_true(strlen(e.message) <= 200);
        kube_error_done(&e);
}

static void control_characters_never_survive(void **state) {
        struct kube_error e = {};
        parse("{\"kind\":\"Status\",\"reason\":\"\\u001b[2J\",\"message\":\"a\\u001b]0;pwned\\u0007b\\u0085c\\rd\","
              "\"details\":{\"causes\":[{\"field\":\"\\u009b31m\"}]}}", 400, &e);
        assert_string_equal(e.reason, "?[2J");
        assert_string_equal(e.message, "a?]0;pwned?b?c?d");
        assert_string_equal(e.causes[0].field, "?31m");
        kube_error_done(&e);
}

static void causes_are_capped(void **state) {
        _cleanup_free_ char *body = NULL;
        struct kube_error e = {};
        size_t n = 1000;
        char *p;

        body = malloc(n * 20 + 100);
        assert_non_null(body);
        p = body + sprintf(body, "{\"kind\":\"Status\",\"details\":{\"causes\":[");
        for (size_t i = 0; i < n; i++)
                p += sprintf(p, "%s{\"field\":\"f%zu\"}", i ? "," : "", i);
        strcpy(p, "]}}");
        parse(body, 422, &e);
        assert_int_equal(e.n_causes, KUBE_STATUS_MAX_CAUSES);
        kube_error_done(&e);
}

static void hostile_json_never_crashes(void **state) {
        static const char *const cases[] = {
                "", "{", "[", "null", "\"Status\"", "{\"kind\":\"Status\"", "{\"kind\":\"Status\",\"kind\":\"Status\"}",
                "{\"kind\":\"Status\",\"reason\":7,\"message\":[],\"details\":\"x\"}",
                "{\"kind\":\"Status\",\"details\":{\"causes\":{\"a\":1}}}",
                "{\"kind\":\"Status\",\"details\":{\"causes\":[null,[],\"s\",1.5]}}",
                "{\"kind\":\"Status\",\"message\":\"\\ud800\"}",
                "{\"kind\":\"Status\",\"message\":\"a\\u0000b\"}",
                "\xff\xfe\x00garbage",
                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct kube_error e = {};
                assert_int_equal(kube_status_parse(cases[i], strlen(cases[i]), 500, &e), 0);
                kube_error_done(&e);
        }
        /* every prefix of a real reply */
        const char *real = "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"details\":{\"causes\":"
                           "[{\"reason\":\"FieldValueInvalid\",\"field\":\"spec\"}]}}";
        for (size_t n = 0; n <= strlen(real); n++) {
                struct kube_error e = {};
                assert_int_equal(kube_status_parse(real, n, 422, &e), 0);
                kube_error_done(&e);
        }
}

static void statuses_map_to_errno(void **state) {
        assert_int_equal(kube_status_to_errno(200), 0);
        assert_int_equal(kube_status_to_errno(201), 0);
        assert_int_equal(kube_status_to_errno(401), -EACCES);
        assert_int_equal(kube_status_to_errno(403), -EPERM);
        assert_int_equal(kube_status_to_errno(404), -ENOENT);
        assert_int_equal(kube_status_to_errno(409), -EBUSY);
        assert_int_equal(kube_status_to_errno(422), -EINVAL);
        assert_int_equal(kube_status_to_errno(400), -EINVAL);
        assert_int_equal(kube_status_to_errno(429), -EAGAIN);
        assert_int_equal(kube_status_to_errno(503), -EIO);
        assert_int_equal(kube_status_to_errno(302), -EIO);
}

static void sanitize_cuts_at_character_boundaries(void **state) {
        _cleanup_free_ char *a = kube_sanitize("h\xc3\xa9llo", 6, 2); /* "hé" does not fit in 2 */
        _cleanup_free_ char *b = kube_sanitize("tab\there", 8, 100);
        assert_string_equal(a, "h");
        assert_string_equal(b, "tab?here");
        assert_null(kube_sanitize(NULL, 0, 10));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(forbidden_is_read),
                cmocka_unit_test(conflict_causes_name_fields_and_managers),
                cmocka_unit_test(invalid_causes_are_read),
                cmocka_unit_test(other_bodies_keep_an_excerpt),
                cmocka_unit_test(control_characters_never_survive),
                cmocka_unit_test(causes_are_capped),
                cmocka_unit_test(hostile_json_never_crashes),
                cmocka_unit_test(statuses_map_to_errno),
                cmocka_unit_test(sanitize_cuts_at_character_boundaries),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
