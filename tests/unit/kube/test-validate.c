/* SPDX-License-Identifier: MIT */
/* Flag values checked as the API server checks the fields they fill, with its reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kube/validate.h"
#include "base/util.h"

typedef int (*validator)(const char *s, char **ret_reason);

static void ok(validator v, const char *s) {
        char *why = NULL;
        int r = v(s, &why);
        if (r != 0)
                fail_msg("'%s' refused: %s", s, why ?: "?");
}

/* Refused, with a reason that contains WANT. */
static void bad(validator v, const char *s, const char *want) {
        char *why = NULL;
        int r = v(s, &why);
        if (r != -EINVAL || !why || !strstr(why, want))
                fail_msg("'%s': %d, reason '%s'; want -EINVAL with '%s'", s, r, why ?: "(none)", want);
        free(why);
}

static void node_names_are_subdomains_matched_as_hostname_labels(void **state) {
        ok(validate_node_name, "node1");
        ok(validate_node_name, "worker-1.example.com");
        ok(validate_node_name, "1");
        bad(validate_node_name, "a..b", "a dot-separated part is empty");
        bad(validate_node_name, "a.b.", "ends in a dot");
        bad(validate_node_name, ".a", "a dot-separated part is empty");
        bad(validate_node_name, "a.-b", "the part '-b' is not");
        bad(validate_node_name, "UPPER", "lowercase RFC 1123 subdomain");
        bad(validate_node_name, "", "lowercase RFC 1123 subdomain");
        bad(validate_node_name, "a_b", "lowercase RFC 1123 subdomain");
        bad(validate_node_name, "n\x1b[2J", "lowercase RFC 1123 subdomain");
        bad(validate_node_name, "a234567890123456789012345678901234567890123456789012345678901234",
            "kubernetes.io/hostname");
}

static void namespaces_are_labels(void **state) {
        ok(validate_dns_label, "dind-cache");
        ok(validate_dns_label, "123-abc");
        bad(validate_dns_label, "a.b", "RFC 1123 label");
        bad(validate_dns_label, "-a", "RFC 1123 label");
        bad(validate_dns_label, "a-", "RFC 1123 label");
        bad(validate_dns_label, "a234567890123456789012345678901234567890123456789012345678901234",
            "no more than 63");
}

static void label_values(void **state) {
        ok(validate_label_value, "");
        ok(validate_label_value, "A_b.c-D");
        bad(validate_label_value, "_a", "start and end with an alphanumeric");
        bad(validate_label_value, "a b", "alphanumeric");
}

static void cron_schedules_as_robfig_cron_reads_them(void **state) {
        static const char *const good[] = {
                "0 3 * * 0", "*/15 * * * *", "0 0 1,15 * *", "5/15 * * * *", "0 9-17/2 * * mon-fri",
                "0 3 * JAN-Dec ?", "0 0 * * SUN,sat", "  0   3 * * *  ", "0\t3 * * 1", "@weekly", "@hourly", "@midnight",
                "@every 1h30m", "@every 0", "59 23 31 12 6", "+5 * * * *",
                /* What robfig/cron takes although it reads oddly (found by fuzz-validate): */
                "0 0 1,15, * *", ", * * * *",                   /* empty expressions are dropped */
                "*-5 * * * *", "?-x-y * * * *",                 /* "*" whatever follows its '-' */
                "*/99999999999 * * * *",                        /* a step is any int64 */
                "0\xc2\xa0" "3 * * *", "0\xe3\x80\x80" "3\xe2\x80\xaf* * *", /* Unicode white space */
                "@every -1.5h", "@every +0", "@every .5s", "@every 5.s", "@every 2562047h",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ok(validate_cron_schedule, good[i]);
        bad(validate_cron_schedule, "- - - - -", "failed to parse int from ''");
        bad(validate_cron_schedule, "* * * *", "expected exactly 5 fields, found 4");
        bad(validate_cron_schedule, "* * * * * *", "expected exactly 5 fields, found 6");
        bad(validate_cron_schedule, "*/0 * * * *", "step of range should be a positive number");
        bad(validate_cron_schedule, "60 * * * *", "minute field: end of range (60) above maximum (59)");
        bad(validate_cron_schedule, "0 24 * * *", "hour field: end of range (24)");
        bad(validate_cron_schedule, "0 0 0 * *", "day of month field: beginning of range (0) below minimum (1)");
        bad(validate_cron_schedule, "0 0 * 13 *", "month field: end of range (13)");
        bad(validate_cron_schedule, "0 0 * * 7", "day of week field: end of range (7) above maximum (6)");
        bad(validate_cron_schedule, "5-1 * * * *", "beginning of range (5) beyond end of range (1)");
        bad(validate_cron_schedule, "1-2-3 * * * *", "too many hyphens");
        bad(validate_cron_schedule, "*/2/3 * * * *", "too many slashes");
        bad(validate_cron_schedule, "@every 2562048h", "failed to parse duration");    /* over 2^63 ns */
        bad(validate_cron_schedule, "@every 00", "failed to parse duration");
        bad(validate_cron_schedule, "@every .s", "failed to parse duration");
        bad(validate_cron_schedule, "0 0\xc2\xa1 * * *", "failed to parse int");        /* not a space */
        bad(validate_cron_schedule, "0 0 * * funday", "failed to parse int from 'funday'");
        bad(validate_cron_schedule, "!@#$% ^&*() * * *", "failed to parse int");
        bad(validate_cron_schedule, "@fortnightly", "unrecognized descriptor");
        bad(validate_cron_schedule, "@every 5", "failed to parse duration");
        bad(validate_cron_schedule, "@every soon", "failed to parse duration");
        bad(validate_cron_schedule, "TZ=UTC 0 3 * * *", "timeZone");
        bad(validate_cron_schedule, "CRON_TZ=UTC 0 3 * * *", "timeZone");
        bad(validate_cron_schedule, "", "empty spec string");
        bad(validate_cron_schedule, "   ", "expected exactly 5 fields, found 0");
        bad(validate_cron_schedule, " @weekly", "expected exactly 5 fields, found 1");
        bad(validate_cron_schedule, "@weekly ", "unrecognized descriptor");
        bad(validate_cron_schedule, "0 3 * * * #TZ", "timeZone");
}

static void image_references_by_the_docker_grammar(void **state) {
        static const char *const good[] = {
                "docker:28.5.2-dind", "docker", "library/docker:dind", "registry.example.com/ci/docker:1",
                "localhost:5000/docker", "localhost/docker", "[::1]:5000/a/b:c", "10.0.0.1:5000/a",
                "a/b__c/d-e/f.g:TAG_1.x",
                "docker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "registry.example.com:5000/a/b:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "Registry.Example.com/a", "a---b", "a.b_c",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ok(validate_image_reference, good[i]);
        bad(validate_image_reference, "", "an image reference is needed");
        bad(validate_image_reference, "docker:dind\x1b[2J", "control");
        bad(validate_image_reference, "docker:dind\n", "control");
        bad(validate_image_reference, "docker dind", "blanks");
        bad(validate_image_reference, "Docker:dind", "must be lowercase");
        bad(validate_image_reference, "docker:", "a tag is 1 to 128");
        bad(validate_image_reference, "docker:.x", "a tag is 1 to 128");
        bad(validate_image_reference, "docker:a/b", "invalid reference format");
        bad(validate_image_reference, "a//b", "invalid reference format");
        bad(validate_image_reference, "a..b", "invalid reference format");
        bad(validate_image_reference, "a___b", "invalid reference format");
        bad(validate_image_reference, "-a", "invalid reference format");
        bad(validate_image_reference, "a/", "invalid reference format");
        bad(validate_image_reference, ":tag", "repository name is empty");
        bad(validate_image_reference, "reg-.example.com/a", "bad registry");
        bad(validate_image_reference, "reg.example.com:port/a", "bad registry");
        bad(validate_image_reference, "docker@sha256:0123", "digest length");
        bad(validate_image_reference, "docker@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm");
        bad(validate_image_reference, "docker@sha256", "ALGORITHM:HEX");
        bad(validate_image_reference, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "64-byte hexadecimal");
        /* Found by fuzz-validate against distribution/reference: */
        ok(validate_image_reference, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef:latest");
        bad(validate_image_reference, "[::ffff:1.2.3.4]:5000/a", "bad registry");   /* no IPv4-mapped form */
        {
                char name[300];
                memset(name, 'a', 237);                 /* docker.io/library/ + 237: 255 */
                name[237] = '\0';
                ok(validate_image_reference, name);
                memset(name, 'a', 238);
                name[238] = '\0';
                bad(validate_image_reference, name, "not be more than 255 characters");
                memcpy(name, "reg.example.com/", 16);   /* the whole name counts too */
                memset(name + 16, 'a', 240);
                name[256] = '\0';
                bad(validate_image_reference, name, "not be more than 255 characters");
                name[255] = '\0';
                ok(validate_image_reference, name);
        }
}

static void reasons_are_one_printable_line_whatever_the_value_held(void **state) {
        char *why = NULL;

        assert_int_equal(validate_cron_schedule("1\x1b[31m\xff 2 3 4 5", &why), -EINVAL);
        assert_string_equal(why, "minute field: failed to parse int from '1\\e[31m\\xff'");
        free(why);
        why = NULL;
        assert_int_equal(validate_cron_schedule("a\nb", &why), -EINVAL);
        assert_string_equal(why, "expected exactly 5 fields, found 2: [a\\nb]");
        free(why);
        why = NULL;
        assert_int_equal(validate_node_name("a.b\xc2\x9b" "2J", &why), -EINVAL);
        assert_non_null(strstr(why, "here the part 'b\\xc2\\x9b2J' is not"));
        free(why);
}

static void local_paths_are_normalised_or_refused_with_the_reason(void **state) {
        static const struct { const char *in, *out; } good[] = {
                { "/mnt/k8s/docker", "/mnt/k8s/docker" }, { "/mnt/k8s/docker/", "/mnt/k8s/docker" },
                { "//mnt//./k8s/", "/mnt/k8s" }, { "/a/.", "/a" }, { "/...", "/..." }, { "/a/..b", "/a/..b" },
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                char *path = NULL, *why = NULL;
                assert_int_equal(validate_local_path(good[i].in, &path, &why), 0);
                assert_string_equal(path, good[i].out);
                free(path);
        }
        static const struct { const char *in, *why; } refused[] = {
                { "/dd/..", "must not contain '..'" }, { "/a/../b", "must not contain '..'" },
                { "relative", "an absolute path is needed" }, { "", "an absolute path is needed" },
                { "/", "the root directory" }, { "/./", "the root directory" },
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                char *path = NULL, *why = NULL;
                assert_int_equal(validate_local_path(refused[i].in, &path, &why), -EINVAL);
                assert_null(path);
                if (!strstr(why, refused[i].why))
                        fail_msg("'%s': '%s', want '%s'", refused[i].in, why, refused[i].why);
                free(why);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(node_names_are_subdomains_matched_as_hostname_labels),
                cmocka_unit_test(namespaces_are_labels),
                cmocka_unit_test(label_values),
                cmocka_unit_test(cron_schedules_as_robfig_cron_reads_them),
                cmocka_unit_test(image_references_by_the_docker_grammar),
                cmocka_unit_test(reasons_are_one_printable_line_whatever_the_value_held),
                cmocka_unit_test(local_paths_are_normalised_or_refused_with_the_reason),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
