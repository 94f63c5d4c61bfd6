/* SPDX-License-Identifier: MIT */
/* Certificates made, read back and verified; the node's PKI directory kept, renewed
 * and rotated as install needs it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "base/util.h"
#include "pki/pki-store.h"
#include "pki/pki.h"

static void sans_for(struct pki_sans *s, const char *ip) {
        pki_sans_done(s);
        assert_int_equal(pki_sans_add(s, "docker-dind"), 0);
        assert_int_equal(pki_sans_add(s, "docker-dind.kube-ops.svc"), 0);
        assert_int_equal(pki_sans_add(s, "localhost"), 0);
        assert_int_equal(pki_sans_add(s, "127.0.0.1"), 0);
        assert_int_equal(pki_sans_add(s, ip), 0);
}

static void a_ca_is_a_ten_year_ca(void **state) {
        struct pki_pair ca = {};
        struct pki_info info = {};
        time_t now = time(NULL);

        assert_int_equal(pki_make_ca("test CA", &ca), 0);
        assert_non_null(strstr(ca.cert_pem, "BEGIN CERTIFICATE"));
        assert_non_null(strstr(ca.key_pem, "PRIVATE KEY"));
        assert_int_equal(pki_info_from_pem(ca.cert_pem, strlen(ca.cert_pem), &info), 0);
        assert_true(info.is_ca);
        assert_string_equal(info.subject_cn, "test CA");
        assert_string_equal(info.issuer_cn, "test CA");
        assert_in_range(pki_days_left(&info, now), PKI_CA_DAYS - 1, PKI_CA_DAYS);
        assert_int_equal(strlen(info.sha256), 64);
        /* Its own trust anchor, and its key is its own. */
        assert_int_equal(pki_verify(ca.cert_pem, ca.cert_pem, PKI_USAGE_CA, NULL), 0);
        assert_int_equal(pki_key_matches(ca.cert_pem, ca.key_pem), 0);
        pki_info_done(&info);
        pki_pair_done(&ca);
}

static void leaves_verify_for_their_purpose_only(void **state) {
        struct pki_pair ca = {}, server = {}, client = {};
        struct pki_sans sans = {};
        struct pki_info info = {};
        _cleanup_free_ char *why = NULL;

        sans_for(&sans, "10.96.0.12");
        assert_int_equal(pki_make_ca("test CA", &ca), 0);
        assert_int_equal(pki_make_leaf(&ca, PKI_USAGE_SERVER, "docker-dind", &sans, &server), 0);
        assert_int_equal(pki_make_leaf(&ca, PKI_USAGE_CLIENT, "ci", NULL, &client), 0);

        assert_int_equal(pki_verify(ca.cert_pem, server.cert_pem, PKI_USAGE_SERVER, NULL), 0);
        assert_int_equal(pki_verify(ca.cert_pem, client.cert_pem, PKI_USAGE_CLIENT, NULL), 0);
        assert_int_equal(pki_verify(ca.cert_pem, server.cert_pem, PKI_USAGE_CLIENT, &why), -EKEYREJECTED);
        assert_non_null(why);
        assert_int_equal(pki_verify(ca.cert_pem, client.cert_pem, PKI_USAGE_SERVER, NULL), -EKEYREJECTED);

        assert_int_equal(pki_info_from_pem(server.cert_pem, strlen(server.cert_pem), &info), 0);
        assert_false(info.is_ca);
        assert_true(pki_sans_equal(&info.sans, &sans));
        assert_int_equal(info.sans.n_ip, 2);
        assert_in_range(pki_days_left(&info, time(NULL)), PKI_LEAF_DAYS - 1, PKI_LEAF_DAYS);
        assert_int_equal(pki_key_matches(server.cert_pem, server.key_pem), 0);
        assert_int_equal(pki_key_matches(server.cert_pem, client.key_pem), -EKEYREJECTED);

        pki_info_done(&info);
        pki_sans_done(&sans);
        pki_pair_done(&ca);
        pki_pair_done(&server);
        pki_pair_done(&client);
}

static void a_leaf_of_another_ca_does_not_verify(void **state) {
        struct pki_pair ca = {}, other = {}, leaf = {};
        _cleanup_free_ char *why = NULL;

        assert_int_equal(pki_make_ca("ours", &ca), 0);
        assert_int_equal(pki_make_ca("theirs", &other), 0);
        assert_int_equal(pki_make_leaf(&other, PKI_USAGE_CLIENT, "x", NULL, &leaf), 0);
        assert_int_equal(pki_verify(ca.cert_pem, leaf.cert_pem, PKI_USAGE_CLIENT, &why), -EKEYREJECTED);
        assert_non_null(strstr(why, "issuer"));
        pki_pair_done(&ca);
        pki_pair_done(&other);
        pki_pair_done(&leaf);
}

static void sans_compare_as_sets_and_canonical_addresses(void **state) {
        struct pki_sans a = {}, b = {};

        assert_int_equal(pki_sans_add(&a, "x"), 0);
        assert_int_equal(pki_sans_add(&a, "fd00:0::1"), 0);
        assert_int_equal(pki_sans_add(&a, "x"), 0);
        assert_int_equal(pki_sans_add(&b, "fd00::1"), 0);
        assert_int_equal(pki_sans_add(&b, "x"), 0);
        assert_int_equal(a.n_dns, 1);
        assert_true(pki_sans_equal(&a, &b));
        assert_int_equal(pki_sans_add(&b, "10.0.0.1"), 0);
        assert_false(pki_sans_equal(&a, &b));
        assert_int_equal(pki_sans_add(&b, ""), -EINVAL);
        pki_sans_done(&a);
        pki_sans_done(&b);
}

/* A common name read back from a certificate (a Secret, a file on the node) reaches
 * the terminal, the journal and metrics: escape sequences and C1 controls read as '?'
 * (found by fuzz-pki, seed odd-names.der). */
static void control_characters_in_names_are_cleaned(void **state) {
        struct pki_pair ca = {};
        struct pki_info info = {};

        assert_int_equal(pki_make_ca("evil\033[31m\302\233name\n", &ca), 0);
        assert_int_equal(pki_info_from_pem(ca.cert_pem, strlen(ca.cert_pem), &info), 0);
        assert_string_equal(info.subject_cn, "evil?[31m?name?");
        assert_string_equal(info.issuer_cn, "evil?[31m?name?");
        pki_info_done(&info);
        pki_pair_done(&ca);
}

/* An IP address SAN of 13 bytes (neither 4 nor 16) is skipped, not read past its end
 * (found by fuzz-pki under ASan, seed regress-ip-san-of-13-bytes.der). */
static void an_ip_san_of_odd_length_is_skipped(void **state) {
        static const char pem[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIB0jCCAXigAwIBAgIUfpQ/ieYzQOfHHlNMpx1+PD9Noy0wCgYIKoZIzj0EAwIw\n"
        "JjEYMBYGA1UEAwwPZXZpbAYAMwEAAAVuYW1lMQowCAYDVQQKDAF4MB4XDTI2MTEy\n"
        "OTEzMTcxMFoXDTI2MTEzMDEzMTcxMFowJjEYMBYGA80EAwwPZXZpbBtbMzFtwptu\n"
        "YW1lMQowCAYDVQQKDAF4MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEt6dH+L7H\n"
        "BlVhelc9xOMBCkRrsb8BvK5NYWSFImbBtthiSvVuPzLhtDCeOyOzXLs1om1VJLVn\n"
        "KN7XKhtqGmUj1aOBgzCBgDAdBgNVHQ4EFpE7BBTIVXvvvPyKmDjAclmkAQhYxo4w\n"
        "HwYDVR0jBBgwFoAUkTvIVXvvvPyKmDjAclmkAQhYxo4wDwYDVR0TAQH/BAUwAwEB\n"
        "/zAtBgNVHREEJjAkgghiYWQgbmFtZYcNKi5leGFtcGxlLmNvbYcEfwAAAYEDeEB5\n"
        "MAoGCCqGSM49BAMCA0gAMEUCIHfff1NtXYf5ejPaZT4M1cEj3wQpb5omZP39f/PC\n"
        "+XfbAiEApk0vhrZPS2Jd0as/UsgQoEy5XMgQoEy5XCyl3k1yCW0=\n"
        "-----END CERTIFICATE-----\n";
        struct pki_info info = {};

        assert_int_equal(pki_info_from_pem(pem, strlen(pem), &info), 0);
        assert_int_equal(info.sans.n_ip, 1);
        assert_string_equal(info.sans.ip[0], "127.0.0.1");
        pki_info_done(&info);
}

static void garbage_is_not_a_certificate(void **state) {
        struct pki_info info = {};
        const char *junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

        assert_int_equal(pki_info_from_pem(junk, strlen(junk), &info), -EBADMSG);
        assert_int_equal(pki_info_from_pem("", 0, &info), -EBADMSG);
        assert_int_equal(pki_count_certs(junk, strlen(junk)), 0);
}

/* ---- the store */

static char *tmp_dir(void) {
        char t[] = "/tmp/pki-test-XXXXXX";
        assert_non_null(mkdtemp(t));
        return strdup_printf("%s/pki", t);
}

static char *slurp(const char *dir, const char *file) {
        _cleanup_free_ char *p = strdup_printf("%s/%s", dir, file);
        char *data = NULL;
        size_t size;
        assert_int_equal(read_file_full(p, 1 << 20, &data, &size), 0);
        return data;
}

static mode_t mode_of(const char *dir, const char *file) {
        _cleanup_free_ char *p = strdup_printf("%s/%s", dir, file);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        return st.st_mode & 07777;
}

static void ensure_for(const char *dir, const struct pki_sans *sans, char **tenants, bool renew, bool rotate,
                       struct pki_state *s) {
        struct pki_request req = { .dir = dir, .server_sans = sans, .tenants = tenants, .renew = renew,
                                   .rotate_ca = rotate };
        *s = (struct pki_state) {};
        if (pki_store_ensure(&req, s) < 0)
                fail_msg("pki_store_ensure: %s", s->error ?: "?");
}

static void ensure(const char *dir, const struct pki_sans *sans, bool renew, bool rotate, struct pki_state *s) {
        ensure_for(dir, sans, NULL, renew, rotate, s);
}

/* A store made once, for SANS of the ClusterIP 10.96.0.12: its directory. */
static char *made_store(struct pki_sans *sans) {
        char *dir = tmp_dir();
        struct pki_state s = {};

        sans_for(sans, "10.96.0.12");
        ensure(dir, sans, false, false, &s);
        pki_state_done(&s);
        return dir;
}

static void cleanup_dir(char *dir) {
        char *parent = strdup(dir);
        assert_int_equal(pki_store_remove(dir), 0);
        *strrchr(parent, '/') = '\0';
        rmdir(parent);
        free(parent);
        free(dir);
}

static void the_store_makes_everything_once_then_keeps_it(void **state) {
        char *dir = tmp_dir();
        struct pki_sans sans = {};
        struct pki_state s = {};
        _cleanup_free_ char *ca1 = NULL, *ca2 = NULL, *srv1 = NULL, *srv2 = NULL, *cli1 = NULL, *cli2 = NULL;
        struct stat st;

        sans_for(&sans, "10.96.0.12");
        ensure(dir, &sans, false, false, &s);
        assert_true(s.changed);
        for (int i = 0; i < (int) s.n_items; i++)
                assert_int_equal(s.action[i], PKI_CREATED);
        pki_state_done(&s);

        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_int_equal(mode_of(dir, "ca/key.pem"), 0600);
        assert_int_equal(mode_of(dir, "server/key.pem"), 0600);
        assert_int_equal(mode_of(dir, "checker/key.pem"), 0600);
        assert_int_equal(mode_of(dir, "prune-job/cert.pem"), 0644);
        assert_int_equal(mode_of(dir, "server"), 0700);
        ca1 = slurp(dir, "ca/cert.pem");
        srv1 = slurp(dir, "server/cert.pem");
        cli1 = slurp(dir, "prune-job/cert.pem");

        ensure(dir, &sans, false, false, &s);
        assert_false(s.changed);
        for (int i = 0; i < (int) s.n_items; i++)
                assert_int_equal(s.action[i], PKI_KEPT);
        assert_string_equal(s.leaf[PKI_ITEM_SERVER].cert_pem, srv1);
        pki_state_done(&s);
        ca2 = slurp(dir, "ca/cert.pem");
        srv2 = slurp(dir, "server/cert.pem");
        cli2 = slurp(dir, "prune-job/cert.pem");
        assert_string_equal(ca1, ca2);
        assert_string_equal(srv1, srv2);
        assert_string_equal(cli1, cli2);

        pki_sans_done(&sans);
        cleanup_dir(dir);
}

static void a_new_cluster_ip_reissues_the_server_certificate_only(void **state) {
        char *dir = tmp_dir();
        struct pki_sans sans = {};
        struct pki_state s = {};

        sans_for(&sans, "10.96.0.12");
        ensure(dir, &sans, false, false, &s);
        pki_state_done(&s);
        sans_for(&sans, "10.96.0.99");
        ensure(dir, &sans, false, false, &s);
        assert_int_equal(s.action[PKI_ITEM_CA], PKI_KEPT);
        assert_int_equal(s.action[PKI_ITEM_SERVER], PKI_RENEWED);
        assert_non_null(strstr(s.reason[PKI_ITEM_SERVER], "SANs"));
        assert_int_equal(s.action[PKI_ITEM_PRUNE_JOB], PKI_KEPT);
        assert_int_equal(s.action[PKI_ITEM_CHECKER], PKI_KEPT);
        assert_true(pki_sans_equal(&s.info[PKI_ITEM_SERVER].sans, &sans));
        pki_state_done(&s);
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

static void renew_reissues_every_leaf_but_keeps_the_ca(void **state) {
        char *dir = tmp_dir();
        struct pki_sans sans = {};
        struct pki_state s = {};
        _cleanup_free_ char *ca1 = NULL, *ca2 = NULL, *cli1 = NULL, *cli2 = NULL;

        sans_for(&sans, "10.96.0.12");
        ensure(dir, &sans, false, false, &s);
        pki_state_done(&s);
        ca1 = slurp(dir, "ca/cert.pem");
        cli1 = slurp(dir, "prune-job/cert.pem");
        ensure(dir, &sans, true, false, &s);
        assert_int_equal(s.action[PKI_ITEM_CA], PKI_KEPT);
        for (int i = PKI_ITEM_SERVER; i < (int) s.n_items; i++)
                assert_int_equal(s.action[i], PKI_RENEWED);
        pki_state_done(&s);
        ca2 = slurp(dir, "ca/cert.pem");
        cli2 = slurp(dir, "prune-job/cert.pem");
        assert_string_equal(ca1, ca2);
        assert_string_not_equal(cli1, cli2);
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

static void rotating_the_ca_trusts_both_until_the_next_run(void **state) {
        char *dir = tmp_dir();
        struct pki_sans sans = {};
        struct pki_state s = {};
        _cleanup_free_ char *old_ca = NULL, *bundle = NULL, *bundle2 = NULL, *srv = NULL;

        sans_for(&sans, "10.96.0.12");
        ensure(dir, &sans, false, false, &s);
        pki_state_done(&s);
        old_ca = slurp(dir, "ca/cert.pem");

        ensure(dir, &sans, false, true, &s);
        assert_int_equal(s.action[PKI_ITEM_CA], PKI_RENEWED);
        for (int i = PKI_ITEM_SERVER; i < (int) s.n_items; i++)
                assert_int_equal(s.action[i], PKI_RENEWED);
        pki_state_done(&s);
        bundle = slurp(dir, "prune-job/ca.pem");
        assert_int_equal(pki_count_certs(bundle, strlen(bundle)), 2);
        assert_non_null(strstr(bundle, old_ca));
        srv = slurp(dir, "server/cert.pem");
        /* The new leaves verify against the bundle; the old CA alone does not. */
        assert_int_equal(pki_verify(bundle, srv, PKI_USAGE_SERVER, NULL), 0);
        assert_int_equal(pki_verify(old_ca, srv, PKI_USAGE_SERVER, NULL), -EKEYREJECTED);

        ensure(dir, &sans, false, false, &s);
        assert_true(s.previous_dropped);
        for (int i = 0; i < (int) s.n_items; i++)
                assert_int_equal(s.action[i], PKI_KEPT);
        pki_state_done(&s);
        bundle2 = slurp(dir, "server/ca.pem");
        assert_int_equal(pki_count_certs(bundle2, strlen(bundle2)), 1);
        assert_null(strstr(bundle2, old_ca));
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

static void a_damaged_ca_is_reported_never_replaced(void **state) {
        char *dir = tmp_dir();
        struct pki_sans sans = {};
        struct pki_state s = {};
        struct pki_pair other = {};
        struct pki_request req = { .dir = dir };
        _cleanup_free_ char *key_path = strdup_printf("%s/ca/key.pem", dir);
        _cleanup_free_ char *before = NULL, *after = NULL;

        sans_for(&sans, "10.96.0.12");
        req.server_sans = &sans;
        ensure(dir, &sans, false, false, &s);
        pki_state_done(&s);
        assert_int_equal(pki_make_ca("intruder", &other), 0);
        assert_int_equal(write_file_atomic(key_path, other.key_pem, strlen(other.key_pem), 0600), 1);
        before = slurp(dir, "ca/cert.pem");
        assert_int_equal(pki_store_ensure(&req, &s), -EKEYREJECTED);
        assert_non_null(s.error);
        assert_non_null(strstr(s.error, "ca/cert.pem"));
        free(s.error);
        after = slurp(dir, "ca/cert.pem");
        assert_string_equal(before, after);
        pki_pair_done(&other);
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

static void put(const char *dir, const char *file, const char *data, mode_t mode) {
        _cleanup_free_ char *p = strdup_printf("%s/%s", dir, file);
        assert_true(write_file_atomic(p, data, strlen(data), mode) >= 0);
}

static bool exists(const char *dir, const char *file) {
        _cleanup_free_ char *p = strdup_printf("%s/%s", dir, file);
        struct stat st;
        return stat(p, &st) == 0;
}

/* What a run killed in the middle of replacing the CA leaves (the new key renamed in,
 * its certificate still beside it as cert.pem.new): the next run finishes the switch
 * instead of refusing a certificate that does not match its key. */
static void a_ca_switch_killed_after_the_key_is_finished(void **state) {
        char *dir = tmp_dir();
        struct pki_sans sans = {};
        struct pki_state s = {};
        struct pki_pair next = {};
        _cleanup_free_ char *ca = NULL, *old_ca = NULL;

        sans_for(&sans, "10.96.0.12");
        ensure(dir, &sans, false, false, &s);
        pki_state_done(&s);
        old_ca = slurp(dir, "ca/cert.pem");
        /* A --rotate-ca writes the previous CA first, then switches the pair. */
        assert_int_equal(pki_make_ca("dind-cache CA next", &next), 0);
        put(dir, "ca/previous.pem", old_ca, 0644);
        put(dir, "ca/key.pem", next.key_pem, 0600);
        put(dir, "ca/cert.pem.new", next.cert_pem, 0644);

        ensure(dir, &sans, false, false, &s);
        assert_int_equal(s.action[PKI_ITEM_CA], PKI_KEPT);
        assert_string_equal(s.ca.cert_pem, next.cert_pem);
        /* Every leaf now verifies against the CA that is on disk. */
        for (int i = PKI_ITEM_SERVER; i < (int) s.n_items; i++)
                assert_int_equal(s.action[i], PKI_RENEWED);
        /* The jobs still hold leaves of the old CA: it stays trusted for this run. */
        assert_false(s.previous_dropped);
        assert_int_equal(pki_count_certs(s.bundle, strlen(s.bundle)), 2);
        pki_state_done(&s);
        ca = slurp(dir, "ca/cert.pem");
        assert_string_equal(ca, next.cert_pem);
        assert_false(exists(dir, "ca/cert.pem.new"));
        assert_int_equal(mode_of(dir, "ca/key.pem"), 0600);

        ensure(dir, &sans, false, false, &s);
        assert_true(s.previous_dropped);
        pki_state_done(&s);
        ensure(dir, &sans, false, false, &s);
        assert_false(s.changed);
        pki_state_done(&s);
        pki_pair_done(&next);
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

/* Killed once both new files were written, before either rename: the new pair is
 * complete and is switched in. */
static void a_ca_switch_killed_before_the_renames_is_finished(void **state) {
        char *dir = tmp_dir();
        struct pki_sans sans = {};
        struct pki_state s = {};
        struct pki_pair next = {};
        _cleanup_free_ char *ca = NULL, *key = NULL;

        sans_for(&sans, "10.96.0.12");
        ensure(dir, &sans, false, false, &s);
        pki_state_done(&s);
        assert_int_equal(pki_make_ca("dind-cache CA next", &next), 0);
        put(dir, "ca/key.pem.new", next.key_pem, 0600);
        put(dir, "ca/cert.pem.new", next.cert_pem, 0644);

        ensure(dir, &sans, false, false, &s);
        pki_state_done(&s);
        ca = slurp(dir, "ca/cert.pem");
        key = slurp(dir, "ca/key.pem");
        assert_string_equal(ca, next.cert_pem);
        assert_string_equal(key, next.key_pem);
        assert_false(exists(dir, "ca/key.pem.new"));
        assert_false(exists(dir, "ca/cert.pem.new"));
        pki_pair_done(&next);
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

/* Killed after writing only the new key: the old pair is whole and stays; the orphan
 * key goes. */
static void a_ca_switch_killed_before_its_certificate_keeps_the_old_pair(void **state) {
        char *dir = tmp_dir();
        struct pki_sans sans = {};
        struct pki_state s = {};
        struct pki_pair next = {};
        _cleanup_free_ char *before = NULL, *after = NULL;

        sans_for(&sans, "10.96.0.12");
        ensure(dir, &sans, false, false, &s);
        pki_state_done(&s);
        before = slurp(dir, "ca/cert.pem");
        assert_int_equal(pki_make_ca("dind-cache CA next", &next), 0);
        put(dir, "ca/key.pem.new", next.key_pem, 0600);

        ensure(dir, &sans, false, false, &s);
        for (int i = 0; i < (int) s.n_items; i++)
                assert_int_equal(s.action[i], PKI_KEPT);
        pki_state_done(&s);
        after = slurp(dir, "ca/cert.pem");
        assert_string_equal(before, after);
        assert_false(exists(dir, "ca/key.pem.new"));
        pki_pair_done(&next);
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

/* A leaf's switch killed half-way is finished too, not re-issued: the server
 * certificate the run had made is the one kept (no second pod restart). */
static void a_leaf_switch_killed_half_way_keeps_the_new_certificate(void **state) {
        char *dir = tmp_dir();
        struct pki_sans sans = {};
        struct pki_state s = {};
        struct pki_pair ca = {}, leaf = {};
        _cleanup_free_ char *srv = NULL;

        sans_for(&sans, "10.96.0.12");
        ensure(dir, &sans, false, false, &s);
        pki_state_done(&s);
        ca.cert_pem = slurp(dir, "ca/cert.pem");
        ca.key_pem = slurp(dir, "ca/key.pem");
        assert_int_equal(pki_make_leaf(&ca, PKI_USAGE_SERVER, PKI_CN_SERVER, &sans, &leaf), 0);
        put(dir, "server/key.pem", leaf.key_pem, 0600);
        put(dir, "server/cert.pem.new", leaf.cert_pem, 0644);

        ensure(dir, &sans, false, false, &s);
        for (int i = 0; i < (int) s.n_items; i++)
                assert_int_equal(s.action[i], PKI_KEPT);
        pki_state_done(&s);
        srv = slurp(dir, "server/cert.pem");
        assert_string_equal(srv, leaf.cert_pem);
        assert_false(exists(dir, "server/cert.pem.new"));
        pki_pair_done(&leaf);
        pki_pair_done(&ca);
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

static void dry_run_writes_nothing(void **state) {
        char *dir = tmp_dir();
        struct pki_sans sans = {};
        struct pki_state s = {};
        struct pki_request req = { .dir = dir, .dry_run = true };
        struct stat st;

        sans_for(&sans, "10.96.0.12");
        req.server_sans = &sans;
        assert_int_equal(pki_store_ensure(&req, &s), 0);
        assert_true(s.changed);
        /* Decided, and no key made for it. */
        for (int i = 0; i < (int) s.n_items; i++)
                assert_int_equal(s.action[i], PKI_CREATED);
        assert_null(s.ca.key_pem);
        assert_null(s.leaf[PKI_ITEM_SERVER].key_pem);
        pki_state_done(&s);
        assert_int_equal(stat(dir, &st), -1);

        /* On a store that exists, a dry run that would renew everything makes no key
         * and changes no byte. */
        {
                _cleanup_free_ char *before = NULL, *after = NULL;
                ensure(dir, &sans, false, false, &s);
                pki_state_done(&s);
                before = slurp(dir, "server/key.pem");
                req.renew = true;
                req.rotate_ca = true;
                assert_int_equal(pki_store_ensure(&req, &s), 0);
                for (int i = 0; i < (int) s.n_items; i++)
                        assert_int_equal(s.action[i], PKI_RENEWED);
                assert_null(s.ca.key_pem);
                for (int i = PKI_ITEM_SERVER; i < (int) s.n_items; i++)
                        assert_null(s.leaf[i].key_pem);
                pki_state_done(&s);
                after = slurp(dir, "server/key.pem");
                assert_string_equal(before, after);
        }
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

static char *subject_cn(const char *pem) {
        struct pki_info info = {};
        char *cn;
        assert_int_equal(pki_info_from_pem(pem, strlen(pem), &info), 0);
        cn = strdup(info.subject_cn);
        pki_info_done(&info);
        return cn;
}

/* The identity contract: a tenant's CN is its namespace, each tenant has its own key
 * and serial, the node's identities have a ':' in their CN. */
static void each_tenant_gets_its_own_certificate_named_by_its_namespace(void **state) {
        char *dir = tmp_dir();
        char *tenants[] = { "gitlab-runner", "builds", "gitlab-runner", NULL };
        struct pki_sans sans = {};
        struct pki_state s = {};
        struct pki_peer a = {}, b = {};
        _cleanup_free_ char *cert_a = NULL, *cert_b = NULL, *key_a = NULL, *key_b = NULL, *bundle = NULL;
        _cleanup_free_ char *cn = NULL, *checker = NULL, *pruner = NULL, *job = NULL;
        _cleanup_strv_free_ char **listed = NULL;
        struct pki_info soonest = {};

        sans_for(&sans, "10.96.0.12");
        ensure_for(dir, &sans, tenants, false, false, &s);
        assert_int_equal(s.n_items, PKI_ITEM_TENANTS + 2);
        assert_string_equal(s.name[PKI_ITEM_TENANTS], "tenant gitlab-runner");
        assert_string_equal(s.name[PKI_ITEM_TENANTS + 1], "tenant builds");
        pki_state_done(&s);

        cert_a = slurp(dir, "tenants/gitlab-runner/cert.pem");
        cert_b = slurp(dir, "tenants/builds/cert.pem");
        key_a = slurp(dir, "tenants/gitlab-runner/key.pem");
        key_b = slurp(dir, "tenants/builds/key.pem");
        assert_int_equal(mode_of(dir, "tenants/builds/key.pem"), 0600);
        assert_int_equal(mode_of(dir, "tenants"), 0700);
        assert_string_not_equal(key_a, key_b);
        assert_int_equal(pki_key_matches(cert_a, key_b), -EKEYREJECTED);
        assert_int_equal(pki_peer_from_pem(cert_a, strlen(cert_a), &a), 0);
        assert_int_equal(pki_peer_from_pem(cert_b, strlen(cert_b), &b), 0);
        assert_string_equal(a.cn, "gitlab-runner");
        assert_string_equal(b.cn, "builds");
        assert_string_not_equal(a.serial, b.serial);
        checker = slurp(dir, "checker/cert.pem");
        pruner = slurp(dir, "pruner/cert.pem");
        job = slurp(dir, "prune-job/cert.pem");
        free(cn), cn = subject_cn(checker);
        assert_string_equal(cn, "dind-cache:checker");
        free(cn), cn = subject_cn(pruner);
        assert_string_equal(cn, "dind-cache:pruner");
        free(cn), cn = subject_cn(job);
        assert_string_equal(cn, "dind-cache:prune-job");
        free(cn), cn = slurp(dir, "tenants/builds/ca.pem");
        assert_int_equal(pki_verify(cn, cert_b, PKI_USAGE_CLIENT, NULL), 0);

        /* The jobs' certificates, public, for the checker: the prune job's, then the
         * tenants by name; the first to expire is found. */
        bundle = slurp(dir, "client-certs.pem");
        assert_int_equal(pki_count_certs(bundle, strlen(bundle)), 3);
        assert_null(strstr(bundle, "PRIVATE KEY"));
        assert_true(strstr(bundle, cert_b) < strstr(bundle, cert_a));
        assert_int_equal(pki_info_soonest_from_pem(bundle, strlen(bundle), &soonest), 0);
        assert_non_null(soonest.subject_cn);
        pki_info_done(&soonest);

        /* A tenant left out of the request keeps its folder (the caller removes it once
         * its Secret is gone), and leaves client-certs.pem. */
        ensure_for(dir, &sans, (char *[]) { "builds", NULL }, false, false, &s);
        assert_int_equal(s.n_items, PKI_ITEM_TENANTS + 1);
        for (int i = 0; i < (int) s.n_items; i++)
                assert_int_equal(s.action[i], PKI_KEPT);
        pki_state_done(&s);
        free(bundle);
        bundle = slurp(dir, "client-certs.pem");
        assert_int_equal(pki_count_certs(bundle, strlen(bundle)), 2);
        assert_int_equal(pki_store_tenants(dir, &listed), 0);
        assert_int_equal(strv_length(listed), 2);
        assert_string_equal(listed[0], "builds");
        assert_string_equal(listed[1], "gitlab-runner");
        assert_int_equal(pki_store_remove_tenant(dir, "gitlab-runner"), 0);
        assert_false(exists(dir, "tenants/gitlab-runner"));
        assert_int_equal(pki_store_remove_tenant(dir, "gitlab-runner"), 0);
        assert_int_equal(pki_store_remove_tenant(dir, "../ca"), -EINVAL);
        assert_true(exists(dir, "tenants/builds/key.pem"));

        pki_peer_done(&a);
        pki_peer_done(&b);
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

static void a_tenant_that_is_no_namespace_is_refused(void **state) {
        char *dir = tmp_dir();
        struct pki_state s = {};
        struct pki_request req = { .dir = dir, .tenants = (char *[]) { "ok", "../../etc", NULL } };

        assert_int_equal(pki_store_ensure(&req, &s), -EINVAL);
        assert_non_null(strstr(s.error, "../../etc"));
        free(s.error);
        req.tenants = (char *[]) { "dind-cache:checker", NULL };
        s = (struct pki_state) {};
        assert_int_equal(pki_store_ensure(&req, &s), -EINVAL);
        free(s.error);
        free(dir);
}

/* An install made before per-tenant identities: one client for every job in client/,
 * the checker named dind-cache-checker. The next run renames the checker (a new
 * certificate), makes the new identities, and reports client/ for removal. */
static void an_install_before_per_tenant_identities_converges(void **state) {
        struct pki_sans sans = {};
        char *dir = made_store(&sans);
        struct pki_state s = {};
        struct pki_pair ca = {}, old_checker = {}, old_client = {};
        _cleanup_free_ char *cn = NULL, *checker = NULL;

        ca.cert_pem = slurp(dir, "ca/cert.pem");
        ca.key_pem = slurp(dir, "ca/key.pem");
        assert_int_equal(pki_make_leaf(&ca, PKI_USAGE_CLIENT, "dind-cache-checker", NULL, &old_checker), 0);
        assert_int_equal(pki_make_leaf(&ca, PKI_USAGE_CLIENT, PKI_LEGACY_CN_CLIENT, NULL, &old_client), 0);
        put(dir, "checker/cert.pem", old_checker.cert_pem, 0644);
        put(dir, "checker/key.pem", old_checker.key_pem, 0600);
        free(cn), cn = strdup_printf("%s/client", dir);
        assert_int_equal(mkdir(cn, 0700), 0);
        put(dir, "client/cert.pem", old_client.cert_pem, 0644);
        put(dir, "client/key.pem", old_client.key_pem, 0600);
        put(dir, "client/ca.pem", ca.cert_pem, 0644);
        assert_int_equal(pki_store_has_legacy_client(dir), 1);

        ensure_for(dir, &sans, (char *[]) { "gitlab-runner", NULL }, false, false, &s);
        assert_int_equal(s.action[PKI_ITEM_CA], PKI_KEPT);
        assert_int_equal(s.action[PKI_ITEM_SERVER], PKI_KEPT);
        assert_int_equal(s.action[PKI_ITEM_CHECKER], PKI_RENEWED);
        assert_string_equal(s.reason[PKI_ITEM_CHECKER], "it names 'dind-cache-checker', not 'dind-cache:checker'");
        assert_int_equal(s.action[PKI_ITEM_TENANTS], PKI_CREATED);
        pki_state_done(&s);
        checker = slurp(dir, "checker/cert.pem");
        free(cn), cn = subject_cn(checker);
        assert_string_equal(cn, "dind-cache:checker");
        assert_int_equal(pki_store_has_legacy_client(dir), 1);
        assert_int_equal(pki_store_remove_legacy_client(dir), 0);
        assert_int_equal(pki_store_has_legacy_client(dir), 0);

        pki_pair_done(&ca);
        pki_pair_done(&old_checker);
        pki_pair_done(&old_client);
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

/* A tenant added while a rotation settles does not hold the previous CA in the bundle:
 * nobody holds an old certificate of it. */
static void a_new_tenant_does_not_keep_the_previous_ca(void **state) {
        struct pki_sans sans = {};
        char *dir = made_store(&sans);
        struct pki_state s = {};

        ensure(dir, &sans, false, true, &s);
        pki_state_done(&s);
        ensure_for(dir, &sans, (char *[]) { "late", NULL }, false, false, &s);
        assert_int_equal(s.action[PKI_ITEM_TENANTS], PKI_CREATED);
        assert_true(s.previous_dropped);
        pki_state_done(&s);
        pki_sans_done(&sans);
        cleanup_dir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_ca_is_a_ten_year_ca),
                cmocka_unit_test(leaves_verify_for_their_purpose_only),
                cmocka_unit_test(a_leaf_of_another_ca_does_not_verify),
                cmocka_unit_test(sans_compare_as_sets_and_canonical_addresses),
                cmocka_unit_test(garbage_is_not_a_certificate),
                cmocka_unit_test(the_store_makes_everything_once_then_keeps_it),
                cmocka_unit_test(a_new_cluster_ip_reissues_the_server_certificate_only),
                cmocka_unit_test(renew_reissues_every_leaf_but_keeps_the_ca),
                cmocka_unit_test(rotating_the_ca_trusts_both_until_the_next_run),
                cmocka_unit_test(a_damaged_ca_is_reported_never_replaced),
                cmocka_unit_test(a_ca_switch_killed_after_the_key_is_finished),
                cmocka_unit_test(a_ca_switch_killed_before_the_renames_is_finished),
                cmocka_unit_test(a_ca_switch_killed_before_its_certificate_keeps_the_old_pair),
                cmocka_unit_test(a_leaf_switch_killed_half_way_keeps_the_new_certificate),
                cmocka_unit_test(dry_run_writes_nothing),
                cmocka_unit_test(each_tenant_gets_its_own_certificate_named_by_its_namespace),
                cmocka_unit_test(a_tenant_that_is_no_namespace_is_refused),
                cmocka_unit_test(an_install_before_per_tenant_identities_converges),
                cmocka_unit_test(a_new_tenant_does_not_keep_the_previous_ca),
                cmocka_unit_test(control_characters_in_names_are_cleaned),
                cmocka_unit_test(an_ip_san_of_odd_length_is_skipped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
