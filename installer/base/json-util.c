/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <string.h>

#include "base/json-util.h"

json_t *json_get_path(const json_t *o, ...) {
        va_list ap;
        const char *key;
        json_t *cur = (json_t *) o;

        va_start(ap, o);
        while (cur && (key = va_arg(ap, const char *)))
                cur = json_object_get(cur, key);
        va_end(ap);
        return cur;
}

static void erase_strings(json_t *o) {
        const char *key;
        json_t *v;

        json_object_foreach(o, key, v)
                if (json_is_string(v))
                        explicit_bzero((char *) json_string_value(v), json_string_length(v));
}

void json_erase_secrets(json_t *v) {
        size_t i;
        json_t *e;

        if (json_is_array(v)) {
                json_array_foreach(v, i, e)
                        json_erase_secrets(e);
                return;
        }
        if (!json_is_object(v))
                return;
        if (json_is_array(json_object_get(v, "items"))) {
                json_erase_secrets(json_object_get(v, "items"));
                return;
        }
        if (!streq(json_object_get_string(v, "kind"), "Secret"))
                return;
        erase_strings(json_object_get(v, "data"));
        erase_strings(json_object_get(v, "stringData"));
}
