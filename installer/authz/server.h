/* SPDX-License-Identifier: MIT */
#pragma once

/* The plugin's HTTP server on a listening unix socket (the one systemd passes, or one
 * made by hand), served by libmicrohttpd as systemd-journal-remote does: the one place
 * that includes microhttpd.h. dockerd POSTs a JSON body and reads a JSON reply; this
 * module carries the bytes, the handler (plugin.h) decides.
 *
 * Invariants:
 * - One thread: the caller polls authz_server_fd() (an epoll fd) and calls
 *   authz_server_run() when it is readable or authz_server_timeout_ms() passed; the
 *   handler runs there, one request at a time.
 * - A request body is capped at AUTHZ_SERVER_BODY_MAX bytes: past it the rest is
 *   dropped and the handler gets no body (a request it cannot read, so refused).
 * - Memory is capped across connections too: dockerd sends every request's call at
 *   once, and 60 creates of 4 MiB took the plugin past its unit's MemoryMax. Each
 *   upload holds its first AUTHZ_SERVER_BODY_OWN bytes (every ordinary call fits);
 *   what uploads hold past that comes from one pool of AUTHZ_SERVER_BODY_POOL bytes,
 *   and an upload the pool cannot hold is dropped like one over the cap.
 * - Only POST is answered (405 otherwise); at most AUTHZ_SERVER_CONNECTIONS
 *   connections, idle ones closed after AUTHZ_SERVER_IDLE_SEC.
 * - Library: never prints; negative errno. */

#include <stddef.h>

/* An AuthZRes carries both bodies: base64 of 4 MiB and of 8 MiB (authz-request.h). */
#define AUTHZ_SERVER_BODY_MAX (24u << 20)
#define AUTHZ_SERVER_BODY_OWN (1u << 20)
#define AUTHZ_SERVER_BODY_POOL (96u << 20)
#define AUTHZ_SERVER_CONNECTIONS 64
#define AUTHZ_SERVER_IDLE_SEC 300

/* Answers one request: 0 and *RET_STATUS, *RET_REPLY (JSON, freed by the server), or
 * negative errno (then 500). BODY is NULL when it was over the cap. */
typedef int (*authz_server_handler_t)(void *userdata, const char *path, const char *body, size_t size,
                                      int *ret_status, char **ret_reply);

struct authz_server;

/* Serves LISTEN_FD (a listening AF_UNIX stream socket), which it takes over: on
 * success authz_server_free() closes it (a socket systemd passed stays open in
 * systemd). */
int authz_server_new(int listen_fd, authz_server_handler_t handler, void *userdata, struct authz_server **ret);
struct authz_server *authz_server_free(struct authz_server *s);

int authz_server_fd(const struct authz_server *s);
/* Milliseconds until authz_server_run() is due anyway, or -1. */
int authz_server_timeout_ms(const struct authz_server *s);
int authz_server_run(struct authz_server *s);

/* Stops accepting (new connections wait in the listening socket's queue for the next
 * process) and closes each connection after its next answer. */
int authz_server_drain(struct authz_server *s);
unsigned authz_server_connections(const struct authz_server *s);
