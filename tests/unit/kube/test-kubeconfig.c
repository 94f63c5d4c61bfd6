/* SPDX-License-Identifier: MIT */
/* Kubeconfig reading: which file, which context, each form of trust and credentials,
 * relative paths, and what is refused (exec, auth-provider, insecure with a CA). Files
 * live in a temporary directory made per test. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "kube/kubeconfig.h"
#include "base/util.h"

#define PEM_CA "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"
#define PEM_CERT "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n"
#define PEM_KEY "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n"

static char dir[] = "/tmp/test-kubeconfig-XXXXXX";

static int setup(void **state) {
        strcpy(dir, "/tmp/test-kubeconfig-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", dir);
        return cmd && system(cmd) == 0 ? 0 : -1;
}

/* Writes TEXT to DIR/NAME; returns the path (caller frees). */
static char *put(const char *name, const char *text) {
        char *path = strdup_printf("%s/%s", dir, name);
        assert_non_null(path);
        assert_true(write_file_atomic(path, text, strlen(text), 0600) >= 0);
        return path;
}

/* base64 of S (small inputs only). */
static char *b64(const char *s) {
        static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(s), o = 0;
        char *out = malloc(n / 3 * 4 + 5);
        assert_non_null(out);
        for (size_t i = 0; i < n; i += 3) {
                unsigned v = (unsigned char) s[i] << 16;
                if (i + 1 < n)
                        v |= (unsigned char) s[i + 1] << 8;
                if (i + 2 < n)
                        v |= (unsigned char) s[i + 2];
                out[o++] = a[(v >> 18) & 63];
                out[o++] = a[(v >> 12) & 63];
                out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
                out[o++] = i + 2 < n ? a[v & 63] : '=';
        }
        out[o] = '\0';
        return out;
}

/* A kubeconfig with one cluster "c" (CLUSTER lines) and one user "u" (USER lines), the
 * context "ctx" and current-context "ctx". */
static char *config(const char *cluster, const char *user) {
        char *text = strdup_printf("apiVersion: v1\nkind: Config\n"
                                   "clusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\n%s"
                                   "users:\n- name: u\n  user:\n%s"
                                   "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n"
                                   "current-context: ctx\n",
                                   cluster, user);
        assert_non_null(text);
        return text;
}

static struct kubeconfig *load_ok(const char *path, const char *context) {
        struct kubeconfig *k = NULL;
        _cleanup_free_ char *m = NULL;
        int r = kubeconfig_load(path, context, &k, &m);
        if (r < 0)
                fail_msg("'%s': %s", path, m ?: strerror(-r));
        return k;
}

static void load_fails(const char *path, const char *context, int error, const char *words) {
        struct kubeconfig *k = NULL;
        _cleanup_free_ char *m = NULL;
        int r = kubeconfig_load(path, context, &k, &m);
        if (r != error)
                fail_msg("'%s': got %d (%s), want %d", path, r, m ?: "", error);
        assert_null(k);
        assert_non_null(m);
        if (!strstr(m, words))
                fail_msg("message '%s' lacks '%s'", m, words);
}

static void files_resolve_against_the_kubeconfig_directory(void **state) {
        _cleanup_free_ char *ca = put("ca.crt", PEM_CA), *cert = put("sub/client.crt", PEM_CERT);
        _cleanup_free_ char *key = put("sub/client.key", PEM_KEY);
        _cleanup_free_ char *text = config("    certificate-authority: ca.crt\n",
                                           "    client-certificate: sub/client.crt\n"
                                           "    client-key: sub/client.key\n");
        _cleanup_free_ char *path = put("config", text);
        _cleanup_(kubeconfig_freep) struct kubeconfig *k = load_ok(path, NULL);

        assert_string_equal(k->server, "https://10.0.0.1:6443");
        assert_string_equal(k->context, "ctx");
        assert_string_equal(k->cluster, "c");
        assert_string_equal(k->user, "u");
        assert_string_equal(k->ca, PEM_CA);
        assert_int_equal(k->ca_size, strlen(PEM_CA));
        assert_string_equal(k->ca_origin, ca);
        assert_string_equal(k->cert, PEM_CERT);
        assert_string_equal(k->key, PEM_KEY);
        assert_null(k->token);
        assert_false(k->insecure);
}

static void relative_kubeconfig_path_still_resolves(void **state) {
        _cleanup_free_ char *ca = put("ca.crt", PEM_CA);
        _cleanup_free_ char *text = config("    certificate-authority: ca.crt\n", "    token: t\n");
        _cleanup_free_ char *path = put("config", text);
        char cwd[PATH_MAX];

        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_int_equal(chdir(dir), 0);
        struct kubeconfig *k = load_ok("config", NULL);
        assert_int_equal(chdir(cwd), 0);
        assert_string_equal(k->ca_origin, ca);
        kubeconfig_free(k);
}

static void data_fields_are_decoded(void **state) {
        _cleanup_free_ char *ca = b64(PEM_CA), *cert = b64(PEM_CERT), *key = b64(PEM_KEY);
        _cleanup_free_ char *cl = strdup_printf("    certificate-authority-data: %s\n", ca);
        _cleanup_free_ char *us = strdup_printf("    client-certificate-data: %s\n    client-key-data: %s\n", cert, key);
        _cleanup_free_ char *text = config(cl, us), *path = put("config", text);
        _cleanup_(kubeconfig_freep) struct kubeconfig *k = load_ok(path, NULL);

        assert_string_equal(k->ca, PEM_CA);
        assert_null(k->ca_origin);
        assert_string_equal(k->cert, PEM_CERT);
        assert_int_equal(k->key_size, strlen(PEM_KEY));
        assert_string_equal(k->key, PEM_KEY);
}

static void bad_base64_is_refused(void **state) {
        _cleanup_free_ char *text = config("    certificate-authority-data: '#not*base64'\n", "    token: t\n");
        _cleanup_free_ char *path = put("config", text);
        load_fails(path, NULL, -EINVAL, "not valid base64");
}

static void token_and_token_file(void **state) {
        _cleanup_free_ char *tf = put("tok", "  abc.def-123\n\n");
        _cleanup_free_ char *t1 = config("", "    token: sekret\n"), *p1 = put("c1", t1);
        _cleanup_free_ char *t2 = config("", "    tokenFile: tok\n"), *p2 = put("c2", t2);
        _cleanup_free_ char *t3 = config("", "    token: wins\n    tokenFile: tok\n"), *p3 = put("c3", t3);
        _cleanup_(kubeconfig_freep) struct kubeconfig *k1 = load_ok(p1, NULL);
        _cleanup_(kubeconfig_freep) struct kubeconfig *k2 = load_ok(p2, NULL);
        _cleanup_(kubeconfig_freep) struct kubeconfig *k3 = load_ok(p3, NULL);

        assert_string_equal(k1->token, "sekret");
        assert_null(k1->token_file);
        assert_string_equal(k2->token, "abc.def-123");
        assert_string_equal(k2->token_file, tf);
        assert_string_equal(k3->token, "wins");
        assert_null(k1->ca);    /* no CA: the system roots */
}

static void token_file_problems(void **state) {
        _cleanup_free_ char *e = put("empty", " \n"), *two = put("two", "a\nb\n");
        _cleanup_free_ char *t1 = config("", "    tokenFile: empty\n"), *p1 = put("c1", t1);
        _cleanup_free_ char *t2 = config("", "    tokenFile: two\n"), *p2 = put("c2", t2);
        _cleanup_free_ char *t3 = config("", "    tokenFile: missing\n"), *p3 = put("c3", t3);

        load_fails(p1, NULL, -EINVAL, "is empty");
        load_fails(p2, NULL, -EINVAL, "more than one line");
        load_fails(p3, NULL, -ENOENT, "missing");
}

static void contexts_are_chosen(void **state) {
        const char *text =
                "clusters:\n"
                "- name: a\n  cluster: {server: 'https://a.example'}\n"
                "- name: b\n  cluster: {server: 'b.example:8443'}\n"
                "users:\n- name: ua\n  user: {token: ta}\n- name: ub\n  user: {token: tb}\n"
                "contexts:\n- name: one\n  context: {cluster: a, user: ua}\n"
                "- name: two\n  context: {cluster: b, user: ub}\n"
                "current-context: one\n";
        _cleanup_free_ char *path = put("config", text);
        _cleanup_(kubeconfig_freep) struct kubeconfig *one = load_ok(path, NULL);
        _cleanup_(kubeconfig_freep) struct kubeconfig *two = load_ok(path, "two");

        assert_string_equal(one->server, "https://a.example");
        assert_string_equal(one->token, "ta");
        assert_string_equal(two->context, "two");
        assert_string_equal(two->server, "https://b.example:8443"); /* no scheme: https */
        assert_string_equal(two->token, "tb");
        load_fails(path, "three", -EINVAL, "context 'three' not found (contexts: 'one', 'two')");
}

static void missing_current_context_names_the_choices(void **state) {
        const char *text = "clusters:\n- name: a\n  cluster: {server: 'https://a'}\n"
                           "contexts:\n- name: one\n  context: {cluster: a}\n";
        _cleanup_free_ char *path = put("config", text);
        _cleanup_(kubeconfig_freep) struct kubeconfig *k = NULL;

        load_fails(path, NULL, -EINVAL, "has no current-context; pass --context NAME (contexts: 'one')");
        k = load_ok(path, "one");
        assert_null(k->user); /* no user: no credentials */
        assert_null(k->token);
        assert_null(k->cert);
}

static void exec_and_auth_provider_are_refused(void **state) {
        _cleanup_free_ char *t1 = config("", "    exec:\n      command: aws\n      apiVersion: client.authentication.k8s.io/v1\n");
        _cleanup_free_ char *t2 = config("", "    auth-provider:\n      name: gcp\n");
        _cleanup_free_ char *t3 = config("", "    username: admin\n    password: x\n");
        _cleanup_free_ char *p1 = put("c1", t1), *p2 = put("c2", t2), *p3 = put("c3", t3);

        load_fails(p1, NULL, -EOPNOTSUPP, "context 'ctx' uses user 'u' with an exec credential plugin, which is not supported");
        load_fails(p2, NULL, -EOPNOTSUPP, "context 'ctx' uses user 'u' with an auth-provider plugin");
        load_fails(p3, NULL, -EOPNOTSUPP, "basic authentication");
}

static void insecure_is_kept_but_refused_with_a_ca(void **state) {
        _cleanup_free_ char *ca = put("ca.crt", PEM_CA), *cad = b64(PEM_CA);
        _cleanup_free_ char *t1 = config("    insecure-skip-tls-verify: true\n", "    token: t\n");
        _cleanup_free_ char *t2 = config("    insecure-skip-tls-verify: true\n    certificate-authority: ca.crt\n",
                                         "    token: t\n");
        _cleanup_free_ char *c3 = strdup_printf("    insecure-skip-tls-verify: true\n    certificate-authority-data: %s\n", cad);
        _cleanup_free_ char *t3 = config(c3, "    token: t\n");
        _cleanup_free_ char *t4 = config("    insecure-skip-tls-verify: 'yes'\n", "    token: t\n");
        _cleanup_free_ char *p1 = put("c1", t1), *p2 = put("c2", t2), *p3 = put("c3", t3), *p4 = put("c4", t4);
        _cleanup_(kubeconfig_freep) struct kubeconfig *k = load_ok(p1, NULL);

        assert_true(k->insecure);
        load_fails(p2, NULL, -EINVAL, "specifying a root certificates file with the insecure flag is not allowed");
        load_fails(p3, NULL, -EINVAL, "with the insecure flag is not allowed");
        load_fails(p4, NULL, -EINVAL, "is not true or false"); /* a string is no boolean */
}

static void tls_server_name_is_read(void **state) {
        _cleanup_free_ char *text = config("    tls-server-name: kubernetes.default.svc\n", "    token: t\n");
        _cleanup_free_ char *path = put("config", text);
        _cleanup_(kubeconfig_freep) struct kubeconfig *k = load_ok(path, NULL);
        assert_string_equal(k->tls_server_name, "kubernetes.default.svc");
}

static void half_a_key_pair_and_missing_files_are_refused(void **state) {
        _cleanup_free_ char *cert = put("client.crt", PEM_CERT);
        _cleanup_free_ char *t1 = config("", "    client-certificate: client.crt\n"), *p1 = put("c1", t1);
        _cleanup_free_ char *t2 = config("    certificate-authority: nope.crt\n", ""), *p2 = put("c2", t2);
        _cleanup_free_ char *t3 = config("", "    client-certificate: client.crt\n    client-key: empty.key\n");
        _cleanup_free_ char *empty = put("empty.key", ""), *p3 = put("c3", t3);

        load_fails(p1, NULL, -EINVAL, "has a client certificate but no client key");
        load_fails(p2, NULL, -ENOENT, "cannot read certificate-authority");
        load_fails(p3, NULL, -EINVAL, "empty");
}

static void malformed_files_fail_cleanly(void **state) {
        static const char *const cases[] = {
                "",
                "- a list\n",
                "clusters: 3\ncurrent-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n",
                "contexts: [{name: x, context: 7}]\ncurrent-context: x\n",
                "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\nclusters: [{name: c}]\n",
                "contexts: [{name: x, context: {cluster: [1]}}]\ncurrent-context: x\n",
                "current-context: {a: b}\n",
                "clusters: [{name: c, cluster: {server: 5}}]\ncontexts: [{name: x, context: {cluster: c}}]\n"
                "current-context: x\n",
                "a: &x 1\nb: *x\n",
                "\t- tab\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = put("config", cases[i]), *m = NULL;
                struct kubeconfig *k = NULL;
                int r = kubeconfig_load(path, NULL, &k, &m);
                if (r != -EINVAL)
                        fail_msg("case %zu: got %d", i, r);
                assert_null(k);
                assert_non_null(m);
        }
}

static void oversized_files_are_refused(void **state) {
        _cleanup_free_ char *path = strdup_printf("%s/big", dir);
        _cleanup_free_ char *big = malloc(KUBECONFIG_MAX_SIZE + 2);
        assert_non_null(big);
        memset(big, '#', KUBECONFIG_MAX_SIZE + 1);
        big[KUBECONFIG_MAX_SIZE + 1] = '\0';
        assert_true(write_file_atomic(path, big, KUBECONFIG_MAX_SIZE + 1, 0600) >= 0);
        load_fails(path, NULL, -EFBIG, "larger than");
}

static void the_file_is_found_in_order(void **state) {
        _cleanup_free_ char *a = put("a", "x: 1\n"), *home_cfg = put("home/.kube/config", "x: 1\n");
        _cleanup_free_ char *home = strdup_printf("%s/home", dir), *list = NULL, *p = NULL, *m = NULL;
        _cleanup_free_ char *missing = strdup_printf("%s/missing", dir);

        assert_int_equal(kubeconfig_find("/explicit/path", &p, &m), 0);
        assert_string_equal(p, "/explicit/path");
        free(p), p = NULL;

        list = strdup_printf("%s::%s", missing, a);
        setenv("KUBECONFIG", list, 1);
        setenv("HOME", home, 1);
        assert_int_equal(kubeconfig_find(NULL, &p, &m), 0);
        assert_string_equal(p, a);   /* the first file that exists */
        free(p), p = NULL;

        setenv("KUBECONFIG", missing, 1);
        assert_int_equal(kubeconfig_find(NULL, &p, &m), -ENOENT);
        assert_non_null(strstr(m, "$KUBECONFIG"));

        unsetenv("KUBECONFIG");
        assert_int_equal(kubeconfig_find(NULL, &p, &m), 0);
        assert_string_equal(p, home_cfg);
}

/* A $KUBECONFIG entry that exists but is no file is named as what it is, never
 * "does not exist", and not skipped for the next entry (a FIFO is never opened). */
static void a_kubeconfig_that_is_not_a_regular_file_is_named(void **state) {
        _cleanup_free_ char *a = put("b", "x: 1\n"), *fifo = strdup_printf("%s/fifo\tconf", dir);
        _cleanup_free_ char *list = strdup_printf("%s/missing:%s:%s", dir, fifo, a), *want = NULL;
        _cleanup_free_ char *p = NULL, *m = NULL, *home = strdup_printf("%s/fifo-home", dir);

        assert_int_equal(mkfifo(fifo, 0600), 0);
        setenv("KUBECONFIG", list, 1);
        assert_int_equal(kubeconfig_find(NULL, &p, &m), -EBADFD);
        assert_null(p);
        want = strdup_printf("kubeconfig '%s/fifo\\tconf' (in $KUBECONFIG): not a regular file", dir);
        assert_string_equal(m, want);
        free(m), m = NULL;

        setenv("KUBECONFIG", dir, 1);
        assert_int_equal(kubeconfig_find(NULL, &p, &m), -EISDIR);
        assert_non_null(strstr(m, "a directory, not a file"));
        free(m), m = NULL;

        /* ~/.kube/config too. */
        unsetenv("KUBECONFIG");
        assert_int_equal(mkdir(home, 0700), 0);
        free(p), p = strdup_printf("%s/.kube", home);
        assert_int_equal(mkdir(p, 0700), 0);
        free(p), p = strdup_printf("%s/.kube/config", home);
        assert_int_equal(mkfifo(p, 0600), 0);
        free(p), p = NULL;
        setenv("HOME", home, 1);
        assert_int_equal(kubeconfig_find(NULL, &p, &m), -EBADFD);
        assert_non_null(strstr(m, "/.kube/config': not a regular file"));
        assert_int_equal(unlink(fifo), 0);
}

/* Names and the server URL reach messages and the log: escape characters in them are
 * refused, echoed escaped, never raw. */
/* A file name from the kubeconfig that cannot be read is echoed escaped: a tab, an
 * escape sequence or a newline in it cannot reach the terminal or forge a line (found
 * by fuzz-kubeconfig, seed regress-file-name-with-control-characters.yaml). */
static void unreadable_file_names_are_echoed_escaped(void **state) {
        _cleanup_free_ char *t1 = config("    certificate-authority: \"ca\\e[2J.crt\"\n", ""), *p1 = put("c1", t1);
        _cleanup_free_ char *t2 = config("", "    tokenFile: \"to\\tken\\n[OK] done\"\n"), *p2 = put("c2", t2);
        _cleanup_free_ char *fifo = strdup_printf("%s/fifo", dir);
        _cleanup_free_ char *t3 = config("", "    tokenFile: fifo\n"), *p3 = put("c3", t3);

        load_fails(p1, NULL, -ENOENT, "ca\\e[2J.crt' of cluster 'c': No such file or directory");
        load_fails(p2, NULL, -ENOENT, "to\\tken\\n[OK] done' of user 'u'");
        /* A FIFO is refused at once, never waited on. */
        assert_non_null(fifo);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        load_fails(p3, NULL, -EBADFD, "fifo' of user 'u': not a regular file");
}

static void escape_characters_in_names_and_server_are_refused_escaped(void **state) {
        static const struct {
                const char *text, *words;
        } cases[] = {
                { "clusters: [{name: c, cluster: {server: \"https://h\\e[2J:6443\"}}]\n"
                  "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
                  "the server URL 'https://h\\e[2J:6443' holds a control character" },
                { "clusters: [{name: c, cluster: {server: \"https://h\"}}]\n"
                  "contexts: [{name: \"x\\e]0;t\\a\", context: {cluster: c}}]\ncurrent-context: \"x\\e]0;t\\a\"\n",
                  "the context name 'x\\e]0;t\\x07' holds a control character" },
                { "clusters: [{name: \"c\\n[OK]\", cluster: {server: \"https://h\"}}]\n"
                  "contexts: [{name: x, context: {cluster: \"c\\n[OK]\"}}]\ncurrent-context: x\n",
                  "the cluster name 'c\\n[OK]' holds a control character" },
                { "clusters: [{name: c, cluster: {server: \"https://h\"}}]\n"
                  "contexts: [{name: x, context: {cluster: c, user: \"u\\x9b\"}}]\ncurrent-context: x\n",
                  "the user name 'u\\xc2\\x9b' holds a control character" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *path = put("config", cases[i].text);
                load_fails(path, NULL, -EINVAL, cases[i].words);
        }
        /* The names of the other contexts, listed in a message, are escaped too. */
        _cleanup_free_ char *path = put("config", "clusters: [{name: c, cluster: {server: \"https://h\"}}]\n"
                                                  "contexts: [{name: \"a\\e[31m\", context: {cluster: c}}]\n");
        load_fails(path, NULL, -EINVAL, "(contexts: 'a\\e[31m')");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(files_resolve_against_the_kubeconfig_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(relative_kubeconfig_path_still_resolves, setup, teardown),
                cmocka_unit_test_setup_teardown(data_fields_are_decoded, setup, teardown),
                cmocka_unit_test_setup_teardown(bad_base64_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(token_and_token_file, setup, teardown),
                cmocka_unit_test_setup_teardown(token_file_problems, setup, teardown),
                cmocka_unit_test_setup_teardown(contexts_are_chosen, setup, teardown),
                cmocka_unit_test_setup_teardown(missing_current_context_names_the_choices, setup, teardown),
                cmocka_unit_test_setup_teardown(exec_and_auth_provider_are_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(insecure_is_kept_but_refused_with_a_ca, setup, teardown),
                cmocka_unit_test_setup_teardown(tls_server_name_is_read, setup, teardown),
                cmocka_unit_test_setup_teardown(escape_characters_in_names_and_server_are_refused_escaped, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(half_a_key_pair_and_missing_files_are_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(unreadable_file_names_are_echoed_escaped, setup, teardown),
                cmocka_unit_test_setup_teardown(malformed_files_fail_cleanly, setup, teardown),
                cmocka_unit_test_setup_teardown(oversized_files_are_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(the_file_is_found_in_order, setup, teardown),
                cmocka_unit_test_setup_teardown(a_kubeconfig_that_is_not_a_regular_file_is_named, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
