/* SPDX-License-Identifier: MIT */
/* The node's settings as an operator writes them in the env file: the defaults of
 * check and prune, every bad value refused with the variable named (the words are
 * README's contract), the DOCKER_HOST forms, and which command reads which key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/message-ids.h"
#include "base/settings.h"

#define SEC 1000000ULL
#define HOST "DOCKER_HOST=tcp://127.0.0.1:2375"

enum reader { CHECK, PRUNE };

static int read_settings(enum reader reader, char *const *env, struct node_settings *s, struct check_list *l) {
        return reader == CHECK ? node_settings_read_check(env, s, l) : node_settings_read_prune(env, s, l);
}

static void test_check_defaults(void **state) {
        char *env[] = { NULL };
        struct node_settings s = {};
        struct check_list l = {};

        assert_int_equal(node_settings_read_check(env, &s, &l), 0);
        assert_int_equal(l.n, 0);
        assert_int_equal(s.docker_host.kind, DOCKER_HOST_UNSET);
        assert_false(s.tls_verify);
        assert_null(s.cert_path);
        assert_string_equal(s.data_dir, "/mnt/k8s/docker");
        assert_int_equal(s.disk_warn, 80);
        assert_int_equal(s.disk_crit, 90);
        assert_int_equal(s.inode_warn, 80);
        assert_int_equal(s.inode_crit, 90);
        assert_true(s.write_warn_usec == 1 * SEC);
        assert_true(s.timeout_usec == 5 * SEC);
        assert_true(s.deadline_usec == 30 * SEC);
        assert_int_equal(s.cert_warn_days, 30);
        assert_int_equal(s.cert_crit_days, 7);
        assert_null(s.state_path);                 /* prune's, not read */
        node_settings_done(&s);
}

static void test_prune_defaults(void **state) {
        char *env[] = { HOST, NULL };
        struct node_settings s = {};
        struct check_list l = {};

        assert_int_equal(node_settings_read_prune(env, &s, &l), 0);
        assert_int_equal(l.n, 0);
        assert_int_equal(s.docker_host.kind, DOCKER_HOST_TCP);
        assert_string_equal(s.docker_host.text, "tcp://127.0.0.1:2375");
        assert_false(s.tls_verify);
        assert_null(s.cert_path);
        assert_string_equal(s.data_dir, "/mnt/k8s/docker");
        assert_int_equal(s.high, 80);
        assert_int_equal(s.low, 70);
        assert_int_equal(s.crit, 90);
        assert_int_equal(s.reserve, 10);
        assert_true(s.min_age_usec == 3600 * SEC);
        assert_true(s.timeout_usec == 60 * SEC);
        assert_string_equal(s.state_path, "/var/lib/dind-cache/prune-state.json");
        node_settings_done(&s);
}

static void test_values_as_written(void **state) {
        char *check_env[] = {
                "DOCKER_HOST=unix:///run/dind.sock", "DIND_CACHE_DATA_DIR=/srv/cache", "DIND_CACHE_DISK_WARN=70",
                "DIND_CACHE_DISK_CRIT=95", "DIND_CACHE_INODE_WARN=", "DIND_CACHE_INODE_CRIT=99",
                "DIND_CACHE_WRITE_WARN_MS=250", "DIND_CACHE_TIMEOUT=1500ms", "DIND_CACHE_DEADLINE=20",
                "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=/etc/dind-cache/pki/checker",
                "DIND_CACHE_CERT_WARN_DAYS=60", "DIND_CACHE_CERT_CRIT_DAYS=14", NULL,
        };
        char *prune_env[] = {
                "DOCKER_HOST=tcp://10.96.0.12:2376", "DOCKER_TLS_VERIFY=yes", "DOCKER_CERT_PATH=/etc/dind-cache/pki/checker",
                "DIND_CACHE_PRUNE_CERT_PATH=/srv/pki/pruner",
                "DIND_CACHE_DATA_DIR=/srv/cache", "DIND_CACHE_PRUNE_HIGH=60", "DIND_CACHE_PRUNE_LOW=1",
                "DIND_CACHE_PRUNE_CRIT=100", "DIND_CACHE_PRUNE_RESERVE=0", "DIND_CACHE_PRUNE_MIN_AGE=0s",
                "DIND_CACHE_PRUNE_STATE=/var/tmp/state.json", "DIND_CACHE_TIMEOUT=1h", NULL,
        };
        struct node_settings s = {};
        struct check_list l = {};

        assert_int_equal(node_settings_read_check(check_env, &s, &l), 0);
        assert_int_equal(s.docker_host.kind, DOCKER_HOST_UNIX);
        assert_string_equal(s.docker_host.socket_path, "/run/dind.sock");
        assert_string_equal(s.data_dir, "/srv/cache");
        assert_int_equal(s.disk_warn, 70);
        assert_int_equal(s.disk_crit, 95);
        assert_int_equal(s.inode_warn, 80);        /* an empty line: the default */
        assert_int_equal(s.inode_crit, 99);
        assert_true(s.write_warn_usec == 250000);
        assert_true(s.timeout_usec == 1500000);
        assert_true(s.deadline_usec == 20 * SEC);  /* a plain number is seconds */
        assert_true(s.tls_verify);
        assert_string_equal(s.cert_path, "/etc/dind-cache/pki/checker");
        assert_int_equal(s.cert_warn_days, 60);
        assert_int_equal(s.cert_crit_days, 14);
        node_settings_done(&s);

        assert_int_equal(node_settings_read_prune(prune_env, &s, &l), 0);
        assert_string_equal(s.docker_host.host, "10.96.0.12");
        assert_int_equal(s.docker_host.port, 2376);
        assert_true(s.tls_verify);
        assert_string_equal(s.cert_path, "/srv/pki/pruner");       /* its own, not the checker's */
        assert_int_equal(s.high, 60);
        assert_int_equal(s.low, 1);
        assert_int_equal(s.crit, 100);
        assert_int_equal(s.reserve, 0);
        assert_true(s.min_age_usec == 0);
        assert_true(s.timeout_usec == 3600 * SEC);
        assert_string_equal(s.state_path, "/var/tmp/state.json");
        node_settings_done(&s);
        assert_int_equal(l.n, 0);
}

/* The pruner presents its own identity: DIND_CACHE_PRUNE_CERT_PATH, by default the
 * PKI's pruner/ folder, never the checker's DOCKER_CERT_PATH. */
static void test_the_pruner_presents_its_own_certificate(void **state) {
        char *env[] = { "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=/etc/dind-cache/pki/checker", HOST, NULL };
        struct node_settings s = {};
        struct check_list l = {};

        assert_int_equal(node_settings_read_prune(env, &s, &l), 0);
        assert_string_equal(s.cert_path, SETTINGS_DEFAULT_PRUNE_CERT_PATH);
        assert_string_equal(s.cert_path, "/etc/dind-cache/pki/pruner");
        node_settings_done(&s);
        assert_int_equal(node_settings_read_check(env, &s, &l), 0);
        assert_string_equal(s.cert_path, "/etc/dind-cache/pki/checker");
        node_settings_done(&s);
}

/* As the Docker CLI reads it: DOCKER_TLS_VERIFY empty is unset, and without it
 * DOCKER_CERT_PATH is not read at all. */
static void test_tls_follows_the_docker_cli(void **state) {
        char *env[] = { "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH=relative", HOST, NULL };

        for (enum reader r = CHECK; r <= PRUNE; r++) {
                struct node_settings s = {};
                struct check_list l = {};

                assert_int_equal(read_settings(r, env, &s, &l), 0);
                assert_false(s.tls_verify);
                assert_null(s.cert_path);
                node_settings_done(&s);
        }
}

static const struct bad_case {
        enum reader reader;
        const char *env[3];
        const char *message;
} bad_cases[] = {
        { CHECK, { "DIND_CACHE_DISK_WARN=abc" }, "DIND_CACHE_DISK_WARN='abc' is not a percentage from 1 to 100" },
        { CHECK, { "DIND_CACHE_DISK_WARN=80%" }, "DIND_CACHE_DISK_WARN='80%' is not a percentage from 1 to 100" },
        { CHECK, { "DIND_CACHE_DISK_WARN=0" }, "DIND_CACHE_DISK_WARN='0' is not a percentage from 1 to 100" },
        { CHECK, { "DIND_CACHE_DISK_CRIT=101" }, "DIND_CACHE_DISK_CRIT='101' is not a percentage from 1 to 100" },
        { CHECK, { "DIND_CACHE_DISK_CRIT=-5" }, "DIND_CACHE_DISK_CRIT='-5' is not a percentage from 1 to 100" },
        { CHECK, { "DIND_CACHE_DISK_WARN=90" }, "DIND_CACHE_DISK_WARN=90 must be below DIND_CACHE_DISK_CRIT=90" },
        { CHECK, { "DIND_CACHE_DISK_CRIT=50" }, "DIND_CACHE_DISK_WARN=80 must be below DIND_CACHE_DISK_CRIT=50" },
        { CHECK, { "DIND_CACHE_INODE_WARN=99999999999999999999" },
          "DIND_CACHE_INODE_WARN='99999999999999999999' is not a percentage from 1 to 100" },
        { CHECK, { "DIND_CACHE_INODE_CRIT=1e2" }, "DIND_CACHE_INODE_CRIT='1e2' is not a percentage from 1 to 100" },
        { CHECK, { "DIND_CACHE_WRITE_WARN_MS=fast" },
          "DIND_CACHE_WRITE_WARN_MS='fast' is not a number of milliseconds from 1 to 3600000" },
        { CHECK, { "DIND_CACHE_WRITE_WARN_MS=0" },
          "DIND_CACHE_WRITE_WARN_MS='0' is not a number of milliseconds from 1 to 3600000" },
        { CHECK, { "DIND_CACHE_TIMEOUT=forever" },
          "DIND_CACHE_TIMEOUT='forever' is not a duration from 1ms to 10m (e.g. 5s, 500ms)" },
        { CHECK, { "DIND_CACHE_TIMEOUT=0" }, "DIND_CACHE_TIMEOUT='0' is not a duration from 1ms to 10m (e.g. 5s, 500ms)" },
        { CHECK, { "DIND_CACHE_DEADLINE=2h" }, "DIND_CACHE_DEADLINE='2h' is not a duration from 1ms to 1h (e.g. 5s, 500ms)" },
        { CHECK, { "DIND_CACHE_DATA_DIR=relative/dir" }, "DIND_CACHE_DATA_DIR='relative/dir' is not an absolute path" },
        { CHECK, { "DOCKER_HOST=ssh://node1" },
          "DOCKER_HOST='ssh://node1' is not supported: use tcp://HOST:PORT (a host name, an IPv4 address or an "
          "[IPv6] address; port 1 to 65535) or unix:///PATH (at most 107 bytes)" },
        { CHECK, { "DOCKER_HOST=tcp://[1]:2375" },
          "DOCKER_HOST='tcp://[1]:2375' is not supported: use tcp://HOST:PORT (a host name, an IPv4 address or an "
          "[IPv6] address; port 1 to 65535) or unix:///PATH (at most 107 bytes)" },
        { CHECK, { "DOCKER_HOST=tcp://h\xff:2375" }, "DOCKER_HOST='tcp://h\\xff:2375' is not valid UTF-8" },
        { CHECK, { "DOCKER_TLS_VERIFY=1" },
          "DOCKER_TLS_VERIFY is set but DOCKER_CERT_PATH='' is not an absolute path to a folder of ca.pem, "
          "cert.pem and key.pem" },
        { CHECK, { "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=pki/checker" },
          "DOCKER_TLS_VERIFY is set but DOCKER_CERT_PATH='pki/checker' is not an absolute path to a folder of "
          "ca.pem, cert.pem and key.pem" },
        { CHECK, { "DIND_CACHE_CERT_WARN_DAYS=soon" },
          "DIND_CACHE_CERT_WARN_DAYS='soon' is not a number of days from 1 to 3650" },
        { CHECK, { "DIND_CACHE_CERT_CRIT_DAYS=40" },
          "DIND_CACHE_CERT_CRIT_DAYS=40 must be below DIND_CACHE_CERT_WARN_DAYS=30" },
        { CHECK, { "DIND_CACHE_DEADLINE=1s\n[OK] all fine" },
          "DIND_CACHE_DEADLINE='1s\\n[OK] all fine' holds a control character" },

        { PRUNE, { "DOCKER_HOST=" }, "DOCKER_HOST is not set (tcp://HOST:PORT or unix:///PATH)" },
        { PRUNE, { "DOCKER_HOST=ssh://node" },
          "DOCKER_HOST='ssh://node' is not tcp://HOST:PORT (a host name, an IPv4 or [IPv6] address, port 1 to 65535) "
          "nor unix:///PATH" },
        { PRUNE, { "DIND_CACHE_PRUNE_LOW=80" }, "DIND_CACHE_PRUNE_LOW=80 must be below DIND_CACHE_PRUNE_HIGH=80" },
        { PRUNE, { "DIND_CACHE_PRUNE_HIGH=0" }, "DIND_CACHE_PRUNE_HIGH='0' is not a percentage from 1 to 100" },
        { PRUNE, { "DIND_CACHE_PRUNE_CRIT=101" }, "DIND_CACHE_PRUNE_CRIT='101' is not a percentage from 1 to 100" },
        { PRUNE, { "DIND_CACHE_PRUNE_HIGH=eighty" }, "DIND_CACHE_PRUNE_HIGH='eighty' is not a percentage from 1 to 100" },
        { PRUNE, { "DIND_CACHE_PRUNE_HIGH=95" }, "DIND_CACHE_PRUNE_HIGH=95 must be below DIND_CACHE_PRUNE_CRIT=90" },
        { PRUNE, { "DIND_CACHE_PRUNE_RESERVE=60" }, "DIND_CACHE_PRUNE_RESERVE='60' is not a percentage from 0 to 50" },
        { PRUNE, { "DIND_CACHE_PRUNE_MIN_AGE=soon" },
          "DIND_CACHE_PRUNE_MIN_AGE='soon' is not a duration from 0s to 720h (e.g. 30m, 1h)" },
        { PRUNE, { "DIND_CACHE_TIMEOUT=2h" }, "DIND_CACHE_TIMEOUT='2h' is not a duration from 1ms to 1h (e.g. 30m, 1h)" },
        { PRUNE, { "DIND_CACHE_DATA_DIR=relative/dir" }, "DIND_CACHE_DATA_DIR='relative/dir' is not an absolute path" },
        { PRUNE, { "DIND_CACHE_PRUNE_STATE=relative/path" }, "DIND_CACHE_PRUNE_STATE='relative/path' is not an absolute path" },
        { PRUNE, { "DOCKER_TLS_VERIFY=1", "DIND_CACHE_PRUNE_CERT_PATH=pki/pruner" },
          "DIND_CACHE_PRUNE_CERT_PATH='pki/pruner' is not an absolute path to a folder of ca.pem, cert.pem and "
          "key.pem (DOCKER_TLS_VERIFY is set)" },
        /* Control characters never reach a message raw: a value never forges a line. */
        { PRUNE, { "DIND_CACHE_PRUNE_HIGH=8\n0" }, "DIND_CACHE_PRUNE_HIGH='8\\n0' is not a percentage from 1 to 100" },
        { PRUNE, { "DIND_CACHE_DATA_DIR=/mnt/k8s/docker\n[OK] forged" },
          "DIND_CACHE_DATA_DIR='/mnt/k8s/docker\\n[OK] forged' holds a control character" },
};

static void test_each_bad_value_is_refused_naming_the_variable(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                const struct bad_case *c = &bad_cases[i];
                char *env[5] = {};
                size_t n = 0;

                for (size_t k = 0; k < ELEMENTSOF(c->env) && c->env[k]; k++)
                        env[n++] = (char *) c->env[k];
                env[n] = HOST;                  /* after the case's: the first one counts */
                struct node_settings s = { .data_dir = (char *) "untouched" };
                struct check_list l = {};

                assert_int_equal(read_settings(c->reader, env, &s, &l), -EINVAL);
                assert_string_equal(s.data_dir, "untouched");
                if (l.n != 1 || strcmp(l.items[0].message, c->message) != 0)
                        fail_msg("case %zu: %zu problems, the first '%s', not '%s'", i, l.n,
                                 l.n ? l.items[0].message : "", c->message);
                assert_string_equal(l.items[0].name, "settings");
                assert_int_equal(l.items[0].state, CHECK_UNKNOWN);
                assert_string_equal(l.items[0].message_id, MID_SETTINGS_INVALID);
                assert_string_equal(l.items[0].remedy,
                                    "fix the value in /etc/dind-cache/dind-cache.env (or the environment)");
                assert_int_equal(check_state_to_plugin_status(check_list_worst(&l)), 3);
                check_list_done(&l);
        }
}

/* check reports every bad value at once; prune stops at the first. */
static void test_check_names_every_problem_prune_the_first(void **state) {
        char *check_env[] = { "DIND_CACHE_DISK_WARN=x", "DIND_CACHE_INODE_CRIT=200", "DOCKER_HOST=ftp://x", NULL };
        char *prune_env[] = { HOST, "DIND_CACHE_PRUNE_CRIT=x", "DIND_CACHE_PRUNE_RESERVE=99",
                              "DIND_CACHE_PRUNE_STATE=state.json", NULL };
        struct node_settings s = {};
        struct check_list l = {};

        assert_int_equal(node_settings_read_check(check_env, &s, &l), -EINVAL);
        assert_int_equal(l.n, 3);
        check_list_done(&l);

        assert_int_equal(node_settings_read_prune(prune_env, &s, &l), -EINVAL);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].message, "DIND_CACHE_PRUNE_CRIT='x' is not a percentage from 1 to 100");
        check_list_done(&l);
}

/* A value that is not printable text is all check says, however many others are bad. */
static void test_text_that_is_no_setting_comes_first(void **state) {
        char *env[] = { "DIND_CACHE_DISK_WARN=abc", "DIND_CACHE_DISK_CRIT=9\x1b[2J0", NULL };
        struct node_settings s = {};
        struct check_list l = {};

        assert_int_equal(node_settings_read_check(env, &s, &l), -EINVAL);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].message, "DIND_CACHE_DISK_CRIT='9\\e[2J0' holds a control character");
        check_list_done(&l);
}

/* A bad value of a key one command reads never stops the other. */
static void test_each_command_reads_only_its_own_keys(void **state) {
        char *check_env[] = {           /* prune's keys, bad, and no DOCKER_HOST */
                "DIND_CACHE_PRUNE_HIGH=x", "DIND_CACHE_PRUNE_LOW=\x1b", "DIND_CACHE_PRUNE_RESERVE=99",
                "DIND_CACHE_PRUNE_MIN_AGE=x", "DIND_CACHE_PRUNE_STATE=relative", NULL,
        };
        char *prune_env[] = {           /* check's keys, bad */
                HOST, "DIND_CACHE_DISK_WARN=abc", "DIND_CACHE_INODE_CRIT=0", "DIND_CACHE_WRITE_WARN_MS=x",
                "DIND_CACHE_DEADLINE=forever", "DIND_CACHE_CERT_WARN_DAYS=x", "DIND_CACHE_CERT_CRIT_DAYS=9\x01", NULL,
        };
        struct node_settings s = {};
        struct check_list l = {};

        assert_int_equal(node_settings_read_check(check_env, &s, &l), 0);
        node_settings_done(&s);
        assert_int_equal(node_settings_read_prune(prune_env, &s, &l), 0);
        node_settings_done(&s);
        assert_int_equal(l.n, 0);
}

static void test_docker_host_forms(void **state) {
        static const struct {
                const char *value;
                enum docker_host_kind kind;
                const char *host;
                unsigned port;
                const char *socket_path;
        } cases[] = {
                { "tcp://10.96.0.12:2376", DOCKER_HOST_TCP, "10.96.0.12", 2376, NULL },
                { "tcp://docker-dind.kube-ops.svc", DOCKER_HOST_TCP, "docker-dind.kube-ops.svc", 2375, NULL },
                { "tcp://[fd00::12]:2376/", DOCKER_HOST_TCP, "[fd00::12]", 2376, NULL },
                { "unix:///run/docker.sock", DOCKER_HOST_UNIX, NULL, 0, "/run/docker.sock" },
                { "tcp://host:0", DOCKER_HOST_UNSET, NULL, 0, NULL },
                { "tcp://256.0.0.1:2375", DOCKER_HOST_UNSET, NULL, 0, NULL },
                { "unix://docker.sock", DOCKER_HOST_UNSET, NULL, 0, NULL },
                { "http://10.0.0.1:2375", DOCKER_HOST_UNSET, NULL, 0, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                for (enum reader r = CHECK; r <= PRUNE; r++) {
                        _cleanup_free_ char *var = strdup_printf("DOCKER_HOST=%s", cases[i].value);
                        char *env[] = { var, NULL };
                        struct node_settings s = {};
                        struct check_list l = {};

                        if (cases[i].kind == DOCKER_HOST_UNSET) {
                                assert_int_equal(read_settings(r, env, &s, &l), -EINVAL);
                                assert_int_equal(l.n, 1);
                                assert_non_null(strstr(l.items[0].message, "DOCKER_HOST='"));
                                check_list_done(&l);
                                continue;
                        }
                        assert_int_equal(read_settings(r, env, &s, &l), 0);
                        assert_int_equal(s.docker_host.kind, cases[i].kind);
                        assert_string_equal(s.docker_host.text, cases[i].value);
                        if (cases[i].host)
                                assert_string_equal(s.docker_host.host, cases[i].host);
                        assert_int_equal(s.docker_host.port, cases[i].port);
                        if (cases[i].socket_path)
                                assert_string_equal(s.docker_host.socket_path, cases[i].socket_path);
                        node_settings_done(&s);
                }
}

/* A long DOCKER_HOST is shown capped, and the problem still names it. */
static void test_a_long_value_is_shown_capped(void **state) {
        char value[10032] = "DOCKER_HOST=tcp://";
        char *env[] = { value, NULL };
        struct node_settings s = {};
        struct check_list l = {};

        memset(value + strlen(value), 'a', 10000);
        assert_int_equal(node_settings_read_check(env, &s, &l), -EINVAL);
        assert_int_equal(l.n, 1);
        assert_true(strlen(l.items[0].message) < 600);
        assert_non_null(strstr(l.items[0].message, "aaa...' is not supported"));
        check_list_done(&l);
}

/* Problems a caller already had do not count as this reading's. */
static void test_earlier_results_are_not_problems(void **state) {
        char *env[] = { HOST, NULL };
        struct node_settings s = {};
        struct check_list l = {};

        assert_non_null(check_list_add(&l, "earlier", CHECK_FAIL, NULL, "something else"));
        assert_int_equal(node_settings_read_check(env, &s, &l), 0);
        node_settings_done(&s);
        assert_int_equal(node_settings_read_prune(env, &s, &l), 0);
        node_settings_done(&s);
        assert_int_equal(l.n, 1);
        check_list_done(&l);
}

static void test_the_process_environment_by_default(void **state) {
        struct node_settings s = {};
        struct check_list l = {};

        assert_int_equal(setenv("DIND_CACHE_DISK_WARN", "42", 1), 0);
        assert_int_equal(setenv("DIND_CACHE_INSTANCE", "a", 1), 0);
        assert_int_equal(node_settings_read_check(NULL, &s, &l), 0);
        assert_int_equal(s.disk_warn, 42);
        assert_string_equal(node_settings_instance(NULL), "a");
        node_settings_done(&s);
        unsetenv("DIND_CACHE_DISK_WARN");
        unsetenv("DIND_CACHE_INSTANCE");
}

static void test_instance_and_metrics_directory(void **state) {
        char *unset[] = { "DIND_CACHE_INSTANCEX=z", "XDIND_CACHE_TEXTFILE_DIR=/x", NULL };
        char *empty[] = { "DIND_CACHE_INSTANCE=", "DIND_CACHE_TEXTFILE_DIR=", NULL };
        char *set[] = { "DIND_CACHE_INSTANCE=a", "DIND_CACHE_TEXTFILE_DIR=/srv/prom", "DIND_CACHE_INSTANCE=b", NULL };

        assert_null(node_settings_instance(unset));
        assert_null(node_settings_textfile_dir(unset));
        assert_null(node_settings_instance(empty));
        assert_string_equal(node_settings_textfile_dir(empty), "");   /* empty: no metrics */
        assert_string_equal(node_settings_instance(set), "a");        /* the first, as getenv() */
        assert_string_equal(node_settings_textfile_dir(set), "/srv/prom");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_check_defaults),
                cmocka_unit_test(test_prune_defaults),
                cmocka_unit_test(test_values_as_written),
                cmocka_unit_test(test_tls_follows_the_docker_cli),
                cmocka_unit_test(test_the_pruner_presents_its_own_certificate),
                cmocka_unit_test(test_each_bad_value_is_refused_naming_the_variable),
                cmocka_unit_test(test_check_names_every_problem_prune_the_first),
                cmocka_unit_test(test_text_that_is_no_setting_comes_first),
                cmocka_unit_test(test_each_command_reads_only_its_own_keys),
                cmocka_unit_test(test_docker_host_forms),
                cmocka_unit_test(test_a_long_value_is_shown_capped),
                cmocka_unit_test(test_earlier_results_are_not_problems),
                cmocka_unit_test(test_the_process_environment_by_default),
                cmocka_unit_test(test_instance_and_metrics_directory),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
