/* SPDX-License-Identifier: MIT */
/* The daemon's namespace and its pod-security level: whose label it is, and whether it
 * admits the privileged daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/json-util.h"
#include "base/util.h"
#include "kube/pod-security.h"

static json_t *ns(const char *json) {
        json_t *o = json_loads(json, 0, NULL);
        assert_non_null(o);
        return o;
}

static void a_missing_namespace_is_made_labelled(void **state) {
        const char *level = "x";
        assert_int_equal(pod_security_judge(NULL, "dind-cache", &level), POD_SECURITY_NO_NAMESPACE);
        assert_null(level);
}

static void the_mark_or_our_managers_label_make_it_ours(void **state) {
        _cleanup_json_ json_t *marked = ns("{\"metadata\": {\"name\": \"kube-ops\", \"labels\": "
                                          "{\"pod-security.kubernetes.io/enforce\": \"privileged\"}, \"annotations\": "
                                          "{\"dind-cache.io/pod-security-label\": \"set\"}}}");
        /* An install before the mark existed applied the label: its field manager owns it. */
        _cleanup_json_ json_t *earlier = ns("{\"metadata\": {\"name\": \"kube-ops\", \"labels\": "
                                           "{\"pod-security.kubernetes.io/enforce\": \"privileged\"}, \"managedFields\": "
                                           "[{\"manager\": \"kubectl\", \"fieldsV1\": {\"f:metadata\": {\"f:labels\": "
                                           "{\"f:team\": {}}}}}, {\"manager\": \"dind-cache\", \"operation\": \"Apply\", "
                                           "\"fieldsV1\": {\"f:metadata\": {\"f:labels\": "
                                           "{\"f:pod-security.kubernetes.io/enforce\": {}}}}}]}}");
        const char *level = NULL;

        assert_int_equal(pod_security_judge(marked, "dind-cache", &level), POD_SECURITY_OURS);
        assert_string_equal(level, "privileged");
        assert_int_equal(pod_security_judge(earlier, "dind-cache", NULL), POD_SECURITY_OURS);
        assert_int_equal(pod_security_judge(earlier, "dind-cache/a", NULL), POD_SECURITY_ADMITS);
}

static void anothers_namespace_is_judged_by_its_level(void **state) {
        static const struct {
                const char *labels;
                enum pod_security_verdict verdict;
        } cases[] = {
                { "{}", POD_SECURITY_UNLABELLED },
                { "{\"pod-security.kubernetes.io/warn\": \"restricted\"}", POD_SECURITY_UNLABELLED },
                { "{\"pod-security.kubernetes.io/enforce\": \"privileged\"}", POD_SECURITY_ADMITS },
                { "{\"pod-security.kubernetes.io/enforce\": \"baseline\"}", POD_SECURITY_REFUSES },
                { "{\"pod-security.kubernetes.io/enforce\": \"restricted\"}", POD_SECURITY_REFUSES },
                /* A value PodSecurity does not know is enforced as restricted. */
                { "{\"pod-security.kubernetes.io/enforce\": \"Privileged\"}", POD_SECURITY_REFUSES },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = strdup_printf("{\"metadata\": {\"name\": \"ci\", \"labels\": %s}}",
                                                          cases[i].labels);
                _cleanup_json_ json_t *o = ns(text);
                assert_int_equal(pod_security_judge(o, "dind-cache", NULL), cases[i].verdict);
        }
}

static void unlabel_takes_the_label_and_the_mark_only(void **state) {
        _cleanup_json_ json_t *o = ns("{\"metadata\": {\"name\": \"kube-ops\", \"labels\": {\"app\": \"docker-dind\", "
                                     "\"pod-security.kubernetes.io/enforce\": \"privileged\"}, \"annotations\": "
                                     "{\"dind-cache.io/pod-security-label\": \"set\"}}}");
        _cleanup_json_ json_t *want = ns("{\"metadata\": {\"name\": \"kube-ops\", \"labels\": "
                                        "{\"app\": \"docker-dind\"}}}");

        pod_security_unlabel(o);
        assert_true(json_equal(o, want));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_missing_namespace_is_made_labelled),
                cmocka_unit_test(the_mark_or_our_managers_label_make_it_ours),
                cmocka_unit_test(anothers_namespace_is_judged_by_its_level),
                cmocka_unit_test(unlabel_takes_the_label_and_the_mark_only),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
