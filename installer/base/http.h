/* SPDX-License-Identifier: MIT */
#pragma once

/* The one place that includes curl.h. A client is one reused curl handle (so one
 * connection is kept alive across requests), with connect and total timeouts, a cap
 * on response bodies, TLS settings, and bounded retries on 429/5xx and dropped
 * connections honouring Retry-After.
 *
 * A request sends exactly the body it was given (Content-Length), or none: nothing is
 * ever read from stdin or sent chunked, whatever the method or the request before.
 *
 * http_client_request() returns 0 when an HTTP response arrived, whatever its status
 * (check response.status), and a negative errno when none did:
 *   -ETIMEDOUT     connect or total timeout
 *   -ECONNREFUSED  nothing listens; -EHOSTUNREACH / -ENETUNREACH; -ENOENT (unix socket)
 *   -EPROTO        TLS failure, certificate not verified, malformed reply
 *   -ECONNRESET    connection dropped (after the retries)
 *   -EFBIG         body larger than the cap
 *   -EINVAL        bad URL or option
 * In every failure http_client_last_error() says what curl said. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_client;

struct http_tls {
        /* Trust: a CA file, or PEM data; neither means the system roots. */
        const char *ca_file;
        const void *ca_data;
        size_t ca_size;
        /* Client certificate and key: files, or PEM data. */
        const char *cert_file;
        const void *cert_data;
        size_t cert_size;
        const char *key_file;
        const void *key_data;
        size_t key_size;
        /* Turn verification off. Only for an explicit user request; callers warn. */
        bool insecure;
};

struct http_response {
        long status;          /* 200, 404, ... */
        char *body;           /* NUL-terminated, never NULL after success */
        size_t body_size;
        char *content_type;   /* or NULL */
        unsigned attempts;    /* how many tries it took */
        uint64_t elapsed_usec;
};

int http_client_new(struct http_client **ret);
struct http_client *http_client_free(struct http_client *c);
static inline void http_client_freep(struct http_client **c) {
        http_client_free(*c);
}

/* Talk HTTP over a unix socket (Docker's unix://); URLs then use host "localhost". */
int http_client_set_unix_socket(struct http_client *c, const char *path);
int http_client_set_tls(struct http_client *c, const struct http_tls *tls);
/* "Authorization: Bearer TOKEN" on every request; NULL removes it. */
int http_client_set_bearer_token(struct http_client *c, const char *token);
/* Connect to HOST:PORT instead of the URL's host (curl's CONNECT_TO), so that TLS
 * verifies the URL's host name (kubeconfig's tls-server-name). "" or NULL clears. */
int http_client_set_connect_to(struct http_client *c, const char *connect_to);
/* Defaults: connect 5 s, total 30 s. */
void http_client_set_timeouts(struct http_client *c, uint64_t connect_usec, uint64_t total_usec);
/* Default 4 MiB. */
void http_client_set_max_body(struct http_client *c, size_t max);
/* Retries after 429, 5xx and dropped connections: at most MAX_RETRIES more tries,
 * waiting Retry-After (capped at MAX_WAIT) or an exponential backoff from 200 ms.
 * Default: 0 retries. */
void http_client_set_retries(struct http_client *c, unsigned max_retries, uint64_t max_wait_usec);
/* Called before each retry's wait, e.g. to print progress. */
void http_client_set_retry_callback(struct http_client *c,
                                    void (*cb)(void *userdata, long status, int error, uint64_t wait_usec),
                                    void *userdata);

/* One request. BODY may be NULL; CONTENT_TYPE names BODY's type. ACCEPT may be NULL.
 * RET is filled on 0 and must be released with http_response_done(). */
int http_client_request(struct http_client *c, const char *method, const char *url,
                        const char *content_type, const char *accept,
                        const void *body, size_t body_size, struct http_response *ret);
void http_response_done(struct http_response *r);

/* What curl said about the last failure ("" if none). */
const char *http_client_last_error(const struct http_client *c);

/* Percent-encodes S for a URL path segment or query value; NULL on -ENOMEM. */
char *http_escape(const char *s);
