/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the authz unit tests and the fuzz harness: what dockerd would send the
 * plugin, made with jansson, and client certificates made with pki/. */

#include <jansson.h>
#include <stdarg.h>
#include <string.h>

#include "authz/authz-request.h"
#include "base/base64.h"
#include "base/util.h"
#include "pki/pki.h"

/* "Content-Length: 0" for a body-less POST (what the docker CLI sends), none for a
 * chunked one, or the body's length. */
enum test_length { LENGTH_AUTO, LENGTH_NONE };

struct test_call {
        const char *user;               /* NULL: no certificate */
        const char *cert_pem;           /* NULL: none */
        const char *cert_b64;           /* ... or already encoded */
        const char *method, *uri;
        const char *body;               /* JSON sent as application/json, or NULL */
        const char *body_b64;           /* RequestBody as it is (base64 or not), or NULL */
        const char *content_type;       /* overrides */
        enum test_length length;
        int status;                     /* for a response */
        const char *response;
};

/* The envelope's JSON text; caller frees. Aborts on -ENOMEM. */
static inline char *test_envelope(const struct test_call *c) {
        json_t *o = json_object(), *h = json_object();
        char *text;

        if (c->user)
                json_object_set_new(o, "User", json_string(c->user));
        if (c->user || c->cert_pem || c->cert_b64)
                json_object_set_new(o, "UserAuthNMethod", json_string("TLS"));
        json_object_set_new(o, "RequestMethod", json_string(c->method));
        json_object_set_new(o, "RequestUri", json_string(c->uri));
        json_object_set_new(h, "User-Agent", json_string("Docker-Client/28.5.2 (linux)"));
        if (c->body || c->content_type)
                json_object_set_new(h, "Content-Type", json_string(c->content_type ?: "application/json"));
        if (c->body && c->length == LENGTH_AUTO) {
                char n[32];
                snprintf(n, sizeof(n), "%zu", strlen(c->body));
                json_object_set_new(h, "Content-Length", json_string(n));
        } else if (c->length == LENGTH_AUTO && (streq(c->method, "POST") || streq(c->method, "PUT")))
                json_object_set_new(h, "Content-Length", json_string("0"));
        json_object_set_new(o, "RequestHeaders", h);
        if (c->body && (!c->content_type || strcasestr(c->content_type, "json"))) {
                char *b = base64_encode(c->body, strlen(c->body));
                json_object_set_new(o, "RequestBody", json_string(b));
                free(b);
        }
        if (c->body_b64)
                json_object_set_new(o, "RequestBody", json_string(c->body_b64));
        if (c->cert_pem) {
                char *b = base64_encode(c->cert_pem, strlen(c->cert_pem));
                json_object_set_new(o, "RequestPeerCertificates", json_pack("[s]", b));
                free(b);
        } else if (c->cert_b64)
                json_object_set_new(o, "RequestPeerCertificates", json_pack("[s]", c->cert_b64));
        if (c->status)
                json_object_set_new(o, "ResponseStatusCode", json_integer(c->status));
        if (c->response) {
                char *b = base64_encode(c->response, strlen(c->response));
                json_object_set_new(o, "ResponseBody", json_string(b));
                free(b);
        }
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text)
                abort();
        return text;
}

/* A request as the plugin reads it, its bodies decoded (the text they are cut from
 * goes at the end of this call). */
static inline void test_request(const struct test_call *c, enum authz_phase phase, struct authz_request *ret) {
        char *text = test_envelope(c);
        int r = authz_request_parse(text, strlen(text), phase, ret);

        if (r >= 0)
                r = authz_request_decode(ret);
        free(text);
        if (r < 0)
                abort();
        ret->body_b64 = ret->response_b64 = NULL;
}

/* A CA, made once per test program. */
static inline const struct pki_pair *test_ca(void) {
        static struct pki_pair ca;

        if (!ca.cert_pem && pki_make_ca("test CA", &ca) < 0)
                abort();
        return &ca;
}

/* A client certificate named CN; caller frees. */
static inline char *test_cert(const char *cn) {
        struct pki_pair p = {};
        char *cert;

        if (pki_make_leaf(test_ca(), PKI_USAGE_CLIENT, cn, NULL, &p) < 0)
                abort();
        cert = TAKE_PTR(p.cert_pem);
        pki_pair_done(&p);
        return cert;
}

/* A 64-hex ID made of C repeated, after PREFIX. */
static inline const char *test_id(const char *prefix, char c) {
        static char ids[8][65];
        static unsigned next;
        char *id = ids[next++ % 8];

        memset(id, c, 64);
        id[64] = '\0';
        memcpy(id, prefix, strlen(prefix));
        return id;
}
