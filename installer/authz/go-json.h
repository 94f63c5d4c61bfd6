/* SPDX-License-Identifier: MIT */
#pragma once

/* JSON read as dockerd's Go reads it. encoding/json matches an object's keys to a
 * struct's fields without regard to case, with Unicode's simple folding ("ſ" U+017F is
 * an "s", the Kelvin sign U+212A a "k"): {"hostconfig":{"Bindſ":["/:/host"]}} sets
 * HostConfig.Binds. When two keys match one field, each is decoded into it in turn, so
 * the last wins, merging into what an earlier one set. A checker that looked up
 * "Privileged" by its exact spelling would be blind to "privileged".
 *
 * Invariants:
 * - gojson_check_keys() refuses a document in which any object has two keys that fold
 *   to the same name: then every field has at most one spelling, and gojson_field()
 *   finds exactly the value Go would decode into it.
 * - Folding: ASCII letters to lower case, U+017F to "s", U+212A to "k"; other bytes as
 *   they are (they cannot spell an ASCII field name).
 * - Library: never prints; negative errno. */

#include <jansson.h>
#include <stdbool.h>

/* KEY folds to FIELD (an ASCII field name as the Go struct spells it). */
bool gojson_key_matches(const char *key, const char *field);

/* -EBADMSG when an object anywhere in V has two keys that fold alike, -ENOMEM. */
int gojson_check_keys(const json_t *v);

/* The value of OBJ's key that folds to FIELD; NULL when absent or OBJ is no object. */
json_t *gojson_field(const json_t *obj, const char *field);

/* Typed readers, each as Go decodes into that type: absent and null are the zero value
 * (false, NULL); another JSON type is -EBADMSG (Go refuses the request then). */
int gojson_bool(const json_t *obj, const char *field, bool *ret);
int gojson_string(const json_t *obj, const char *field, const char **ret);
/* An integer field (int, int64): absent and null are 0. */
int gojson_int(const json_t *obj, const char *field, long long *ret);
/* A []string or map field that must stay empty: 1 when it holds something, 0 when it is
 * absent, null or empty ([] or {}), -EBADMSG for another type. A strslice (CapAdd)
 * may also be one string: non-empty. */
int gojson_nonempty(const json_t *obj, const char *field);
/* An array field whose elements are strings (Binds, Links, VolumesFrom): the array in
 * *RET (NULL for absent or null). -EBADMSG when not an array or an element is not a
 * string. */
int gojson_string_array(const json_t *obj, const char *field, const json_t **ret);
/* An object field (a struct or a map): *RET NULL for absent or null. -EBADMSG for
 * another type. */
int gojson_object(const json_t *obj, const char *field, const json_t **ret);
