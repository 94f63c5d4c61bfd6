/* SPDX-License-Identifier: MIT */
/* The plugin's calls as dockerd makes them, with real certificates: verdicts, what the
 * replies teach about ownership, a restart on the same state, revocation, counters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "authz-test.h"
#include "authz/plugin.h"

#define C1 "c1cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define C2 "c2cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define E1 "e1eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define N1 "d1dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define V1 "f1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define V2 "f2ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static char *alpha_cert, *beta_cert, *pruner_cert, *probe_cert;

static int setup(void **state) {
        struct pki_pair probe = {};

        alpha_cert = test_cert("alpha");
        beta_cert = test_cert("beta");
        pruner_cert = test_cert("dind-cache:pruner");
        /* The checker's probe: self-signed, as check/health-authz.c makes it. */
        if (pki_make_ca("dind-cache:probe", &probe) < 0)
                return -1;
        probe_cert = TAKE_PTR(probe.cert_pem);
        pki_pair_done(&probe);
        return 0;
}

static int teardown(void **state) {
        free(alpha_cert);
        free(beta_cert);
        free(pruner_cert);
        free(probe_cert);
        return 0;
}

static const char *cert_of(const char *user) {
        return streq(user, "alpha") ? alpha_cert : streq(user, "beta") ? beta_cert :
               streq(user, "dind-cache:pruner") ? pruner_cert : streq(user, "dind-cache:probe") ? probe_cert : NULL;
}

/* One AuthZReq: allowed or not; *RET_RULE the refusal's rule (or NULL). */
static bool ask(struct authz_plugin *p, const char *user, const char *method, const char *uri, const char *body,
                char **ret_rule) {
        _cleanup_free_ char *env = test_envelope(&(struct test_call) { .user = user, .cert_pem = user ? cert_of(user) : NULL,
                                                                      .method = method, .uri = uri, .body = body });
        _cleanup_free_ char *reply = NULL;
        struct authz_event e = {};
        json_t *o;
        int status;
        bool allow;

        assert_int_equal(authz_plugin_handle(p, "/AuthZPlugin.AuthZReq", env, strlen(env), &status, &reply, &e), 0);
        assert_int_equal(status, 200);
        o = json_loads(reply, 0, NULL);
        assert_non_null(o);
        allow = json_is_true(json_object_get(o, "Allow"));
        assert_string_equal(json_string_value(json_object_get(o, "Err")), "");
        if (!allow && user && streq(user, "dind-cache:probe")) {
                /* The checker's probe leaves no event: the rule is in the reply. */
                const char *msg = json_string_value(json_object_get(o, "Msg"));

                assert_null(e.message);
                assert_true(strncmp(msg, "rule ", 5) == 0);
                if (ret_rule)
                        *ret_rule = strndup(msg + 5, strcspn(msg + 5, ":"));
        } else if (!allow) {
                assert_non_null(e.message);
                assert_string_equal(json_string_value(json_object_get(o, "Msg")), e.message);
                assert_true(strncmp(e.message, "rule ", 5) == 0);
                if (ret_rule)
                        *ret_rule = e.rule ? strdup(e.rule) : NULL;
        } else {
                assert_null(e.message);
                if (ret_rule)
                        *ret_rule = NULL;
        }
        json_decref(o);
        authz_event_done(&e);
        return allow;
}

/* AuthZReq then AuthZRes with STATUS and RESPONSE: the request was allowed. */
static void call(struct authz_plugin *p, const char *user, const char *method, const char *uri, const char *body,
                 int status, const char *response) {
        _cleanup_free_ char *env = NULL, *reply = NULL;
        struct authz_event e = {};
        int st;

        assert_true(ask(p, user, method, uri, body, NULL));
        env = test_envelope(&(struct test_call) { .user = user, .cert_pem = cert_of(user), .method = method,
                                                  .uri = uri, .body = body, .status = status, .response = response });
        assert_int_equal(authz_plugin_handle(p, "/AuthZPlugin.AuthZRes", env, strlen(env), &st, &reply, &e), 0);
        assert_string_equal(reply, "{\"Allow\":true,\"Msg\":\"\",\"Err\":\"\"}");
        assert_null(e.message);
}

static void activation_says_authz(void **state) {
        struct authz_plugin *p;
        char *reply = NULL;
        struct authz_event e;
        int status;

        assert_int_equal(authz_plugin_new(NULL, &p), 0);
        assert_int_equal(authz_plugin_handle(p, "/Plugin.Activate", "", 0, &status, &reply, &e), 0);
        assert_int_equal(status, 200);
        assert_string_equal(reply, "{\"Implements\":[\"authz\"]}");
        free(reply);
        assert_int_equal(authz_plugin_handle(p, "/VolumeDriver.Create", "{}", 2, &status, &reply, &e), 0);
        assert_int_equal(status, 404);
        free(reply);
        authz_plugin_free(p);
}

static void what_dockerd_cannot_have_sent_is_refused(void **state) {
        struct authz_plugin *p;
        char *reply = NULL;
        struct authz_event e = {};
        int status;

        assert_int_equal(authz_plugin_new(NULL, &p), 0);
        assert_int_equal(authz_plugin_handle(p, "/AuthZPlugin.AuthZReq", "", 0, &status, &reply, &e), 0);
        assert_string_equal(e.rule, "malformed-request");
        assert_non_null(strstr(reply, "\"Allow\":false"));
        free(reply);
        authz_event_done(&e);
        /* A response the plugin cannot read changes nothing and hides nothing. */
        assert_int_equal(authz_plugin_handle(p, "/AuthZPlugin.AuthZRes", "{", 1, &status, &reply, &e), 0);
        assert_non_null(strstr(reply, "\"Allow\":true"));
        free(reply);
        authz_plugin_free(p);
}

static char *make_dir(void) {
        char dir[] = "/tmp/test-plugin-XXXXXX";
        assert_non_null(mkdtemp(dir));
        return strdup(dir);
}

static void remove_dir(const char *dir) {
        _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

static void ownership_is_learned_from_replies_and_kept(void **state) {
        _cleanup_free_ char *dir = make_dir(), *rule = NULL;
        struct authz_plugin *p;

        assert_int_equal(authz_plugin_new(dir, &p), 0);
        call(p, "alpha", "POST", "/v1.51/containers/create?name=web",
             "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":[\"cache:/c\"]}}", 201, "{\"Id\":\"" C1 "\",\"Warnings\":[]}");
        call(p, "alpha", "POST", "/v1.51/containers/web/exec", "{\"Cmd\":[\"sh\"]}", 201, "{\"Id\":\"" E1 "\"}");
        call(p, "alpha", "POST", "/v1.51/networks/create", "{\"Name\":\"proj\"}", 201, "{\"Id\":\"" N1 "\"}");
        /* A failed create teaches nothing. */
        call(p, "alpha", "POST", "/v1.51/containers/create?name=broken", "{\"Image\":\"nope\"}", 404,
             "{\"message\":\"No such image\"}");
        assert_true(ask(p, "alpha", "GET", "/v1.51/containers/web/json", NULL, NULL));
        assert_true(ask(p, "alpha", "POST", "/v1.51/exec/" E1 "/start", "{}", NULL));
        assert_true(ask(p, "alpha", "DELETE", "/v1.51/volumes/cache", NULL, NULL));
        assert_true(ask(p, "alpha", "DELETE", "/v1.51/networks/proj", NULL, NULL));
        assert_false(ask(p, "alpha", "GET", "/v1.51/containers/broken/json", NULL, NULL));
        assert_false(ask(p, "beta", "GET", "/v1.51/containers/web/json", NULL, &rule));
        assert_string_equal(rule, "not-your-container");
        free(rule);
        rule = NULL;
        assert_false(ask(p, "beta", "POST", "/v1.51/exec/" E1 "/start", "{}", &rule));
        assert_string_equal(rule, "not-your-exec");
        free(rule);
        rule = NULL;
        assert_false(ask(p, "beta", "DELETE", "/v1.51/volumes/cache", NULL, NULL));
        assert_false(ask(p, "beta", "POST", "/v1.51/networks/proj/connect", "{\"Container\":\"web\"}", NULL));
        authz_plugin_free(p);

        /* A restart reads it all back. */
        assert_int_equal(authz_plugin_new(dir, &p), 0);
        assert_true(ask(p, "alpha", "POST", "/v1.51/containers/" C1 "/stop", NULL, NULL));
        assert_false(ask(p, "beta", "POST", "/v1.51/containers/web/stop", NULL, NULL));
        /* Rename, then remove: the old name and then the container go. */
        call(p, "alpha", "POST", "/v1.51/containers/web/rename?name=web2", NULL, 204, NULL);
        assert_false(ask(p, "alpha", "GET", "/v1.51/containers/web/json", NULL, NULL));
        assert_true(ask(p, "alpha", "GET", "/v1.51/containers/web2/json", NULL, NULL));
        call(p, "alpha", "DELETE", "/v1.51/containers/web2?force=1", NULL, 204, NULL);
        assert_false(ask(p, "alpha", "GET", "/v1.51/containers/" C1 "/json", NULL, NULL));
        assert_false(ask(p, "alpha", "POST", "/v1.51/exec/" E1 "/start", "{}", NULL));
        authz_plugin_free(p);
        remove_dir(dir);
}

static void lists_and_prunes_keep_the_records_true(void **state) {
        struct authz_plugin *p;

        assert_int_equal(authz_plugin_new(NULL, &p), 0);
        call(p, "alpha", "POST", "/containers/create", "{\"Image\":\"bb\"}", 201, "{\"Id\":\"" C1 "\"}");
        call(p, "alpha", "POST", "/containers/create", "{\"Image\":\"bb\"}", 201, "{\"Id\":\"" C2 "\"}");
        /* A name the daemon made up, learned from a list. */
        call(p, "alpha", "GET", "/containers/json", NULL, 200,
             "[{\"Id\":\"" C1 "\",\"Names\":[\"/eloquent_turing\"]}]");
        assert_true(ask(p, "alpha", "GET", "/containers/eloquent_turing/json", NULL, NULL));
        /* The pruner's prune removes C2: it is forgotten. */
        call(p, "dind-cache:pruner", "POST", "/containers/prune", NULL, 200,
             "{\"ContainersDeleted\":[\"" C2 "\"],\"SpaceReclaimed\":0}");
        assert_false(ask(p, "alpha", "GET", "/containers/" C2 "/json", NULL, NULL));
        assert_true(ask(p, "alpha", "GET", "/containers/" C1 "/json", NULL, NULL));
        authz_plugin_free(p);
}

static void anonymous_volumes_go_to_their_containers_owner_only(void **state) {
        _cleanup_free_ char *rule = NULL;
        struct authz_plugin *p;

        assert_int_equal(authz_plugin_new(NULL, &p), 0);
        call(p, "alpha", "POST", "/containers/create?name=db", "{\"Image\":\"bb\",\"Volumes\":{\"/data\":{}}}", 201,
             "{\"Id\":\"" C1 "\"}");
        /* `docker volume ls` showed beta the name the daemon made up: nobody's yet, and
         * not beta's for asking first. */
        assert_false(ask(p, "beta", "POST", "/containers/create", "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":[\""
                         V1 ":/steal\"]}}", &rule));
        assert_string_equal(rule, "not-your-volume");
        free(rule);
        rule = NULL;
        assert_false(ask(p, "beta", "POST", "/volumes/create", "{\"Name\":\"" V1 "\"}", &rule));
        assert_string_equal(rule, "not-your-volume");
        /* alpha's inspect shows it mounted in alpha's container: alpha's from then on. */
        call(p, "alpha", "GET", "/containers/db/json", NULL, 200,
             "{\"Id\":\"" C1 "\",\"Name\":\"/db\",\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"" V1 "\","
             "\"Destination\":\"/data\"},{\"Type\":\"bind\",\"Name\":\"" V2 "\"}],\"Config\":{}}");
        assert_true(ask(p, "alpha", "POST", "/containers/create", "{\"Image\":\"bb\",\"HostConfig\":{\"Mounts\":[{"
                        "\"Type\":\"volume\",\"Source\":\"" V1 "\",\"Target\":\"/data\"}]}}", NULL));
        assert_false(ask(p, "beta", "GET", "/volumes/" V1, NULL, NULL));
        assert_false(ask(p, "alpha", "GET", "/volumes/" V2, NULL, NULL));   /* not a volume mount */
        /* beta's inspect of its own container teaches nothing about alpha's. */
        call(p, "beta", "POST", "/containers/create?name=b", "{\"Image\":\"bb\"}", 201, "{\"Id\":\"" C2 "\"}");
        call(p, "beta", "GET", "/containers/b/json", NULL, 200, "{\"Id\":\"" C2 "\",\"Name\":\"/b\",\"Mounts\":[{"
             "\"Type\":\"volume\",\"Name\":\"" V1 "\"}]}");
        assert_true(ask(p, "alpha", "DELETE", "/volumes/" V1, NULL, NULL));
        authz_plugin_free(p);
}

static void a_named_volume_is_the_first_askers_from_its_request_on(void **state) {
        _cleanup_free_ char *rule = NULL;
        struct authz_plugin *p;

        /* alpha's create that will make "proj_data" is allowed; before the daemon's reply
         * reaches the plugin, beta asks to mount the same name: had the daemon made the
         * volume for alpha by then, beta's container would mount alpha's volume. */
        assert_int_equal(authz_plugin_new(NULL, &p), 0);
        assert_true(ask(p, "alpha", "POST", "/containers/create", "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":["
                        "\"proj_data:/data\"]}}", NULL));
        assert_false(ask(p, "beta", "POST", "/containers/create", "{\"Image\":\"bb\",\"HostConfig\":{\"Mounts\":[{"
                         "\"Type\":\"volume\",\"Source\":\"proj_data\",\"Target\":\"/x\"}]}}", &rule));
        assert_string_equal(rule, "not-your-volume");
        free(rule);
        rule = NULL;
        assert_false(ask(p, "beta", "POST", "/volumes/create", "{\"Name\":\"proj_data\"}", &rule));
        assert_string_equal(rule, "not-your-volume");
        free(rule);
        rule = NULL;
        /* The same for a volume create. */
        assert_true(ask(p, "beta", "POST", "/volumes/create", "{\"Name\":\"b_cache\",\"Labels\":{}}", NULL));
        assert_false(ask(p, "alpha", "POST", "/containers/create", "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":["
                         "\"b_cache:/c\"]}}", &rule));
        assert_string_equal(rule, "not-your-volume");
        assert_true(ask(p, "alpha", "POST", "/containers/create", "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":["
                        "\"proj_data:/again\"]}}", NULL));
        authz_plugin_free(p);
}

static void a_revoked_certificate_is_refused_from_the_next_request(void **state) {
        _cleanup_free_ char *dir = make_dir(), *rule = NULL, *path = NULL, *serial = NULL;
        struct authz_plugin *p;
        struct pki_peer peer = {};

        assert_int_equal(authz_plugin_new(dir, &p), 0);
        assert_true(ask(p, "alpha", "GET", "/_ping", NULL, NULL));
        assert_int_equal(pki_peer_from_pem(alpha_cert, strlen(alpha_cert), &peer), 0);
        path = strdup_printf("%s/revoked", dir);
        assert_int_equal(revoked_add(path, peer.serial, "alpha", 1700000000), 1);
        pki_peer_done(&peer);
        assert_false(ask(p, "alpha", "GET", "/_ping", NULL, &rule));
        assert_string_equal(rule, "revoked");
        assert_true(ask(p, "beta", "GET", "/_ping", NULL, NULL));
        assert_true(ask(p, NULL, "GET", "/_ping", NULL, NULL)); /* no certificate: nothing to revoke */
        /* A deny list that cannot be read refuses every certificate. */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0700), 0);
        free(rule);
        rule = NULL;
        assert_false(ask(p, "beta", "GET", "/_ping", NULL, &rule));
        assert_string_equal(rule, "revoked-list");
        authz_plugin_free(p);
        remove_dir(dir);
}

static void a_namespace_off_the_tenant_list_is_refused(void **state) {
        _cleanup_free_ char *dir = make_dir(), *rule = NULL, *path = NULL;
        struct authz_plugin *p;

        assert_int_equal(authz_plugin_new(dir, &p), 0);
        /* No list yet (the plugin run by hand): every namespace passes. */
        assert_true(ask(p, "beta", "GET", "/_ping", NULL, NULL));
        path = strdup_printf("%s/%s", dir, TENANTS_FILE);
        assert_int_equal(tenants_write(path, (char *const[]) { "alpha", NULL }), 1);
        assert_true(ask(p, "alpha", "GET", "/_ping", NULL, NULL));
        assert_false(ask(p, "beta", "GET", "/_ping", NULL, &rule));
        assert_string_equal(rule, "not-a-tenant");
        /* Node identities are no tenants, and need no line; nor does the checker's probe. */
        assert_true(ask(p, "dind-cache:pruner", "GET", "/_ping", NULL, NULL));
        assert_true(ask(p, "dind-cache:probe", "GET", "/_ping", NULL, NULL));
        /* A list that cannot be read refuses every tenant. */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0700), 0);
        free(rule);
        rule = NULL;
        assert_false(ask(p, "alpha", "GET", "/_ping", NULL, &rule));
        assert_string_equal(rule, "tenant-list");
        /* The probe sees it too: the checker reports what every tenant meets. */
        free(rule);
        rule = NULL;
        assert_false(ask(p, "dind-cache:probe", "GET", "/_ping", NULL, &rule));
        assert_string_equal(rule, "tenant-list");
        authz_plugin_free(p);
        remove_dir(dir);
}

static void counters_reach_the_metrics_file(void **state) {
        _cleanup_free_ char *dir = make_dir(), *metrics = NULL, *text = NULL;
        struct authz_plugin *p;
        size_t size;

        metrics = strdup_printf("%s/metrics", dir);
        assert_int_equal(mkdir(metrics, 0755), 0);
        assert_int_equal(authz_plugin_new(dir, &p), 0);
        assert_true(ask(p, "alpha", "POST", "/grpc", NULL, NULL));
        assert_true(ask(p, "alpha", "POST", "/session", NULL, NULL));
        assert_false(ask(p, "alpha", "POST", "/images/prune", NULL, NULL));
        assert_true(ask(p, NULL, "GET", "/_ping", NULL, NULL));
        assert_int_equal(authz_plugin_flush(p, metrics), 0);
        authz_plugin_free(p);
        /* A restart keeps counting from there. */
        assert_int_equal(authz_plugin_new(dir, &p), 0);
        assert_true(ask(p, "alpha", "POST", "/grpc", NULL, NULL));
        assert_int_equal(authz_plugin_flush(p, metrics), 0);
        authz_plugin_free(p);
        free(metrics);
        metrics = strdup_printf("%s/metrics/dind_cache_authz.prom", dir);
        assert_int_equal(read_file_full(metrics, 1 << 20, &text, &size), 0);
        assert_non_null(strstr(text, "dind_cache_authz_requests_total{tenant=\"alpha\",verdict=\"allow\"} 3\n"));
        assert_non_null(strstr(text, "dind_cache_authz_requests_total{tenant=\"alpha\",verdict=\"deny\"} 1\n"));
        assert_non_null(strstr(text, "dind_cache_authz_requests_total{tenant=\"anonymous\",verdict=\"allow\"} 1\n"));
        assert_non_null(strstr(text, "dind_cache_tenant_builds_total{tenant=\"alpha\"} 3\n"));
        remove_dir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(activation_says_authz),
                cmocka_unit_test(what_dockerd_cannot_have_sent_is_refused),
                cmocka_unit_test(ownership_is_learned_from_replies_and_kept),
                cmocka_unit_test(anonymous_volumes_go_to_their_containers_owner_only),
                cmocka_unit_test(a_named_volume_is_the_first_askers_from_its_request_on),
                cmocka_unit_test(lists_and_prunes_keep_the_records_true),
                cmocka_unit_test(a_revoked_certificate_is_refused_from_the_next_request),
                cmocka_unit_test(a_namespace_off_the_tenant_list_is_refused),
                cmocka_unit_test(counters_reach_the_metrics_file),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
