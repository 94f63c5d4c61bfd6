/* SPDX-License-Identifier: MIT */
#pragma once

/* Unit names as systemd makes them from paths: shared by the disk layer (the mount
 * unit of a data directory) and the systemd layer. Never prints. */

/* systemd's UNIT_NAME_MAX: a unit name is at most 255 bytes. */
#define UNIT_NAME_MAX 256

/* The unit name for PATH by systemd's path escaping (systemd-escape --path):
 * "/mnt/k8s/docker", ".mount" -> "mnt-k8s-docker.mount". -EINVAL for a path with
 * "..", an empty path or a bad suffix; -ENAMETOOLONG; -ENOMEM. */
int unit_name_from_path(const char *path, const char *suffix, char **ret);
