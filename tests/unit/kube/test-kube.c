/* SPDX-License-Identifier: MIT */
/* The client's server URL, as a kubeconfig gives it: what client-go would use is
 * accepted; a query or fragment (which would swallow every request path), user info,
 * a port outside 1..65535 or a host that is no host are refused, saying why. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/util.h"
#include "kube/kube.h"

static int client_for(const char *server, char **ret_message) {
        struct kubeconfig cfg = { .server = (char *) server, .cluster = (char *) "c", .context = (char *) "x" };
        struct kube_client *c = NULL;
        int r = kube_client_new(&cfg, &c, ret_message);

        if (r >= 0) {
                assert_string_equal(kube_client_server(c), server);
                kube_client_free(c);
        }
        return r;
}

static void good_server_urls_are_accepted(void **state) {
        static const char *const good[] = {
                "https://10.0.0.1:6443", "https://10.0.0.1", "http://127.0.0.1:8080",
                "https://api.example.com:443/", "https://[::1]:6443", "https://[fe80::1]",
                "https://rancher.example.com/k8s/clusters/c-m-1", "https://h:65535", "https://h:1",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_free_ char *m = NULL;
                if (client_for(good[i], &m) != 0)
                        fail_msg("'%s' was refused: %s", good[i], m ?: "");
        }
}

static void bad_server_urls_are_refused_saying_why(void **state) {
        static const struct {
                const char *url, *words;
        } bad[] = {
                { "https://h:6443/?x", "no query or fragment" },
                { "https://h:6443/#f", "no query or fragment" },
                { "https://h:6443?x", "no query or fragment" },
                { "https://h/api#f", "no query or fragment" },
                { "https://h:0", "port is not a number from 1 to 65535" },
                { "https://h:99999", "port is not a number from 1 to 65535" },
                { "https://h:65536", "port is not a number from 1 to 65535" },
                { "https://h:", "port is not a number from 1 to 65535" },
                { "https://user:pw@h:6443", "no user name or password" },
                { "ftp://h", "scheme is not https or http" },
                { "https://[1]:6443", "host is not" },
                { "https://256.1.1.1", "host is not" },
                { "https://-h-:6443", "host is not" },
                { "https://:6443", "host is not" },
                { "https://h/a b", "path holds" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *m = NULL;
                if (client_for(bad[i].url, &m) != -EINVAL)
                        fail_msg("'%s' was accepted", bad[i].url);
                assert_non_null(m);
                if (!strstr(m, bad[i].words) || !strstr(m, bad[i].url))
                        fail_msg("'%s': %s", bad[i].url, m);
        }
}

static void control_characters_in_the_url_are_echoed_escaped(void **state) {
        _cleanup_free_ char *m = NULL;

        assert_int_equal(client_for("https://h\033[2J:6443", &m), -EINVAL);
        assert_null(strchr(m, '\033'));
        assert_non_null(strstr(m, "h\\e[2J"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(good_server_urls_are_accepted),
                cmocka_unit_test(bad_server_urls_are_refused_saying_why),
                cmocka_unit_test(control_characters_in_the_url_are_echoed_escaped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
