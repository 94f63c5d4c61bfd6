/* SPDX-License-Identifier: MIT */
/* uninstall --delete-cluster-objects: delete what install applied. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/json-util.h"
#include "kube/instance.h"
#include "kube/kube.h"
#include "kube/members.h"
#include "kube/kubeconfig.h"
#include "base/log.h"
#include "kube/manifest.h"
#include "kube/pod-security.h"
#include "cmd/uninstall.h"

static const char *kube_why(struct kube_client *c) {
        const struct kube_error *e = kube_client_last_error(c);
        return e->message ? e->message : e->transport ? e->transport : "no details";
}

/* 1 when a PersistentVolume other than OURS names STORAGE_CLASS. */
static int storage_class_in_use(struct kube_client *c, const char *storage_class, const char *ours) {
        _cleanup_json_ json_t *items = NULL;
        size_t i;
        json_t *pv;
        int r;

        r = kube_list(c, "/api/v1/persistentvolumes", NULL, NULL, &items);
        if (r < 0)
                return r;
        json_array_foreach(items, i, pv) {
                const char *name = json_string_value(json_get_path(pv, "metadata", "name", NULL));
                const char *sc = json_string_value(json_get_path(pv, "spec", "storageClassName", NULL));
                if (streq(sc, storage_class) && !streq(name, ours))
                        return 1;
        }
        return 0;
}

/* The label selector of one instance's pods (the unnamed one's carry no instance label). */
static char *instance_selector(const char *instance) {
        return instance ? strdup_printf("app=" MANIFEST_APP_LABEL "," INSTANCE_LABEL "=%s", instance)
                        : strdup("app=" MANIFEST_APP_LABEL ",!" INSTANCE_LABEL);
}

/* 1 when the namespace holds a Deployment of ours other than OURS: the shared
 * NetworkPolicy then stays. */
static int other_daemons(struct kube_client *c, const char *namespace_, const char *ours) {
        _cleanup_free_ char *path = strdup_printf("/apis/apps/v1/namespaces/%s/deployments", namespace_);
        _cleanup_json_ json_t *items = NULL;
        json_t *d;
        size_t i;
        int r;

        if (!path)
                return -ENOMEM;
        r = kube_list(c, path, "app=" MANIFEST_APP_LABEL, NULL, &items);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        json_array_foreach(items, i, d)
                if (!streq(json_string_value(json_get_path(d, "metadata", "name", NULL)), ours))
                        return 1;
        return 0;
}

/* Removes this instance's key from the members ConfigMap: an apply of the ConfigMap
 * without data under the key's own field manager (kube/members.h), so only what that
 * manager alone owned goes. Nothing is sent when the key is not there. */
static int unregister(struct kube_client *c, const struct uninstall_cluster_args *a) {
        _cleanup_free_ char *path = members_path(a->namespace_);
        _cleanup_json_ json_t *live = NULL, *config = NULL;
        const char *key = instance_key(a->instance);
        char manager[128];
        int r;

        if (!path || !instance_field_manager(a->instance, manager, sizeof(manager)))
                return log_error_errno(-ENOMEM, "cannot name the members ConfigMap: %m");
        r = kube_get(c, path, &live);
        if (r == -ENOENT || (r >= 0 && !json_object_get(json_object_get(live, "data"), key))) {
                if (a->dry_run)
                        printf("Already gone: key '%s' of ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP "\n", key,
                               a->namespace_);
                else
                        log_info("Cluster: key '%s' of ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP " already gone", key,
                                 a->namespace_);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "cannot read ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP ": %s", a->namespace_,
                                       kube_why(c));
        r = members_config(a->namespace_, a->instance, NULL, &config);
        if (r < 0)
                return log_error_errno(r, "cannot remove the members key: %m");
        r = kube_apply_as(c, path, config, manager, a->dry_run ? KUBE_APPLY_DRY_RUN : 0, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot remove key '%s' from ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP
                                       " (field manager %s): %s", key, a->namespace_, manager, kube_why(c));
        if (a->dry_run)
                printf("Would remove key '%s' of ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP "\n", key, a->namespace_);
        else
                log_info("Cluster: key '%s' of ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP " removed (field manager %s)",
                         key, a->namespace_, manager);
        return 1;
}

static int wait_pods_gone(struct kube_client *c, const char *namespace_, const char *instance, uint64_t timeout_usec) {
        _cleanup_free_ char *path = strdup_printf("/api/v1/namespaces/%s/pods", namespace_);
        _cleanup_free_ char *selector = instance_selector(instance);
        uint64_t deadline = now_usec() + timeout_usec;
        bool said = false;

        if (!path || !selector)
                return log_error_errno(-ENOMEM, "cannot wait for the daemon's pods: %m");
        for (;;) {
                _cleanup_json_ json_t *items = NULL;
                int r = kube_list(c, path, selector, NULL, &items);
                if (r == -ENOENT || (r >= 0 && json_array_size(items) == 0))
                        return 0;
                if (r < 0)
                        return log_error_errno(r, "cannot list the daemon's pods in '%s': %s", namespace_, kube_why(c));
                if (now_usec() >= deadline)
                        return log_error_errno(-ETIMEDOUT, "the daemon's pods in '%s' are still there: not wiping "
                                               "data a running daemon may use", namespace_);
                if (!said)
                        log_info("Waiting for the daemon's pods in %s to be gone...", namespace_);
                said = true;
                nanosleep(&(struct timespec) { .tv_sec = 1 }, NULL);
        }
}

/* The certificates' Secrets: the server's and the prune job's in the daemon's namespace
 * and the tenants' in every namespace install put them (found by our label, cluster-wide). Returns the
 * number deleted (or that would be). */
static int delete_secrets(struct kube_client *c, const struct uninstall_cluster_args *a) {
        _cleanup_json_ json_t *items = NULL;
        struct instance_names names;
        size_t i;
        json_t *item;
        int r, deleted = 0;

        if (instance_names_init(a->instance, &names) < 0)
                return log_error_errno(-EINVAL, "invalid instance '%s'", a->instance);
        r = kube_list(c, "/api/v1/secrets", "app=" MANIFEST_APP_LABEL, NULL, &items);
        if (r == -EPERM || r == -EACCES) {
                struct manifest_params p = { .namespace_ = a->namespace_, .instance = a->instance };
                log_warning("cannot list Secrets in every namespace (%s): deleting those in '%s' only; find the "
                            "others with: kubectl get secrets -A -l app=" MANIFEST_APP_LABEL, kube_why(c),
                            a->namespace_);
                r = manifest_tls_secret_refs(&p, &items);
        }
        if (r < 0)
                return log_error_errno(r, "cannot list the certificates' Secrets: %s", kube_why(c));
        json_array_foreach(items, i, item) {
                const char *name = json_string_value(json_get_path(item, "metadata", "name", NULL));
                const char *ns = json_string_value(json_get_path(item, "metadata", "namespace", NULL));
                _cleanup_json_ json_t *ref = NULL;
                _cleanup_free_ char *rest = NULL, *what = NULL;

                if (!streq(name, names.server_secret) && !streq(name, names.client_secret) &&
                    !streq(name, names.prune_secret))
                        continue;
                ref = json_pack("{s:s, s:s, s:{s:s, s:s?}}", "apiVersion", "v1", "kind", "Secret", "metadata",
                                "name", name, "namespace", ns);
                if (!ref)
                        return log_error_errno(-ENOMEM, "cannot delete the Secrets: %m");
                if (manifest_rest_path(ref, &rest) < 0 || !(what = manifest_describe(ref)))
                        continue;   /* not a name we could have made */
                r = kube_delete(c, rest, a->dry_run);
                if (r == -ENOENT)
                        r = 0;
                if (r < 0)
                        return log_error_errno(r, "cannot delete %s: %s", what, kube_why(c));
                deleted += r > 0;
                if (a->dry_run)
                        printf("%s %s\n", r > 0 ? "Would delete" : "Already gone:", what);
                else
                        log_info("Cluster: %s %s", what, r > 0 ? "deleted" : "already gone");
        }
        return deleted;
}

/* The Namespace stays, but the pod-security label install set on it (it made the
 * namespace) goes once no daemon of another instance runs there: an apply of the bare
 * Namespace under install's field manager takes away exactly what install alone set
 * (the label, its mark, install's app label). */
static int namespace_label_goes(struct kube_client *c, const struct uninstall_cluster_args *a,
                                const struct instance_names *names) {
        _cleanup_free_ char *path = strdup_printf("/api/v1/namespaces/%s", a->namespace_);
        _cleanup_json_ json_t *live = NULL, *bare = NULL;
        int r;

        if (!path)
                return log_error_errno(-ENOMEM, "cannot name the namespace: %m");
        r = kube_get(c, path, &live);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "cannot read the namespace '%s': %s", a->namespace_, kube_why(c));
        if (pod_security_judge(live, KUBE_FIELD_MANAGER, NULL) != POD_SECURITY_OURS)
                return 0;
        r = other_daemons(c, a->namespace_, names->deployment);
        if (r < 0)
                return log_error_errno(r, "cannot list the Deployments: %s", kube_why(c));
        if (r > 0) {
                log_info("Cluster: the label " POD_SECURITY_ENFORCE_LABEL " of Namespace %s stays: other instances' "
                         "daemons need it", a->namespace_);
                return 0;
        }
        bare = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
                         a->namespace_);
        if (!bare)
                return log_error_errno(-ENOMEM, "cannot remove the label: %m");
        r = kube_apply(c, path, bare, a->dry_run ? KUBE_APPLY_DRY_RUN : 0, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot remove the label " POD_SECURITY_ENFORCE_LABEL " install set on "
                                       "Namespace %s: %s", a->namespace_, kube_why(c));
        if (a->dry_run)
                printf("Would remove the label " POD_SECURITY_ENFORCE_LABEL " install set on Namespace %s\n",
                       a->namespace_);
        else
                log_info("Cluster: Namespace %s: the label " POD_SECURITY_ENFORCE_LABEL " install set removed",
                         a->namespace_);
        return 1;
}

/* 1 when OBJ (a Namespace, the StorageClass or the NetworkPolicy) must stay because
 * more than this instance may use it (said, with WHAT), 0 when it may go, or <0. */
static int object_stays(struct kube_client *c, const struct uninstall_cluster_args *a,
                        const struct instance_names *names, const char *kind, const char *what) {
        int r;

        if (streq(kind, "Namespace")) {
                log_info("Cluster: %s stays (it may hold more than dind-cache's objects)", what);
                r = namespace_label_goes(c, a, names);
                return r < 0 ? r : 1;
        }
        if (streq(kind, "StorageClass")) {
                r = storage_class_in_use(c, MANIFEST_STORAGECLASS, names->pv);
                if (r < 0)
                        return log_error_errno(r, "cannot list the PersistentVolumes: %s", kube_why(c));
                if (r > 0)
                        log_info("Cluster: %s stays: another PersistentVolume uses it", what);
                return r > 0;
        }
        if (streq(kind, "NetworkPolicy")) {
                r = other_daemons(c, a->namespace_, names->deployment);
                if (r < 0)
                        return log_error_errno(r, "cannot list the Deployments: %s", kube_why(c));
                if (r > 0)
                        log_info("Cluster: %s stays: other instances' daemons use it", what);
                return r > 0;
        }
        return 0;
}

/* Deletes one of the objects install applies (unless it stays): 1 deleted (or would
 * be), 0 already gone or kept, <0. */
static int delete_object(struct kube_client *c, const struct uninstall_cluster_args *a,
                         const struct instance_names *names, json_t *obj) {
        _cleanup_free_ char *what = manifest_describe(obj), *rest = NULL;
        int r;

        if (!what)
                return log_error_errno(-ENOMEM, "cannot describe a cluster object: %m");
        r = object_stays(c, a, names, json_object_get_string(obj, "kind"), what);
        if (r != 0)
                return r < 0 ? r : 0;
        r = manifest_rest_path(obj, &rest);
        if (r < 0)
                return log_error_errno(r, "cannot find the path of %s: %m", what);
        r = kube_delete(c, rest, a->dry_run);
        if (r == -ENOENT) /* its namespace is gone */
                r = 0;
        if (r < 0)
                return log_error_errno(r, "cannot delete %s: %s", what, kube_why(c));
        if (a->dry_run)
                printf("%s %s\n", r > 0 ? "Would delete" : "Already gone:", what);
        else
                log_info("Cluster: %s %s", what, r > 0 ? "deleted" : "already gone");
        return r > 0;
}

int uninstall_cluster_objects(const struct uninstall_cluster_args *a) {
        _cleanup_(kubeconfig_freep) struct kubeconfig *cfg = NULL;
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_json_ json_t *objects = NULL;
        _cleanup_free_ char *path = NULL, *message = NULL;
        struct manifest_params p = { .namespace_ = a->namespace_, .data_dir = a->data_dir, .instance = a->instance };
        struct instance_names names;
        int r, deleted = 0;

        if (instance_names_init(a->instance, &names) < 0)
                return log_error_errno(-EINVAL, "invalid instance '%s'", a->instance);
        r = manifest_render(&p, &objects, &message);
        if (r < 0)
                return log_error_errno(r, "cannot render the cluster objects: %s", message ? message : strerror(-r));
        r = kubeconfig_find(a->kubeconfig, &path, &message);
        if (r < 0)
                return log_error_errno(r, "%s", message ? message : "cannot find a kubeconfig");
        r = kubeconfig_load(path, a->context, &cfg, &message);
        if (r < 0)
                return log_error_errno(r, "%s", message ? message : "cannot read the kubeconfig");
        r = kube_client_new(cfg, &c, &message);
        if (r < 0)
                return log_error_errno(r, "%s", message ? message : "cannot set up the Kubernetes client");
        log_info("Cluster: deleting what install applied, through %s (context %s)", kube_client_server(c), cfg->context);

        /* First out of the members, so that routing stops sending jobs here. */
        r = unregister(c, a);
        if (r < 0)
                return r;
        deleted += r;

        for (size_t i = json_array_size(objects); i-- > 0;) {
                r = delete_object(c, a, &names, json_array_get(objects, i));
                if (r < 0)
                        return r;
                deleted += r;
        }
        r = delete_secrets(c, a);
        if (r < 0)
                return r;
        deleted += r;
        if (!a->dry_run && a->wait_pods_gone) {
                r = wait_pods_gone(c, a->namespace_, a->instance, a->timeout_usec);
                if (r < 0)
                        return r;
        }
        return deleted;
}
