/* SPDX-License-Identifier: MIT */
/* install's cluster step: render the manifests, preflight the cluster (the node and
 * any existing volume or claim of ours), server-side apply each object in order, wait
 * until the daemon is ready, and write the checker's env file last, so that a failure
 * leaves nothing half-written on the node. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "systemd/envfile.h"
#include "cmd/install-cluster-private.h"
#include "cmd/cmd.h"
#include "cmd/install.h"
#include "base/json-util.h"
#include "kube/kube.h"
#include "kube/kube-wait.h"
#include "kube/kubeconfig.h"
#include "base/log.h"
#include "kube/manifest.h"
#include "pki/pki-store.h"

#define HOSTNAME_LABEL "kubernetes.io/hostname"

/* ---- errors, in the API's words */

static const char *verb_of(const char *method) {
        return streq(method, "PATCH") ? "patch" : streq(method, "DELETE") ? "delete" :
               streq(method, "POST") ? "create" : "get";
}

int install_log_kube_error(struct kube_client *c, const struct kubeconfig *cfg, int r, const char *what) {
        const struct kube_error *e = kube_client_last_error(c);

        if (e->http_status == 0) {
                log_error("cannot %s: no reply from the API server '%s': %s", what, kube_client_server(c),
                          !isempty(e->transport) ? e->transport : strerror(-r));
                if (r == -EPROTO)
                        log_error("the TLS connection failed: the server's certificate is not trusted by %s, "
                                  "or it does not name the server (tls-server-name)",
                                  cfg->ca ? "the kubeconfig's certificate-authority" : "the system's roots "
                                  "(the kubeconfig names no certificate-authority)");
                return r;
        }

        log_error("cannot %s: %s (HTTP %ld)%s%s", what, e->reason ?: "no Status reason", e->http_status,
                  e->message ? ": " : "", e->message ?: "");
        for (size_t i = 0; i < e->n_causes; i++) {
                const struct kube_status_cause *k = &e->causes[i];
                fprintf(stderr, "  %s%s%s\n", k->field ?: "", k->field ? ": " : "", k->message ?: k->type ?: "");
        }

        switch (e->http_status) {
        case 401:
                log_error("the API server did not accept the credentials of user '%s' in kubeconfig '%s' "
                          "(an expired token or certificate, or none at all)", cfg->user ?: "(none)", cfg->path);
                break;
        case 403:
                log_error("user '%s' of kubeconfig '%s' may not %s %s%s%s: it needs RBAC rights for that "
                          "(verb '%s')", cfg->user ?: "(none)", cfg->path, verb_of(e->method),
                          e->details_kind ?: "this resource", e->details_group && *e->details_group ? "." : "",
                          e->details_group ?: "", verb_of(e->method));
                break;
        case 404:
                if (streq(e->details_kind, "namespaces"))
                        log_error("the namespace '%s' does not exist", e->details_name ?: "?");
                break;
        case 422:
                /* A Deployment made with the default RollingUpdate (as the original
                 * write-up's) keeps its defaulted rollingUpdate fields under another
                 * manager, and the API refuses them beside type Recreate. */
                for (size_t i = 0; i < e->n_causes; i++)
                        if (e->causes[i].field && strstr(e->causes[i].field, "strategy.rollingUpdate")) {
                                const char *ns = e->path ? strstr(e->path, "/namespaces/") : NULL;
                                _cleanup_free_ char *nsname = ns ? strndup(ns + 12, strcspn(ns + 12, "/")) : NULL;
                                log_error("the existing Deployment still carries rollingUpdate settings from an "
                                          "earlier RollingUpdate apply; switch it to Recreate once, then re-run: "
                                          "kubectl -n %s patch deployment %s --type=json -p "
                                          "'[{\"op\":\"remove\",\"path\":\"/spec/strategy/rollingUpdate\"},"
                                          "{\"op\":\"replace\",\"path\":\"/spec/strategy/type\",\"value\":\"Recreate\"}]'",
                                          nsname ?: "NAMESPACE", e->details_name ?: "docker-dind");
                                break;
                        }
                break;
        case 409:
                if (e->n_causes > 0)
                        log_error("another field manager owns the fields above; nothing more was applied. "
                                  "Re-run with --force-conflicts to take them over for " KUBE_FIELD_MANAGER);
                break;
        }
        return r;
}

static void on_retry(void *userdata, long status, int error, uint64_t wait_usec) {
        char t[32];

        if (status)
                log_warning("the API server answered HTTP %ld; retrying in %s", status,
                            format_duration(wait_usec, t, sizeof(t)));
        else
                log_warning("the connection to the API server failed (%s); retrying in %s", strerror(-error),
                            format_duration(wait_usec, t, sizeof(t)));
}

/* ---- --skip-apply */

/* S quoted for a POSIX shell when it needs it. */
static char *shell_quote(const char *s) {
        static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+,=-";
        _cleanup_free_ char *q = NULL;
        char *o;

        if (*s && strspn(s, safe) == strlen(s))
                return strdup(s);
        q = o = malloc(strlen(s) * 4 + 3);
        if (!q)
                return NULL;
        *o++ = '\'';
        for (; *s; s++) {
                if (*s == '\'') {
                        memcpy(o, "'\\''", 4);
                        o += 4;
                } else
                        *o++ = *s;
        }
        *o++ = '\'';
        *o = '\0';
        return TAKE_PTR(q);
}

static int add_flag(char **cmd, const char *flag, const char *value) {
        _cleanup_free_ char *q = value ? shell_quote(value) : NULL;
        char *next;

        if (value && !q)
                return -ENOMEM;
        next = strdup_printf("%s %s%s%s", *cmd, flag, q ? " " : "", q ?: "");
        if (!next)
                return -ENOMEM;
        free(*cmd);
        *cmd = next;
        return 0;
}

/* The `render` command line that reproduces these manifests elsewhere. */
static char *render_command(const struct install_options *o, uint64_t capacity) {
        _cleanup_free_ char *cmd = strdup("dind-cache render");
        char buf[32];
        int r = 0;

        if (!cmd)
                return NULL;
        if (o->instance)
                r = add_flag(&cmd, "--instance", o->instance);
        if (r >= 0)
                r = add_flag(&cmd, "--node", o->node);
        if (r >= 0)
                r = add_flag(&cmd, "--data-dir", o->data_dir);
        if (r >= 0 && capacity)
                r = add_flag(&cmd, "--capacity", format_quantity(capacity, buf, sizeof(buf)));
        if (r >= 0 && !streq(o->namespace_, DEFAULT_NAMESPACE))
                r = add_flag(&cmd, "--namespace", o->namespace_);
        if (r >= 0 && o->image)
                r = add_flag(&cmd, "--image", o->image);
        if (r >= 0 && o->registry_mirror)
                r = add_flag(&cmd, "--registry-mirror", o->registry_mirror);
        if (r >= 0 && o->mtu) {
                snprintf(buf, sizeof(buf), "%ld", o->mtu);
                r = add_flag(&cmd, "--mtu", buf);
        }
        for (char **ns = o->allow_namespaces; r >= 0 && ns && *ns; ns++)
                r = add_flag(&cmd, "--allow-namespace", *ns);
        if (r >= 0 && o->memory_limit)
                r = add_flag(&cmd, "--memory", format_quantity(o->memory_limit, buf, sizeof(buf)));
        if (r >= 0 && o->cpu_limit_milli)
                r = add_flag(&cmd, "--cpus", format_quantity_milli(o->cpu_limit_milli, buf, sizeof(buf)));
        if (r >= 0 && !streq(o->prune_schedule, DEFAULT_PRUNE_SCHEDULE))
                r = add_flag(&cmd, "--prune-schedule", o->prune_schedule);
        if (r >= 0 && o->plaintext)
                r = add_flag(&cmd, "--plaintext", NULL);
        if (r >= 0 && o->prune_after_usec != DEFAULT_PRUNE_AFTER_USEC)
                r = add_flag(&cmd, "--prune-after", format_duration(o->prune_after_usec, buf, sizeof(buf)));
        return r < 0 ? NULL : TAKE_PTR(cmd);
}

/* envfile_write() of SETTINGS_ENV_FILE, saying why it failed. 1 written, 0 unchanged. */
static int skip_apply(const struct install_options *o, uint64_t capacity) {
        _cleanup_free_ char *cmd = render_command(o, capacity);
        struct envfile env = { .data_dir = o->data_dir, .node = o->node, .instance = o->instance };
        int r;

        if (!cmd)
                return log_error_errno(-ENOMEM, "cannot build the render command: %m");
        if (o->dry_run)
                printf("Would update %s (DIND_CACHE_DATA_DIR=%s, DIND_CACHE_NODE=%s; DOCKER_HOST kept)\n",
                       SETTINGS_ENV_FILE, o->data_dir, o->node);
        else {
                r = cmd_envfile_write(SETTINGS_ENV_FILE, &env);
                if (r < 0)
                        return r;
        }
        printf("Skipping the cluster (--skip-apply). Apply the manifests from a machine with cluster access:\n\n"
               "  %s \\\n    | kubectl apply --server-side --field-manager=" KUBE_FIELD_MANAGER " -f -\n\n"
               "then set DOCKER_HOST=tcp://CLUSTER_IP:%d in %s (CLUSTER_IP: kubectl -n %s get service "
               "%s -o jsonpath='{.spec.clusterIP}').\n",
               cmd, o->plaintext ? MANIFEST_PLAINTEXT_PORT : MANIFEST_TLS_PORT, SETTINGS_ENV_FILE, o->namespace_,
               o->names.service);
        if (o->instance)
                printf("Once its daemon is ready, list it in ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP " under its own field "
               "manager (or run install without --skip-apply, which does):\n\n"
               "  kubectl -n %s create configmap " INSTANCE_MEMBERS_CONFIGMAP " --from-literal=%s=%s.%s.svc:%d "
               "--dry-run=client -o yaml \\\n"
               "    | kubectl apply --server-side --field-manager=" INSTANCE_FIELD_MANAGER_PREFIX "%s -f -\n\n",
               o->namespace_, o->namespace_, instance_key(o->instance), o->names.service, o->namespace_,
               o->plaintext ? MANIFEST_PLAINTEXT_PORT : MANIFEST_TLS_PORT, instance_key(o->instance));
        if (!o->plaintext)
                printf("The daemon's certificates name the Service's ClusterIP and are made on this node: run "
                       "install without --skip-apply once the cluster is reachable, so that it makes them and "
                       "applies the Secrets %s, %s and each allowed namespace's %s (until then the daemon's pod "
                       "waits for its Secret).\n", o->names.server_secret, o->names.prune_secret,
                       o->names.client_secret);
        fflush(stdout);
        return 0;
}

/* ---- preflight */

/* The value of the PV's kubernetes.io/hostname node affinity, or NULL. */
static const char *pv_node(const json_t *pv) {
        json_t *term, *expr;
        size_t i, j;

        json_array_foreach(json_get_path(pv, "spec", "nodeAffinity", "required", "nodeSelectorTerms", NULL), i, term)
                json_array_foreach(json_object_get(term, "matchExpressions"), j, expr)
                        if (streq(json_object_get_string(expr, "key"), HOSTNAME_LABEL))
                                return json_string_value(json_array_get(json_object_get(expr, "values"), 0));
        return NULL;
}

static bool same_quantity(const char *a, const char *b) {
        uint64_t x, y;
        return a && b && parse_quantity(a, &x) >= 0 && parse_quantity(b, &y) >= 0 && x == y;
}

/* Adds "WHAT is 'LIVE' (install would use 'OURS')" to *LIST when they differ. */
static int differ(char **list, const char *what, const char *live, const char *ours, bool same) {
        char *next;

        if (same)
                return 0;
        next = strdup_printf("%s\n  %s is '%s' (install would use '%s')", *list ?: "", what, live ?: "(none)",
                             ours ?: "(none)");
        if (!next)
                return -ENOMEM;
        free(*list);
        *list = next;
        return 0;
}

static int check_existing_pv(const json_t *live, const json_t *ours, const char *ns, const struct instance_names *n) {
        _cleanup_free_ char *d = NULL;
        const char *lp = json_string_value(json_get_path(live, "spec", "local", "path", NULL));
        const char *op = json_string_value(json_get_path(ours, "spec", "local", "path", NULL));
        const char *ls = json_string_value(json_get_path(live, "spec", "storageClassName", NULL));
        const char *os = json_string_value(json_get_path(ours, "spec", "storageClassName", NULL));
        const char *lc = json_string_value(json_get_path(live, "spec", "capacity", "storage", NULL));
        const char *oc = json_string_value(json_get_path(ours, "spec", "capacity", "storage", NULL));
        const char *cn = json_string_value(json_get_path(live, "spec", "claimRef", "name", NULL));
        const char *cns = json_string_value(json_get_path(live, "spec", "claimRef", "namespace", NULL));
        _cleanup_free_ char *claim = cn ? strdup_printf("%s/%s", cns ?: "", cn) : NULL;
        _cleanup_free_ char *our_claim = strdup_printf("%s/%s", ns, n->pvc);
        int r = 0;

        if (!our_claim)
                return -ENOMEM;
        r = differ(&d, "local.path", lp, op, streq(lp, op));
        if (r >= 0)
                r = differ(&d, "the node (" HOSTNAME_LABEL ")", pv_node(live), pv_node(ours),
                           streq(pv_node(live), pv_node(ours)));
        if (r >= 0)
                r = differ(&d, "storageClassName", ls, os, streq(ls, os));
        if (r >= 0)
                r = differ(&d, "capacity", lc, oc, same_quantity(lc, oc));
        if (r >= 0 && cn)
                r = differ(&d, "the claim it is bound to", claim, our_claim, streq(claim, our_claim));
        if (r < 0)
                return log_error_errno(r, "cannot compare the PersistentVolume: %m");
        if (!d)
                return 0;
        log_error("the PersistentVolume '%s' exists and points elsewhere; it is not overwritten:%s", n->pv, d);
        log_error("check what uses it, then delete it (kubectl delete pv %s; with reclaim policy "
                  "Retain the data stays on the node) or run install with the values it has", n->pv);
        return -EEXIST;
}

static int check_existing_pvc(const json_t *live, const json_t *ours, const char *ns, const struct instance_names *n) {
        _cleanup_free_ char *d = NULL;
        const char *lv = json_string_value(json_get_path(live, "spec", "volumeName", NULL));
        const char *ls = json_string_value(json_get_path(live, "spec", "storageClassName", NULL));
        const char *os = json_string_value(json_get_path(ours, "spec", "storageClassName", NULL));
        const char *lc = json_string_value(json_get_path(live, "spec", "resources", "requests", "storage", NULL));
        const char *oc = json_string_value(json_get_path(ours, "spec", "resources", "requests", "storage", NULL));
        int r;

        r = differ(&d, "volumeName", lv, n->pv, !lv || streq(lv, n->pv));
        if (r >= 0)
                r = differ(&d, "storageClassName", ls, os, streq(ls, os));
        if (r >= 0)
                r = differ(&d, "the requested storage", lc, oc, same_quantity(lc, oc));
        if (r < 0)
                return log_error_errno(r, "cannot compare the PersistentVolumeClaim: %m");
        if (!d)
                return 0;
        log_error("the PersistentVolumeClaim '%s/%s' exists and points elsewhere; it is not "
                  "overwritten:%s", ns, n->pvc, d);
        log_error("check what uses it, then delete it (kubectl -n %s delete pvc %s) or run "
                  "install with the values it has", ns, n->pvc);
        return -EEXIST;
}

/* Nothing is changed before all of this passes. */
static int preflight(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg,
                     const json_t *objects) {
        _cleanup_json_ json_t *node = NULL, *pv = NULL, *pvc = NULL;
        _cleanup_free_ char *node_path = NULL, *what = NULL;
        const json_t *our_pv = manifest_find(objects, "PersistentVolume", o->names.pv);
        const json_t *our_pvc = manifest_find(objects, "PersistentVolumeClaim", o->names.pvc);
        _cleanup_free_ char *pv_path = NULL, *pvc_path = NULL;
        const char *label;
        int r;

        node_path = strdup_printf("/api/v1/nodes/%s", o->node);
        what = strdup_printf("get the Node '%s'", o->node);
        if (!node_path || !what)
                return log_oom();
        r = kube_get(c, node_path, &node);
        if (r == -ENOENT) {
                log_error("the node '%s' does not exist in the cluster at '%s'; pass --node with the name of "
                          "this node as 'kubectl get nodes' shows it", o->node, kube_client_server(c));
                return r;
        }
        if (r < 0)
                return install_log_kube_error(c, cfg, r, what);
        label = json_string_value(json_get_path(node, "metadata", "labels", HOSTNAME_LABEL, NULL));
        if (!streq(label, o->node)) {
                _cleanup_free_ char *clean = label ? kube_sanitize(label, strlen(label), 253) : NULL;
                log_error("the node '%s' has the label " HOSTNAME_LABEL "=%s%s%s, but the PersistentVolume's "
                          "node affinity would use '%s': the pod could never be scheduled. Nothing was applied",
                          o->node, clean ? "'" : "", clean ?: "(none)", clean ? "'" : "", o->node);
                return -EINVAL;
        }
        printf("  Node %s: " HOSTNAME_LABEL "=%s\n", o->node, o->node);

        if (!our_pv || !our_pvc)
                return log_error_errno(-EINVAL, "the manifests lack the volume or the claim");
        if (manifest_rest_path(our_pv, &pv_path) < 0 || manifest_rest_path(our_pvc, &pvc_path) < 0)
                return log_oom();
        r = kube_get(c, pv_path, &pv);
        if (r < 0 && r != -ENOENT)
                return install_log_kube_error(c, cfg, r, "get the PersistentVolume");
        if (pv) {
                r = check_existing_pv(pv, our_pv, o->namespace_, &o->names);
                if (r < 0)
                        return r;
        }
        r = kube_get(c, pvc_path, &pvc);
        if (r < 0 && r != -ENOENT)
                return install_log_kube_error(c, cfg, r, "get the PersistentVolumeClaim");
        if (pvc) {
                r = check_existing_pvc(pvc, our_pvc, o->namespace_, &o->names);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- apply */

static int apply_all(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg,
                     json_t *objects) {
        unsigned flags = (o->force_conflicts ? KUBE_APPLY_FORCE : 0) | (o->dry_run ? KUBE_APPLY_DRY_RUN : 0);
        _cleanup_free_ char *cluster_ip = NULL;
        bool namespace_missing = false, tls_done = o->plaintext;
        int r;

        for (size_t i = 0; i < json_array_size(objects); i++) {
                json_t *obj = json_array_get(objects, i);
                _cleanup_free_ char *path = NULL, *desc = NULL, *what = NULL;
                _cleanup_json_erase_ json_t *live = NULL;
                struct manifest_ref ref;
                enum kube_apply_outcome outcome;

                r = manifest_ref(obj, &ref);
                if (r < 0)
                        return log_error_errno(r, "cannot name object %zu of the manifests: %m", i);
                if (!tls_done && streq(ref.type->kind, "Deployment")) {
                        /* The certificates name the Service's ClusterIP, and the
                         * Deployment mounts their Secret: they come in between. */
                        tls_done = true;
                        r = install_tls_prepare(o, objects, cluster_ip);
                        if (r < 0)
                                return r;
                        obj = json_array_get(objects, i);
                        r = manifest_ref(obj, &ref);
                        if (r < 0)
                                return log_error_errno(r, "cannot name object %zu of the manifests: %m", i);
                }
                desc = manifest_describe(obj);
                if (!desc || manifest_rest_path(obj, &path) < 0)
                        return log_oom();
                if (o->dry_run && namespace_missing && ref.type->namespaced) {
                        /* The server cannot dry-run an object in a namespace that a
                         * dry run did not create. */
                        printf("  %s created (dry run; not sent: the namespace does not exist yet)\n", desc);
                        continue;
                }
                what = strdup_printf("apply %s", desc);
                if (!what)
                        return log_oom();
                r = kube_apply(c, path, obj, flags, &outcome, &live);
                if (r < 0)
                        return install_log_kube_error(c, cfg, r, what);
                if (o->dry_run && streq(ref.type->kind, "Namespace") && outcome == KUBE_APPLY_CREATED)
                        namespace_missing = true;
                if (streq(ref.type->kind, "Service") && streq(ref.name, o->names.service) &&
                    kube_service_cluster_ip(live)) {
                        free(cluster_ip);
                        cluster_ip = strdup(kube_service_cluster_ip(live));
                        if (!cluster_ip)
                                return log_oom();
                }
                /* A dry run sends the Secrets without their data (install-tls.c): the
                 * outcome says nothing of the certificates, the lines above do. */
                printf("  %s %s%s\n", desc, kube_apply_outcome_to_string(outcome),
                       !o->dry_run                        ? ""
                       : streq(ref.type->kind, "Secret") ? " (dry run, sent without its data)"
                                                          : " (dry run)");
                fflush(stdout);
        }
        return 0;
}

/* ---- the step */

static int connect(const struct install_options *o, struct kubeconfig **ret_cfg, struct kube_client **ret_client) {
        _cleanup_(kubeconfig_freep) struct kubeconfig *cfg = NULL;
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_free_ char *path = NULL, *message = NULL;
        int r;

        r = kubeconfig_find(o->kubeconfig, &path, &message);
        if (r < 0)
                return message ? (log_error("%s", message), r) : log_error_errno(r, "cannot find a kubeconfig: %m");
        r = kubeconfig_load(path, o->context, &cfg, &message);
        if (r < 0)
                return message ? (log_error("%s", message), r) :
                                 log_error_errno(r, "cannot read kubeconfig '%s': %m", path);
        if (cfg->insecure)
                log_warning("!!! kubeconfig '%s', cluster '%s': insecure-skip-tls-verify is set: the API server's "
                            "certificate is NOT verified, and anyone on the path to '%s' can read and change "
                            "what install sends, credentials included !!!", cfg->path, cfg->cluster, cfg->server);
        r = kube_client_new(cfg, &c, &message);
        if (r < 0)
                return message ? (log_error("kubeconfig '%s': %s", cfg->path, message), r) :
                                 log_error_errno(r, "cannot set up the API client: %m");
        kube_client_set_retry_callback(c, on_retry, NULL);
        printf("Cluster: %s (context '%s' of %s)\n", cfg->server, cfg->context, cfg->path);
        *ret_cfg = TAKE_PTR(cfg);
        *ret_client = TAKE_PTR(c);
        return 0;
}

/* SETTINGS_ENV_FILE with the daemon at CLUSTER_IP, for the checker, the pruner and a shell;
 * RET_WAS_PLAINTEXT when it pointed at port 2375 before and now does not. */
static int write_env_file(const struct install_options *o, const char *cluster_ip, bool *ret_was_plaintext) {
        _cleanup_(envfile_done) struct envfile before = {};
        _cleanup_free_ char *docker_host = install_docker_host(cluster_ip, o->plaintext);
        int r;

        if (!docker_host)
                return log_oom();
        /* A plaintext install before this one: the jobs must change (cmd-install.c). */
        if (envfile_read(SETTINGS_ENV_FILE, &before) >= 0 && before.docker_host && !o->plaintext &&
            strlen(before.docker_host) > 5 && streq(before.docker_host + strlen(before.docker_host) - 5, ":2375"))
                *ret_was_plaintext = true;
        struct envfile env = {
                .docker_host = docker_host, .data_dir = o->data_dir, .node = o->node, .instance = o->instance,
                .tls_verify = o->plaintext ? "" : "1",
                .cert_path = o->plaintext ? "" : PKI_DEFAULT_DIR "/checker",
                .prune_cert_path = o->plaintext ? "" : PKI_DEFAULT_DIR "/pruner",
                .authz_socket = o->plaintext ? "" : SETTINGS_DEFAULT_AUTHZ_SOCKET,
        };
        r = cmd_envfile_write(SETTINGS_ENV_FILE, &env);
        if (r < 0)
                return r;
        printf("%s %s (DOCKER_HOST=%s)\n", r > 0 ? "Wrote" : "Unchanged:", SETTINGS_ENV_FILE, docker_host);
        fflush(stdout);
        return 0;
}

int install_cluster(const struct install_options *o, const struct install_disk_result *disk,
                    struct install_cluster_result *ret) {
        _cleanup_(kubeconfig_freep) struct kubeconfig *cfg = NULL;
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_json_erase_ json_t *objects = NULL;   /* the Secrets carry keys */
        _cleanup_free_ char *cluster_ip = NULL, *dns = NULL;
        struct manifest_params p;
        uint64_t capacity = disk && disk->capacity ? disk->capacity : o->capacity;
        int r;

        install_manifest_params(o, capacity, &p);
        r = install_render_manifests(&p, &objects);
        if (r < 0)
                return r;
        dns = strdup_printf("%s.%s.svc", o->names.service, o->namespace_);
        if (!dns)
                return log_oom();

        if (o->skip_apply) {
                r = skip_apply(o, capacity);
                if (r < 0)
                        return r;
                ret->service_dns = TAKE_PTR(dns);
                return 0;
        }

        r = connect(o, &cfg, &c);
        if (r < 0)
                return r;
        r = preflight(o, c, cfg, objects);
        if (r < 0)
                return r;
        r = install_namespace_preflight(o, c, cfg, objects);
        if (r < 0)
                return r;
        r = install_members_preflight(o, c, cfg);
        if (r < 0)
                return r;
        printf("%s the manifests (server-side apply, field manager " KUBE_FIELD_MANAGER "):\n",
               o->dry_run ? "Dry run: applying" : "Applying");
        r = apply_all(o, c, cfg, objects);
        if (r < 0)
                return r;
        if (!o->plaintext && (r = install_tenants_settle(o, c, cfg)) < 0)
                return r;

        if (o->dry_run) {
                printf("Would wait until the claim is Bound, the Deployment rolled out on '%s' and the Service has "
                       "a ready endpoint; then write %s\n", o->node, SETTINGS_ENV_FILE);
                r = install_members_register(o, c, cfg, &ret->members);
                if (r < 0)
                        return r;
                ret->service_dns = TAKE_PTR(dns);
                return 0;
        }

        r = install_cluster_wait(o, c, cfg, objects, &cluster_ip);
        if (r < 0)
                return r;

        r = write_env_file(o, cluster_ip, &ret->was_plaintext);
        if (r < 0)
                return r;

        /* Last: a member is listed once its daemon is ready. */
        r = install_members_register(o, c, cfg, &ret->members);
        if (r < 0)
                return r;

        ret->cluster_ip = TAKE_PTR(cluster_ip);
        ret->service_dns = TAKE_PTR(dns);
        return 0;
}
