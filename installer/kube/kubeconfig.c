/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "base/json-util.h"
#include "base/text.h"
#include "kube/kubeconfig.h"
#include "base/util.h"
#include "kube/yaml.h"

#define SYSTEM_KUBECONFIG "/etc/kubernetes/admin.conf"

static void scrub_free(char *p, size_t size) {
        if (!p)
                return;
        explicit_bzero(p, size);
        free(p);
}

struct kubeconfig *kubeconfig_free(struct kubeconfig *k) {
        if (!k)
                return NULL;
        free(k->path);
        free(k->context);
        free(k->cluster);
        free(k->user);
        free(k->server);
        free(k->tls_server_name);
        free(k->ca);
        free(k->ca_origin);
        scrub_free(k->cert, k->cert_size);
        scrub_free(k->key, k->key_size);
        if (k->token)
                scrub_free(k->token, strlen(k->token));
        free(k->token_file);
        free(k);
        return NULL;
}

/* Sets *ret_message (when wanted) and returns ERROR. */
static int fail(int error, char **ret_message, const char *fmt, ...) _printf_(3, 4);
static int fail(int error, char **ret_message, const char *fmt, ...) {
        va_list ap;
        char *m = NULL;

        if (ret_message) {
                va_start(ap, fmt);
                if (vasprintf(&m, fmt, ap) < 0)
                        m = NULL;
                va_end(ap);
                free(*ret_message);
                *ret_message = m;
        }
        return error;
}

/* Names and URLs from the file reach messages and the log: printable UTF-8 only,
 * refused with an escaped echo otherwise. */
static int refuse_unprintable(const char *value, const char *what, const char *path, char **ret_message) {
        const char *why = value ? text_setting_problem(value) : NULL;
        _cleanup_free_ char *shown = NULL;

        if (!why)
                return 0;
        shown = text_escape(value, 256);
        if (!shown)
                return -ENOMEM;
        return fail(-EINVAL, ret_message, "kubeconfig '%s': %s '%s' %s", path, what, shown, why);
}

/* A candidate kubeconfig: 1 a regular file, 0 absent (nothing by that name, or a
 * path through something that is not a directory), else why it cannot be one:
 * -EBADFD for a FIFO, socket or device, -EISDIR, or stat()'s error. Never opened. */
static int candidate(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        return S_ISREG(st.st_mode) ? 1 : -EBADFD;
}

/* A candidate that exists but is no kubeconfig is refused by name: a FIFO must not
 * read as "does not exist", nor be skipped for the next one. */
static int refuse_candidate(int r, const char *path, const char *where, char **ret_message) {
        _cleanup_free_ char *shown = text_escape(path, 1024);
        return fail(r, ret_message, "kubeconfig '%s'%s: %s", shown ?: "?", where, file_error_to_string(r));
}

int kubeconfig_find(const char *explicit_path, char **ret_path, char **ret_message) {
        const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
        _cleanup_free_ char *home_config = NULL;
        char *p;
        int r;

        if (explicit_path) {
                p = strdup(explicit_path);
                if (!p)
                        return -ENOMEM;
                *ret_path = p;
                return 0;
        }

        if (!isempty(env)) {
                _cleanup_free_ char *list = strdup(env);
                char *save = NULL;

                if (!list)
                        return -ENOMEM;
                for (char *e = strtok_r(list, ":", &save); e; e = strtok_r(NULL, ":", &save)) {
                        r = candidate(e);
                        if (r < 0)
                                return refuse_candidate(r, e, " (in $KUBECONFIG)", ret_message);
                        if (r == 0)
                                continue;
                        p = strdup(e);
                        if (!p)
                                return -ENOMEM;
                        *ret_path = p;
                        return 0;
                }
                _cleanup_free_ char *shown = text_escape(env, 1024);
                return fail(-ENOENT, ret_message, "no file of $KUBECONFIG ('%s') exists", shown ?: "?");
        }

        if (!isempty(home)) {
                home_config = strdup_printf("%s/.kube/config", home);
                if (!home_config)
                        return -ENOMEM;
                r = candidate(home_config);
                if (r < 0)
                        return refuse_candidate(r, home_config, "", ret_message);
                if (r > 0) {
                        *ret_path = TAKE_PTR(home_config);
                        return 0;
                }
        }
        r = candidate(SYSTEM_KUBECONFIG);
        if (r < 0)
                return refuse_candidate(r, SYSTEM_KUBECONFIG, "", ret_message);
        if (r > 0) {
                p = strdup(SYSTEM_KUBECONFIG);
                if (!p)
                        return -ENOMEM;
                *ret_path = p;
                return 0;
        }
        return fail(-ENOENT, ret_message,
                    "no kubeconfig found (tried $KUBECONFIG, %s, " SYSTEM_KUBECONFIG "); pass --kubeconfig FILE",
                    home_config ?: "~/.kube/config");
}

/* The entry named NAME in the list at KEY ("clusters") of CFG, and its inner object
 * at INNER ("cluster"). */
static int find_named(const json_t *cfg, const char *key, const char *inner, const char *name,
                      const char *path, json_t **ret, char **ret_message) {
        json_t *list = json_object_get(cfg, key), *item;
        size_t i;

        if (list && !json_is_array(list) && !json_is_null(list))
                return fail(-EINVAL, ret_message, "kubeconfig '%s': '%s' is not a list", path, key);
        json_array_foreach(list, i, item) {
                json_t *value;

                if (!streq(json_object_get_string(item, "name"), name))
                        continue;
                value = json_object_get(item, inner);
                if (!json_is_object(value) && !json_is_null(value) && value)
                        return fail(-EINVAL, ret_message, "kubeconfig '%s': %s '%s' has no valid '%s' map",
                                    path, inner, name, inner);
                *ret = value;
                return 0;
        }
        return fail(-EINVAL, ret_message, "kubeconfig '%s': %s '%s' not found", path, inner, name);
}

/* The names in the list at KEY, comma-separated, for messages. */
static char *list_names(const json_t *cfg, const char *key) {
        json_t *item;
        size_t i, n = 0;
        char *out = strdup("");

        json_array_foreach(json_object_get(cfg, key), i, item) {
                const char *name = json_object_get_string(item, "name");
                char *next;

                if (!name || !out)
                        continue;
                if (++n > 20) {
                        next = strdup_printf("%s, ...", out);
                        free(out);
                        return next;
                }
                _cleanup_free_ char *shown = text_escape(name, 253);
                next = shown ? strdup_printf("%s%s'%s'", out, *out ? ", " : "", shown) : NULL;
                free(out);
                out = next;
        }
        return out;
}

/* The string at KEY of O: 0 and *ret = NULL when absent or null, -EINVAL when another type. */
static int get_string(const json_t *o, const char *key, const char *what, const char *path,
                      const char **ret, char **ret_message) {
        json_t *v = json_object_get(o, key);

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return fail(-EINVAL, ret_message, "kubeconfig '%s': '%s' of %s is not a string", path, key, what);
        *ret = json_string_value(v);
        if (!**ret)
                *ret = NULL; /* "" means unset, as in client-go */
        return 0;
}

static int b64_value(int c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/* Standard base64 with padding; line breaks and spaces are skipped (Go's decoder skips
 * line breaks). The result is NUL-terminated. */
static int base64_decode(const char *s, char **ret, size_t *ret_size) {
        size_t len = strlen(s), n = 0;
        unsigned bits = 0, nbits = 0, pad = 0, chars = 0;
        char *out;

        out = malloc(len / 4 * 3 + 4);
        if (!out)
                return -ENOMEM;
        for (const char *p = s; *p; p++) {
                int v;

                if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
                        continue;
                chars++;
                if (*p == '=') {
                        pad++;
                        continue;
                }
                v = b64_value((unsigned char) *p);
                if (v < 0 || pad > 0)
                        goto bad;
                bits = (bits << 6) | (unsigned) v;
                nbits += 6;
                if (nbits >= 8) {
                        nbits -= 8;
                        out[n++] = (char) ((bits >> nbits) & 0xff);
                }
        }
        if (chars % 4 != 0 || pad > 2 || chars == 0)
                goto bad;
        out[n] = '\0';
        *ret = out;
        *ret_size = n;
        return 0;
bad:
        explicit_bzero(out, len / 4 * 3 + 4);
        free(out);
        return -EINVAL;
}

/* PATH made absolute against DIR, as client-go resolves kubeconfig paths. */
static char *resolve(const char *dir, const char *path) {
        if (path[0] == '/')
                return strdup(path);
        return strdup_printf("%s/%s", dir, path);
}

/* Loads material from KEY-data (base64) or KEY (a file, relative to DIR). */
static int load_material(const json_t *o, const char *key, const char *what, const char *dir,
                         const char *path, char **ret_data, size_t *ret_size, char **ret_origin,
                         char **ret_message) {
        _cleanup_free_ char *data_key = strdup_printf("%s-data", key), *file = NULL;
        const char *data, *name;
        char *buf = NULL;
        size_t size = 0;
        int r;

        if (!data_key)
                return -ENOMEM;
        r = get_string(o, data_key, what, path, &data, ret_message);
        if (r < 0)
                return r;
        r = get_string(o, key, what, path, &name, ret_message);
        if (r < 0)
                return r;

        if (data) {
                r = base64_decode(data, &buf, &size);
                if (r == -EINVAL)
                        return fail(r, ret_message, "kubeconfig '%s': '%s' of %s is not valid base64",
                                    path, data_key, what);
                if (r < 0)
                        return r;
        } else if (name) {
                _cleanup_free_ char *shown = NULL;

                file = resolve(dir, name);
                if (!file)
                        return -ENOMEM;
                r = read_file_full(file, KUBECONFIG_MAX_FILE, &buf, &size);
                if (r < 0 && !(shown = text_escape(file, 256)))   /* the name from the file, echoed */
                        return -ENOMEM;
                if (r == -EFBIG)
                        return fail(r, ret_message, "kubeconfig '%s': %s '%s' of %s is larger than %u bytes",
                                    path, key, shown, what, KUBECONFIG_MAX_FILE);
                if (r < 0)
                        return fail(r, ret_message, "kubeconfig '%s': cannot read %s '%s' of %s: %s",
                                    path, key, shown, what, file_error_to_string(r));
        } else
                return 0;

        if (size == 0 || memchr(buf, '\0', size)) {
                scrub_free(buf, size);
                return fail(-EINVAL, ret_message, "kubeconfig '%s': %s of %s is empty or not PEM text",
                            path, data ? data_key : key, what);
        }
        *ret_data = buf;
        *ret_size = size;
        if (ret_origin)
                *ret_origin = TAKE_PTR(file);
        return 0;
}

static int parse_cluster(struct kubeconfig *k, const json_t *cluster, const char *dir,
                         const char *path, char **ret_message) {
        _cleanup_free_ char *what = strdup_printf("cluster '%s'", k->cluster);
        const char *server, *tls_name;
        json_t *insecure;
        int r;

        if (!what)
                return -ENOMEM;
        r = get_string(cluster, "server", what, path, &server, ret_message);
        if (r < 0)
                return r;
        if (!server)
                return fail(-EINVAL, ret_message, "kubeconfig '%s': %s has no server", path, what);
        r = refuse_unprintable(server, "the server URL", path, ret_message);
        if (r < 0)
                return r;
        k->server = strstr(server, "://") ? strdup(server) : strdup_printf("https://%s", server);
        if (!k->server)
                return -ENOMEM;

        r = get_string(cluster, "tls-server-name", what, path, &tls_name, ret_message);
        if (r < 0)
                return r;
        r = refuse_unprintable(tls_name, "tls-server-name", path, ret_message);
        if (r < 0)
                return r;
        if (tls_name && !(k->tls_server_name = strdup(tls_name)))
                return -ENOMEM;

        insecure = json_object_get(cluster, "insecure-skip-tls-verify");
        if (insecure && !json_is_null(insecure) && !json_is_boolean(insecure))
                return fail(-EINVAL, ret_message,
                            "kubeconfig '%s': 'insecure-skip-tls-verify' of %s is not true or false", path, what);
        k->insecure = json_is_true(insecure);

        r = load_material(cluster, "certificate-authority", what, dir, path, &k->ca, &k->ca_size,
                          &k->ca_origin, ret_message);
        if (r < 0)
                return r;
        if (k->insecure && k->ca)
                return fail(-EINVAL, ret_message,
                            "kubeconfig '%s': %s: specifying a root certificates file with the insecure flag "
                            "is not allowed (remove insecure-skip-tls-verify)", path, what);
        return 0;
}

/* The token of tokenFile TOKEN_FILE (relative to DIR) of WHAT, trimmed as client-go
 * trims it, into k->token; k->token_file names it. */
static int read_token_file(struct kubeconfig *k, const char *dir, const char *token_file, const char *what,
                           const char *path, char **ret_message) {
        _cleanup_free_ char *shown = NULL;
        char *buf = NULL;
        size_t size = 0;
        int r;

        k->token_file = resolve(dir, token_file);
        if (!k->token_file)
                return -ENOMEM;
        shown = text_escape(k->token_file, 256);   /* the name from the file, echoed */
        if (!shown)
                return -ENOMEM;
        r = read_file_full(k->token_file, KUBECONFIG_MAX_FILE, &buf, &size);
        if (r < 0)
                return fail(r, ret_message, "kubeconfig '%s': cannot read tokenFile '%s' of %s: %s",
                            path, shown, what,
                            r == -EFBIG ? "file too large" : file_error_to_string(r));
        /* client-go trims the token file's white space. */
        while (size > 0 && strchr(" \t\r\n", buf[size - 1]))
                buf[--size] = '\0';
        size_t lead = strspn(buf, " \t\r\n");
        memmove(buf, buf + lead, size - lead + 1);
        size -= lead;
        if (size == 0 || strpbrk(buf, "\r\n") || memchr(buf, '\0', size)) {
                scrub_free(buf, size);
                return fail(-EINVAL, ret_message, "kubeconfig '%s': tokenFile '%s' of %s %s",
                            path, shown, what, size == 0 ? "is empty" : "holds more than one line");
        }
        k->token = buf;
        return 0;
}

static int parse_user(struct kubeconfig *k, const json_t *user, const char *dir,
                      const char *path, char **ret_message) {
        _cleanup_free_ char *what = strdup_printf("user '%s'", k->user);
        const char *token, *token_file, *username;
        int r;

        if (!what)
                return -ENOMEM;
        if (json_object_get(user, "exec") && !json_is_null(json_object_get(user, "exec")))
                return fail(-EOPNOTSUPP, ret_message,
                            "kubeconfig '%s': context '%s' uses %s with an exec credential plugin, which is "
                            "not supported; use a kubeconfig with a client certificate or a token "
                            "(for example a ServiceAccount token)", path, k->context, what);
        if (json_object_get(user, "auth-provider") && !json_is_null(json_object_get(user, "auth-provider")))
                return fail(-EOPNOTSUPP, ret_message,
                            "kubeconfig '%s': context '%s' uses %s with an auth-provider plugin, which is "
                            "not supported; use a kubeconfig with a client certificate or a token "
                            "(for example a ServiceAccount token)", path, k->context, what);
        r = get_string(user, "username", what, path, &username, ret_message);
        if (r < 0)
                return r;
        if (username || json_object_get(user, "password"))
                return fail(-EOPNOTSUPP, ret_message,
                            "kubeconfig '%s': context '%s' uses %s with a username and password (basic "
                            "authentication), which is not supported; use a client certificate or a token",
                            path, k->context, what);

        r = load_material(user, "client-certificate", what, dir, path, &k->cert, &k->cert_size, NULL, ret_message);
        if (r < 0)
                return r;
        r = load_material(user, "client-key", what, dir, path, &k->key, &k->key_size, NULL, ret_message);
        if (r < 0)
                return r;
        if (!!k->cert != !!k->key)
                return fail(-EINVAL, ret_message, "kubeconfig '%s': %s has a client %s but no client %s",
                            path, what, k->cert ? "certificate" : "key", k->cert ? "key" : "certificate");

        r = get_string(user, "token", what, path, &token, ret_message);
        if (r < 0)
                return r;
        r = get_string(user, "tokenFile", what, path, &token_file, ret_message);
        if (r < 0)
                return r;
        if (token) {
                k->token = strdup(token);
                if (!k->token)
                        return -ENOMEM;
        } else if (token_file) {
                r = read_token_file(k, dir, token_file, what, path, ret_message);
                if (r < 0)
                        return r;
        }
        if (k->token && strpbrk(k->token, "\r\n"))
                return fail(-EINVAL, ret_message, "kubeconfig '%s': the token of %s spans lines", path, what);
        return 0;
}

/* CONTEXT, or the file's current-context, in k->context and its entry in RET_CTX. */
static int pick_context(struct kubeconfig *k, const json_t *cfg, const char *context, const char *path,
                        json_t **ret_ctx, char **ret_message) {
        int r;

        if (!context) {
                r = get_string(cfg, "current-context", "the file", path, &context, ret_message);
                if (r < 0)
                        return r;
                if (!context) {
                        _cleanup_free_ char *names = list_names(cfg, "contexts");
                        return fail(-EINVAL, ret_message,
                                    "kubeconfig '%s' has no current-context; pass --context NAME%s%s%s", path,
                                    !isempty(names) ? " (contexts: " : "", names ?: "", !isempty(names) ? ")" : "");
                }
        }
        r = refuse_unprintable(context, "the context name", path, ret_message);
        if (r < 0)
                return r;
        k->context = strdup(context);
        if (!k->context)
                return -ENOMEM;

        r = find_named(cfg, "contexts", "context", context, path, ret_ctx, ret_message);
        if (r < 0) {
                _cleanup_free_ char *names = list_names(cfg, "contexts");
                return fail(r, ret_message, "kubeconfig '%s': context '%s' not found (contexts: %s)", path,
                            context, isempty(names) ? "none" : names);
        }
        return 0;
}

/* The cluster and the user the context CTX names, into K. */
static int parse_context(struct kubeconfig *k, const json_t *cfg, const json_t *ctx, const char *dir,
                         const char *path, char **ret_message) {
        _cleanup_free_ char *what = strdup_printf("context '%s'", k->context);
        const char *cluster_name, *user_name;
        json_t *cluster, *user = NULL;
        int r;

        if (!what)
                return -ENOMEM;
        r = get_string(ctx, "cluster", what, path, &cluster_name, ret_message);
        if (r < 0)
                return r;
        if (!cluster_name)
                return fail(-EINVAL, ret_message, "kubeconfig '%s': context '%s' names no cluster", path, k->context);
        r = get_string(ctx, "user", what, path, &user_name, ret_message);
        if (r < 0)
                return r;
        r = refuse_unprintable(cluster_name, "the cluster name", path, ret_message);
        if (r < 0)
                return r;
        r = refuse_unprintable(user_name, "the user name", path, ret_message);
        if (r < 0)
                return r;

        k->cluster = strdup(cluster_name);
        if (!k->cluster)
                return -ENOMEM;
        r = find_named(cfg, "clusters", "cluster", cluster_name, path, &cluster, ret_message);
        if (r < 0)
                return r;
        r = parse_cluster(k, cluster, dir, path, ret_message);
        if (r < 0 || !user_name)
                return r;

        k->user = strdup(user_name);
        if (!k->user)
                return -ENOMEM;
        r = find_named(cfg, "users", "user", user_name, path, &user, ret_message);
        if (r < 0)
                return r;
        return parse_user(k, user, dir, path, ret_message);
}

int kubeconfig_parse(const char *text, size_t size, const char *dir, const char *path,
                     const char *context, struct kubeconfig **ret, char **ret_message) {
        _cleanup_(kubeconfig_freep) struct kubeconfig *k = NULL;
        _cleanup_json_ json_t *cfg = NULL;
        _cleanup_free_ char *yerr = NULL;
        json_t *ctx;
        int r;

        r = yaml_load_one(text, size, &cfg, &yerr);
        if (r == -EINVAL)
                return fail(r, ret_message, "kubeconfig '%s' is not valid YAML: %s", path, yerr ?: "empty");
        if (r < 0)
                return r;
        if (!json_is_object(cfg))
                return fail(-EINVAL, ret_message, "kubeconfig '%s' is not a YAML map", path);

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->path = strdup(path);
        if (!k->path)
                return -ENOMEM;

        r = pick_context(k, cfg, context, path, &ctx, ret_message);
        if (r < 0)
                return r;
        r = parse_context(k, cfg, ctx, dir, path, ret_message);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(k);
        return 0;
}

int kubeconfig_load(const char *path, const char *context, struct kubeconfig **ret, char **ret_message) {
        _cleanup_free_ char *text = NULL, *abs = NULL, *dir = NULL;
        size_t size = 0;
        char *slash;
        int r;

        r = read_file_full(path, KUBECONFIG_MAX_SIZE, &text, &size);
        if (r == -EFBIG)
                return fail(r, ret_message, "kubeconfig '%s' is larger than %u bytes", path, KUBECONFIG_MAX_SIZE);
        if (r < 0)
                return fail(r, ret_message, "cannot read kubeconfig '%s': %s", path, file_error_to_string(r));

        if (path[0] == '/')
                abs = strdup(path);
        else {
                char cwd[PATH_MAX];
                if (!getcwd(cwd, sizeof(cwd)))
                        return fail(-errno, ret_message, "cannot resolve kubeconfig '%s': %s", path, strerror(errno));
                abs = strdup_printf("%s/%s", cwd, path);
        }
        if (!abs)
                return -ENOMEM;
        dir = strdup(abs);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = '\0';
        else
                *slash = '\0';

        r = kubeconfig_parse(text, size, dir, path, context, ret, ret_message);
        explicit_bzero(text, size);
        return r;
}
