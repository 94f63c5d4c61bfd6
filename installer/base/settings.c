/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/message-ids.h"
#include "base/settings.h"
#include "base/text.h"
#include "base/util.h"

#define REMEDY "fix the value in " SETTINGS_ENV_FILE " (or the environment)"
#define NUMBER_SHOWN 64           /* bytes of a refused number, duration, ... shown */
#define TEXT_SHOWN 256            /* bytes of a refused path or address shown */
#define SEC 1000000ULL            /* microseconds */

/* How each command words a refused DOCKER_HOST and DOCKER_CERT_PATH (kept as each
 * has always said it). */
#define CHECK_HOST_REFUSED "is not supported: use tcp://HOST:PORT (a host name, an IPv4 address or an [IPv6] " \
                           "address; port 1 to 65535) or unix:///PATH (at most 107 bytes)"
#define PRUNE_HOST_REFUSED "is not tcp://HOST:PORT (a host name, an IPv4 or [IPv6] address, port 1 to 65535) " \
                           "nor unix:///PATH"
#define CHECK_DURATIONS "5s, 500ms"
#define PRUNE_DURATIONS "30m, 1h"

enum key {
        KEY_DOCKER_HOST,
        KEY_TLS_VERIFY,
        KEY_CERT_PATH,
        KEY_DATA_DIR,
        KEY_TIMEOUT,
        KEY_DEADLINE,
        KEY_DISK_WARN,
        KEY_DISK_CRIT,
        KEY_INODE_WARN,
        KEY_INODE_CRIT,
        KEY_WRITE_WARN_MS,
        KEY_CERT_WARN_DAYS,
        KEY_CERT_CRIT_DAYS,
        KEY_PRUNE_HIGH,
        KEY_PRUNE_LOW,
        KEY_PRUNE_CRIT,
        KEY_PRUNE_RESERVE,
        KEY_PRUNE_MIN_AGE,
        KEY_PRUNE_STATE,
        KEY_STATE_DIRECTORY,
        KEY_PRUNE_CERT_PATH,
        KEY_AUTHZ_SOCKET,
        _KEY_MAX,
};

static const char *const key_names[_KEY_MAX] = {
        [KEY_DOCKER_HOST] = "DOCKER_HOST",
        [KEY_TLS_VERIFY] = "DOCKER_TLS_VERIFY",
        [KEY_CERT_PATH] = "DOCKER_CERT_PATH",
        [KEY_DATA_DIR] = "DIND_CACHE_DATA_DIR",
        [KEY_TIMEOUT] = "DIND_CACHE_TIMEOUT",
        [KEY_DEADLINE] = "DIND_CACHE_DEADLINE",
        [KEY_DISK_WARN] = "DIND_CACHE_DISK_WARN",
        [KEY_DISK_CRIT] = "DIND_CACHE_DISK_CRIT",
        [KEY_INODE_WARN] = "DIND_CACHE_INODE_WARN",
        [KEY_INODE_CRIT] = "DIND_CACHE_INODE_CRIT",
        [KEY_WRITE_WARN_MS] = "DIND_CACHE_WRITE_WARN_MS",
        [KEY_CERT_WARN_DAYS] = "DIND_CACHE_CERT_WARN_DAYS",
        [KEY_CERT_CRIT_DAYS] = "DIND_CACHE_CERT_CRIT_DAYS",
        [KEY_PRUNE_HIGH] = "DIND_CACHE_PRUNE_HIGH",
        [KEY_PRUNE_LOW] = "DIND_CACHE_PRUNE_LOW",
        [KEY_PRUNE_CRIT] = "DIND_CACHE_PRUNE_CRIT",
        [KEY_PRUNE_RESERVE] = "DIND_CACHE_PRUNE_RESERVE",
        [KEY_PRUNE_MIN_AGE] = "DIND_CACHE_PRUNE_MIN_AGE",
        [KEY_PRUNE_STATE] = "DIND_CACHE_PRUNE_STATE",
        [KEY_STATE_DIRECTORY] = "STATE_DIRECTORY",
        [KEY_PRUNE_CERT_PATH] = SETTINGS_KEY_PRUNE_CERT_PATH,
        [KEY_AUTHZ_SOCKET] = SETTINGS_KEY_AUTHZ_SOCKET,
};

/* One command's reading of the settings. */
struct reading {
        char *const *env;
        struct check_list *problems;
        size_t n_before;          /* problems there before this reading */
        bool first_only;          /* keep only the first problem (prune) */
        bool oom;
};

/* NAME's value in ENV (environ when NULL), the first if it is there twice, as getenv(). */
static const char *lookup(char *const *env, const char *name) {
        size_t n = strlen(name);

        for (env = env ?: environ; env && *env; env++)
                if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
                        return *env + n + 1;
        return NULL;
}

/* K's value, NULL when unset or empty (an empty line in the env file). */
static const char *value(const struct reading *rd, enum key k) {
        const char *v = lookup(rd->env, key_names[k]);
        return isempty(v) ? NULL : v;
}

static bool failed(const struct reading *rd) {
        return rd->oom || rd->problems->n > rd->n_before;
}

static void problem(struct reading *rd, const char *fmt, ...) _printf_(2, 3);
static void problem(struct reading *rd, const char *fmt, ...) {
        struct check_result *r;
        va_list ap;

        if (rd->oom || (rd->first_only && failed(rd)))
                return;
        va_start(ap, fmt);
        r = check_list_addv(rd->problems, "settings", CHECK_UNKNOWN, REMEDY, fmt, ap);
        va_end(ap);
        if (r)
                r->message_id = MID_SETTINGS_INVALID;
        else
                rd->oom = true;
}

/* The problem "KEY='VALUE' REST", at most MAX bytes of VALUE shown, escaped. */
static void refuse(struct reading *rd, enum key k, const char *v, size_t max, const char *fmt, ...) _printf_(5, 6);
static void refuse(struct reading *rd, enum key k, const char *v, size_t max, const char *fmt, ...) {
        _cleanup_free_ char *shown = text_escape(v, max), *rest = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&rest, fmt, ap) < 0)
                rest = NULL;
        va_end(ap);
        if (!shown || !rest) {
                rd->oom = true;
                return;
        }
        problem(rd, "%s='%s' %s", key_names[k], shown, rest);
}

/* Every setting is text a person wrote: printable UTF-8, else refused here, echoed
 * escaped (a newline in a value must not forge a line of the report). */
static void check_text(struct reading *rd, const enum key *keys, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const char *v = value(rd, keys[i]), *why = v ? text_setting_problem(v) : NULL;

                if (why)
                        refuse(rd, keys[i], v, TEXT_SHOWN, "%s", why);
        }
}

/* K as an integer from MIN to MAX, WHAT ("a percentage") in the problem. *RET is DEF
 * when unset or refused; false when refused. */
static bool read_int(struct reading *rd, enum key k, int def, int min, int max, const char *what, int *ret) {
        const char *v = value(rd, k);
        long n;

        *ret = def;
        if (!v)
                return true;
        if (parse_int_range(v, min, max, &n) < 0) {
                refuse(rd, k, v, NUMBER_SHOWN, "is not %s from %d to %d", what, min, max);
                return false;
        }
        *ret = (int) n;
        return true;
}

static bool read_percent(struct reading *rd, enum key k, int def, int *ret) {
        return read_int(rd, k, def, 1, 100, "a percentage", ret);
}

static void must_be_below(struct reading *rd, enum key a, int va, enum key b, int vb) {
        if (va >= vb)
                problem(rd, "%s=%d must be below %s=%d", key_names[a], va, key_names[b], vb);
}

/* A WARN and CRIT pair of percentages, WARN below CRIT. */
static void read_thresholds(struct reading *rd, enum key warn, int warn_def, enum key crit, int crit_def,
                            int *ret_warn, int *ret_crit) {
        bool ok = read_percent(rd, warn, warn_def, ret_warn);

        if (read_percent(rd, crit, crit_def, ret_crit) && ok)
                must_be_below(rd, warn, *ret_warn, crit, *ret_crit);
}

/* K as a Go duration from MIN to MAX; EXAMPLES in the problem. */
static void read_duration(struct reading *rd, enum key k, uint64_t def, uint64_t min, uint64_t max,
                          const char *examples, uint64_t *ret) {
        const char *v = value(rd, k);
        char a[32], b[32];
        uint64_t u;

        *ret = def;
        if (!v)
                return;
        if (parse_duration(v, &u) < 0 || u < min || u > max)
                refuse(rd, k, v, NUMBER_SHOWN, "is not a duration from %s to %s (e.g. %s)",
                       format_duration(min, a, sizeof(a)), format_duration(max, b, sizeof(b)), examples);
        else
                *ret = u;
}

/* K as an absolute path, DEF when unset. */
static const char *read_path(struct reading *rd, enum key k, const char *def) {
        const char *v = value(rd, k);

        if (!v)
                return def;
        if (v[0] != '/')
                refuse(rd, k, v, TEXT_SHOWN, "is not an absolute path");
        return v;
}

/* DOCKER_HOST, parsed here once for all who use it; REFUSED words a bad one. */
static void read_docker_host(struct reading *rd, const char *refused, struct docker_host *ret) {
        const char *v = value(rd, KEY_DOCKER_HOST);
        int r;

        if (!v)
                return;
        r = docker_host_parse(v, ret);
        if (r == -ENOMEM)
                rd->oom = true;
        else if (r < 0)
                refuse(rd, KEY_DOCKER_HOST, v, TEXT_SHOWN, "%s", refused);
}

/* DOCKER_TLS_VERIFY, and with it the certificate folder K (DEF when unset, or NULL:
 * needed), worded BEFORE ... AFTER. */
static const char *read_tls(struct reading *rd, enum key k, const char *def, const char *before, const char *after,
                            bool *ret_verify) {
        const char *v = value(rd, k);
        _cleanup_free_ char *shown = NULL;

        *ret_verify = value(rd, KEY_TLS_VERIFY) != NULL;
        if (!*ret_verify)
                return NULL;
        if (!v && def)
                return def;
        if (v && v[0] == '/')
                return v;
        shown = text_escape(v ?: "", TEXT_SHOWN);
        if (!shown)
                rd->oom = true;
        else
                problem(rd, "%s%s='%s' is not an absolute path to a folder of ca.pem, cert.pem and key.pem%s", before,
                        key_names[k], shown, after);
        return NULL;
}

/* *FIELD = a copy of V (NULL stays NULL). */
static void copy(struct reading *rd, const char *v, char **field) {
        if (v && !(*field = strdup(v)))
                rd->oom = true;
}

/* RET takes S when the reading found nothing wrong. */
static int finish(struct reading *rd, struct node_settings *s, struct node_settings *ret) {
        if (failed(rd)) {
                node_settings_done(s);
                return rd->oom ? -ENOMEM : -EINVAL;
        }
        *ret = *s;
        *s = (struct node_settings) {};
        return 0;
}

int node_settings_read_check(char *const *env, struct node_settings *ret, struct check_list *problems) {
        static const enum key text_keys[] = {
                KEY_DOCKER_HOST, KEY_DATA_DIR, KEY_DISK_WARN, KEY_DISK_CRIT, KEY_INODE_WARN, KEY_INODE_CRIT,
                KEY_WRITE_WARN_MS, KEY_TIMEOUT, KEY_DEADLINE, KEY_TLS_VERIFY, KEY_CERT_PATH, KEY_CERT_WARN_DAYS,
                KEY_CERT_CRIT_DAYS, KEY_STATE_DIRECTORY, KEY_AUTHZ_SOCKET,
        };
        struct reading rd = { .env = env, .problems = problems, .n_before = problems->n };
        struct node_settings s = {};
        const char *data_dir, *cert_path, *state_dir, *authz_socket, *authz_set;
        int write_ms;

        check_text(&rd, text_keys, ELEMENTSOF(text_keys));
        if (failed(&rd))
                return finish(&rd, &s, ret);

        read_thresholds(&rd, KEY_DISK_WARN, 80, KEY_DISK_CRIT, 90, &s.disk_warn, &s.disk_crit);
        read_thresholds(&rd, KEY_INODE_WARN, 80, KEY_INODE_CRIT, 90, &s.inode_warn, &s.inode_crit);
        read_int(&rd, KEY_WRITE_WARN_MS, 1000, 1, 3600 * 1000, "a number of milliseconds", &write_ms);
        s.write_warn_usec = (uint64_t) write_ms * 1000;
        read_duration(&rd, KEY_TIMEOUT, 5 * SEC, 1000, 600 * SEC, CHECK_DURATIONS, &s.timeout_usec);
        read_duration(&rd, KEY_DEADLINE, 30 * SEC, 1000, 3600 * SEC, CHECK_DURATIONS, &s.deadline_usec);
        data_dir = read_path(&rd, KEY_DATA_DIR, SETTINGS_DEFAULT_DATA_DIR);
        read_docker_host(&rd, CHECK_HOST_REFUSED, &s.docker_host);
        cert_path = read_tls(&rd, KEY_CERT_PATH, NULL, "DOCKER_TLS_VERIFY is set but ", "", &s.tls_verify);
        read_int(&rd, KEY_CERT_WARN_DAYS, 30, 1, 3650, "a number of days", &s.cert_warn_days);
        read_int(&rd, KEY_CERT_CRIT_DAYS, 7, 1, 3650, "a number of days", &s.cert_crit_days);
        must_be_below(&rd, KEY_CERT_CRIT_DAYS, s.cert_crit_days, KEY_CERT_WARN_DAYS, s.cert_warn_days);
        state_dir = read_path(&rd, KEY_STATE_DIRECTORY, NULL);
        authz_socket = read_path(&rd, KEY_AUTHZ_SOCKET, NULL);
        authz_set = lookup(rd.env, key_names[KEY_AUTHZ_SOCKET]);
        s.authz_left_out = authz_set && !*authz_set;

        if (!failed(&rd)) {
                copy(&rd, data_dir, &s.data_dir);
                copy(&rd, cert_path, &s.cert_path);
                copy(&rd, state_dir, &s.state_dir);
                copy(&rd, authz_socket, &s.authz_socket);
                /* systemd joins several StateDirectory= with ':'; the first is ours. */
                if (s.state_dir && strchr(s.state_dir, ':'))
                        *strchr(s.state_dir, ':') = '\0';
        }
        return finish(&rd, &s, ret);
}

int node_settings_read_prune(char *const *env, struct node_settings *ret, struct check_list *problems) {
        static const enum key text_keys[] = { KEY_DOCKER_HOST, KEY_PRUNE_CERT_PATH, KEY_DATA_DIR, KEY_PRUNE_STATE };
        struct reading rd = { .env = env, .problems = problems, .n_before = problems->n, .first_only = true };
        struct node_settings s = {};
        const char *data_dir, *cert_path, *state_path;

        if (!value(&rd, KEY_DOCKER_HOST))
                problem(&rd, "DOCKER_HOST is not set (tcp://HOST:PORT or unix:///PATH)");
        check_text(&rd, text_keys, ELEMENTSOF(text_keys));
        read_docker_host(&rd, PRUNE_HOST_REFUSED, &s.docker_host);

        read_percent(&rd, KEY_PRUNE_HIGH, 80, &s.high);
        read_percent(&rd, KEY_PRUNE_LOW, 70, &s.low);
        read_percent(&rd, KEY_PRUNE_CRIT, 90, &s.crit);
        must_be_below(&rd, KEY_PRUNE_LOW, s.low, KEY_PRUNE_HIGH, s.high);
        must_be_below(&rd, KEY_PRUNE_HIGH, s.high, KEY_PRUNE_CRIT, s.crit);
        read_int(&rd, KEY_PRUNE_RESERVE, 10, 0, 50, "a percentage", &s.reserve);
        read_duration(&rd, KEY_PRUNE_MIN_AGE, 3600 * SEC, 0, 30 * 24 * 3600 * SEC, PRUNE_DURATIONS,
                      &s.min_age_usec);
        read_duration(&rd, KEY_TIMEOUT, 60 * SEC, 1000, 3600 * SEC, PRUNE_DURATIONS, &s.timeout_usec);
        data_dir = read_path(&rd, KEY_DATA_DIR, SETTINGS_DEFAULT_DATA_DIR);
        cert_path = read_tls(&rd, KEY_PRUNE_CERT_PATH, SETTINGS_DEFAULT_PRUNE_CERT_PATH, "",
                             " (DOCKER_TLS_VERIFY is set)", &s.tls_verify);
        state_path = read_path(&rd, KEY_PRUNE_STATE, SETTINGS_DEFAULT_PRUNE_STATE);

        if (!failed(&rd)) {
                copy(&rd, data_dir, &s.data_dir);
                copy(&rd, cert_path, &s.cert_path);
                copy(&rd, state_path, &s.state_path);
        }
        return finish(&rd, &s, ret);
}

void node_settings_done(struct node_settings *s) {
        docker_host_done(&s->docker_host);
        free(s->cert_path);
        free(s->data_dir);
        free(s->state_path);
        free(s->state_dir);
        free(s->authz_socket);
        *s = (struct node_settings) {};
}

const char *node_settings_instance(char *const *env) {
        const char *v = lookup(env, SETTINGS_KEY_INSTANCE);
        return isempty(v) ? NULL : v;
}

const char *node_settings_textfile_dir(char *const *env) {
        return lookup(env, SETTINGS_KEY_TEXTFILE_DIR);
}
