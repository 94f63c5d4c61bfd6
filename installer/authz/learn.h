/* SPDX-License-Identifier: MIT */
#pragma once

/* Ownership learned from dockerd's replies (the AuthZRes call), for the row the
 * request matched (policy.h's "learn"):
 *   container create    {"Id"} and the query's name=, the named volumes it mounts that
 *                       nobody owned (the daemon made them)
 *   exec create         {"Id"}, under the container of the path
 *   volume create       {"Name"}; network create {"Id"} and the body's Name
 *   remove / prune      the object of the path; ContainersDeleted, VolumesDeleted,
 *                       NetworksDeleted
 *   rename              the query's name=
 *   inspect / lists     names of known IDs (a name the daemon made up); a complete list
 *                       (no filter, no limit; containers with all=1) forgets what it
 *                       lacks (containers that removed themselves, --rm); an inspect of
 *                       one's own container, the anonymous volumes it mounts (names of
 *                       64 hex digits the daemon made up: compose mounts them again
 *                       by name when it recreates the container)
 * Only 2xx replies teach; a reply over the cap (authz-request.h) or not the JSON the
 * API describes teaches nothing. Library: never prints; negative errno. */

#include <stdint.h>

#include "authz/authz-request.h"
#include "authz/identity.h"
#include "authz/owners.h"

/* How many records changed (then save them), or -ENOMEM. */
/* REQ's bodies are decoded here, when its row learns from them. */
int learn_from_response(struct owners *o, struct authz_request *req, const struct identity *id, int64_t now);
