/* SPDX-License-Identifier: MIT */
/* dind-cache status, the cluster part: every member of ConfigMap dind-cache-members
 * (kube/members.h), with the node its daemon's pod runs on and whether it is ready,
 * when the API server is reachable with a kubeconfig; else it says why not. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/json-util.h"
#include "base/log.h"
#include "base/text.h"
#include "cmd/status.h"
#include "kube/instance.h"
#include "kube/kube.h"
#include "kube/kubeconfig.h"
#include "kube/manifest.h"
#include "kube/members.h"

#define STATUS_KUBE_TIMEOUT_USEC (5ULL * 1000000)

void status_members_done(struct status_members *s) {
        free(s->error);
        for (size_t i = 0; i < s->n; i++) {
                free(s->v[i].node);
        }
        free(s->v);
        members_done(&s->members);
        *s = (struct status_members) {};
}

/* Sets the error to PREFIX then DETAIL (cleaned: it may come from the server). */
static int fail(struct status_members *s, const char *prefix, const char *detail) {
        _cleanup_free_ char *clean = text_sanitize(detail, strlen(detail), 512);
        free(s->error);
        s->error = strdup_printf("%s%s", prefix, clean ?: "");
        return s->error ? -EIO : -ENOMEM;
}

/* The node and readiness of member KEY's daemon pod. */
static int look_at_pod(struct kube_client *c, const char *ns, const char *key, struct status_member *ret) {
        const char *instance = streq(key, INSTANCE_DEFAULT_KEY) ? NULL : key;
        _cleanup_free_ char *path = strdup_printf("/api/v1/namespaces/%s/pods", ns);
        _cleanup_free_ char *selector = NULL;
        _cleanup_json_ json_t *items = NULL;
        json_t *pod, *cond;
        size_t i, j;
        int r;

        if (instance && instance_validate(instance, NULL) < 0)
                return 0;   /* not a key an install writes: no pod to look for */
        selector = instance ? strdup_printf("app=" MANIFEST_APP_LABEL ",app.kubernetes.io/component=daemon,"
                                            INSTANCE_LABEL "=%s", instance)
                            : strdup("app=" MANIFEST_APP_LABEL ",app.kubernetes.io/component=daemon,!" INSTANCE_LABEL);
        if (!path || !selector)
                return -ENOMEM;
        r = kube_list(c, path, selector, NULL, &items);
        if (r < 0)
                return r;
        ret->pods = json_array_size(items);
        json_array_foreach(items, i, pod) {
                const char *node = json_string_value(json_get_path(pod, "spec", "nodeName", NULL));
                bool ready = false;

                json_array_foreach(json_get_path(pod, "status", "conditions", NULL), j, cond)
                        if (streq(json_object_get_string(cond, "type"), "Ready") &&
                            streq(json_object_get_string(cond, "status"), "True"))
                                ready = true;
                if (node && (!ret->node || ready)) {
                        free(ret->node);
                        ret->node = text_sanitize(node, strlen(node), 253);
                        if (!ret->node)
                                return -ENOMEM;
                }
                ret->ready = ret->ready || ready;
        }
        return 0;
}

int status_members_gather(const char *kubeconfig, const char *context, const char *ns, struct status_members *ret) {
        _cleanup_(kubeconfig_freep) struct kubeconfig *cfg = NULL;
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_free_ char *path = NULL, *message = NULL, *cm_path = NULL;
        _cleanup_json_ json_t *cm = NULL;
        int r;

        r = kubeconfig_find(kubeconfig, &path, &message);
        if (r < 0)
                return fail(ret, "cannot reach the cluster: ", message ?: "no kubeconfig found");
        r = kubeconfig_load(path, context, &cfg, &message);
        if (r < 0)
                return fail(ret, "cannot reach the cluster: ", message ?: "cannot read the kubeconfig");
        if (cfg->insecure)
                log_warning("kubeconfig '%s': insecure-skip-tls-verify is set: the API server's certificate is "
                            "NOT verified", cfg->path);
        r = kube_client_new(cfg, &c, &message);
        if (r < 0)
                return fail(ret, "cannot reach the cluster: ", message ?: "cannot set up the client");
        kube_client_set_timeout(c, STATUS_KUBE_TIMEOUT_USEC);
        cm_path = members_path(ns);
        if (!cm_path)
                return -ENOMEM;
        r = kube_get(c, cm_path, &cm);
        if (r == -ENOENT)
                return 0;   /* no member yet */
        if (r < 0) {
                const struct kube_error *e = kube_client_last_error(c);
                return fail(ret, "cannot read ConfigMap " INSTANCE_MEMBERS_CONFIGMAP ": ",
                            e->message ?: e->transport ?: strerror(-r));
        }
        r = members_parse(cm, &ret->members);
        if (r < 0)
                return r;
        if (ret->members.n > 0) {
                ret->v = calloc(ret->members.n, sizeof(*ret->v));
                if (!ret->v)
                        return -ENOMEM;
        }
        ret->n = ret->members.n;
        for (size_t i = 0; i < ret->n; i++) {
                r = look_at_pod(c, ns, ret->members.v[i].key, &ret->v[i]);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        ret->v[i].error = true;
        }
        return 0;
}
