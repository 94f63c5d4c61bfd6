/* SPDX-License-Identifier: MIT */
/* What dockerd sends, read as the daemon itself reads the request: the envelope, the
 * request target (the path Go decodes and mux serves, the query as ParseQuery splits
 * it), and JSON keys as Go matches them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "authz-test.h"
#include "authz/go-json.h"
#include "authz/request-uri.h"

static void the_path_is_decoded_and_the_version_kept_apart(void **state) {
        struct request_uri u = {};

        assert_int_equal(request_uri_parse("/v1.51/containers/%63reate?name=a%2Bb+c&x", &u), 0);
        assert_string_equal(u.path, "/containers/create");
        assert_string_equal(u.version, "1.51");
        assert_int_equal(u.n_query, 2);
        assert_string_equal(request_uri_query(&u, "name"), "a+b c");
        assert_string_equal(request_uri_query(&u, "x"), "");
        request_uri_done(&u);

        assert_int_equal(request_uri_parse("/_ping", &u), 0);
        assert_string_equal(u.path, "/_ping");
        assert_null(u.version);
        request_uri_done(&u);

        /* "/v1.51" alone and "/vx/" are no prefix: the router would not strip them. */
        assert_int_equal(request_uri_parse("/v1.51", &u), 0);
        assert_string_equal(u.path, "/v1.51");
        request_uri_done(&u);
        assert_int_equal(request_uri_parse("/v/_ping", &u), 0);
        assert_string_equal(u.path, "/v/_ping");
        request_uri_done(&u);

        /* %2F is a slash to the router too. */
        assert_int_equal(request_uri_parse("/containers/a%2Fb/json", &u), 0);
        assert_string_equal(u.path, "/containers/a/b/json");
        request_uri_done(&u);
}

static void what_the_daemon_would_not_serve_is_refused(void **state) {
        static const char *const bad[] = {
                "http://docker/_ping", "*", "", "containers/json", "/containers//json", "/a/./b", "/a/../b",
                "/a/%2e%2e/b", "/a/..", "/a%00b", "/a%zz", "/a%4", "/a\tb", "/a?x=%", "/a?x=1;y=2", "/a?%00=1",
        };
        struct request_uri u = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (request_uri_parse(bad[i], &u) == 0)
                        fail_msg("'%s' parsed", bad[i]);
        }
        /* A trailing slash is clean (GET /networks/ is a route). */
        assert_int_equal(request_uri_parse("/networks/", &u), 0);
        assert_string_equal(u.path, "/networks/");
        request_uri_done(&u);
}

static void every_value_of_a_key_is_kept(void **state) {
        struct request_uri u = {};

        assert_int_equal(request_uri_parse("/build?networkmode=default&t=a&networkmode=host&t=b&&", &u), 0);
        assert_int_equal(request_uri_query_count(&u, "networkmode"), 2);
        assert_string_equal(request_uri_query_nth(&u, "networkmode", 0), "default");
        assert_string_equal(request_uri_query_nth(&u, "networkmode", 1), "host");
        assert_null(request_uri_query_nth(&u, "networkmode", 2));
        request_uri_done(&u);
}

static void bool_values_read_as_the_daemon_reads_them(void **state) {
        assert_false(request_uri_bool_value(NULL));
        assert_false(request_uri_bool_value(""));
        assert_false(request_uri_bool_value(" 0 "));
        assert_false(request_uri_bool_value("No"));
        assert_false(request_uri_bool_value("FALSE"));
        assert_false(request_uri_bool_value("none"));
        assert_true(request_uri_bool_value("1"));
        assert_true(request_uri_bool_value("true"));
        assert_true(request_uri_bool_value("yes please"));
}

static void the_envelope_gives_every_field(void **state) {
        _cleanup_free_ char *cert = test_cert("alpha");
        struct authz_request r = {};

        test_request(&(struct test_call) { .user = "alpha", .cert_pem = cert, .method = "POST",
                                           .uri = "/v1.51/containers/create?name=web", .body = "{\"Image\":\"bb\"}",
                                           .content_type = "Application/JSON; charset=utf-8", .status = 201,
                                           .response = "{\"Id\":\"x\"}" },
                     AUTHZ_RESPONSE, &r);
        assert_string_equal(r.user, "alpha");
        assert_string_equal(r.authn_method, "TLS");
        assert_string_equal(r.method, "POST");
        assert_int_equal(r.uri_error, 0);
        assert_string_equal(r.u.path, "/containers/create");
        assert_string_equal(r.content_type, "application/json");
        assert_true(r.has_content_length);
        assert_int_equal(r.content_length, strlen("{\"Image\":\"bb\"}"));
        assert_string_equal(r.body, "{\"Image\":\"bb\"}");
        assert_string_equal(r.peer_pem, cert);
        assert_int_equal(r.n_peer_certs, 1);
        assert_int_equal(r.status, 201);
        assert_string_equal(r.response_body, "{\"Id\":\"x\"}");
        assert_true(authz_request_succeeded(&r));
        assert_false(authz_request_body_hidden(&r));
        authz_request_done(&r);
}

static void a_body_the_plugin_did_not_get_is_hidden(void **state) {
        struct authz_request r = {};

        test_request(&(struct test_call) { .method = "POST", .uri = "/build", .content_type = "application/x-tar",
                                           .length = LENGTH_NONE },
                     AUTHZ_REQUEST, &r);
        assert_true(authz_request_body_hidden(&r));
        authz_request_done(&r);
        test_request(&(struct test_call) { .method = "POST", .uri = "/build", .content_type = "application/x-tar" },
                     AUTHZ_REQUEST, &r);
        assert_false(authz_request_body_hidden(&r)); /* "Content-Length: 0" */
        authz_request_done(&r);
        test_request(&(struct test_call) { .method = "GET", .uri = "/info", .length = LENGTH_NONE }, AUTHZ_REQUEST, &r);
        assert_false(authz_request_body_hidden(&r)); /* Go reads no form from a GET body */
        authz_request_done(&r);
}

static void envelopes_dockerd_never_sends_are_refused(void **state) {
        static const char *const bad[] = {
                "", "[]", "{}", "{\"RequestMethod\":\"GET\"}", "{\"RequestMethod\":1,\"RequestUri\":\"/\"}",
                "{\"RequestMethod\":\"GET\",\"RequestUri\":\"/\",\"RequestBody\":\"***\"}",
                "{\"RequestMethod\":\"GET\",\"RequestUri\":\"/\",\"RequestBody\":\"QQ\"}",
                "{\"RequestMethod\":\"GET\",\"RequestUri\":\"/\",\"RequestPeerCertificates\":\"x\"}",
                "{\"RequestMethod\":\"GET\",\"RequestUri\":\"/\",\"RequestHeaders\":[]}",
                "{\"RequestMethod\":\"GET\",\"RequestMethod\":\"POST\",\"RequestUri\":\"/\"}",
                "{\"RequestMethod\":\"G\\u0000ET\",\"RequestUri\":\"/\"}",
        };
        struct authz_request r = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (authz_request_parse(bad[i], strlen(bad[i]), AUTHZ_REQUEST, &r) != -EBADMSG)
                        fail_msg("'%s' was read", bad[i]);
}

static void a_bad_uri_is_kept_for_the_refusal(void **state) {
        struct authz_request r = {};

        test_request(&(struct test_call) { .method = "GET", .uri = "//x" }, AUTHZ_REQUEST, &r);
        assert_int_equal(r.uri_error, -EBADMSG);
        assert_string_equal(r.uri, "//x");
        authz_request_done(&r);
}

static void keys_match_fields_as_go_folds_them(void **state) {
        json_t *o = json_loads("{\"hostCONFIG\":1,\"Bind\xc5\xbf\":2,\"\xe2\x84\xaa" "ey\":3}", 0, NULL);

        assert_true(gojson_key_matches("privileged", "Privileged"));
        assert_true(gojson_key_matches("\xe2\x84\xaa" "ernelMemory", "KernelMemory"));
        assert_false(gojson_key_matches("Privilege", "Privileged"));
        assert_false(gojson_key_matches("Privileged ", "Privileged"));
        assert_int_equal(json_integer_value(gojson_field(o, "HostConfig")), 1);
        assert_int_equal(json_integer_value(gojson_field(o, "Binds")), 2);
        assert_int_equal(json_integer_value(gojson_field(o, "key")), 3);
        assert_null(gojson_field(o, "Mounts"));
        assert_int_equal(gojson_check_keys(o), 0);
        json_decref(o);
        o = json_loads("{\"a\":{\"Binds\":[],\"binds\":[\"/:/h\"]}}", 0, NULL);
        assert_int_equal(gojson_check_keys(o), -EBADMSG);
        json_decref(o);
        o = json_loads("[{\"x\":1},{\"X\":[{\"s\":1,\"\xc5\xbf\":2}]}]", 0, NULL);
        assert_int_equal(gojson_check_keys(o), -EBADMSG);
        json_decref(o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(the_path_is_decoded_and_the_version_kept_apart),
                cmocka_unit_test(what_the_daemon_would_not_serve_is_refused),
                cmocka_unit_test(every_value_of_a_key_is_kept),
                cmocka_unit_test(bool_values_read_as_the_daemon_reads_them),
                cmocka_unit_test(the_envelope_gives_every_field),
                cmocka_unit_test(a_body_the_plugin_did_not_get_is_hidden),
                cmocka_unit_test(envelopes_dockerd_never_sends_are_refused),
                cmocka_unit_test(a_bad_uri_is_kept_for_the_refusal),
                cmocka_unit_test(keys_match_fields_as_go_folds_them),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
