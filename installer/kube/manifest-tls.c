/* SPDX-License-Identifier: MIT */
/* The transport of the daemon's API in the manifests: mutual TLS on 2376 (what the
 * files say) or, with --plaintext, plain TCP on 2375; and the Secrets that carry the
 * certificates to the daemon and to the jobs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/json-util.h"
#include "base/util.h"
#include "kube/instance.h"
#include "kube/manifest.h"
#include "kube/manifest-private.h"

#define TLS_VOLUME_SERVER "server-certs"
#define TLS_VOLUME_CLIENT "client-certs"

static json_t *named(const json_t *array, const char *name) {
        size_t i;
        json_t *o;

        json_array_foreach((json_t *) array, i, o)
                if (streq(json_object_get_string(o, "name"), name))
                        return o;
        return NULL;
}

/* Removes the element named NAME from ARRAY, if there. */
static void remove_named(json_t *array, const char *name) {
        size_t i;
        json_t *o;

        json_array_foreach(array, i, o)
                if (streq(json_object_get_string(o, "name"), name)) {
                        json_array_remove(array, i);
                        return;
                }
}

static int set_port(json_t *port_obj, const char *key, int port) {
        if (!json_is_object(port_obj))
                return -EINVAL;
        return json_object_set_new(port_obj, key, json_integer(port)) < 0 ? -ENOMEM : 0;
}

static json_t *pod_spec(const json_t *obj, bool cron) {
        return cron ? json_get_path(obj, "spec", "jobTemplate", "spec", "template", "spec", NULL)
                    : json_get_path(obj, "spec", "template", "spec", NULL);
}

/* The daemon's container for --plaintext: --tls=false first, the entrypoint's
 * plain-TCP branch (DOCKER_TLS_CERTDIR empty), port 2375, no certificate volume and no
 * plugin volume. */
static int daemon_plaintext(json_t *dep, char **ret_error) {
        json_t *spec = pod_spec(dep, false), *c = named(json_object_get(spec, "containers"), MANIFEST_CONTAINER);
        json_t *args, *env, *e;

        if (!c)
                return manifest_fail(ret_error, "the Deployment has no container '%s'", MANIFEST_CONTAINER);
        args = json_object_get(c, "args");
        if (!json_is_array(args)) {
                args = json_array();
                if (!args || json_object_set_new(c, "args", args) < 0)
                        return -ENOMEM;
        }
        if (json_array_insert_new(args, 0, json_string("--tls=false")) < 0)
                return -ENOMEM;
        env = json_object_get(c, "env");
        e = named(env, "DOCKER_TLS_CERTDIR");
        if (!e)
                return manifest_fail(ret_error, "the Deployment's container sets no DOCKER_TLS_CERTDIR");
        if (json_object_set_new(e, "value", json_string("")) < 0)
                return -ENOMEM;
        if (set_port(named(json_object_get(c, "ports"), "docker"), "containerPort", MANIFEST_PLAINTEXT_PORT) < 0)
                return manifest_fail(ret_error, "the Deployment's container has no port named 'docker'");
        remove_named(json_object_get(c, "volumeMounts"), TLS_VOLUME_SERVER);
        remove_named(json_object_get(spec, "volumes"), TLS_VOLUME_SERVER);
        /* No identities, no authorization plugin (daemon-config.c leaves it out too). */
        remove_named(json_object_get(c, "volumeMounts"), MANIFEST_PLUGIN_VOLUME);
        remove_named(json_object_get(spec, "volumes"), MANIFEST_PLUGIN_VOLUME);
        return 0;
}

static int prune_plaintext(json_t *cron, char **ret_error) {
        json_t *spec = pod_spec(cron, true), *c = named(json_object_get(spec, "containers"), "prune");
        json_t *env;

        if (!c)
                return manifest_fail(ret_error, "the CronJob has no container 'prune'");
        env = json_object_get(c, "env");
        remove_named(env, "DOCKER_TLS_VERIFY");
        remove_named(env, "DOCKER_CERT_PATH");
        remove_named(json_object_get(c, "volumeMounts"), TLS_VOLUME_CLIENT);
        remove_named(json_object_get(spec, "volumes"), TLS_VOLUME_CLIENT);
        /* The port of its DOCKER_HOST follows the Service's (manifest.c). */
        return 0;
}

int manifest_apply_transport(json_t *objects, const struct manifest_params *p, char **ret_error) {
        json_t *svc, *np, *dep, *cron;
        int r;

        if (!p->plaintext)
                return 0;
        svc = manifest_find(objects, "Service", MANIFEST_SERVICE);
        np = manifest_find(objects, "NetworkPolicy", MANIFEST_NETWORKPOLICY);
        dep = manifest_find(objects, "Deployment", MANIFEST_DEPLOYMENT);
        cron = manifest_find(objects, "CronJob", MANIFEST_CRONJOB);
        if (!svc || !np || !dep || !cron)
                return manifest_fail(ret_error, "the manifests lack the Service, NetworkPolicy, Deployment or CronJob");
        if (set_port(json_array_get(json_get_path(svc, "spec", "ports", NULL), 0), "port", MANIFEST_PLAINTEXT_PORT) < 0)
                return manifest_fail(ret_error, "the Service '%s' has no port", MANIFEST_SERVICE);
        if (set_port(json_array_get(json_object_get(json_array_get(json_get_path(np, "spec", "ingress", NULL), 0),
                                                    "ports"), 0), "port", MANIFEST_PLAINTEXT_PORT) < 0)
                return manifest_fail(ret_error, "the NetworkPolicy '%s' has no port", MANIFEST_NETWORKPOLICY);
        if ((r = daemon_plaintext(dep, ret_error)) < 0 || (r = prune_plaintext(cron, ret_error)) < 0)
                return r;
        return 0;
}

/* ---- the Secrets */

static char *base64(const char *s) {
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(s), o = 0;
        const unsigned char *in = (const unsigned char *) s;
        char *out = malloc((n + 2) / 3 * 4 + 1);

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                unsigned v = (unsigned) in[i] << 16 | (i + 1 < n ? (unsigned) in[i + 1] << 8 : 0) |
                             (i + 2 < n ? in[i + 2] : 0);
                out[o++] = tbl[(v >> 18) & 63];
                out[o++] = tbl[(v >> 12) & 63];
                out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
                out[o++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        out[o] = '\0';
        return out;
}

static json_t *secret_object(const char *name, const char *ns, const char *instance,
                             const struct manifest_tls_files *f) {
        _cleanup_json_ json_t *s = NULL;
        _cleanup_free_ char *ca = NULL, *cert = NULL;
        _cleanup_erase_ char *key = NULL;

        s = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:s}", "apiVersion", "v1", "kind", "Secret", "metadata",
                      "name", name, "namespace", ns, "labels", "app", MANIFEST_APP_LABEL, "type", "Opaque");
        if (!s)
                return NULL;
        if (instance && json_object_set_new(json_get_path(s, "metadata", "labels", NULL), INSTANCE_LABEL,
                                            json_string(instance)) < 0)
                return NULL;
        if (!f)
                return TAKE_PTR(s);
        ca = base64(f->ca);
        cert = base64(f->cert);
        key = base64(f->key);
        if (!ca || !cert || !key ||
            json_object_set_new(s, "data", json_pack("{s:s, s:s, s:s}", "ca.pem", ca, "cert.pem", cert,
                                                     "key.pem", key)) < 0)
                s = (json_erase_secrets(s), json_decref(s), NULL);
        return TAKE_PTR(s);
}

static bool files_complete(const struct manifest_tls_files *f) {
        return f && f->ca && f->cert && f->key;
}

/* The files of tenant NS in TLS, or NULL. */
static const struct manifest_tls_files *tenant_files(const struct manifest_tls *tls, const char *ns) {
        for (size_t i = 0; tls && tls->tenants && tls->tenants[i]; i++)
                if (streq(tls->tenants[i], ns))
                        return &tls->tenant_files[i];
        return NULL;
}

static int append_secret(json_t *a, const char *name, const char *ns, const char *instance,
                         const struct manifest_tls_files *f) {
        json_t *o = secret_object(name, ns, instance, f);
        return o && json_array_append_new(a, o) == 0 ? 0 : -ENOMEM;
}

/* The Secrets, in apply order: the server's, the prune job's, then one per allowed
 * namespace (each once), with data unless TLS is NULL or a dry run. */
static int secrets(const struct manifest_params *p, const struct manifest_tls *tls, json_t **ret,
                   char **ret_error) {
        const char *ns = p->namespace_ ?: MANIFEST_DEFAULT_NAMESPACE;
        bool data = tls && !tls->dry_run;
        _cleanup_json_ json_t *a = json_array();
        struct instance_names names;
        _cleanup_strv_free_ char **seen = NULL;
        int r;

        if (!a)
                return -ENOMEM;
        if (instance_names_init(p->instance, &names) < 0)
                return -EINVAL;
        if (data && (!files_complete(&tls->server) || !files_complete(&tls->prune_job)))
                return manifest_fail(ret_error, "the server's or the prune job's certificate is missing");
        if ((r = append_secret(a, names.server_secret, ns, p->instance, data ? &tls->server : NULL)) < 0 ||
            (r = append_secret(a, names.prune_secret, ns, p->instance, data ? &tls->prune_job : NULL)) < 0)
                return r;
        for (char *const *t = p->allow_namespaces; t && *t; t++) {
                const struct manifest_tls_files *f = data ? tenant_files(tls, *t) : NULL;

                if (strv_contains(seen, *t))
                        continue;
                if (data && !files_complete(f))
                        return manifest_fail(ret_error, "no client certificate for the namespace '%s'", *t);
                if (strv_extend(&seen, *t) < 0 || (r = append_secret(a, names.client_secret, *t, p->instance, f)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

int manifest_tls_secret_refs(const struct manifest_params *p, json_t **ret_objects) {
        return secrets(p, NULL, ret_objects, NULL);
}

static int set_annotation(json_t *meta, const char *key, const char *value) {
        json_t *ann = json_object_get(meta, "annotations");

        if (!value)
                return 0;
        if (!ann) {
                ann = json_object();
                if (!ann || json_object_set_new(meta, "annotations", ann) < 0)
                        return -ENOMEM;
        }
        return json_object_set_new(ann, key, json_string(value)) < 0 ? -ENOMEM : 0;
}

int manifest_add_tls(json_t *objects, const struct manifest_params *p, const struct manifest_tls *tls,
                     char **ret_error) {
        _cleanup_json_ json_t *add = NULL;
        json_t *dep, *meta, *o;
        size_t at = SIZE_MAX, i;
        int r;

        if (!tls || (tls->server_sha256 && !*tls->server_sha256) || (tls->bundle_sha256 && !*tls->bundle_sha256))
                return -EINVAL;
        if (p->plaintext)
                return manifest_fail(ret_error, "no certificates for a plaintext daemon");
        json_array_foreach(objects, i, o)
                if (streq(json_object_get_string(o, "kind"), "Deployment")) {
                        at = i;
                        break;
                }
        dep = at != SIZE_MAX ? json_array_get(objects, at) : NULL;
        meta = json_get_path(dep, "spec", "template", "metadata", NULL);
        if (!json_is_object(meta))
                return manifest_fail(ret_error, "the manifests have no Deployment with a pod template");
        if (manifest_find(objects, "Secret", NULL))
                return manifest_fail(ret_error, "the certificates' Secrets were added already");

        r = secrets(p, tls, &add, ret_error);
        if (r < 0)
                return r;
        json_array_foreach(add, i, o)
                if (json_array_insert(objects, at + i, o) < 0)
                        return -ENOMEM;
        if ((r = set_annotation(meta, MANIFEST_CERT_ANNOTATION, tls->server_sha256)) < 0)
                return r;
        return set_annotation(meta, MANIFEST_BUNDLE_ANNOTATION, tls->bundle_sha256);
}
