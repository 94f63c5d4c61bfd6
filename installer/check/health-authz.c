/* SPDX-License-Identifier: MIT */
/* The authorization plugin's check of health.h: its socket asked straight, as dockerd
 * asks it (POST /Plugin.Activate, then /AuthZPlugin.AuthZReq with the envelope of
 * moby's pkg/authorization), by the checker's probe identity: a self-signed
 * certificate of CN PKI_CN_PROBE made for the run. The plugin judges the probe as it
 * judges a tenant and keeps no trace of it (authz/identity.h), so a run neither counts
 * as a tenant's request nor fills the journal with refusals. */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base64.h"
#include "base/http.h"
#include "base/json-util.h"
#include "base/message-ids.h"
#include "base/text.h"
#include "check/health-private.h"
#include "check/health.h"
#include "pki/pki-store.h"
#include "pki/pki.h"

#define NAME "authz"
#define SOCKET_UNIT "dind-cache-authz.socket"
#define SERVICE_UNIT "dind-cache-authz.service"
#define REMEDY_SOCKET "systemctl status " SOCKET_UNIT "; journalctl -u " SERVICE_UNIT \
        "; systemctl restart " SOCKET_UNIT
#define REMEDY_BROKEN "journalctl -u " SERVICE_UNIT "; run dind-cache install again (it rewrites the " \
        "plugin's units), then systemctl restart " SERVICE_UNIT
#define REMEDY_NOT_USED "run dind-cache install again: it writes authorization-plugins to the daemon's " \
        "daemon.json and rolls the docker-dind pod"
#define REMEDY_LEFT_OUT "run dind-cache install again without --plaintext"
/* The API version in the probe's URIs: what the pinned dockerd speaks (the plugin
 * reads any version). */
#define PROBE_API "/v1.51"
#define PROBE_CREATE "{\"Image\":\"dind-cache-probe\",\"HostConfig\":{\"Privileged\":true}}"
#define PLUGIN_MEDIA_TYPE "application/vnd.docker.plugins.v1.2+json"
#define SHOWN_MAX 160

/* What the socket answered, worst first. */
enum probe_outcome {
        PROBE_DEADLINE,           /* the run's deadline passed between two calls */
        PROBE_NO_ANSWER,          /* nothing listens, or no answer in time */
        PROBE_WRONG_ANSWER,       /* not HTTP 200 with a JSON object of the protocol */
        PROBE_NOT_AUTHZ,          /* /Plugin.Activate does not say "authz" */
        PROBE_ALLOWS_PRIVILEGED,  /* default deny is broken */
        PROBE_REFUSES_HARMLESS,   /* GET /version is refused */
        PROBE_OK,
};

struct probe {
        enum probe_outcome outcome;
        char why[384];            /* what went wrong, for people (cleaned) */
        char refusal[SHOWN_MAX + 8]; /* the plugin's words refusing the privileged create */
        uint64_t elapsed_usec;    /* the three calls */
};

/* Why connecting to PATH was refused, in words for a unix socket (curl speaks of a
 * port 80 of localhost). */
static const char *refused_why(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return strerror(errno);
        if (!S_ISSOCK(st.st_mode))
                return "not a socket";
        return "connection refused: nothing listens on it";
}

/* One POST of BODY to ENDPOINT: 0 and the answer's JSON object in *RET, or a failure
 * in P (outcome and why) and 1; -ENOMEM. */
static int call(struct http_client *c, const struct node_settings *s, uint64_t deadline, const char *endpoint,
                const char *body, struct probe *p, json_t **ret) {
        _cleanup_free_ char *url = strdup_printf("http://localhost%s", endpoint), *shown = NULL;
        struct http_response resp = {};
        uint64_t timeout = health_call_timeout(s->timeout_usec, deadline);
        char t[32];
        long status;
        json_t *o;
        int r;

        if (!url)
                return -ENOMEM;
        if (health_time_left(deadline) == 0) {
                p->outcome = PROBE_DEADLINE;
                return 1;
        }
        http_client_set_timeouts(c, timeout, timeout);
        r = http_client_request(c, "POST", url, PLUGIN_MEDIA_TYPE, PLUGIN_MEDIA_TYPE, body, strlen(body), &resp);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                p->outcome = r == -EFBIG ? PROBE_WRONG_ANSWER : PROBE_NO_ANSWER;
                shown = text_sanitize_line(http_client_last_error(c), SHOWN_MAX);
                if (r == -ETIMEDOUT)
                        snprintf(p->why, sizeof(p->why), "%s: no answer within %s", endpoint,
                                 format_duration(timeout, t, sizeof(t)));
                else if (r == -ECONNREFUSED)
                        snprintf(p->why, sizeof(p->why), "%s", refused_why(s->authz_socket));
                else if (r == -EFBIG)
                        snprintf(p->why, sizeof(p->why), "%s: an answer over %u bytes", endpoint,
                                 HEALTH_AUTHZ_REPLY_MAX);
                else
                        snprintf(p->why, sizeof(p->why), "%s: %s", endpoint, !isempty(shown) ? shown : strerror(-r));
                return 1;
        }
        p->elapsed_usec += resp.elapsed_usec;
        status = resp.status;
        o = status == 200 ? json_loadb(resp.body, resp.body_size, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (!json_is_object(o)) {
                json_decref(o);
                shown = text_sanitize_line(resp.body, SHOWN_MAX);
                http_response_done(&resp);
                p->outcome = PROBE_WRONG_ANSWER;
                snprintf(p->why, sizeof(p->why), "%s answered HTTP %ld, not a JSON object: %s", endpoint,
                         status, shown ?: "");
                return shown ? 1 : -ENOMEM;
        }
        http_response_done(&resp);
        *ret = o;
        return 0;
}

/* /Plugin.Activate: 0 it implements "authz", 1 not (said in P), -ENOMEM. */
static int activate(struct http_client *c, const struct node_settings *s, uint64_t deadline, struct probe *p) {
        _cleanup_json_ json_t *o = NULL;
        const json_t *implements, *v;
        size_t i;
        int r;

        /* dockerd's plugin client sends its nil arguments as JSON: null. */
        r = call(c, s, deadline, "/Plugin.Activate", "null", p, &o);
        if (r != 0)
                return r;
        implements = json_object_get(o, "Implements");
        json_array_foreach(implements, i, v)
                if (json_is_string(v) && streq(json_string_value(v), "authz"))
                        return 0;
        p->outcome = PROBE_NOT_AUTHZ;
        snprintf(p->why, sizeof(p->why), "/Plugin.Activate does not list \"authz\" in Implements");
        return 1;
}

/* The AuthZReq envelope of METHOD URI (with the JSON BODY, or NULL) from CERT_B64. */
static char *envelope(const char *method, const char *uri, const char *body, const char *cert_b64) {
        _cleanup_free_ char *body_b64 = body ? base64_encode(body, strlen(body)) : NULL;
        _cleanup_json_ json_t *o = NULL;
        char length[24];

        if (body && !body_b64)
                return NULL;
        snprintf(length, sizeof(length), "%zu", body ? strlen(body) : 0);
        o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:[s]}", "User", PKI_CN_PROBE, "UserAuthNMethod", "TLS",
                      "RequestMethod", method, "RequestUri", uri, "RequestHeaders",
                      body ? json_pack("{s:s,s:s}", "Content-Type", "application/json", "Content-Length", length)
                           : json_object(),
                      "RequestPeerCertificates", cert_b64);
        if (!o || (body && json_object_set_new(o, "RequestBody", json_string(body_b64)) < 0))
                return NULL;
        return json_dumps(o, JSON_COMPACT);
}

/* One AuthZReq: 0 with *RET_ALLOW and the plugin's words in SAID, 1 no verdict (said in
 * P), -ENOMEM. */
static int ask(struct http_client *c, const struct node_settings *s, uint64_t deadline, const char *cert_b64,
               const char *method, const char *uri, const char *body, struct probe *p, bool *ret_allow,
               char *said, size_t size) {
        _cleanup_free_ char *req = envelope(method, uri, body, cert_b64), *shown = NULL;
        _cleanup_json_ json_t *o = NULL;
        const json_t *allow;
        const char *msg, *err;
        int r;

        if (!req)
                return -ENOMEM;
        r = call(c, s, deadline, "/AuthZPlugin.AuthZReq", req, p, &o);
        if (r != 0)
                return r;
        allow = json_object_get(o, "Allow");
        if (!json_is_boolean(allow)) {
                p->outcome = PROBE_WRONG_ANSWER;
                snprintf(p->why, sizeof(p->why), "/AuthZPlugin.AuthZReq answered %s %s without a boolean Allow",
                         method, uri);
                return 1;
        }
        msg = json_object_get_string(o, "Msg");
        err = json_object_get_string(o, "Err");
        /* dockerd fails a request whose verdict has an Err, whatever Allow says. */
        *ret_allow = json_is_true(allow) && isempty(err);
        shown = text_sanitize_line(!isempty(err) ? err : !isempty(msg) ? msg : "no reason given", SHOWN_MAX);
        if (!shown)
                return -ENOMEM;
        snprintf(said, size, "%s", shown);
        return 0;
}

/* The three calls on S's socket into P. */
static int probe(const struct node_settings *s, uint64_t deadline, struct probe *p) {
        _cleanup_(http_client_freep) struct http_client *c = NULL;
        _cleanup_(pki_pair_done) struct pki_pair id = {};
        _cleanup_free_ char *cert_b64 = NULL;
        char said[SHOWN_MAX + 8];
        bool allow = false;
        int r;

        r = pki_make_ca(PKI_CN_PROBE, &id);
        if (r < 0)
                return r == -ENOMEM ? r : -EIO;
        cert_b64 = base64_encode(id.cert_pem, strlen(id.cert_pem));
        if (!cert_b64 || http_client_new(&c) < 0)
                return -ENOMEM;
        r = http_client_set_unix_socket(c, s->authz_socket);
        if (r < 0)
                return r;
        http_client_set_max_body(c, HEALTH_AUTHZ_REPLY_MAX);
        r = activate(c, s, deadline, p);
        if (r == 0)
                r = ask(c, s, deadline, cert_b64, "POST", PROBE_API "/containers/create", PROBE_CREATE, p, &allow,
                        p->refusal, sizeof(p->refusal));
        if (r == 0 && allow) {
                p->outcome = PROBE_ALLOWS_PRIVILEGED;
                return 0;
        }
        if (r == 0)
                r = ask(c, s, deadline, cert_b64, "GET", PROBE_API "/version", NULL, p, &allow, said, sizeof(said));
        if (r == 0 && !allow) {
                p->outcome = PROBE_REFUSES_HARMLESS;
                snprintf(p->why, sizeof(p->why), "%s", said);
        } else if (r == 0)
                p->outcome = PROBE_OK;
        return r < 0 ? r : 0;
}

/* The result of P, with what the daemon's GET /info said (DAEMON, or NULL). */
static int add_result(const struct node_settings *s, const struct health_figures *daemon, const struct probe *p,
                      struct check_list *l) {
        const char *sock = s->authz_socket;
        struct check_result *res;
        char lat[16];

        health_format_latency(p->elapsed_usec, lat, sizeof(lat));
        if (p->outcome == PROBE_DEADLINE)
                return health_add_deadline_passed(l, NAME, s->deadline_usec);
        if (daemon && daemon->plugins_known && !daemon->authz_listed)
                res = health_add(l, NAME, CHECK_FAIL, MID_AUTHZ_NOT_USED, REMEDY_NOT_USED,
                                 "the daemon does not use the authorization plugin (GET /info lists no "
                                 HEALTH_AUTHZ_PLUGIN "): its daemon.json lost authorization-plugins; every job "
                                 "is root on the node%s%s", p->outcome == PROBE_OK ? "" : "; the plugin: ",
                                 p->outcome == PROBE_OK ? "" : p->why);
        else if (p->outcome == PROBE_NO_ANSWER)
                res = health_add(l, NAME, CHECK_FAIL, MID_AUTHZ_UNREACHABLE, REMEDY_SOCKET,
                                 "the authorization plugin's socket %s does not answer (%s): the daemon answers "
                                 "no request meanwhile (" SOCKET_UNIT ")", sock, p->why);
        else if (p->outcome == PROBE_WRONG_ANSWER || p->outcome == PROBE_NOT_AUTHZ)
                res = health_add(l, NAME, CHECK_FAIL, MID_AUTHZ_BROKEN, REMEDY_BROKEN,
                                 "the authorization plugin at %s does not speak the plugin protocol (%s): the "
                                 "daemon fails every request it cannot get a verdict for", sock, p->why);
        else if (p->outcome == PROBE_ALLOWS_PRIVILEGED)
                res = health_add(l, NAME, CHECK_FAIL, MID_AUTHZ_BROKEN, REMEDY_BROKEN,
                                 "the authorization plugin at %s ALLOWED a tenant's privileged container create: "
                                 "default deny is broken, every job can be root on the node", sock);
        else if (p->outcome == PROBE_REFUSES_HARMLESS)
                res = health_add(l, NAME, CHECK_FAIL, MID_AUTHZ_BROKEN, REMEDY_BROKEN,
                                 "the authorization plugin at %s refused a tenant's GET /version (%s): jobs are "
                                 "refused what they may do", sock, p->why);
        else
                res = health_add(l, NAME, CHECK_OK, MID_AUTHZ_OK, NULL,
                                 "the authorization plugin at %s refused a privileged container create (%s) and "
                                 "allowed GET /version, in %s%s", sock, p->refusal, lat,
                                 daemon && daemon->plugins_known ? "; the daemon uses it" : "");
        if (!res || check_result_set_value(res, "%s", p->outcome == PROBE_OK ? lat : "failed") < 0)
                return -ENOMEM;
        return 0;
}

int health_check_authz(const struct node_settings *s, uint64_t deadline, const struct health_figures *daemon,
                       struct check_list *l) {
        struct probe p = { .outcome = PROBE_NO_ANSWER };
        int r;

        if (!s->authz_socket && !s->authz_left_out)
                return 0;
        if (!s->authz_socket)
                return health_add(l, NAME, CHECK_WARN, MID_AUTHZ_LEFT_OUT, REMEDY_LEFT_OUT,
                                  "no authorization plugin: install --plaintext left it out; every job is root "
                                  "on the node and no certificate can be revoked") ? 0 : -ENOMEM;
        if (health_time_left(deadline) == 0)
                return health_add_deadline_passed(l, NAME, s->deadline_usec);
        r = probe(s, deadline, &p);
        if (r < 0)
                return r == -ENOMEM ? r : health_add(l, NAME, CHECK_UNKNOWN, MID_CHECK_ERROR, NULL,
                                                     "cannot probe the authorization plugin: %s", strerror(-r))
                                                     ? 0 : -ENOMEM;
        return add_result(s, daemon, &p, l);
}
