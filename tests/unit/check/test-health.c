/* SPDX-License-Identifier: MIT */
/* The checker's threshold arithmetic, the summary line, checks that need neither disk
 * nor daemon, and the daemon's verdicts against a canned one. (Its settings, as an
 * operator writes them in the env file: base/test-settings.c.) */
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

#include "check/health.h"
#include "base/message-ids.h"

static void test_thresholds(void **state) {
        assert_int_equal(health_threshold_state(0, 80, 90), CHECK_OK);
        assert_int_equal(health_threshold_state(79, 80, 90), CHECK_OK);
        assert_int_equal(health_threshold_state(80, 80, 90), CHECK_WARN);
        assert_int_equal(health_threshold_state(89, 80, 90), CHECK_WARN);
        assert_int_equal(health_threshold_state(90, 80, 90), CHECK_FAIL);
        assert_int_equal(health_threshold_state(100, 80, 90), CHECK_FAIL);
}

static void test_percent_used_rounds_up_like_df(void **state) {
        assert_int_equal(percent_used(0, 100), 0);
        assert_int_equal(percent_used(1, 99), 1);
        assert_int_equal(percent_used(1, 999), 1);    /* 0.1% shows as 1% */
        assert_int_equal(percent_used(80, 20), 80);
        assert_int_equal(percent_used(801, 199), 81);
        assert_int_equal(percent_used(100, 0), 100);
        assert_int_equal(percent_used(0, 0), 0);
        assert_int_equal(percent_used(UINT64_MAX / 2, UINT64_MAX / 2), 50);
        assert_int_equal(percent_used(UINT64_MAX, 1), 0); /* overflow: not a crash */
}

static void test_summary_lists_what_is_not_ok_worst_first(void **state) {
        struct check_list l = {};
        char *s;

        assert_non_null(check_list_add(&l, "mount", CHECK_OK, NULL, "mounted"));
        assert_non_null(check_list_add(&l, "write_probe", CHECK_WARN, NULL, "write took 2.0s (warn 1.0s)"));
        assert_non_null(check_list_add(&l, "disk_usage", CHECK_FAIL, NULL, "disk /mnt/k8s/docker 93%% used (crit 90%%)"));
        assert_non_null(check_list_add(&l, "fs_type", CHECK_OK, NULL, "xfs"));
        s = health_summary(&l);
        assert_string_equal(s, "dind-cache check CRITICAL: disk /mnt/k8s/docker 93% used (crit 90%); "
                               "write took 2.0s (warn 1.0s); 2 OK");
        free(s);
        check_list_done(&l);

        assert_non_null(check_list_add(&l, "mount", CHECK_OK, NULL, "mounted"));
        assert_non_null(check_list_add(&l, "d_type", CHECK_SKIP, NULL, "read-only"));
        s = health_summary(&l);
        assert_string_equal(s, "dind-cache check OK: 1 OK, 1 skipped");
        free(s);
        check_list_done(&l);
}

static void test_missing_data_dir_is_critical(void **state) {
        struct node_settings s = { .data_dir = (char *) "/nonexistent/dind-cache", .disk_warn = 80,
                                     .disk_crit = 90, .timeout_usec = 1000000, .deadline_usec = 5000000 };
        struct check_list l = {};
        char *fs_type = NULL;

        assert_int_equal(health_check_disk(&s, now_usec() + s.deadline_usec, &l, &fs_type), 0);
        assert_null(fs_type);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].name, "data_dir");
        assert_int_equal(l.items[0].state, CHECK_FAIL);
        assert_string_equal(l.items[0].message_id, MID_DATA_DIR_MISSING);
        check_list_done(&l);
}

static void test_no_docker_host_is_a_warning(void **state) {
        struct node_settings s = { .timeout_usec = 1000000, .deadline_usec = 5000000 };
        struct check_list l = {};

        assert_int_equal(health_check_daemon(&s, "xfs", now_usec() + s.deadline_usec, &l), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].name, "daemon");
        assert_int_equal(l.items[0].state, CHECK_WARN);
        assert_non_null(strstr(l.items[0].message, "DOCKER_HOST is not set"));
        check_list_done(&l);
}

static void test_a_passed_deadline_skips_the_daemon_as_unknown(void **state) {
        struct node_settings s = { .timeout_usec = 1000000, .deadline_usec = 1000000 };
        struct check_list l = {};

        assert_int_equal(docker_host_parse("tcp://127.0.0.1:9", &s.docker_host), 0);

        assert_int_equal(health_check_daemon(&s, "xfs", now_usec() - 1, &l), 0);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.items[0].state, CHECK_UNKNOWN);
        assert_string_equal(l.items[0].message_id, MID_DEADLINE_PASSED);
        check_list_done(&l);
        docker_host_done(&s.docker_host);
}

/* A canned Docker Engine API on a unix socket: answers /_ping, /info and /version
 * with the bodies of the case being run, one request per connection. */
struct fake_daemon {
        int fd;
        char path[108];
        const char *info;
        pthread_t thread;
};

static void *fake_daemon_serve(void *userdata) {
        struct fake_daemon *d = userdata;
        for (;;) {
                char req[2048], resp[4096];
                const char *body = "{}";
                ssize_t n, got = 0;
                int c = accept(d->fd, NULL, NULL);

                if (c < 0)
                        return NULL;
                while (got < (ssize_t) sizeof(req) - 1 &&
                       (n = read(c, req + got, sizeof(req) - 1 - (size_t) got)) > 0) {
                        got += n;
                        req[got] = '\0';
                        if (strstr(req, "\r\n\r\n"))
                                break;
                }
                req[got] = '\0';
                if (strncmp(req, "GET /_ping ", 11) == 0)
                        body = "OK";
                else if (strncmp(req, "GET /info ", 10) == 0)
                        body = d->info;
                else if (strncmp(req, "GET /version ", 13) == 0)
                        body = "{\"Version\":\"29.0.1\",\"ApiVersion\":\"1.52\"}";
                snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n%s", strlen(body), body);
                (void) !write(c, resp, strlen(resp));
                close(c);
        }
}

static void fake_daemon_start(struct fake_daemon *d, const char *info) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dir[] = "/tmp/test-health-XXXXXX";

        assert_non_null(mkdtemp(dir));
        snprintf(d->path, sizeof(d->path), "%s/docker.sock", dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->path);
        d->info = info;
        d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(d->fd >= 0);
        assert_int_equal(bind(d->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(d->fd, 8), 0);
        assert_int_equal(pthread_create(&d->thread, NULL, fake_daemon_serve, d), 0);
}

static void fake_daemon_stop(struct fake_daemon *d) {
        char *slash;

        shutdown(d->fd, SHUT_RDWR);
        close(d->fd);
        pthread_join(d->thread, NULL);
        unlink(d->path);
        slash = strrchr(d->path, '/');
        *slash = '\0';
        rmdir(d->path);
}

/* Runs the daemon checks against INFO as /info with the data dir on FS_TYPE; returns the
 * storage_driver result's state and copies its MESSAGE_ID into RET_MID. */
static enum check_state driver_state(const char *info, const char *fs_type, char ret_mid[33]) {
        struct fake_daemon d = {};
        struct check_list l = {};
        char host[128];
        const struct check_result *r;
        enum check_state st;

        fake_daemon_start(&d, info);
        snprintf(host, sizeof(host), "unix://%s", d.path);
        struct node_settings s = { .timeout_usec = 2000000, .deadline_usec = 10000000 };
        assert_int_equal(docker_host_parse(host, &s.docker_host), 0);
        assert_int_equal(health_check_daemon(&s, fs_type, now_usec() + s.deadline_usec, &l), 0);
        fake_daemon_stop(&d);
        docker_host_done(&s.docker_host);

        assert_non_null(check_list_find(&l, "daemon"));
        assert_int_equal(check_list_find(&l, "daemon")->state, CHECK_OK);
        assert_non_null(r = check_list_find(&l, "storage_driver"));
        st = r->state;
        snprintf(ret_mid, 33, "%s", r->message_id);
        assert_non_null(r = check_list_find(&l, "daemon_version"));
        assert_string_equal(r->value, "1.52");
        check_list_done(&l);
        return st;
}

static void test_storage_driver_verdicts(void **state) {
        static const struct {
                const char *info, *fs_type;
                enum check_state state;
                const char *mid;
        } cases[] = {
                { "{\"Driver\":\"overlay2\",\"DriverStatus\":[[\"Backing Filesystem\",\"xfs\"],"
                  "[\"Supports d_type\",\"true\"]]}", "xfs", CHECK_OK, MID_DRIVER_OK },
                { "{\"Driver\":\"overlay2\",\"DriverStatus\":[[\"Backing Filesystem\",\"extfs\"],"
                  "[\"Supports d_type\",\"true\"]]}", "ext4", CHECK_OK, MID_DRIVER_OK },
                { "{\"Driver\":\"overlayfs\",\"DriverStatus\":[[\"driver-type\","
                  "\"io.containerd.snapshotter.v1\"]]}", "xfs", CHECK_OK, MID_DRIVER_OK },
                { "{\"Driver\":\"vfs\",\"DriverStatus\":[]}", "xfs", CHECK_FAIL, MID_DRIVER_VFS },
                { "{\"Driver\":\"overlay2\",\"DriverStatus\":[[\"Backing Filesystem\",\"xfs\"],"
                  "[\"Supports d_type\",\"false\"]]}", "xfs", CHECK_FAIL, MID_DAEMON_DTYPE_MISSING },
                { "{\"Driver\":\"overlay2\",\"DriverStatus\":[[\"Backing Filesystem\",\"extfs\"],"
                  "[\"Supports d_type\",\"true\"]]}", "xfs", CHECK_FAIL, MID_BACKING_FS_MISMATCH },
                { "{\"Driver\":\"overlayfs\",\"DriverStatus\":[]}", "xfs", CHECK_WARN, MID_DRIVER_UNEXPECTED },
                { "{\"Driver\":\"btrfs\"}", "btrfs", CHECK_WARN, MID_DRIVER_UNEXPECTED },
                { "not json", "xfs", CHECK_UNKNOWN, MID_INFO_FAILED },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char mid[33];
                assert_int_equal(driver_state(cases[i].info, cases[i].fs_type, mid), cases[i].state);
                assert_string_equal(mid, cases[i].mid);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_thresholds),
                cmocka_unit_test(test_percent_used_rounds_up_like_df),
                cmocka_unit_test(test_summary_lists_what_is_not_ok_worst_first),
                cmocka_unit_test(test_missing_data_dir_is_critical),
                cmocka_unit_test(test_no_docker_host_is_a_warning),
                cmocka_unit_test(test_a_passed_deadline_skips_the_daemon_as_unknown),
                cmocka_unit_test(test_storage_driver_verdicts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
