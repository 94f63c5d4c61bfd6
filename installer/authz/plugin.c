/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "authz/learn.h"
#include "authz/plugin.h"
#include "authz/policy.h"
#include "base/json-util.h"
#include "base/text.h"
#include "metrics/textfile.h"

#define EVENT_PATH_MAX 256

void authz_event_done(struct authz_event *e) {
        free(e->message);
        free(e->tenant);
        free(e->serial);
        free(e->rule);
        free(e->method);
        free(e->path);
        *e = (struct authz_event) {};
}

static char *state_path(const struct authz_plugin *p, const char *name) {
        return p->state_dir ? strdup_printf("%s/%s", p->state_dir, name) : NULL;
}

static int load_counters(struct authz_plugin *p) {
        _cleanup_free_ char *path = state_path(p, AUTHZ_COUNTERS_FILE), *data = NULL;
        size_t size;
        int r;

        if (!path)
                return 0;
        r = read_file_full(path, 1u << 20, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = authz_counters_state_parse(&p->counters, data, size);
        p->counters.dirty = true; /* the metrics file is written once at least */
        return r;
}

int authz_plugin_new(const char *state_dir, struct authz_plugin **ret) {
        struct authz_plugin *p = calloc(1, sizeof(*p));
        _cleanup_free_ char *owners = NULL, *revoked = NULL, *tenants = NULL;
        int r = -ENOMEM;

        if (!p)
                return -ENOMEM;
        p->counters.dirty = true;
        if (state_dir && !(p->state_dir = strdup(state_dir)))
                goto fail;
        owners = state_path(p, OWNERS_FILE);
        revoked = state_path(p, REVOKED_FILE);
        tenants = state_path(p, TENANTS_FILE);
        if ((state_dir && (!owners || !revoked || !tenants)) || (r = owners_new(owners, &p->owners)) < 0 ||
            (r = revoked_init(&p->revoked, revoked)) < 0 || (r = tenants_init(&p->tenants, tenants)) < 0 ||
            (r = owners_load(p->owners)) < 0 || (r = load_counters(p)) < 0)
                goto fail;
        *ret = p;
        return 0;
fail:
        authz_plugin_free(p);
        return r < 0 ? r : -ENOMEM;
}

struct authz_plugin *authz_plugin_free(struct authz_plugin *p) {
        if (!p)
                return NULL;
        owners_free(p->owners);
        revoked_done(&p->revoked);
        tenants_done(&p->tenants);
        identity_cache_done(&p->ids);
        authz_counters_done(&p->counters);
        free(p->state_dir);
        free(p);
        return NULL;
}

static int reply(bool allow, const char *msg, char **ret) {
        _cleanup_json_ json_t *o = json_pack("{s:b,s:s,s:s}", "Allow", allow, "Msg", msg ?: "", "Err", "");

        if (!o)
                return -ENOMEM;
        *ret = json_dumps(o, JSON_COMPACT);
        return *ret ? 0 : -ENOMEM;
}

static const char *tenant_of(const struct identity *id, const char *id_rule) {
        if (id->kind == IDENTITY_ANONYMOUS)
                return "anonymous";
        if (id_rule && (streq(id_rule, "identity") || isempty(id->name)))
                return "unknown";
        return id->name;
}

static int make_event(const struct authz_request *req, const struct identity *id, const char *id_rule,
                      const struct authz_verdict *v, struct authz_event *e) {
        const char *tenant = tenant_of(id, id_rule);

        *e = (struct authz_event) {
                .message = strdup(v->message ?: "rule ?: refused"),
                .tenant = text_sanitize_line(tenant, 255),
                .serial = isempty(id->serial) ? NULL : strdup(id->serial),
                .rule = strdup(v->rule ?: "?"),
                .method = text_escape(req ? req->method : "?", 32),
                .path = text_escape(req ? req->uri : "?", EVENT_PATH_MAX),
        };
        if (!e->message || !e->tenant || (!isempty(id->serial) && !e->serial) || !e->rule || !e->method || !e->path) {
                authz_event_done(e);
                return -ENOMEM;
        }
        return 0;
}

/* The deny list and the tenant list on the certificate of ID: 0 it passes, 1 refused
 * (in V), -ENOMEM. */
static int check_lists(struct authz_plugin *p, const struct identity *id, struct authz_verdict *v) {
        int q = revoked_refresh(&p->revoked);

        if (q == -ENOMEM)
                return q;
        if (q < 0)
                return authz_refuse(v, "revoked-list", "the deny list cannot be read (%s): every "
                                    "certificate is refused until it can", strerror(-q));
        if (revoked_contains(&p->revoked, id->serial))
                return authz_refuse(v, "revoked", "certificate %s of '%s' is revoked: run dind-cache "
                                    "install to get a new one", id->serial, verdict_quote(id->name));
        if (id->kind != IDENTITY_TENANT)
                return 0;
        q = tenants_refresh(&p->tenants);
        if (q == -ENOMEM)
                return q;
        if (q < 0)
                return authz_refuse(v, "tenant-list", "the tenant list cannot be read (%s): every tenant "
                                    "is refused until it can", strerror(-q));
        /* The probe is on no list, but sees a list that refuses every tenant. */
        if (!id->probe && !tenants_allow(&p->tenants, id->name))
                return authz_refuse(v, "not-a-tenant", "'%s' is no tenant of this daemon (not given to "
                                    "dind-cache install --allow-namespace)", verdict_quote(id->name));
        return 0;
}

/* The verdict on a request R (NULL: unreadable) from ID (ID_RULE: its refusal). */
static int decide(struct authz_plugin *p, const struct authz_request *r, const struct identity *id,
                  const char *id_rule, struct authz_verdict *v) {
        int q;

        if (!r)
                return authz_refuse(v, "malformed-request", "the plugin could not read what dockerd sent");
        if (id_rule)
                return authz_refuse(v, id_rule, streq(id_rule, "unknown-identity") ?
                                    "certificate name '%s' is neither a namespace nor a node identity" :
                                    "the certificate ('%s') is not one the plugin can tell who holds",
                                    verdict_quote(id->name));
        if (id->kind != IDENTITY_ANONYMOUS && (q = check_lists(p, id, v)) != 0)
                return q;
        q = policy_decide(&(struct authz_ctx) { r, id, p->owners }, v);
        return q < 0 ? q : v->allow ? 0 : 1;
}

static int handle_request(struct authz_plugin *p, const char *body, size_t size, char **ret_reply,
                          struct authz_event *ret_event) {
        _cleanup_(authz_request_done) struct authz_request req = {};
        struct authz_verdict v = {};
        struct identity id = {};
        const char *id_rule = NULL;
        bool parsed;
        int q;

        p->requests++;
        parsed = authz_request_parse(body, size, AUTHZ_REQUEST, &req) == 0;
        if (parsed && (q = identity_of_request(&req, &p->ids, &id, &id_rule)) < 0)
                return q;
        q = decide(p, parsed ? &req : NULL, &id, id_rule, &v);
        /* The checker's probe leaves no trace (identity.h). */
        if (q >= 0 && !id.probe && v.allow && v.row &&
            (q = learn_from_request(p->owners, &req, v.row, &id, time(NULL))) > 0)
                p->owners_error = owners_save(p->owners);
        if (q >= 0 && !id.probe)
                q = authz_counters_add(&p->counters, tenant_of(&id, id_rule), v.allow,
                                       v.allow && v.row && (v.row->flags & POLICY_BUILD));
        if (q >= 0 && !id.probe && !v.allow)
                q = make_event(parsed ? &req : NULL, &id, id_rule, &v, ret_event);
        if (q >= 0)
                q = reply(v.allow, v.message, ret_reply);
        authz_verdict_done(&v);
        return q;
}

static int handle_response(struct authz_plugin *p, const char *body, size_t size, char **ret_reply) {
        _cleanup_(authz_request_done) struct authz_request req = {};
        struct identity id = {};
        const char *id_rule = NULL;
        int q;

        p->responses++;
        if (authz_request_parse(body, size, AUTHZ_RESPONSE, &req) == 0 &&
            identity_of_request(&req, &p->ids, &id, &id_rule) == 0 && !id.probe) {
                q = learn_from_response(p->owners, &req, &id, (int64_t) time(NULL));
                if (q < 0)
                        return q;
                if (q > 0)
                        p->owners_error = owners_save(p->owners);
        }
        return reply(true, NULL, ret_reply);
}

int authz_plugin_handle(struct authz_plugin *p, const char *endpoint, const char *body, size_t size,
                        int *ret_status, char **ret_reply, struct authz_event *ret_event) {
        *ret_event = (struct authz_event) {};
        *ret_status = 200;
        if (streq(endpoint, "/Plugin.Activate")) {
                *ret_reply = strdup("{\"Implements\":[\"authz\"]}");
                return *ret_reply ? 0 : -ENOMEM;
        }
        if (streq(endpoint, "/AuthZPlugin.AuthZReq"))
                return handle_request(p, body, size, ret_reply, ret_event);
        if (streq(endpoint, "/AuthZPlugin.AuthZRes"))
                return handle_response(p, body, size, ret_reply);
        *ret_status = 404;
        *ret_reply = strdup("{\"Err\":\"unknown plugin method\"}");
        return *ret_reply ? 0 : -ENOMEM;
}

int authz_plugin_flush(struct authz_plugin *p, const char *metrics_dir) {
        _cleanup_free_ char *state = NULL, *text = NULL, *path = NULL;
        int r;

        if (!p->counters.dirty)
                return 0;
        if (p->state_dir) {
                if ((r = authz_counters_state_text(&p->counters, &state)) < 0 ||
                    !(path = state_path(p, AUTHZ_COUNTERS_FILE)))
                        return r < 0 ? r : -ENOMEM;
                if ((r = write_file_replace(path, state, strlen(state), 0600)) < 0)
                        return r;
        }
        if (metrics_dir) {
                if ((r = authz_counters_text(&p->counters, &text)) < 0 ||
                    (r = metrics_write_named(metrics_dir, METRICS_AUTHZ_FILE_NAME, text)) < 0)
                        return r;
        }
        p->counters.dirty = false;
        return 0;
}
