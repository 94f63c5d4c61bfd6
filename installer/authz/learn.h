/* SPDX-License-Identifier: MIT */
#pragma once

/* Ownership learned from dockerd's replies (the AuthZRes call), for the row the
 * request matched (policy.h's "learn"):
 *   container create    {"Id"} and the query's name= (the named volumes it mounts
 *                       are claimed from its request on: learn_from_request)
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

struct policy_row;

/* How many records changed (then save them), or -ENOMEM. */
/* REQ's bodies are decoded here, when its row learns from them. */
int learn_from_response(struct owners *o, struct authz_request *req, const struct identity *id, int64_t now);

/* An allowed request ROW matched (AuthZReq): the named volumes it will make that nobody
 * owns (a container create's Binds and Mounts, a volume create's Name) become the
 * caller's at once. Claimed only when the daemon's reply came, two tenants' creates of
 * one name could both be allowed, and the second one's container would mount the
 * volume the first one's made. A name asked for stays the asker's even when the
 * daemon then fails the create. How many records changed, or -ENOMEM. */
int learn_from_request(struct owners *o, const struct authz_request *req, const struct policy_row *row,
                       const struct identity *id, int64_t now);
