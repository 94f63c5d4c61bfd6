/* SPDX-License-Identifier: MIT */
#pragma once

/* The cluster objects: the manifests embedded from the files manifests/NN-KIND.yaml,
 * parsed into JSON and changed structurally (fields of the parsed tree, never text
 * substitution) from the install options; and what a client needs to know of each
 * object (kind, name, REST path).
 *
 * Invariants:
 * - The array of objects is in dependency (apply) order: the embedded files sorted by
 *   name (00-namespace.yaml, 10-storageclass.yaml, ... 70-cronjob.yaml), one object
 *   per file. Apply them in array order; delete them in reverse.
 * - Every object carries apiVersion, kind and metadata.name, its kind is one of the
 *   kinds in this module's table (manifest_kind_find()), and namespaced objects carry
 *   metadata.namespace. manifest_load() refuses anything else (-EINVAL).
 * - Parameters left unset (NULL, 0) keep the manifests' defaults, which equal the
 *   seed's names: namespace kube-ops, node node1, /mnt/k8s/docker, 5Gi.
 * - Library code: never prints; errors are negative errno, -EINVAL with a message in
 *   ret_error (optional; caller frees) naming the file or object and what is wrong. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The names the manifests use; install and the checker refer to them. */
#define MANIFEST_DEFAULT_NAMESPACE "kube-ops"
#define MANIFEST_APP_LABEL "docker-dind"          /* every object: labels.app */
#define MANIFEST_DEPLOYMENT "docker-dind"
#define MANIFEST_CONTAINER "dind"                 /* the daemon's container */
#define MANIFEST_SERVICE "docker-dind"
#define MANIFEST_TLS_PORT 2376                    /* mutual TLS, the default */
#define MANIFEST_PLAINTEXT_PORT 2375              /* --plaintext */
#define MANIFEST_SERVER_SECRET "docker-dind-server"
#define MANIFEST_CLIENT_SECRET "docker-dind-client"       /* a tenant's, in its namespace */
#define MANIFEST_PRUNE_SECRET "docker-dind-prune-client"  /* the prune CronJob's */
/* The Deployment's pod-template annotations: the server certificate's SHA-256 and the
 * trust bundle's (the CAs the daemon trusts, its --tlscacert), so a new certificate or
 * a CA leaving or joining the bundle rolls the pod, and an unchanged one never does. */
#define MANIFEST_CERT_ANNOTATION "dind-cache.io/server-cert-sha256"
#define MANIFEST_BUNDLE_ANNOTATION "dind-cache.io/trust-bundle-sha256"
/* The label app.kubernetes.io/component of the daemon's pods and of the prune
 * CronJob's: the NetworkPolicy admits the latter from the daemon's namespace. */
#define MANIFEST_COMPONENT_LABEL "app.kubernetes.io/component"
#define MANIFEST_PRUNE_COMPONENT "prune"
#define MANIFEST_PV "docker-pv"
#define MANIFEST_PVC "docker-dind-data"
#define MANIFEST_STORAGECLASS "local-volume"
#define MANIFEST_NETWORKPOLICY "docker-dind"
#define MANIFEST_CRONJOB "docker-dind-clear-cache"
/* The hostPath directory of the authorization plugin's socket on the node
 * (dind-cache-authz.socket makes it), mounted in the daemon's container where dockerd
 * looks for plugins; the volume's name. Not with --plaintext. */
#define MANIFEST_PLUGIN_DIR "/run/dind-cache/plugins"
#define MANIFEST_PLUGIN_MOUNT "/run/docker/plugins"
#define MANIFEST_PLUGIN_VOLUME "authz-plugins"

struct manifest_params {
        const char *namespace_;          /* NULL: kube-ops. Every namespaced object,
                                          * the Namespace itself, the NetworkPolicy's
                                          * allowed list and the CronJob's DOCKER_HOST */
        const char *node;                /* NULL: node1. The PV's node affinity value */
        const char *data_dir;            /* NULL: /mnt/k8s/docker. The PV's local.path */
        uint64_t capacity;               /* bytes; 0: 5Gi. PV capacity, PVC request */
        const char *image;               /* NULL: the pinned docker:<version>-dind */
        const char *registry_mirror;     /* NULL: none. --registry-mirror=URL */
        long mtu;                        /* 0: none. --mtu=N */
        char *const *allow_namespaces;   /* NULL-terminated or NULL: the namespaces whose
                                          * pods may reach the daemon (the CI tenants,
                                          * each with its own client Secret); from
                                          * namespace_ itself, unless listed, only the
                                          * prune CronJob's pods */
        const char *prune_schedule;      /* NULL: the manifest's. The CronJob schedule */
        uint64_t prune_after_usec;       /* 0: 168h. The prune filters' until=DURATION */
        const char *instance;            /* NULL: the unnamed instance, the manifests'
                                          * names. Else a name (kube/instance.h): the
                                          * instance's objects renamed and labelled */
        uint64_t memory_limit;           /* bytes; 0: the manifest's (8Gi). The daemon's
                                          * memory limit; its request follows it down */
        uint64_t cpu_limit_milli;        /* thousandths of a CPU; 0: the manifest's (4).
                                          * The daemon's CPU limit, likewise */
        bool plaintext;                  /* false: mutual TLS on 2376 (the manifests');
                                          * true: plain TCP on 2375, --tls=false, no
                                          * certificate volumes, no authorization plugin
                                          * (no identities: daemon.json and the
                                          * Deployment leave it out) */
};

/* The embedded manifests, parsed, in apply order, without overrides. */
int manifest_load(json_t **ret_objects, char **ret_error);

/* Changes OBJECTS (as manifest_load() returned them) in place according to P.
 * -EINVAL (with ret_error) when an object the override needs is missing or not shaped
 * as expected, or a parameter is not valid (a namespace or node that is not a DNS
 * name, a relative data_dir, a data_dir or registry_mirror that is not printable
 * UTF-8, which the objects could not hold). The message is one printable line: it
 * shows the value escaped (base/text.h). On failure OBJECTS may be partly changed. */
int manifest_apply_params(json_t *objects, const struct manifest_params *p, char **ret_error);

/* manifest_load() then manifest_apply_params(): the objects to apply. */
int manifest_render(const struct manifest_params *p, json_t **ret_objects, char **ret_error);

/* The PEM files of one side of mutual TLS: what a Secret holds. */
struct manifest_tls_files {
        const char *ca;                  /* the trust bundle */
        const char *cert;
        const char *key;
};

/* What the Secrets of mutual TLS hold. A dry run has no files: the Secrets go without
 * data (no key is ever sent to be dry-run). */
struct manifest_tls {
        bool dry_run;
        struct manifest_tls_files server;    /* the daemon's */
        struct manifest_tls_files prune_job; /* the prune CronJob's */
        char *const *tenants;                /* NULL-terminated namespaces with files ... */
        const struct manifest_tls_files *tenant_files; /* ... one each, in that order */
        const char *server_sha256;           /* NULL: not known yet (the annotation is left out) */
        const char *bundle_sha256;           /* NULL: not known yet (the annotation is left out) */
};

/* Adds the Secrets of mutual TLS to OBJECTS (rendered with P, not plaintext): the
 * server's and the prune job's in P's namespace, a tenant's in each allowed namespace
 * (P's own too when it is one), type Opaque, keys ca.pem cert.pem key.pem, base64
 * data; inserted before the Deployment (apply order). Sets the Deployment's
 * MANIFEST_CERT_ANNOTATION and MANIFEST_BUNDLE_ANNOTATION. -EINVAL (with ret_error)
 * when the objects are not shaped as rendered, or (no dry run) a file is missing, an
 * allowed namespace among them. */
int manifest_add_tls(json_t *objects, const struct manifest_params *p, const struct manifest_tls *tls,
                     char **ret_error);

/* The Secrets manifest_add_tls() makes for P (kind, name, namespace only): what
 * uninstall deletes. A JSON array. */
int manifest_tls_secret_refs(const struct manifest_params *p, json_t **ret_objects);

/* Internal to manifest.c: switches the rendered objects to plain TCP when
 * P->plaintext (ports, args, environment, certificate volumes). */
int manifest_apply_transport(json_t *objects, const struct manifest_params *p, char **ret_error);

/* Internal to manifest.c: renames and labels a named instance's objects (P->instance,
 * already validated; kube/instance.h) and what refers to them. */
int manifest_apply_instance(json_t *objects, const struct manifest_params *p, char **ret_error);

/* The first object of KIND (and NAME, when not NULL) in OBJECTS, borrowed; or NULL. */
json_t *manifest_find(const json_t *objects, const char *kind, const char *name);

/* A kind we ship, and where the API serves it. */
struct manifest_kind {
        const char *api_version;         /* "apps/v1" */
        const char *kind;                /* "Deployment" */
        const char *resource;            /* "deployments" */
        bool namespaced;
};
/* The table entry for API_VERSION and KIND, or NULL if we do not ship that kind. */
const struct manifest_kind *manifest_kind_find(const char *api_version, const char *kind);

/* What identifies an object; strings borrowed from the object. */
struct manifest_ref {
        const struct manifest_kind *type;
        const char *name;
        const char *namespace_;          /* NULL for cluster-scoped objects */
};
/* -EINVAL if OBJ lacks apiVersion/kind/metadata.name, if its kind is not in the
 * table, if a namespaced object has no namespace, or if a name or namespace is not a
 * DNS-1123 subdomain (so it is safe in a URL path as it is). */
int manifest_ref(const json_t *obj, struct manifest_ref *ret);

/* The object's REST path: "/apis/apps/v1/namespaces/kube-ops/deployments/docker-dind",
 * "/api/v1/persistentvolumes/docker-pv". The caller frees it. */
int manifest_rest_path(const json_t *obj, char **ret_path);
/* Its collection's path: "/apis/apps/v1/namespaces/kube-ops/deployments". */
int manifest_collection_path(const json_t *obj, char **ret_path);

/* "Deployment kube-ops/docker-dind", "PersistentVolume docker-pv": for messages. The
 * caller frees it; NULL on allocation failure or a malformed object. */
char *manifest_describe(const json_t *obj);
