/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/assets.h"
#include "base/json-util.h"
#include "base/text.h"
#include "kube/daemon-config.h"
#include "kube/instance.h"
#include "kube/manifest.h"
#include "kube/manifest-private.h"
#include "kube/validate.h"
#include "base/util.h"
#include "kube/yaml.h"

#define MANIFEST_PREFIX "manifests/"
#define MANIFEST_MAX_FILES 64
#define HOSTNAME_LABEL "kubernetes.io/hostname"
#define NAMESPACE_NAME_LABEL "kubernetes.io/metadata.name"

static const struct manifest_kind kinds[] = {
        /* What we ship. */
        { "v1", "Namespace", "namespaces", false },
        { "storage.k8s.io/v1", "StorageClass", "storageclasses", false },
        { "v1", "PersistentVolume", "persistentvolumes", false },
        { "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true },
        { "networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true },
        { "apps/v1", "Deployment", "deployments", true },
        { "v1", "Service", "services", true },
        { "batch/v1", "CronJob", "cronjobs", true },
        { "v1", "Secret", "secrets", true },
        { "v1", "ConfigMap", "configmaps", true },
        /* What install reads while it waits. */
        { "v1", "Node", "nodes", false },
        { "v1", "Pod", "pods", true },
        { "v1", "Endpoints", "endpoints", true },
        { "v1", "Event", "events", true },
        { "apps/v1", "ReplicaSet", "replicasets", true },
        { "discovery.k8s.io/v1", "EndpointSlice", "endpointslices", true },
};

int manifest_fail(char **ret_error, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        if (!ret_error)
                return -EINVAL;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s)
                *ret_error = s;
        return -EINVAL;
}

const struct manifest_kind *manifest_kind_find(const char *api_version, const char *kind) {
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (streq(kinds[i].api_version, api_version) && streq(kinds[i].kind, kind))
                        return &kinds[i];
        return NULL;
}

/* A DNS-1123 subdomain (kube/validate.h). Safe in a URL path as it is. */
static bool valid_subdomain(const char *s) {
        _cleanup_free_ char *why = NULL;
        return s && validate_dns_subdomain(s, &why) == 0;
}

/* A DNS-1123 label, what namespace names are. */
static bool valid_label(const char *s) {
        _cleanup_free_ char *why = NULL;
        return s && validate_dns_label(s, &why) == 0;
}

/* "invalid FIELD 'VALUE': WHY" in *RET_ERROR, -EINVAL. VALUE is shown escaped: a
 * parameter may hold anything (a newline, bytes that are not UTF-8), and the message
 * is one printable line. */
static int refuse_value(char **ret_error, const char *field, const char *value, const char *why) {
        _cleanup_free_ char *shown = text_escape(value, 256);

        if (!shown)
                return -ENOMEM;
        return manifest_fail(ret_error, "invalid %s '%s': %s", field, shown, why ?: "refused");
}

/* VALIDATE's refusal of VALUE as FIELD, in *RET_ERROR. */
static int refuse(char **ret_error, const char *field, const char *value, int r, char *why) {
        _cleanup_free_ char *reason = why;
        if (r == -ENOMEM || r >= 0)
                return r;
        return refuse_value(ret_error, field, value, reason);
}

/* A parameter written as it is into an object (a path, a URL) is printable UTF-8:
 * JSON cannot hold anything else, and a control character would forge lines where
 * it is shown. */
static int refuse_unless_text(char **ret_error, const char *field, const char *value) {
        const char *why = text_setting_problem(value);
        return why ? refuse_value(ret_error, field, value, why) : 0;
}

int manifest_ref(const json_t *obj, struct manifest_ref *ret) {
        const struct manifest_kind *type;
        const char *name, *ns;

        if (!json_is_object(obj))
                return -EINVAL;
        type = manifest_kind_find(json_object_get_string(obj, "apiVersion"),
                                  json_object_get_string(obj, "kind"));
        if (!type)
                return -EINVAL;
        name = json_string_value(json_get_path(obj, "metadata", "name", NULL));
        ns = json_string_value(json_get_path(obj, "metadata", "namespace", NULL));
        if (!valid_subdomain(name))
                return -EINVAL;
        if (type->namespaced ? !valid_label(ns) : ns != NULL)
                return -EINVAL;
        *ret = (struct manifest_ref) {
                .type = type,
                .name = name,
                .namespace_ = type->namespaced ? ns : NULL,
        };
        return 0;
}

static char *collection_path(const struct manifest_ref *ref) {
        const char *group = strchr(ref->type->api_version, '/') ? "/apis/" : "/api/";

        if (ref->namespace_)
                return strdup_printf("%s%s/namespaces/%s/%s", group, ref->type->api_version,
                                     ref->namespace_, ref->type->resource);
        return strdup_printf("%s%s/%s", group, ref->type->api_version, ref->type->resource);
}

int manifest_collection_path(const json_t *obj, char **ret_path) {
        struct manifest_ref ref;
        char *path;
        int r;

        r = manifest_ref(obj, &ref);
        if (r < 0)
                return r;
        path = collection_path(&ref);
        if (!path)
                return -ENOMEM;
        *ret_path = path;
        return 0;
}

int manifest_rest_path(const json_t *obj, char **ret_path) {
        _cleanup_free_ char *base = NULL;
        struct manifest_ref ref;
        char *path;
        int r;

        r = manifest_ref(obj, &ref);
        if (r < 0)
                return r;
        base = collection_path(&ref);
        if (!base)
                return -ENOMEM;
        path = strdup_printf("%s/%s", base, ref.name);
        if (!path)
                return -ENOMEM;
        *ret_path = path;
        return 0;
}

char *manifest_describe(const json_t *obj) {
        struct manifest_ref ref;

        if (manifest_ref(obj, &ref) < 0)
                return NULL;
        if (ref.namespace_)
                return strdup_printf("%s %s/%s", ref.type->kind, ref.namespace_, ref.name);
        return strdup_printf("%s %s", ref.type->kind, ref.name);
}

json_t *manifest_find(const json_t *objects, const char *kind, const char *name) {
        size_t i;
        json_t *o;

        json_array_foreach((json_t *) objects, i, o)
                if (streq(json_object_get_string(o, "kind"), kind) &&
                    (!name || streq(json_string_value(json_get_path(o, "metadata", "name", NULL)), name)))
                        return o;
        return NULL;
}

/* --- Loading -------------------------------------------------------------------- */

static int compare_assets(const void *a, const void *b) {
        return strcmp((*(const struct asset *const *) a)->name, (*(const struct asset *const *) b)->name);
}

int manifest_load(json_t **ret_objects, char **ret_error) {
        const struct asset *files[MANIFEST_MAX_FILES];
        _cleanup_json_ json_t *objects = NULL;
        size_t n = 0;
        int r;

        ASSET_FOREACH(a) {
                if (strncmp(a->name, MANIFEST_PREFIX, strlen(MANIFEST_PREFIX)) != 0)
                        continue;
                if (n >= ELEMENTSOF(files))
                        return manifest_fail(ret_error, "more than %d embedded manifests", MANIFEST_MAX_FILES);
                files[n++] = a;
        }
        if (n == 0)
                return manifest_fail(ret_error, "no manifests are embedded in this binary");
        qsort(files, n, sizeof(files[0]), compare_assets);

        objects = json_array();
        if (!objects)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *error = NULL;
                json_t *obj = NULL;
                struct manifest_ref ref;

                r = yaml_load_one((const char *) files[i]->data, files[i]->size, &obj, &error);
                if (r == -EINVAL)
                        return manifest_fail(ret_error, "'%s': %s", files[i]->name, error ?: "not one YAML document");
                if (r < 0)
                        return r;
                if (json_array_append_new(objects, obj) < 0)
                        return -ENOMEM;
                if (manifest_ref(obj, &ref) < 0)
                        return manifest_fail(ret_error, "'%s': not an object of a kind we ship, with a valid name "
                                    "and namespace", files[i]->name);
        }
        *ret_objects = TAKE_PTR(objects);
        return 0;
}

/* --- Overrides ------------------------------------------------------------------ */

static int set_string(json_t *obj, const char *key, const char *value) {
        return json_object_set_new(obj, key, json_string(value)) < 0 ? -ENOMEM : 0;
}

/* The element of ARRAY (of objects) whose KEY is VALUE. */
static json_t *array_find(const json_t *array, const char *key, const char *value) {
        size_t i;
        json_t *o;

        json_array_foreach((json_t *) array, i, o)
                if (streq(json_object_get_string(o, key), value))
                        return o;
        return NULL;
}

static bool string_array_contains(const json_t *a, const char *s) {
        size_t i;
        json_t *v;

        json_array_foreach((json_t *) a, i, v)
                if (streq(json_string_value(v), s))
                        return true;
        return false;
}

/* [FIRST, MORE...] without repeats. */
static json_t *string_array(const char *first, char *const *more) {
        _cleanup_json_ json_t *a = json_pack("[s]", first);

        if (!a)
                return NULL;
        for (char *const *s = more; s && *s; s++)
                if (!string_array_contains(a, *s) && json_array_append_new(a, json_string(*s)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

/* The matchExpressions entry for KEY in a list of them; NULL if absent. */
static json_t *match_expression(const json_t *exprs, const char *key) {
        return array_find(exprs, "key", key);
}

static json_t *find_object(const json_t *objects, const char *kind, const char *name,
                           char **ret_error) {
        json_t *o = manifest_find(objects, kind, name);
        if (!o)
                manifest_fail(ret_error, "the manifests have no %s '%s'", kind, name);
        return o;
}

static json_t *find_container(const json_t *obj, const json_t *pod_spec, const char *name,
                              char **ret_error) {
        json_t *c = array_find(json_object_get(pod_spec, "containers"), "name", name);
        if (!c) {
                _cleanup_free_ char *what = manifest_describe(obj);
                manifest_fail(ret_error, "%s has no container '%s'", what ?: "an object", name);
        }
        return c;
}

/* Sets the env variable NAME of container C to VALUE, adding it if absent. */
static int set_env(json_t *c, const char *name, const char *value) {
        json_t *env = json_object_get(c, "env"), *e;

        if (!env) {
                env = json_array();
                if (!env || json_object_set_new(c, "env", env) < 0)
                        return -ENOMEM;
        }
        if (!json_is_array(env))
                return -EINVAL;
        e = array_find(env, "name", name);
        if (e) {
                json_object_del(e, "valueFrom");
                return set_string(e, "value", value);
        }
        e = json_pack("{s:s, s:s}", "name", name, "value", value);
        if (!e)
                return -ENOMEM;
        return json_array_append_new(env, e) < 0 ? -ENOMEM : 0;
}

/* The NetworkPolicy's peer admitting the namespaces ALLOWED (none: no such peer; the
 * API refuses an In without values), before the manifest's peer of the prune job. */
static int allow_namespaces(json_t *np, char *const *allowed, char **ret_error) {
        json_t *from = json_object_get(json_array_get(json_get_path(np, "spec", "ingress", NULL), 0), "from");
        json_t *prune = json_array_get(from, 0);
        _cleanup_json_ json_t *values = NULL, *peer = NULL;

        if (json_array_size(from) != 1 || !json_is_object(json_object_get(prune, "podSelector")) ||
            json_object_get(prune, "namespaceSelector"))
                return manifest_fail(ret_error, "NetworkPolicy '%s' does not admit the prune job's pods alone",
                                     MANIFEST_NETWORKPOLICY);
        if (!allowed || !*allowed)
                return 0;
        values = string_array(allowed[0], allowed + 1);
        if (!values)
                return -ENOMEM;
        peer = json_pack("{s:{s:[{s:s, s:s, s:O}]}}", "namespaceSelector", "matchExpressions", "key",
                         NAMESPACE_NAME_LABEL, "operator", "In", "values", values);
        if (!peer || json_array_insert(from, 0, peer) < 0)
                return -ENOMEM;
        return 0;
}

static int apply_namespace(json_t *objects, const struct manifest_params *p, char **ret_error) {
        const char *ns = p->namespace_ ?: MANIFEST_DEFAULT_NAMESPACE;
        json_t *o, *np, *cron, *svc, *c;
        _cleanup_free_ char *host = NULL;
        size_t i;
        int r;

        {
                char *why = NULL;
                r = validate_dns_label(ns, &why);
                if ((r = refuse(ret_error, "namespace", ns, r, why)) < 0)
                        return r;
        }
        for (char *const *s = p->allow_namespaces; s && *s; s++) {
                char *why = NULL;
                r = validate_dns_label(*s, &why);
                if ((r = refuse(ret_error, "namespace", *s, r, why)) < 0)
                        return r;
        }

        json_array_foreach(objects, i, o) {
                struct manifest_ref ref;
                json_t *meta = json_object_get(o, "metadata");

                if (manifest_ref(o, &ref) < 0)
                        return manifest_fail(ret_error, "object %zu of the manifests is malformed", i);
                if (streq(ref.type->kind, "Namespace"))
                        r = set_string(meta, "name", ns);
                else if (ref.type->namespaced)
                        r = set_string(meta, "namespace", ns);
                else
                        r = 0;
                if (r < 0)
                        return r;
        }

        /* Who may reach the daemon: the allowed namespaces, and from its own only the
         * prune job's pods (the manifest's one peer). */
        np = find_object(objects, "NetworkPolicy", MANIFEST_NETWORKPOLICY, ret_error);
        if (!np)
                return -EINVAL;
        if ((r = allow_namespaces(np, p->allow_namespaces, ret_error)) < 0)
                return r;

        /* The prune job reaches the daemon by the Service's full DNS name. */
        svc = find_object(objects, "Service", MANIFEST_SERVICE, ret_error);
        cron = find_object(objects, "CronJob", MANIFEST_CRONJOB, ret_error);
        if (!svc || !cron)
                return -EINVAL;
        c = find_container(cron, json_get_path(cron, "spec", "jobTemplate", "spec", "template",
                                               "spec", NULL), "prune", ret_error);
        if (!c)
                return -EINVAL;
        char service[64];
        if (!instance_object_name(MANIFEST_SERVICE, p->instance, service, sizeof(service)))
                return refuse_value(ret_error, "instance", p->instance, NULL);
        host = strdup_printf("tcp://%s.%s.svc:%" JSON_INTEGER_FORMAT, service, ns,
                             json_integer_value(json_object_get(json_array_get(
                                     json_get_path(svc, "spec", "ports", NULL), 0), "port")));
        if (!host)
                return -ENOMEM;
        return set_env(c, "DOCKER_HOST", host);
}

static int apply_volume(json_t *objects, const struct manifest_params *p, char **ret_error) {
        json_t *pv, *pvc;
        int r;

        pv = find_object(objects, "PersistentVolume", MANIFEST_PV, ret_error);
        pvc = find_object(objects, "PersistentVolumeClaim", MANIFEST_PVC, ret_error);
        if (!pv || !pvc)
                return -EINVAL;

        if (p->node) {
                json_t *terms = json_get_path(pv, "spec", "nodeAffinity", "required",
                                              "nodeSelectorTerms", NULL), *t;
                size_t i, n = 0;

                char *why = NULL;
                r = validate_node_name(p->node, &why);
                r = refuse(ret_error, "node name", p->node, r, why);
                if (r < 0)
                        return r;
                json_array_foreach(terms, i, t) {
                        json_t *e = match_expression(json_object_get(t, "matchExpressions"), HOSTNAME_LABEL);
                        if (!e)
                                continue;
                        if (json_object_set_new(e, "values", json_pack("[s]", p->node)) < 0)
                                return -ENOMEM;
                        n++;
                }
                if (n == 0)
                        return manifest_fail(ret_error, "PersistentVolume '%s' has no node affinity on %s",
                                    MANIFEST_PV, HOSTNAME_LABEL);
        }

        if (p->data_dir) {
                json_t *local = json_get_path(pv, "spec", "local", NULL);
                if ((r = refuse_unless_text(ret_error, "data directory", p->data_dir)) < 0)
                        return r;
                if (p->data_dir[0] != '/')
                        return refuse_value(ret_error, "data directory", p->data_dir, "not an absolute path");
                if (!json_is_object(local))
                        return manifest_fail(ret_error, "PersistentVolume '%s' is not a local volume", MANIFEST_PV);
                if ((r = set_string(local, "path", p->data_dir)) < 0)
                        return r;
        }

        if (p->capacity > 0) {
                char q[32];
                json_t *cap = json_get_path(pv, "spec", "capacity", NULL);
                json_t *req = json_get_path(pvc, "spec", "resources", "requests", NULL);

                if (!json_is_object(cap) || !json_is_object(req))
                        return manifest_fail(ret_error, "the volume or claim has no storage size");
                format_quantity(p->capacity, q, sizeof(q));
                if ((r = set_string(cap, "storage", q)) < 0 || (r = set_string(req, "storage", q)) < 0)
                        return r;
        }
        return 0;
}

/* daemon.json in the ConfigMap, and its hash in the pod template, so that a change
 * (and only a change) restarts the daemon. */
static int apply_daemon_config(json_t *objects, json_t *dep, const struct manifest_params *p,
                               char **ret_error) {
        struct daemon_config_params dp = { .capacity = p->capacity, .registry_mirror = p->registry_mirror,
                                           .mtu = p->mtu, .authz = !p->plaintext };
        _cleanup_free_ char *text = NULL;
        json_t *cm, *data, *annotations;
        char hash[32];
        int r;

        cm = find_object(objects, "ConfigMap", DAEMON_CONFIG_MAP, ret_error);
        if (!cm)
                return -EINVAL;
        data = json_object_get(cm, "data");
        annotations = json_get_path(dep, "spec", "template", "metadata", "annotations", NULL);
        if (!json_is_object(data) || !json_is_object(annotations))
                return manifest_fail(ret_error, "ConfigMap '%s' has no data or Deployment '%s' no pod annotations",
                            DAEMON_CONFIG_MAP, MANIFEST_DEPLOYMENT);
        r = daemon_config_text(&dp, &text);
        if (r == -EINVAL)
                return manifest_fail(ret_error, "invalid MTU %ld", p->mtu);
        if (r < 0)
                return r;
        if ((r = set_string(data, DAEMON_CONFIG_KEY, text)) < 0)
                return r;
        return set_string(annotations, DAEMON_CONFIG_HASH_ANNOTATION, daemon_config_hash(text, hash, sizeof(hash)));
}

/* One resource of the daemon's container: its limit set to LIMIT (FORMATted), and its
 * request lowered to the limit when above it (the API refuses a request over the limit).
 * PARSE reads the request as the limit is counted. */
static int set_resource(json_t *c, const char *name, uint64_t limit, int (*parse)(const char *, uint64_t *),
                        char *(*format)(uint64_t, char *, size_t), char **ret_error) {
        json_t *limits = json_get_path(c, "resources", "limits", NULL);
        json_t *requests = json_get_path(c, "resources", "requests", NULL);
        const char *req = json_object_get_string(requests, name);
        uint64_t req_value;
        char buf[32];
        int r;

        if (!json_is_object(limits) || !json_is_object(requests))
                return manifest_fail(ret_error, "the daemon's container has no resources to set");
        format(limit, buf, sizeof(buf));
        if ((r = set_string(limits, name, buf)) < 0)
                return r;
        if (req && parse(req, &req_value) >= 0 && req_value > limit)
                return set_string(requests, name, buf);
        return 0;
}

static int apply_resources(json_t *c, const struct manifest_params *p, char **ret_error) {
        int r;

        if (p->memory_limit &&
            (r = set_resource(c, "memory", p->memory_limit, parse_quantity, format_quantity, ret_error)) < 0)
                return r;
        if (p->cpu_limit_milli &&
            (r = set_resource(c, "cpu", p->cpu_limit_milli, parse_quantity_milli, format_quantity_milli,
                              ret_error)) < 0)
                return r;
        return 0;
}

static int apply_daemon(json_t *objects, const struct manifest_params *p, char **ret_error) {
        json_t *dep, *c;
        int r;

        dep = find_object(objects, "Deployment", MANIFEST_DEPLOYMENT, ret_error);
        if (!dep)
                return -EINVAL;
        c = find_container(dep, json_get_path(dep, "spec", "template", "spec", NULL),
                           MANIFEST_CONTAINER, ret_error);
        if (!c)
                return -EINVAL;

        if (p->image) {
                char *why = NULL;
                r = validate_image_reference(p->image, &why);
                r = refuse(ret_error, "image", p->image, r, why);
                if (r < 0 || (r = set_string(c, "image", p->image)) < 0)
                        return r;
        }
        if (p->registry_mirror) {
                if ((r = refuse_unless_text(ret_error, "registry mirror", p->registry_mirror)) < 0)
                        return r;
                if (strncmp(p->registry_mirror, "http://", 7) != 0 && strncmp(p->registry_mirror, "https://", 8) != 0)
                        return refuse_value(ret_error, "registry mirror", p->registry_mirror,
                                            "an http:// or https:// URL is needed");
        }
        if (p->mtu != 0 && (p->mtu < 68 || p->mtu > 65535))
                return manifest_fail(ret_error, "invalid MTU %ld", p->mtu);
        if ((r = apply_resources(c, p, ret_error)) < 0)
                return r;
        return apply_daemon_config(objects, dep, p, ret_error);
}

static int apply_prune(json_t *objects, const struct manifest_params *p, char **ret_error) {
        json_t *cron, *c;
        int r;

        if (!p->prune_schedule && p->prune_after_usec == 0 && p->capacity == 0)
                return 0;
        cron = find_object(objects, "CronJob", MANIFEST_CRONJOB, ret_error);
        if (!cron)
                return -EINVAL;
        if (p->prune_schedule) {
                char *why = NULL;
                r = validate_cron_schedule(p->prune_schedule, &why);
                r = refuse(ret_error, "schedule", p->prune_schedule, r, why);
                if (r < 0 || (r = set_string(json_object_get(cron, "spec"), "schedule", p->prune_schedule)) < 0)
                        return r;
        }
        if (p->prune_after_usec > 0) {
                char buf[64];

                if (p->prune_after_usec < 1000000)
                        return manifest_fail(ret_error, "prune-after must be at least 1s");
                c = find_container(cron, json_get_path(cron, "spec", "jobTemplate", "spec",
                                                       "template", "spec", NULL), "prune", ret_error);
                if (!c)
                        return -EINVAL;
                if ((r = set_env(c, "PRUNE_AFTER", format_duration(p->prune_after_usec, buf, sizeof(buf)))) < 0)
                        return r;
        }
        if (p->capacity > 0) {
                /* The weekly builder prune keeps half the volume for the build cache. */
                char buf[32];

                c = find_container(cron, json_get_path(cron, "spec", "jobTemplate", "spec",
                                                       "template", "spec", NULL), "prune", ret_error);
                if (!c)
                        return -EINVAL;
                snprintf(buf, sizeof(buf), "%" PRIu64, p->capacity / 2);
                if ((r = set_env(c, "KEEP_STORAGE", buf)) < 0)
                        return r;
        }
        return 0;
}

int manifest_apply_params(json_t *objects, const struct manifest_params *p, char **ret_error) {
        int r;

        if (!json_is_array(objects) || !p)
                return -EINVAL;
        if (p->instance) {
                char *why = NULL;
                r = instance_validate(p->instance, &why);
                r = refuse(ret_error, "instance", p->instance, r, why);
                if (r < 0)
                        return r;
        }
        if ((r = manifest_apply_transport(objects, p, ret_error)) < 0 ||
            (r = apply_namespace(objects, p, ret_error)) < 0 ||
            (r = apply_volume(objects, p, ret_error)) < 0 ||
            (r = apply_daemon(objects, p, ret_error)) < 0 ||
            (r = apply_prune(objects, p, ret_error)) < 0 ||
            (r = manifest_apply_instance(objects, p, ret_error)) < 0)
                return r;
        return 0;
}

int manifest_render(const struct manifest_params *p, json_t **ret_objects, char **ret_error) {
        _cleanup_json_ json_t *objects = NULL;
        int r;

        r = manifest_load(&objects, ret_error);
        if (r < 0)
                return r;
        r = manifest_apply_params(objects, p, ret_error);
        if (r < 0)
                return r;
        *ret_objects = TAKE_PTR(objects);
        return 0;
}
