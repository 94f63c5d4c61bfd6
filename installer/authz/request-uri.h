/* SPDX-License-Identifier: MIT */
#pragma once

/* The RequestUri dockerd passes to the plugin is the request-target exactly as the
 * client sent it (Go's http.Request.RequestURI). dockerd's router matches the path Go
 * decoded from it (percent escapes undone, %2F included) after gorilla/mux has
 * redirected every unclean path ("//", "/./", "/../") instead of serving it; handlers
 * read the query as url.ParseQuery does. This module reads the target the same way, so
 * that the policy judges what the daemon will serve.
 *
 * Invariants:
 * - Only the origin form ("/path?query") is accepted; an absolute URI ("http://h/p"),
 *   "*", a bad escape, a control character (NUL included) in the decoded path, or an
 *   unclean path is refused (-EBADMSG): the daemon serves none of them as they are.
 * - The API version prefix "/vN.N" (mux's "/v{version:[0-9.]+}") is taken off the path
 *   and kept apart.
 * - The query is split at "&"; a pair holding ";" is refused (Go since 1.17 refuses it
 *   and dockerd fails the request); keys and values are unescaped as
 *   url.QueryUnescape does ("+" is a space); a decoded NUL is refused. Every pair is
 *   kept, in order: a checker must look at all values of a key, as Go's FormValue
 *   returns the first and r.Form["t"] all.
 * - At most REQUEST_URI_MAX bytes and REQUEST_QUERY_MAX pairs (-E2BIG beyond).
 * - Library: never prints; negative errno. */

#include <stdbool.h>
#include <stddef.h>

#define REQUEST_URI_MAX (256u << 10)
#define REQUEST_QUERY_MAX 1024

struct query_pair {
        char *key;
        char *value;
};

struct request_uri {
        char *path;             /* decoded, without the version prefix: "/containers/json" */
        char *version;          /* "1.51", or NULL without a prefix */
        struct query_pair *query;
        size_t n_query;
};

void request_uri_done(struct request_uri *u);

int request_uri_parse(const char *uri, struct request_uri *ret);

/* The first value of KEY (as Go's FormValue), or NULL. */
const char *request_uri_query(const struct request_uri *u, const char *key);
/* How many times KEY appears. */
size_t request_uri_query_count(const struct request_uri *u, const char *key);
/* The value of the Nth (from 0) appearance of KEY, or NULL. */
const char *request_uri_query_nth(const struct request_uri *u, const char *key, size_t n);
/* A value as httputils.BoolValue reads it: "", "0", "no", "false", "none" (any case,
 * spaces trimmed) are false, anything else true. */
bool request_uri_bool_value(const char *v);
