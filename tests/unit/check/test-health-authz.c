/* SPDX-License-Identifier: MIT */
/* The checker's `authz` check against a plugin socket: the real plugin (authz/plugin.h)
 * served on a unix socket, and canned answers for each way a plugin can be wrong. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "authz/identity.h"
#include "authz/plugin.h"
#include "base/message-ids.h"
#include "check/health.h"
#include "kube/daemon-config.h"
#include "pki/pki-store.h"

/* A plugin on a unix socket: the real one (canned NULL), or canned answers to
 * /Plugin.Activate and to an AuthZReq for a create and for anything else. */
struct fake_plugin {
        int fd;
        char dir[64], path[108];
        struct authz_plugin *real;
        const char *activate, *create, *other;
        bool silent;                    /* accepts, never answers */
        unsigned events;                /* refusals the real plugin reported */
        pthread_t thread;
};

/* Reads one request (headers and a Content-Length body) from C into a new buffer. */
static char *read_request(int c, char **ret_body, size_t *ret_size) {
        size_t cap = 1 << 16, got = 0, want = 0;
        char *buf = malloc(cap + 1), *end = NULL;
        ssize_t n;

        while (buf && got < cap && (n = read(c, buf + got, cap - got)) > 0) {
                got += (size_t) n;
                buf[got] = '\0';
                if (!end && (end = strstr(buf, "\r\n\r\n"))) {
                        const char *cl = strcasestr(buf, "Content-Length:");
                        want = (size_t) (end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
                }
                if (end && got >= want)
                        break;
        }
        if (!buf || !end) {
                free(buf);
                return NULL;
        }
        *ret_body = end + 4;
        *ret_size = got - (size_t) (end + 4 - buf);
        return buf;
}

static void answer(struct fake_plugin *d, int c, const char *req, const char *body, size_t size) {
        char *reply = NULL, *head;
        struct authz_event ev = {};
        int status = 200;
        const char *endpoint = req + 5;    /* "POST " */
        size_t n = strcspn(endpoint, " ");
        char ep[64];

        snprintf(ep, sizeof(ep), "%.*s", (int) n, endpoint);
        if (d->real) {
                assert_int_equal(authz_plugin_handle(d->real, ep, body, size, &status, &reply, &ev), 0);
                d->events += ev.message != NULL;
                authz_event_done(&ev);
        } else if (streq(ep, "/Plugin.Activate"))
                reply = strdup(d->activate);
        else
                reply = strdup(strstr(body, "containers/create") ? d->create : d->other);
        assert_non_null(reply);
        assert_true(asprintf(&head, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n\r\n", status, strlen(reply)) > 0);
        (void) !send(c, head, strlen(head), MSG_NOSIGNAL);
        (void) !send(c, reply, strlen(reply), MSG_NOSIGNAL);    /* curl may have hung up */
        free(head);
        free(reply);
}

static void *serve(void *userdata) {
        struct fake_plugin *d = userdata;

        for (;;) {
                char *req, *body;
                size_t size;
                int c = accept(d->fd, NULL, NULL);

                if (c < 0)
                        return NULL;
                if (d->silent) {
                        char drain[256];
                        while (read(c, drain, sizeof(drain)) > 0)
                                ;
                        close(c);
                        continue;
                }
                req = read_request(c, &body, &size);
                if (req && strncmp(req, "POST ", 5) == 0)
                        answer(d, c, req, body, size);
                free(req);
                close(c);
        }
}

static void plugin_start(struct fake_plugin *d) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        snprintf(d->dir, sizeof(d->dir), "/tmp/test-health-authz-XXXXXX");
        assert_non_null(mkdtemp(d->dir));
        snprintf(d->path, sizeof(d->path), "%s/dind-cache-authz.sock", d->dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->path);
        d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(d->fd >= 0);
        assert_int_equal(bind(d->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(d->fd, 8), 0);
        assert_int_equal(pthread_create(&d->thread, NULL, serve, d), 0);
}

static void plugin_stop(struct fake_plugin *d) {
        shutdown(d->fd, SHUT_RDWR);
        close(d->fd);
        pthread_join(d->thread, NULL);
        unlink(d->path);
        rmdir(d->dir);
}

/* Runs the check on SOCKET (the daemon's /info as DAEMON, or NULL) into L. */
static void run_check(const char *socket, const struct health_figures *daemon, struct check_list *l) {
        struct node_settings s = { .timeout_usec = 500000, .deadline_usec = 10000000,
                                   .authz_socket = (char *) socket };

        assert_int_equal(health_check_authz(&s, now_usec() + s.deadline_usec, daemon, l), 0);
        assert_int_equal(l->n, 1);
        assert_string_equal(l->items[0].name, "authz");
}

/* Runs the check against the real plugin, the daemon's /info listing it or not; D
 * keeps the plugin (free it with authz_plugin_free()). */
static void run_real(bool listed, struct fake_plugin *d, struct check_list *l) {
        struct health_figures daemon = { .plugins_known = true, .authz_listed = listed };

        assert_int_equal(authz_plugin_new(NULL, &d->real), 0);
        plugin_start(d);
        run_check(d->path, &daemon, l);
        plugin_stop(d);
}

static void test_the_real_plugin_refuses_the_probes_privileged_create_and_keeps_no_trace(void **state) {
        struct fake_plugin d = {};
        struct check_list l = {};

        run_real(true, &d, &l);
        assert_int_equal(l.items[0].state, CHECK_OK);
        assert_string_equal(l.items[0].message_id, MID_AUTHZ_OK);
        assert_non_null(strstr(l.items[0].message, "refused a privileged container create (rule privileged:"));
        assert_non_null(strstr(l.items[0].message, "the daemon uses it"));
        /* Both AuthZReq were judged; none counted, none an event. */
        assert_int_equal(d.real->requests, 2);
        assert_int_equal(d.real->counters.n, 0);
        assert_int_equal(d.events, 0);
        authz_plugin_free(d.real);
        check_list_done(&l);
}

static void test_the_daemon_without_the_plugin_is_critical(void **state) {
        struct fake_plugin d = {};
        struct check_list l = {};

        run_real(false, &d, &l);
        assert_int_equal(l.items[0].state, CHECK_FAIL);
        assert_string_equal(l.items[0].message_id, MID_AUTHZ_NOT_USED);
        assert_non_null(strstr(l.items[0].message, "daemon.json lost authorization-plugins"));
        authz_plugin_free(d.real);
        check_list_done(&l);
}

static void test_unset_is_not_checked_and_left_out_is_a_warning(void **state) {
        struct node_settings s = { .timeout_usec = 500000, .deadline_usec = 1000000 };
        struct check_list l = {};

        assert_int_equal(health_check_authz(&s, now_usec() + s.deadline_usec, NULL, &l), 0);
        assert_int_equal(l.n, 0);
        s.authz_left_out = true;
        assert_int_equal(health_check_authz(&s, now_usec() + s.deadline_usec, NULL, &l), 0);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.items[0].state, CHECK_WARN);
        assert_string_equal(l.items[0].message_id, MID_AUTHZ_LEFT_OUT);
        assert_non_null(strstr(l.items[0].message, "no authorization plugin: install --plaintext left it out"));
        check_list_done(&l);
}

static void test_a_socket_nobody_listens_on_is_critical_and_named(void **state) {
        struct fake_plugin d = { .silent = true };
        struct check_list l = {};

        run_check("/nonexistent/dind-cache-authz.sock", NULL, &l);
        assert_int_equal(l.items[0].state, CHECK_FAIL);
        assert_string_equal(l.items[0].message_id, MID_AUTHZ_UNREACHABLE);
        assert_non_null(strstr(l.items[0].message, "does not answer (No such file or directory)"));
        assert_non_null(strstr(l.items[0].message, "dind-cache-authz.socket"));
        assert_non_null(strstr(l.items[0].remedy, "systemctl status dind-cache-authz.socket"));
        check_list_done(&l);

        /* A plugin that hangs: the check's timeout, not the deadline. */
        plugin_start(&d);
        run_check(d.path, NULL, &l);
        plugin_stop(&d);
        assert_int_equal(l.items[0].state, CHECK_FAIL);
        assert_string_equal(l.items[0].message_id, MID_AUTHZ_UNREACHABLE);
        assert_non_null(strstr(l.items[0].message, "no answer within 500ms"));
        check_list_done(&l);
}

static void test_canned_wrong_plugins_are_critical(void **state) {
        static const char big[] = "{\"Allow\":false,\"Msg\":\"%070000d\"}";
        char *huge = NULL;
        const char *deny = "{\"Allow\":false,\"Msg\":\"rule privileged: no\",\"Err\":\"\"}";
        const char *allow = "{\"Allow\":true,\"Msg\":\"\",\"Err\":\"\"}";
        const char *authz = "{\"Implements\":[\"authz\"]}";
        struct {
                const char *activate, *create, *other, *mid, *words;
        } cases[] = {
                { "{\"Implements\":[\"NetworkDriver\"]}", deny, allow, MID_AUTHZ_BROKEN, "does not list \"authz\"" },
                { "not json", deny, allow, MID_AUTHZ_BROKEN, "not a JSON object: not json" },
                { authz, allow, allow, MID_AUTHZ_BROKEN, "ALLOWED a tenant's privileged container create" },
                { authz, deny, deny, MID_AUTHZ_BROKEN, "refused a tenant's GET /version (rule privileged: no)" },
                { authz, "{\"Allow\":\"yes\"}", allow, MID_AUTHZ_BROKEN, "without a boolean Allow" },
                /* An Err fails the request in dockerd, whatever Allow says. */
                { authz, deny, "{\"Allow\":true,\"Err\":\"plugin \\u001b[2Jbroke\"}", MID_AUTHZ_BROKEN,
                  "refused a tenant's GET /version (plugin ?[2Jbroke)" },
                { authz, NULL, allow, MID_AUTHZ_BROKEN, "an answer over 65536 bytes" },
                { authz, deny, allow, MID_AUTHZ_OK, "refused a privileged container create (rule privileged: no)" },
        };

        assert_true(asprintf(&huge, big, 0) > 0);
        cases[6].create = huge;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct fake_plugin d = { .activate = cases[i].activate, .create = cases[i].create,
                                         .other = cases[i].other };
                struct check_list l = {};

                plugin_start(&d);
                run_check(d.path, NULL, &l);
                plugin_stop(&d);
                assert_string_equal(l.items[0].message_id, cases[i].mid);
                assert_int_equal(l.items[0].state, streq(cases[i].mid, MID_AUTHZ_OK) ? CHECK_OK : CHECK_FAIL);
                assert_non_null(strstr(l.items[0].message, cases[i].words));
                check_list_done(&l);
        }
        free(huge);
}

static void test_a_passed_deadline_is_unknown(void **state) {
        struct node_settings s = { .timeout_usec = 500000, .deadline_usec = 1000000,
                                   .authz_socket = (char *) "/nonexistent/x.sock" };
        struct check_list l = {};

        assert_int_equal(health_check_authz(&s, now_usec() - 1, NULL, &l), 0);
        assert_int_equal(l.items[0].state, CHECK_UNKNOWN);
        assert_string_equal(l.items[0].message_id, MID_DEADLINE_PASSED);
        check_list_done(&l);
}

/* The names the checker, the plugin and daemon.json use are one. */
static void test_the_names_are_the_plugins(void **state) {
        assert_string_equal(HEALTH_AUTHZ_PLUGIN, AUTHZ_PLUGIN_NAME);
        assert_string_equal(HEALTH_AUTHZ_PLUGIN, DAEMON_CONFIG_AUTHZ_PLUGIN);
        assert_string_equal(PKI_CN_PROBE, IDENTITY_PROBE);
        assert_string_equal(SETTINGS_DEFAULT_AUTHZ_SOCKET, "/run/dind-cache/plugins/" AUTHZ_PLUGIN_NAME ".sock");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_real_plugin_refuses_the_probes_privileged_create_and_keeps_no_trace),
                cmocka_unit_test(test_the_daemon_without_the_plugin_is_critical),
                cmocka_unit_test(test_unset_is_not_checked_and_left_out_is_a_warning),
                cmocka_unit_test(test_a_socket_nobody_listens_on_is_critical_and_named),
                cmocka_unit_test(test_canned_wrong_plugins_are_critical),
                cmocka_unit_test(test_a_passed_deadline_is_unknown),
                cmocka_unit_test(test_the_names_are_the_plugins),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
