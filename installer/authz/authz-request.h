/* SPDX-License-Identifier: MIT */
#pragma once

/* What dockerd sends the plugin (moby pkg/authorization, api.go): one JSON object per
 * call, for /AuthZPlugin.AuthZReq before the daemon handles a request and for
 * /AuthZPlugin.AuthZRes after it. Its fields: User (the client certificate's subject
 * CN, "" without TLS), UserAuthNMethod ("TLS"), RequestMethod, RequestUri,
 * RequestHeaders (a map, one value a name: the last), RequestBody (base64; sent only
 * for a first Content-Type of application/json, never for /auth, and only up to
 * AUTHZ_BODY_MAX),
 * RequestPeerCertificates (each the base64 of a PEM block, the leaf first), and for a
 * response ResponseStatusCode and ResponseBody (JSON replies only; 0 and nothing for a
 * hijacked or streamed one).
 *
 * Invariants:
 * - Everything is capped where it enters: the request body at AUTHZ_BODY_MAX (dockerd
 *   never sends more; more is -EBADMSG), the response body at AUTHZ_RESPONSE_MAX (more
 *   is dropped: response_body NULL, response_truncated set), the URI as request-uri.h
 *   says, strings that may be shown (user, method) at AUTHZ_STRING_MAX.
 * - Nothing here is cleaned for display: show a field with text_escape().
 * - Library: never prints; negative errno: -EBADMSG for an envelope that is not what
 *   dockerd sends. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz/request-uri.h"

/* dockerd forwards JSON bodies up to 1 MiB (before the fix of CVE-2026-34040: a
 * larger one arrives empty) or 4 MiB (after it: a larger one fails the request). */
#define AUTHZ_BODY_MAX (4u << 20)
#define AUTHZ_RESPONSE_MAX (8u << 20)
#define AUTHZ_STRING_MAX 1024
#define AUTHZ_MAX_PEER_PEM (64u << 10)

enum authz_phase {
        AUTHZ_REQUEST,          /* /AuthZPlugin.AuthZReq */
        AUTHZ_RESPONSE,         /* /AuthZPlugin.AuthZRes */
};

struct authz_request {
        enum authz_phase phase;
        char *user;                     /* NULL when "" or absent */
        char *authn_method;
        char *method;                   /* "GET", ... */
        char *uri;                      /* as sent; see request-uri.h */
        int uri_error;                  /* request_uri_parse()'s error, 0 when parsed */
        struct request_uri u;           /* valid only when uri_error == 0 */
        char *content_type;             /* the media type, lower case, no parameters; or NULL */
        bool has_content_length;
        uint64_t content_length;
        char *body;                     /* RequestBody decoded (NUL added), or NULL */
        size_t body_size;
        char *peer_pem;                 /* the first peer certificate as PEM, or NULL */
        char *peer_b64;                 /* ... as sent (a cache key) */
        size_t n_peer_certs;
        int status;                     /* ResponseStatusCode; 0 none */
        char *response_body;            /* ResponseBody decoded, or NULL */
        size_t response_size;
        bool response_truncated;        /* it was over AUTHZ_RESPONSE_MAX */
        /* The base64 text of both bodies, in the caller's DATA (valid while it is):
         * decoded at once for a request, by authz_request_decode() for a response. */
        const char *body_b64, *response_b64;
        size_t body_b64_len, response_b64_len;
        bool decoded;
};

void authz_request_done(struct authz_request *r);

/* Reads the JSON envelope in DATA (SIZE bytes) for PHASE. The URI is parsed too; its
 * error is kept in uri_error, not returned, so that a refusal can still be logged with
 * the method and the raw URI. The bodies' base64 strings are cut out of DATA before
 * jansson reads the rest (jansson reads a string at about 20 MB/s: a 4 MiB body would
 * cost 300 ms): DATA must outlive RET until the bodies are decoded. */
int authz_request_parse(const char *data, size_t size, enum authz_phase phase, struct authz_request *ret);

/* Decodes both bodies of a response (the request's and the reply's), once; a reply over
 * AUTHZ_RESPONSE_MAX sets response_truncated. -EBADMSG not base64. */
int authz_request_decode(struct authz_request *r);

/* A POST, PUT or PATCH whose body the plugin did not get and which may have one (no
 * "Content-Length: 0"): Go's ParseForm reads such a body as form values when the first
 * Content-Type says so, and the values override the query the plugin sees. */
bool authz_request_body_hidden(const struct authz_request *r);

/* A 2xx response status. */
bool authz_request_succeeded(const struct authz_request *r);
