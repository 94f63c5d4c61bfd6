/* SPDX-License-Identifier: MIT */
/* install's look at the daemon's namespace before anything is applied: the daemon runs
 * privileged, so the namespace's Pod Security Admission level must admit it. install
 * labels only a namespace it creates (kube/pod-security.h); an existing one's level is
 * reported, and one that would refuse the daemon's pod stops the run. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/json-util.h"
#include "cmd/install-cluster-private.h"
#include "kube/manifest.h"
#include "kube/pod-security.h"

static int refuse(const struct install_options *o, const char *level) {
        _cleanup_free_ char *shown = kube_sanitize(level, strlen(level), 63);

        log_error("the namespace '%s' enforces the pod-security level '%s' (label " POD_SECURITY_ENFORCE_LABEL
                  "=%s), which refuses the daemon's privileged pod; nothing was applied", o->namespace_,
                  shown ?: "?", shown ?: "?");
        log_error("if this namespace may run privileged pods, label it so: kubectl label namespace %s "
                  POD_SECURITY_ENFORCE_LABEL "=" POD_SECURITY_PRIVILEGED " --overwrite; or give the daemon a "
                  "namespace of its own with --namespace NAME (install creates it, labelled)", o->namespace_);
        return -EPERM;
}

int install_namespace_preflight(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg,
                                json_t *objects) {
        _cleanup_free_ char *path = strdup_printf("/api/v1/namespaces/%s", o->namespace_);
        _cleanup_json_ json_t *live = NULL;
        json_t *ours = manifest_find(objects, "Namespace", NULL);
        const char *level = NULL;
        int r;

        if (!path)
                return log_oom();
        if (!ours)
                return log_error_errno(-EINVAL, "the manifests have no Namespace");
        r = kube_get(c, path, &live);
        if (r < 0 && r != -ENOENT)
                return install_log_kube_error(c, cfg, r, "get the daemon's Namespace");
        switch (pod_security_judge(live, KUBE_FIELD_MANAGER, &level)) {
        case POD_SECURITY_NO_NAMESPACE:
                printf("  Namespace %s: install creates it, labelled " POD_SECURITY_ENFORCE_LABEL "="
                       POD_SECURITY_PRIVILEGED " (the daemon runs privileged)\n", o->namespace_);
                break;
        case POD_SECURITY_OURS:
                printf("  Namespace %s: labelled " POD_SECURITY_ENFORCE_LABEL "=" POD_SECURITY_PRIVILEGED
                       " by install (kept; uninstall --delete-cluster-objects takes it away)\n", o->namespace_);
                break;
        case POD_SECURITY_UNLABELLED:
                pod_security_unlabel(ours);
                printf("  Namespace %s: not made by install, no " POD_SECURITY_ENFORCE_LABEL " label: the cluster's "
                       "default level applies (if that is not privileged, label it: kubectl label namespace %s "
                       POD_SECURITY_ENFORCE_LABEL "=" POD_SECURITY_PRIVILEGED ")\n", o->namespace_, o->namespace_);
                break;
        case POD_SECURITY_ADMITS:
                pod_security_unlabel(ours);
                printf("  Namespace %s: not made by install, enforces the pod-security level " POD_SECURITY_PRIVILEGED
                       ": the daemon's pod is admitted\n", o->namespace_);
                break;
        case POD_SECURITY_REFUSES:
                return refuse(o, level);
        }
        fflush(stdout);
        return 0;
}
