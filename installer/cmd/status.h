/* SPDX-License-Identifier: MIT */
#pragma once

/* The cluster part of `dind-cache status` (cmd-status-members.c). Command layer. */

#include <stdbool.h>
#include <stddef.h>

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
