/* SPDX-License-Identifier: MIT */
/* kube/kube-wait.h: the readiness predicates judge any object the API server could
 * send (any JSON) without crashing, and their words for people are capped and clean. */
#include <jansson.h>

#include "fuzz.h"
#include "kube/kube-wait.h"

#define WHY_MAX 4096

/* The words for people: present exactly when not ready, capped, one clean line. */
static void check_why(bool ok, char *why) {
        if (ok)
                FUZZ_ASSERT(!why);
        else
                FUZZ_ASSERT(why);
        if (why) {
                FUZZ_ASSERT(strlen(why) < WHY_MAX);
                FUZZ_ASSERT(fuzz_no_control(why, NULL));
        }
        free(why);
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
        check_why(ok, why);
        why = NULL;
        /* Any integer, int64 extremes included: the replica arithmetic cannot overflow
         * (UBSan aborts), and the Deployment's name in these words is cleaned. */
        ok = kube_deployment_is_complete(j, &why);
        check_why(ok, why);
        why = NULL;
        ok = kube_pod_is_running_on(j, "node1", &why);
        check_why(ok, why);
        why = NULL;
        ok = kube_endpointslices_ready(j, &why);
        check_why(ok, why);
        why = NULL;

        pod = kube_pods_pick(j);
        if (pod) {
                FUZZ_ASSERT(json_is_array(j));
                ok = kube_pod_is_running_on(pod, "node1", &why);
                check_why(ok, why);
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
