/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "docker/docker.h"
#include "base/http.h"
#include "base/json-util.h"
#include "base/text.h"

#define DOCKER_MAX_BODY (1U << 20)
#define DOCKER_DEFAULT_TIMEOUT_USEC (5 * 1000000ULL)

struct docker_client {
        struct http_client *http;
        char *base_url;
        char *socket_path;       /* for unix://, or NULL */
        uint64_t timeout_usec;
        char api_version[16];    /* "1.51", or "" */
        char error[256];
};

int docker_client_new(const struct docker_host *host, struct docker_client **ret) {
        _cleanup_(http_client_freep) struct http_client *http = NULL;
        _cleanup_free_ char *url = NULL, *socket_path = NULL;
        struct docker_client *c;
        int r;

        if (host->kind == DOCKER_HOST_UNSET)
                return -EINVAL;
        url = docker_host_base_url(host);
        if (!url)
                return -ENOMEM;
        if (host->socket_path && !(socket_path = strdup(host->socket_path)))
                return -ENOMEM;
        r = http_client_new(&http);
        if (r < 0)
                return r;
        if (socket_path) {
                r = http_client_set_unix_socket(http, socket_path);
                if (r < 0)
                        return r;
        }
        http_client_set_max_body(http, DOCKER_MAX_BODY);

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->http = TAKE_PTR(http);
        c->base_url = TAKE_PTR(url);
        c->socket_path = TAKE_PTR(socket_path);
        c->timeout_usec = DOCKER_DEFAULT_TIMEOUT_USEC;
        *ret = c;
        return 0;
}

int docker_client_set_tls(struct docker_client *c, const char *cert_path, char **ret_bad_file) {
        static const char *const names[] = { "ca.pem", "cert.pem", "key.pem" };
        _cleanup_free_ char *ca = NULL, *cert = NULL, *url = NULL;
        _cleanup_erase_ char *key = NULL;
        char **data[] = { &ca, &cert, &key };
        size_t size[ELEMENTSOF(names)] = {};
        int r;

        if (c->socket_path || isempty(cert_path) || strncmp(c->base_url, "http://", 7) != 0)
                return -EINVAL;
        url = strdup_printf("https://%s", c->base_url + 7);
        if (!url)
                return -ENOMEM;
        /* Read here, regular files only and capped (open_regular()): libcurl would
         * open the paths itself, and block for ever on a FIFO. */
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *path = strdup_printf("%s/%s", cert_path, names[i]);
                if (!path)
                        return -ENOMEM;
                r = read_file_full(path, DOCKER_MAX_PEM, data[i], &size[i]);
                if (r < 0) {
                        if (ret_bad_file)
                                *ret_bad_file = TAKE_PTR(path);
                        return r;
                }
        }
        /* libcurl copies the blobs (CURL_BLOB_COPY); our copy of the key is cleared. */
        r = http_client_set_tls(c->http, &(struct http_tls) { .ca_data = ca, .ca_size = size[0],
                                                              .cert_data = cert, .cert_size = size[1],
                                                              .key_data = key, .key_size = size[2] });
        if (r < 0)
                return r;
        free(c->base_url);
        c->base_url = TAKE_PTR(url);
        return 0;
}

const char *docker_tls_failure_reason(const char *text) {
        static const struct {
                const char *needle, *reason;
        } table[] = {
                /* The server's certificate, as the client (OpenSSL via curl) judged it. */
                { "certificate has expired", "expired" },
                { "certificate is not yet valid", "not yet valid" },
                { "no alternative certificate subject name matches", "name mismatch" },
                { "does not match target host name", "name mismatch" },
                { "unable to get local issuer certificate", "unknown CA" },
                { "self-signed certificate in certificate chain", "unknown CA" },
                { "self signed certificate in certificate chain", "unknown CA" },
                { "unable to get issuer certificate", "unknown CA" },
                { "certificate signature failure", "unknown CA" },
                /* Our certificate, as the server judged it (its TLS alert). */
                { "alert certificate required", "client certificate refused" },
                { "alert bad certificate", "client certificate refused" },
                { "alert unknown ca", "client certificate refused" },
                { "alert certificate expired", "client certificate refused" },
                { "alert certificate unknown", "client certificate refused" },
                { "alert handshake failure", "client certificate refused" },
                /* TLS 1.3: the server judges our certificate after the client's side of
                 * the handshake is done, and closes the connection at once. */
                { "getpeername() failed", "client certificate refused" },
                { "could not load PEM client certificate", "client certificate unreadable" },
                { "unable to set private key file", "client certificate unreadable" },
                { "error setting certificate file", "CA file unreadable" },
                { "error reading ca cert file", "CA file unreadable" },
        };

        if (isempty(text))
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strcasestr(text, table[i].needle))
                        return table[i].reason;
        if (strcasestr(text, "SSL") || strcasestr(text, "TLS"))
                return "TLS handshake failed";
        return NULL;
}

struct docker_client *docker_client_free(struct docker_client *c) {
        if (!c)
                return NULL;
        http_client_free(c->http);
        free(c->base_url);
        free(c->socket_path);
        free(c);
        return NULL;
}

void docker_client_set_timeout(struct docker_client *c, uint64_t usec) {
        c->timeout_usec = usec ? usec : 1000; /* curl reads 0 as "no timeout" */
}

const char *docker_client_last_error(const struct docker_client *c) {
        return c->error;
}

int docker_client_set_api_version(struct docker_client *c, const char *version) {
        long minor;

        if (!version) {
                c->api_version[0] = '\0';
                return 0;
        }
        if (strncmp(version, "1.", 2) != 0 || strlen(version) > 5 ||
            parse_int_range(version + 2, 0, 999, &minor) < 0)
                return -EINVAL;
        snprintf(c->api_version, sizeof(c->api_version), "1.%ld", minor);
        return 0;
}

void docker_client_set_error(struct docker_client *c, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->error, sizeof(c->error), fmt, ap);
        va_end(ap);
}

/* METHOD PATH, whatever the status: 0 with the response in RET, or a negative errno
 * with c->error set when none arrived. */
static int call(struct docker_client *c, const char *method, const char *path, size_t max_body,
                struct http_response *ret) {
        _cleanup_free_ char *url = NULL;
        struct http_response resp = {};
        int r;

        c->error[0] = '\0';
        if (c->api_version[0])
                url = strdup_printf("%s/v%s%s", c->base_url, c->api_version, path);
        else
                url = strdup_printf("%s%s", c->base_url, path);
        if (!url)
                return -ENOMEM;
        http_client_set_timeouts(c->http, c->timeout_usec, c->timeout_usec);
        http_client_set_max_body(c->http, max_body ? max_body : DOCKER_MAX_BODY);
        r = http_client_request(c->http, method, url, NULL, NULL, NULL, 0, &resp);
        http_client_set_max_body(c->http, DOCKER_MAX_BODY);
        if (r < 0) {
                if (c->socket_path && r == -ECONNREFUSED)
                        /* curl names "localhost port 80" here, which misleads. */
                        snprintf(c->error, sizeof(c->error), "%s %s: cannot connect to '%s'", method,
                                 path, c->socket_path);
                else
                        snprintf(c->error, sizeof(c->error), "%s %s: %s", method, path,
                                 http_client_last_error(c->http));
                return r;
        }
        *ret = resp;
        return 0;
}

int docker_request(struct docker_client *c, const char *method, const char *path, size_t max_body,
                   struct http_response *ret) {
        struct http_response resp = {};
        int r;

        r = call(c, method, path, max_body, &resp);
        if (r < 0)
                return r;
        if (resp.status != 200) {
                _cleanup_json_ json_t *doc = json_loadb(resp.body, resp.body_size, 0, NULL);
                _cleanup_free_ char *msg = NULL;
                const char *m = json_object_get_string(doc, "message");

                if (m)
                        msg = text_sanitize_line(m, 160);
                docker_client_set_error(c, "%s %s: HTTP status %ld%s%s", method, path, resp.status,
                                        msg ? ": " : "", msg ? msg : "");
                r = resp.status == 409 ? -EBUSY : resp.status == 404 ? -ENOENT : -EPROTO;
                http_response_done(&resp);
                return r;
        }
        if (ret)
                *ret = resp;
        else
                http_response_done(&resp);
        return 0;
}

int docker_request_parsed(struct docker_client *c, const char *method, const char *path, size_t max_body,
                          int (*parse)(const char *body, size_t size, void *userdata), void *userdata,
                          const char *what) {
        struct http_response resp = {};
        int r;

        r = docker_request(c, method, path, max_body, &resp);
        if (r < 0)
                return r;
        r = parse(resp.body, resp.body_size, userdata);
        http_response_done(&resp);
        if (r == -EBADMSG)
                docker_client_set_error(c, "%s %s: not %s", method, path, what);
        return r;
}

int docker_ping(struct docker_client *c, uint64_t *ret_rtt_usec) {
        struct http_response resp = {};
        uint64_t start = now_usec();
        int r;

        r = docker_request(c, "GET", "/_ping", 0, &resp);
        if (r < 0)
                return r;
        uint64_t rtt = now_usec() - start;
        bool ok = streq(resp.body, "OK");
        http_response_done(&resp);
        if (!ok) {
                snprintf(c->error, sizeof(c->error), "GET /_ping: the answer is not \"OK\"");
                return -EBADMSG;
        }
        if (ret_rtt_usec)
                *ret_rtt_usec = rtt;
        return 0;
}

/* Strings from the daemon are shown to people and written to the journal and metrics:
 * capped and cleaned of control characters here, where they enter. */
#define DOCKER_MAX_STRING 256

static int dup_string(const json_t *o, const char *key, size_t max, char **ret) {
        const char *s = json_object_get_string(o, key);
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = text_sanitize_line(s, max);
        return *ret ? 0 : -ENOMEM;
}

/* Fills the DriverStatus facts of I from [[key, value], ...]; anything else is skipped. */
static int parse_driver_status(const json_t *status, struct docker_info *i) {
        size_t idx;
        json_t *pair;

        if (!json_is_array(status))
                return 0;
        json_array_foreach(status, idx, pair) {
                const char *key = json_string_value(json_array_get(pair, 0));
                const char *value = json_string_value(json_array_get(pair, 1));
                char **field = NULL;

                if (!json_is_array(pair) || !key || !value)
                        continue;
                if (streq(key, "Backing Filesystem"))
                        field = &i->backing_fs;
                else if (streq(key, "driver-type"))
                        field = &i->driver_type;
                else if (streq(key, "Supports d_type"))
                        i->supports_d_type = streq(value, "true") ? 1 : 0;
                if (field && !*field) {
                        *field = text_sanitize_line(value, DOCKER_MAX_STRING);
                        if (!*field)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* Plugins.Authorization: the authorization plugins the daemon runs with, each cleaned,
 * at most DOCKER_MAX_AUTHZ_PLUGINS. */
static int parse_authz_plugins(const json_t *plugins, struct docker_info *i) {
        const json_t *list = json_object_get(plugins, "Authorization");
        json_t *name;
        size_t idx;

        json_array_foreach(list, idx, name) {
                _cleanup_free_ char *clean = NULL;

                if (!json_is_string(name) || strv_length(i->authz_plugins) >= DOCKER_MAX_AUTHZ_PLUGINS)
                        continue;
                clean = text_sanitize_line(json_string_value(name), DOCKER_MAX_STRING);
                if (!clean || strv_extend(&i->authz_plugins, clean) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int docker_info_parse(const char *json, size_t size, struct docker_info *ret) {
        _cleanup_json_ json_t *doc = NULL;
        struct docker_info i = { .supports_d_type = -1 };
        int r;

        doc = json_loadb(json, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(doc) || !json_object_get_string(doc, "Driver"))
                return -EBADMSG;

        r = dup_string(doc, "Driver", DOCKER_MAX_STRING, &i.driver);
        if (r >= 0)
                r = dup_string(doc, "DockerRootDir", PATH_MAX, &i.root_dir);
        if (r >= 0)
                r = dup_string(doc, "ServerVersion", DOCKER_MAX_STRING, &i.server_version);
        if (r >= 0)
                r = parse_driver_status(json_object_get(doc, "DriverStatus"), &i);
        if (r >= 0)
                r = parse_authz_plugins(json_object_get(doc, "Plugins"), &i);
        if (r < 0) {
                docker_info_done(&i);
                return r;
        }
        /* Docker 24+ with the containerd image store: "overlayfs" (the snapshotter),
         * DriverStatus [["driver-type", "io.containerd.snapshotter.v1"]]. */
        i.containerd_store = i.driver_type && strncmp(i.driver_type, "io.containerd.snapshotter.", 26) == 0;
        *ret = i;
        return 0;
}

static int parse_info(const char *json, size_t size, void *ret) {
        return docker_info_parse(json, size, ret);
}

int docker_get_info(struct docker_client *c, struct docker_info *ret) {
        return docker_request_parsed(c, "GET", "/info", 0, parse_info, ret, "a JSON object with a \"Driver\"");
}

void docker_info_done(struct docker_info *i) {
        free(i->driver);
        free(i->backing_fs);
        free(i->driver_type);
        free(i->root_dir);
        free(i->server_version);
        strv_free(i->authz_plugins);
        *i = (struct docker_info) { .supports_d_type = -1 };
}

int docker_version_parse(const char *json, size_t size, struct docker_version *ret) {
        _cleanup_json_ json_t *doc = NULL;
        struct docker_version v = {};
        int r;

        doc = json_loadb(json, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(doc) || !json_object_get_string(doc, "ApiVersion"))
                return -EBADMSG;
        r = dup_string(doc, "ApiVersion", DOCKER_MAX_STRING, &v.api_version);
        if (r >= 0)
                r = dup_string(doc, "Version", DOCKER_MAX_STRING, &v.version);
        if (r < 0) {
                docker_version_done(&v);
                return r;
        }
        *ret = v;
        return 0;
}

static int parse_version(const char *json, size_t size, void *ret) {
        return docker_version_parse(json, size, ret);
}

int docker_get_version(struct docker_client *c, struct docker_version *ret) {
        return docker_request_parsed(c, "GET", "/version", 0, parse_version, ret,
                                     "a JSON object with an \"ApiVersion\"");
}

void docker_version_done(struct docker_version *v) {
        free(v->version);
        free(v->api_version);
        *v = (struct docker_version) {};
}
