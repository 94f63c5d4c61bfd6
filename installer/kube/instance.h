/* SPDX-License-Identifier: MIT */
#pragma once

/* Instances: several caches in one namespace, one per storage node, each with its
 * own objects (PV, PVC, Deployment, Service, CronJob, Secrets, ConfigMaps) named from
 * the instance's name, sharing the Namespace, StorageClass and NetworkPolicy.
 *
 * Invariants:
 * - The unnamed (default) instance is INSTANCE NULL: every name is the manifests' own,
 *   byte for byte, so single-node installs made before instances existed stay as
 *   they are.
 * - A named instance's objects are named by instance_object_name(): "docker-dind"
 *   and every name that starts "docker-dind-" get "-NAME" after "docker-dind"
 *   (docker-dind-a, docker-dind-a-data, docker-dind-a-client, docker-dind-a-clear-cache);
 *   any other name gets "-NAME" at its end (docker-pv-a). New objects (a ConfigMap of
 *   the pruner, say) are named by the same function.
 * - An instance name is a DNS-1123 label of at most INSTANCE_NAME_MAX characters (so
 *   that the CronJob's name stays within the 52 characters the API allows), and is
 *   not INSTANCE_DEFAULT_KEY, which names the unnamed instance in the members
 *   ConfigMap.
 * - A named instance's objects carry the label INSTANCE_LABEL=NAME; its Deployment,
 *   Service and pods select on it, so no Service ever selects another's pods.
 * - Library code: never prints; negative errno. */

#include <stdbool.h>

#define INSTANCE_NAME_MAX 28
#define INSTANCE_LABEL "dind-cache.io/instance"
#define INSTANCE_DEFAULT_KEY "default"
#define INSTANCE_PREFIX "docker-dind"
/* The ConfigMap in the namespace that lists every instance: one key per instance
 * (its name, or INSTANCE_DEFAULT_KEY), the value its Service's "HOST:PORT". */
#define INSTANCE_MEMBERS_CONFIGMAP "dind-cache-members"
/* Each instance's server-side apply field manager for its key: "dind-cache/NAME". */
#define INSTANCE_FIELD_MANAGER_PREFIX "dind-cache/"

/* 0 when NAME may name an instance; -EINVAL with a malloc()ed reason otherwise. */
int instance_validate(const char *name, char **ret_reason);

/* BASE's name for INSTANCE (NULL: BASE itself), into BUF of SIZE; NULL when it does
 * not fit (never with a valid instance and the manifests' names in 64 bytes). */
const char *instance_object_name(const char *base, const char *instance, char *buf, size_t size);

/* The names one instance's objects have. */
struct instance_names {
        char pv[64], pvc[64], deployment[64], service[64], cronjob[64];
        char server_secret[64], client_secret[64], prune_secret[64];
};
/* -EINVAL when INSTANCE is not valid. */
int instance_names_init(const char *instance, struct instance_names *ret);

/* The key of INSTANCE in the members ConfigMap, and its field manager. */
const char *instance_key(const char *instance);
/* "dind-cache/KEY" into BUF of SIZE. */
const char *instance_field_manager(const char *instance, char *buf, size_t size);
