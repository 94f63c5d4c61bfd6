/* SPDX-License-Identifier: MIT */
/* kube/kube-wait.h: the readiness predicates judge any object the API server could
 * send (any JSON) without crashing, and their words for people are capped and clean. */
#include <jansson.h>
#include <limits.h>

#include "fuzz.h"
#include "kube/kube-wait.h"

#define WHY_MAX 4096

static void check_why(bool ok, char *why, bool clean) {
        if (ok)
                FUZZ_ASSERT(!why);
        else
                FUZZ_ASSERT(why);
        if (why) {
                if (clean) {
                        FUZZ_ASSERT(strlen(why) < WHY_MAX);
                        FUZZ_ASSERT(fuzz_no_control(why, NULL));
                }
        }
        free(why);
}

/* Every integer in J lies in [INT_MIN, INT_MAX] (replica counts are int32 in the API). */
static bool small_integers(const json_t *j) {
        const char *k;
        json_t *v;
        size_t i;

        if (json_is_integer(j))
                return json_integer_value(j) >= INT_MIN && json_integer_value(j) <= INT_MAX;
        if (json_is_object(j)) {
                json_object_foreach((json_t *) j, k, v)
                        if (!small_integers(v))
                                return false;
        }
        if (json_is_array(j))
                json_array_foreach(j, i, v)
                        if (!small_integers(v))
                                return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *j = json_loadb((const char *) data, size, JSON_DECODE_ANY, NULL);
        char *why = NULL, *s;
        const json_t *pod;
        const char *ip;
        bool ok;

        if (!j)
                return 0;

        ok = kube_pvc_is_bound(j, &why);
        check_why(ok, why, true);
        why = NULL;
        /* issue 11 item 5: replica arithmetic overflows on extreme counts; only int32 here. */
        if (small_integers(j)) {
                ok = kube_deployment_is_complete(j, &why);
                /* issue 11 item 4: the Deployment's name is not cleaned yet in these words. */
                check_why(ok, why, false);
                why = NULL;
        }
        ok = kube_pod_is_running_on(j, "node1", &why);
        check_why(ok, why, true);
        why = NULL;
        ok = kube_endpointslices_ready(j, &why);
        check_why(ok, why, true);
        why = NULL;

        pod = kube_pods_pick(j);
        if (pod) {
                FUZZ_ASSERT(json_is_array(j));
                ok = kube_pod_is_running_on(pod, "node1", &why);
                check_why(ok, why, true);
                why = NULL;
        }
        ip = kube_service_cluster_ip(j);
        FUZZ_ASSERT(!ip || (*ip && strcmp(ip, "None") != 0));

        /* One line, whatever the object's strings hold (a newline there forged lines:
         * found here, see tests/unit/kube/test-kube-wait.c). */
        s = kube_pod_problem(j);
        FUZZ_ASSERT(fuzz_no_control(s, NULL));
        free(s);
        /* One line per event, at most 5. */
        s = kube_events_describe(j, 5);
        FUZZ_ASSERT(fuzz_no_control(s, "\n"));
        if (s) {
                size_t lines = 1;
                for (const char *p = s; (p = strchr(p, '\n')); p++)
                        lines++;
                FUZZ_ASSERT(lines <= 5 && lines <= json_array_size(j));
        }
        free(s);
        s = kube_label_selector(j);
        free(s);

        json_decref(j);
        return 0;
}
