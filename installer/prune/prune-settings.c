/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "prune/prune-settings.h"
#include "base/text.h"
#include "docker/docker.h"
#include "docker/docker-prune.h"
#include "base/util.h"

/* A message naming NAME and its VALUE (cleaned of control characters, capped). */
static int problem_for(char **problem, const char *name, const char *value, const char *fmt, ...) _printf_(4, 5);
static int problem_for(char **problem, const char *name, const char *value, const char *fmt, ...) {
        _cleanup_free_ char *clean = text_sanitize_line(value, 64), *rest = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&rest, fmt, ap) < 0)
                rest = NULL;
        va_end(ap);
        if (!clean || !rest)
                return -ENOMEM;
        *problem = strdup_printf("%s='%s' %s", name, clean, rest);
        return *problem ? -EINVAL : -ENOMEM;
}

static const char *env(const char *name) {
        const char *v = getenv(name);
        return isempty(v) ? NULL : v;
}

static int percent(const char *name, int def, int min, int *ret, char **problem) {
        const char *v = env(name);
        long n;

        if (!v) {
                *ret = def;
                return 0;
        }
        if (parse_int_range(v, min, 100, &n) < 0)
                return problem_for(problem, name, v, "is not a percentage from %d to 100", min);
        *ret = (int) n;
        return 0;
}

static int duration(const char *name, uint64_t def, uint64_t min, uint64_t max, uint64_t *ret, char **problem) {
        const char *v = env(name);
        char a[32], b[32];
        uint64_t u;

        if (!v) {
                *ret = def;
                return 0;
        }
        if (parse_duration(v, &u) < 0 || u < min || u > max)
                return problem_for(problem, name, v, "is not a duration from %s to %s (e.g. 30m, 1h)",
                                   min ? format_duration(min, a, sizeof(a)) : "0s", format_duration(max, b, sizeof(b)));
        *ret = u;
        return 0;
}

int prune_settings_from_env(struct prune_settings *ret, char **ret_problem) {
        struct prune_settings s = {};
        char *problem = NULL;
        const char *v;
        int r;

        v = env("DOCKER_HOST");
        if (!v) {
                *ret_problem = strdup("DOCKER_HOST is not set (tcp://HOST:PORT or unix:///PATH)");
                return *ret_problem ? -EINVAL : -ENOMEM;
        }
        /* Every setting reaches messages and the journal: printable text only. */
        {
                static const char *const names[] = { "DOCKER_HOST", "DOCKER_CERT_PATH", "DIND_CACHE_DATA_DIR",
                                                     "DIND_CACHE_PRUNE_STATE" };
                for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                        const char *val = env(names[i]), *why = val ? text_setting_problem(val) : NULL;
                        if (why)
                                return problem_for(ret_problem, names[i], val, "%s", why);
                }
        }
        {
                _cleanup_free_ char *url = NULL, *socket_path = NULL;
                r = docker_host_parse(v, &url, &socket_path);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return problem_for(ret_problem, "DOCKER_HOST", v,
                                           "is not tcp://HOST:PORT (a host name, an IPv4 or [IPv6] address, "
                                           "port 1 to 65535) nor unix:///PATH");
        }

        r = percent("DIND_CACHE_PRUNE_HIGH", 80, 1, &s.high, &problem);
        if (r >= 0)
                r = percent("DIND_CACHE_PRUNE_LOW", 70, 1, &s.low, &problem);
        if (r >= 0)
                r = percent("DIND_CACHE_PRUNE_CRIT", 90, 1, &s.crit, &problem);
        if (r >= 0 && s.low >= s.high) {
                problem = strdup_printf("DIND_CACHE_PRUNE_LOW=%d must be below DIND_CACHE_PRUNE_HIGH=%d", s.low, s.high);
                r = problem ? -EINVAL : -ENOMEM;
        }
        if (r >= 0 && s.high >= s.crit) {
                problem = strdup_printf("DIND_CACHE_PRUNE_HIGH=%d must be below DIND_CACHE_PRUNE_CRIT=%d", s.high, s.crit);
                r = problem ? -EINVAL : -ENOMEM;
        }
        if (r >= 0) {
                long n = 10;
                v = env("DIND_CACHE_PRUNE_RESERVE");
                if (v && parse_int_range(v, 0, 50, &n) < 0)
                        r = problem_for(&problem, "DIND_CACHE_PRUNE_RESERVE", v, "is not a percentage from 0 to 50");
                s.reserve = (int) n;
        }
        if (r >= 0)
                r = duration("DIND_CACHE_PRUNE_MIN_AGE", 3600ULL * 1000000, 0, 30ULL * 24 * 3600 * 1000000,
                             &s.min_age_usec, &problem);
        if (r >= 0)
                r = duration("DIND_CACHE_TIMEOUT", 60ULL * 1000000, 1000, 3600ULL * 1000000, &s.timeout_usec,
                             &problem);
        if (r >= 0) {
                v = env("DIND_CACHE_DATA_DIR");
                if (v && v[0] != '/')
                        r = problem_for(&problem, "DIND_CACHE_DATA_DIR", v, "is not an absolute path");
        }
        if (r >= 0 && env("DOCKER_TLS_VERIFY")) {
                v = env("DOCKER_CERT_PATH");
                if (!v || v[0] != '/')
                        r = problem_for(&problem, "DOCKER_CERT_PATH", v ?: "",
                                        "is not an absolute path to a folder of ca.pem, cert.pem and key.pem "
                                        "(DOCKER_TLS_VERIFY is set)");
        }
        if (r >= 0) {
                v = env("DIND_CACHE_PRUNE_STATE");
                if (v && v[0] != '/')
                        r = problem_for(&problem, "DIND_CACHE_PRUNE_STATE", v, "is not an absolute path");
        }
        if (r < 0) {
                if (r == -EINVAL)
                        *ret_problem = problem;
                else
                        free(problem);
                return r;
        }

        s.docker_host = strdup(env("DOCKER_HOST"));
        if (env("DOCKER_TLS_VERIFY")) {
                s.cert_path = strdup(env("DOCKER_CERT_PATH"));
                if (!s.cert_path) {
                        prune_settings_done(&s);
                        return -ENOMEM;
                }
        }
        s.data_dir = strdup(env("DIND_CACHE_DATA_DIR") ?: PRUNE_DEFAULT_DATA_DIR);
        s.state_path = strdup(env("DIND_CACHE_PRUNE_STATE") ?: PRUNE_DEFAULT_STATE);
        if (!s.docker_host || !s.data_dir || !s.state_path) {
                prune_settings_done(&s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

void prune_settings_done(struct prune_settings *s) {
        free(s->docker_host);
        free(s->cert_path);
        free(s->data_dir);
        free(s->state_path);
        *s = (struct prune_settings) {};
}
