/* SPDX-License-Identifier: MIT */
/* docker/docker.h and the daemon verdict of check/health-daemon.c: any /info and
 * /version body (the input, split at "\n---8<---\n") is parsed without crashing or
 * leaking, and the storage-driver verdict follows the rules; any DOCKER_HOST value (the
 * input's first line) gives a usable host or -EINVAL, as a model says, and the node's
 * settings (base/settings.h), which parse it for check and prune, agree. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>

#include "fuzz.h"
#include "base/settings.h"
#include "base/text.h"
/* The verdict (check_driver) is static: the harness includes its source (and the
 * Makefile leaves that object out of this harness's link). */
#include "check/health-daemon.c"

#define STRING_MAX 256     /* docker.c's DOCKER_MAX_STRING */

static const char *const fs_types[] = { NULL, "xfs", "ext4", "btrfs", "tmpfs" };

static void driver_verdict(const struct docker_info *info, const char *fs_type) {
        struct check_list l = {};
        const struct check_result *res;
        const char *want = docker_fs_name(fs_type);
        bool overlay = streq(info->driver, "overlay2") || (streq(info->driver, "overlayfs") && info->containerd_store);
        enum check_state expect;
        char *summary;

        FUZZ_ASSERT(check_driver(info, fs_type, &l) == 0);
        FUZZ_ASSERT(l.n == 1);
        res = check_list_find(&l, "storage_driver");
        FUZZ_ASSERT(res && res->message && streq(res->value, info->driver));
        if (streq(info->driver, "vfs"))
                expect = CHECK_FAIL;
        else if (!overlay)
                expect = CHECK_WARN;
        else if (info->supports_d_type == 0)
                expect = CHECK_FAIL;
        else if (info->backing_fs && want && !streq(info->backing_fs, want))
                expect = CHECK_FAIL;
        else
                expect = CHECK_OK;
        FUZZ_ASSERT(res->state == expect);
        /* The daemon's strings reach the message capped and cleaned: one short line. */
        FUZZ_ASSERT(fuzz_no_control(res->message, NULL) && strlen(res->message) < 3 * STRING_MAX + 256);
        FUZZ_ASSERT(fuzz_no_control(res->value, NULL) && strlen(res->value) <= STRING_MAX);
        summary = health_summary(&l);
        FUZZ_ASSERT(summary && fuzz_no_control(summary, "\n"));
        free(summary);
        check_list_done(&l);
}

/* A string from the daemon as it must leave the parser: at most STRING_MAX bytes,
 * valid UTF-8, no control character. */
static bool clean_max(const char *s, size_t max) {
        return !s || (strlen(s) <= max && fuzz_no_control(s, NULL) && fuzz_utf8_valid(s, strlen(s)));
}

static bool clean(const char *s) {
        return clean_max(s, STRING_MAX);
}

/* The model of a tcp:// DOCKER_HOST: HOST[:PORT][/], HOST a bracketed IPv6 address, an
 * IPv4 address (only digits and dots), or a host name (labels of 1 to 63 of
 * [A-Za-z0-9_-], not starting or ending with '-', 253 in all); PORT 1 to 65535. Gives
 * the URL it stands for, or NULL; *RET_CANONICAL: the port (if any) has no leading
 * zero, so the parser must accept it when the model does. */
static char *model_tcp(const char *s, bool *ret_canonical) {
        char host[300], *url = NULL;
        const char *end;
        long port = 2375;

        *ret_canonical = true;
        if (*s == '[') {
                struct in6_addr a6;
                end = strchr(s, ']');
                if (!end || (size_t) (end - s) >= sizeof(host))
                        return NULL;
                memcpy(host, s + 1, (size_t) (end - s - 1));
                host[end - s - 1] = '\0';
                if (inet_pton(AF_INET6, host, &a6) != 1)
                        return NULL;
                end++;
        } else {
                size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
                if (n == 0 || n > 253)
                        return NULL;
                memcpy(host, s, n);
                host[n] = '\0';
                end = s + n;
                if (strspn(host, "0123456789.") == n) {
                        struct in_addr a4;
                        if (inet_pton(AF_INET, host, &a4) != 1)
                                return NULL;
                } else {
                        for (const char *l = host;;) {
                                size_t len = strcspn(l, ".");
                                if (len == 0 || len > 63 || l[0] == '-' || l[len - 1] == '-')
                                        return NULL;
                                if (!l[len])
                                        break;
                                l += len + 1;
                        }
                }
        }
        if (*end == ':') {
                size_t n = strspn(end + 1, "0123456789");
                if (n == 0)
                        return NULL;
                *ret_canonical = end[1] != '0' && n <= 5;
                port = 0;
                for (size_t i = 1; i <= n; i++) {
                        port = port * 10 + (end[i] - '0');
                        if (port > 65535)
                                return NULL;
                }
                if (port == 0)
                        return NULL;
                end += n + 1;
        }
        if (*end == '/')
                end++;
        if (*end)
                return NULL;
        if (asprintf(&url, "http://%s%s%s:%ld", *s == '[' ? "[" : "", host, *s == '[' ? "]" : "", port) < 0)
                abort();
        return url;
}

/* What the node's settings make of DOCKER_HOST=TEXT: refused exactly when the parser
 * refuses it or it is not printable text, else the host the parser gave. */
static void settings_agree(const char *text, int parsed, const struct docker_host *h) {
        _cleanup_free_ char *var = NULL;
        struct node_settings s = {};
        struct check_list l = {};
        bool refused = parsed < 0 || text_setting_problem(text);
        int r;

        if (asprintf(&var, "DOCKER_HOST=%s", text) < 0)
                abort();
        r = node_settings_read_check((char *const[]) { var, NULL }, &s, &l);
        if (!*text) {
                FUZZ_ASSERT(r == 0 && s.docker_host.kind == DOCKER_HOST_UNSET);
        } else if (refused) {
                FUZZ_ASSERT(r == -EINVAL && l.n == 1 && strstr(l.items[0].message, "DOCKER_HOST="));
                FUZZ_ASSERT(fuzz_no_control(l.items[0].message, NULL) && strlen(l.items[0].message) < 2048);
        } else {
                FUZZ_ASSERT(r == 0 && s.docker_host.kind == h->kind && streq(s.docker_host.text, text));
                FUZZ_ASSERT(s.docker_host.port == h->port);
        }
        node_settings_done(&s);
        check_list_done(&l);
}

static void docker_host(const char *text) {
        struct docker_host h = { .kind = 99 };
        char *url = NULL, *model = NULL;
        bool canonical = false;
        int r = docker_host_parse(text, &h);

        FUZZ_ASSERT(r == 0 || r == -EINVAL);
        settings_agree(text, r, &h);
        if (r < 0) {
                FUZZ_ASSERT(h.kind == 99 && !h.text && !h.host && !h.socket_path);   /* untouched */
                h = (struct docker_host) {};
        } else
                url = docker_host_base_url(&h);
        if (strncmp(text, "tcp://", 6) == 0) {
                /* Only a well-formed host passes ("tcp://[1]:2375" and 10,000-character
                 * hosts did), and every well-formed one does. */
                model = model_tcp(text + 6, &canonical);
                if (r == 0)
                        FUZZ_ASSERT(model && strcmp(url, model) == 0);
                else
                        FUZZ_ASSERT(!model || !canonical);
                free(model);
        }
        if (r < 0)
                return;
        FUZZ_ASSERT(url && strncmp(url, "http://", 7) == 0);
        FUZZ_ASSERT(fuzz_no_control(url, NULL) && !strchr(url, ' '));
        FUZZ_ASSERT(streq(h.text, text));
        if (strncmp(text, "unix://", 7) == 0)
                FUZZ_ASSERT(h.kind == DOCKER_HOST_UNIX && h.socket_path && h.socket_path[0] == '/' &&
                            strlen(h.socket_path) < 108 && !h.host);
        else
                FUZZ_ASSERT(h.kind == DOCKER_HOST_TCP && !h.socket_path && h.port >= 1 &&
                            strncmp(text, "tcp://", 6) == 0);
        free(url);
        docker_host_done(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *a, *b;
        size_t a_size, b_size;
        struct docker_info info = {};
        struct docker_version version = {};
        char *line;
        int r;

        fuzz_split(data, size, &a, &a_size, &b, &b_size);

        r = docker_info_parse((const char *) a, a_size, &info);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        if (r == 0) {
                FUZZ_ASSERT(info.driver);
                FUZZ_ASSERT(info.supports_d_type >= -1 && info.supports_d_type <= 1);
                FUZZ_ASSERT(!info.containerd_store || info.driver_type);
                FUZZ_ASSERT(clean(info.driver) && clean(info.backing_fs) && clean(info.driver_type) &&
                            clean(info.server_version) && clean_max(info.root_dir, PATH_MAX));
                for (size_t i = 0; i < ELEMENTSOF(fs_types); i++)
                        driver_verdict(&info, fs_types[i]);
                docker_info_done(&info);
        }

        r = docker_version_parse((const char *) b, b_size, &version);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        if (r == 0) {
                FUZZ_ASSERT(version.api_version);
                FUZZ_ASSERT(clean(version.api_version) && clean(version.version));
                docker_version_done(&version);
        }

        {
                const uint8_t *nl = memchr(data, '\n', size);
                line = fuzz_strndup(data, nl ? (size_t) (nl - data) : size);
        }
        docker_host(line);
        free(line);
        return 0;
}
