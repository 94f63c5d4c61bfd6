/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "authz/container-create.h"
#include "authz/go-json.h"
#include "authz/policy.h"
#include "authz/volume-network.h"
#include "base/json-util.h"

#define T IDENTITY_TENANT
#define ANYONE (POLICY_WHO_ALL | IDENTITY_ANONYMOUS)
#define PRUNER_KEEPS "the node's pruner keeps the cache: jobs may not prune it or remove images"

/* THE table. The first row that matches decides; what none matches is refused. The
 * prune job (a Secret in the daemon's namespace) gets what its CronJob runs:
 * container, image and build cache prunes; image removal and the volume and network
 * prunes (which empty every tenant's unused volumes) are the node's pruner's only. */
const struct policy_row policy_table[] = {
        { "ping", "GET HEAD", { "/_ping" }, .who = ANYONE },
        { "version", "GET", { "/version" }, .who = ANYONE },
        { "info", "GET", { "/info" }, .who = POLICY_WHO_ALL },
        { "events", "GET", { "/events" }, .who = POLICY_WHO_ALL },
        { "system-df", "GET", { "/system/df" }, .who = POLICY_WHO_ALL },
        { "registry-login", "POST", { "/auth" }, .who = T },
        { "image-list", "GET", { "/images/json" }, .who = POLICY_WHO_ALL },
        { "image-search", "GET", { "/images/search" }, .who = T },
        { "image-save", "GET", { "/images/get", "/images/{name...}/get" }, .who = T },
        { "image-inspect", "GET", { "/images/{name...}/(json|history)", "/distribution/{name...}/json" },
          .who = POLICY_WHO_ALL },
        { "image-pull", "POST", { "/images/create" }, .who = T },
        { "image-load", "POST", { "/images/load" }, .who = T },
        { "image-prune", "POST", { "/images/prune" }, POLICY_WHO_PRUNERS, .refusal = PRUNER_KEEPS },
        { "image-push", "POST", { "/images/{name...}/push" }, .who = T },
        { "image-tag", "POST", { "/images/{name...}/tag" }, .who = T },
        { "image-remove", "DELETE", { "/images/{name...}" }, IDENTITY_PRUNER_KIND, .refusal = PRUNER_KEEPS },
        { "build-prune", "POST", { "/build/prune" }, POLICY_WHO_PRUNERS, .refusal = PRUNER_KEEPS },
        { "build-cancel", "POST", { "/build/cancel" }, .who = T },
        { "build", "POST", { "/build" }, T, .check = POLICY_CHECK_BUILD,
          .flags = POLICY_QUERY_TRUSTED | POLICY_BUILD,
          .checks = "no hidden body (the classic builder's tar context is one: refused); "
                    "networkmode not host, container: or another's network; no cgroupparent" },
        { "build-session", "POST", { "/session" }, T, .flags = POLICY_BUILD },
        { "build-grpc", "POST", { "/grpc" }, T, .flags = POLICY_BUILD,
          .checks = "BuildKit's own calls are not seen (README, limits)" },
        { "container-list", "GET", { "/containers/json" }, POLICY_WHO_ALL, .learn = POLICY_LEARN_CONTAINER_LIST,
          .checks = "shows every tenant's containers (README, limits)" },
        { "container-create", "POST", { "/containers/create" }, T, .check = POLICY_CHECK_CONTAINER_CREATE,
          .flags = POLICY_JSON_BODY, .learn = POLICY_LEARN_CONTAINER_CREATE,
          .checks = "JSON body: no privileged, capabilities, devices, host paths, host or others' namespaces, "
                    "volume driver options, others' volumes, networks, links, volumes-from, unconfining "
                    "security options, runtime, cgroup parent, masked paths, unsafe sysctls (container-create.h)" },
        { "container-prune", "POST", { "/containers/prune" }, POLICY_WHO_PRUNERS,
          .learn = POLICY_LEARN_CONTAINER_PRUNE, .refusal = PRUNER_KEEPS },
        { "container-inspect", "GET", { "/containers/{id}/json" }, T, POLICY_OBJECT_CONTAINER,
          .learn = POLICY_LEARN_CONTAINER_INSPECT, .checks = "own container" },
        { "container-read", "GET HEAD",
          { "/containers/{id}/(logs|top|stats|changes|export|archive)", "/containers/{id}/attach/ws" }, T,
          POLICY_OBJECT_CONTAINER, .checks = "own container" },
        { "container-run", "POST",
          { "/containers/{id}/(start|stop|kill|restart|wait|resize|attach|pause|unpause)" }, T,
          POLICY_OBJECT_CONTAINER, .checks = "own container" },
        { "container-copy-in", "PUT", { "/containers/{id}/archive" }, T, POLICY_OBJECT_CONTAINER,
          .checks = "own container" },
        { "container-rename", "POST", { "/containers/{id}/rename" }, T, POLICY_OBJECT_CONTAINER,
          .flags = POLICY_QUERY_TRUSTED, .learn = POLICY_LEARN_CONTAINER_RENAME,
          .checks = "own container; no hidden body" },
        { "container-update", "POST", { "/containers/{id}/update" }, T, POLICY_OBJECT_CONTAINER,
          POLICY_CHECK_CONTAINER_UPDATE, POLICY_JSON_BODY,
          .checks = "own container; JSON body: no cgroup parent, no devices" },
        { "exec-create", "POST", { "/containers/{id}/exec" }, T, POLICY_OBJECT_CONTAINER,
          POLICY_CHECK_EXEC_CREATE, POLICY_JSON_BODY, POLICY_LEARN_EXEC_CREATE,
          .checks = "own container; JSON body: not privileged" },
        { "container-remove", "DELETE", { "/containers/{id}" }, T, POLICY_OBJECT_CONTAINER,
          .learn = POLICY_LEARN_CONTAINER_REMOVE, .checks = "own container" },
        { "commit", "POST", { "/commit" }, T, POLICY_OBJECT_COMMIT, .flags = POLICY_QUERY_TRUSTED,
          .checks = "own container (container=); no hidden body" },
        { "exec-inspect", "GET", { "/exec/{id}/json" }, T, POLICY_OBJECT_EXEC, .checks = "own exec instance" },
        { "exec-start", "POST", { "/exec/{id}/(start|resize)" }, T, POLICY_OBJECT_EXEC,
          .checks = "own exec instance" },
        { "volume-list", "GET", { "/volumes" }, T, .learn = POLICY_LEARN_VOLUME_LIST,
          .checks = "shows every tenant's volumes (README, limits)" },
        { "volume-create", "POST", { "/volumes/create" }, T, .check = POLICY_CHECK_VOLUME_CREATE,
          .flags = POLICY_JSON_BODY, .learn = POLICY_LEARN_VOLUME_CREATE,
          .checks = "JSON body: local driver, no driver options, not another's name" },
        { "volume-prune", "POST", { "/volumes/prune" }, IDENTITY_PRUNER_KIND, .learn = POLICY_LEARN_VOLUME_PRUNE,
          .refusal = PRUNER_KEEPS },
        { "volume-inspect", "GET", { "/volumes/{id}" }, T, POLICY_OBJECT_VOLUME, .flags = POLICY_UNKNOWN_OK,
          .checks = "not another's volume" },
        { "volume-remove", "DELETE", { "/volumes/{id}" }, T, POLICY_OBJECT_VOLUME,
          .learn = POLICY_LEARN_VOLUME_REMOVE, .checks = "own volume" },
        { "network-list", "GET", { "/networks", "/networks/" }, T, .learn = POLICY_LEARN_NETWORK_LIST,
          .checks = "shows every tenant's networks (README, limits)" },
        { "network-create", "POST", { "/networks/create" }, T, .check = POLICY_CHECK_NETWORK_CREATE,
          .flags = POLICY_JSON_BODY, .learn = POLICY_LEARN_NETWORK_CREATE,
          .checks = "JSON body: bridge driver, no options, no chosen subnets, not another's name" },
        { "network-prune", "POST", { "/networks/prune" }, IDENTITY_PRUNER_KIND, .learn = POLICY_LEARN_NETWORK_PRUNE,
          .refusal = PRUNER_KEEPS },
        { "network-connect", "POST", { "/networks/{id}/(connect|disconnect)" }, T,
          .check = POLICY_CHECK_NETWORK_CONNECT, .flags = POLICY_JSON_BODY,
          .checks = "own network (or bridge, none); JSON body: own container and links" },
        { "network-inspect", "GET", { "/networks/{id}" }, T, POLICY_OBJECT_NETWORK, .flags = POLICY_UNKNOWN_OK,
          .checks = "not another's network" },
        { "network-remove", "DELETE", { "/networks/{id}" }, T, POLICY_OBJECT_NETWORK,
          .learn = POLICY_LEARN_NETWORK_REMOVE, .checks = "own network" },
        { "swarm-and-plugins", "*", { "/(swarm|services|nodes|tasks|secrets|configs|plugins)/**" }, 0,
          .refusal = "swarm, services, nodes, tasks, secrets, configs and plugins are not for CI jobs" },
};
const size_t policy_table_size = ELEMENTSOF(policy_table);

/* Splits "/a/b" into "a", "b" (in place in a copy); N segments. */
static char **split(const char *path, size_t *ret_n) {
        _cleanup_free_ char *copy = strdup(path[0] == '/' ? path + 1 : path);
        _cleanup_strv_free_ char **v = NULL;
        char *p, *s;

        if (!copy)
                return NULL;
        for (p = copy; (s = strsep(&p, "/"));)
                if (strv_extend(&v, s) < 0)
                        return NULL;
        *ret_n = strv_length(v);
        return TAKE_PTR(v);
}

static bool alternative(const char *pat, const char *seg) {
        size_t n = strlen(pat), len = strlen(seg);

        for (const char *p = pat + 1; p < pat + n - 1;) {
                size_t k = strcspn(p, "|)");
                if (k == len && strncmp(p, seg, len) == 0)
                        return true;
                p += k + 1;
        }
        return false;
}

static int match(char **pat, size_t np, char **seg, size_t ns, char **ret_ref) {
        const char *p;
        size_t len;
        bool var, many;
        int r;

        if (np == 0)
                return ns == 0;
        p = pat[0];
        len = strlen(p);
        var = len > 2 && p[0] == '{' && p[len - 1] == '}';
        many = var && len > 5 && strncmp(p + len - 4, "...", 3) == 0;
        if (streq(p, "**"))
                return 1;
        if (many) {
                for (size_t k = 1; k <= ns; k++)
                        if ((r = match(pat + 1, np - 1, seg + k, ns - k, ret_ref)) != 0)
                                return r;
                return 0;
        }
        if (ns == 0)
                return 0;
        if (var) {
                if (isempty(seg[0]) || (r = match(pat + 1, np - 1, seg + 1, ns - 1, ret_ref)) <= 0)
                        return 0;
                if (ret_ref && !*ret_ref && !(*ret_ref = strdup(seg[0])))
                        return -ENOMEM;
                return 1;
        }
        if (p[0] == '(' ? !alternative(p, seg[0]) : !streq(p, seg[0]))
                return 0;
        return match(pat + 1, np - 1, seg + 1, ns - 1, ret_ref);
}

int policy_path_matches(const char *pattern, const char *path, char **ret_ref) {
        _cleanup_strv_free_ char **pat = NULL, **seg = NULL;
        _cleanup_free_ char *ref = NULL;
        size_t np = 0, ns = 0;
        int r;

        pat = split(pattern, &np);
        seg = split(path, &ns);
        if (!pat || !seg)
                return -ENOMEM;
        r = match(pat, np, seg, ns, ret_ref ? &ref : NULL);
        if (r > 0 && ret_ref)
                *ret_ref = TAKE_PTR(ref);
        return r;
}

static bool method_matches(const char *methods, const char *method) {
        size_t len = strlen(method);

        if (streq(methods, "*"))
                return true;
        for (const char *p = methods; *p;) {
                size_t k = strcspn(p, " ");
                if (k == len && strncmp(p, method, len) == 0)
                        return true;
                p += k + strspn(p + k, " ");
        }
        return false;
}

const struct policy_row *policy_match(const char *method, const char *path, char **ret_ref) {
        for (size_t i = 0; i < policy_table_size; i++) {
                const struct policy_row *row = &policy_table[i];

                if (!method_matches(row->methods, method))
                        continue;
                for (size_t k = 0; k < ELEMENTSOF(row->paths) && row->paths[k]; k++) {
                        int r = policy_path_matches(row->paths[k], path, ret_ref);
                        if (r != 0)
                                return r < 0 ? NULL : row;
                }
        }
        return NULL;
}

static const char *who_to_string(unsigned kind) {
        return kind == IDENTITY_ANONYMOUS ? "a caller without a certificate" :
               kind == IDENTITY_TENANT ? "a CI job" :
               kind == IDENTITY_CHECKER_KIND ? "the node's checker" :
               kind == IDENTITY_PRUNER_KIND ? "the node's pruner" :
               kind == IDENTITY_PRUNE_JOB_KIND ? "the prune job" : "this caller";
}

/* networkmode and cgroupparent of POST /build, every value of each (Go reads the first,
 * r.Form[] all). */
static int check_build_query(const struct authz_ctx *c, struct authz_verdict *v) {
        const struct request_uri *u = &c->req->u;
        const char *s;

        for (size_t i = 0; (s = request_uri_query_nth(u, "networkmode", i)); i++) {
                if (strcasecmp(s, "host") == 0 || strncasecmp(s, "container:", strlen("container:")) == 0)
                        return authz_refuse(v, "build-network", "networkmode '%s' runs the build's steps in a "
                                            "namespace that is not theirs", verdict_quote(s));
                if (!isempty(s) && !streq(s, "default") && !streq(s, "bridge") && !streq(s, "none")) {
                        int r = authz_require_owner(c, OWNER_NETWORK, s, "not-your-network", v);
                        if (r != 0)
                                return r;
                }
        }
        for (size_t i = 0; (s = request_uri_query_nth(u, "cgroupparent", i)); i++)
                if (!isempty(s))
                        return authz_refuse(v, "cgroup-parent", "a cgroup parent takes the build's steps out of "
                                            "the daemon's cgroup");
        return 0;
}

static int check_body(const struct authz_ctx *c, const struct policy_row *row, const char *ref,
                      struct authz_verdict *v) {
        _cleanup_json_ json_t *body = NULL;
        const struct authz_request *req = c->req;

        if (row->check == POLICY_CHECK_BUILD)
                return check_build_query(c, v);
        if (!(row->flags & POLICY_JSON_BODY))
                return 0;
        if (!req->body || req->body_size == 0)
                return authz_refuse(v, "body-required", "the plugin did not get this request's body (over 1 MiB "
                                    "on a daemon without the fix of CVE-2026-34040, or not sent as "
                                    "application/json), so it cannot check it");
        body = json_loadb(req->body, req->body_size, JSON_REJECT_DUPLICATES, NULL);
        if (!body || gojson_check_keys(body) < 0)
                return authz_refuse(v, "malformed-body", "the body is not JSON with one spelling per field");
        switch (row->check) {
        case POLICY_CHECK_CONTAINER_CREATE:
                return container_create_check(c, body, v);
        case POLICY_CHECK_CONTAINER_UPDATE:
                return container_update_check(c, body, v);
        case POLICY_CHECK_EXEC_CREATE:
                return exec_create_check(c, body, v);
        case POLICY_CHECK_VOLUME_CREATE:
                return volume_create_check(c, body, v);
        case POLICY_CHECK_NETWORK_CREATE:
                return network_create_check(c, body, v);
        case POLICY_CHECK_NETWORK_CONNECT:
                return network_connect_check(c, ref, body, v);
        default:
                return 0;
        }
}

static int check_object(const struct authz_ctx *c, const struct policy_row *row, const char *ref,
                        struct authz_verdict *v) {
        static const enum owner_kind kinds[] = {
                [POLICY_OBJECT_CONTAINER] = OWNER_CONTAINER, [POLICY_OBJECT_EXEC] = OWNER_EXEC,
                [POLICY_OBJECT_VOLUME] = OWNER_VOLUME,       [POLICY_OBJECT_NETWORK] = OWNER_NETWORK,
                [POLICY_OBJECT_COMMIT] = OWNER_CONTAINER,
        };
        static const char *const rules[] = {
                [OWNER_CONTAINER] = "not-your-container", [OWNER_EXEC] = "not-your-exec",
                [OWNER_VOLUME] = "not-your-volume",       [OWNER_NETWORK] = "not-your-network",
        };
        enum owner_kind k;
        const char *s;
        int r;

        if (row->object == POLICY_OBJECT_NONE)
                return 0;
        k = kinds[row->object];
        if (row->object == POLICY_OBJECT_COMMIT) {
                if (request_uri_query_count(&c->req->u, "container") == 0)
                        return authz_require_owner(c, k, "", rules[k], v);
                for (size_t i = 0; (s = request_uri_query_nth(&c->req->u, "container", i)); i++)
                        if ((r = authz_require_owner(c, k, s, rules[k], v)) != 0)
                                return r;
                return 0;
        }
        if (row->object == POLICY_OBJECT_NETWORK && (streq(ref, "bridge") || streq(ref, "none")) &&
            streq(c->req->method, "GET"))
                return 0;
        if (row->flags & POLICY_UNKNOWN_OK)
                return authz_require_owner_or_new(c, k, ref, rules[k], v);
        return authz_require_owner(c, k, ref, rules[k], v);
}

static int decide_row(const struct authz_ctx *c, const struct policy_row *row, const char *ref,
                      struct authz_verdict *v) {
        int r;

        v->row = row;
        if (!(row->who & c->id->kind)) {
                if (row->refusal)
                        return authz_refuse(v, row->rule, "%s", row->refusal);
                return authz_refuse(v, row->rule, "%s %s is not for %s", c->req->method, verdict_quote(c->req->u.path),
                                    who_to_string(c->id->kind));
        }
        if ((row->flags & POLICY_QUERY_TRUSTED) && authz_request_body_hidden(c->req))
                return authz_refuse(v, "hidden-body", "this request may carry a body the plugin cannot see, whose "
                                    "form values would override its query (send no body, or JSON)");
        if ((r = check_object(c, row, ref, v)) != 0 || (r = check_body(c, row, ref, v)) != 0)
                return r;
        v->allow = true;
        v->rule = row->rule;
        return 0;
}

int policy_decide(const struct authz_ctx *c, struct authz_verdict *v) {
        _cleanup_free_ char *ref = NULL;
        const struct authz_request *req = c->req;
        const struct policy_row *row;
        int r;

        *v = (struct authz_verdict) {};
        if (req->uri_error != 0)
                r = authz_refuse(v, "uri", "'%s' is not a request target the daemon serves as it is",
                                 verdict_quote(req->uri));
        else if (streq(req->content_type, "application/x-www-form-urlencoded") ||
                 streq(req->content_type, "multipart/form-data"))
                r = authz_refuse(v, "form-body", "form bodies override the query the plugin checks");
        else if (!(row = policy_match(req->method, req->u.path, &ref)))
                r = authz_refuse(v, "default-deny", "no rule allows %s %s", verdict_quote(req->method),
                                 verdict_quote(req->u.path));
        else
                r = decide_row(c, row, ref, v);
        return r < 0 ? r : 0;
}

static const char *who_column(unsigned who) {
        switch (who) {
        case ANYONE:
                return "anyone, no certificate too";
        case POLICY_WHO_ALL:
                return "tenants, checker, pruner, prune job";
        case T:
                return "tenants";
        case POLICY_WHO_PRUNERS:
                return "pruner, prune job";
        case IDENTITY_PRUNER_KIND:
                return "pruner";
        case 0:
                return "nobody";
        }
        return "?";
}

/* TEXT with "|" escaped for a Markdown table cell. */
static void cell(FILE *f, const char *text) {
        for (const char *p = text; *p; p++) {
                if (*p == '|')
                        fputc('\\', f);
                fputc(*p, f);
        }
}

int policy_print_markdown(FILE *f) {
        fputs("| rule | method | path | who | checks (or what others are told) |\n|---|---|---|---|---|\n", f);
        for (size_t i = 0; i < policy_table_size; i++) {
                const struct policy_row *row = &policy_table[i];

                fprintf(f, "| %s | %s | ", row->rule, row->methods);
                for (size_t k = 0; k < ELEMENTSOF(row->paths) && row->paths[k]; k++) {
                        fputs(k ? ", `" : "`", f);
                        cell(f, row->paths[k]);
                        fputc('`', f);
                }
                fprintf(f, " | %s | ", who_column(row->who));
                cell(f, row->checks ?: row->refusal ?: "");
                fputs(" |\n", f);
        }
        fputs("| default-deny | any | anything else | nobody | refused |\n", f);
        return ferror(f) ? -EIO : 0;
}
