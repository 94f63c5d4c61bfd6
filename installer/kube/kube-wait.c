/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "base/json-util.h"
#include "kube/kube-wait.h"
#include "kube/kube.h"

#define TEXT_MAX 512

/* A sanitized, capped copy of string J ("" when not a string), on one line: these
 * texts go into one-line messages, where a newline would forge a line. */
static char *clean(const json_t *j) {
        const char *s = json_string_value(j);
        char *c = kube_sanitize(s ?: "", s ? json_string_length(j) : 0, TEXT_MAX);

        for (char *p = c; p && (p = strchr(p, '\n')); p++)
                *p = ' ';
        return c;
}

static bool why(char **ret_why, const char *fmt, ...) _printf_(2, 3);
static bool why(char **ret_why, const char *fmt, ...) {
        va_list ap;
        char *m = NULL;

        if (!ret_why)
                return false;
        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        *ret_why = m;
        return false;
}

static const char *name_of(const json_t *o) {
        return json_string_value(json_get_path(o, "metadata", "name", NULL)) ?: "?";
}

/* An integer field, or DEF when absent. */
static long long int_at(const json_t *o, const char *a, const char *b, long long def) {
        json_t *v = json_get_path(o, a, b, NULL);
        return json_is_integer(v) ? json_integer_value(v) : def;
}

bool kube_pvc_is_bound(const json_t *pvc, char **ret_why) {
        const char *phase = json_string_value(json_get_path(pvc, "status", "phase", NULL));
        _cleanup_free_ char *n = clean(json_get_path(pvc, "metadata", "name", NULL));
        _cleanup_free_ char *p = clean(json_get_path(pvc, "status", "phase", NULL));

        if (streq(phase, "Bound"))
                return true;
        return why(ret_why, "claim '%s' is %s", n ?: "?", !isempty(p) ? p : "not bound yet");
}

/* The condition of TYPE in O's status.conditions, or NULL. */
static const json_t *condition(const json_t *o, const char *type) {
        json_t *c;
        size_t i;

        json_array_foreach(json_get_path(o, "status", "conditions", NULL), i, c)
                if (streq(json_object_get_string(c, "type"), type))
                        return c;
        return NULL;
}

bool kube_deployment_is_complete(const json_t *d, char **ret_why) {
        long long generation = int_at(d, "metadata", "generation", 0);
        long long observed = int_at(d, "status", "observedGeneration", 0);
        long long want = int_at(d, "spec", "replicas", 1);
        long long replicas = int_at(d, "status", "replicas", 0);
        long long updated = int_at(d, "status", "updatedReplicas", 0);
        long long available = int_at(d, "status", "availableReplicas", 0);
        const json_t *progressing = condition(d, "Progressing");
        const char *n = name_of(d);

        if (progressing && streq(json_object_get_string(progressing, "reason"), "ProgressDeadlineExceeded"))
                return why(ret_why, "deployment '%s' exceeded its progress deadline", n);
        if (observed < generation)
                return why(ret_why, "deployment '%s': the controller has not seen generation %lld yet", n,
                           generation);
        if (updated < want)
                return why(ret_why, "deployment '%s': %lld of %lld replicas updated", n, updated, want);
        if (replicas > updated)
                return why(ret_why, "deployment '%s': %lld old replicas are pending termination", n,
                           replicas - updated);
        if (available < updated || available < want)
                return why(ret_why, "deployment '%s': %lld of %lld updated replicas available", n, available,
                           want);
        return true;
}

bool kube_pod_is_running_on(const json_t *pod, const char *node, char **ret_why) {
        const char *on = json_string_value(json_get_path(pod, "spec", "nodeName", NULL));
        const char *phase = json_string_value(json_get_path(pod, "status", "phase", NULL));
        const json_t *ready = condition(pod, "Ready");
        _cleanup_free_ char *n = clean(json_get_path(pod, "metadata", "name", NULL));
        _cleanup_free_ char *on_clean = clean(json_get_path(pod, "spec", "nodeName", NULL));
        _cleanup_free_ char *p = clean(json_get_path(pod, "status", "phase", NULL));

        if (!pod)
                return why(ret_why, "no pod of the deployment exists yet");
        if (isempty(on))
                return why(ret_why, "pod '%s' is not scheduled to a node yet", n ?: "?");
        if (!streq(on, node))
                return why(ret_why, "pod '%s' runs on node '%s', not on '%s'", n ?: "?", on_clean ?: "?", node);
        if (!streq(phase, "Running"))
                return why(ret_why, "pod '%s' on '%s' is %s", n ?: "?", node, !isempty(p) ? p : "not running");
        if (!ready || !streq(json_object_get_string(ready, "status"), "True"))
                return why(ret_why, "pod '%s' on '%s' is running but not ready", n ?: "?", node);
        return true;
}

const json_t *kube_pods_pick(const json_t *items) {
        const json_t *best = NULL, *pod;
        const char *best_time = NULL;
        size_t i;

        json_array_foreach(items, i, pod) {
                const char *t = json_string_value(json_get_path(pod, "metadata", "creationTimestamp", NULL));

                if (json_get_path(pod, "metadata", "deletionTimestamp", NULL))
                        continue;
                /* RFC 3339 in UTC sorts as text. */
                if (!best || (t && (!best_time || strcmp(t, best_time) > 0))) {
                        best = pod;
                        best_time = t;
                }
        }
        return best;
}

const char *kube_service_cluster_ip(const json_t *svc) {
        const char *ip = json_string_value(json_get_path(svc, "spec", "clusterIP", NULL));

        if (isempty(ip) || streq(ip, "None"))
                return NULL;
        /* An address, nothing else: it ends up in a file systemd reads. */
        if (strspn(ip, "0123456789abcdefABCDEF.:") != strlen(ip) || strlen(ip) > 45)
                return NULL;
        return ip;
}

bool kube_endpointslices_ready(const json_t *items, char **ret_why) {
        const json_t *slice, *ep;
        size_t i, j, endpoints = 0;

        json_array_foreach(items, i, slice)
                json_array_foreach(json_object_get(slice, "endpoints"), j, ep) {
                        json_t *r = json_get_path(ep, "conditions", "ready", NULL);
                        endpoints++;
                        if (!r || json_is_null(r) || json_is_true(r))
                                return true;
                }
        if (endpoints > 0)
                return why(ret_why, "the service's %zu endpoint%s not ready", endpoints,
                           endpoints == 1 ? " is" : "s are");
        return why(ret_why, "the service has no endpoint yet");
}

static char *reason_message(const json_t *o, const char *what) {
        _cleanup_free_ char *r = clean(json_object_get(o, "reason"));
        _cleanup_free_ char *m = clean(json_object_get(o, "message"));

        if (isempty(r) && isempty(m))
                return NULL;
        return strdup_printf("%s%s%s%s", what, r ?: "", !isempty(r) && !isempty(m) ? ": " : "", m ?: "");
}

char *kube_pod_problem(const json_t *pod) {
        const json_t *cs, *c;
        size_t i;

        json_array_foreach(json_get_path(pod, "status", "containerStatuses", NULL), i, cs) {
                _cleanup_free_ char *name = clean(json_object_get(cs, "name"));
                _cleanup_free_ char *what = strdup_printf("container '%s' %s: ", name ?: "?", "waiting");
                c = json_get_path(cs, "state", "waiting", NULL);
                if (c && what)
                        return reason_message(c, what);
                c = json_get_path(cs, "state", "terminated", NULL);
                if (!c)
                        c = json_get_path(cs, "lastState", "terminated", NULL);
                if (c) {
                        free(what);
                        what = strdup_printf("container '%s' terminated: ", name ?: "?");
                        return what ? reason_message(c, what) : NULL;
                }
        }
        json_array_foreach(json_get_path(pod, "status", "conditions", NULL), i, c)
                if (!streq(json_object_get_string(c, "status"), "True")) {
                        _cleanup_free_ char *type = clean(json_object_get(c, "type"));
                        _cleanup_free_ char *what = strdup_printf("condition %s: ", type ?: "?");
                        char *text = what ? reason_message(c, what) : NULL;
                        if (text)
                                return text;
                }
        return NULL;
}

/* The time an event last happened, as sortable text. */
static const char *event_time(const json_t *e) {
        const char *t = json_object_get_string(e, "lastTimestamp");
        if (!t)
                t = json_object_get_string(e, "eventTime");
        if (!t)
                t = json_string_value(json_get_path(e, "metadata", "creationTimestamp", NULL));
        return t ?: "";
}

static int compare_events(const void *a, const void *b) {
        return strcmp(event_time(*(const json_t *const *) a), event_time(*(const json_t *const *) b));
}

char *kube_events_describe(const json_t *items, size_t max) {
        _cleanup_free_ const json_t **sorted = NULL;
        size_t n = json_array_size(items), first;
        char *out = NULL;

        if (n == 0 || max == 0)
                return NULL;
        sorted = calloc(n, sizeof(*sorted));
        if (!sorted)
                return NULL;
        for (size_t i = 0; i < n; i++)
                sorted[i] = json_array_get(items, i);
        qsort(sorted, n, sizeof(*sorted), compare_events);
        first = n > max ? n - max : 0;
        for (size_t i = first; i < n; i++) {
                _cleanup_free_ char *type = clean(json_object_get(sorted[i], "type"));
                _cleanup_free_ char *reason = clean(json_object_get(sorted[i], "reason"));
                _cleanup_free_ char *message = clean(json_object_get(sorted[i], "message"));
                char *next;

                if (!type || !reason || !message) {
                        free(out);
                        return NULL;
                }
                next = strdup_printf("%s%s%s %s: %s", out ?: "", out ? "\n" : "", type, reason, message);
                free(out);
                out = next;
                if (!out)
                        return NULL;
        }
        return out;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

char *kube_label_selector(const json_t *match_labels) {
        _cleanup_free_ const char **keys = NULL;
        size_t n = json_object_size(match_labels), i = 0;
        const char *key;
        json_t *value;
        char *out = strdup("");

        if (!out)
                return NULL;
        keys = calloc(n + 1, sizeof(*keys));
        if (!keys) {
                free(out);
                return NULL;
        }
        json_object_foreach((json_t *) match_labels, key, value)
                if (json_is_string(value))
                        keys[i++] = key;
        qsort(keys, i, sizeof(*keys), compare_strings);
        for (size_t k = 0; k < i && out; k++) {
                char *next = strdup_printf("%s%s%s=%s", out, k ? "," : "", keys[k],
                                           json_object_get_string(match_labels, keys[k]));
                free(out);
                out = next;
        }
        return out;
}
