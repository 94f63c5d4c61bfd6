/* SPDX-License-Identifier: MIT */
/* The create body, field by field: each way a container reaches the node is refused
 * by its own rule, however Go would spell the field; what a build job needs passes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "authz-test.h"
#include "authz/container-create.h"
#include "authz/go-json.h"
#include "authz/volume-network.h"

#define A1 "a1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B1 "b1bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define NA "cacccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define NB "cbdddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define NC "ccdddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define IDNAME "9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f"

static const struct {
        const char *hostconfig;         /* the HostConfig object, or a whole body when it starts with '!' */
        const char *expect;             /* NULL allowed, else the rule */
} cases[] = {
        { "{}", NULL },
        { "null", NULL },
        { "{\"Privileged\":false,\"CapAdd\":null,\"CapDrop\":[\"ALL\"],\"Binds\":null,\"Mounts\":[],"
          "\"NetworkMode\":\"default\",\"MaskedPaths\":null,\"ReadonlyPaths\":null,\"LogConfig\":{\"Type\":\"\","
          "\"Config\":{}},\"RestartPolicy\":{\"Name\":\"no\"},\"AutoRemove\":true,\"Memory\":1000000}", NULL },
        { "{\"Privileged\":true}", "privileged" },
        { "{\"privileged\":true}", "privileged" },
        { "{\"PRIVILEGED\":true}", "privileged" },
        { "{\"Privileged\":\"true\"}", "malformed-body" },
        { "{\"Privileged\":false,\"privileged\":true}", "malformed-body" },
        { "{\"CapAdd\":[\"SYS_ADMIN\"]}", "cap-add" },
        { "{\"CapAdd\":\"SYS_ADMIN\"}", "cap-add" },
        { "{\"capadd\":[\"NET_ADMIN\"]}", "cap-add" },
        { "{\"Devices\":[{\"PathOnHost\":\"/dev/sda\",\"PathInContainer\":\"/dev/sda\"}]}", "devices" },
        { "{\"DeviceRequests\":[{\"Count\":-1}]}", "devices" },
        { "{\"DeviceCgroupRules\":[\"b *:* rwm\"]}", "devices" },
        { "{\"Binds\":[\"/:/host\"]}", "bind-mount" },
        { "{\"Bind\xc5\xbf\":[\"/:/host\"]}", "bind-mount" },           /* "Bindſ": Go folds it to Binds */
        { "{\"Binds\":[\"/var/run/secrets:/s:ro\"]}", "bind-mount" },
        { "{\"Binds\":[\"/data\"]}", NULL },                             /* an anonymous volume */
        { "{\"Binds\":[\"avol:/data\",\"newvol:/cache:rw\"]}", NULL },
        { "{\"Binds\":[\"bvol:/data\"]}", "not-your-volume" },
        { "{\"Binds\":[\"" NB ":/data\"]}", "not-your-volume" },          /* someone's anonymous volume */
        { "{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"" NB "\",\"Target\":\"/x\"}]}", "not-your-volume" },
        { "{\"Binds\":[\":/data\"]}", "malformed-body" },
        { "{\"Binds\":[\"a:b:c:d:e\"]}", "malformed-body" },
        { "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/\",\"Target\":\"/host\"}]}", "bind-mount" },
        { "{\"mounts\":[{\"type\":\"bind\",\"source\":\"/\",\"target\":\"/host\"}]}", "bind-mount" },
        { "{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"x\",\"Target\":\"/x\",\"VolumeOptions\":{\"DriverConfig\":"
          "{\"Name\":\"local\",\"Options\":{\"type\":\"none\",\"o\":\"bind\",\"device\":\"/\"}}}}]}",
          "volume-options" },
        { "{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"x\",\"Target\":\"/x\",\"VolumeOptions\":{\"DriverConfig\":"
          "{\"Name\":\"nfs\"}}}]}", "volume-options" },
        { "{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"avol\",\"Target\":\"/x\",\"VolumeOptions\":{\"NoCopy\":true,"
          "\"Labels\":{\"a\":\"b\"}}}]}", NULL },
        { "{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"bvol\",\"Target\":\"/x\"}]}", "not-your-volume" },
        { "{\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/t\"},{\"Type\":\"image\",\"Source\":\"bb\",\"Target\":\"/i\"}]}",
          NULL },
        { "{\"Mounts\":[{\"Type\":\"npipe\",\"Source\":\"x\",\"Target\":\"/x\"}]}", "mount-type" },
        { "{\"Mounts\":[{\"Type\":\"cluster\",\"Source\":\"x\",\"Target\":\"/x\"}]}", "mount-type" },
        { "{\"Mounts\":[null]}", "malformed-body" },
        { "{\"VolumeDriver\":\"convoy\"}", "volume-options" },
        { "{\"NetworkMode\":\"host\"}", "host-namespace" },
        { "{\"NetworkMode\":\"container:b1\"}", "other-container" },
        { "{\"NetworkMode\":\"container:a1\"}", NULL },
        { "{\"NetworkMode\":\"bnet\"}", "not-your-network" },
        { "{\"NetworkMode\":\"anet\"}", NULL },
        { "{\"NetworkMode\":\"" NA "\"}", NULL },
        { "{\"NetworkMode\":\"" NB "\"}", "not-your-network" },
        { "{\"NetworkMode\":\"" IDNAME "\"}", "not-your-network" },   /* alpha's, named like an unknown ID */
        { "{\"NetworkMode\":\"none\"}", NULL },
        { "{\"PidMode\":\"host\"}", "host-namespace" },
        { "{\"PidMode\":\"container:" B1 "\"}", "other-container" },
        { "{\"PidMode\":\"container:a1\"}", NULL },
        { "{\"IpcMode\":\"host\"}", "host-namespace" },
        { "{\"IpcMode\":\"shareable\"}", NULL },
        { "{\"IpcMode\":\"container:b1\"}", "other-container" },
        { "{\"UTSMode\":\"host\"}", "host-namespace" },
        { "{\"UsernsMode\":\"host\"}", "host-namespace" },
        { "{\"CgroupnsMode\":\"host\"}", "host-namespace" },
        { "{\"CgroupnsMode\":\"private\"}", NULL },
        { "{\"Cgroup\":\"container:b1\"}", "other-container" },
        { "{\"VolumesFrom\":[\"b1:ro\"]}", "other-container" },
        { "{\"VolumesFrom\":[\"a1\"]}", NULL },
        { "{\"Links\":[\"/b1:db\"]}", "other-container" },
        { "{\"Links\":[\"a1:db\"]}", NULL },
        { "{\"SecurityOpt\":[\"seccomp=unconfined\"]}", "security-opt" },
        { "{\"SecurityOpt\":[\"apparmor=unconfined\"]}", "security-opt" },
        { "{\"SecurityOpt\":[\"label=disable\"]}", "security-opt" },
        { "{\"SecurityOpt\":[\"systempaths=unconfined\"]}", "security-opt" },
        { "{\"SecurityOpt\":[\"no-new-privileges=false\"]}", "security-opt" },
        { "{\"SecurityOpt\":[\"no-new-privileges\",\"no-new-privileges:true\"]}", NULL },
        { "{\"Runtime\":\"runsc\"}", "runtime" },
        { "{\"Runtime\":\"runc\"}", NULL },
        { "{\"CgroupParent\":\"/\"}", "cgroup-parent" },
        { "{\"MaskedPaths\":[]}", "masked-paths" },
        { "{\"ReadonlyPaths\":[\"/proc/sys\"]}", "masked-paths" },
        { "{\"Sysctls\":{\"net.ipv4.ip_unprivileged_port_start\":\"0\"}}", NULL },
        { "{\"Sysctls\":{\"kernel.msgmax\":\"1\"}}", "sysctls" },
        { "{\"Sysctls\":{\"net.core.somaxconn\":\"1\"}}", "sysctls" },
        { "{\"LogConfig\":{\"Type\":\"syslog\",\"Config\":{\"syslog-address\":\"udp://10.0.0.1:514\"}}}", "log-driver" },
        { "{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"1m\"}}}", NULL },
        { "{\"Annotations\":{\"run.oci.keep_original_groups\":\"1\"}}", "annotations" },
        { "{\"OomScoreAdj\":-1000}", "oom-score-adj" },
        { "{\"OomScoreAdj\":500}", NULL },
        { "{\"OomKillDisable\":true}", "oom-kill-disable" },
        { "{\"oomKillDisable\":false,\"OomScoreAdj\":0}", NULL },
        { "{\"OomKillDisable\":1}", "malformed-body" },
        { "!{\"Image\":\"bb\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"host\":{}}}}", "host-namespace" },
        { "!{\"Image\":\"bb\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"bnet\":{}}}}", "not-your-network" },
        { "!{\"Image\":\"bb\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"anet\":{\"Aliases\":[\"web\"]}}}}", NULL },
        { "!{\"Image\":\"bb\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"anet\":{\"Links\":[\"b1\"]}}}}",
          "other-container" },
        { "!{\"Image\":\"bb\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"anet\":{\"NetworkID\":\"" NB "\"}}}}",
          "not-your-network" },
        { "!{\"Image\":\"bb\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"anet\":{\"DriverOpts\":{\"a\":\"b\"}}}}}",
          "network-options" },
        { "!{\"Image\":\"bb\",\"hostconfig\":{\"Privileged\":true}}", "privileged" },
        { "![]", "malformed-body" },
        { "!{\"HostConfig\":[]}", "malformed-body" },
};

static struct owners *fixture(void) {
        struct owners *o;

        assert_int_equal(owners_new(NULL, &o), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, A1, "a1", "alpha", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_CONTAINER, B1, "b1", "beta", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_VOLUME, "avol", NULL, "alpha", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_VOLUME, "bvol", NULL, "beta", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_NETWORK, NA, "anet", "alpha", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_NETWORK, NB, "bnet", "beta", NULL, 1), 0);
        assert_int_equal(owners_learn(o, OWNER_NETWORK, NC, IDNAME, "alpha", NULL, 1), 0);
        return o;
}

static int check(const struct owners *o, const char *text, struct authz_verdict *v) {
        struct identity id = { .kind = IDENTITY_TENANT, .name = "alpha" };
        struct authz_request req = { .method = (char *) "POST" };
        json_t *body = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        int r;

        if (!body || gojson_check_keys(body) < 0) {
                json_decref(body);
                return authz_refuse(v, "malformed-body", "x");
        }
        r = container_create_check(&(struct authz_ctx) { &req, &id, o }, body, v);
        json_decref(body);
        return r;
}

static void each_way_onto_the_node_has_its_rule(void **state) {
        struct owners *o = fixture();
        size_t failures = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL;
                struct authz_verdict v = {};
                int r;

                text = cases[i].hostconfig[0] == '!' ? strdup(cases[i].hostconfig + 1)
                                                     : strdup_printf("{\"Image\":\"bb\",\"HostConfig\":%s}",
                                                                     cases[i].hostconfig);
                assert_non_null(text);
                r = check(o, text, &v);
                assert_true(r >= 0);
                if ((r == 0) != !cases[i].expect || (cases[i].expect && !streq(v.rule, cases[i].expect))) {
                        print_error("%s: want %s, got %s (%s)\n", text, cases[i].expect ?: "allowed",
                                    r ? v.rule : "allowed", v.message ?: "");
                        failures++;
                }
                authz_verdict_done(&v);
        }
        owners_free(o);
        assert_int_equal(failures, 0);
}

static void update_and_exec_bodies(void **state) {
        struct owners *o = fixture();
        struct identity id = { .kind = IDENTITY_TENANT, .name = "alpha" };
        struct authz_request req = { .method = (char *) "POST" };
        struct authz_ctx c = { &req, &id, o };
        struct authz_verdict v = {};
        json_t *b;

        b = json_loads("{\"Memory\":100,\"RestartPolicy\":{\"Name\":\"always\"}}", 0, NULL);
        assert_int_equal(container_update_check(&c, b, &v), 0);
        json_decref(b);
        b = json_loads("{\"cgroupparent\":\"x\"}", 0, NULL);
        assert_int_equal(container_update_check(&c, b, &v), 1);
        assert_string_equal(v.rule, "cgroup-parent");
        json_decref(b);
        b = json_loads("{\"DeviceCgroupRules\":[\"c 1:3 mr\"]}", 0, NULL);
        assert_int_equal(container_update_check(&c, b, &v), 1);
        assert_string_equal(v.rule, "devices");
        json_decref(b);
        b = json_loads("{\"Cmd\":[\"sh\"],\"User\":\"root\"}", 0, NULL);
        assert_int_equal(exec_create_check(&c, b, &v), 0);
        json_decref(b);
        b = json_loads("{\"Cmd\":[\"sh\"],\"Privileged\":true}", 0, NULL);
        assert_int_equal(exec_create_check(&c, b, &v), 1);
        assert_string_equal(v.rule, "privileged");
        json_decref(b);
        authz_verdict_done(&v);
        owners_free(o);
}

static void a_create_names_the_volumes_it_makes(void **state) {
        _cleanup_strv_free_ char **names = NULL;
        json_t *b = json_loads("{\"HostConfig\":{\"Binds\":[\"/data\",\"cache:/c\",\"/abs:/x\",\"cache:/d\"],"
                               "\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"m\"},{\"Type\":\"tmpfs\",\"Target\":\"/t\"}]}}",
                               0, NULL);

        assert_int_equal(container_create_volumes(b, &names), 0);
        assert_int_equal(strv_length(names), 2);
        assert_string_equal(names[0], "cache");
        assert_string_equal(names[1], "m");
        json_decref(b);
}

static void safe_sysctls_are_kubernetes_ones(void **state) {
        assert_true(container_sysctl_is_safe("net.ipv4.ping_group_range"));
        assert_true(container_sysctl_is_safe("kernel.shm_rmid_forced"));
        assert_false(container_sysctl_is_safe("kernel.shmmax"));
        assert_false(container_sysctl_is_safe("net.ipv4.ip_forward"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(each_way_onto_the_node_has_its_rule),
                cmocka_unit_test(update_and_exec_bodies),
                cmocka_unit_test(a_create_names_the_volumes_it_makes),
                cmocka_unit_test(safe_sysctls_are_kubernetes_ones),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
