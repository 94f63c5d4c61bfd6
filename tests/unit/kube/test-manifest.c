/* SPDX-License-Identifier: MIT */
/* The embedded manifests: they load, in apply order; each override lands in its field
 * and changes nothing else; REST paths. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/json-util.h"
#include "kube/daemon-config.h"
#include "base/text.h"
#include "kube/manifest.h"
#include "base/util.h"

static json_t *load_defaults(void) {
        json_t *objects = NULL;
        _cleanup_free_ char *error = NULL;

        if (manifest_load(&objects, &error) < 0)
                fail_msg("cannot load the embedded manifests: %s", error ?: "?");
        return objects;
}

static json_t *render(const struct manifest_params *p) {
        json_t *objects = NULL;
        _cleanup_free_ char *error = NULL;

        if (manifest_render(p, &objects, &error) < 0)
                fail_msg("cannot render: %s", error ?: "?");
        return objects;
}

/* The value at a path in an object; path steps are keys, or "#N" for array index N,
 * or "name=X" for the array element whose "name" (or "key") is X. */
static json_t *at(json_t *o, const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL;

        for (char *step = strtok_r(copy, ".", &save); step && o; step = strtok_r(NULL, ".", &save)) {
                if (step[0] == '#')
                        o = json_array_get(o, strtoul(step + 1, NULL, 10));
                else if (strchr(step, '=')) {
                        char *eq = strchr(step, '=');
                        size_t i;
                        json_t *v, *found = NULL;
                        *eq = 0;
                        json_array_foreach(o, i, v)
                                if (!found && streq(json_object_get_string(v, step), eq + 1))
                                        found = v;
                        o = found;
                } else
                        o = json_object_get(o, step);
        }
        return o;
}

static const char *at_string(json_t *o, const char *path) {
        json_t *v = at(o, path);
        if (!json_is_string(v))
                fail_msg("%s is not a string", path);
        return json_string_value(v);
}

#define DIND "spec.template.spec.containers.name=dind"
#define PRUNE "spec.jobTemplate.spec.template.spec.containers.name=prune"
/* Label keys have dots, so these go by index; the defaults test checks the keys. */
#define NS_EXPR "spec.ingress.#0.from.#0.namespaceSelector.matchExpressions.#0"
#define NS_VALUES NS_EXPR ".values"
#define NODE_EXPR "spec.nodeAffinity.required.nodeSelectorTerms.#0.matchExpressions.#0"
#define NODE_VALUES NODE_EXPR ".values"

static void manifests_load_in_apply_order(void **state) {
        _cleanup_json_ json_t *objects = load_defaults();
        static const char *const kinds[] = {
                "Namespace", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
                "NetworkPolicy", "Service", "ConfigMap", "Deployment", "CronJob",
        };
        size_t i;
        json_t *o;

        assert_int_equal(json_array_size(objects), ELEMENTSOF(kinds));
        json_array_foreach(objects, i, o) {
                struct manifest_ref ref;
                assert_string_equal(json_object_get_string(o, "kind"), kinds[i]);
                assert_int_equal(manifest_ref(o, &ref), 0);
                assert_string_equal(at_string(o, "metadata.labels.app"), "docker-dind");
                if (ref.type->namespaced)
                        assert_string_equal(ref.namespace_, "kube-ops");
        }
}

static void defaults_are_the_seed_names_with_the_fixes(void **state) {
        _cleanup_json_ json_t *objects = load_defaults();
        json_t *pv = manifest_find(objects, "PersistentVolume", "docker-pv");
        json_t *pvc = manifest_find(objects, "PersistentVolumeClaim", "docker-dind-data");
        json_t *dep = manifest_find(objects, "Deployment", "docker-dind");
        json_t *cron = manifest_find(objects, "CronJob", "docker-dind-clear-cache");
        json_t *np = manifest_find(objects, "NetworkPolicy", "docker-dind");
        json_t *sc = manifest_find(objects, "StorageClass", "local-volume");
        json_t *svc = manifest_find(objects, "Service", "docker-dind");
        const char *image;

        assert_non_null(manifest_find(objects, "Namespace", "kube-ops"));
        assert_string_equal(at_string(sc, "provisioner"), "kubernetes.io/no-provisioner");
        assert_string_equal(at_string(sc, "volumeBindingMode"), "WaitForFirstConsumer");
        assert_string_equal(at_string(pv, "spec.local.path"), "/mnt/k8s/docker");
        assert_string_equal(at_string(pv, "spec.capacity.storage"), "5Gi");
        assert_string_equal(at_string(pv, "spec.persistentVolumeReclaimPolicy"), "Retain");
        assert_string_equal(at_string(pv, NODE_VALUES ".#0"), "node1");
        assert_string_equal(at_string(pvc, "spec.resources.requests.storage"), "5Gi");
        assert_string_equal(at_string(dep, "spec.strategy.type"), "Recreate");
        assert_int_equal(json_integer_value(at(dep, "spec.replicas")), 1);
        image = at_string(dep, DIND ".image");
        assert_true(strncmp(image, "docker:", 7) == 0 && strstr(image, "-dind") && !strstr(image, "latest"));
        assert_true(json_is_true(at(dep, DIND ".securityContext.privileged")));
        assert_string_equal(at_string(dep, DIND ".env.name=DOCKER_TLS_CERTDIR.value"), "/certs");
        assert_string_equal(at_string(dep, DIND ".volumeMounts.#0.mountPath"), "/var/lib/docker");
        assert_non_null(at(dep, DIND ".startupProbe"));
        assert_non_null(at(dep, DIND ".readinessProbe"));
        assert_true(json_integer_value(at(dep, "spec.template.spec.terminationGracePeriodSeconds")) >= 60);
        assert_int_equal(json_integer_value(at(svc, "spec.ports.#0.port")), 2376);
        assert_int_equal(json_integer_value(at(np, "spec.ingress.#0.ports.#0.port")), 2376);
        assert_int_equal(json_integer_value(at(dep, DIND ".ports.name=docker.containerPort")), 2376);
        /* The probes cannot present a client certificate: exec on the unix socket. */
        assert_non_null(at(dep, DIND ".readinessProbe.exec.command"));
        assert_null(json_get_path(at(dep, DIND ".readinessProbe"), "httpGet", NULL));
        assert_string_equal(at_string(dep, DIND ".volumeMounts.name=server-certs.mountPath"), "/certs/server");
        assert_true(json_is_true(at(dep, DIND ".volumeMounts.name=server-certs.readOnly")));
        assert_string_equal(at_string(dep, "spec.template.spec.volumes.name=server-certs.secret.secretName"),
                            "docker-dind-server");
        assert_string_equal(at_string(cron, PRUNE ".env.name=DOCKER_TLS_VERIFY.value"), "1");
        assert_string_equal(at_string(cron, PRUNE ".env.name=DOCKER_CERT_PATH.value"), "/certs/client");
        assert_string_equal(at_string(cron, "spec.jobTemplate.spec.template.spec.volumes.name=client-certs.secret."
                                            "secretName"), "docker-dind-prune-client");
        /* No Kubernetes API credentials in either pod. */
        assert_true(json_is_false(at(dep, "spec.template.spec.automountServiceAccountToken")));
        assert_true(json_is_false(at(cron, "spec.jobTemplate.spec.template.spec.automountServiceAccountToken")));
        /* No namespace is allowed by default: from kube-ops itself, the prune job's pods only. */
        assert_int_equal(json_array_size(at(np, "spec.ingress.#0.from")), 1);
        assert_null(json_object_get(at(np, "spec.ingress.#0.from.#0"), "namespaceSelector"));
        assert_true(json_equal(json_object_get(at(np, "spec.ingress.#0.from.#0.podSelector.matchLabels"),
                                               "app.kubernetes.io/component"),
                               json_object_get(at(cron, "spec.jobTemplate.spec.template.metadata.labels"),
                                               "app.kubernetes.io/component")));
        assert_string_equal(at_string(pv, NODE_EXPR ".key"), "kubernetes.io/hostname");
        assert_string_equal(at_string(pv, NODE_EXPR ".operator"), "In");
        assert_string_equal(at_string(cron, "spec.concurrencyPolicy"), "Forbid");
        assert_string_equal(at_string(cron, PRUNE ".env.name=DOCKER_HOST.value"),
                            "tcp://docker-dind.kube-ops.svc:2376");
        assert_string_equal(at_string(cron, PRUNE ".env.name=PRUNE_AFTER.value"), "168h");
        /* The daemon's args and the CLI's version. */
        json_t *args = at(dep, DIND ".args");
        size_t i;
        json_t *v;
        bool tls_false = false, overlay2 = false;
        json_array_foreach(args, i, v) {
                tls_false = tls_false || streq(json_string_value(v), "--tls=false");
                overlay2 = overlay2 || streq(json_string_value(v), "--storage-driver=overlay2");
        }
        assert_true(!tls_false && overlay2);
        const char *cli = at_string(cron, PRUNE ".image");
        assert_memory_equal(cli, image, strlen(image) - strlen("dind"));
}

/* Every difference between A and B, as a list of paths; B may have extra keys. */
static void diff(json_t *a, json_t *b, const char *path, json_t *out) {
        if (json_typeof(a) != json_typeof(b)) {
                json_array_append_new(out, json_string(path));
                return;
        }
        if (json_is_object(a)) {
                const char *k;
                json_t *v;
                json_object_foreach(a, k, v) {
                        _cleanup_free_ char *p = strdup_printf("%s.%s", path, k);
                        json_t *w = json_object_get(b, k);
                        if (!w)
                                json_array_append_new(out, json_string(p));
                        else
                                diff(v, w, p, out);
                }
                json_object_foreach(b, k, v)
                        if (!json_object_get(a, k)) {
                                _cleanup_free_ char *p = strdup_printf("%s.%s", path, k);
                                json_array_append_new(out, json_string(p));
                        }
        } else if (json_is_array(a)) {
                size_t n = json_array_size(a) > json_array_size(b) ? json_array_size(a) : json_array_size(b);
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *p = strdup_printf("%s.#%zu", path, i);
                        json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
                        if (!x || !y)
                                json_array_append_new(out, json_string(p));
                        else
                                diff(x, y, p, out);
                }
        } else if (!json_equal(a, b))
                json_array_append_new(out, json_string(path));
}

/* Renders with P and checks that exactly the paths in EXPECTED (kind:path) changed. */
static json_t *assert_changes(const struct manifest_params *p, const char *const *expected) {
        _cleanup_json_ json_t *before = load_defaults();
        json_t *after = render(p);
        _cleanup_json_ json_t *changes = json_array();
        size_t i, n = 0;
        json_t *o, *c;

        json_array_foreach(before, i, o) {
                _cleanup_free_ char *prefix = strdup_printf("%s:", json_object_get_string(o, "kind"));
                diff(o, json_array_get(after, i), prefix, changes);
        }
        json_array_foreach(changes, i, c) {
                bool ok = false;
                for (const char *const *e = expected; *e; e++)
                        ok = ok || streq(json_string_value(c), *e);
                if (!ok)
                        fail_msg("unexpected change at %s", json_string_value(c));
        }
        for (const char *const *e = expected; *e; e++)
                n++;
        assert_int_equal(json_array_size(changes), n);
        return after;
}

static void namespace_moves_every_namespaced_object_and_the_dns_name(void **state) {
        struct manifest_params p = { .namespace_ = "ci" };
        static const char *const expected[] = {
                "Namespace:.metadata.name",
                "PersistentVolumeClaim:.metadata.namespace",
                "NetworkPolicy:.metadata.namespace",
                "ConfigMap:.metadata.namespace",
                "Deployment:.metadata.namespace",
                "Service:.metadata.namespace",
                "CronJob:.metadata.namespace",
                "CronJob:.spec.jobTemplate.spec.template.spec.containers.#0.env.#0.value",
                NULL,
        };
        _cleanup_json_ json_t *objects = assert_changes(&p, expected);
        json_t *cron = manifest_find(objects, "CronJob", NULL);

        assert_string_equal(at_string(cron, PRUNE ".env.name=DOCKER_HOST.value"), "tcp://docker-dind.ci.svc:2376");
}

static void allowed_namespaces_join_the_policy_once_each(void **state) {
        char *allow[] = { "gitlab-runner", "builds", "gitlab-runner", "kube-ops", NULL };
        struct manifest_params p = { .allow_namespaces = allow };
        /* The namespaces' peer comes first, the prune job's moves to the second place. */
        static const char *const expected[] = {
                "NetworkPolicy:.spec.ingress.#0.from.#0.podSelector",
                "NetworkPolicy:.spec.ingress.#0.from.#0.namespaceSelector",
                "NetworkPolicy:.spec.ingress.#0.from.#1",
                NULL,
        };
        _cleanup_json_ json_t *objects = assert_changes(&p, expected);
        _cleanup_json_ json_t *want = json_pack("[sss]", "gitlab-runner", "builds", "kube-ops");
        json_t *np = manifest_find(objects, "NetworkPolicy", NULL);

        assert_true(json_equal(at(np, NS_VALUES), want));
        assert_string_equal(at_string(np, NS_EXPR ".key"), "kubernetes.io/metadata.name");
        assert_string_equal(at_string(np, NS_EXPR ".operator"), "In");
        assert_string_equal(at_string(np, "spec.ingress.#0.from.#1.podSelector.matchLabels.app"), "docker-dind");
}

static void volume_overrides_land_in_pv_and_pvc(void **state) {
        struct manifest_params p = {
                .node = "storage-1.example.com",
                .data_dir = "/srv/docker",
                .capacity = UINT64_C(50) << 30,
        };
        static const char *const expected[] = {
                "PersistentVolume:.spec.capacity.storage",
                "PersistentVolume:.spec.local.path",
                "PersistentVolume:.spec.nodeAffinity.required.nodeSelectorTerms.#0.matchExpressions.#0.values.#0",
                "PersistentVolumeClaim:.spec.resources.requests.storage",
                /* The builder's GC is sized from the capacity: daemon.json and its hash. */
                "ConfigMap:.data.daemon.json",
                "Deployment:.spec.template.metadata.annotations.dind-cache.io/daemon-json-hash",
                /* ... and the weekly builder prune's --keep-storage. */
                "CronJob:.spec.jobTemplate.spec.template.spec.containers.#0.env.#2.value",
                NULL,
        };
        _cleanup_json_ json_t *objects = assert_changes(&p, expected);
        json_t *pv = manifest_find(objects, "PersistentVolume", NULL);
        assert_string_equal(at_string(manifest_find(objects, "CronJob", NULL), PRUNE ".env.name=KEEP_STORAGE.value"),
                            "26843545600");

        assert_string_equal(at_string(pv, "spec.capacity.storage"), "50Gi");
        assert_string_equal(at_string(pv, "spec.local.path"), "/srv/docker");
        assert_string_equal(at_string(pv, NODE_VALUES ".#0"), "storage-1.example.com");
        assert_int_equal(json_array_size(at(pv, NODE_VALUES)), 1);
        assert_string_equal(at_string(manifest_find(objects, "PersistentVolumeClaim", NULL),
                                      "spec.resources.requests.storage"), "50Gi");
}

static void daemon_overrides_land_in_daemon_json_and_restart_the_pod(void **state) {
        struct manifest_params p = {
                .image = "registry.example.com/docker:28.5.2-dind",
                .registry_mirror = "https://mirror.example.com",
                .mtu = 1400,
        };
        const char *expected[] = {
                "Deployment:.spec.template.spec.containers.#0.image",
                "ConfigMap:.data.daemon.json",
                "Deployment:.spec.template.metadata.annotations.dind-cache.io/daemon-json-hash",
                NULL,
        };
        _cleanup_json_ json_t *before = load_defaults();
        _cleanup_json_ json_t *objects = assert_changes(&p, expected);
        json_t *dep = manifest_find(objects, "Deployment", NULL);
        json_t *cm = manifest_find(objects, "ConfigMap", NULL);
        const char *text = json_string_value(json_object_get(json_object_get(cm, "data"), "daemon.json"));
        _cleanup_json_ json_t *daemon = json_loads(text, 0, NULL);
        json_t *annotations = json_get_path(dep, "spec", "template", "metadata", "annotations", NULL);
        const char *hash = json_object_get_string(annotations, "dind-cache.io/daemon-json-hash");
        char expected_hash[32];

        assert_string_equal(at_string(dep, DIND ".image"), p.image);
        assert_string_equal(json_string_value(json_array_get(json_object_get(daemon, "registry-mirrors"), 0)),
                            "https://mirror.example.com");
        assert_int_equal(json_integer_value(json_object_get(daemon, "mtu")), 1400);
        /* The flags are no longer args: dockerd refuses a setting given both ways. */
        assert_int_equal(json_array_size(at(dep, DIND ".args")),
                         json_array_size(at(manifest_find(before, "Deployment", NULL), DIND ".args")));
        assert_string_equal(hash, daemon_config_hash(text, expected_hash, sizeof(expected_hash)));

        /* Applying again with the same values changes nothing; another MTU changes the hash. */
        _cleanup_free_ char *first = strdup(hash);
        assert_int_equal(manifest_apply_params(objects, &p, NULL), 0);
        assert_string_equal(json_object_get_string(annotations, "dind-cache.io/daemon-json-hash"), first);
        p.mtu = 1450;
        assert_int_equal(manifest_apply_params(objects, &p, NULL), 0);
        assert_string_not_equal(json_object_get_string(annotations, "dind-cache.io/daemon-json-hash"), first);
}

/* What a build job may ask of the daemon is narrowed, whatever the parameters. */
static void daemon_json_grants_a_build_no_more_than_it_needs(void **state) {
        struct daemon_config_params p = { .registry_mirror = "https://m.example", .mtu = 1400 };
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_t *doc = NULL;

        assert_int_equal(daemon_config_text(&p, &text), 0);
        doc = json_loads(text, 0, NULL);
        assert_non_null(doc);
        assert_true(json_is_false(json_object_get(doc, "icc")));
        assert_true(json_is_true(json_object_get(doc, "no-new-privileges")));
        assert_true(json_is_false(json_get_path(doc, "builder", "entitlements", "network-host", NULL)));
        assert_true(json_is_false(json_get_path(doc, "builder", "entitlements", "security-insecure", NULL)));
        assert_string_equal(json_string_value(json_get_path(doc, "builder", "history", "maxAge", NULL)), "24h");
        assert_int_equal(json_integer_value(json_get_path(doc, "builder", "history", "maxEntries", NULL)), 50);
}

static void daemon_json_sizes_every_gc_rule_from_the_capacity(void **state) {
        struct daemon_config_params p = { .capacity = UINT64_C(100) << 30 };
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_t *doc = NULL;
        json_t *rule, *f;
        size_t i, k;

        assert_int_equal(daemon_config_text(&p, &text), 0);
        doc = json_loads(text, 0, NULL);
        assert_non_null(doc);
        assert_true(json_is_true(json_get_path(doc, "builder", "gc", "enabled", NULL)));
        assert_true(json_is_false(json_get_path(doc, "features", "containerd-snapshotter", NULL)));
        json_array_foreach(json_get_path(doc, "builder", "gc", "policy", NULL), i, rule) {
                const char *keys[] = { "reservedSpace", "maxUsedSpace", "minFreeSpace" };
                char seen[8][32] = {};
                for (k = 0; k < ELEMENTSOF(keys); k++) {
                        const char *v = json_object_get_string(rule, keys[k]);
                        assert_non_null(v);
                        assert_true(strtoull(v, NULL, 10) > 0 && strspn(v, "0123456789") == strlen(v));
                }
                json_array_foreach(json_object_get(rule, "filter"), k, f) {
                        const char *s = json_string_value(f);
                        size_t n = strcspn(s, "=");
                        for (size_t j = 0; j < k; j++)
                                assert_false(strlen(seen[j]) == n && strncmp(seen[j], s, n) == 0);
                        snprintf(seen[k], sizeof(seen[k]), "%.*s", (int) n, s);
                }
        }
        assert_int_equal(i, 4);
        /* 60 % of 100 GiB as the cache's cap, in bytes. */
        assert_string_equal(json_string_value(json_get_path(json_array_get(json_get_path(doc, "builder", "gc", "policy",
                                                                                          NULL), 3), "maxUsedSpace", NULL)),
                            "64424509440");
        p.mtu = 10;
        assert_int_equal(daemon_config_text(&p, &text), -EINVAL);
}

static void prune_overrides_land_in_the_cronjob(void **state) {
        struct manifest_params p = {
                .prune_schedule = "30 2 * * *",
                .prune_after_usec = UINT64_C(36) * 3600 * 1000000 + UINT64_C(30) * 60 * 1000000,
        };
        static const char *const expected[] = {
                "CronJob:.spec.schedule",
                "CronJob:.spec.jobTemplate.spec.template.spec.containers.#0.env.#1.value",
                NULL,
        };
        _cleanup_json_ json_t *objects = assert_changes(&p, expected);
        json_t *cron = manifest_find(objects, "CronJob", NULL);

        assert_string_equal(at_string(cron, "spec.schedule"), "30 2 * * *");
        assert_string_equal(at_string(cron, PRUNE ".env.name=PRUNE_AFTER.value"), "36h30m");
}

static void no_params_change_nothing(void **state) {
        struct manifest_params p = {};
        static const char *const expected[] = { NULL };
        _cleanup_json_ json_t *objects = assert_changes(&p, expected);
}

static void invalid_params_are_refused(void **state) {
        static char *bad_allow[] = { "ok", "NOT OK", NULL };
        const struct manifest_params cases[] = {
                { .namespace_ = "Kube_Ops" },
                { .namespace_ = "a.b" },
                { .node = "Node 1" },
                { .node = "-node" },
                { .data_dir = "relative/dir" },
                { .mtu = 10 },
                { .prune_after_usec = 10 },
                { .allow_namespaces = bad_allow },
                /* Text the objects cannot hold: refused with a reason, not -ENOMEM. */
                { .data_dir = "/mnt/\xff" },
                { .data_dir = "/mnt/\xed\xa0\x80" },
                { .data_dir = "/mnt/a\nb" },
                { .registry_mirror = "https://mirror\xc0\xaf" },
                { .registry_mirror = "https://m/\x1b[2J" },
                { .namespace_ = "a\nb" },
                { .prune_schedule = "1\n\x1b[31m 2 3 4" },
                { .image = "\xff" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *objects = (json_t *) 0x1;
                _cleanup_free_ char *error = NULL;
                assert_int_equal(manifest_render(&cases[i], &objects, &error), -EINVAL);
                assert_ptr_equal(objects, (json_t *) 0x1);
                assert_non_null(error);
                /* One printable line, whatever the value held. */
                assert_null(text_setting_problem(error));
        }
}

static void values_that_are_not_text_are_named_and_shown_escaped(void **state) {
        _cleanup_free_ char *dir = NULL, *mirror = NULL;
        json_t *objects = NULL;

        assert_int_equal(manifest_render(&(struct manifest_params) { .data_dir = "/mnt/a\xff" "b" }, &objects, &dir),
                         -EINVAL);
        assert_string_equal(dir, "invalid data directory '/mnt/a\\xffb': is not valid UTF-8");
        assert_int_equal(manifest_render(&(struct manifest_params) { .registry_mirror = "https://m\n" }, &objects,
                                         &mirror), -EINVAL);
        assert_string_equal(mirror, "invalid registry mirror 'https://m\\n': holds a control character");
        assert_null(objects);
}

static void rest_paths_follow_group_version_and_scope(void **state) {
        _cleanup_json_ json_t *objects = load_defaults();
        static const char *const paths[] = {
                "/api/v1/namespaces/kube-ops",
                "/apis/storage.k8s.io/v1/storageclasses/local-volume",
                "/api/v1/persistentvolumes/docker-pv",
                "/api/v1/namespaces/kube-ops/persistentvolumeclaims/docker-dind-data",
                "/apis/networking.k8s.io/v1/namespaces/kube-ops/networkpolicies/docker-dind",
                "/api/v1/namespaces/kube-ops/services/docker-dind",
                "/api/v1/namespaces/kube-ops/configmaps/docker-dind-daemon",
                "/apis/apps/v1/namespaces/kube-ops/deployments/docker-dind",
                "/apis/batch/v1/namespaces/kube-ops/cronjobs/docker-dind-clear-cache",
        };
        size_t i;
        json_t *o;

        json_array_foreach(objects, i, o) {
                _cleanup_free_ char *path = NULL, *coll = NULL;
                assert_int_equal(manifest_rest_path(o, &path), 0);
                assert_string_equal(path, paths[i]);
                assert_int_equal(manifest_collection_path(o, &coll), 0);
                assert_int_equal(strncmp(path, coll, strlen(coll)), 0);
                assert_int_equal(path[strlen(coll)], '/');
        }

        _cleanup_free_ char *d1 = manifest_describe(manifest_find(objects, "Deployment", NULL));
        _cleanup_free_ char *d2 = manifest_describe(manifest_find(objects, "PersistentVolume", NULL));
        assert_string_equal(d1, "Deployment kube-ops/docker-dind");
        assert_string_equal(d2, "PersistentVolume docker-pv");

        /* A Node, read while installing. */
        _cleanup_json_ json_t *node = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Node",
                                                "metadata", "name", "node1");
        _cleanup_free_ char *np = NULL;
        assert_int_equal(manifest_rest_path(node, &np), 0);
        assert_string_equal(np, "/api/v1/nodes/node1");
}

static void malformed_objects_have_no_path(void **state) {
        static const char *const bad[] = {
                "{\"apiVersion\": \"v1\", \"kind\": \"ServiceAccount\", \"metadata\": {\"name\": \"x\", \"namespace\": \"a\"}}",
                "{\"apiVersion\": \"v2\", \"kind\": \"Service\", \"metadata\": {\"name\": \"x\", \"namespace\": \"a\"}}",
                "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"x\"}}",
                "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"../x\", \"namespace\": \"a\"}}",
                "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"x\", \"namespace\": \"a/b\"}}",
                "{\"apiVersion\": \"v1\", \"kind\": \"PersistentVolume\", \"metadata\": {\"name\": \"x\", \"namespace\": \"a\"}}",
                "{\"apiVersion\": \"v1\", \"kind\": \"Service\"}",
                "[]",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_json_ json_t *o = json_loads(bad[i], 0, NULL);
                char *path = (char *) 0x1;
                assert_non_null(o);
                assert_int_equal(manifest_rest_path(o, &path), -EINVAL);
                assert_ptr_equal(path, (char *) 0x1);
        }
}

static void plaintext_is_port_2375_without_tls_and_without_certificates(void **state) {
        struct manifest_params p = { .plaintext = true };
        _cleanup_json_ json_t *objects = render(&p);
        json_t *dep = manifest_find(objects, "Deployment", NULL), *cron = manifest_find(objects, "CronJob", NULL);

        assert_int_equal(json_integer_value(at(manifest_find(objects, "Service", NULL), "spec.ports.#0.port")), 2375);
        assert_int_equal(json_integer_value(at(manifest_find(objects, "NetworkPolicy", NULL),
                                               "spec.ingress.#0.ports.#0.port")), 2375);
        assert_int_equal(json_integer_value(at(dep, DIND ".ports.name=docker.containerPort")), 2375);
        assert_string_equal(at_string(dep, DIND ".args.#0"), "--tls=false");
        assert_string_equal(at_string(dep, DIND ".env.name=DOCKER_TLS_CERTDIR.value"), "");
        /* The data and daemon.json; no certificates. */
        assert_int_equal(json_array_size(at(dep, DIND ".volumeMounts")), 2);
        assert_int_equal(json_array_size(at(dep, "spec.template.spec.volumes")), 2);
        assert_null(at(dep, DIND ".volumeMounts.name=server-certs"));
        assert_string_equal(at_string(cron, PRUNE ".env.name=DOCKER_HOST.value"), "tcp://docker-dind.kube-ops.svc:2375");
        assert_int_equal(json_array_size(json_object_get(at(cron, PRUNE), "volumeMounts")), 0);
        assert_int_equal(json_array_size(json_object_get(at(cron, "spec.jobTemplate.spec.template.spec"),
                                                         "volumes")), 0);
}

static bool env_has(json_t *container, const char *name) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(container, "env"), i, e)
                if (streq(json_string_value(json_object_get(e, "name")), name))
                        return true;
        return false;
}

static void plaintext_prune_job_sets_no_tls_variables(void **state) {
        struct manifest_params p = { .plaintext = true };
        _cleanup_json_ json_t *objects = render(&p);
        json_t *c = at(manifest_find(objects, "CronJob", NULL), PRUNE);

        assert_false(env_has(c, "DOCKER_TLS_VERIFY"));
        assert_false(env_has(c, "DOCKER_CERT_PATH"));
        assert_true(env_has(c, "DOCKER_HOST"));
}

static void tls_secrets_go_before_the_deployment_in_every_namespace(void **state) {
        char *allow[] = { "gitlab-runner", "kube-ops", "builds", "gitlab-runner", NULL };
        char *tenants[] = { "builds", "gitlab-runner", "kube-ops", NULL };
        struct manifest_params p = { .allow_namespaces = allow };
        struct manifest_tls_files tenant_files[] = { { "CA\n", "B", "BK" }, { "CA\n", "G", "GK" }, { "CA\n", "K", "KK" } };
        struct manifest_tls tls = {
                .server = { "CA\n", "SERVER\n", "SKEY" },
                .prune_job = { "CA\n", "P", "PK" },
                .tenants = tenants,
                .tenant_files = tenant_files,
                .server_sha256 = "abc123",
                .bundle_sha256 = "def456",
        };
        _cleanup_json_ json_t *objects = render(&p);
        _cleanup_json_ json_t *refs = NULL;
        _cleanup_free_ char *error = NULL;
        json_t *o, *srv, *ann;
        size_t i, dep_at = 0;
        const char *seen[8] = {}, *certs[8] = {};
        size_t n = 0;

        assert_int_equal(manifest_add_tls(objects, &p, &tls, &error), 0);
        json_array_foreach(objects, i, o) {
                const char *kind = json_object_get_string(o, "kind");
                struct manifest_ref ref;
                assert_int_equal(manifest_ref(o, &ref), 0);
                if (streq(kind, "Deployment"))
                        dep_at = i;
                if (streq(kind, "Secret")) {
                        assert_int_equal(dep_at, 0);
                        seen[n] = ref.namespace_;
                        certs[n++] = json_string_value(json_get_path(o, "data", "cert.pem", NULL));
                }
        }
        /* server + prune job in kube-ops, then each tenant once, each with its own key */
        assert_int_equal(n, 5);
        assert_string_equal(at_string(json_array_get(objects, dep_at - 4), "metadata.name"), "docker-dind-prune-client");
        assert_string_equal(certs[1], "UA==");
        assert_string_equal(seen[2], "gitlab-runner");
        assert_string_equal(certs[2], "Rw==");
        assert_string_equal(seen[3], "kube-ops");
        assert_string_equal(certs[3], "Sw==");
        assert_string_equal(seen[4], "builds");
        assert_string_equal(certs[4], "Qg==");
        srv = manifest_find(objects, "Secret", "docker-dind-server");
        assert_string_equal(json_string_value(json_object_get(json_object_get(srv, "data"), "ca.pem")), "Q0EK");
        assert_string_equal(json_string_value(json_object_get(json_object_get(srv, "data"), "cert.pem")), "U0VSVkVSCg==");
        assert_string_equal(json_string_value(json_object_get(json_object_get(srv, "data"), "key.pem")), "U0tFWQ==");
        ann = json_get_path(manifest_find(objects, "Deployment", NULL), "spec", "template", "metadata", "annotations",
                            NULL);
        assert_string_equal(json_string_value(json_object_get(ann, "dind-cache.io/server-cert-sha256")), "abc123");
        assert_string_equal(json_string_value(json_object_get(ann, "dind-cache.io/trust-bundle-sha256")), "def456");
        /* Twice is refused rather than doubled. */
        assert_int_equal(manifest_add_tls(objects, &p, &tls, &error), -EINVAL);

        assert_int_equal(manifest_tls_secret_refs(&p, &refs), 0);
        assert_int_equal(json_array_size(refs), 5);
        assert_null(json_object_get(json_array_get(refs, 0), "data"));
}

/* An allowed namespace without its own certificate is refused, not given another's. */
static void a_tenant_without_its_certificate_is_refused(void **state) {
        char *allow[] = { "gitlab-runner", "builds", NULL };
        char *tenants[] = { "gitlab-runner", NULL };
        struct manifest_params p = { .allow_namespaces = allow };
        struct manifest_tls_files tenant_files[] = { { "CA\n", "G", "GK" } };
        struct manifest_tls tls = {
                .server = { "CA\n", "S", "SK" }, .prune_job = { "CA\n", "P", "PK" },
                .tenants = tenants, .tenant_files = tenant_files,
        };
        _cleanup_json_ json_t *objects = render(&p);
        _cleanup_free_ char *error = NULL;

        assert_int_equal(manifest_add_tls(objects, &p, &tls, &error), -EINVAL);
        assert_non_null(strstr(error, "'builds'"));
}

/* A dry run sends the Secrets without data: no key goes to the API server. */
static void dry_run_secrets_carry_no_data(void **state) {
        char *allow[] = { "gitlab-runner", NULL };
        struct manifest_params p = { .allow_namespaces = allow };
        struct manifest_tls tls = { .dry_run = true, .server = { "CA\n", "SERVER\n", "SKEY" } };
        struct manifest_tls incomplete = { .server = { "CA\n", "SERVER\n", "SKEY" } };
        _cleanup_json_ json_t *objects = render(&p);
        _cleanup_free_ char *error = NULL;
        json_t *o;
        size_t i, n = 0;

        assert_int_equal(manifest_add_tls(objects, &p, &incomplete, &error), -EINVAL);
        assert_int_equal(manifest_add_tls(objects, &p, &tls, &error), 0);
        json_array_foreach(objects, i, o)
                if (streq(json_object_get_string(o, "kind"), "Secret")) {
                        n++;
                        assert_null(json_object_get(o, "data"));
                }
        assert_int_equal(n, 3);
        assert_null(json_object_get(json_get_path(manifest_find(objects, "Deployment", NULL), "spec", "template",
                                                  "metadata", "annotations", NULL),
                                    "dind-cache.io/server-cert-sha256"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(manifests_load_in_apply_order),
                cmocka_unit_test(defaults_are_the_seed_names_with_the_fixes),
                cmocka_unit_test(namespace_moves_every_namespaced_object_and_the_dns_name),
                cmocka_unit_test(allowed_namespaces_join_the_policy_once_each),
                cmocka_unit_test(volume_overrides_land_in_pv_and_pvc),
                cmocka_unit_test(daemon_overrides_land_in_daemon_json_and_restart_the_pod),
                cmocka_unit_test(daemon_json_sizes_every_gc_rule_from_the_capacity),
                cmocka_unit_test(daemon_json_grants_a_build_no_more_than_it_needs),
                cmocka_unit_test(prune_overrides_land_in_the_cronjob),
                cmocka_unit_test(no_params_change_nothing),
                cmocka_unit_test(invalid_params_are_refused),
                cmocka_unit_test(values_that_are_not_text_are_named_and_shown_escaped),
                cmocka_unit_test(rest_paths_follow_group_version_and_scope),
                cmocka_unit_test(malformed_objects_have_no_path),
                cmocka_unit_test(plaintext_is_port_2375_without_tls_and_without_certificates),
                cmocka_unit_test(plaintext_prune_job_sets_no_tls_variables),
                cmocka_unit_test(tls_secrets_go_before_the_deployment_in_every_namespace),
                cmocka_unit_test(a_tenant_without_its_certificate_is_refused),
                cmocka_unit_test(dry_run_secrets_carry_no_data),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
