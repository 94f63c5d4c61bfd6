/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "authz/json-scan.h"

static bool is_ws(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_ws(const char *s, size_t n, size_t i) {
        while (i < n && is_ws(s[i]))
                i++;
        return i;
}

/* At a '"': the index after the closing quote, or N + 1. memchr() finds the quotes
 * (a body of megabytes is one string); a quote after an odd run of backslashes is
 * escaped. */
static size_t skip_string(const char *s, size_t n, size_t i) {
        for (i++; i < n;) {
                const char *q = memchr(s + i, '"', n - i);
                size_t at, slashes = 0;

                if (!q)
                        return n + 1;
                at = (size_t) (q - s);
                while (at - slashes > i && s[at - slashes - 1] == '\\')
                        slashes++;
                if (slashes % 2 == 0)
                        return at + 1;
                i = at + 1;
        }
        return n + 1;
}

/* At a value: the index after it (strings and brackets matched, scalars up to a
 * delimiter), or N + 1. */
static size_t skip_value(const char *s, size_t n, size_t i) {
        size_t depth = 0;

        while (i < n) {
                char c = s[i];

                if (c == '"')
                        i = skip_string(s, n, i);
                else if (c == '{' || c == '[')
                        depth++, i++;
                else if (c == '}' || c == ']') {
                        if (depth == 0)
                                return i;
                        depth--, i++;
                } else if (depth == 0 && (c == ',' || is_ws(c)))
                        return i;
                else
                        i++;
                if (depth == 0 && i <= n && (i == n || s[i - 1] == '"' || s[i - 1] == '}' || s[i - 1] == ']'))
                        return i;
        }
        return depth == 0 ? i : n + 1;
}

int jscan_member(const char *s, size_t n, const char *key, struct jspan *ret) {
        size_t klen = strlen(key), i = skip_ws(s, n, 0);

        if (i >= n || s[i] != '{')
                return -EBADMSG;
        for (i = skip_ws(s, n, i + 1); i < n && s[i] != '}';) {
                size_t k = i + 1, end, v;

                if (s[i] != '"' || (end = skip_string(s, n, i)) > n)
                        return -EBADMSG;
                i = skip_ws(s, n, end);
                if (i >= n || s[i] != ':')
                        return -EBADMSG;
                v = skip_ws(s, n, i + 1);
                i = skip_value(s, n, v);
                if (i > n || i == v)
                        return -EBADMSG;
                if (end - k - 1 == klen && memcmp(s + k, key, klen) == 0) {
                        *ret = (struct jspan) { s + v, i - v };
                        return 1;
                }
                i = skip_ws(s, n, i);
                if (i < n && s[i] == ',')
                        i = skip_ws(s, n, i + 1);
                else if (i >= n || s[i] != '}')
                        return -EBADMSG;
        }
        return i < n ? 0 : -EBADMSG;
}

int jscan_array_next(const char *s, size_t n, size_t *pos, struct jspan *ret) {
        size_t i = *pos, v;

        if (i == 0) {
                i = skip_ws(s, n, 0);
                if (i >= n || s[i] != '[')
                        return -EBADMSG;
                i = skip_ws(s, n, i + 1);
        } else {
                i = skip_ws(s, n, i);
                if (i < n && s[i] == ',')
                        i = skip_ws(s, n, i + 1);
                else if (i >= n || s[i] != ']')
                        return -EBADMSG;
        }
        if (i < n && s[i] == ']')
                return 0;
        v = i;
        i = skip_value(s, n, v);
        if (i > n || i == v)
                return -EBADMSG;
        *ret = (struct jspan) { s + v, i - v };
        *pos = i;
        return 1;
}

bool jscan_plain_string(const struct jspan *v, const char **ret, size_t *ret_len) {
        if (v->n < 2 || v->s[0] != '"' || v->s[v->n - 1] != '"' || memchr(v->s + 1, '\\', v->n - 2))
                return false;
        *ret = v->s + 1;
        *ret_len = v->n - 2;
        return true;
}
