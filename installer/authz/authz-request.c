/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "authz/authz-request.h"
#include "authz/json-scan.h"
#include "base/base64.h"
#include "base/json-util.h"
#include "base/util.h"

void authz_request_done(struct authz_request *r) {
        free(r->user);
        free(r->authn_method);
        free(r->method);
        free(r->uri);
        request_uri_done(&r->u);
        free(r->content_type);
        free(r->body);
        free(r->peer_pem);
        free(r->peer_b64);
        free(r->response_body);
        *r = (struct authz_request) {};
}

/* A string field: NULL for absent, null or "". -EBADMSG another type or over MAX. */
static int string_field(const json_t *o, const char *key, size_t max, char **ret) {
        const json_t *v = json_object_get(o, key);

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v) || json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v))
                return -EBADMSG;
        if (json_string_length(v) == 0)
                return 0;
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

/* The envelope's big strings, found without jansson: both bodies (base64 strings Go
 * writes without escapes) and the peer certificates (an array of them). */
struct cuts {
        struct jspan v[3];              /* RequestBody, ResponseBody, RequestPeerCertificates */
        bool found[3];
};

static int find_big(const char *data, size_t size, struct cuts *c) {
        static const char *const keys[3] = { "RequestBody", "ResponseBody", "RequestPeerCertificates" };

        for (int k = 0; k < 3; k++) {
                int q = jscan_member(data, size, keys[k], &c->v[k]);
                if (q < 0)
                        return q;
                c->found[k] = q > 0;
        }
        return 0;
}

static int read_span_string(const struct jspan *v, bool found, const char **ret, size_t *ret_len) {
        *ret = NULL;
        *ret_len = 0;
        if (!found || (v->n == 4 && memcmp(v->s, "null", 4) == 0))
                return 0;
        return jscan_plain_string(v, ret, ret_len) ? 0 : -EBADMSG;
}

static int read_peer(const struct cuts *c, struct authz_request *r) {
        const struct jspan *certs = &c->v[2];
        struct jspan e;
        size_t pos = 0, len;
        const char *b64;
        int q;

        if (!c->found[2] || (certs->n == 4 && memcmp(certs->s, "null", 4) == 0))
                return 0;
        while ((q = jscan_array_next(certs->s, certs->n, &pos, &e)) > 0) {
                if (!jscan_plain_string(&e, &b64, &len))
                        return -EBADMSG;
                if (r->n_peer_certs++ > 0)
                        continue;
                r->peer_b64 = strndup(b64, len);
                if (!r->peer_b64)
                        return -ENOMEM;
                if ((q = base64_decode(b64, len, AUTHZ_MAX_PEER_PEM, &r->peer_pem, &len)) < 0)
                        return q;
        }
        return q;
}

/* DATA with the big strings cut out ("" and []), for jansson. */
static char *without_big(const char *data, size_t size, const struct cuts *c) {
        int order[3] = { 0, 1, 2 };
        char *out = malloc(size + 3), *o = out;
        const char *p = data;

        if (!out)
                return NULL;
        for (int a = 0; a < 3; a++)
                for (int b = a + 1; b < 3; b++)
                        if (c->found[order[b]] && (!c->found[order[a]] || c->v[order[b]].s < c->v[order[a]].s)) {
                                int t = order[a];
                                order[a] = order[b], order[b] = t;
                        }
        for (int k = 0; k < 3; k++) {
                const struct jspan *v = &c->v[order[k]];

                if (!c->found[order[k]])
                        continue;
                memcpy(o, p, (size_t) (v->s - p));
                o += v->s - p;
                o = stpcpy(o, order[k] == 2 ? "[]" : "\"\"");
                p = v->s + v->n;
        }
        memcpy(o, p, (size_t) (data + size - p));
        o += data + size - p;
        *o = '\0';
        return out;
}

/* The header NAME of the map H (Go canonicalizes names; compared without case). */
static const char *header(const json_t *h, const char *name) {
        const char *key;
        json_t *v;

        json_object_foreach ((json_t *) h, key, v)
                if (strcasecmp(key, name) == 0)
                        return json_string_value(v);
        return NULL;
}

static int read_headers(const json_t *o, struct authz_request *r) {
        const json_t *h = json_object_get(o, "RequestHeaders");
        const char *ct, *cl;
        size_t n;

        if (!h || json_is_null(h))
                return 0;
        if (!json_is_object(h))
                return -EBADMSG;
        ct = header(h, "Content-Type");
        if (ct) {
                /* mime.ParseMediaType's media type: before any ";", trimmed, lower case. */
                ct += strspn(ct, " \t");
                n = strcspn(ct, ";");
                while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
                        n--;
                r->content_type = strndup(ct, n);
                if (!r->content_type)
                        return -ENOMEM;
                for (char *p = r->content_type; *p; p++)
                        *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        }
        cl = header(h, "Content-Length");
        if (cl) {
                char *end;

                errno = 0;
                r->content_length = strtoull(cl, &end, 10);
                r->has_content_length = errno == 0 && end != cl && *end == '\0' && cl[0] >= '0' && cl[0] <= '9';
        }
        return 0;
}

static int read_response(const json_t *o, struct authz_request *r) {
        const json_t *status = json_object_get(o, "ResponseStatusCode");

        if (status && !json_is_null(status)) {
                if (!json_is_integer(status) || json_integer_value(status) < 0 || json_integer_value(status) > 999)
                        return -EBADMSG;
                r->status = (int) json_integer_value(status);
        }
        return 0;
}

static int decode_request_body(struct authz_request *r) {
        int q;

        if (!r->body_b64 || r->body_b64_len == 0)
                return 0;
        q = base64_decode(r->body_b64, r->body_b64_len, AUTHZ_BODY_MAX, &r->body, &r->body_size);
        return q == -EFBIG ? -EBADMSG : q;
}

int authz_request_decode(struct authz_request *r) {
        int q;

        if (r->decoded)
                return 0;
        r->decoded = true;
        if ((q = decode_request_body(r)) < 0)
                return q;
        if (!r->response_b64 || r->response_b64_len == 0)
                return 0;
        q = base64_decode(r->response_b64, r->response_b64_len, AUTHZ_RESPONSE_MAX, &r->response_body,
                          &r->response_size);
        if (q == -EFBIG) {
                r->response_truncated = true;
                return 0;
        }
        return q;
}

static int read_envelope(const json_t *o, struct authz_request *r) {
        int q;

        if ((q = string_field(o, "User", AUTHZ_STRING_MAX, &r->user)) < 0 ||
            (q = string_field(o, "UserAuthNMethod", AUTHZ_STRING_MAX, &r->authn_method)) < 0 ||
            (q = string_field(o, "RequestMethod", AUTHZ_STRING_MAX, &r->method)) < 0 ||
            (q = string_field(o, "RequestUri", REQUEST_URI_MAX, &r->uri)) < 0)
                return q;
        if (!r->method || !r->uri)
                return -EBADMSG;
        if ((q = read_headers(o, r)) < 0)
                return q;
        if (r->phase == AUTHZ_REQUEST) {
                if ((q = decode_request_body(r)) < 0)
                        return q;
                r->decoded = true;
        } else if ((q = read_response(o, r)) < 0)
                return q;
        r->uri_error = request_uri_parse(r->uri, &r->u);
        return r->uri_error == -ENOMEM ? -ENOMEM : 0;
}

int authz_request_parse(const char *data, size_t size, enum authz_phase phase, struct authz_request *ret) {
        _cleanup_json_ json_t *o = NULL;
        _cleanup_free_ char *rest = NULL;
        struct authz_request r = { .phase = phase };
        struct cuts c = {};
        int q;

        if (!data || find_big(data, size, &c) < 0 ||
            read_span_string(&c.v[0], c.found[0], &r.body_b64, &r.body_b64_len) < 0 ||
            read_span_string(&c.v[1], c.found[1], &r.response_b64, &r.response_b64_len) < 0)
                return -EBADMSG;
        rest = without_big(data, size, &c);
        if (!rest)
                return -ENOMEM;
        o = json_loadb(rest, strlen(rest), JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(o) || memchr(data, '\0', size))
                return -EBADMSG;
        q = read_peer(&c, &r);
        if (q >= 0)
                q = read_envelope(o, &r);
        if (q < 0) {
                authz_request_done(&r);
                return q == -ENOMEM ? q : -EBADMSG;
        }
        *ret = r;
        return 0;
}

bool authz_request_body_hidden(const struct authz_request *r) {
        if (!streq(r->method, "POST") && !streq(r->method, "PUT") && !streq(r->method, "PATCH"))
                return false;
        if (r->body_size > 0)
                return false;
        return !(r->has_content_length && r->content_length == 0);
}

bool authz_request_succeeded(const struct authz_request *r) {
        return r->status >= 200 && r->status < 300;
}
