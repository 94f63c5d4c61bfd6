/* SPDX-License-Identifier: MIT */
/* The readiness predicates install waits on, judged on objects as the API server
 * returns them, and on hostile ones: extreme replica counts (no signed overflow under
 * UBSan) and strings with control characters (never in a message, each message one
 * line). */
#include <errno.h>
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

static json_t *load(const char *text) {
        json_error_t err;
        json_t *j = json_loads(text, 0, &err);
        if (!j)
                fail_msg("bad test JSON: %s", err.text);
        return j;
}

/* The predicate's verdict on TEXT; *ret_why gets its reason when false. */
static bool judge(bool (*pred)(const json_t *, char **), const char *text, char **ret_why) {
        _cleanup_json_ json_t *j = load(text);
        return pred(j, ret_why);
}

static bool pod_on_node1(const json_t *pod, char **ret_why) {
        return kube_pod_is_running_on(pod, "node1", ret_why);
}

static void claim_bound_and_pending(void **state) {
        _cleanup_free_ char *why = NULL;

        assert_true(judge(kube_pvc_is_bound, "{\"metadata\":{\"name\":\"c\"},\"status\":{\"phase\":\"Bound\"}}", NULL));
        assert_false(judge(kube_pvc_is_bound, "{\"metadata\":{\"name\":\"c\"},\"status\":{\"phase\":\"Pending\"}}", &why));
        assert_string_equal(why, "claim 'c' is Pending");
        free(why);
        why = NULL;
        assert_false(judge(kube_pvc_is_bound, "{\"metadata\":{\"name\":\"c\"}}", &why));
        assert_string_equal(why, "claim 'c' is not bound yet");
}

#define DEPLOYMENT(gen, observed, spec, status) \
        "{\"metadata\":{\"name\":\"docker-dind\",\"generation\":" gen "},\"spec\":{" spec "}," \
        "\"status\":{\"observedGeneration\":" observed status "}}"

static void rollout_complete_when_every_replica_is_updated_and_available(void **state) {
        assert_true(judge(kube_deployment_is_complete,
                          DEPLOYMENT("2", "2", "\"replicas\":1",
                                     ",\"replicas\":1,\"updatedReplicas\":1,\"availableReplicas\":1"), NULL));
        /* spec.replicas defaults to 1. */
        assert_true(judge(kube_deployment_is_complete,
                          DEPLOYMENT("1", "1", "", ",\"replicas\":1,\"updatedReplicas\":1,\"availableReplicas\":1"),
                          NULL));
}

static void rollout_incomplete_says_what_is_awaited(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

        assert_false(judge(kube_deployment_is_complete,
                           DEPLOYMENT("3", "2", "\"replicas\":1",
                                      ",\"replicas\":1,\"updatedReplicas\":1,\"availableReplicas\":1"), &a));
        assert_string_equal(a, "deployment 'docker-dind': the controller has not seen generation 3 yet");
        assert_false(judge(kube_deployment_is_complete,
                           DEPLOYMENT("1", "1", "\"replicas\":1", ",\"replicas\":1,\"updatedReplicas\":0"), &b));
        assert_string_equal(b, "deployment 'docker-dind': 0 of 1 replicas updated");
        assert_false(judge(kube_deployment_is_complete,
                           DEPLOYMENT("1", "1", "\"replicas\":1",
                                      ",\"replicas\":2,\"updatedReplicas\":1,\"availableReplicas\":1"), &c));
        assert_string_equal(c, "deployment 'docker-dind': 1 old replicas are pending termination");
        assert_false(judge(kube_deployment_is_complete,
                           DEPLOYMENT("1", "1", "\"replicas\":1",
                                      ",\"replicas\":1,\"updatedReplicas\":1,\"availableReplicas\":0"), &d));
        assert_string_equal(d, "deployment 'docker-dind': 0 of 1 updated replicas available");
        assert_false(judge(kube_deployment_is_complete,
                           DEPLOYMENT("1", "1", "\"replicas\":1",
                                      ",\"conditions\":[{\"type\":\"Progressing\",\"status\":\"False\","
                                      "\"reason\":\"ProgressDeadlineExceeded\"}]"), &e));
        assert_string_equal(e, "deployment 'docker-dind' exceeded its progress deadline");
}

static void extreme_replica_counts_never_overflow(void **state) {
        static const char *const cases[] = {
                DEPLOYMENT("1", "1", "\"replicas\":1",
                           ",\"replicas\":9223372036854775807,\"updatedReplicas\":-9223372036854775807,"
                           "\"availableReplicas\":1"),
                DEPLOYMENT("1", "1", "\"replicas\":-9223372036854775807",
                           ",\"replicas\":9223372036854775807,\"updatedReplicas\":-1,\"availableReplicas\":-1"),
                DEPLOYMENT("1", "1", "\"replicas\":1",
                           ",\"replicas\":2147483648,\"updatedReplicas\":1,\"availableReplicas\":1"),
                DEPLOYMENT("1", "1", "\"replicas\":\"1\"",
                           ",\"replicas\":1,\"updatedReplicas\":1,\"availableReplicas\":1"),
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *why = NULL;
                assert_false(judge(kube_deployment_is_complete, cases[i], &why));
                assert_non_null(strstr(why, "not a count"));
        }
        /* The largest count an int32 holds is a count. */
        _cleanup_free_ char *why = NULL;
        assert_false(judge(kube_deployment_is_complete,
                           DEPLOYMENT("1", "1", "\"replicas\":1",
                                      ",\"replicas\":2147483647,\"updatedReplicas\":0,\"availableReplicas\":0"),
                           &why));
        assert_string_equal(why, "deployment 'docker-dind': 0 of 1 replicas updated");
}

static void deployment_name_is_cleaned_in_messages(void **state) {
        _cleanup_free_ char *why = NULL;

        assert_false(judge(kube_deployment_is_complete,
                           "{\"metadata\":{\"name\":\"x\\u001b]0;pwned\\u0007\\ny\",\"generation\":2},"
                           "\"status\":{\"observedGeneration\":1}}", &why));
        assert_null(strchr(why, '\033'));
        assert_null(strchr(why, '\a'));
        assert_null(strchr(why, '\n'));
        assert_non_null(strstr(why, "'x?]0;pwned??y'"));
}

#define POD(phase, conditions) \
        "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"node1\"},\"status\":{\"phase\":\"" phase "\"" \
        conditions "}}"

static void running_pod_without_ready_condition_is_not_ready(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        assert_true(judge(pod_on_node1, POD("Running", ",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]"),
                          NULL));
        assert_false(judge(pod_on_node1, POD("Running", ""), &a));
        assert_string_equal(a, "pod 'p' on 'node1' is running but not ready");
        assert_false(judge(pod_on_node1, POD("Running", ",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]"),
                           &b));
        assert_string_equal(b, "pod 'p' on 'node1' is running but not ready");
        assert_false(judge(pod_on_node1, POD("Pending", ",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]"),
                           &c));
        assert_string_equal(c, "pod 'p' on 'node1' is Pending");
        assert_false(judge(pod_on_node1,
                           "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"node2\"},"
                           "\"status\":{\"phase\":\"Running\"}}", &d));
        assert_string_equal(d, "pod 'p' runs on node 'node2', not on 'node1'");
}

static void ready_endpoint_is_ready(void **state) {
        _cleanup_free_ char *why = NULL;
        _cleanup_json_ json_t *ready = load("[{\"endpoints\":[{\"conditions\":{\"ready\":false}},{\"conditions\":{}}]}]");
        _cleanup_json_ json_t *not_ready = load("[{\"endpoints\":[{\"conditions\":{\"ready\":false}}]}]");

        assert_true(kube_endpointslices_ready(ready, NULL));
        assert_false(kube_endpointslices_ready(not_ready, &why));
        assert_string_equal(why, "the service's 1 endpoint is not ready");
}

/* The words for people stay one line each, whatever the objects' strings hold (found by
 * tests/fuzz/fuzz-kube-wait: a newline in a name, a phase, a reason or an event message
 * forged a line of install's output). */
static void assert_one_line(const char *s) {
        assert_non_null(s);
        assert_null(strchr(s, '\n'));
        assert_null(strchr(s, '\r'));
}

static void claim_name_and_phase_cannot_forge_a_line(void **state) {
        _cleanup_json_ json_t *pvc = load("{\"metadata\":{\"name\":\"data\\n[OK] all good\"},"
                                           "\"status\":{\"phase\":\"Pending\\nBound\"}}");
        _cleanup_free_ char *why = NULL;

        assert_false(kube_pvc_is_bound(pvc, &why));
        assert_one_line(why);
        assert_non_null(strstr(why, "data?[OK] all good"));
}

static void pod_words_cannot_forge_a_line(void **state) {
        _cleanup_json_ json_t *pod = load(
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
        _cleanup_json_ json_t *events = load(
                "[{\"type\":\"Warning\",\"reason\":\"FailedMount\\nNormal Fake\",\"message\":\"a\\nb\","
                "\"lastTimestamp\":\"2026-11-29T10:00:00Z\"},"
                "{\"type\":\"Normal\",\"reason\":\"Pulled\",\"message\":\"ok\",\"lastTimestamp\":\"2026-11-29T10:00:01Z\"}]");
        _cleanup_free_ char *text = kube_events_describe(events, 5);

        assert_non_null(text);
        assert_string_equal(text, "Warning FailedMount?Normal Fake: a?b\nNormal Pulled: ok");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(claim_bound_and_pending),
                cmocka_unit_test(rollout_complete_when_every_replica_is_updated_and_available),
                cmocka_unit_test(rollout_incomplete_says_what_is_awaited),
                cmocka_unit_test(extreme_replica_counts_never_overflow),
                cmocka_unit_test(deployment_name_is_cleaned_in_messages),
                cmocka_unit_test(running_pod_without_ready_condition_is_not_ready),
                cmocka_unit_test(ready_endpoint_is_ready),
                cmocka_unit_test(claim_name_and_phase_cannot_forge_a_line),
                cmocka_unit_test(pod_words_cannot_forge_a_line),
                cmocka_unit_test(each_event_is_one_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
