/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "base/json-util.h"
#include "base/util.h"
#include "kube/pod-security.h"

/* True when MANAGER's Apply owns the enforce label in NS's managedFields. */
static bool label_owned_by(const json_t *ns, const char *manager) {
        json_t *entry;
        size_t i;

        json_array_foreach(json_get_path(ns, "metadata", "managedFields", NULL), i, entry)
                if (streq(json_object_get_string(entry, "manager"), manager) &&
                    json_get_path(entry, "fieldsV1", "f:metadata", "f:labels", "f:" POD_SECURITY_ENFORCE_LABEL, NULL))
                        return true;
        return false;
}

enum pod_security_verdict pod_security_judge(const json_t *ns, const char *manager, const char **ret_level) {
        const char *level = json_string_value(json_get_path(ns, "metadata", "labels", POD_SECURITY_ENFORCE_LABEL, NULL));

        if (ret_level)
                *ret_level = level;
        if (!ns)
                return POD_SECURITY_NO_NAMESPACE;
        if (json_get_path(ns, "metadata", "annotations", POD_SECURITY_MARK, NULL) || label_owned_by(ns, manager))
                return POD_SECURITY_OURS;
        if (!level)
                return POD_SECURITY_UNLABELLED;
        return streq(level, POD_SECURITY_PRIVILEGED) ? POD_SECURITY_ADMITS : POD_SECURITY_REFUSES;
}

void pod_security_unlabel(json_t *obj) {
        json_t *meta = json_object_get(obj, "metadata");
        json_t *labels = json_object_get(meta, "labels"), *annotations = json_object_get(meta, "annotations");

        json_object_del(labels, POD_SECURITY_ENFORCE_LABEL);
        json_object_del(annotations, POD_SECURITY_MARK);
        if (annotations && json_object_size(annotations) == 0)
                json_object_del(meta, "annotations");
}
