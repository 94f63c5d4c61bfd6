/* SPDX-License-Identifier: MIT */
/* install's cluster step, second half: wait until the daemon is ready, with a
 * progress line, and on timeout say what is stuck and why (the pod's problem and its
 * last events). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/install-cluster-private.h"
#include "base/json-util.h"
#include "kube/kube-wait.h"
#include "kube/manifest.h"

#define POLL_USEC (1000ULL * 1000)
#define PLAIN_PROGRESS_EVERY_USEC (15ULL * 1000000)
#define REQUEST_TIMEOUT_MIN_USEC (2ULL * 1000000)
#define REQUEST_TIMEOUT_MAX_USEC (30ULL * 1000000)
#define EVENTS_SHOWN 5

struct wait_paths {
        char *pvc, *deployment, *service, *pods, *slices, *events, *slice_selector;
        const char *pvc_name, *deployment_name;
};

static void wait_paths_done(struct wait_paths *p) {
        free(p->pvc);
        free(p->deployment);
        free(p->service);
        free(p->pods);
        free(p->slices);
        free(p->events);
        free(p->slice_selector);
}

/* What one look at the cluster found. */
struct state {
        char **unmet;            /* what is awaited, in order */
        json_t *pod;             /* the deployment's pod, or NULL */
        char *cluster_ip;
};

static void state_done(struct state *s) {
        strv_free(s->unmet);
        json_decref(s->pod);
        free(s->cluster_ip);
        *s = (struct state) {};
}

static int unmet(struct state *s, char *why) {
        int r;

        if (!why)
                return -ENOMEM;
        r = strv_extend(&s->unmet, why);
        free(why);
        return r;
}

/* One look at each condition. Fails only when a request fails. */
static int look(struct kube_client *c, const struct kubeconfig *cfg, const struct install_options *o,
                const struct wait_paths *p, const char *selector, struct state *ret) {
        _cleanup_json_ json_t *pvc = NULL, *dep = NULL, *svc = NULL, *pods = NULL, *slices = NULL;
        struct state s = {};
        char *why = NULL;
        const char *ip;
        int r;

        r = kube_get(c, p->pvc, &pvc);
        if (r < 0)
                goto fail_request;
        if (!kube_pvc_is_bound(pvc, &why) && (r = unmet(&s, why)) < 0)
                goto fail;
        r = kube_get(c, p->deployment, &dep);
        if (r < 0)
                goto fail_request;
        if (!kube_deployment_is_complete(dep, &why) && (r = unmet(&s, why)) < 0)
                goto fail;
        r = kube_list(c, p->pods, selector, NULL, &pods);
        if (r < 0)
                goto fail_request;
        s.pod = json_incref((json_t *) kube_pods_pick(pods));
        if (!kube_pod_is_running_on(s.pod, o->node, &why) && (r = unmet(&s, why)) < 0)
                goto fail;
        r = kube_get(c, p->service, &svc);
        if (r < 0)
                goto fail_request;
        ip = kube_service_cluster_ip(svc);
        if (!ip && (r = unmet(&s, strdup("the service has no ClusterIP yet"))) < 0)
                goto fail;
        if (ip && !(s.cluster_ip = strdup(ip))) {
                r = -ENOMEM;
                goto fail;
        }
        r = kube_list(c, p->slices, p->slice_selector, NULL, &slices);
        if (r < 0)
                goto fail_request;
        if (!kube_endpointslices_ready(slices, &why) && (r = unmet(&s, why)) < 0)
                goto fail;
        *ret = s;
        return 0;

fail_request:
        state_done(&s);
        return install_log_kube_error(c, cfg, r, "read the state of the daemon's objects");
fail:
        state_done(&s);
        return log_error_errno(r, "cannot judge the daemon's state: %m");
}

static void sleep_usec(uint64_t usec) {
        struct timespec ts = { .tv_sec = usec / 1000000ULL, .tv_nsec = (usec % 1000000ULL) * 1000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Without a pod: the last events of the Deployment's ReplicaSets (a pod the controller
 * could not create: "FailedCreate", a Pod Security refusal); 1 when there were some. */
static int explain_replica_sets(struct kube_client *c, const struct wait_paths *p) {
        _cleanup_json_ json_t *events = NULL, *ours = json_array();
        _cleanup_free_ char *text = NULL;
        size_t n = strlen(p->deployment_name), i;
        json_t *e;

        if (!ours || kube_list(c, p->events, NULL, "involvedObject.kind=ReplicaSet", &events) < 0)
                return 0;
        json_array_foreach(events, i, e) {
                const char *name = json_string_value(json_get_path(e, "involvedObject", "name", NULL));
                if (name && strncmp(name, p->deployment_name, n) == 0 && name[n] == '-')
                        json_array_append(ours, e);
        }
        if (json_array_size(ours) == 0 || !(text = kube_events_describe(ours, EVENTS_SHOWN)))
                return 0;
        log_error("last events of the Deployment's ReplicaSets (no pod was created):\n%s", text);
        return 1;
}

/* After a timeout: what the pod says, and its (or, without a pod, its ReplicaSets' or
 * the claim's) last events. */
static void explain(struct kube_client *c, const struct wait_paths *p, const struct state *s) {
        _cleanup_json_ json_t *events = NULL;
        _cleanup_free_ char *problem = NULL, *selector = NULL, *text = NULL, *pod_name = NULL;
        const char *name = s->pod ? json_string_value(json_get_path(s->pod, "metadata", "name", NULL)) : NULL;

        if (s->pod) {
                problem = kube_pod_problem(s->pod);
                pod_name = name ? kube_sanitize(name, strlen(name), 253) : NULL;
                if (problem)
                        log_error("pod '%s': %s", pod_name ?: "?", problem);
        } else if (explain_replica_sets(c, p) > 0)
                return;
        selector = name ? strdup_printf("involvedObject.kind=Pod,involvedObject.name=%s", name)
                        : strdup_printf("involvedObject.kind=PersistentVolumeClaim,involvedObject.name=%s",
                                        p->pvc_name);
        if (!selector || kube_list(c, p->events, NULL, selector, &events) < 0)
                return;
        text = kube_events_describe(events, EVENTS_SHOWN);
        if (text)
                log_error("last events of %s '%s':\n%s", name ? "pod" : "claim", name ? pod_name ?: "?" : p->pvc_name,
                          text);
}

static int make_paths(const json_t *objects, const char *ns, const struct instance_names *n,
                      struct wait_paths *p) {
        const json_t *pvc = manifest_find(objects, "PersistentVolumeClaim", n->pvc);
        const json_t *dep = manifest_find(objects, "Deployment", n->deployment);
        const json_t *svc = manifest_find(objects, "Service", n->service);

        if (!pvc || !dep || !svc)
                return -EINVAL;
        if (manifest_rest_path(pvc, &p->pvc) < 0 || manifest_rest_path(dep, &p->deployment) < 0 ||
            manifest_rest_path(svc, &p->service) < 0)
                return -ENOMEM;
        p->pods = strdup_printf("/api/v1/namespaces/%s/pods", ns);
        p->slices = strdup_printf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ns);
        p->events = strdup_printf("/api/v1/namespaces/%s/events", ns);
        p->slice_selector = strdup_printf("kubernetes.io/service-name=%s", n->service);
        p->pvc_name = n->pvc;
        p->deployment_name = n->deployment;
        return p->pods && p->slices && p->events && p->slice_selector ? 0 : -ENOMEM;
}

int install_cluster_wait(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg,
                         const json_t *objects, char **ret_cluster_ip) {
        _cleanup_(wait_paths_done) struct wait_paths p = {};
        _cleanup_free_ char *selector = NULL, *shown = NULL;
        const json_t *dep = manifest_find(objects, "Deployment", o->names.deployment);
        uint64_t start = now_usec(), deadline = start + o->timeout_usec, last_print = 0;
        bool tty = isatty(STDOUT_FILENO);
        char t[32];
        int r;

        r = make_paths(objects, o->namespace_, &o->names, &p);
        if (r < 0)
                return log_error_errno(r, "the manifests lack the claim, the deployment or the service: %m");
        selector = kube_label_selector(json_get_path(dep, "spec", "selector", "matchLabels", NULL));
        if (!selector)
                return log_oom();

        printf("Waiting (at most %s) for the daemon to be ready on '%s'\n",
               format_duration(o->timeout_usec, t, sizeof(t)), o->node);
        fflush(stdout);
        for (;;) {
                _cleanup_(state_done) struct state s = {};
                uint64_t now = now_usec(), left = deadline > now ? deadline - now : 0;

                kube_client_set_timeout(c, left < REQUEST_TIMEOUT_MIN_USEC ? REQUEST_TIMEOUT_MIN_USEC :
                                           left > REQUEST_TIMEOUT_MAX_USEC ? REQUEST_TIMEOUT_MAX_USEC : left);
                r = look(c, cfg, o, &p, selector, &s);
                if (r < 0) {
                        if (tty)
                                putchar('\n');
                        return r;
                }
                now = now_usec();
                snprintf(t, sizeof(t), "%llus", (unsigned long long) ((now - start) / 1000000));
                if (!s.unmet && s.cluster_ip) {
                        printf("%s  ready after %s: claim Bound, rollout complete, pod on '%s', service %s with a "
                               "ready endpoint\n", tty ? "\r\033[K" : "", t, o->node, s.cluster_ip);
                        fflush(stdout);
                        *ret_cluster_ip = TAKE_PTR(s.cluster_ip);
                        return 0;
                }
                if (now >= deadline) {
                        if (tty)
                                putchar('\n');
                        fflush(stdout);
                        log_error("timed out after %s waiting for the daemon to be ready; still awaited:",
                                  format_duration(o->timeout_usec, t, sizeof(t)));
                        for (char **u = s.unmet; u && *u; u++)
                                fprintf(stderr, "  - %s\n", *u);
                        explain(c, &p, &s);
                        return -ETIMEDOUT;
                }
                if (tty) {
                        printf("\r\033[K  waiting %s: %s", t, s.unmet[0]);
                        fflush(stdout);
                } else if (!streq(shown, s.unmet[0]) || now - last_print >= PLAIN_PROGRESS_EVERY_USEC) {
                        printf("  waiting %s: %s\n", t, s.unmet[0]);
                        fflush(stdout);
                        free(shown);
                        shown = strdup(s.unmet[0]);
                        last_print = now;
                }
                sleep_usec(left < POLL_USEC ? left : POLL_USEC);
        }
}
