/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <unistd.h>

#include "authz/server.h"
#include "base/util.h"

#define CONTENT_TYPE "application/vnd.docker.plugins.v1.2+json"

struct authz_server {
        struct MHD_Daemon *mhd;
        authz_server_handler_t handler;
        void *userdata;
        bool draining;
        size_t pooled;                  /* bytes the uploads hold past their own share */
};

/* One request's body, as it arrives. */
struct upload {
        char *data;
        size_t size, allocated;
        size_t pooled;                  /* its part of the server's pool */
        bool too_large;
};

static void drop(struct authz_server *s, struct upload *u) {
        s->pooled -= u->pooled;
        u->pooled = 0;
        free(u->data);
        u->data = NULL;
        u->size = u->allocated = 0;
}

/* The body of U grows by SIZE bytes. Each upload holds its first
 * AUTHZ_SERVER_BODY_OWN bytes as its own; what its buffer holds past that comes from the
 * pool all uploads share. One past the cap, or one the pool has no room for, is dropped
 * at once (its memory freed): the handler gets no body, and refuses the call. */
static int append(struct authz_server *s, struct upload *u, const char *data, size_t size) {
        if (!u->too_large && size > AUTHZ_SERVER_BODY_MAX - u->size)
                u->too_large = true;
        if (!u->too_large && u->size + size + 1 > u->allocated) {
                size_t want = MIN(MAX(u->allocated * 2, u->size + size + 1), (size_t) AUTHZ_SERVER_BODY_MAX + 1);
                size_t pooled = want > AUTHZ_SERVER_BODY_OWN ? want - AUTHZ_SERVER_BODY_OWN : 0;
                char *grown;

                /* WANT only grows, and so does POOLED: it is at least U's share so far. */
                if (pooled - u->pooled > AUTHZ_SERVER_BODY_POOL - s->pooled)
                        u->too_large = true;
                else {
                        if (!(grown = realloc(u->data, want)))
                                return -ENOMEM;
                        u->data = grown;
                        u->allocated = want;
                        s->pooled += pooled - u->pooled;
                        u->pooled = pooled;
                }
        }
        if (u->too_large) {
                drop(s, u);
                return 0;
        }
        memcpy(u->data + u->size, data, size);
        u->size += size;
        u->data[u->size] = '\0';
        return 0;
}

static enum MHD_Result respond(const struct authz_server *s, struct MHD_Connection *c, unsigned status, char *body) {
        struct MHD_Response *resp;
        enum MHD_Result ok;

        resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
        /* Stopping: dockerd opens its next connection to the socket, which systemd keeps. */
        if (s->draining)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        ok = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        struct authz_server *s = cls;
        struct upload *u = *con_cls;
        char *reply = NULL;
        int status = 500, r;

        if (!u) {
                /* Headers only: the body (if any) comes in the next calls. */
                *con_cls = u = calloc(1, sizeof(*u));
                return u ? MHD_YES : MHD_NO;
        }
        if (*upload_data_size > 0) {
                r = append(s, u, upload_data, *upload_data_size);
                *upload_data_size = 0;
                return r < 0 ? MHD_NO : MHD_YES;
        }
        if (!streq(method, MHD_HTTP_METHOD_POST)) {
                reply = strdup("{\"Err\":\"POST only\"}");
                return reply ? respond(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, reply) : MHD_NO;
        }
        r = s->handler(s->userdata, url, u->too_large ? NULL : u->data ?: "", u->too_large ? 0 : u->size, &status,
                       &reply);
        if (r < 0 || !reply) {
                free(reply);
                reply = strdup("{\"Err\":\"the plugin failed to answer\"}");
                status = 500;
        }
        return reply ? respond(s, c, (unsigned) status, reply) : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode code) {
        struct upload *u = *con_cls;

        if (u) {
                drop(cls, u);
                free(u);
                *con_cls = NULL;
        }
}

int authz_server_new(int listen_fd, authz_server_handler_t handler, void *userdata, struct authz_server **ret) {
        struct authz_server *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        *s = (struct authz_server) { .handler = handler, .userdata = userdata };
        s->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, listen_fd,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT,
                                  (unsigned) AUTHZ_SERVER_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                                  (unsigned) AUTHZ_SERVER_IDLE_SEC, MHD_OPTION_END);
        if (!s->mhd) {
                free(s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

struct authz_server *authz_server_free(struct authz_server *s) {
        if (!s)
                return NULL;
        if (s->mhd)
                MHD_stop_daemon(s->mhd); /* closes the listening socket too */
        free(s);
        return NULL;
}

int authz_server_fd(const struct authz_server *s) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);

        return info ? info->epoll_fd : -EBADF;
}

int authz_server_timeout_ms(const struct authz_server *s) {
        MHD_UNSIGNED_LONG_LONG ms;

        if (MHD_get_timeout(s->mhd, &ms) != MHD_YES)
                return -1;
        return ms > INT_MAX ? INT_MAX : (int) ms;
}

int authz_server_drain(struct authz_server *s) {
        MHD_socket fd;

        if (s->draining)
                return 0;
        s->draining = true;
        fd = MHD_quiesce_daemon(s->mhd);
        if (fd == MHD_INVALID_SOCKET)
                return -EINVAL;
        /* No longer MHD's: this process's copy goes, systemd's stays and queues. */
        close(fd);
        return 0;
}

unsigned authz_server_connections(const struct authz_server *s) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

        return info ? info->num_connections : 0;
}

int authz_server_run(struct authz_server *s) {
        return MHD_run(s->mhd) == MHD_YES ? 0 : -EIO;
}
