/* SPDX-License-Identifier: MIT */
/* Who calls: a namespace, a node identity, nobody (no certificate), or a refusal; the
 * serial read as `openssl x509 -serial` prints it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "authz-test.h"
#include "authz/identity.h"

/* RET_RULE and the identity of a request from USER with CERT. */
static int who(struct identity_cache *cache, const char *user, const char *cert, struct identity *id,
               const char **rule) {
        struct authz_request r = {};
        int q;

        test_request(&(struct test_call) { .user = user, .cert_pem = cert, .method = "GET", .uri = "/_ping" },
                     AUTHZ_REQUEST, &r);
        q = identity_of_request(&r, cache, id, rule);
        authz_request_done(&r);
        return q;
}

static char *openssl_serial(const char *pem) {
        char path[] = "/tmp/test-identity-XXXXXX", line[256] = "";
        _cleanup_free_ char *cmd = NULL;
        int fd = mkstemp(path);
        FILE *p;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, pem, strlen(pem)), (ssize_t) strlen(pem));
        close(fd);
        cmd = strdup_printf("openssl x509 -noout -serial -in %s", path);
        p = popen(cmd, "r");
        assert_non_null(p);
        assert_non_null(fgets(line, sizeof(line), p));
        pclose(p);
        unlink(path);
        line[strcspn(line, "\n")] = '\0';
        assert_true(strncmp(line, "serial=", 7) == 0);
        return strdup(line + 7);
}

static void tenants_and_node_identities_are_told_apart(void **state) {
        struct identity_cache cache = {};
        struct identity id;
        const char *rule;
        static const struct {
                const char *cn;
                enum identity_kind kind;
        } ok[] = {
                { "gitlab-runner", IDENTITY_TENANT },
                { "a", IDENTITY_TENANT },
                { "dind-cache:checker", IDENTITY_CHECKER_KIND },
                { "dind-cache:pruner", IDENTITY_PRUNER_KIND },
                { "dind-cache:prune-job", IDENTITY_PRUNE_JOB_KIND },
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *cert = test_cert(ok[i].cn), *serial = openssl_serial(cert);

                assert_int_equal(who(&cache, ok[i].cn, cert, &id, &rule), 0);
                assert_null(rule);
                assert_int_equal(id.kind, ok[i].kind);
                assert_string_equal(id.name, ok[i].cn);
                assert_string_equal(id.serial, serial);
        }
        identity_cache_done(&cache);
}

static void anything_else_is_refused_with_its_rule(void **state) {
        _cleanup_free_ char *upper = test_cert("Gitlab"), *colon = test_cert("dind-cache:other"),
                            *alpha = test_cert("alpha"), *dash = test_cert("-x");
        struct identity id;
        const char *rule;

        assert_int_equal(who(NULL, NULL, NULL, &id, &rule), 0);
        assert_int_equal(id.kind, IDENTITY_ANONYMOUS);
        assert_int_equal(who(NULL, "Gitlab", upper, &id, &rule), 1);
        assert_string_equal(rule, "unknown-identity");
        assert_int_equal(who(NULL, "dind-cache:other", colon, &id, &rule), 1);
        assert_string_equal(rule, "unknown-identity");
        assert_int_equal(who(NULL, "-x", dash, &id, &rule), 1);
        assert_string_equal(rule, "unknown-identity");
        assert_int_equal(who(NULL, "beta", alpha, &id, &rule), 1);   /* User is not the certificate's */
        assert_string_equal(rule, "identity");
        assert_int_equal(who(NULL, "alpha", NULL, &id, &rule), 1);   /* a User without a certificate */
        assert_string_equal(rule, "identity");
        assert_int_equal(who(NULL, NULL, alpha, &id, &rule), 1);     /* a certificate without a User */
        assert_string_equal(rule, "identity");
        assert_int_equal(who(NULL, "alpha", "not a certificate", &id, &rule), 1);
        assert_string_equal(rule, "identity");
}

static void only_a_self_signed_certificate_is_the_checkers_probe(void **state) {
        _cleanup_free_ char *issued = test_cert("dind-cache:probe");
        struct pki_pair self = {};
        struct identity id;
        const char *rule;

        /* The checker's own, made for the run: judged as a tenant, marked a probe. */
        assert_int_equal(pki_make_ca("dind-cache:probe", &self), 0);
        assert_int_equal(who(NULL, "dind-cache:probe", self.cert_pem, &id, &rule), 0);
        assert_null(rule);
        assert_int_equal(id.kind, IDENTITY_TENANT);
        assert_true(id.probe);
        /* One a CA issued (which dockerd would let through) is no probe. */
        assert_int_equal(who(NULL, "dind-cache:probe", issued, &id, &rule), 1);
        assert_string_equal(rule, "identity");
        assert_false(id.probe);
        pki_pair_done(&self);
}

static void a_certificate_with_two_names_is_refused(void **state) {
        char dir[] = "/tmp/test-identity-XXXXXX";
        _cleanup_free_ char *cmd = NULL, *path = NULL, *pem = NULL;
        struct identity id;
        const char *rule;
        size_t size;

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/cert.pem", dir);
        cmd = strdup_printf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s/key.pem "
                            "-subj /CN=beta/CN=alpha -days 1 -out %s 2>/dev/null", dir, path);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(read_file_full(path, 1 << 20, &pem, &size), 0);
        /* Go's CommonName is the last one: User would be "alpha". */
        assert_int_equal(who(NULL, "alpha", pem, &id, &rule), 1);
        assert_string_equal(rule, "identity");
        free(cmd);
        cmd = strdup_printf("rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
}

static void the_cache_reads_a_certificate_once(void **state) {
        _cleanup_free_ char *cert = test_cert("alpha");
        struct identity_cache cache = {};
        struct identity id;
        const char *rule;

        for (int i = 0; i < 5; i++)
                assert_int_equal(who(&cache, "alpha", cert, &id, &rule), 0);
        assert_int_equal(cache.misses, 1);
        assert_int_equal(cache.hits, 4);
        /* Cached, a User that does not match is still refused. */
        assert_int_equal(who(&cache, "beta", cert, &id, &rule), 1);
        assert_string_equal(rule, "identity");
        identity_cache_done(&cache);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(tenants_and_node_identities_are_told_apart),
                cmocka_unit_test(only_a_self_signed_certificate_is_the_checkers_probe),
                cmocka_unit_test(anything_else_is_refused_with_its_rule),
                cmocka_unit_test(a_certificate_with_two_names_is_refused),
                cmocka_unit_test(the_cache_reads_a_certificate_once),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
