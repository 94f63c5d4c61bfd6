/* SPDX-License-Identifier: MIT */
/* The members ConfigMap: the config each instance applies, and what is read back
 * (outside input: capped, cleaned, addresses checked, owners from managedFields). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/json-util.h"
#include "base/util.h"
#include "kube/members.h"

static void the_config_holds_only_the_instances_key(void **state) {
        _cleanup_json_ json_t *cm = NULL, *empty = NULL;

        assert_int_equal(members_config("kube-ops", "a", "docker-dind-a.kube-ops.svc:2376", &cm), 0);
        assert_string_equal(json_string_value(json_get_path(cm, "metadata", "name", NULL)), "dind-cache-members");
        assert_int_equal(json_object_size(json_object_get(cm, "data")), 1);
        assert_string_equal(json_string_value(json_get_path(cm, "data", "a", NULL)), "docker-dind-a.kube-ops.svc:2376");
        /* to remove the key: the same object without data at all */
        assert_int_equal(members_config("kube-ops", NULL, NULL, &empty), 0);
        assert_null(json_object_get(empty, "data"));
}

static void addresses_are_host_and_port(void **state) {
        assert_true(members_address_valid("docker-dind-a.kube-ops.svc:2376"));
        assert_true(members_address_valid("10.0.0.1:2375"));
        assert_true(members_address_valid("[fd00::1]:2376"));
        assert_false(members_address_valid("docker-dind-a.kube-ops.svc"));
        assert_false(members_address_valid("host:0"));
        assert_false(members_address_valid("host:65536"));
        assert_false(members_address_valid("host:02376"));
        assert_false(members_address_valid("-host:2376"));
        assert_false(members_address_valid("ho st:2376"));
        assert_false(members_address_valid("host;rm -rf /:2376"));
        assert_false(members_address_valid(":2376"));
}

static void members_are_read_sorted_with_their_owners(void **state) {
        _cleanup_(members_done) struct members m = {};
        _cleanup_json_ json_t *cm = json_loads(
                "{\"data\": {\"c\": \"docker-dind-c.kube-ops.svc:2376\", \"a\": \"docker-dind-a.kube-ops.svc:2376\","
                "            \"evil\": \"x\\u001b[31m:1\\nfoo\"},"
                " \"metadata\": {\"managedFields\": ["
                "   {\"manager\": \"dind-cache/a\", \"operation\": \"Apply\", \"fieldsV1\": {\"f:data\": {\".\": {}, \"f:a\": {}}}},"
                "   {\"manager\": \"kubectl\", \"operation\": \"Update\", \"fieldsV1\": {\"f:data\": {\"f:c\": {}}}},"
                "   {\"manager\": \"dind-cache/c\", \"operation\": \"Apply\", \"fieldsV1\": {\"f:data\": {\"f:c\": {}}}}]}}",
                0, NULL);
        _cleanup_free_ char *hosts = NULL;

        assert_non_null(cm);
        assert_int_equal(members_parse(cm, &m), 0);
        assert_int_equal(m.n, 3);
        assert_string_equal(m.v[0].key, "a");
        assert_string_equal(m.v[0].manager, "dind-cache/a");
        assert_true(m.v[0].valid);
        assert_string_equal(m.v[1].key, "c");
        assert_string_equal(m.v[1].manager, "dind-cache/c");
        assert_string_equal(m.v[2].key, "evil");
        assert_false(m.v[2].valid);
        assert_null(strchr(m.v[2].address, '\033'));
        assert_null(m.v[2].manager);
        assert_non_null(members_find(&m, "c"));
        assert_null(members_find(&m, "b"));
        hosts = members_hosts(&m);
        assert_string_equal(hosts, "docker-dind-a.kube-ops.svc:2376 docker-dind-c.kube-ops.svc:2376");
}

static void no_configmap_is_no_member(void **state) {
        _cleanup_(members_done) struct members m = {};
        _cleanup_free_ char *hosts = NULL;

        assert_int_equal(members_parse(NULL, &m), 0);
        assert_int_equal(m.n, 0);
        hosts = members_hosts(&m);
        assert_string_equal(hosts, "");
}

static void at_most_members_max_are_kept(void **state) {
        _cleanup_(members_done) struct members m = {};
        _cleanup_json_ json_t *cm = json_object(), *data = json_object();

        for (int i = 0; i < MEMBERS_MAX + 5; i++) {
                char k[16];
                snprintf(k, sizeof(k), "m%d", i);
                json_object_set_new(data, k, json_string("h:1"));
        }
        json_object_set(cm, "data", data);
        assert_int_equal(members_parse(cm, &m), 0);
        assert_int_equal(m.n, MEMBERS_MAX);
        assert_true(m.truncated);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(the_config_holds_only_the_instances_key),
                cmocka_unit_test(addresses_are_host_and_port),
                cmocka_unit_test(members_are_read_sorted_with_their_owners),
                cmocka_unit_test(no_configmap_is_no_member),
                cmocka_unit_test(at_most_members_max_are_kept),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
