/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "authz/container-create.h"
#include "authz/go-json.h"
#include "authz/learn.h"
#include "authz/policy.h"
#include "base/json-util.h"

struct learning {
        struct owners *o;
        const struct authz_request *req;
        const struct identity *id;
        const char *ref;                /* the path's {id} */
        json_t *reply;                  /* the response body, or NULL */
        int64_t now;
};

static const char *strip_slash(const char *name) {
        return name && name[0] == '/' ? name + 1 : name;
}

static int learned(int r) {
        /* A name or ID that cannot be kept teaches nothing; only -ENOMEM is an error. */
        return r == -ENOMEM ? r : r < 0 ? 0 : 1;
}

static int claim_volumes(const struct learning *l) {
        _cleanup_json_ json_t *body = NULL;
        _cleanup_strv_free_ char **names = NULL;
        int n = 0, r;

        if (!l->req->body)
                return 0;
        body = json_loadb(l->req->body, l->req->body_size, JSON_REJECT_DUPLICATES, NULL);
        if (!body || container_create_volumes(body, &names) < 0)
                return 0;
        for (char **v = names; v && *v; v++) {
                if (owners_resolve(l->o, OWNER_VOLUME, *v))
                        continue;
                if ((r = learned(owners_learn(l->o, OWNER_VOLUME, *v, NULL, l->id->name, NULL, l->now))) < 0)
                        return r;
                n += r;
        }
        return n;
}

static int container_created(const struct learning *l) {
        const char *id = json_object_get_string(l->reply, "Id");
        const char *name = strip_slash(request_uri_query(&l->req->u, "name"));
        int r, v;

        if (!id)
                return 0;
        r = owners_learn(l->o, OWNER_CONTAINER, id, owners_valid_name(name) ? name : NULL, l->id->name, NULL, l->now);
        if ((r = learned(r)) <= 0)
                return r;
        v = claim_volumes(l);
        return v < 0 ? v : r + v;
}

static int forget_ref(const struct learning *l, enum owner_kind k) {
        const struct owner_record *rec = owners_resolve(l->o, k, l->ref);
        _cleanup_free_ char *id = rec ? strdup(rec->id) : NULL;

        if (!rec)
                return 0;
        return id ? owners_forget(l->o, k, id) : -ENOMEM;
}

/* A prune reply's list of removed IDs or names under KEY. */
static int forget_listed(const struct learning *l, enum owner_kind k, const char *key) {
        const json_t *list = json_object_get(l->reply, key);
        size_t i;
        json_t *e;
        int n = 0, r;

        json_array_foreach ((json_t *) list, i, e) {
                const struct owner_record *rec = owners_resolve(l->o, k, json_string_value(e));
                _cleanup_free_ char *id = rec ? strdup(rec->id) : NULL;

                if (!rec)
                        continue;
                if (!id || (r = owners_forget(l->o, k, id)) < 0)
                        return -ENOMEM;
                n += r;
        }
        return n;
}

/* The query asks for everything: only KEYS, each at most once; ALL ("all") true when given. */
static bool complete_query(const struct request_uri *u, const char *const *keys, bool need_all) {
        for (size_t i = 0; i < u->n_query; i++) {
                const char *k = u->query[i].key;
                bool known = false;

                for (const char *const *p = keys; *p; p++)
                        known = known || streq(k, *p);
                if (!known || request_uri_query_count(u, k) != 1)
                        return false;
                if (streq(k, "filters") && !isempty(u->query[i].value) && !streq(u->query[i].value, "{}"))
                        return false;
        }
        return !need_all || request_uri_bool_value(request_uri_query(u, "all"));
}

/* A list reply: objects with IDKEY and a name (NAMEKEY a string, or the first of an array). */
static int sync_list(const struct learning *l, enum owner_kind k, const json_t *list, const char *idkey,
                     const char *namekey, bool complete) {
        _cleanup_free_ struct owners_listed *items = NULL;
        size_t n = 0, i;
        json_t *e;

        if (!json_is_array(list))
                return 0;
        items = calloc(json_array_size(list) + 1, sizeof(*items));
        if (!items)
                return -ENOMEM;
        json_array_foreach ((json_t *) list, i, e) {
                const json_t *name = json_object_get(e, namekey);
                const char *id = json_object_get_string(e, idkey);

                if (!id)
                        return 0; /* not the list the API describes: nothing is learned */
                if (json_is_array(name))
                        name = json_array_get(name, 0);
                items[n++] = (struct owners_listed) { id, strip_slash(json_string_value(name)) };
        }
        return owners_sync(l->o, k, items, n, complete, l->now);
}

static int learn_container(const struct learning *l, enum policy_learn what) {
        static const char *const list_keys[] = { "all", "size", "filters", NULL };
        const struct owner_record *rec;
        const char *name;

        switch (what) {
        case POLICY_LEARN_CONTAINER_CREATE:
                return container_created(l);
        case POLICY_LEARN_CONTAINER_REMOVE:
                return forget_ref(l, OWNER_CONTAINER);
        case POLICY_LEARN_CONTAINER_RENAME:
                rec = owners_resolve(l->o, OWNER_CONTAINER, l->ref);
                name = strip_slash(request_uri_query(&l->req->u, "name"));
                return rec ? learned(owners_set_name(l->o, OWNER_CONTAINER, rec->id, name)) : 0;
        case POLICY_LEARN_CONTAINER_INSPECT: {
                const char *id = json_object_get_string(l->reply, "Id");
                name = strip_slash(json_object_get_string(l->reply, "Name"));
                return id && name ? learned(owners_set_name(l->o, OWNER_CONTAINER, id, name)) : 0;
        }
        case POLICY_LEARN_CONTAINER_LIST:
                return sync_list(l, OWNER_CONTAINER, l->reply, "Id", "Names",
                                 complete_query(&l->req->u, list_keys, true));
        case POLICY_LEARN_CONTAINER_PRUNE:
                return forget_listed(l, OWNER_CONTAINER, "ContainersDeleted");
        default:
                return 0;
        }
}

static int learn_other(const struct learning *l, enum policy_learn what) {
        static const char *const filter_keys[] = { "filters", NULL };
        _cleanup_json_ json_t *body = NULL;
        const struct owner_record *rec;
        const char *id;

        switch (what) {
        case POLICY_LEARN_EXEC_CREATE:
                rec = owners_resolve(l->o, OWNER_CONTAINER, l->ref);
                id = json_object_get_string(l->reply, "Id");
                return rec && id ? learned(owners_learn(l->o, OWNER_EXEC, id, NULL, l->id->name, rec->id, l->now))
                                 : 0;
        case POLICY_LEARN_VOLUME_CREATE:
                id = json_object_get_string(l->reply, "Name");
                return id ? learned(owners_learn(l->o, OWNER_VOLUME, id, NULL, l->id->name, NULL, l->now)) : 0;
        case POLICY_LEARN_VOLUME_REMOVE:
                return forget_ref(l, OWNER_VOLUME);
        case POLICY_LEARN_VOLUME_LIST:
                return sync_list(l, OWNER_VOLUME, json_object_get(l->reply, "Volumes"), "Name", "Name",
                                 complete_query(&l->req->u, filter_keys, false));
        case POLICY_LEARN_VOLUME_PRUNE:
                return forget_listed(l, OWNER_VOLUME, "VolumesDeleted");
        case POLICY_LEARN_NETWORK_CREATE:
                id = json_object_get_string(l->reply, "Id");
                body = l->req->body ? json_loadb(l->req->body, l->req->body_size, JSON_REJECT_DUPLICATES, NULL) : NULL;
                return id && body ? learned(owners_learn(l->o, OWNER_NETWORK, id,
                                                         json_string_value(gojson_field(body, "Name")), l->id->name,
                                                         NULL, l->now))
                                  : 0;
        case POLICY_LEARN_NETWORK_REMOVE:
                return forget_ref(l, OWNER_NETWORK);
        case POLICY_LEARN_NETWORK_LIST:
                return sync_list(l, OWNER_NETWORK, l->reply, "Id", "Name",
                                 complete_query(&l->req->u, filter_keys, false));
        case POLICY_LEARN_NETWORK_PRUNE:
                return forget_listed(l, OWNER_NETWORK, "NetworksDeleted");
        default:
                return learn_container(l, what);
        }
}

int learn_from_response(struct owners *o, const struct authz_request *req, const struct identity *id, int64_t now) {
        _cleanup_free_ char *ref = NULL;
        _cleanup_json_ json_t *reply = NULL;
        const struct policy_row *row;

        if (req->uri_error != 0 || !authz_request_succeeded(req))
                return 0;
        row = policy_match(req->method, req->u.path, &ref);
        if (!row || row->learn == POLICY_LEARN_NONE || !(row->who & id->kind))
                return 0;
        if (req->response_body)
                reply = json_loadb(req->response_body, req->response_size, 0, NULL);
        return learn_other(&(struct learning) { o, req, id, ref, reply, now }, row->learn);
}
