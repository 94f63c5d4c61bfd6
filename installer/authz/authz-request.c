/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "authz/authz-request.h"
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

static int base64_field(const json_t *o, const char *key, size_t max, char **ret, size_t *ret_size) {
        const json_t *v = json_object_get(o, key);

        *ret = NULL;
        *ret_size = 0;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return -EBADMSG;
        if (json_string_length(v) == 0)
                return 0;
        return base64_decode(json_string_value(v), json_string_length(v), max, ret, ret_size);
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

static int read_peer(const json_t *o, struct authz_request *r) {
        const json_t *certs = json_object_get(o, "RequestPeerCertificates"), *first;
        size_t size;

        if (!certs || json_is_null(certs))
                return 0;
        if (!json_is_array(certs))
                return -EBADMSG;
        r->n_peer_certs = json_array_size(certs);
        if (r->n_peer_certs == 0)
                return 0;
        first = json_array_get(certs, 0);
        if (!json_is_string(first))
                return -EBADMSG;
        r->peer_b64 = strdup(json_string_value(first));
        if (!r->peer_b64)
                return -ENOMEM;
        return base64_decode(json_string_value(first), json_string_length(first), AUTHZ_MAX_PEER_PEM, &r->peer_pem,
                             &size);
}

static int read_response(const json_t *o, struct authz_request *r) {
        const json_t *status = json_object_get(o, "ResponseStatusCode");
        int q;

        if (status && !json_is_null(status)) {
                if (!json_is_integer(status) || json_integer_value(status) < 0 || json_integer_value(status) > 999)
                        return -EBADMSG;
                r->status = (int) json_integer_value(status);
        }
        q = base64_field(o, "ResponseBody", AUTHZ_RESPONSE_MAX, &r->response_body, &r->response_size);
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
        if ((q = read_headers(o, r)) < 0 || (q = read_peer(o, r)) < 0)
                return q;
        q = base64_field(o, "RequestBody", AUTHZ_BODY_MAX, &r->body, &r->body_size);
        if (q < 0)
                return q == -EFBIG ? -EBADMSG : q;
        if (r->phase == AUTHZ_RESPONSE && (q = read_response(o, r)) < 0)
                return q;
        r->uri_error = request_uri_parse(r->uri, &r->u);
        return r->uri_error == -ENOMEM ? -ENOMEM : 0;
}

int authz_request_parse(const char *data, size_t size, enum authz_phase phase, struct authz_request *ret) {
        _cleanup_json_ json_t *o = NULL;
        struct authz_request r = { .phase = phase };
        int q;

        o = json_loadb(data, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(o))
                return -EBADMSG;
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
