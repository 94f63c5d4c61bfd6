/* SPDX-License-Identifier: MIT */
#pragma once

/* Membership of the cluster: the ConfigMap INSTANCE_MEMBERS_CONFIGMAP
 * (kube/instance.h) in the namespace lists every instance, one key each:
 *     data:
 *       a: docker-dind-a.kube-ops.svc:2376
 *       default: docker-dind.kube-ops.svc:2376
 * Each key is written by its own instance with server-side apply under the field
 * manager "dind-cache/KEY" and a config holding that key only, so that manager owns
 * exactly that key: installs on several nodes at once never overwrite each other,
 * and an apply of the config without data (members_config() with no address) removes
 * the key that manager alone owned, and nothing else.
 *
 * Invariants:
 * - What is read back is outside input: at most MEMBERS_MAX keys are kept, each value
 *   capped at MEMBER_ADDRESS_MAX bytes and stripped of control characters; a value
 *   that is not HOST:PORT (a DNS name, IPv4 address or [IPv6] address, and a port
 *   1-65535) is kept for showing but marked not valid, and left out of the hosts list.
 * - Members are sorted by key.
 * - Library code: never prints; negative errno. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MEMBERS_MAX 256
#define MEMBER_ADDRESS_MAX 300

struct member {
        char *key;               /* the instance's name, or INSTANCE_DEFAULT_KEY */
        char *address;           /* cleaned "HOST:PORT" */
        char *manager;           /* the Apply field manager that owns the key, or NULL */
        bool valid;              /* address is a HOST:PORT */
};

struct members {
        struct member *v;
        size_t n;
        bool truncated;          /* more than MEMBERS_MAX keys */
};

void members_done(struct members *m);

/* The REST path of the members ConfigMap in NS: malloc()ed, or NULL. */
char *members_path(const char *ns);

/* The apply config for INSTANCE (NULL: the unnamed one) in NS: the ConfigMap with
 * only its key set to ADDRESS; ADDRESS NULL: with no data, which removes the key. */
int members_config(const char *ns, const char *instance, const char *address, json_t **ret);

/* The member address of a Service: "SERVICE.NS.svc:PORT", malloc()ed, or NULL. */
char *members_address(const char *service, const char *ns, int port);

/* 1 when ADDRESS is a HOST:PORT as described above, else 0. */
bool members_address_valid(const char *address);

/* The members in the live ConfigMap CM (NULL: none), with each key's owner from
 * metadata.managedFields. */
int members_parse(const json_t *cm, struct members *ret);

/* The member of KEY, or NULL. */
const struct member *members_find(const struct members *m, const char *key);

/* The valid addresses, separated by spaces (DIND_CACHE_HOSTS): malloc()ed, "" for
 * none, NULL on allocation failure. */
char *members_hosts(const struct members *m);
