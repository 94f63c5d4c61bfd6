/* SPDX-License-Identifier: MIT */
/* The Kubernetes client's transport: URLs, credentials, requests, apply. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "base/http.h"
#include "base/json-util.h"
#include "kube/kube.h"

#define KUBE_CONNECT_TIMEOUT_USEC (5ULL * 1000000)
#define KUBE_TOTAL_TIMEOUT_USEC (30ULL * 1000000)
#define KUBE_MAX_BODY (8u << 20)
#define KUBE_RETRIES 5
#define KUBE_RETRY_MAX_WAIT_USEC (10ULL * 1000000)
#define KUBE_LIST_LIMIT 500

struct kube_client {
        struct http_client *http;
        char *server;            /* as configured */
        char *base;              /* scheme://host[:port][/prefix], no trailing slash */
        struct kube_error error;
};

static int set_message(char **ret_message, char *m) {
        if (ret_message) {
                free(*ret_message);
                *ret_message = m;
        } else
                free(m);
        return -EINVAL;
}

/* Splits SERVER into scheme, authority (host[:port], IPv6 in brackets), host, port and
 * the path prefix. */
struct server_url {
        char *scheme, *host, *port, *prefix;
};

static void server_url_done(struct server_url *u) {
        free(u->scheme);
        free(u->host);
        free(u->port);
        free(u->prefix);
}

/* HOST (from a URL, IPv6 in brackets) is a DNS name, an IPv4 address or an IPv6 address. */
static bool server_host_ok(const char *host) {
        size_t len = strlen(host), label = 0;
        char buf[INET6_ADDRSTRLEN];
        unsigned char addr[sizeof(struct in6_addr)];

        if (host[0] == '[') {
                if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(buf))
                        return false;
                memcpy(buf, host + 1, len - 2);
                buf[len - 2] = '\0';
                return inet_pton(AF_INET6, buf, addr) == 1;
        }
        if (len == 0 || len > 253)
                return false;
        if (strspn(host, "0123456789.") == len)
                return inet_pton(AF_INET, host, addr) == 1;
        for (size_t i = 0; i <= len; i++) {
                char ch = host[i];
                if (ch == '.' || ch == '\0') {
                        if (label == 0 || label > 63 || host[i - 1] == '-' || host[i - label] == '-')
                                return false;
                        label = 0;
                } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                           ch == '-' || ch == '_')
                        label++;
                else
                        return false;
        }
        return true;
}

/* SERVER is scheme://host[:port][/prefix]: https or http, a valid host, a port from 1
 * to 65535, and no user info, query or fragment (every request path is appended to
 * it: after a '?' or '#' it would be swallowed). *RET_WHY says what is wrong. */
static int parse_server(const char *server, struct server_url *ret, const char **ret_why) {
        struct server_url u = {};
        const char *p = strstr(server, "://"), *auth, *end, *colon;
        long port;

        *ret_why = "it is not scheme://host[:port][/path]";
        if (!p)
                return -EINVAL;
        u.scheme = strndup(server, p - server);
        if (!u.scheme)
                goto oom;
        if (!streq(u.scheme, "https") && !streq(u.scheme, "http")) {
                *ret_why = "the scheme is not https or http";
                goto bad;
        }
        auth = p + 3;
        end = auth + strcspn(auth, "/?#");
        if (strpbrk(auth, "?#")) {
                *ret_why = "a server URL has no query or fragment ('?', '#')";
                goto bad;
        }
        if (memchr(auth, '@', end - auth)) {
                *ret_why = "a server URL has no user name or password (use the kubeconfig's user)";
                goto bad;
        }
        if (*auth == '[') {
                const char *close = memchr(auth, ']', end - auth);
                if (!close)
                        goto bad;
                u.host = strndup(auth, close + 1 - auth);
                colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
                if (close + 1 < end && !colon)
                        goto bad;
        } else {
                colon = memchr(auth, ':', end - auth);
                u.host = strndup(auth, (colon ? colon : end) - auth);
        }
        if (!u.host)
                goto oom;
        if (!server_host_ok(u.host)) {
                *ret_why = "the host is not a host name, an IPv4 address or an [IPv6] address";
                goto bad;
        }
        if (colon) {
                u.port = strndup(colon + 1, end - colon - 1);
                if (!u.port)
                        goto oom;
                if (strspn(u.port, "0123456789") != strlen(u.port) || parse_int_range(u.port, 1, 65535, &port) < 0) {
                        *ret_why = "the port is not a number from 1 to 65535";
                        goto bad;
                }
        } else {
                u.port = strdup(streq(u.scheme, "https") ? "443" : "80");
                if (!u.port)
                        goto oom;
        }
        /* The path prefix (a proxy's "/k8s/clusters/c-1"), without trailing slashes. */
        size_t n = strlen(end);
        while (n > 0 && end[n - 1] == '/')
                n--;
        u.prefix = strndup(end, n);
        if (!u.prefix)
                goto oom;
        if (strpbrk(u.prefix, " \t\r\n\"<>\\^`{|}") || text_setting_problem(u.prefix)) {
                *ret_why = "the path holds characters a URL path cannot";
                goto bad;
        }
        *ret = u;
        return 0;
bad:
        server_url_done(&u);
        return -EINVAL;
oom:
        server_url_done(&u);
        return -ENOMEM;
}

int kube_client_new(const struct kubeconfig *cfg, struct kube_client **ret, char **ret_message) {
        _cleanup_(kube_client_freep) struct kube_client *c = NULL;
        _cleanup_(server_url_done) struct server_url u = {};
        struct http_tls tls = {};
        const char *why = NULL;
        int r;

        r = parse_server(cfg->server, &u, &why);
        if (r == -EINVAL) {
                _cleanup_free_ char *server = text_escape(cfg->server, 256), *cluster = text_escape(cfg->cluster, 256);
                return set_message(ret_message,
                                   strdup_printf("the server URL '%s' of cluster '%s' is not a valid "
                                                 "https:// or http:// URL: %s", server ?: "?", cluster ?: "?", why));
        }
        if (r < 0)
                return r;
        if (cfg->tls_server_name && strspn(cfg->tls_server_name,
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                                            strlen(cfg->tls_server_name)) {
                _cleanup_free_ char *name = text_escape(cfg->tls_server_name, 256), *cluster = text_escape(cfg->cluster, 256);
                return set_message(ret_message, strdup_printf("tls-server-name '%s' of cluster '%s' is not a host name",
                                                              name ?: "?", cluster ?: "?"));
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->server = strdup(cfg->server);
        if (!c->server)
                return -ENOMEM;
        r = http_client_new(&c->http);
        if (r < 0)
                return r;

        if (cfg->tls_server_name) {
                /* Ask for TLSNAME in the URL (so TLS verifies that name and sends it as
                 * SNI) and connect to the server's real address. */
                _cleanup_free_ char *connect_to = strdup_printf("%s:%s:%s:%s", cfg->tls_server_name, u.port,
                                                                u.host, u.port);
                if (!connect_to)
                        return -ENOMEM;
                r = http_client_set_connect_to(c->http, connect_to);
                if (r < 0)
                        return r;
                c->base = strdup_printf("%s://%s:%s%s", u.scheme, cfg->tls_server_name, u.port, u.prefix);
        } else
                c->base = strdup_printf("%s://%s:%s%s", u.scheme, u.host, u.port, u.prefix);
        if (!c->base)
                return -ENOMEM;

        tls = (struct http_tls) {
                .ca_data = cfg->ca,
                .ca_size = cfg->ca_size,
                .cert_data = cfg->cert,
                .cert_size = cfg->cert_size,
                .key_data = cfg->key,
                .key_size = cfg->key_size,
                .insecure = cfg->insecure,
        };
        r = http_client_set_tls(c->http, &tls);
        if (r < 0)
                return r;
        if (cfg->token) {
                r = http_client_set_bearer_token(c->http, cfg->token);
                if (r < 0)
                        return r;
        }
        http_client_set_timeouts(c->http, KUBE_CONNECT_TIMEOUT_USEC, KUBE_TOTAL_TIMEOUT_USEC);
        http_client_set_max_body(c->http, KUBE_MAX_BODY);
        http_client_set_retries(c->http, KUBE_RETRIES, KUBE_RETRY_MAX_WAIT_USEC);

        *ret = TAKE_PTR(c);
        return 0;
}

struct kube_client *kube_client_free(struct kube_client *c) {
        if (!c)
                return NULL;
        http_client_free(c->http);
        free(c->server);
        free(c->base);
        kube_error_done(&c->error);
        free(c);
        return NULL;
}

void kube_client_set_retry_callback(struct kube_client *c,
                                    void (*cb)(void *userdata, long status, int error, uint64_t wait_usec),
                                    void *userdata) {
        http_client_set_retry_callback(c->http, cb, userdata);
}

void kube_client_set_timeout(struct kube_client *c, uint64_t total_usec) {
        http_client_set_timeouts(c->http, KUBE_CONNECT_TIMEOUT_USEC, total_usec);
}

const struct kube_error *kube_client_last_error(const struct kube_client *c) {
        return &c->error;
}

const char *kube_client_server(const struct kube_client *c) {
        return c->server;
}

/* Resets the last error to "METHOD PATH failed" with nothing else known yet. */
static int error_begin(struct kube_client *c, const char *method, const char *path) {
        kube_error_done(&c->error);
        c->error.method = strdup(method);
        c->error.path = strdup(path);
        return c->error.method && c->error.path ? 0 : -ENOMEM;
}

/* One request. On 2xx, *ret_status and (when RET_JSON) the parsed JSON object; else the
 * last error is filled and a negative errno returned. */
static int request(struct kube_client *c, const char *method, const char *path, const char *query,
                   const char *content_type, const char *body, long *ret_status, json_t **ret_json) {
        _cleanup_(http_response_done) struct http_response resp = {};
        _cleanup_free_ char *url = NULL;
        int r;

        r = error_begin(c, method, path);
        if (r < 0)
                return r;
        if (path[0] != '/')
                return -EINVAL;
        url = strdup_printf("%s%s%s%s", c->base, path, query ? "?" : "", query ?: "");
        if (!url)
                return -ENOMEM;

        r = http_client_request(c->http, method, url, content_type, "application/json", body,
                                body ? strlen(body) : 0, &resp);
        if (r < 0) {
                c->error.transport = strdup(http_client_last_error(c->http));
                return r;
        }
        if (resp.status < 200 || resp.status > 299) {
                struct kube_error e = {};

                r = kube_status_parse(resp.body, resp.body_size, resp.status, &e);
                if (r < 0)
                        return r;
                e.method = TAKE_PTR(c->error.method);
                e.path = TAKE_PTR(c->error.path);
                kube_error_done(&c->error);
                c->error = e;
                return kube_status_to_errno(resp.status);
        }
        if (ret_json) {
                json_t *j = json_loadb(resp.body, resp.body_size, JSON_REJECT_DUPLICATES, NULL);
                if (!json_is_object(j)) {
                        json_decref(j);
                        c->error.http_status = resp.status;
                        c->error.message = strdup("the reply is not a JSON object");
                        return -EBADMSG;
                }
                *ret_json = j;
        }
        *ret_status = resp.status;
        return 0;
}

int kube_get(struct kube_client *c, const char *path, json_t **ret_obj) {
        long status;
        return request(c, "GET", path, NULL, NULL, NULL, &status, ret_obj);
}

const char *kube_apply_outcome_to_string(enum kube_apply_outcome o) {
        switch (o) {
        case KUBE_APPLY_CREATED:
                return "created";
        case KUBE_APPLY_CONFIGURED:
                return "configured";
        case KUBE_APPLY_UNCHANGED:
                return "unchanged";
        }
        return "?";
}

/* O without what changes on every write: resourceVersion, managedFields. */
static json_t *without_bookkeeping(const json_t *o) {
        json_t *copy = json_deep_copy(o), *meta;

        if (!copy)
                return NULL;
        meta = json_object_get(copy, "metadata");
        json_object_del(meta, "resourceVersion");
        json_object_del(meta, "managedFields");
        return copy;
}

static bool same_content(const json_t *a, const json_t *b) {
        _cleanup_json_ json_t *x = without_bookkeeping(a), *y = without_bookkeeping(b);
        return x && y && json_equal(x, y);
}

int kube_apply(struct kube_client *c, const char *path, const json_t *obj, unsigned flags,
               enum kube_apply_outcome *ret_outcome, json_t **ret_obj) {
        return kube_apply_as(c, path, obj, KUBE_FIELD_MANAGER, flags, ret_outcome, ret_obj);
}

/* A field manager is at most 128 characters; ours are [a-z0-9./-], which a query
 * string carries as they are but for '/', escaped. */
static char *manager_query(const char *manager) {
        size_t n = strlen(manager);
        char *q, *o;

        if (n == 0 || n > 128 || strspn(manager, "abcdefghijklmnopqrstuvwxyz0123456789.-/") != n)
                return NULL;
        q = o = malloc(n * 3 + 1);
        if (!q)
                return NULL;
        for (const char *s = manager; *s; s++)
                if (*s == '/') {
                        memcpy(o, "%2F", 3);
                        o += 3;
                } else
                        *o++ = *s;
        *o = '\0';
        return q;
}

int kube_apply_as(struct kube_client *c, const char *path, const json_t *obj, const char *manager, unsigned flags,
                  enum kube_apply_outcome *ret_outcome, json_t **ret_obj) {
        /* A Secret's body, its live object and the reply hold its data: cleared. */
        _cleanup_json_erase_ json_t *live = NULL, *result = NULL;
        _cleanup_free_ char *mq = NULL, *query = NULL;
        _cleanup_erase_ char *body = NULL;
        enum kube_apply_outcome outcome;
        long status;
        int r;

        mq = manager ? manager_query(manager) : NULL;
        if (!mq)
                return -EINVAL;
        r = kube_get(c, path, &live);
        if (r < 0 && r != -ENOENT)
                return r;

        body = json_dumps(obj, JSON_COMPACT);
        if (!body)
                return -ENOMEM;
        query = strdup_printf("fieldManager=%s%s%s", mq,
                              flags & KUBE_APPLY_FORCE ? "&force=true" : "",
                              flags & KUBE_APPLY_DRY_RUN ? "&dryRun=All" : "");
        if (!query)
                return -ENOMEM;
        r = request(c, "PATCH", path, query, "application/apply-patch+yaml", body, &status, &result);
        if (r < 0)
                return r;

        if (status == 201 || !live)
                outcome = KUBE_APPLY_CREATED;
        else if (flags & KUBE_APPLY_DRY_RUN)
                outcome = same_content(live, result) ? KUBE_APPLY_UNCHANGED : KUBE_APPLY_CONFIGURED;
        else {
                const char *before = json_string_value(json_get_path(live, "metadata", "resourceVersion", NULL));
                const char *after = json_string_value(json_get_path(result, "metadata", "resourceVersion", NULL));
                outcome = before && streq(before, after) ? KUBE_APPLY_UNCHANGED : KUBE_APPLY_CONFIGURED;
        }

        if (ret_outcome)
                *ret_outcome = outcome;
        if (ret_obj)
                *ret_obj = TAKE_PTR(result);
        return 0;
}

int kube_delete(struct kube_client *c, const char *path, bool dry_run) {
        long status;
        int r;

        r = request(c, "DELETE", path, dry_run ? "propagationPolicy=Background&dryRun=All" : "propagationPolicy=Background",
                    NULL, NULL, &status, NULL);
        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : 1;
}

int kube_list(struct kube_client *c, const char *collection_path, const char *label_selector,
              const char *field_selector, json_t **ret_items) {
        _cleanup_json_ json_t *list = NULL;
        _cleanup_free_ char *query = NULL, *ls = NULL, *fs = NULL;
        json_t *items;
        long status;
        int r;

        if (label_selector && !(ls = http_escape(label_selector)))
                return -ENOMEM;
        if (field_selector && !(fs = http_escape(field_selector)))
                return -ENOMEM;
        query = strdup_printf("limit=%d%s%s%s%s", KUBE_LIST_LIMIT, ls ? "&labelSelector=" : "", ls ?: "",
                              fs ? "&fieldSelector=" : "", fs ?: "");
        if (!query)
                return -ENOMEM;
        r = request(c, "GET", collection_path, query, NULL, NULL, &status, &list);
        if (r < 0)
                return r;
        items = json_object_get(list, "items");
        if (json_is_null(items) || !items)
                items = json_array();
        else if (!json_is_array(items)) {
                c->error.message = strdup("the list reply has no items array");
                return -EBADMSG;
        } else
                json_incref(items);
        if (!items)
                return -ENOMEM;
        *ret_items = items;
        return 0;
}
