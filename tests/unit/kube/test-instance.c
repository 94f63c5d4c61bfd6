/* SPDX-License-Identifier: MIT */
/* Instances: names, validation, and what a named instance changes in the manifests
 * (its objects renamed and labelled, references followed, shared objects untouched). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/json-util.h"
#include "base/util.h"
#include "kube/instance.h"
#include "kube/manifest.h"

static const char *name_of(const char *base, const char *instance, char *buf) {
        return instance_object_name(base, instance, buf, 64);
}

static void object_names_follow_the_docker_dind_prefix(void **state) {
        char b[64];

        assert_string_equal(name_of("docker-dind", "a", b), "docker-dind-a");
        assert_string_equal(name_of("docker-dind-client", "a", b), "docker-dind-a-client");
        assert_string_equal(name_of("docker-dind-clear-cache", "ci-2", b), "docker-dind-ci-2-clear-cache");
        assert_string_equal(name_of("docker-pv", "a", b), "docker-pv-a");
        /* a name that only starts like the prefix is not one of ours */
        assert_string_equal(name_of("docker-dindx", "a", b), "docker-dindx-a");
        /* the unnamed instance keeps every name */
        assert_string_equal(name_of("docker-dind-data", NULL, b), "docker-dind-data");
        assert_null(instance_object_name("docker-dind", "a", b, 8));
}

static void instance_names_are_dns_labels_short_enough_for_the_cronjob(void **state) {
        struct instance_names n;
        char *why = NULL;
        char longest[INSTANCE_NAME_MAX + 2];

        assert_int_equal(instance_validate("a", NULL), 0);
        assert_int_equal(instance_validate("Upper", &why), -EINVAL);
        assert_non_null(why);
        free(why);
        why = NULL;
        assert_int_equal(instance_validate("default", &why), -EINVAL);
        assert_non_null(strstr(why, "unnamed"));
        free(why);
        memset(longest, 'a', sizeof(longest) - 1);
        longest[INSTANCE_NAME_MAX] = '\0';
        assert_int_equal(instance_names_init(longest, &n), 0);
        assert_true(strlen(n.cronjob) <= 52);   /* the API's limit on CronJob names */
        longest[INSTANCE_NAME_MAX] = 'a';
        longest[INSTANCE_NAME_MAX + 1] = '\0';
        assert_int_equal(instance_validate(longest, NULL), -EINVAL);

        assert_int_equal(instance_names_init(NULL, &n), 0);
        assert_string_equal(n.pv, MANIFEST_PV);
        assert_string_equal(n.client_secret, MANIFEST_CLIENT_SECRET);
}

static void keys_and_managers_name_the_unnamed_instance_default(void **state) {
        char m[64];

        assert_string_equal(instance_key(NULL), "default");
        assert_string_equal(instance_key("b"), "b");
        assert_string_equal(instance_field_manager(NULL, m, sizeof(m)), "dind-cache/default");
        assert_string_equal(instance_field_manager("b", m, sizeof(m)), "dind-cache/b");
}

static const char *str(const json_t *o, const char *k1, const char *k2, const char *k3) {
        return json_string_value(json_get_path(o, k1, k2, k3, NULL));
}

static void a_named_instance_renames_its_objects_and_keeps_the_shared_ones(void **state) {
        struct manifest_params p = { .instance = "b", .allow_namespaces = (char *[]) { "ci", NULL } };
        _cleanup_json_ json_t *objects = NULL;
        _cleanup_free_ char *error = NULL;
        json_t *dep, *svc, *cron, *pvc, *o;
        size_t i;

        assert_int_equal(manifest_render(&p, &objects, &error), 0);
        assert_non_null(manifest_find(objects, "Namespace", "kube-ops"));
        assert_non_null(manifest_find(objects, "StorageClass", MANIFEST_STORAGECLASS));
        assert_non_null(manifest_find(objects, "NetworkPolicy", MANIFEST_NETWORKPOLICY));
        assert_non_null(manifest_find(objects, "PersistentVolume", "docker-pv-b"));
        pvc = manifest_find(objects, "PersistentVolumeClaim", "docker-dind-b-data");
        dep = manifest_find(objects, "Deployment", "docker-dind-b");
        svc = manifest_find(objects, "Service", "docker-dind-b");
        cron = manifest_find(objects, "CronJob", "docker-dind-b-clear-cache");
        assert_non_null(pvc);
        assert_non_null(dep);
        assert_non_null(svc);
        assert_non_null(cron);
        assert_string_equal(str(pvc, "spec", "volumeName", NULL), "docker-pv-b");
        assert_string_equal(str(json_get_path(dep, "spec", "selector", "matchLabels", NULL), INSTANCE_LABEL, NULL,
                                NULL), "b");
        assert_string_equal(json_string_value(json_get_path(dep, "spec", "template", "metadata", "labels",
                                                            INSTANCE_LABEL, NULL)), "b");
        assert_string_equal(str(svc, "spec", "selector", INSTANCE_LABEL), "b");
        json_array_foreach(json_get_path(dep, "spec", "template", "spec", "volumes", NULL), i, o) {
                const char *claim = str(o, "persistentVolumeClaim", "claimName", NULL);
                const char *secret = str(o, "secret", "secretName", NULL);
                if (claim)
                        assert_string_equal(claim, "docker-dind-b-data");
                if (secret)
                        assert_string_equal(secret, "docker-dind-b-server");
        }
        assert_string_equal(str(json_array_get(json_get_path(cron, "spec", "jobTemplate", "spec", "template", "spec",
                                                             "volumes", NULL), 0), "secret", "secretName", NULL),
                            "docker-dind-b-prune-client");
        json_array_foreach(json_get_path(cron, "spec", "jobTemplate", "spec", "template", "spec", "containers", NULL),
                           i, o) {
                size_t j;
                json_t *e;
                json_array_foreach(json_object_get(o, "env"), j, e)
                        if (streq(json_object_get_string(e, "name"), "DOCKER_HOST"))
                                assert_string_equal(json_object_get_string(e, "value"),
                                                    "tcp://docker-dind-b.kube-ops.svc:2376");
        }
        /* the shared ones carry no instance label: every instance applies them alike */
        assert_null(json_get_path(manifest_find(objects, "NetworkPolicy", NULL), "metadata", "labels",
                                  INSTANCE_LABEL, NULL));
        assert_null(json_get_path(manifest_find(objects, "NetworkPolicy", NULL), "spec", "podSelector",
                                  "matchLabels", INSTANCE_LABEL, NULL));
}

static void the_instances_secrets_carry_its_names_in_every_namespace(void **state) {
        struct manifest_params p = { .instance = "b", .allow_namespaces = (char *[]) { "ci", NULL } };
        _cleanup_json_ json_t *refs = NULL;

        assert_int_equal(manifest_tls_secret_refs(&p, &refs), 0);
        assert_int_equal(json_array_size(refs), 3);
        assert_string_equal(str(json_array_get(refs, 0), "metadata", "name", NULL), "docker-dind-b-server");
        assert_string_equal(str(json_array_get(refs, 1), "metadata", "name", NULL), "docker-dind-b-prune-client");
        assert_string_equal(str(json_array_get(refs, 1), "metadata", "namespace", NULL), "kube-ops");
        assert_string_equal(str(json_array_get(refs, 2), "metadata", "name", NULL), "docker-dind-b-client");
        assert_string_equal(str(json_array_get(refs, 2), "metadata", "namespace", NULL), "ci");
        assert_string_equal(str(json_array_get(refs, 2), "metadata", "labels", INSTANCE_LABEL), "b");
}

static void an_invalid_instance_is_refused_by_render(void **state) {
        struct manifest_params p = { .instance = "B_" };
        json_t *objects = NULL;
        _cleanup_free_ char *error = NULL;

        assert_int_equal(manifest_render(&p, &objects, &error), -EINVAL);
        assert_null(objects);
        assert_non_null(strstr(error, "invalid instance 'B_'"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(object_names_follow_the_docker_dind_prefix),
                cmocka_unit_test(instance_names_are_dns_labels_short_enough_for_the_cronjob),
                cmocka_unit_test(keys_and_managers_name_the_unnamed_instance_default),
                cmocka_unit_test(a_named_instance_renames_its_objects_and_keeps_the_shared_ones),
                cmocka_unit_test(the_instances_secrets_carry_its_names_in_every_namespace),
                cmocka_unit_test(an_invalid_instance_is_refused_by_render),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
