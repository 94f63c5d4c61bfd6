/* SPDX-License-Identifier: MIT */
#pragma once

/* The bodies that decide whether a container reaches the node: POST /containers/create
 * (Config, HostConfig, NetworkingConfig), POST /containers/{id}/update and POST
 * /containers/{id}/exec. Each is read as Go reads it (go-json.h).
 *
 * A create is refused, each by its own rule, for:
 *   privileged        HostConfig.Privileged
 *   cap-add           any capability added (CapAdd)
 *   devices           Devices, DeviceRequests, DeviceCgroupRules
 *   bind-mount        Binds with a host path, Mounts of type bind
 *   mount-type        Mounts of a type other than volume, tmpfs, image
 *   volume-options    a volume with a driver or driver options (an inline
 *                     `-o o=bind -o device=/` volume), VolumeDriver
 *   not-your-volume   a named volume another identity owns
 *   host-namespace    host network, PID, IPC, UTS, user or cgroup namespace (or a mode
 *                     other than the private ones)
 *   other-container   a namespace, VolumesFrom or a link of a container the caller
 *                     does not own
 *   not-your-network  a network the caller does not own (but bridge, none, default)
 *   network-options   endpoint driver options
 *   security-opt      any security option but no-new-privileges (seccomp, AppArmor,
 *                     SELinux label, systempaths=unconfined, writable-cgroups)
 *   runtime           a runtime other than runc
 *   cgroup-parent     a cgroup parent
 *   masked-paths      MaskedPaths or ReadonlyPaths set (even empty: that unmasks /proc)
 *   sysctls           a sysctl outside Kubernetes' safe set
 *   log-driver        a logging driver other than json-file, local, none
 *   annotations       OCI annotations for the runtime
 *   oom-score-adj     a negative OomScoreAdj (the node's processes die first)
 *   oom-kill-disable  OomKillDisable (on a cgroup v1 node, the same)
 *   malformed-body    JSON that Go would read differently or refuse
 *
 * Invariants: a check returns 0 (allowed), 1 (refused: V holds the rule and message)
 * or -ENOMEM; it never prints. */

#include <jansson.h>

#include "authz/verdict.h"

int container_create_check(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v);
int container_update_check(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v);
int exec_create_check(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v);

/* The named volumes a create body mounts (Binds' and Mounts' sources), which the
 * daemon creates when missing: they become the creator's. */
int container_create_volumes(const json_t *body, char ***ret);

/* Kubernetes' safe sysctls: namespaced, and no way to starve the node. */
bool container_sysctl_is_safe(const char *name);
