/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "docker/docker.h"
#include "check/health-private.h"
#include "check/health.h"
#include "base/message-ids.h"

#define SETTINGS_REMEDY "fix the value in /etc/dind-cache/dind-cache.env (or the environment)"

struct check_result *health_add(struct check_list *l, const char *name, enum check_state state,
                                const char *message_id, const char *remedy, const char *fmt, ...) {
        struct check_result *r;
        va_list ap;

        va_start(ap, fmt);
        r = check_list_addv(l, name, state, remedy, fmt, ap);
        va_end(ap);
        if (r)
                r->message_id = message_id;
        return r;
}

uint64_t health_time_left(uint64_t deadline) {
        uint64_t now = now_usec();
        return now < deadline ? deadline - now : 0;
}

uint64_t health_call_timeout(uint64_t timeout, uint64_t deadline) {
        uint64_t left = health_time_left(deadline);
        uint64_t t = timeout < left ? timeout : left;
        return t < 1000 ? 1000 : t;
}

int health_add_deadline_passed(struct check_list *l, const char *name, uint64_t deadline_usec) {
        char buf[32];
        return health_add(l, name, CHECK_UNKNOWN, MID_DEADLINE_PASSED,
                          "find what is slow (disk or daemon), or raise DIND_CACHE_DEADLINE",
                          "%s not checked: the run's deadline of %s passed", name,
                          format_duration(deadline_usec, buf, sizeof(buf))) ? 0 : -ENOMEM;
}

char *health_format_latency(uint64_t usec, char *buf, size_t size) {
        if (usec < 10000)
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "ms", usec / 1000, (usec % 1000) / 100);
        else if (usec < 1000000)
                snprintf(buf, size, "%" PRIu64 "ms", (usec + 500) / 1000);
        else
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "s", usec / 1000000, (usec % 1000000) / 100000);
        return buf;
}

/* A variable's value, NULL when unset or empty (an empty line in the env file). */
static const char *env(const char *name) {
        const char *v = getenv(name);
        return isempty(v) ? NULL : v;
}

static int add_problem(struct check_list *problems, const char *fmt, ...) _printf_(2, 3);
static int add_problem(struct check_list *problems, const char *fmt, ...) {
        struct check_result *r;
        va_list ap;

        va_start(ap, fmt);
        r = check_list_addv(problems, "settings", CHECK_UNKNOWN, SETTINGS_REMEDY, fmt, ap);
        va_end(ap);
        if (!r)
                return -ENOMEM;
        r->message_id = MID_SETTINGS_INVALID;
        return -EINVAL;
}

static int parse_percent(const char *name, const char *value, int def, int *ret,
                         struct check_list *problems) {
        long v;

        if (!value) {
                *ret = def;
                return 0;
        }
        if (parse_int_range(value, 1, 100, &v) < 0)
                return add_problem(problems, "%s='%.64s' is not a percentage from 1 to 100", name, value);
        *ret = (int) v;
        return 0;
}

int health_parse_thresholds(const char *warn_name, const char *warn_value, int warn_default,
                            const char *crit_name, const char *crit_value, int crit_default,
                            int *ret_warn, int *ret_crit, struct check_list *problems) {
        int warn = 0, crit = 0, r, q;

        r = parse_percent(warn_name, warn_value, warn_default, &warn, problems);
        q = parse_percent(crit_name, crit_value, crit_default, &crit, problems);
        if (r < 0 || q < 0)
                return r == -ENOMEM || q == -ENOMEM ? -ENOMEM : -EINVAL;
        if (warn >= crit)
                return add_problem(problems, "%s=%d must be below %s=%d", warn_name, warn, crit_name, crit);
        *ret_warn = warn;
        *ret_crit = crit;
        return 0;
}

static int parse_duration_setting(const char *name, uint64_t def, uint64_t max, uint64_t *ret,
                                  struct check_list *problems) {
        const char *value = env(name);
        char buf[32];
        uint64_t v;

        if (!value) {
                *ret = def;
                return 0;
        }
        if (parse_duration(value, &v) < 0 || v < 1000 || v > max)
                return add_problem(problems, "%s='%.64s' is not a duration from 1ms to %s (e.g. 5s, 500ms)",
                                   name, value, format_duration(max, buf, sizeof(buf)));
        *ret = v;
        return 0;
}

/* Every setting is text a person wrote: printable UTF-8, else refused here, echoed
 * escaped (a newline in a value must not forge a line of the report). */
static int check_setting_text(struct check_list *problems) {
        static const char *const names[] = {
                "DOCKER_HOST", "DIND_CACHE_DATA_DIR", "DIND_CACHE_DISK_WARN", "DIND_CACHE_DISK_CRIT",
                "DIND_CACHE_INODE_WARN", "DIND_CACHE_INODE_CRIT", "DIND_CACHE_WRITE_WARN_MS",
                "DIND_CACHE_TIMEOUT", "DIND_CACHE_DEADLINE", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
                "DIND_CACHE_CERT_WARN_DAYS", "DIND_CACHE_CERT_CRIT_DAYS",
        };
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const char *v = env(names[i]), *why = v ? text_setting_problem(v) : NULL;
                _cleanup_free_ char *shown = NULL;

                if (!why)
                        continue;
                shown = text_escape(v, 256);
                if (!shown || add_problem(problems, "%s='%s' %s", names[i], shown, why) == -ENOMEM)
                        return -ENOMEM;
                r = -EINVAL;
        }
        return r;
}

static int parse_days(const char *name, int def, int *ret, struct check_list *problems) {
        const char *value = env(name);
        long v;

        *ret = def;
        if (!value)
                return 0;
        if (parse_int_range(value, 1, 3650, &v) < 0)
                return add_problem(problems, "%s='%.64s' is not a number of days from 1 to 3650", name, value);
        *ret = (int) v;
        return 0;
}

int health_settings_from_env(struct health_settings *ret, struct check_list *problems) {
        struct health_settings s = {};
        size_t n_before = problems->n;
        const char *host = env("DOCKER_HOST"), *dir = env("DIND_CACHE_DATA_DIR"), *ms, *cert_path;
        long write_ms = 1000;
        int r;

        r = check_setting_text(problems);
        if (r < 0)
                return r;

        r = health_parse_thresholds("DIND_CACHE_DISK_WARN", env("DIND_CACHE_DISK_WARN"), 80,
                                    "DIND_CACHE_DISK_CRIT", env("DIND_CACHE_DISK_CRIT"), 90,
                                    &s.disk_warn, &s.disk_crit, problems);
        if (r == -ENOMEM)
                return r;
        r = health_parse_thresholds("DIND_CACHE_INODE_WARN", env("DIND_CACHE_INODE_WARN"), 80,
                                    "DIND_CACHE_INODE_CRIT", env("DIND_CACHE_INODE_CRIT"), 90,
                                    &s.inode_warn, &s.inode_crit, problems);
        if (r == -ENOMEM)
                return r;

        ms = env("DIND_CACHE_WRITE_WARN_MS");
        if (ms && parse_int_range(ms, 1, 3600 * 1000, &write_ms) < 0 &&
            add_problem(problems, "DIND_CACHE_WRITE_WARN_MS='%.64s' is not a number of milliseconds "
                        "from 1 to 3600000", ms) == -ENOMEM)
                return -ENOMEM;
        s.write_warn_usec = (uint64_t) write_ms * 1000;

        if (parse_duration_setting("DIND_CACHE_TIMEOUT", 5 * 1000000ULL, 600 * 1000000ULL,
                                   &s.timeout_usec, problems) == -ENOMEM ||
            parse_duration_setting("DIND_CACHE_DEADLINE", 30 * 1000000ULL, 3600 * 1000000ULL,
                                   &s.deadline_usec, problems) == -ENOMEM)
                return -ENOMEM;

        if (dir && dir[0] != '/' &&
            add_problem(problems, "DIND_CACHE_DATA_DIR='%.256s' is not an absolute path", dir) == -ENOMEM)
                return -ENOMEM;

        if (host) {
                _cleanup_free_ char *url = NULL, *socket_path = NULL;
                r = docker_host_parse(host, &url, &socket_path);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && add_problem(problems, "DOCKER_HOST='%.256s%s' is not supported: use "
                                         "tcp://HOST:PORT (a host name, an IPv4 address or an [IPv6] "
                                         "address; port 1 to 65535) or unix:///PATH (at most 107 bytes)",
                                         host, strlen(host) > 256 ? "..." : "") == -ENOMEM)
                        return -ENOMEM;
        }

        s.tls_verify = env("DOCKER_TLS_VERIFY") != NULL;
        cert_path = env("DOCKER_CERT_PATH");
        if (s.tls_verify && (!cert_path || cert_path[0] != '/') &&
            add_problem(problems, "DOCKER_TLS_VERIFY is set but DOCKER_CERT_PATH='%.256s' is not an absolute "
                        "path to a folder of ca.pem, cert.pem and key.pem", cert_path ?: "") == -ENOMEM)
                return -ENOMEM;
        if (parse_days("DIND_CACHE_CERT_WARN_DAYS", 30, &s.cert_warn_days, problems) == -ENOMEM ||
            parse_days("DIND_CACHE_CERT_CRIT_DAYS", 7, &s.cert_crit_days, problems) == -ENOMEM)
                return -ENOMEM;
        if (s.cert_crit_days >= s.cert_warn_days &&
            add_problem(problems, "DIND_CACHE_CERT_CRIT_DAYS=%d must be below DIND_CACHE_CERT_WARN_DAYS=%d",
                        s.cert_crit_days, s.cert_warn_days) == -ENOMEM)
                return -ENOMEM;

        if (problems->n > n_before)
                return -EINVAL;

        s.data_dir = strdup(dir ? dir : HEALTH_DEFAULT_DATA_DIR);
        s.docker_host = host ? strdup(host) : NULL;
        s.cert_path = s.tls_verify ? strdup(cert_path) : NULL;
        if (!s.data_dir || (host && !s.docker_host) || (s.tls_verify && !s.cert_path)) {
                health_settings_done(&s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

void health_settings_done(struct health_settings *s) {
        free(s->docker_host);
        free(s->data_dir);
        free(s->cert_path);
        *s = (struct health_settings) {};
}

enum check_state health_threshold_state(int percent, int warn, int crit) {
        if (percent >= crit)
                return CHECK_FAIL;
        if (percent >= warn)
                return CHECK_WARN;
        return CHECK_OK;
}

int health_run_figures(const struct health_settings *s, struct check_list *l,
                       struct health_figures *ret) {
        _cleanup_free_ char *fs_type = NULL;
        uint64_t deadline = now_usec() + s->deadline_usec;
        int r;

        *ret = (struct health_figures) { .daemon_up = -1 };
        r = health_check_disk_figures(s, deadline, l, &fs_type, ret);
        if (r < 0)
                return r;
        r = health_check_daemon_figures(s, fs_type, deadline, l, ret);
        if (r < 0)
                return r;
        r = health_check_plaintext_port(s, deadline, l);
        if (r < 0)
                return r;
        return health_check_certs(s, l, ret);
}

/* Appends "; " and S to *BUF (a growing string). */
static int append(char **buf, size_t *len, const char *s) {
        size_t n = strlen(s);
        char *grown = realloc(*buf, *len + n + 3);

        if (!grown)
                return -ENOMEM;
        *buf = grown;
        if (*len > 0 && grown[*len - 1] != ' ') {
                memcpy(grown + *len, "; ", 2);
                *len += 2;
        }
        memcpy(grown + *len, s, n + 1);
        *len += n;
        return 0;
}

char *health_summary(const struct check_list *l) {
        static const enum check_state order[] = { CHECK_FAIL, CHECK_UNKNOWN, CHECK_WARN };
        enum check_state worst = check_list_worst(l);
        _cleanup_free_ char *buf = strdup_printf("dind-cache check %s: ", check_state_to_plugin_string(worst));
        size_t len = buf ? strlen(buf) : 0;
        size_t n_ok = check_list_count(l, CHECK_OK), n_skip = check_list_count(l, CHECK_SKIP);
        char counts[64];

        if (!buf)
                return NULL;
        for (size_t o = 0; o < ELEMENTSOF(order); o++)
                for (size_t i = 0; i < l->n; i++)
                        if (l->items[i].state == order[o] && append(&buf, &len, l->items[i].message) < 0)
                                return NULL;
        if (n_skip > 0)
                snprintf(counts, sizeof(counts), "%zu OK, %zu skipped", n_ok, n_skip);
        else
                snprintf(counts, sizeof(counts), "%zu OK", n_ok);
        if (append(&buf, &len, counts) < 0)
                return NULL;
        return TAKE_PTR(buf);
}
