/* SPDX-License-Identifier: MIT */
#include <errno.h>
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

/* The cleaned string at KEY of O into *RET (NULL when absent). */
static int clean(const json_t *o, const char *key, size_t max, char **ret) {
        const char *s = json_object_get_string(o, key);

        *ret = NULL;
        if (!s)
                return 0;
        *ret = text_sanitize_line(s, max);
        return *ret ? 0 : -ENOMEM;
}

static int add_parent(struct docker_cache_record *r, const char *id) {
        if (!id || r->n_parents >= DOCKER_CACHE_MAX_PARENTS)
                return 0;
        r->parents[r->n_parents] = text_sanitize_line(id, 64);
        if (!r->parents[r->n_parents])
                return -ENOMEM;
        r->n_parents++;
        return 0;
}

static int parse_parents(const json_t *o, struct docker_cache_record *r) {
        const json_t *list = json_object_get(o, " Parents");
        json_t *p;
        size_t idx;
        int k;

        if (!list)
                list = json_object_get(o, "Parents");
        json_array_foreach(list, idx, p) {
                k = add_parent(r, json_string_value(p));
                if (k < 0)
                        return k;
        }
        if (r->n_parents == 0)
                return add_parent(r, json_object_get_string(o, "Parent"));
        return 0;
}

/* One record of the "BuildCache" array: -EBADMSG (skipped) without an "ID". */
static int record_parse(const json_t *o, struct docker_cache_record *ret) {
        struct docker_cache_record r = {};
        int64_t size = docker_json_int(o, "Size"), count = docker_json_int(o, "UsageCount");
        int k;

        k = clean(o, "ID", 64, &r.id);
        if (k >= 0 && !r.id)
                k = -EBADMSG;
        if (k >= 0)
                k = clean(o, "Type", 32, &r.type);
        if (k >= 0)
                k = clean(o, "Description", DOCKER_CACHE_MAX_DESCRIPTION, &r.description);
        if (k >= 0)
                k = parse_parents(o, &r);
        if (k < 0) {
                record_done(&r);
                return k;
        }
        r.size = size > 0 ? (uint64_t) size : 0;
        r.usage_count = count > 0 ? (uint64_t) count : 0;
        r.shared = json_is_true(json_object_get(o, "Shared"));
        r.in_use = json_is_true(json_object_get(o, "InUse"));
        r.last_used = docker_json_time(json_object_get_string(o, "LastUsedAt"));
        *ret = r;
        return 0;
}

int docker_build_cache_parse(const char *json, size_t size, struct docker_build_cache *ret) {
        _cleanup_json_ json_t *doc = json_loadb(json, size, 0, NULL);
        struct docker_build_cache bc = { .body_size = size };
        json_t *list, *o;
        size_t idx, n;
        int r;

        if (!json_is_object(doc))
                return -EBADMSG;
        list = json_object_get(doc, "BuildCache");
        if (list && !json_is_array(list) && !json_is_null(list))
                return -EBADMSG;
        n = json_array_size(list);
        bc.items = calloc(n < DOCKER_CACHE_MAX_RECORDS ? n + 1 : DOCKER_CACHE_MAX_RECORDS, sizeof(*bc.items));
        if (!bc.items)
                return -ENOMEM;
        json_array_foreach(list, idx, o) {
                if (bc.n >= DOCKER_CACHE_MAX_RECORDS)
                        break;
                r = record_parse(o, &bc.items[bc.n]);
                if (r == -EBADMSG)
                        continue;
                if (r < 0) {
                        docker_build_cache_done(&bc);
                        return r;
                }
                bc.n++;
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
