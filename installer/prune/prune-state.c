/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "prune/prune-state.h"
#include "base/json-util.h"

void prune_state_done(struct prune_state *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->items[i].id);
        free(s->items);
        *s = (struct prune_state) {};
}

static struct prune_use *find(const struct prune_state *s, const char *id) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->items[i].id, id))
                        return &s->items[i];
        return NULL;
}

int64_t prune_state_get(const struct prune_state *s, const char *id) {
        const struct prune_use *u = find(s, id);
        return u ? u->last_use : 0;
}

int prune_state_touch(struct prune_state *s, const char *id, int64_t t) {
        struct prune_use *u = find(s, id);

        if (u) {
                if (t > u->last_use)
                        u->last_use = t;
                return 0;
        }
        if (s->n >= PRUNE_STATE_MAX_IMAGES)
                return -E2BIG;
        if (s->n == s->allocated) {
                size_t na = s->allocated ? s->allocated * 2 : 32;
                struct prune_use *p = realloc(s->items, na * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                s->items = p;
                s->allocated = na;
        }
        char *copy = strdup(id);
        if (!copy)
                return -ENOMEM;
        s->items[s->n++] = (struct prune_use) { .id = copy, .last_use = t };
        return 0;
}

static bool id_ok(const char *id) {
        return strncmp(id, "sha256:", 7) == 0 && strlen(id) == 7 + 64 && strspn(id + 7, "0123456789abcdef") == 64;
}

int prune_state_parse(const char *text, size_t size, struct prune_state *ret) {
        _cleanup_json_ json_t *doc = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
        struct prune_state s = {};
        const char *id;
        json_t *images, *v;
        int r;

        if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "version")) != 1)
                return -EBADMSG;
        images = json_object_get(doc, "images");
        if (!json_is_integer(json_object_get(doc, "last_run")) || !json_is_object(images))
                return -EBADMSG;
        s.last_run = json_integer_value(json_object_get(doc, "last_run"));
        json_object_foreach(images, id, v) {
                if (!id_ok(id) || !json_is_integer(v))
                        continue;
                r = prune_state_touch(&s, id, json_integer_value(v));
                if (r == -E2BIG)
                        break;
                if (r < 0) {
                        prune_state_done(&s);
                        return r;
                }
        }
        *ret = s;
        return 0;
}

int prune_state_format(const struct prune_state *s, char **ret) {
        _cleanup_json_ json_t *doc = json_object(), *images = json_object();
        char *text;

        if (!doc || !images)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++)
                if (json_object_set_new(images, s->items[i].id, json_integer(s->items[i].last_use)) < 0)
                        return -ENOMEM;
        if (json_object_set_new(doc, "version", json_integer(1)) < 0 ||
            json_object_set_new(doc, "last_run", json_integer(s->last_run)) < 0 ||
            json_object_set(doc, "images", images) < 0)
                return -ENOMEM;
        text = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

int prune_state_load(const char *path, struct prune_state *ret) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = read_file_full(path, PRUNE_STATE_MAX_SIZE, &text, &size);
        if (r == -ENOENT) {
                *ret = (struct prune_state) {};
                return 0;
        }
        if (r < 0)
                return r;
        return prune_state_parse(text, size, ret);
}

int prune_state_save(const char *path, const struct prune_state *s) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = prune_state_format(s, &text);
        if (r < 0)
                return r;
        r = write_file_atomic(path, text, strlen(text), 0644);
        return r < 0 ? r : 0;
}

/* "docker.io/library/bb" -> "bb", "docker.io/x/y" -> "x/y". */
static const char *short_name(const char *ref) {
        if (strncmp(ref, "docker.io/library/", 18) == 0)
                return ref + 18;
        if (strncmp(ref, "docker.io/", 10) == 0)
                return ref + 10;
        return ref;
}

/* Whether REF (no "docker.io/" prefix) names TAG ("repo:tag"). */
static bool ref_matches_tag(const char *ref, const char *tag) {
        const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');

        if (streq(ref, tag))
                return true;
        if (colon && (!slash || colon > slash))
                return false;  /* REF has a tag of its own */
        size_t n = strlen(ref);
        return strncmp(ref, tag, n) == 0 && streq(tag + n, ":latest");
}

const struct docker_image *prune_resolve_image(const struct docker_image_list *images, const char *name) {
        const char *ref;
        size_t n;

        if (isempty(name))
                return NULL;
        for (size_t i = 0; i < images->n; i++)
                if (streq(images->items[i].id, name))
                        return &images->items[i];
        n = strlen(name);
        if (n >= 12 && n <= 64 && strspn(name, "0123456789abcdef") == n)
                for (size_t i = 0; i < images->n; i++)
                        if (strncmp(images->items[i].id, "sha256:", 7) == 0 &&
                            strncmp(images->items[i].id + 7, name, n) == 0)
                                return &images->items[i];
        if (strchr(name, '@'))
                return NULL;  /* a digest reference: RepoDigests are not kept */
        ref = short_name(name);
        for (size_t i = 0; i < images->n; i++)
                for (char **t = images->items[i].tags; *t; t++)
                        if (ref_matches_tag(ref, short_name(*t)))
                                return &images->items[i];
        return NULL;
}

static bool counts_as_use(const struct docker_event *e) {
        if (streq(e->type, "container"))
                return streq(e->action, "create") || streq(e->action, "start");
        if (streq(e->type, "image"))
                return streq(e->action, "pull") || streq(e->action, "tag") || streq(e->action, "load") ||
                       streq(e->action, "import");
        return false;
}

int prune_state_apply_events(struct prune_state *s, const struct docker_event_list *events,
                             const struct docker_image_list *images) {
        for (size_t i = 0; i < events->n; i++) {
                const struct docker_event *e = &events->items[i];
                const struct docker_image *img = NULL;
                int r;

                if (!counts_as_use(e))
                        continue;
                if (streq(e->type, "container"))
                        img = prune_resolve_image(images, e->image);
                else {
                        img = prune_resolve_image(images, e->actor_id);
                        if (!img)
                                img = prune_resolve_image(images, e->image);
                }
                if (!img)
                        continue;
                r = prune_state_touch(s, img->id, e->time);
                if (r < 0 && r != -E2BIG)
                        return r;
        }
        return 0;
}

void prune_state_forget_gone(struct prune_state *s, const struct docker_image_list *images) {
        size_t k = 0;

        for (size_t i = 0; i < s->n; i++) {
                bool present = false;
                for (size_t j = 0; j < images->n && !present; j++)
                        present = streq(images->items[j].id, s->items[i].id);
                if (present)
                        s->items[k++] = s->items[i];
                else
                        free(s->items[i].id);
        }
        s->n = k;
}
