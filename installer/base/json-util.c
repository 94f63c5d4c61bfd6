/* SPDX-License-Identifier: MIT */
#include <stdarg.h>

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
