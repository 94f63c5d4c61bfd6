/* SPDX-License-Identifier: MIT */
#pragma once

/* Cleanup helpers and small accessors for jansson. */

#include <jansson.h>

#include "base/util.h"

/* jansson itself defines json_decrefp() for its json_auto_t. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Clears, in place, the values of every Secret's data and stringData in V (a Secret, a
 * List of them, or an array of objects; anything else is left alone): called before
 * the last reference to a Secret that may hold a private key goes. */
void json_erase_secrets(json_t *v);
/* json_erase_secrets() then json_decref(): _cleanup_json_erase_. */
static inline void json_erase_decrefp(json_t **p) {
        if (*p) {
                json_erase_secrets(*p);
                json_decref(*p);
        }
}
#define _cleanup_json_erase_ _cleanup_(json_erase_decrefp)

/* The string at KEY of object O, or NULL when absent or not a string. */
static inline const char *json_object_get_string(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* Follows a path of object keys: json_get_path(o, "status", "phase", NULL).
 * NULL when any step is absent or not an object. */
json_t *json_get_path(const json_t *o, ...);
