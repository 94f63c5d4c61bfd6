/* SPDX-License-Identifier: MIT */
/* The readiness predicates' words for people stay one line each, whatever the objects'
 * strings hold (found by tests/fuzz/fuzz-kube-wait: a newline in a name, a phase, a
 * reason or an event message forged a line of install's output). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/json-util.h"
#include "base/util.h"
#include "kube/kube-wait.h"

static json_t *parse(const char *text) {
        json_t *j = json_loads(text, 0, NULL);
        assert_non_null(j);
        return j;
}

static void assert_one_line(const char *s) {
        assert_non_null(s);
        assert_null(strchr(s, '\n'));
        assert_null(strchr(s, '\r'));
}

static void claim_name_and_phase_cannot_forge_a_line(void **state) {
        _cleanup_json_ json_t *pvc = parse("{\"metadata\":{\"name\":\"data\\n[OK] all good\"},"
                                           "\"status\":{\"phase\":\"Pending\\nBound\"}}");
        _cleanup_free_ char *why = NULL;

        assert_false(kube_pvc_is_bound(pvc, &why));
        assert_one_line(why);
        assert_non_null(strstr(why, "data?[OK] all good"));
}

static void pod_words_cannot_forge_a_line(void **state) {
        _cleanup_json_ json_t *pod = parse(
                "{\"metadata\":{\"name\":\"p\\nq\"},\"spec\":{\"nodeName\":\"node2\\nnode1\"},"
                "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"dind\\n\","
                "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\",\"message\":\"line 1\\nline 2\"}}}]}}");
        _cleanup_free_ char *why = NULL, *problem = NULL;

        assert_false(kube_pod_is_running_on(pod, "node1", &why));
        assert_one_line(why);
        problem = kube_pod_problem(pod);
        assert_one_line(problem);
        assert_non_null(strstr(problem, "line 1?line 2"));
}

static void each_event_is_one_line(void **state) {
        _cleanup_json_ json_t *events = parse(
                "[{\"type\":\"Warning\",\"reason\":\"FailedMount\\nNormal Fake\",\"message\":\"a\\nb\","
                "\"lastTimestamp\":\"2026-11-29T10:00:00Z\"},"
                "{\"type\":\"Normal\",\"reason\":\"Pulled\",\"message\":\"ok\",\"lastTimestamp\":\"2026-11-29T10:00:01Z\"}]");
        _cleanup_free_ char *text = kube_events_describe(events, 5);

        assert_non_null(text);
        assert_string_equal(text, "Warning FailedMount?Normal Fake: a?b\nNormal Pulled: ok");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(claim_name_and_phase_cannot_forge_a_line),
                cmocka_unit_test(pod_words_cannot_forge_a_line),
                cmocka_unit_test(each_event_is_one_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
