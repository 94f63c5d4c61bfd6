/* SPDX-License-Identifier: MIT */
/* A named instance in the manifests (kube/instance.h): its objects renamed and
 * labelled, and every reference to them by name or by label. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/json-util.h"
#include "base/util.h"
#include "kube/instance.h"
#include "kube/manifest.h"
#include "kube/manifest-private.h"

static int set_string(json_t *obj, const char *key, const char *value) {
        return json_object_set_new(obj, key, json_string(value)) < 0 ? -ENOMEM : 0;
}

/* Sets the label INSTANCE_LABEL=VALUE in the map at PATH (NULL-terminated keys) of
 * OBJ, making the maps on the way when absent. */
static int set_instance_label(json_t *obj, const char *value, const char *const *path) {
        json_t *o = obj;

        for (; *path; path++) {
                json_t *next = json_object_get(o, *path);
                if (!next) {
                        next = json_object();
                        if (!next || json_object_set_new(o, *path, next) < 0)
                                return -ENOMEM;
                }
                if (!json_is_object(next))
                        return -EINVAL;
                o = next;
        }
        return set_string(o, INSTANCE_LABEL, value);
}

#define PATH(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* The instance's name for the string KEY of OBJ, when OBJ has it. */
static int rename_ref(json_t *obj, const char *key, const char *instance) {
        const char *old = json_object_get_string(obj, key);
        char buf[256];

        if (!old)
                return 0;
        if (!instance_object_name(old, instance, buf, sizeof(buf)))
                return -EINVAL;
        return set_string(obj, key, buf);
}

/* A pod spec's volumes: the claims, Secrets and ConfigMaps are the instance's own. */
static int rename_volumes(json_t *pod_spec, const char *instance) {
        json_t *v;
        size_t i;
        int r;

        json_array_foreach(json_object_get(pod_spec, "volumes"), i, v) {
                if ((r = rename_ref(json_object_get(v, "persistentVolumeClaim"), "claimName", instance)) < 0 ||
                    (r = rename_ref(json_object_get(v, "secret"), "secretName", instance)) < 0 ||
                    (r = rename_ref(json_object_get(v, "configMap"), "name", instance)) < 0)
                        return r;
        }
        return 0;
}

/* A named instance: its own objects renamed (kube/instance.h) and labelled, and
 * everything that refers to them by name or selects them by label. The Namespace,
 * StorageClass and NetworkPolicy are shared: the policy selects every instance's
 * daemon by the labels they all carry. */
int manifest_apply_instance(json_t *objects, const struct manifest_params *p, char **ret_error) {
        const char *in = p->instance;
        json_t *o;
        size_t i;
        int r;

        if (!in)
                return 0;
        json_array_foreach(objects, i, o) {
                const char *kind = json_object_get_string(o, "kind");

                if (streq(kind, "Namespace") || streq(kind, "StorageClass") || streq(kind, "NetworkPolicy"))
                        continue;
                r = rename_ref(json_object_get(o, "metadata"), "name", in);
                if (r >= 0)
                        r = set_instance_label(o, in, PATH("metadata", "labels"));
                if (r >= 0 && streq(kind, "PersistentVolumeClaim"))
                        r = rename_ref(json_object_get(o, "spec"), "volumeName", in);
                else if (r >= 0 && streq(kind, "Deployment")) {
                        r = set_instance_label(o, in, PATH("spec", "selector", "matchLabels"));
                        if (r >= 0)
                                r = set_instance_label(o, in, PATH("spec", "template", "metadata", "labels"));
                        if (r >= 0)
                                r = rename_volumes(json_get_path(o, "spec", "template", "spec", NULL), in);
                } else if (r >= 0 && streq(kind, "Service"))
                        r = set_instance_label(o, in, PATH("spec", "selector"));
                else if (r >= 0 && streq(kind, "CronJob")) {
                        r = set_instance_label(o, in, PATH("spec", "jobTemplate", "metadata", "labels"));
                        if (r >= 0)
                                r = set_instance_label(o, in, PATH("spec", "jobTemplate", "spec", "template",
                                                                   "metadata", "labels"));
                        if (r >= 0)
                                r = rename_volumes(json_get_path(o, "spec", "jobTemplate", "spec", "template",
                                                                 "spec", NULL), in);
                }
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        _cleanup_free_ char *what = manifest_describe(o);
                        return manifest_fail(ret_error, "cannot name %s for instance '%s'", what ?: "an object", in);
                }
        }
        return 0;
}

