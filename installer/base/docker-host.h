/* SPDX-License-Identifier: MIT */
#pragma once

/* A DOCKER_HOST value, parsed once (by the node's settings, settings.h) into the parts
 * the Docker client needs, and passed down as this struct.
 *
 * Invariants:
 * - Two forms, as the Docker CLI writes them: tcp://HOST[:PORT][/] (port 2375 when
 *   absent; HOST a host name of at most 253 bytes in labels of 1 to 63 of
 *   [A-Za-z0-9_-] not starting or ending with '-', an IPv4 address, or a bracketed
 *   IPv6 address; PORT 1 to 65535) and unix:///PATH (an absolute path that fits
 *   sun_path, at most 107 bytes). Anything else is -EINVAL.
 * - A parsed struct is consistent: kind DOCKER_HOST_TCP has host and port, kind
 *   DOCKER_HOST_UNIX has socket_path; text is the value as written (for messages and
 *   the journal). A zeroed struct is kind DOCKER_HOST_UNSET.
 * - Library: never prints; RET untouched on failure. */

#include <stdint.h>

enum docker_host_kind {
        DOCKER_HOST_UNSET,
        DOCKER_HOST_TCP,
        DOCKER_HOST_UNIX,
};

struct docker_host {
        enum docker_host_kind kind;
        char *text;              /* the value as written: "tcp://10.96.0.12:2376" */
        char *host;              /* tcp: "10.96.0.12", "node1.example", "[fe80::1]" (as in a URL) */
        uint16_t port;           /* tcp: 1 to 65535 */
        char *socket_path;       /* unix: "/run/docker.sock" */
};

#define DOCKER_HOST_DEFAULT_PORT 2375

/* Parses TEXT (see the invariants). -EINVAL, -ENOMEM. */
int docker_host_parse(const char *text, struct docker_host *ret);

/* The same tcp:// host on another PORT (its text "tcp://HOST:PORT"): where the
 * checker looks for a Docker API without TLS. -EINVAL unless H is tcp://. */
int docker_host_with_port(const struct docker_host *h, uint16_t port, struct docker_host *ret);

/* The base URL of the Engine API: "http://HOST:PORT", or "http://localhost" for a
 * unix socket (the request goes to the socket). NULL on -ENOMEM or an unset host. */
char *docker_host_base_url(const struct docker_host *h);

void docker_host_done(struct docker_host *h);
