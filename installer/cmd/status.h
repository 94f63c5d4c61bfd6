/* SPDX-License-Identifier: MIT */
#pragma once

/* The cluster part of `dind-cache status` (cmd-status-members.c). Command layer. */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "check/cache-state.h"
#include "kube/members.h"

struct status_member {
        char *node;              /* the node its daemon's pod runs on, or NULL */
        size_t pods;             /* its daemon's pods */
        bool ready;              /* one of them is Ready */
        bool error;              /* its pods could not be listed */
};

struct status_members {
        char *error;             /* why the cluster could not be asked, or NULL */
        struct members members;  /* the ConfigMap's keys */
        struct status_member *v; /* one per member */
        size_t n;
};

void status_members_done(struct status_members *s);

/* Reads the members and looks at each one's pods. On failure, sets
 * ret->error (-EIO), or returns -ENOMEM. */
int status_members_gather(const char *kubeconfig, const char *context, const char *ns, struct status_members *ret);

/* The Cache section (cmd-status-cache.c), from the checker's state directory. */
struct status_tenant_builds {
        const char *tenant;      /* a namespace, or a node identity ("dind-cache:checker") */
        uint64_t builds;         /* in the last day */
};

struct status_cache {
        const char *dir;
        int r;                   /* 1 kept, 0 nothing kept yet, <0 cannot read */
        int64_t now;
        struct cache_state state;
        struct status_tenant_builds *tenants;
        size_t n_tenants;
};

int status_cache_gather(const char *state_dir, struct status_cache *ret);
void status_cache_done(struct status_cache *c);
void status_cache_print(const struct status_cache *c);
json_t *status_cache_json(const struct status_cache *c);

/* The seam for the authorization plugin's counts: one line of each tenant's builds in
 * the last day (nothing when N is 0). */
void status_print_tenant_builds(const struct status_tenant_builds *v, size_t n);
