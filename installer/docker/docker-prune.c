/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/text.h"
#include "docker/docker-json.h"
#include "docker/docker-prune.h"
#include "base/http.h"
#include "base/json-util.h"

int docker_api_version_compare(const char *a, const char *b) {
        long ma = -1, mb = -1;

        if (a && strncmp(a, "1.", 2) == 0 && parse_int_range(a + 2, 0, 999, &ma) < 0)
                ma = -1;
        if (b && strncmp(b, "1.", 2) == 0 && parse_int_range(b + 2, 0, 999, &mb) < 0)
                mb = -1;
        return ma < mb ? -1 : ma > mb ? 1 : 0;
}

/* The cleaned string at KEY of O, or NULL (RET) when absent. */
static int clean_dup(const json_t *o, const char *key, char **ret) {
        const char *s = json_object_get_string(o, key);

        *ret = NULL;
        if (!s)
                return 0;
        *ret = text_sanitize_line(s, DOCKER_PRUNE_MAX_STR);
        return *ret ? 0 : -ENOMEM;
}

#define NOT_API_JSON "the JSON the API describes"

int docker_negotiate_version(struct docker_client *c, char ret[16]) {
        _cleanup_(docker_version_done) struct docker_version v = {};
        const char *use;
        int r;

        r = docker_client_set_api_version(c, NULL);
        if (r < 0)
                return r;
        r = docker_get_version(c, &v);
        if (r < 0)
                return r;
        if (docker_api_version_compare(v.api_version, DOCKER_PRUNE_API_OLDEST) < 0) {
                _cleanup_free_ char *s = text_sanitize_line(v.api_version, 16);
                docker_client_set_error(c, "the daemon speaks API %s, older than %s", s ? s : "?",
                                        DOCKER_PRUNE_API_OLDEST);
                return -EPROTONOSUPPORT;
        }
        use = docker_api_version_compare(v.api_version, DOCKER_PRUNE_API_NEWEST) < 0 ? v.api_version
                                                                                     : DOCKER_PRUNE_API_NEWEST;
        r = docker_client_set_api_version(c, use);
        if (r < 0)
                return r;
        snprintf(ret, 16, "%s", use);
        return 0;
}

static void image_done(struct docker_image *i) {
        free(i->id);
        strv_free(i->tags);
        strv_free(i->layers);
}

void docker_image_list_done(struct docker_image_list *l) {
        for (size_t i = 0; i < l->n; i++)
                image_done(&l->items[i]);
        free(l->items);
        *l = (struct docker_image_list) {};
}

static int image_parse(const json_t *o, struct docker_image *ret) {
        struct docker_image i = {};
        json_t *tags, *t;
        size_t idx;
        int r;

        r = clean_dup(o, "Id", &i.id);
        if (r < 0 || !i.id)
                return r < 0 ? r : -EBADMSG;
        i.tags = calloc(1, sizeof(char *));
        if (!i.tags) {
                image_done(&i);
                return -ENOMEM;
        }
        tags = json_object_get(o, "RepoTags");
        json_array_foreach(tags, idx, t) {
                _cleanup_free_ char *s = NULL;
                if (!json_is_string(t) || streq(json_string_value(t), "<none>:<none>") || idx >= 64)
                        continue;
                s = text_sanitize_line(json_string_value(t), DOCKER_PRUNE_MAX_STR);
                if (!s || strv_extend(&i.tags, s) < 0) {
                        image_done(&i);
                        return -ENOMEM;
                }
        }
        i.created = docker_json_int(o, "Created");
        int64_t size = docker_json_int(o, "Size");
        i.size = size > 0 ? (uint64_t) size : 0;
        *ret = i;
        return 0;
}

int docker_images_parse(const char *json, size_t size, struct docker_image_list *ret) {
        _cleanup_json_ json_t *doc = json_loadb(json, size, 0, NULL);
        struct docker_image_list l = {};
        json_t *o;
        size_t idx;
        int r;

        if (!json_is_array(doc))
                return -EBADMSG;
        l.items = calloc(json_array_size(doc) + 1, sizeof(*l.items));
        if (!l.items)
                return -ENOMEM;
        json_array_foreach(doc, idx, o) {
                if (l.n >= DOCKER_PRUNE_MAX_ITEMS)
                        break;
                r = image_parse(o, &l.items[l.n]);
                if (r == -EBADMSG)
                        continue;
                if (r < 0) {
                        docker_image_list_done(&l);
                        return r;
                }
                l.n++;
        }
        *ret = l;
        return 0;
}

static int parse_images(const char *json, size_t size, void *ret) {
        return docker_images_parse(json, size, ret);
}

int docker_list_images(struct docker_client *c, struct docker_image_list *ret) {
        return docker_request_parsed(c, "GET", "/images/json", DOCKER_PRUNE_MAX_LIST, parse_images, ret, NOT_API_JSON);
}

int docker_image_inspect_parse(const char *json, size_t size, struct docker_image *img) {
        _cleanup_json_ json_t *doc = json_loadb(json, size, 0, NULL);
        _cleanup_strv_free_ char **layers = NULL;
        json_t *l;
        size_t idx;

        if (!json_is_object(doc))
                return -EBADMSG;
        layers = calloc(1, sizeof(char *));
        if (!layers)
                return -ENOMEM;
        json_array_foreach(json_get_path(doc, "RootFS", "Layers", NULL), idx, l) {
                _cleanup_free_ char *s = NULL;
                if (idx >= 256 || !json_is_string(l))
                        break;
                s = text_sanitize_line(json_string_value(l), 80);
                if (!s || strv_extend(&layers, s) < 0)
                        return -ENOMEM;
        }
        img->last_tag_time = docker_json_time(json_string_value(json_get_path(doc, "Metadata", "LastTagTime", NULL)));
        strv_free(img->layers);
        img->layers = TAKE_PTR(layers);
        return 0;
}

static int parse_inspect(const char *json, size_t size, void *ret) {
        return docker_image_inspect_parse(json, size, ret);
}

/* NAME escaped for a path: an image id or reference keeps its '/', ':' and '@'. */
static char *escape_name(const char *name) {
        size_t n = strlen(name);
        char *out = malloc(n * 3 + 1), *p = out;

        if (!out)
                return NULL;
        for (; *name; name++) {
                unsigned char ch = (unsigned char) *name;
                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    strchr("-._~/:@", ch))
                        *p++ = (char) ch;
                else
                        p += sprintf(p, "%%%02X", ch);
        }
        *p = '\0';
        return out;
}

int docker_image_inspect(struct docker_client *c, struct docker_image *img) {
        _cleanup_free_ char *e = escape_name(img->id), *path = NULL;

        if (!e || !(path = strdup_printf("/images/%s/json", e)))
                return -ENOMEM;
        return docker_request_parsed(c, "GET", path, 1u << 20, parse_inspect, img, NOT_API_JSON);
}

void docker_container_list_done(struct docker_container_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].id);
                free(l->items[i].image_id);
                free(l->items[i].state);
        }
        free(l->items);
        *l = (struct docker_container_list) {};
}

int docker_containers_parse(const char *json, size_t size, struct docker_container_list *ret) {
        _cleanup_json_ json_t *doc = json_loadb(json, size, 0, NULL);
        struct docker_container_list l = {};
        json_t *o;
        size_t idx;
        int r = 0;

        if (!json_is_array(doc))
                return -EBADMSG;
        l.items = calloc(json_array_size(doc) + 1, sizeof(*l.items));
        if (!l.items)
                return -ENOMEM;
        json_array_foreach(doc, idx, o) {
                struct docker_container *k = &l.items[l.n];
                if (l.n >= DOCKER_PRUNE_MAX_ITEMS)
                        break;
                if (!json_object_get_string(o, "Id"))
                        continue;
                r = clean_dup(o, "Id", &k->id);
                if (r >= 0)
                        r = clean_dup(o, "ImageID", &k->image_id);
                if (r >= 0)
                        r = clean_dup(o, "State", &k->state);
                k->created = docker_json_int(o, "Created");
                l.n++;
                if (r < 0) {
                        docker_container_list_done(&l);
                        return r;
                }
        }
        *ret = l;
        return 0;
}

static int parse_containers(const char *json, size_t size, void *ret) {
        return docker_containers_parse(json, size, ret);
}

int docker_list_containers(struct docker_client *c, struct docker_container_list *ret) {
        return docker_request_parsed(c, "GET", "/containers/json?all=1", DOCKER_PRUNE_MAX_LIST, parse_containers, ret,
                                     NOT_API_JSON);
}

void docker_event_list_done(struct docker_event_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].type);
                free(l->items[i].action);
                free(l->items[i].actor_id);
                free(l->items[i].image);
        }
        free(l->items);
        *l = (struct docker_event_list) {};
}

static int event_parse(const json_t *o, struct docker_event *ret) {
        struct docker_event e = {};
        const json_t *actor = json_object_get(o, "Actor");
        const json_t *attrs = json_object_get(actor, "Attributes");
        int r;

        if (!json_object_get_string(o, "Type") || !json_object_get_string(o, "Action") ||
            !json_is_integer(json_object_get(o, "time")))
                return -EBADMSG;
        r = clean_dup(o, "Type", &e.type);
        if (r >= 0)
                r = clean_dup(o, "Action", &e.action);
        if (r >= 0)
                r = clean_dup(actor, "ID", &e.actor_id);
        if (r >= 0)
                r = clean_dup(attrs, streq(e.type, "container") ? "image" : "name", &e.image);
        e.time = json_integer_value(json_object_get(o, "time"));
        if (r < 0) {
                free(e.type);
                free(e.action);
                free(e.actor_id);
                free(e.image);
                return r;
        }
        *ret = e;
        return 0;
}

int docker_events_parse(const char *text, size_t size, struct docker_event_list *ret) {
        struct docker_event_list l = {};
        size_t allocated = 0, off = 0;
        int r;

        while (off < size && l.n < DOCKER_PRUNE_MAX_ITEMS) {
                _cleanup_json_ json_t *o = NULL;
                json_error_t err;

                while (off < size && strchr(" \t\r\n", text[off]))
                        off++;
                if (off >= size)
                        break;
                o = json_loadb(text + off, size - off, JSON_DISABLE_EOF_CHECK, &err);
                if (!o)
                        break;  /* a truncated or broken tail ends the log */
                off += err.position;
                if (!json_is_object(o))
                        continue;
                if (l.n == allocated) {
                        size_t na = allocated ? allocated * 2 : 64;
                        struct docker_event *p = realloc(l.items, na * sizeof(*p));
                        if (!p) {
                                docker_event_list_done(&l);
                                return -ENOMEM;
                        }
                        l.items = p;
                        allocated = na;
                }
                r = event_parse(o, &l.items[l.n]);
                if (r == -EBADMSG)
                        continue;
                if (r < 0) {
                        docker_event_list_done(&l);
                        return r;
                }
                l.n++;
        }
        *ret = l;
        return 0;
}

static int parse_events(const char *text, size_t size, void *ret) {
        return docker_events_parse(text, size, ret);
}

int docker_get_events(struct docker_client *c, int64_t since, int64_t until, struct docker_event_list *ret) {
        _cleanup_free_ char *filters = http_escape("{\"type\":[\"container\",\"image\"]}"), *path = NULL;

        if (!filters)
                return -ENOMEM;
        path = strdup_printf("/events?since=%" PRId64 "&until=%" PRId64 "&filters=%s", since, until, filters);
        if (!path)
                return -ENOMEM;
        return docker_request_parsed(c, "GET", path, DOCKER_PRUNE_MAX_LIST, parse_events, ret, NOT_API_JSON);
}

/* What POST /{containers,images,build}/prune answered: the list at KEY counted. */
struct prune_reply {
        const char *list_key;
        struct docker_prune_report *report;
};

static int parse_prune_report(const char *json, size_t size, void *userdata) {
        _cleanup_json_ json_t *doc = json_loadb(json, size, 0, NULL);
        struct prune_reply *reply = userdata;
        int64_t bytes;

        if (!json_is_object(doc))
                return -EBADMSG;
        bytes = docker_json_int(doc, "SpaceReclaimed");
        *reply->report = (struct docker_prune_report) {
                .count = json_array_size(json_object_get(doc, reply->list_key)),
                .bytes = bytes > 0 ? (uint64_t) bytes : 0,
        };
        return 0;
}

static int post_prune(struct docker_client *c, const char *path, const char *list_key,
                      struct docker_prune_report *ret) {
        return docker_request_parsed(c, "POST", path, DOCKER_PRUNE_MAX_LIST, parse_prune_report,
                                     &(struct prune_reply) { .list_key = list_key, .report = ret }, NOT_API_JSON);
}

/* "?filters=" with {"until":["Ns"]} and EXTRA ("\"dangling\":[\"true\"],"), or "". */
static char *until_query(const char *extra, uint64_t min_age_sec) {
        _cleanup_free_ char *json = NULL, *escaped = NULL;

        if (min_age_sec > 0)
                json = strdup_printf("{%s\"until\":[\"%" PRIu64 "s\"]}", extra, min_age_sec);
        else
                json = strdup_printf("{%.*s}", (int) (extra[0] ? strlen(extra) - 1 : 0), extra);
        if (!json)
                return NULL;
        if (streq(json, "{}"))
                return strdup("");
        escaped = http_escape(json);
        return escaped ? strdup_printf("?filters=%s", escaped) : NULL;
}

int docker_prune_containers(struct docker_client *c, uint64_t min_age_sec, struct docker_prune_report *ret) {
        _cleanup_free_ char *q = until_query("", min_age_sec), *path = NULL;

        if (!q || !(path = strdup_printf("/containers/prune%s", q)))
                return -ENOMEM;
        return post_prune(c, path, "ContainersDeleted", ret);
}

int docker_prune_dangling_images(struct docker_client *c, uint64_t min_age_sec, struct docker_prune_report *ret) {
        _cleanup_free_ char *q = until_query("\"dangling\":[\"true\"],", min_age_sec), *path = NULL;

        if (!q || !(path = strdup_printf("/images/prune%s", q)))
                return -ENOMEM;
        return post_prune(c, path, "ImagesDeleted", ret);
}

static int append_param(char **q, const char *name, uint64_t value) {
        char *n;

        if (value == 0)
                return 0;
        n = strdup_printf("%s%s%s=%" PRIu64, *q, **q ? "&" : "?", name, value);
        if (!n)
                return -ENOMEM;
        free(*q);
        *q = n;
        return 0;
}

int docker_build_prune_query(const char *version, const struct docker_build_prune *p, char **ret) {
        _cleanup_free_ char *q = strdup(p->all ? "?all=1" : "");
        int r;

        if (!q)
                return -ENOMEM;
        if (docker_api_version_compare(version, DOCKER_PRUNE_API_SIZES) >= 0) {
                r = append_param(&q, "reserved-space", p->reserved_space);
                if (r >= 0)
                        r = append_param(&q, "max-used-space", p->max_used_space);
                if (r >= 0)
                        r = append_param(&q, "min-free-space", p->min_free_space);
        } else
                r = append_param(&q, "keep-storage", p->keep_storage);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

int docker_build_prune(struct docker_client *c, const char *version, const struct docker_build_prune *p,
                       struct docker_prune_report *ret) {
        _cleanup_free_ char *q = NULL, *path = NULL;
        int r;

        r = docker_build_prune_query(version, p, &q);
        if (r < 0)
                return r;
        path = strdup_printf("/build/prune%s", q);
        if (!path)
                return -ENOMEM;
        return post_prune(c, path, "CachesDeleted", ret);
}

int docker_system_df_build_cache_parse(const char *json, size_t size, uint64_t *ret_bytes, uint64_t *ret_count) {
        _cleanup_json_ json_t *doc = json_loadb(json, size, 0, NULL);
        uint64_t bytes = 0, count = 0;
        json_t *rec, *cache;
        size_t idx;

        if (!json_is_object(doc))
                return -EBADMSG;
        cache = json_object_get(doc, "BuildCache");
        json_array_foreach(cache, idx, rec) {
                int64_t s = docker_json_int(rec, "Size");
                count++;
                if (json_is_true(json_object_get(rec, "Shared")) || s <= 0)
                        continue;
                if (__builtin_add_overflow(bytes, (uint64_t) s, &bytes))
                        bytes = UINT64_MAX;
        }
        *ret_bytes = bytes;
        *ret_count = count;
        return 0;
}

/* GET /system/df's build cache figures. */
struct build_cache_size {
        uint64_t *bytes, *count;
};

static int parse_build_cache_size(const char *json, size_t size, void *userdata) {
        struct build_cache_size *out = userdata;
        return docker_system_df_build_cache_parse(json, size, out->bytes, out->count);
}

int docker_build_cache_size(struct docker_client *c, const char *version, uint64_t *ret_bytes, uint64_t *ret_count) {
        /* Since 1.42 /system/df can skip the expensive image and volume sizes. */
        const char *path = docker_api_version_compare(version, "1.42") >= 0 ? "/system/df?type=build-cache"
                                                                            : "/system/df";

        return docker_request_parsed(c, "GET", path, DOCKER_PRUNE_MAX_LIST, parse_build_cache_size,
                                     &(struct build_cache_size) { .bytes = ret_bytes, .count = ret_count },
                                     NOT_API_JSON);
}

int docker_remove_image(struct docker_client *c, const char *name) {
        _cleanup_free_ char *e = escape_name(name), *path = NULL;

        if (!e || !(path = strdup_printf("/images/%s", e)))
                return -ENOMEM;
        return docker_request(c, "DELETE", path, 1u << 20, NULL);
}
