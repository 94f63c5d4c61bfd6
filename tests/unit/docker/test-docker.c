/* SPDX-License-Identifier: MIT */
/* What the checker learns from a daemon: /info and /version bodies as real daemons
 * send them, hostile bodies that must never crash it, and what the one request helper
 * makes of each status a daemon answers with. (DOCKER_HOST forms: base/test-docker-host.c.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/http.h"
#include "base/util.h"
#include "docker/docker.h"

/* A client of TEXT (a DOCKER_HOST value), as the settings hand it over. */
static struct docker_client *client_for(const char *text) {
        _cleanup_(docker_host_done) struct docker_host h = {};
        struct docker_client *c = NULL;

        assert_int_equal(docker_host_parse(text, &h), 0);
        assert_int_equal(docker_client_new(&h, &c), 0);
        return c;
}

/* Trimmed from dockerd 20.10 on xfs (ftype=1). */
static const char INFO_OVERLAY2_XFS[] =
        "{\"ID\":\"X\",\"Containers\":0,\"Driver\":\"overlay2\","
        "\"DriverStatus\":[[\"Backing Filesystem\",\"xfs\"],[\"Supports d_type\",\"true\"],"
        "[\"Native Overlay Diff\",\"true\"],[\"userxattr\",\"false\"]],"
        "\"DockerRootDir\":\"/var/lib/docker\",\"ServerVersion\":\"20.10.24+dfsg1\"}";

static const char INFO_VFS[] =
        "{\"Driver\":\"vfs\",\"DriverStatus\":[],\"DockerRootDir\":\"/mnt/k8s/docker\","
        "\"ServerVersion\":\"20.10.24\"}";

/* Docker 29 with the containerd image store. */
static const char INFO_CONTAINERD[] =
        "{\"Driver\":\"overlayfs\",\"DriverStatus\":[[\"driver-type\",\"io.containerd.snapshotter.v1\"]],"
        "\"DockerRootDir\":\"/var/lib/docker\",\"ServerVersion\":\"29.0.1\"}";

static const char INFO_NO_DTYPE[] =
        "{\"Driver\":\"overlay2\",\"DriverStatus\":[[\"Backing Filesystem\",\"xfs\"],"
        "[\"Supports d_type\",\"false\"]]}";

static void test_info_overlay2_on_xfs_with_d_type(void **state) {
        struct docker_info i = {};

        assert_int_equal(docker_info_parse(INFO_OVERLAY2_XFS, strlen(INFO_OVERLAY2_XFS), &i), 0);
        assert_string_equal(i.driver, "overlay2");
        assert_string_equal(i.backing_fs, "xfs");
        assert_int_equal(i.supports_d_type, 1);
        assert_false(i.containerd_store);
        assert_string_equal(i.root_dir, "/var/lib/docker");
        assert_string_equal(i.server_version, "20.10.24+dfsg1");
        docker_info_done(&i);
}

static void test_info_vfs(void **state) {
        struct docker_info i = {};

        assert_int_equal(docker_info_parse(INFO_VFS, strlen(INFO_VFS), &i), 0);
        assert_string_equal(i.driver, "vfs");
        assert_null(i.backing_fs);
        assert_int_equal(i.supports_d_type, -1);
        docker_info_done(&i);
}

static void test_info_containerd_image_store(void **state) {
        struct docker_info i = {};

        assert_int_equal(docker_info_parse(INFO_CONTAINERD, strlen(INFO_CONTAINERD), &i), 0);
        assert_string_equal(i.driver, "overlayfs");
        assert_string_equal(i.driver_type, "io.containerd.snapshotter.v1");
        assert_true(i.containerd_store);
        assert_null(i.backing_fs);
        docker_info_done(&i);
}

static void test_info_without_d_type(void **state) {
        struct docker_info i = {};

        assert_int_equal(docker_info_parse(INFO_NO_DTYPE, strlen(INFO_NO_DTYPE), &i), 0);
        assert_int_equal(i.supports_d_type, 0);
        docker_info_done(&i);
}

static void test_hostile_info_never_crashes(void **state) {
        static const char *const bodies[] = {
                "", "null", "[]", "\"overlay2\"", "{", "{}", "{\"Driver\":1}", "{\"Driver\":null}",
                "{\"Driver\":\"overlay2\",\"Driver\":\"vfs\"}",
                "{\"Driver\":\"overlay2\",\"DriverStatus\":\"x\"}",
                "{\"Driver\":\"overlay2\",\"DriverStatus\":[1,null,[],[\"a\"],[1,2],{\"a\":1},"
                "[\"Backing Filesystem\"],[\"Supports d_type\",true]]}",
                "{\"Driver\":\"overlay2\",\"DockerRootDir\":[],\"ServerVersion\":{}}",
                "{\"Driver\":\"overlay2\",\"DriverStatus\":[[\"Backing Filesystem\",\"xfs\"],"
                "[\"Backing Filesystem\",\"tmpfs\"]]}",
                "{\"Driver\":\"\\u0000vfs\"}",
                "{\"Driver\":\"overlay2\"} trailing",
                "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        };
        for (size_t k = 0; k < sizeof(bodies) / sizeof(bodies[0]); k++) {
                struct docker_info i = {};
                int r = docker_info_parse(bodies[k], strlen(bodies[k]), &i);
                assert_true(r == 0 || r == -EBADMSG);
                if (r == 0) {
                        assert_non_null(i.driver);
                        docker_info_done(&i);
                }
        }
        /* The first "Backing Filesystem" wins; a non-string d_type is "not reported". */
        struct docker_info i = {};
        assert_int_equal(docker_info_parse(bodies[12], strlen(bodies[12]), &i), 0);
        assert_string_equal(i.backing_fs, "xfs");
        docker_info_done(&i);
        assert_int_equal(docker_info_parse(bodies[10], strlen(bodies[10]), &i), 0);
        assert_int_equal(i.supports_d_type, -1);
        assert_null(i.backing_fs);
        docker_info_done(&i);
        /* Size is respected: a body cut short is not JSON. */
        assert_int_equal(docker_info_parse(INFO_OVERLAY2_XFS, 20, &i), -EBADMSG);
}

static void test_daemon_strings_are_capped_and_cleaned(void **state) {
        size_t big = 1 << 20;
        char *body = malloc(big + 128), *p = body;
        struct docker_info i = {};
        struct docker_version v = {};
        static const char version[] = "{\"Version\":\"\\u001b[2J1.0\\n[OK]\",\"ApiVersion\":\"1.4\\u00851\"}";

        assert_non_null(body);
        p += sprintf(p, "{\"Driver\":\"");
        memset(p, 'x', big);
        p += big;
        sprintf(p, "\",\"DriverStatus\":[[\"Backing Filesystem\",\"xfs\\u001b]0;t\\u0007\"]]}");
        assert_int_equal(docker_info_parse(body, strlen(body), &i), 0);
        free(body);
        assert_true(strlen(i.driver) <= 256);
        assert_string_equal(i.backing_fs, "xfs?]0;t?");
        docker_info_done(&i);

        assert_int_equal(docker_version_parse(version, strlen(version), &v), 0);
        assert_string_equal(v.version, "?[2J1.0?[OK]");
        assert_string_equal(v.api_version, "1.4?1");
        docker_version_done(&v);
}

static void test_version(void **state) {
        static const char body[] = "{\"Version\":\"20.10.24+dfsg1\",\"ApiVersion\":\"1.41\","
                                   "\"MinAPIVersion\":\"1.12\",\"Os\":\"linux\"}";
        struct docker_version v = {};

        assert_int_equal(docker_version_parse(body, strlen(body), &v), 0);
        assert_string_equal(v.version, "20.10.24+dfsg1");
        assert_string_equal(v.api_version, "1.41");
        docker_version_done(&v);

        assert_int_equal(docker_version_parse("{\"Version\":\"1\"}", 15, &v), -EBADMSG);
        assert_int_equal(docker_version_parse("{\"ApiVersion\":1.41}", 19, &v), -EBADMSG);
        assert_int_equal(docker_version_parse("OK", 2, &v), -EBADMSG);
}

static void test_unreachable_daemon_fails_fast(void **state) {
        struct docker_client *c = NULL;
        uint64_t rtt = 0;

        c = client_for("unix:///nonexistent/docker.sock");
        docker_client_set_timeout(c, 1000000);
        assert_true(docker_ping(c, &rtt) < 0);
        assert_non_null(strstr(docker_client_last_error(c), "/nonexistent/docker.sock"));
        docker_client_free(c);
}

static void test_tls_failures_are_named(void **state) {
        assert_string_equal(docker_tls_failure_reason("SSL certificate problem: unable to get local issuer certificate"),
                            "unknown CA");
        assert_string_equal(docker_tls_failure_reason("SSL: no alternative certificate subject name matches target "
                                                      "host name '10.96.0.12'"), "name mismatch");
        assert_string_equal(docker_tls_failure_reason("SSL certificate problem: certificate has expired"), "expired");
        assert_string_equal(docker_tls_failure_reason("OpenSSL SSL_read: OpenSSL/3.0.22: error:0A000412:SSL "
                                                      "routines::sslv3 alert bad certificate, errno 0"),
                            "client certificate refused");
        assert_string_equal(docker_tls_failure_reason("getpeername() failed with errno 107: Transport endpoint "
                                                      "is not connected"), "client certificate refused");
        assert_string_equal(docker_tls_failure_reason("OpenSSL/3.0.22: error:0A00010B:SSL routines::wrong version "
                                                      "number"), "TLS handshake failed");
        assert_null(docker_tls_failure_reason("Failed to connect to 10.0.0.1 port 2376: Connection refused"));
        assert_null(docker_tls_failure_reason(""));
        assert_null(docker_tls_failure_reason(NULL));
}

static void put_file(const char *dir, const char *name, const char *data) {
        _cleanup_free_ char *p = strdup_printf("%s/%s", dir, name);
        assert_int_equal(write_file_atomic(p, data, strlen(data), 0600), 1);
}

static void test_tls_needs_a_tcp_host(void **state) {
        struct docker_client *c = NULL;
        char dir[] = "/tmp/docker-tls-XXXXXX";
        _cleanup_free_ char *bad = NULL, *fifo = NULL;

        assert_non_null(mkdtemp(dir));
        c = client_for("unix:///run/docker.sock");
        assert_int_equal(docker_client_set_tls(c, dir, NULL), -EINVAL);
        docker_client_free(c);
        c = client_for("tcp://10.0.0.1:2376");
        assert_int_equal(docker_client_set_tls(c, "", NULL), -EINVAL);

        /* The files are read here: a missing one is named, a FIFO refused at once. */
        put_file(dir, "ca.pem", "-----BEGIN CERTIFICATE-----\n");
        put_file(dir, "cert.pem", "-----BEGIN CERTIFICATE-----\n");
        assert_int_equal(docker_client_set_tls(c, dir, &bad), -ENOENT);
        assert_non_null(strstr(bad, "/key.pem"));
        fifo = strdup_printf("%s/key.pem", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        free(bad);
        bad = NULL;
        assert_int_equal(docker_client_set_tls(c, dir, &bad), -EBADFD);
        assert_string_equal(bad, fifo);
        assert_int_equal(unlink(fifo), 0);
        /* Not a key: the reader only needs a regular file (split so no scanner takes it for one). */
        put_file(dir, "key.pem", "-----BEGIN " "PRIVATE KEY-----\n");
        assert_int_equal(docker_client_set_tls(c, dir, NULL), 0);
        docker_client_free(c);

        for (const char *const *f = (const char *const[]) { "ca.pem", "cert.pem", "key.pem", NULL }; *f; f++) {
                _cleanup_free_ char *p = strdup_printf("%s/%s", dir, *f);
                unlink(p);
        }
        rmdir(dir);
}

static void test_an_unset_host_has_no_client(void **state) {
        struct docker_client *c = NULL;

        assert_int_equal(docker_client_new(&(struct docker_host) {}, &c), -EINVAL);
        assert_null(c);
}

/* A daemon on a unix socket that answers every request with STATUS and BODY, one
 * request per connection, and keeps the last request line. */
struct canned_daemon {
        int fd;
        char dir[32], path[64];
        int status;
        const char *body;
        char request[256];
        pthread_t thread;
};

static void *canned_serve(void *userdata) {
        struct canned_daemon *d = userdata;

        for (;;) {
                char req[2048], resp[2048];
                ssize_t n, got = 0;
                int c = accept(d->fd, NULL, NULL);

                if (c < 0)
                        return NULL;
                while (got < (ssize_t) sizeof(req) - 1 && (n = read(c, req + got, sizeof(req) - 1 - (size_t) got)) > 0) {
                        got += n;
                        req[got] = '\0';
                        if (strstr(req, "\r\n\r\n"))
                                break;
                }
                req[got] = '\0';
                snprintf(d->request, sizeof(d->request), "%.*s", (int) strcspn(req, "\r"), req);
                snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         d->status, strlen(d->body), d->body);
                (void) !write(c, resp, strlen(resp));
                close(c);
        }
}

static struct docker_client *canned_start(struct canned_daemon *d) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *host = NULL;

        snprintf(d->dir, sizeof(d->dir), "/tmp/test-docker-XXXXXX");
        assert_non_null(mkdtemp(d->dir));
        snprintf(d->path, sizeof(d->path), "%s/docker.sock", d->dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->path);
        d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(d->fd >= 0);
        assert_int_equal(bind(d->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(d->fd, 8), 0);
        assert_int_equal(pthread_create(&d->thread, NULL, canned_serve, d), 0);
        host = strdup_printf("unix://%s", d->path);
        return client_for(host);
}

static void canned_stop(struct canned_daemon *d) {
        shutdown(d->fd, SHUT_RDWR);
        close(d->fd);
        pthread_join(d->thread, NULL);
        unlink(d->path);
        rmdir(d->dir);
}

static void test_each_status_is_an_error_of_its_own(void **state) {
        static const struct {
                int status;
                const char *body;
                int error;
                const char *last_error;
        } cases[] = {
                { 200, "{\"Version\":\"28.5.2\",\"ApiVersion\":\"1.51\"}", 0, "" },
                { 404, "{\"message\":\"page not found\"}", -ENOENT, "GET /version: HTTP status 404: page not found" },
                { 409, "{\"message\":\"conflict: unable to delete\"}", -EBUSY,
                  "GET /version: HTTP status 409: conflict: unable to delete" },
                { 500, "{\"message\":\"boom\\u001b[2J\"}", -EPROTO, "GET /version: HTTP status 500: boom?[2J" },
                { 503, "not json", -EPROTO, "GET /version: HTTP status 503" },
                { 200, "[1]", -EBADMSG, "GET /version: not a JSON object with an \"ApiVersion\"" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct canned_daemon d = { .status = cases[i].status, .body = cases[i].body };
                struct docker_client *c = canned_start(&d);
                struct docker_version v = {};

                docker_client_set_timeout(c, 5000000);
                assert_int_equal(docker_get_version(c, &v), cases[i].error);
                assert_string_equal(docker_client_last_error(c), cases[i].last_error);
                assert_string_equal(d.request, "GET /version HTTP/1.1");
                docker_version_done(&v);

                /* A version, once set, prefixes every path. */
                assert_int_equal(docker_client_set_api_version(c, "1.51"), 0);
                assert_int_equal(docker_request(c, "DELETE", "/images/x", 0, NULL), cases[i].error == -EBADMSG ? 0 :
                                 cases[i].error);
                assert_string_equal(d.request, "DELETE /v1.51/images/x HTTP/1.1");
                docker_client_free(c);
                canned_stop(&d);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_an_unset_host_has_no_client),
                cmocka_unit_test(test_each_status_is_an_error_of_its_own),
                cmocka_unit_test(test_tls_failures_are_named),
                cmocka_unit_test(test_tls_needs_a_tcp_host),
                cmocka_unit_test(test_info_overlay2_on_xfs_with_d_type),
                cmocka_unit_test(test_info_vfs),
                cmocka_unit_test(test_info_containerd_image_store),
                cmocka_unit_test(test_info_without_d_type),
                cmocka_unit_test(test_hostile_info_never_crashes),
                cmocka_unit_test(test_daemon_strings_are_capped_and_cleaned),
                cmocka_unit_test(test_version),
                cmocka_unit_test(test_unreachable_daemon_fails_fast),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
