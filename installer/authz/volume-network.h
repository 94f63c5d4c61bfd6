/* SPDX-License-Identifier: MIT */
#pragma once

/* The bodies of POST /volumes/create, /networks/create, /networks/{id}/connect and
 * /disconnect, read as Go reads them (go-json.h).
 *
 * Refused:
 *   volume-options    a volume driver but local, or driver options (`-o o=bind -o
 *                     device=/` mounts any path of the node), a cluster volume
 *   not-your-volume   a name another identity owns (create returns the existing one),
 *                     or 64 hex digits the plugin does not know (an anonymous volume)
 *   network-name      a network name outside [a-zA-Z0-9][a-zA-Z0-9_.-]*
 *   not-your-network  a name another identity owns; connecting to a network the
 *                     caller does not own (bridge and none excepted)
 *   network-options   a driver but bridge, driver or IPAM options, an IPAM driver,
 *                     chosen subnets, ranges or gateways (IPAM Config: each subnet is a
 *                     route of the daemon's network namespace), a swarm scope,
 *                     attachable, ingress, config-only or config-from networks,
 *                     endpoint driver options
 *   not-your-container / other-container   connecting or disconnecting a container,
 *                     or linking one, the caller does not own
 *   malformed-body    JSON that Go would read differently or refuse
 *
 * Invariants: as container-create.h. */

#include <jansson.h>

#include "authz/verdict.h"

int volume_create_check(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v);
int network_create_check(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v);
/* NETWORK is the path's {id}. */
int network_connect_check(const struct authz_ctx *c, const char *network, const json_t *body,
                          struct authz_verdict *v);
/* The network (path's {id}) may be connected to by the caller: its own, or bridge or
 * none by name. */
int network_shared_or_own(const struct authz_ctx *c, const char *network, struct authz_verdict *v);
