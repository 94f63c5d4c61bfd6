/* SPDX-License-Identifier: MIT */
#pragma once

/* A JSON reader that allocates nothing and copies nothing: it finds a member of an
 * object, or walks an array, as spans of the text. For the plugin's hot path, where
 * jansson's ~25 ns a byte would cost a daemon's inspect reply 200 us and a list of 100
 * containers milliseconds, for each call. Only what a span holds is looked at: the
 * syntax of what is skipped is not checked (a caller that needs all of it checked
 * parses it with jansson).
 *
 * Invariants: never reads past S + N; a string span excludes its quotes; a string
 * holding an escape is not "plain" (jscan_plain_string), so no caller compares escaped
 * text. Never prints; negative errno (-EBADMSG) for text it cannot walk. */

#include <stdbool.h>
#include <stddef.h>

struct jspan {
        const char *s;          /* the value's first byte ('"' for a string) */
        size_t n;
};

/* The value of member KEY of the object S (N bytes): 1 found (RET), 0 not there, or
 * -EBADMSG. A key spelled with escapes never matches. */
int jscan_member(const char *s, size_t n, const char *key, struct jspan *ret);

/* Walks the array S: *POS starts at 0; each call gives the next element in *RET and
 * returns 1, then 0 at the end, or -EBADMSG. */
int jscan_array_next(const char *s, size_t n, size_t *pos, struct jspan *ret);

/* V is a string without escapes: its text (not NUL-terminated) and length. */
bool jscan_plain_string(const struct jspan *v, const char **ret, size_t *ret_len);
