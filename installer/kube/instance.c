/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "kube/instance.h"
#include "kube/manifest.h"
#include "kube/validate.h"

int instance_validate(const char *name, char **ret_reason) {
        int r;

        if (!name)
                return -EINVAL;
        r = validate_dns_label(name, ret_reason);
        if (r < 0)
                return r;
        if (strlen(name) > INSTANCE_NAME_MAX) {
                char *s = strdup_printf("must be no more than %d characters (the CronJob's name, "
                                        "docker-dind-NAME-clear-cache, may have 52)", INSTANCE_NAME_MAX);
                if (!s)
                        return -ENOMEM;
                if (ret_reason)
                        *ret_reason = s;
                else
                        free(s);
                return -EINVAL;
        }
        if (streq(name, INSTANCE_DEFAULT_KEY)) {
                char *s = strdup("names the unnamed instance; leave --instance out for it");
                if (!s)
                        return -ENOMEM;
                if (ret_reason)
                        *ret_reason = s;
                else
                        free(s);
                return -EINVAL;
        }
        return 0;
}

const char *instance_object_name(const char *base, const char *instance, char *buf, size_t size) {
        size_t n = strlen(INSTANCE_PREFIX);
        int k;

        if (!base || !buf || size == 0)
                return NULL;
        if (!instance)
                k = snprintf(buf, size, "%s", base);
        else if (strncmp(base, INSTANCE_PREFIX, n) == 0 && (base[n] == '\0' || base[n] == '-'))
                k = snprintf(buf, size, "%.*s-%s%s", (int) n, base, instance, base + n);
        else
                k = snprintf(buf, size, "%s-%s", base, instance);
        if (k < 0 || (size_t) k >= size)
                return NULL;
        return buf;
}

int instance_names_init(const char *instance, struct instance_names *ret) {
        struct instance_names n = {};
        _cleanup_free_ char *why = NULL;

        if (instance && instance_validate(instance, &why) < 0)
                return -EINVAL;
        if (!instance_object_name(MANIFEST_PV, instance, n.pv, sizeof(n.pv)) ||
            !instance_object_name(MANIFEST_PVC, instance, n.pvc, sizeof(n.pvc)) ||
            !instance_object_name(MANIFEST_DEPLOYMENT, instance, n.deployment, sizeof(n.deployment)) ||
            !instance_object_name(MANIFEST_SERVICE, instance, n.service, sizeof(n.service)) ||
            !instance_object_name(MANIFEST_CRONJOB, instance, n.cronjob, sizeof(n.cronjob)) ||
            !instance_object_name(MANIFEST_SERVER_SECRET, instance, n.server_secret, sizeof(n.server_secret)) ||
            !instance_object_name(MANIFEST_CLIENT_SECRET, instance, n.client_secret, sizeof(n.client_secret)) ||
            !instance_object_name(MANIFEST_PRUNE_SECRET, instance, n.prune_secret, sizeof(n.prune_secret)))
                return -EINVAL;
        *ret = n;
        return 0;
}

const char *instance_key(const char *instance) {
        return instance ?: INSTANCE_DEFAULT_KEY;
}

const char *instance_field_manager(const char *instance, char *buf, size_t size) {
        int k = snprintf(buf, size, INSTANCE_FIELD_MANAGER_PREFIX "%s", instance_key(instance));
        return k < 0 || (size_t) k >= size ? NULL : buf;
}
