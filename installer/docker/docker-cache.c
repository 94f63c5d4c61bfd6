/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/json-util.h"
#include "base/text.h"
#include "docker/docker-cache.h"
#include "docker/docker-json.h"
#include "docker/docker-prune.h"

#define NOT_API_JSON "the JSON the API describes"

static void record_done(struct docker_cache_record *r) {
        free(r->id);
        free(r->type);
        free(r->description);
        for (size_t i = 0; i < r->n_parents; i++)
                free(r->parents[i]);
}

void docker_build_cache_done(struct docker_build_cache *bc) {
        for (size_t i = 0; i < bc->n; i++)
                record_done(&bc->items[i]);
        free(bc->items);
        *bc = (struct docker_build_cache) {};
}

/* The answer is read by a forward-only scanner that keeps the few fields the checker
 * uses and skips the rest without building a tree: jansson's tree of a 10,000-record
 * answer (3 MiB) was 60% of the cost of a full read. JSON as RFC 8259 says: strings
 * with their escapes and no raw control characters, nesting at most SCAN_MAX_DEPTH
 * deep, nothing after the top object; a string that is kept must be UTF-8. */
#define SCAN_MAX_DEPTH 64
#define SCAN_MAX_NUMBER 40
#define OBJECT_OPEN '{'
#define OBJECT_CLOSE '}'

struct scan {
        const char *p, *end;
        unsigned depth;
};

static bool digit(char c) {
        return c >= '0' && c <= '9';
}

static bool xdigit(char c) {
        return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void ws(struct scan *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

static bool eat(struct scan *s, char c) {
        ws(s);
        if (s->p < s->end && *s->p == c) {
                s->p++;
                return true;
        }
        return false;
}

static bool peek(struct scan *s, char c) {
        ws(s);
        return s->p < s->end && *s->p == c;
}

/* The string at the scanner: its raw content in *RET and *RET_LEN, *RET_ESCAPED
 * whether it holds an escape. */
static int string_span(struct scan *s, const char **ret, size_t *ret_len, bool *ret_escaped) {
        const char *start;
        bool escaped = false;

        if (!eat(s, '"'))
                return -EBADMSG;
        for (start = s->p; s->p < s->end; s->p++) {
                unsigned char c = (unsigned char) *s->p;

                if (c == '"') {
                        *ret = start;
                        *ret_len = (size_t) (s->p++ - start);
                        *ret_escaped = escaped;
                        return 0;
                }
                if (c < 0x20)
                        return -EBADMSG;
                if (c != '\\')
                        continue;
                escaped = true;
                if (s->end - s->p < 2)
                        return -EBADMSG;
                if (s->p[1] == 'u') {
                        if (s->end - s->p < 6 || !xdigit(s->p[2]) || !xdigit(s->p[3]) || !xdigit(s->p[4]) ||
                            !xdigit(s->p[5]))
                                return -EBADMSG;
                        s->p += 5;
                } else if (s->p[1] != '\0' && strchr("\"\\/bfnrt", s->p[1]))
                        s->p++;
                else
                        return -EBADMSG;
        }
        return -EBADMSG;
}

static unsigned hex4(const char *p) {
        char buf[5] = { p[0], p[1], p[2], p[3], '\0' };
        return (unsigned) strtoul(buf, NULL, 16);
}

/* Appends code point CP as UTF-8 at O; a lone surrogate or NUL reads as '?'. */
static char *put_utf8(char *o, unsigned cp) {
        if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
                *o++ = '?';
        else if (cp < 0x80)
                *o++ = (char) cp;
        else if (cp < 0x800) {
                *o++ = (char) (0xc0 | (cp >> 6));
                *o++ = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                *o++ = (char) (0xe0 | (cp >> 12));
                *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char) (0x80 | (cp & 0x3f));
        } else {
                *o++ = (char) (0xf0 | (cp >> 18));
                *o++ = (char) (0x80 | ((cp >> 12) & 0x3f));
                *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char) (0x80 | (cp & 0x3f));
        }
        return o;
}

/* RAW (LEN bytes, checked by string_span()) with its escapes decoded, NUL-terminated. */
static char *decode(const char *raw, size_t len) {
        char *out = malloc(len + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
                unsigned cp;

                if (raw[i] != '\\') {
                        *o++ = raw[i];
                        continue;
                }
                if (raw[++i] != 'u') {
                        *o++ = to[strchr(from, raw[i]) - from];
                        continue;
                }
                cp = hex4(raw + i + 1);
                i += 4;
                if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < len && raw[i + 1] == '\\' && raw[i + 2] == 'u') {
                        unsigned low = hex4(raw + i + 3);
                        if (low >= 0xdc00 && low <= 0xdfff) {
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                                i += 6;
                        }
                }
                o = put_utf8(o, cp);
        }
        *o = '\0';
        return out;
}

/* The string at the scanner, decoded, UTF-8 or -EBADMSG, then cleaned and cut at MAX. */
static int string_value(struct scan *s, size_t max, char **ret) {
        _cleanup_free_ char *text = NULL;
        const char *raw;
        size_t len;
        bool escaped;
        int r;

        r = string_span(s, &raw, &len, &escaped);
        if (r < 0)
                return r;
        text = escaped ? decode(raw, len) : strndup(raw, len);
        if (!text)
                return -ENOMEM;
        if (!text_is_utf8(text))
                return -EBADMSG;
        free(*ret);
        *ret = text_sanitize_line(text, max);
        return *ret ? 0 : -ENOMEM;
}

static int skip_value(struct scan *s);

static int skip_literal(struct scan *s, const char *word) {
        size_t n = strlen(word);

        ws(s);
        if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0)
                return -EBADMSG;
        s->p += n;
        return 0;
}

/* A number: its value, 0 when it is not an integer in range of int64_t. */
static int number(struct scan *s, int64_t *ret) {
        char buf[SCAN_MAX_NUMBER + 1];
        const char *start;
        bool integer = true;
        size_t n;

        ws(s);
        start = s->p;
        if (s->p < s->end && *s->p == '-')
                s->p++;
        if (s->p >= s->end || !digit(*s->p))
                return -EBADMSG;
        while (s->p < s->end && (digit(*s->p) || (*s->p != '\0' && strchr(".eE+-", *s->p)))) {
                integer = integer && digit(*s->p);
                s->p++;
        }
        n = (size_t) (s->p - start);
        *ret = 0;
        if (n > SCAN_MAX_NUMBER)
                return 0;
        memcpy(buf, start, n);
        buf[n] = '\0';
        errno = 0;
        if (integer) {
                long long v = strtoll(buf, NULL, 10);
                *ret = errno ? 0 : v;
        } else {
                double d = strtod(buf, NULL);
                *ret = d >= -9.2e18 && d <= 9.2e18 ? (int64_t) d : 0;
        }
        return 0;
}

/* Calls MEMBER for each member of the object at the scanner (the key's raw text, and
 * whether it held an escape); MEMBER reads the value. */
static int object(struct scan *s, int (*member)(struct scan *s, const char *key, size_t len, bool escaped,
                                                void *userdata), void *userdata) {
        const char *key;
        size_t len;
        bool escaped;
        int r;

        if (!eat(s, OBJECT_OPEN) || ++s->depth > SCAN_MAX_DEPTH)
                return -EBADMSG;
        if (!eat(s, OBJECT_CLOSE)) {
                do {
                        r = string_span(s, &key, &len, &escaped);
                        if (r < 0)
                                return r;
                        if (!eat(s, ':'))
                                return -EBADMSG;
                        r = member(s, key, len, escaped, userdata);
                        if (r < 0)
                                return r;
                } while (eat(s, ','));
                if (!eat(s, OBJECT_CLOSE))
                        return -EBADMSG;
        }
        s->depth--;
        return 0;
}

/* Calls ELEMENT for each element of the array at the scanner. */
static int array(struct scan *s, int (*element)(struct scan *s, void *userdata), void *userdata) {
        int r;

        if (!eat(s, '[') || ++s->depth > SCAN_MAX_DEPTH)
                return -EBADMSG;
        if (!eat(s, ']')) {
                do {
                        r = element(s, userdata);
                        if (r < 0)
                                return r;
                } while (eat(s, ','));
                if (!eat(s, ']'))
                        return -EBADMSG;
        }
        s->depth--;
        return 0;
}

static int skip_member(struct scan *s, const char *key, size_t len, bool escaped, void *userdata) {
        return skip_value(s);
}

static int skip_element(struct scan *s, void *userdata) {
        return skip_value(s);
}

static int skip_value(struct scan *s) {
        const char *raw;
        size_t len;
        bool escaped;
        int64_t v;

        ws(s);
        if (s->p >= s->end)
                return -EBADMSG;
        switch (*s->p) {
        case '"': return string_span(s, &raw, &len, &escaped);
        case OBJECT_OPEN: return object(s, skip_member, NULL);
        case '[': return array(s, skip_element, NULL);
        case 't': return skip_literal(s, "true");
        case 'f': return skip_literal(s, "false");
        case 'n': return skip_literal(s, "null");
        default: return number(s, &v);
        }
}

/* A boolean value, or anything else skipped (false). */
static int boolean(struct scan *s, bool *ret) {
        *ret = false;
        if (peek(s, 't')) {
                *ret = true;
                return skip_literal(s, "true");
        }
        return skip_value(s);
}

/* A number value, or anything else skipped (0). */
static int count(struct scan *s, uint64_t *ret) {
        int64_t v = 0;
        int r;

        ws(s);
        if (s->p < s->end && (*s->p == '-' || digit(*s->p)))
                r = number(s, &v);
        else
                r = skip_value(s);
        *ret = v > 0 ? (uint64_t) v : 0;
        return r;
}

/* A string value into *RET, or anything else skipped (*RET unchanged). */
static int text(struct scan *s, size_t max, char **ret) {
        return peek(s, '"') ? string_value(s, max, ret) : skip_value(s);
}

static int parent(struct scan *s, void *userdata) {
        struct docker_cache_record *r = userdata;
        char *id = NULL;
        int k;

        k = text(s, 64, &id);
        if (k < 0 || !id)
                return k;
        if (r->n_parents >= DOCKER_CACHE_MAX_PARENTS) {
                free(id);
                return 0;
        }
        r->parents[r->n_parents++] = id;
        return 0;
}

static bool key_is(const char *key, size_t len, const char *name) {
        return strlen(name) == len && memcmp(key, name, len) == 0;
}

static int last_used(struct scan *s, int64_t *ret) {
        _cleanup_free_ char *t = NULL;
        int r = text(s, 64, &t);

        *ret = docker_json_time(t);
        return r;
}

static int record_member(struct scan *s, const char *key, size_t len, bool escaped, void *userdata) {
        struct docker_cache_record *r = userdata;

        if (escaped)
                return skip_value(s);
        if (key_is(key, len, "ID"))
                return text(s, 64, &r->id);
        if (key_is(key, len, "Type"))
                return text(s, 32, &r->type);
        if (key_is(key, len, "Description"))
                return text(s, DOCKER_CACHE_MAX_DESCRIPTION, &r->description);
        if (key_is(key, len, " Parents") || key_is(key, len, "Parents") || key_is(key, len, "Parent")) {
                /* The last of the three spellings wins, as a duplicate key would. */
                for (size_t i = 0; i < r->n_parents; i++)
                        free(r->parents[i]);
                r->n_parents = 0;
                return peek(s, '[') ? array(s, parent, r) : peek(s, '"') ? parent(s, r) : skip_value(s);
        }
        if (key_is(key, len, "Size"))
                return count(s, &r->size);
        if (key_is(key, len, "UsageCount"))
                return count(s, &r->usage_count);
        if (key_is(key, len, "Shared"))
                return boolean(s, &r->shared);
        if (key_is(key, len, "InUse"))
                return boolean(s, &r->in_use);
        if (key_is(key, len, "LastUsedAt"))
                return last_used(s, &r->last_used);
        return skip_value(s);
}

/* One element of "BuildCache": a record with an ID is kept; anything else is skipped. */
static int record_element(struct scan *s, void *userdata) {
        struct docker_build_cache *bc = userdata;
        struct docker_cache_record r = {};
        int k;

        if (!peek(s, OBJECT_OPEN))
                return skip_value(s);
        k = object(s, record_member, &r);
        if (k < 0 || !r.id || bc->n >= DOCKER_CACHE_MAX_RECORDS) {
                record_done(&r);
                return k;
        }
        if ((bc->n & (bc->n - 1)) == 0) {  /* full exactly when n is a power of two */
                struct docker_cache_record *grown = reallocarray(bc->items, bc->n ? bc->n * 2 : 64, sizeof(*grown));
                if (!grown) {
                        record_done(&r);
                        return -ENOMEM;
                }
                bc->items = grown;
        }
        bc->items[bc->n++] = r;
        return 0;
}

static int top_member(struct scan *s, const char *key, size_t len, bool escaped, void *userdata) {
        struct docker_build_cache *bc = userdata;

        if (escaped || !key_is(key, len, "BuildCache"))
                return skip_value(s);
        if (peek(s, 'n'))
                return skip_literal(s, "null");
        if (!peek(s, '['))
                return -EBADMSG;
        return array(s, record_element, bc);
}

int docker_build_cache_parse(const char *json, size_t size, struct docker_build_cache *ret) {
        struct scan s = { .p = json, .end = json + size };
        struct docker_build_cache bc = { .body_size = size };
        int r;

        r = peek(&s, OBJECT_OPEN) ? object(&s, top_member, &bc) : -EBADMSG;
        if (r >= 0) {
                ws(&s);
                if (s.p != s.end)
                        r = -EBADMSG;
        }
        if (r < 0) {
                docker_build_cache_done(&bc);
                return r;
        }
        *ret = bc;
        return 0;
}

static int parse_build_cache(const char *json, size_t size, void *ret) {
        return docker_build_cache_parse(json, size, ret);
}

int docker_get_build_cache(struct docker_client *c, const char *api_version, struct docker_build_cache *ret) {
        const char *use = api_version;
        int r;

        if (docker_api_version_compare(api_version, DOCKER_CACHE_API_OLDEST) < 0) {
                docker_client_set_error(c, "the daemon's API is older than %s: its /system/df has no type=",
                                        DOCKER_CACHE_API_OLDEST);
                return -EOPNOTSUPP;
        }
        if (docker_api_version_compare(api_version, DOCKER_CACHE_API_NEWEST) > 0)
                use = DOCKER_CACHE_API_NEWEST;
        r = docker_client_set_api_version(c, use);
        if (r < 0)
                return r;
        return docker_request_parsed(c, "GET", "/system/df?type=build-cache", DOCKER_CACHE_MAX_BODY,
                                     parse_build_cache, ret, NOT_API_JSON);
}

struct image_totals {
        uint64_t count, bytes;
};

int docker_image_totals_parse(const char *json, size_t size, uint64_t *ret_count, uint64_t *ret_bytes) {
        _cleanup_json_ json_t *doc = json_loadb(json, size, 0, NULL);
        uint64_t count = 0, bytes = 0;
        json_t *o;
        size_t idx;

        if (!json_is_array(doc))
                return -EBADMSG;
        json_array_foreach(doc, idx, o) {
                int64_t s = docker_json_int(o, "Size");

                if (!json_is_object(o))
                        continue;
                count++;
                if (s > 0 && __builtin_add_overflow(bytes, (uint64_t) s, &bytes))
                        bytes = UINT64_MAX;
        }
        *ret_count = count;
        *ret_bytes = bytes;
        return 0;
}

static int parse_image_totals(const char *json, size_t size, void *userdata) {
        struct image_totals *t = userdata;
        return docker_image_totals_parse(json, size, &t->count, &t->bytes);
}

int docker_get_image_totals(struct docker_client *c, uint64_t *ret_count, uint64_t *ret_bytes) {
        struct image_totals t = {};
        int r;

        r = docker_request_parsed(c, "GET", "/images/json", DOCKER_CACHE_MAX_BODY, parse_image_totals, &t,
                                  NOT_API_JSON);
        if (r < 0)
                return r;
        *ret_count = t.count;
        *ret_bytes = t.bytes;
        return 0;
}
