/* SPDX-License-Identifier: MIT */
/* THE table, row by row: each row allowed to whom it is for and refused, by the rule
 * the message names, to whom it is not, or when its object or body is not right. A
 * last test holds that every row of the table has both kinds of case here. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "authz-test.h"
#include "authz/policy.h"

/* The case table leaves the last fields out where they are the default. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define A1 "a1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B1 "b1bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define EA "eaeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define EB "ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define NA "cacccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define NB "cbdddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

/* WHO: "alpha", "beta" (tenants), "checker", "pruner", "prune-job", "anon".
 * EXPECT: a row's rule when allowed by it, "-RULE" when refused by RULE. */
struct pcase {
        const char *who, *method, *uri, *body, *expect;
        enum test_length length;
        const char *content_type;
};

static const struct pcase cases[] = {
        /* before the table */
        { "alpha", "GET", "http://docker/_ping", NULL, "-uri" },
        { "alpha", "GET", "/containers//json", NULL, "-uri" },
        { "alpha", "GET", "/v1.51/containers/a1/%2e%2e/json", NULL, "-uri" },
        { "alpha", "GET", "/containers/a1/json?x=1;y=2", NULL, "-uri" },
        { "alpha", "POST", "/v1.51/build?networkmode=none", NULL, "-form-body", .content_type =
          "application/x-www-form-urlencoded" },
        { "alpha", "POST", "/v1.51/containers/a1/start", NULL, "-form-body", .content_type = "Multipart/Form-Data; boundary=x" },
        /* ping, version: anyone */
        { "anon", "GET", "/_ping", NULL, "ping" },
        { "alpha", "HEAD", "/v1.51/_ping", NULL, "ping" },
        { "anon", "POST", "/_ping", NULL, "-default-deny" },
        { "anon", "GET", "/v1.51/version", NULL, "version" },
        { "anon", "GET", "/info", NULL, "-info" },
        { "checker", "GET", "/v1.51/info", NULL, "info" },
        { "pruner", "GET", "/events?since=1", NULL, "events" },
        { "anon", "GET", "/events", NULL, "-events" },
        { "prune-job", "GET", "/v1.51/system/df", NULL, "system-df" },
        { "anon", "GET", "/system/df", NULL, "-system-df" },
        { "alpha", "POST", "/v1.51/auth", NULL, "registry-login" },
        { "checker", "POST", "/auth", NULL, "-registry-login" },
        /* images */
        { "checker", "GET", "/v1.51/images/json", NULL, "image-list" },
        { "anon", "GET", "/images/json", NULL, "-image-list" },
        { "alpha", "GET", "/images/search?term=x", NULL, "image-search" },
        { "checker", "GET", "/images/search?term=x", NULL, "-image-search" },
        { "alpha", "GET", "/images/get?names=bb", NULL, "image-save" },
        { "alpha", "GET", "/v1.51/images/library/busybox:latest/get", NULL, "image-save" },
        { "pruner", "GET", "/images/get?names=bb", NULL, "-image-save" },
        { "checker", "GET", "/v1.51/images/sha256:0123/json", NULL, "image-inspect" },
        { "alpha", "GET", "/images/registry.example:5000/a/b/history", NULL, "image-inspect" },
        { "alpha", "GET", "/distribution/docker.io/library/busybox/json", NULL, "image-inspect" },
        { "anon", "GET", "/images/bb/json", NULL, "-image-inspect" },
        { "alpha", "POST", "/v1.51/images/create?fromImage=busybox&tag=latest", NULL, "image-pull" },
        { "checker", "POST", "/images/create?fromImage=busybox", NULL, "-image-pull" },
        { "alpha", "POST", "/images/load?quiet=1", NULL, "image-load", LENGTH_NONE },
        { "pruner", "POST", "/images/load", NULL, "-image-load" },
        { "pruner", "POST", "/v1.51/images/prune?filters=%7B%7D", NULL, "image-prune" },
        { "alpha", "POST", "/v1.51/images/prune", NULL, "-image-prune" },
        { "alpha", "POST", "/images/registry.example/team/app/push?tag=1", NULL, "image-push" },
        { "checker", "POST", "/images/app/push", NULL, "-image-push" },
        { "alpha", "POST", "/v1.51/images/bb/tag?repo=x&tag=y", NULL, "image-tag" },
        { "prune-job", "POST", "/images/bb/tag?repo=x", NULL, "-image-tag" },
        { "pruner", "DELETE", "/v1.51/images/sha256:0123", NULL, "image-remove" },
        { "prune-job", "DELETE", "/images/library/busybox:latest", NULL, "-image-remove" },
        { "alpha", "DELETE", "/v1.51/images/bb?force=1", NULL, "-image-remove" },
        { "checker", "DELETE", "/images/bb", NULL, "-image-remove" },
        /* builds */
        { "pruner", "POST", "/v1.51/build/prune?all=1", NULL, "build-prune" },
        { "alpha", "POST", "/v1.51/build/prune", NULL, "-build-prune" },
        { "alpha", "POST", "/build/cancel?id=x", NULL, "build-cancel" },
        { "checker", "POST", "/build/cancel?id=x", NULL, "-build-cancel" },
        { "alpha", "POST", "/v1.41/build?buildargs=%7B%7D&cgroupparent=&networkmode=&remote=client-session&version=2",
          NULL, "build" },
        { "alpha", "POST", "/build?networkmode=none&version=1&remote=https://git.example/x.git", NULL, "build" },
        { "alpha", "POST", "/build?networkmode=" NA, NULL, "build" },
        { "alpha", "POST", "/build?networkmode=host", NULL, "-build-network" },
        { "alpha", "POST", "/build?networkmode=HOST", NULL, "-build-network" },
        { "alpha", "POST", "/build?networkmode=default&networkmode=host", NULL, "-build-network" },
        { "alpha", "POST", "/build?networkmode=container:" A1, NULL, "-build-network" },
        { "alpha", "POST", "/build?networkmode=bnet", NULL, "-not-your-network" },
        { "alpha", "POST", "/build?cgroupparent=/", NULL, "-cgroup-parent" },
        { "alpha", "POST", "/build?cgroupparent=&cgroupparent=%2Fx", NULL, "-cgroup-parent" },
        { "alpha", "POST", "/v1.41/build?networkmode=none&version=1", NULL, "-hidden-body", LENGTH_NONE,
          "application/x-tar" },
        { "checker", "POST", "/build", NULL, "-build" },
        { "alpha", "POST", "/session", NULL, "build-session" },
        { "checker", "POST", "/session", NULL, "-build-session" },
        { "alpha", "POST", "/grpc", NULL, "build-grpc" },
        /* Its docker builder prune goes to POST /build/prune (DOCKER_BUILDKIT=0). */
        { "prune-job", "POST", "/grpc", NULL, "-build-grpc" },
        { "prune-job", "POST", "/v1.51/build/prune?all=1&keep-storage=1000", NULL, "build-prune" },
        { "pruner", "POST", "/grpc", NULL, "-build-grpc" },
        /* containers */
        { "alpha", "GET", "/v1.51/containers/json?all=1", NULL, "container-list" },
        { "pruner", "GET", "/containers/json?all=1", NULL, "container-list" },
        { "anon", "GET", "/containers/json", NULL, "-container-list" },
        { "alpha", "POST", "/v1.51/containers/create?name=web", "{\"Image\":\"bb\",\"HostConfig\":{}}",
          "container-create" },
        { "alpha", "POST", "/containers/create", "{\"Image\":\"bb\",\"HostConfig\":{\"Privileged\":true}}",
          "-privileged" },
        { "alpha", "POST", "/containers/create", NULL, "-body-required", LENGTH_NONE, "application/json" },
        { "checker", "POST", "/containers/create", "{\"Image\":\"bb\"}", "-container-create" },
        { "pruner", "POST", "/v1.51/containers/prune", NULL, "container-prune" },
        { "alpha", "POST", "/containers/prune", NULL, "-container-prune" },
        { "alpha", "GET", "/v1.51/containers/a1/json", NULL, "container-inspect" },
        { "alpha", "GET", "/containers/" A1 "/json", NULL, "container-inspect" },
        { "alpha", "GET", "/containers/a1aaaaaaaaaa/json", NULL, "container-inspect" },
        { "alpha", "GET", "/containers/a1aaa/json", NULL, "-not-your-container" },
        { "beta", "GET", "/containers/a1/json", NULL, "-not-your-container" },
        { "beta", "GET", "/containers/" A1 "/json", NULL, "-not-your-container" },
        { "alpha", "GET", "/containers/never-seen/json", NULL, "-not-your-container" },
        { "checker", "GET", "/containers/a1/json", NULL, "-container-inspect" },
        { "alpha", "GET", "/containers/a1/logs?follow=1&stdout=1", NULL, "container-read" },
        { "alpha", "GET", "/containers/a1/attach/ws", NULL, "container-read" },
        { "alpha", "HEAD", "/containers/a1/archive?path=/x", NULL, "container-read" },
        { "beta", "GET", "/containers/a1/logs", NULL, "-not-your-container" },
        { "beta", "GET", "/containers/a1/archive?path=/etc", NULL, "-not-your-container" },
        { "alpha", "POST", "/v1.51/containers/a1/start", NULL, "container-run" },
        { "alpha", "POST", "/containers/a1/wait?condition=next-exit", NULL, "container-run" },
        { "beta", "POST", "/containers/a1/kill?signal=KILL", NULL, "-not-your-container" },
        { "beta", "POST", "/containers/a1/stop", NULL, "-not-your-container" },
        { "alpha", "PUT", "/containers/a1/archive?path=/tmp", NULL, "container-copy-in", LENGTH_NONE,
          "application/x-tar" },
        { "beta", "PUT", "/containers/a1/archive?path=/tmp", NULL, "-not-your-container" },
        { "alpha", "POST", "/containers/a1/rename?name=web2", NULL, "container-rename" },
        { "alpha", "POST", "/containers/a1/rename?name=web2", NULL, "-hidden-body", LENGTH_NONE },
        { "beta", "POST", "/containers/a1/rename?name=mine", NULL, "-not-your-container" },
        { "alpha", "POST", "/containers/a1/update", "{\"Memory\":1000000}", "container-update" },
        { "alpha", "POST", "/containers/a1/update", "{\"CgroupParent\":\"/\"}", "-cgroup-parent" },
        { "alpha", "POST", "/containers/a1/update", "{\"Devices\":[{\"PathOnHost\":\"/dev/sda\"}]}", "-devices" },
        { "beta", "POST", "/containers/a1/update", "{}", "-not-your-container" },
        { "alpha", "POST", "/v1.51/containers/a1/exec", "{\"Cmd\":[\"sh\"],\"Privileged\":false}", "exec-create" },
        { "alpha", "POST", "/containers/a1/exec", "{\"Cmd\":[\"sh\"],\"privileged\":true}", "-privileged" },
        { "beta", "POST", "/containers/a1/exec", "{\"Cmd\":[\"env\"]}", "-not-your-container" },
        { "alpha", "DELETE", "/v1.51/containers/a1?force=1&v=1", NULL, "container-remove" },
        { "beta", "DELETE", "/containers/a1?force=1", NULL, "-not-your-container" },
        { "alpha", "POST", "/commit?container=a1&repo=x", "{}", "commit" },
        { "alpha", "POST", "/commit?container=a1&repo=x", NULL, "commit" },
        { "beta", "POST", "/commit?container=a1", "{}", "-not-your-container" },
        { "alpha", "POST", "/commit?container=a1&container=b1", "{}", "-not-your-container" },
        { "alpha", "POST", "/commit?repo=x", "{}", "-not-your-container" },
        { "alpha", "POST", "/commit?container=a1", NULL, "-hidden-body", LENGTH_NONE, "application/x-www-form" },
        { "alpha", "GET", "/v1.51/exec/" EA "/json", NULL, "exec-inspect" },
        { "beta", "GET", "/exec/" EA "/json", NULL, "-not-your-exec" },
        { "alpha", "POST", "/exec/" EA "/start", "{\"Detach\":false}", "exec-start" },
        { "alpha", "POST", "/exec/" EA "/resize?h=1&w=1", NULL, "exec-start" },
        { "beta", "POST", "/exec/" EA "/start", "{}", "-not-your-exec" },
        { "alpha", "POST", "/exec/eaeeeeeeeeee/start", "{}", "-not-your-exec" },
        /* volumes */
        { "alpha", "GET", "/volumes", NULL, "volume-list" },
        { "checker", "GET", "/volumes", NULL, "-volume-list" },
        { "alpha", "POST", "/volumes/create", "{\"Name\":\"cache\",\"Labels\":{\"a\":\"b\"}}", "volume-create" },
        { "alpha", "POST", "/volumes/create", "{\"Name\":\"avol\"}", "volume-create" },
        { "alpha", "POST", "/volumes/create",
          "{\"Name\":\"root\",\"DriverOpts\":{\"type\":\"none\",\"o\":\"bind\",\"device\":\"/\"}}", "-volume-options" },
        { "alpha", "POST", "/volumes/create", "{\"Name\":\"x\",\"Driver\":\"nfs\"}", "-volume-options" },
        { "alpha", "POST", "/volumes/create", "{\"Name\":\"bvol\"}", "-not-your-volume" },
        { "alpha", "POST", "/volumes/create", "{\"Name\":\"" NB "\"}", "-not-your-volume" },   /* an anonymous one */
        { "checker", "POST", "/volumes/create", "{}", "-volume-create" },
        { "pruner", "POST", "/volumes/prune", NULL, "volume-prune" },
        { "alpha", "POST", "/volumes/prune", NULL, "-volume-prune" },
        { "prune-job", "POST", "/volumes/prune?filters=%7B%22all%22%3A%5B%22true%22%5D%7D", NULL, "-volume-prune" },
        { "alpha", "GET", "/volumes/avol", NULL, "volume-inspect" },
        { "alpha", "GET", "/volumes/from-before", NULL, "volume-inspect" },
        { "beta", "GET", "/volumes/avol", NULL, "-not-your-volume" },
        { "alpha", "DELETE", "/volumes/avol", NULL, "volume-remove" },
        { "alpha", "DELETE", "/volumes/from-before", NULL, "-not-your-volume" },
        { "beta", "DELETE", "/volumes/avol?force=1", NULL, "-not-your-volume" },
        /* networks */
        { "alpha", "GET", "/networks", NULL, "network-list" },
        { "alpha", "GET", "/v1.51/networks/?filters=%7B%7D", NULL, "network-list" },
        { "checker", "GET", "/networks", NULL, "-network-list" },
        { "alpha", "POST", "/networks/create", "{\"Name\":\"proj_default\",\"Driver\":\"bridge\",\"Labels\":{}}",
          "network-create" },
        { "alpha", "POST", "/networks/create", "{\"Name\":\"l2\",\"Driver\":\"macvlan\",\"Options\":{\"parent\":\"eth0\"}}",
          "-network-options" },
        { "alpha", "POST", "/networks/create", "{\"Name\":\"b\",\"Options\":{\"com.docker.network.bridge.name\":\"docker0\"}}",
          "-network-options" },
        { "alpha", "POST", "/networks/create", "{\"Name\":\"bnet\"}", "-not-your-network" },
        { "alpha", "POST", "/networks/create", "{\"Name\":\"n\",\"ipam\":{\"Config\":[{\"Subnet\":\"10.96.0.0/12\"}]}}",
          "-network-options" },
        { "alpha", "POST", "/networks/create", "{\"Name\":\"n\",\"IPAM\":{\"Driver\":\"default\",\"Config\":[]}}",
          "network-create" },
        { "alpha", "POST", "/networks/create", "{\"Name\":\"a b\"}", "-network-name" },
        { "checker", "POST", "/networks/create", "{\"Name\":\"x\"}", "-network-create" },
        { "pruner", "POST", "/networks/prune", NULL, "network-prune" },
        { "alpha", "POST", "/networks/prune", NULL, "-network-prune" },
        { "prune-job", "POST", "/networks/prune", NULL, "-network-prune" },
        { "alpha", "POST", "/networks/anet/connect", "{\"Container\":\"a1\"}", "network-connect" },
        { "alpha", "POST", "/networks/bridge/connect", "{\"Container\":\"a1\"}", "network-connect" },
        { "alpha", "POST", "/networks/" NA "/disconnect", "{\"Container\":\"" A1 "\",\"Force\":true}",
          "network-connect" },
        { "alpha", "POST", "/networks/bnet/connect", "{\"Container\":\"a1\"}", "-not-your-network" },
        { "alpha", "POST", "/networks/anet/connect", "{\"Container\":\"b1\"}", "-not-your-container" },
        { "alpha", "POST", "/networks/anet/connect", "{\"Container\":\"a1\",\"EndpointConfig\":{\"Links\":[\"b1:db\"]}}",
          "-other-container" },
        { "alpha", "POST", "/networks/anet/connect", NULL, "-body-required" },
        { "alpha", "GET", "/networks/anet", NULL, "network-inspect" },
        { "alpha", "GET", "/networks/bridge", NULL, "network-inspect" },
        { "beta", "GET", "/networks/anet", NULL, "-not-your-network" },
        { "beta", "GET", "/networks/" NA, NULL, "-not-your-network" },
        { "alpha", "DELETE", "/networks/anet", NULL, "network-remove" },
        { "alpha", "DELETE", "/networks/bridge", NULL, "-not-your-network" },
        { "beta", "DELETE", "/networks/anet", NULL, "-not-your-network" },
        /* never for jobs */
        { "alpha", "GET", "/v1.51/swarm", NULL, "-swarm-and-plugins" },
        { "alpha", "POST", "/plugins/pull?remote=x", NULL, "-swarm-and-plugins" },
        { "alpha", "GET", "/secrets/abc", NULL, "-swarm-and-plugins" },
        { "alpha", "POST", "/services/create", "{}", "-swarm-and-plugins" },
        { "pruner", "GET", "/nodes", NULL, "-swarm-and-plugins" },
        { "alpha", "GET", "/debug/pprof/", NULL, "-default-deny" },
        { "alpha", "OPTIONS", "/containers/json", NULL, "-default-deny" },
        { "alpha", "GET", "/containers/a1/checkpoints", NULL, "-default-deny" },
        { "alpha", "PUT", "/volumes/avol", "{}", "-default-deny" },
        { "alpha", "GET", "/containers/a1/json/", NULL, "-default-deny" },
};

static struct owners *fixture(void) {
        struct owners *o;

        assert_int_equal(owners_new(NULL, &o), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "a1", "alpha", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, B1, "b1", "beta", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_EXEC, EA, NULL, "alpha", A1, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_EXEC, EB, NULL, "beta", B1, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_VOLUME, "avol", NULL, "alpha", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_VOLUME, "bvol", NULL, "beta", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_NETWORK, NA, "anet", "alpha", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_NETWORK, NB, "bnet", "beta", NULL, 1), 0);
        return o;
}

static struct identity identity(const char *who) {
        struct identity id = {};

        if (streq(who, "anon"))
                id.kind = IDENTITY_ANONYMOUS;
        else if (streq(who, "checker"))
                id.kind = IDENTITY_CHECKER_KIND;
        else if (streq(who, "pruner"))
                id.kind = IDENTITY_PRUNER_KIND;
        else if (streq(who, "prune-job"))
                id.kind = IDENTITY_PRUNE_JOB_KIND;
        else
                id.kind = IDENTITY_TENANT;
        if (id.kind != IDENTITY_ANONYMOUS) {
                snprintf(id.name, sizeof(id.name), "%s", id.kind == IDENTITY_TENANT ? who : "dind-cache:node");
                snprintf(id.serial, sizeof(id.serial), "0A");
        }
        return id;
}

/* The verdict on C; RET_ROW the row that matched. */
static void decide(const struct pcase *c, const struct owners *o, struct authz_verdict *v) {
        struct authz_request req = {};
        struct identity id = identity(c->who);

        test_request(&(struct test_call) { .user = "x", .method = c->method, .uri = c->uri, .body = c->body,
                                           .length = c->length, .content_type = c->content_type },
                     AUTHZ_REQUEST, &req);
        assert_int_equal(policy_decide(&(struct authz_ctx) { &req, &id, o }, v), 0);
        authz_request_done(&req);
}

static void every_case_gets_its_verdict_and_rule(void **state) {
        struct owners *o = fixture();
        size_t failures = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct pcase *c = &cases[i];
                bool want_allow = c->expect[0] != '-';
                const char *want_rule = want_allow ? c->expect : c->expect + 1;
                struct authz_verdict v = {};

                decide(c, o, &v);
                if (v.allow != want_allow || !streq(v.rule, want_rule)) {
                        print_error("%s %s %s: want %s, got %s by %s (%s)\n", c->who, c->method, c->uri, c->expect,
                                    v.allow ? "allowed" : "refused", v.rule, v.message ?: "");
                        failures++;
                }
                if (!v.allow) {
                        char prefix[128];
                        snprintf(prefix, sizeof(prefix), "rule %s: ", v.rule);
                        assert_true(strncmp(v.message, prefix, strlen(prefix)) == 0);
                } else
                        assert_null(v.message);
                authz_verdict_done(&v);
        }
        owners_free(o);
        assert_int_equal(failures, 0);
}

static void every_row_is_allowed_and_refused_here(void **state) {
        struct owners *o = fixture();
        bool allowed[64] = {}, refused[64] = {};

        assert_true(policy_table_size <= ELEMENTSOF(allowed));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct authz_verdict v = {};

                decide(&cases[i], o, &v);
                if (v.row) {
                        size_t k = (size_t) (v.row - policy_table);
                        allowed[k] |= v.allow;
                        refused[k] |= !v.allow;
                }
                authz_verdict_done(&v);
        }
        for (size_t k = 0; k < policy_table_size; k++) {
                /* A row for everyone can be refused only before the table (revoked, ...);
                 * a row for nobody is never allowed. */
                bool everyone = policy_table[k].who == (POLICY_WHO_ALL | IDENTITY_ANONYMOUS);

                if ((!refused[k] && !everyone) || (!allowed[k] && policy_table[k].who != 0))
                        print_error("row %s: %s\n", policy_table[k].rule, refused[k] ? "never allowed" : "never refused");
                assert_true(refused[k] || everyone);
                assert_true(allowed[k] || policy_table[k].who == 0);
        }
        owners_free(o);
}

static void patterns_read_as_the_router_does(void **state) {
        char *ref = NULL;

        assert_int_equal(policy_path_matches("/containers/{id}/json", "/containers/web/json", &ref), 1);
        assert_string_equal(ref, "web");
        free(ref);
        ref = NULL;
        assert_int_equal(policy_path_matches("/containers/{id}/json", "/containers/a/b/json", &ref), 0);
        assert_null(ref);
        assert_int_equal(policy_path_matches("/images/{name...}/json", "/images/a/b/c/json", NULL), 1);
        assert_int_equal(policy_path_matches("/images/{name...}/json", "/images/json", NULL), 0);
        assert_int_equal(policy_path_matches("/x/(a|bc)", "/x/bc", NULL), 1);
        assert_int_equal(policy_path_matches("/x/(a|bc)", "/x/b", NULL), 0);
        assert_int_equal(policy_path_matches("/(swarm|nodes)/**", "/swarm", NULL), 1);
        assert_int_equal(policy_path_matches("/(swarm|nodes)/**", "/nodes/a/b", NULL), 1);
        assert_int_equal(policy_path_matches("/networks/", "/networks", NULL), 0);
}

static void the_markdown_table_has_every_row(void **state) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        assert_int_equal(policy_print_markdown(f), 0);
        fclose(f);
        for (size_t k = 0; k < policy_table_size; k++) {
                char cell[128];
                snprintf(cell, sizeof(cell), "\n| %s | ", policy_table[k].rule);
                assert_non_null(strstr(buf, cell));
        }
        free(buf);
}

/* README's table is the code's (`dind-cache authz --policy`), row for row. */
static void readme_holds_the_same_table(void **state) {
        char *buf = NULL, *readme = NULL;
        size_t size = 0, rsize = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        assert_int_equal(policy_print_markdown(f), 0);
        fclose(f);
        assert_int_equal(read_file_full("README.md", 4u << 20, &readme, &rsize), 0);
        if (!strstr(readme, buf))
                print_error("README.md lacks the table `dind-cache authz --policy` prints:\n%s", buf);
        assert_non_null(strstr(readme, buf));
        free(buf);
        free(readme);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_case_gets_its_verdict_and_rule),
                cmocka_unit_test(every_row_is_allowed_and_refused_here),
                cmocka_unit_test(patterns_read_as_the_router_does),
                cmocka_unit_test(the_markdown_table_has_every_row),
                cmocka_unit_test(readme_holds_the_same_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
