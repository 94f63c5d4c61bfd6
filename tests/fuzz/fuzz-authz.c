/* SPDX-License-Identifier: MIT */
/* The plugin's reading of what dockerd sends: the AuthZReq envelope, the base64 body in
 * it, a container-create body and a reply the plugin learns from. The first byte picks:
 *   0  the input is the whole AuthZReq JSON
 *   1  the input is a container-create body, sent by tenant "alpha" (with a real
 *      certificate) as POST /v1.51/containers/create
 *   2  the input is the RequestBody string (base64 or not) of an exec create
 *   3  the input is the reply to alpha's GET /containers/json?all=1 (AuthZRes), then
 *      alpha and beta ask for a container by each name it holds
 *   4  the input is any JSON text, walked by json-scan and parsed by jansson: what
 *      json-scan finds is what jansson reads there
 *   5  the input is the reply to alpha's inspect of its container (AuthZRes), then
 *      beta asks to mount each volume the reply names
 *   6  the input is an ownership file, read into a table of at most 4 records a kind
 *   7  the input is a network-create body, sent by alpha
 * Properties: a verdict always (JSON with a boolean Allow and Err ""); a refusal names
 * a rule the plugin has ("rule NAME: "), and its message is one clean line of valid
 * UTF-8 within the cap, as are the journal event's fields; a create body in which Go
 * would find HostConfig.Privileged true or a Binds entry with a host path is never
 * allowed; an anonymous volume (64 hex digits) is never beta's for the asking; an
 * ownership file reads back as it is written, within the cap; a network create with
 * chosen subnets (IPAM Config, as Go reads it) is never allowed. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "fuzz.h"
#include "../unit/authz/authz-test.h"
#include "authz/go-json.h"
#include "authz/json-scan.h"
#include "authz/plugin.h"
#include "authz/policy.h"
#include "authz/verdict.h"
#include "base/base64.h"
#include "pki/pki.h"

#define A1 "a1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B1 "b1bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* The rules checks name besides the table's. */
static const char *const check_rules[] = {
        "uri", "form-body", "default-deny", "hidden-body", "body-required", "malformed-body", "malformed-request",
        "identity", "unknown-identity", "revoked", "revoked-list", "not-a-tenant", "tenant-list", "not-your-container", "not-your-exec",
        "not-your-volume", "not-your-network", "privileged", "cap-add", "devices", "bind-mount", "mount-type",
        "volume-options", "host-namespace", "other-container", "network-options", "network-name", "security-opt",
        "runtime", "cgroup-parent", "masked-paths", "sysctls", "log-driver", "annotations", "oom-score-adj",
        "oom-kill-disable",
        "build-network",
};

static char *alpha_b64, *beta_b64;

static char *cert_b64(const struct pki_pair *ca, const char *cn) {
        struct pki_pair p = {};
        char *b;

        if (pki_make_leaf(ca, PKI_USAGE_CLIENT, cn, NULL, &p) < 0)
                abort();
        b = base64_encode(p.cert_pem, strlen(p.cert_pem));
        pki_pair_done(&p);
        if (!b)
                abort();
        return b;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        struct pki_pair ca = {};

        if (pki_make_ca("fuzz CA", &ca) < 0)
                abort();
        alpha_b64 = cert_b64(&ca, "alpha");
        beta_b64 = cert_b64(&ca, "beta");
        pki_pair_done(&ca);
        return 0;
}

static bool known_rule(const char *rule, size_t len) {
        for (size_t i = 0; i < policy_table_size; i++)
                if (strlen(policy_table[i].rule) == len && memcmp(policy_table[i].rule, rule, len) == 0)
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(check_rules); i++)
                if (strlen(check_rules[i]) == len && memcmp(check_rules[i], rule, len) == 0)
                        return true;
        return false;
}

static bool clean_line(const char *s, size_t max) {
        return s && strlen(s) <= max && fuzz_utf8_valid(s, strlen(s)) && fuzz_no_control(s, NULL);
}

/* The reply and event of one call: returns Allow. */
static bool check_reply(const char *reply, int status, const struct authz_event *e) {
        json_t *o = json_loads(reply, 0, NULL);
        const char *msg;
        bool allow;

        FUZZ_ASSERT(status == 200 && json_is_object(o));
        FUZZ_ASSERT(json_is_boolean(json_object_get(o, "Allow")));
        FUZZ_ASSERT(streq(json_string_value(json_object_get(o, "Err")), ""));
        allow = json_is_true(json_object_get(o, "Allow"));
        msg = json_string_value(json_object_get(o, "Msg"));
        FUZZ_ASSERT(msg && clean_line(msg, VERDICT_MESSAGE_MAX));
        if (!allow) {
                const char *colon = strstr(msg, ": ");
                FUZZ_ASSERT(strncmp(msg, "rule ", 5) == 0 && colon && known_rule(msg + 5, (size_t) (colon - msg - 5)));
                FUZZ_ASSERT(e->message && streq(e->message, msg));
                FUZZ_ASSERT(clean_line(e->tenant, 255) && clean_line(e->rule, 64) && clean_line(e->method, 4 * 32 + 3));
                FUZZ_ASSERT(clean_line(e->path, 4 * 256 + 3) && (!e->serial || clean_line(e->serial, 48)));
        } else
                FUZZ_ASSERT(*msg == '\0' && !e->message);
        json_decref(o);
        return allow;
}

static bool call(struct authz_plugin *p, const char *endpoint, const char *envelope) {
        struct authz_event e = {};
        char *reply = NULL;
        int status = 0;
        bool allow;

        FUZZ_ASSERT(authz_plugin_handle(p, endpoint, envelope, strlen(envelope), &status, &reply, &e) == 0);
        allow = check_reply(reply, status, &e);
        FUZZ_ASSERT(!streq(endpoint, "/AuthZPlugin.AuthZRes") || allow);
        authz_event_done(&e);
        free(reply);
        return allow;
}

/* An envelope from USER (certificate CERT, base64) with a JSON BODY, a RequestBody
 * string RAW as it is, or a reply RESPONSE. */
static char *envelope(const char *user, const char *cert, const char *method, const char *uri, const char *body,
                      bool raw, const char *response) {
        return test_envelope(&(struct test_call) { .user = user, .cert_b64 = cert, .method = method, .uri = uri,
                                                   .body = raw ? NULL : body, .body_b64 = raw ? body : NULL,
                                                   .content_type = raw ? "application/json" : NULL,
                                                   .status = response ? 200 : 0, .response = response });
}

/* Go would run this create privileged or with a path of the node: a model of
 * encoding/json's matching, on its own (any key that folds to the field counts). */
static bool dangerous_as_go_reads_it(const char *body) {
        json_t *o = json_loads(body, JSON_DECODE_ANY, NULL), *v;
        const char *k1, *k2;
        json_t *hc;
        bool bad = false;

        json_object_foreach (o, k1, hc) {
                if (!gojson_key_matches(k1, "HostConfig"))
                        continue;
                json_object_foreach (hc, k2, v) {
                        if (gojson_key_matches(k2, "Privileged") && json_is_true(v))
                                bad = true;
                        if (gojson_key_matches(k2, "Binds") && json_is_array(v)) {
                                size_t i;
                                json_t *e;
                                json_array_foreach (v, i, e) {
                                        const char *s = json_string_value(e);
                                        bad = bad || (s && s[0] == '/' && strchr(s, ':'));
                                }
                        }
                }
        }
        json_decref(o);
        return bad;
}

/* alpha's GET of URI got REPLY: the plugin learns what it will from it. */
static void alpha_got(struct authz_plugin *p, const char *uri, const char *reply) {
        char *env = envelope("alpha", alpha_b64, "GET", uri, NULL, false, reply);

        (void) call(p, "/AuthZPlugin.AuthZRes", env);
        free(env);
}

static void learn_from_a_list(struct authz_plugin *p, const char *reply) {
        json_t *list = json_loads(reply, JSON_DECODE_ANY, NULL), *e;
        char *env;
        size_t i;

        alpha_got(p, "/v1.51/containers/json?all=1", reply);
        json_array_foreach (list, i, e) {
                json_t *names = json_object_get(e, "Names");
                const char *name = json_string_value(json_array_get(names, 0));
                char *uri;

                if (!name || strlen(name) > 300)
                        continue;
                uri = strdup_printf("/v1.51/containers/%s/json", name[0] == '/' ? name + 1 : name);
                env = envelope("beta", beta_b64, "GET", uri, NULL, false, NULL);
                /* A list teaches names only: never another tenant's container. */
                FUZZ_ASSERT(!call(p, "/AuthZPlugin.AuthZReq", env) || !streq(name, "a1"));
                free(env);
                free(uri);
        }
        json_decref(list);
}

static bool anonymous_name(const char *s) {
        return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* alpha inspects its container a1; REPLY is what the daemon said. beta then asks for
 * each volume the reply names: never one named like an anonymous volume. */
static void learn_from_an_inspect(struct authz_plugin *p, const char *reply) {
        json_t *o = json_loads(reply, JSON_DECODE_ANY, NULL), *m;
        char *env;
        size_t i;

        alpha_got(p, "/v1.51/containers/a1/json", reply);
        json_array_foreach (json_object_get(o, "Mounts"), i, m) {
                const char *name = json_string_value(json_object_get(m, "Name"));
                json_t *body;
                char *text;

                if (!name || strlen(name) > 300)
                        continue;
                body = json_pack("{s:s,s:{s:[s+]}}", "Image", "bb", "HostConfig", "Binds", name, ":/steal");
                text = body ? json_dumps(body, JSON_COMPACT) : NULL;
                if (!text)
                        abort();
                env = envelope("beta", beta_b64, "POST", "/v1.51/containers/create", text, false, NULL);
                FUZZ_ASSERT(!call(p, "/AuthZPlugin.AuthZReq", env) || !anonymous_name(name));
                free(env);
                free(text);
                json_decref(body);
        }
        json_decref(o);
}

/* TEXT as an ownership file: at most MAX records a kind, and what is kept is written
 * and read back the same. */
static void read_an_ownership_file(const char *text) {
        struct owners *o, *back;
        char *out = NULL, *again = NULL;

        FUZZ_ASSERT(owners_new(NULL, &o) == 0 && owners_new(NULL, &back) == 0);
        o->max = back->max = 4;
        FUZZ_ASSERT(owners_parse(o, text, strlen(text)) == 0);
        for (int k = 0; k < _OWNER_KIND_MAX; k++)
                FUZZ_ASSERT(o->n[k] <= 4);
        FUZZ_ASSERT(o->torn == (*text && text[strlen(text) - 1] != '\n'));
        FUZZ_ASSERT(owners_text(o, &out) == 0 && owners_parse(back, out, strlen(out)) == 0);
        FUZZ_ASSERT(back->n_bad == 0 && owners_text(back, &again) == 0 && streq(out, again));
        free(out);
        free(again);
        owners_free(back);
        owners_free(o);
}

/* Go would give this network chosen subnets: any key folding to IPAM, in it any
 * folding to Config, holding a non-empty array. */
static bool subnets_as_go_reads_them(const char *body) {
        json_t *o = json_loads(body, JSON_DECODE_ANY, NULL), *ipam, *v;
        const char *k1, *k2;
        bool chosen = false;

        json_object_foreach (o, k1, ipam)
                if (gojson_key_matches(k1, "IPAM"))
                        json_object_foreach (ipam, k2, v)
                                if (gojson_key_matches(k2, "Config") && json_array_size(v) > 0)
                                        chosen = true;
        json_decref(o);
        return chosen;
}

static bool same_value(const struct jspan *v, const json_t *want) {
        json_t *got = json_loadb(v->s, v->n, JSON_DECODE_ANY, NULL);
        bool same = got && json_equal(got, want);

        json_decref(got);
        return same;
}

/* json-scan against jansson on TEXT (SIZE bytes, not NUL-terminated for json-scan). */
static void scan_as_jansson_reads(const char *text, size_t size) {
        json_t *o = json_loadb(text, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL), *v;
        struct jspan span;
        const char *key;
        size_t pos = 0, n = 0;
        int r;

        if (json_is_object(o))
                json_object_foreach (o, key, v) {
                        r = jscan_member(text, size, key, &span);
                        /* Not found only when the text spells the key with an escape. */
                        FUZZ_ASSERT(r == 0 || (r == 1 && same_value(&span, v)));
                }
        if (json_is_array(o)) {
                while ((r = jscan_array_next(text, size, &pos, &span)) > 0) {
                        FUZZ_ASSERT(n < json_array_size(o) && same_value(&span, json_array_get(o, n)));
                        n++;
                }
                FUZZ_ASSERT(r == 0 && n == json_array_size(o));
        }
        /* Whatever the text, nothing crashes (ASan: nothing read past SIZE). */
        (void) jscan_member(text, size, "a", &span);
        pos = 0;
        while (jscan_array_next(text, size, &pos, &span) > 0)
                ;
        json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct authz_plugin *p;
        char *input, *env;

        if (size < 1 || size > (1u << 20))
                return 0;
        FUZZ_ASSERT(authz_plugin_new(NULL, &p) == 0);
        FUZZ_ASSERT(owners_learn(p->owners, OWNER_CONTAINER, A1, "a1", "alpha", NULL, 1) == 0);
        FUZZ_ASSERT(owners_learn(p->owners, OWNER_CONTAINER, B1, "b1", "beta", NULL, 1) == 0);
        if (data[0] % 8 == 4) {
                char *exact = malloc(size - 1 ?: 1); /* not NUL-terminated: ASan sees an over-read */

                if (!exact)
                        abort();
                memcpy(exact, data + 1, size - 1);
                scan_as_jansson_reads(exact, size - 1);
                free(exact);
                authz_plugin_free(p);
                return 0;
        }
        input = fuzz_strndup(data + 1, size - 1);
        switch (data[0] % 8) {
        case 0:
                (void) call(p, "/AuthZPlugin.AuthZReq", input);
                break;
        case 1:
                env = envelope("alpha", alpha_b64, "POST", "/v1.51/containers/create?name=x", input, false, NULL);
                FUZZ_ASSERT(!call(p, "/AuthZPlugin.AuthZReq", env) || !dangerous_as_go_reads_it(input));
                free(env);
                break;
        case 2:
                env = envelope("alpha", alpha_b64, "POST", "/v1.51/containers/a1/exec", input, true, NULL);
                (void) call(p, "/AuthZPlugin.AuthZReq", env);
                free(env);
                break;
        case 3:
                learn_from_a_list(p, input);
                break;
        case 5:
                learn_from_an_inspect(p, input);
                break;
        case 6:
                read_an_ownership_file(input);
                break;
        default:
                env = envelope("alpha", alpha_b64, "POST", "/v1.51/networks/create", input, false, NULL);
                FUZZ_ASSERT(!call(p, "/AuthZPlugin.AuthZReq", env) || !subnets_as_go_reads_them(input));
                free(env);
        }
        free(input);
        authz_plugin_free(p);
        return 0;
}
