/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kube/daemon-config.h"
#include "base/json-util.h"

/* Bytes as the daemon parses them (units.RAMInBytes: a plain number is bytes). */
static json_t *size(uint64_t bytes) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIu64, bytes);
        return json_string(buf);
}

/* PERCENT of C, rounded down, without overflow. */
static uint64_t percent_of(uint64_t c, unsigned percent) {
        return c / 100 * percent + c % 100 * percent / 100;
}

/* One GC rule: FILTER (NULL-terminated "key=value", one value per key), ALL, and the
 * three sizes as fractions of the capacity C (in per cent). */
static json_t *rule(uint64_t c, const char *const *filter, bool all, unsigned reserved, unsigned max_used,
                    unsigned min_free) {
        json_t *r = json_object(), *f;

        if (!r)
                return NULL;
        if (filter) {
                f = json_array();
                for (; f && *filter; filter++)
                        if (json_array_append_new(f, json_string(*filter)) < 0) {
                                json_decref(f);
                                f = NULL;
                        }
                if (!f || json_object_set_new(r, "filter", f) < 0)
                        goto fail;
        }
        if (all && json_object_set_new(r, "all", json_true()) < 0)
                goto fail;
        if (json_object_set_new(r, "reservedSpace", size(percent_of(c, reserved))) < 0 ||
            json_object_set_new(r, "maxUsedSpace", size(percent_of(c, max_used))) < 0 ||
            json_object_set_new(r, "minFreeSpace", size(percent_of(c, min_free))) < 0)
                goto fail;
        return r;
fail:
        json_decref(r);
        return NULL;
}

int daemon_config_text(const struct daemon_config_params *p, char **ret) {
        static const char *const local[] = { "type=source.local", "unused-for=48h", NULL };
        static const char *const old[] = { "unused-for=1440h", NULL };
        _cleanup_json_ json_t *doc = NULL;
        uint64_t c = p->capacity ? p->capacity : DAEMON_CONFIG_DEFAULT_CAPACITY;
        json_t *policy;
        char *text;

        if (p->mtu != 0 && (p->mtu < 68 || p->mtu > 65535))
                return -EINVAL;
        /* Build context uploads first, then records unused for 60 days, then every
         * shared-free record, then everything: each stops once the cache is under its
         * cap (60 % of the volume, leaving room for images under the pruner's 80 %),
         * 20 % of the volume is free, and never below its reserve. */
        policy = json_pack("[o, o, o, o]",
                           rule(c, local, false, 5, 20, 10),
                           rule(c, old, false, 10, 60, 20),
                           rule(c, NULL, false, 10, 60, 20),
                           rule(c, NULL, true, 10, 60, 20));
        if (!policy)
                return -ENOMEM;
        doc = json_pack("{s:{s:{s:b, s:o}, s:{s:b, s:b}, s:{s:s, s:i}}, s:{s:b}, s:b, s:b}",
                        "builder", "gc", "enabled", 1, "policy", policy,
                        "entitlements", "network-host", 0, "security-insecure", 0,
                        "history", "maxAge", DAEMON_CONFIG_HISTORY_MAX_AGE, "maxEntries",
                        DAEMON_CONFIG_HISTORY_MAX_ENTRIES,
                        "features", "containerd-snapshotter", 0,
                        "icc", 0, "no-new-privileges", 1);
        if (!doc)
                return -ENOMEM;
        if (p->authz && json_object_set_new(doc, "authorization-plugins", json_pack("[s]", DAEMON_CONFIG_AUTHZ_PLUGIN)) < 0)
                return -ENOMEM;
        if (p->registry_mirror && json_object_set_new(doc, "registry-mirrors", json_pack("[s]", p->registry_mirror)) < 0)
                return -ENOMEM;
        if (p->mtu != 0 && json_object_set_new(doc, "mtu", json_integer(p->mtu)) < 0)
                return -ENOMEM;
        text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text)
                return -ENOMEM;
        *ret = strdup_printf("%s\n", text);
        free(text);
        return *ret ? 0 : -ENOMEM;
}

char *daemon_config_hash(const char *text, char *buf, size_t size) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
                h ^= *p;
                h *= UINT64_C(1099511628211);
        }
        snprintf(buf, size, "fnv1a64:%016" PRIx64, h);
        return buf;
}
