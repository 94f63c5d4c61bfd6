/* SPDX-License-Identifier: MIT */
/* DOCKER_HOST as the Docker CLI writes it: the forms that pass and what they stand
 * for, the ones refused, and the same host on the plaintext port. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/docker-host.h"
#include "base/util.h"

static void test_accepted_forms(void **state) {
        static const struct {
                const char *text;
                enum docker_host_kind kind;
                const char *host;
                unsigned port;
                const char *socket_path, *url;
        } cases[] = {
                { "tcp://127.0.0.1:2375", DOCKER_HOST_TCP, "127.0.0.1", 2375, NULL, "http://127.0.0.1:2375" },
                { "tcp://docker-dind.kube-ops.svc", DOCKER_HOST_TCP, "docker-dind.kube-ops.svc", 2375, NULL,
                  "http://docker-dind.kube-ops.svc:2375" },
                { "tcp://[::1]:23750/", DOCKER_HOST_TCP, "[::1]", 23750, NULL, "http://[::1]:23750" },
                { "tcp://[fe80::1:2]:2375", DOCKER_HOST_TCP, "[fe80::1:2]", 2375, NULL, "http://[fe80::1:2]:2375" },
                { "tcp://10.96.0.12:2376", DOCKER_HOST_TCP, "10.96.0.12", 2376, NULL, "http://10.96.0.12:2376" },
                { "tcp://Node_1.example:1", DOCKER_HOST_TCP, "Node_1.example", 1, NULL, "http://Node_1.example:1" },
                { "tcp://host:65535", DOCKER_HOST_TCP, "host", 65535, NULL, "http://host:65535" },
                { "unix:///run/docker.sock", DOCKER_HOST_UNIX, NULL, 0, "/run/docker.sock", "http://localhost" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct docker_host h = {};
                _cleanup_free_ char *url = NULL;

                if (docker_host_parse(cases[i].text, &h) != 0)
                        fail_msg("'%s' was refused", cases[i].text);
                assert_int_equal(h.kind, cases[i].kind);
                assert_string_equal(h.text, cases[i].text);
                if (cases[i].host)
                        assert_string_equal(h.host, cases[i].host);
                else
                        assert_null(h.host);
                assert_int_equal(h.port, cases[i].port);
                if (cases[i].socket_path)
                        assert_string_equal(h.socket_path, cases[i].socket_path);
                else
                        assert_null(h.socket_path);
                url = docker_host_base_url(&h);
                assert_string_equal(url, cases[i].url);
                docker_host_done(&h);
                assert_int_equal(h.kind, DOCKER_HOST_UNSET);
        }
}

static void test_other_values_are_refused(void **state) {
        static const char *const bad[] = {
                "", "ssh://node1", "npipe:////./pipe/docker_engine", "http://127.0.0.1:2375",
                "tcp://", "tcp://:2375", "tcp://host:0", "tcp://host:65536", "tcp://host:12a",
                "tcp://host:2375/path", "tcp://ho st:2375", "tcp://user@host:2375", "unix://",
                "unix://relative.sock", "unix:///", "tcp://[::1", "tcp://[]:1", "tcp://[zz]:1",
                "tcp://host:99999999999999999999", "tcp://host:", "TCP://host:2375",
                /* Not an address, nor a host name. */
                "tcp://[1]:2375", "tcp://[1:2]:2375", "tcp://[::1::2]:2375", "tcp://256.1.1.1:2375",
                "tcp://1.2.3:2375", "tcp://1..2.3.4:2375", "tcp://-host:2375", "tcp://host-:2375",
                "tcp://a..b:2375", "tcp://.host:2375",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct docker_host h = { .kind = DOCKER_HOST_UNIX, .text = (char *) "untouched" };

                if (docker_host_parse(bad[i], &h) != -EINVAL)
                        fail_msg("'%s' was accepted", bad[i]);
                assert_int_equal(h.kind, DOCKER_HOST_UNIX);
                assert_string_equal(h.text, "untouched");
        }
        assert_int_equal(docker_host_parse(NULL, &(struct docker_host) {}), -EINVAL);
}

static void test_host_names_and_paths_have_limits(void **state) {
        char long_host[10016] = "tcp://", label[80] = "tcp://", path[128] = "unix:///";
        struct docker_host h = {};

        memset(long_host + 6, 'a', 10000);
        assert_int_equal(docker_host_parse(long_host, &h), -EINVAL);
        memset(label + 6, 'a', 64);
        assert_int_equal(docker_host_parse(label, &h), -EINVAL);
        label[6 + 63] = '\0';                          /* the longest label passes */
        assert_int_equal(docker_host_parse(label, &h), 0);
        docker_host_done(&h);

        /* sun_path holds 107 bytes and the NUL. */
        memset(path + 8, 's', 107);
        assert_int_equal(docker_host_parse(path, &h), -EINVAL);
        path[8 + 106] = '\0';
        assert_int_equal(docker_host_parse(path, &h), 0);
        assert_int_equal(strlen(h.socket_path), 107);
        docker_host_done(&h);
}

static void test_the_same_host_on_another_port(void **state) {
        struct docker_host tls = {}, plain = {}, sock = {};

        assert_int_equal(docker_host_parse("tcp://[fd00::5]:2376", &tls), 0);
        assert_int_equal(docker_host_with_port(&tls, DOCKER_HOST_DEFAULT_PORT, &plain), 0);
        assert_int_equal(plain.kind, DOCKER_HOST_TCP);
        assert_string_equal(plain.text, "tcp://[fd00::5]:2375");
        assert_string_equal(plain.host, "[fd00::5]");
        assert_int_equal(plain.port, 2375);
        docker_host_done(&plain);

        assert_int_equal(docker_host_parse("unix:///run/docker.sock", &sock), 0);
        assert_int_equal(docker_host_with_port(&sock, 2375, &plain), -EINVAL);
        assert_int_equal(docker_host_with_port(&tls, 0, &plain), -EINVAL);
        assert_null(docker_host_base_url(&plain));     /* unset */
        docker_host_done(&tls);
        docker_host_done(&sock);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_accepted_forms),
                cmocka_unit_test(test_other_values_are_refused),
                cmocka_unit_test(test_host_names_and_paths_have_limits),
                cmocka_unit_test(test_the_same_host_on_another_port),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
