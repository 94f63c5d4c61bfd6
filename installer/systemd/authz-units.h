/* SPDX-License-Identifier: MIT */
#pragma once

/* The authorization plugin's systemd units, rendered from the templates embedded in
 * the binary (units/dind-cache-authz.socket, .service). Never prints; negative errno.
 *
 * Invariants: the socket is the template as it is (its path is what the daemon's pod
 * mounts: AUTHZ_UNITS_SOCKET_DIR is kube/manifest.h's MANIFEST_PLUGIN_DIR, a unit test
 * holds them together); the service differs from its template only in ExecStart= and
 * ReadWritePaths= (the metrics directory); the same inputs give the same bytes. */

#define AUTHZ_SOCKET_UNIT "dind-cache-authz.socket"
#define AUTHZ_SERVICE_UNIT "dind-cache-authz.service"
#define AUTHZ_SOCKET_ASSET "units/" AUTHZ_SOCKET_UNIT
#define AUTHZ_SERVICE_ASSET "units/" AUTHZ_SERVICE_UNIT
#define AUTHZ_UNITS_SOCKET_DIR "/run/dind-cache/plugins"
#define AUTHZ_UNITS_SOCKET_PATH AUTHZ_UNITS_SOCKET_DIR "/dind-cache-authz.sock"

/* The socket unit's text (the template). */
int authz_socket_text(char **ret);

/* "ExecStart=BINARY authz", and "ReadWritePaths=-TEXTFILE_DIR" (empty when NULL:
 * metrics off). -EINVAL when a path cannot be written verbatim or the sandbox hides it. */
int authz_service_text(const char *binary, const char *textfile_dir, char **ret);
