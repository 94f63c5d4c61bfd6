/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "authz/go-json.h"
#include "base/json-util.h"
#include "base/util.h"

/* The folded form of the byte sequence at *P (advanced past it): a lower-case ASCII
 * letter or other byte, or 's'/'k' for the two non-ASCII runes that fold to them. */
static unsigned char fold_next(const unsigned char **p) {
        const unsigned char *s = *p;

        if (s[0] == 0xc5 && s[1] == 0xbf) { /* U+017F LATIN SMALL LETTER LONG S */
                *p += 2;
                return 's';
        }
        if (s[0] == 0xe2 && s[1] == 0x84 && s[2] == 0xaa) { /* U+212A KELVIN SIGN */
                *p += 3;
                return 'k';
        }
        *p += 1;
        return s[0] >= 'A' && s[0] <= 'Z' ? (unsigned char) (s[0] - 'A' + 'a') : s[0];
}

bool gojson_key_matches(const char *key, const char *field) {
        const unsigned char *k = (const unsigned char *) key, *f = (const unsigned char *) field;

        if (!key || !field)
                return false;
        while (*k && *f) {
                unsigned char a = fold_next(&k), b = fold_next(&f);
                if (a != b)
                        return false;
        }
        return !*k && !*f;
}

static char *fold(const char *key) {
        const unsigned char *k = (const unsigned char *) key;
        char *out = malloc(strlen(key) + 1), *o = out;

        if (!out)
                return NULL;
        while (*k)
                *o++ = (char) fold_next(&k);
        *o = '\0';
        return out;
}

static int check_object(const json_t *obj) {
        _cleanup_json_ json_t *seen = json_object();
        const char *key;
        json_t *v;

        if (!seen)
                return -ENOMEM;
        json_object_foreach ((json_t *) obj, key, v) {
                _cleanup_free_ char *f = fold(key);
                int r;

                if (!f)
                        return -ENOMEM;
                if (json_object_get(seen, f))
                        return -EBADMSG;
                if (json_object_set_new(seen, f, json_null()) < 0)
                        return -ENOMEM;
                r = gojson_check_keys(v);
                if (r < 0)
                        return r;
        }
        return 0;
}

int gojson_check_keys(const json_t *v) {
        size_t i;
        json_t *e;
        int r;

        if (json_is_object(v))
                return check_object(v);
        if (json_is_array(v))
                json_array_foreach ((json_t *) v, i, e)
                        if ((r = gojson_check_keys(e)) < 0)
                                return r;
        return 0;
}

json_t *gojson_field(const json_t *obj, const char *field) {
        const char *key;
        json_t *v;

        if (!json_is_object(obj))
                return NULL;
        /* The exact spelling first: a hash lookup, the common case. */
        v = json_object_get(obj, field);
        if (v)
                return v;
        json_object_foreach ((json_t *) obj, key, v)
                if (gojson_key_matches(key, field))
                        return v;
        return NULL;
}

int gojson_bool(const json_t *obj, const char *field, bool *ret) {
        const json_t *v = gojson_field(obj, field);

        if (!v || json_is_null(v)) {
                *ret = false;
                return 0;
        }
        if (!json_is_boolean(v))
                return -EBADMSG;
        *ret = json_is_true(v);
        return 0;
}

int gojson_string(const json_t *obj, const char *field, const char **ret) {
        const json_t *v = gojson_field(obj, field);

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return -EBADMSG;
        *ret = json_string_value(v);
        return 0;
}

int gojson_int(const json_t *obj, const char *field, long long *ret) {
        const json_t *v = gojson_field(obj, field);

        if (!v || json_is_null(v)) {
                *ret = 0;
                return 0;
        }
        if (!json_is_integer(v))
                return -EBADMSG;
        *ret = json_integer_value(v);
        return 0;
}

int gojson_nonempty(const json_t *obj, const char *field) {
        const json_t *v = gojson_field(obj, field);

        if (!v || json_is_null(v))
                return 0;
        if (json_is_array(v))
                return json_array_size(v) > 0;
        if (json_is_object(v))
                return json_object_size(v) > 0;
        /* strslice.StrSlice takes one string as a list of one. */
        if (json_is_string(v))
                return 1;
        return -EBADMSG;
}

int gojson_string_array(const json_t *obj, const char *field, const json_t **ret) {
        const json_t *v = gojson_field(obj, field);
        size_t i;
        json_t *e;

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_array(v))
                return -EBADMSG;
        json_array_foreach ((json_t *) v, i, e)
                if (!json_is_string(e))
                        return -EBADMSG;
        *ret = v;
        return 0;
}

int gojson_object(const json_t *obj, const char *field, const json_t **ret) {
        const json_t *v = gojson_field(obj, field);

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_object(v))
                return -EBADMSG;
        *ret = v;
        return 0;
}
