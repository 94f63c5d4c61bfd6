/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "authz/container-create.h"
#include "authz/go-json.h"
#include "authz/json-scan.h"
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

/* The named volumes of an allowed container or volume create that nobody owns: the
 * caller's from its request on, before the daemon makes them (claimed when its reply
 * came, a second tenant's create could mount the volume the first one's was making). */
static int claim_volumes(const struct learning *l, enum policy_learn what) {
        _cleanup_json_ json_t *body = NULL;
        _cleanup_strv_free_ char **names = NULL;
        const char *name;
        int n = 0, r;

        if (!l->req->body)
                return 0;
        body = json_loadb(l->req->body, l->req->body_size, JSON_REJECT_DUPLICATES, NULL);
        if (!body)
                return 0;
        if (what == POLICY_LEARN_VOLUME_CREATE) {
                if (gojson_string(body, "Name", &name) < 0 || isempty(name) || strv_extend(&names, name) < 0)
                        return 0;
        } else if (container_create_volumes(body, &names) < 0)
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

        if (!id)
                return 0;
        return learned(owners_learn(l->o, OWNER_CONTAINER, id, owners_valid_name(name) ? name : NULL, l->id->name,
                                    NULL, l->now));
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

/* The plain string at member KEY of the object V, as a new string; NULL when absent,
 * not a plain string (or out of memory: the caller learns nothing then). With FIRST,
 * the member is an array and its first element is taken. */
static char *member_string(const struct jspan *v, const char *key, bool first) {
        struct jspan m, e;
        size_t pos = 0, len;
        const char *s;

        if (jscan_member(v->s, v->n, key, &m) <= 0)
                return NULL;
        if (first) {
                if (jscan_array_next(m.s, m.n, &pos, &e) <= 0)
                        return NULL;
                m = e;
        }
        return jscan_plain_string(&m, &s, &len) ? strndup(s, len) : NULL;
}

/* A list reply LIST: objects with IDKEY and a name (NAMEKEY a string, or the first of an
 * array with FIRST). Read with json-scan: a list of hundreds of containers costs jansson
 * milliseconds, for every `docker ps`. */
static int sync_list(const struct learning *l, enum owner_kind k, const struct jspan *list, const char *idkey,
                     const char *namekey, bool first, bool complete) {
        _cleanup_free_ struct owners_listed *items = NULL;
        _cleanup_strv_free_ char **strings = NULL; /* the copies ITEMS point to */
        size_t n = 0, allocated = 0, pos = 0, ns = 0;
        struct jspan e;
        int q;

        while ((q = jscan_array_next(list->s, list->n, &pos, &e)) > 0) {
                _cleanup_free_ char *id = member_string(&e, idkey, false), *name = member_string(&e, namekey, first);

                if (!id)
                        return 0; /* not the list the API describes: nothing is learned */
                if (n + 1 > allocated) {
                        struct owners_listed *grown = reallocarray(items, allocated * 2 + 16, sizeof(*items));
                        if (!grown)
                                return -ENOMEM;
                        items = grown;
                        allocated = allocated * 2 + 16;
                }
                if (strv_extend(&strings, id) < 0)
                        return -ENOMEM;
                items[n] = (struct owners_listed) { .id = strings[ns++] };
                if (name) {
                        if (strv_extend(&strings, name) < 0)
                                return -ENOMEM;
                        items[n].name = strip_slash(strings[ns++]);
                }
                n++;
        }
        return q < 0 ? 0 : owners_sync(l->o, k, items, n, complete, l->now);
}

static bool reply_span(const struct learning *l, struct jspan *ret) {
        if (!l->req->response_body)
                return false;
        *ret = (struct jspan) { l->req->response_body, l->req->response_size };
        return true;
}

/* The anonymous volumes (names the daemon made up) that the inspect reply REPLY of the
 * caller's own container ID shows mounted: they are its owner's. */
static int claim_anonymous_volumes(const struct learning *l, const struct jspan *reply, const char *id) {
        const struct owner_record *rec = owners_resolve(l->o, OWNER_CONTAINER, id);
        struct jspan mounts, m;
        size_t pos = 0;
        int n = 0, r;

        if (!rec || !streq(rec->owner, l->id->name) || jscan_member(reply->s, reply->n, "Mounts", &mounts) <= 0)
                return 0;
        while (jscan_array_next(mounts.s, mounts.n, &pos, &m) > 0) {
                _cleanup_free_ char *type = member_string(&m, "Type", false), *name = member_string(&m, "Name", false);

                if (!streq(type, "volume") || !owners_valid_id(name) || owners_resolve(l->o, OWNER_VOLUME, name))
                        continue;
                if ((r = learned(owners_learn(l->o, OWNER_VOLUME, name, NULL, rec->owner, NULL, l->now))) < 0)
                        return r;
                n += r;
        }
        return n;
}

static int container_inspected(const struct learning *l) {
        _cleanup_free_ char *id = NULL, *full = NULL;
        struct jspan reply;
        int r, v;

        if (!reply_span(l, &reply))
                return 0;
        id = member_string(&reply, "Id", false);
        full = member_string(&reply, "Name", false);
        if (!id || !full)
                return 0;
        if ((r = learned(owners_set_name(l->o, OWNER_CONTAINER, id, strip_slash(full)))) < 0)
                return r;
        v = claim_anonymous_volumes(l, &reply, id);
        return v < 0 ? v : r + v;
}

static int learn_container(const struct learning *l, enum policy_learn what) {
        static const char *const list_keys[] = { "all", "size", "filters", NULL };
        const struct owner_record *rec;
        struct jspan reply;
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
        case POLICY_LEARN_CONTAINER_INSPECT:
                return container_inspected(l);
        case POLICY_LEARN_CONTAINER_LIST:
                return reply_span(l, &reply) ? sync_list(l, OWNER_CONTAINER, &reply, "Id", "Names", true,
                                                         complete_query(&l->req->u, list_keys, true)) : 0;
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
        struct jspan reply, list;
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
                if (!reply_span(l, &reply) || jscan_member(reply.s, reply.n, "Volumes", &list) <= 0)
                        return 0;
                return sync_list(l, OWNER_VOLUME, &list, "Name", "Name", false,
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
                return reply_span(l, &reply) ? sync_list(l, OWNER_NETWORK, &reply, "Id", "Name", false,
                                                         complete_query(&l->req->u, filter_keys, false)) : 0;
        case POLICY_LEARN_NETWORK_PRUNE:
                return forget_listed(l, OWNER_NETWORK, "NetworksDeleted");
        default:
                return learn_container(l, what);
        }
}

int learn_from_request(struct owners *o, const struct authz_request *req, const struct policy_row *row,
                       const struct identity *id, int64_t now) {
        if (row->learn != POLICY_LEARN_CONTAINER_CREATE && row->learn != POLICY_LEARN_VOLUME_CREATE)
                return 0;
        return claim_volumes(&(struct learning) { .o = o, .req = req, .id = id, .now = now }, row->learn);
}

int learn_from_response(struct owners *o, struct authz_request *req, const struct identity *id, int64_t now) {
        _cleanup_free_ char *ref = NULL;
        _cleanup_json_ json_t *reply = NULL;
        const struct policy_row *row;

        if (req->uri_error != 0 || !authz_request_succeeded(req))
                return 0;
        row = policy_match(req->method, req->u.path, &ref);
        if (!row || row->learn == POLICY_LEARN_NONE || !(row->who & id->kind))
                return 0;
        if (authz_request_decode(req) == -ENOMEM)
                return -ENOMEM;
        /* Small replies (a create's, a prune's) with jansson; inspect and lists with
         * json-scan (reply_span). */
        if (req->response_body && row->learn != POLICY_LEARN_CONTAINER_INSPECT &&
            row->learn != POLICY_LEARN_CONTAINER_LIST && row->learn != POLICY_LEARN_VOLUME_LIST &&
            row->learn != POLICY_LEARN_NETWORK_LIST)
                reply = json_loadb(req->response_body, req->response_size, 0, NULL);
        return learn_other(&(struct learning) { o, req, id, ref, reply, now }, row->learn);
}
