/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "authz/request-uri.h"
#include "base/util.h"

void request_uri_done(struct request_uri *u) {
        free(u->path);
        free(u->version);
        for (size_t i = 0; i < u->n_query; i++) {
                free(u->query[i].key);
                free(u->query[i].value);
        }
        free(u->query);
        *u = (struct request_uri) {};
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Go's unescape(): "%XX" is a byte; in a query component "+" is a space. A result
 * holding NUL is refused. */
static int unescape(const char *s, size_t len, bool query, char **ret) {
        char *out = malloc(len + 1), *o = out;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '%') {
                        int hi = i + 2 < len ? unhex(s[i + 1]) : -1, lo = i + 2 < len ? unhex(s[i + 2]) : -1;

                        if (hi < 0 || lo < 0) {
                                free(out);
                                return -EBADMSG;
                        }
                        *o++ = (char) (hi << 4 | lo);
                        i += 2;
                } else if (s[i] == '+' && query)
                        *o++ = ' ';
                else
                        *o++ = s[i];
        }
        *o = '\0';
        if ((size_t) (o - out) != strlen(out)) {
                free(out);
                return -EBADMSG;
        }
        *ret = out;
        return 0;
}

/* mux's cleanPath() would leave P as it is: no empty, "." or ".." segment but a last
 * empty one (a trailing slash). */
static bool path_is_clean(const char *p) {
        if (p[0] != '/')
                return false;
        for (const char *s = p + 1;;) {
                const char *e = strchrnul(s, '/');
                size_t n = (size_t) (e - s);

                if ((n == 0 && *e) || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                if (!*e)
                        return true;
                s = e + 1;
        }
}

static bool has_control(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return true;
        return false;
}

/* "/v1.51/x" -> version "1.51", path "/x". */
static int split_version(char *path, char **ret_path, char **ret_version) {
        size_t n = 0;

        if (path[0] == '/' && path[1] == 'v') {
                n = strspn(path + 2, "0123456789.");
                if (n == 0 || path[2 + n] != '/')
                        n = 0;
        }
        if (n == 0) {
                *ret_path = path;
                *ret_version = NULL;
                return 0;
        }
        *ret_version = strndup(path + 2, n);
        *ret_path = strdup(path + 2 + n);
        free(path);
        if (!*ret_version || !*ret_path) {
                free(*ret_version);
                free(*ret_path);
                return -ENOMEM;
        }
        return 0;
}

static int parse_query(const char *q, struct request_uri *u) {
        while (q && *q) {
                const char *amp = strchrnul(q, '&'), *eq;
                struct query_pair *grown;
                char *key = NULL, *value = NULL;
                int r;

                if (amp == q) {
                        q = *amp ? amp + 1 : amp;
                        continue;
                }
                if (memchr(q, ';', (size_t) (amp - q)))
                        return -EBADMSG;
                if (u->n_query >= REQUEST_QUERY_MAX)
                        return -E2BIG;
                eq = memchr(q, '=', (size_t) (amp - q));
                r = unescape(q, (size_t) ((eq ? eq : amp) - q), true, &key);
                if (r >= 0)
                        r = unescape(eq ? eq + 1 : amp, eq ? (size_t) (amp - eq - 1) : 0, true, &value);
                if (r >= 0) {
                        grown = reallocarray(u->query, u->n_query + 1, sizeof(*u->query));
                        if (!grown)
                                r = -ENOMEM;
                        else {
                                u->query = grown;
                                u->query[u->n_query++] = (struct query_pair) { key, value };
                        }
                }
                if (r < 0) {
                        free(key);
                        free(value);
                        return r;
                }
                q = *amp ? amp + 1 : amp;
        }
        return 0;
}

int request_uri_parse(const char *uri, struct request_uri *ret) {
        struct request_uri u = {};
        const char *qm;
        char *path = NULL;
        int r;

        if (!uri || uri[0] != '/')
                return -EBADMSG;
        if (strlen(uri) > REQUEST_URI_MAX)
                return -E2BIG;
        if (has_control(uri))
                return -EBADMSG;
        qm = strchrnul(uri, '?');
        r = unescape(uri, (size_t) (qm - uri), false, &path);
        if (r < 0)
                return r;
        if (has_control(path) || !path_is_clean(path)) {
                free(path);
                return -EBADMSG;
        }
        r = split_version(path, &u.path, &u.version);
        if (r < 0)
                return r;
        r = parse_query(*qm ? qm + 1 : NULL, &u);
        if (r < 0) {
                request_uri_done(&u);
                return r;
        }
        *ret = u;
        return 0;
}

const char *request_uri_query_nth(const struct request_uri *u, const char *key, size_t n) {
        for (size_t i = 0; i < u->n_query; i++)
                if (streq(u->query[i].key, key) && n-- == 0)
                        return u->query[i].value;
        return NULL;
}

const char *request_uri_query(const struct request_uri *u, const char *key) {
        return request_uri_query_nth(u, key, 0);
}

size_t request_uri_query_count(const struct request_uri *u, const char *key) {
        size_t n = 0;

        for (size_t i = 0; i < u->n_query; i++)
                n += streq(u->query[i].key, key);
        return n;
}

bool request_uri_bool_value(const char *v) {
        size_t len;

        if (!v)
                return false;
        while (isspace((unsigned char) *v))
                v++;
        len = strlen(v);
        while (len > 0 && isspace((unsigned char) v[len - 1]))
                len--;
        if (len == 0)
                return false;
        return !((len == 1 && v[0] == '0') || (len == 2 && strncasecmp(v, "no", 2) == 0) ||
                 (len == 5 && strncasecmp(v, "false", 5) == 0) || (len == 4 && strncasecmp(v, "none", 4) == 0));
}
