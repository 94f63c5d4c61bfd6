/* SPDX-License-Identifier: MIT */
/* With the package's units, install writes only what differs on the node, as a
 * drop-in systemd reads over the packaged unit; without them, the complete unit. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "systemd/checker-units.h"
#include "systemd/vendor-units.h"
#include "base/util.h"

#define PACKAGED_BINARY "/usr/sbin/dind-cache"

static char *render_service(const char *binary, const char *data_dir, const char *textfile_dir) {
        struct checker_unit_params p = { binary, data_dir, 300000000ULL, textfile_dir };
        char *text = NULL;

        assert_int_equal(checker_service_text(&p, &text), 0);
        return text;
}

static char *render_timer(uint64_t interval) {
        struct checker_unit_params p = { PACKAGED_BINARY, "/mnt/k8s/docker", interval, NULL };
        char *text = NULL;

        assert_int_equal(checker_timer_text(&p, &text), 0);
        return text;
}

static void test_same_settings_need_no_dropin(void **state) {
        char *vendor = render_service(PACKAGED_BINARY, "/mnt/k8s/docker", "/var/lib/prometheus/node-exporter");
        char *node = render_service(PACKAGED_BINARY, "/mnt/k8s/docker", "/var/lib/prometheus/node-exporter");
        char *dropin = NULL;

        assert_int_equal(unit_dropin_text(vendor, node, &dropin), 0);
        assert_null(dropin);
        free(vendor);
        free(node);
}

static void test_other_data_dir_resets_and_sets_read_write_paths_only(void **state) {
        char *vendor = render_service(PACKAGED_BINARY, "/mnt/k8s/docker", "/var/lib/prometheus/node-exporter");
        char *node = render_service(PACKAGED_BINARY, "/srv/cache", "/var/lib/prometheus/node-exporter");
        char *dropin = NULL;

        assert_int_equal(unit_dropin_text(vendor, node, &dropin), 1);
        assert_non_null(strstr(dropin, "\n[Service]\nReadWritePaths=\n"
                                       "ReadWritePaths=-/srv/cache -/var/lib/prometheus/node-exporter\n"));
        assert_null(strstr(dropin, "ExecStart"));
        assert_null(strstr(dropin, "[Unit]"));
        assert_null(strstr(dropin, "Protect"));
        free(dropin);
        free(vendor);
        free(node);
}

static void test_binary_elsewhere_resets_exec_start(void **state) {
        char *vendor = render_service(PACKAGED_BINARY, "/mnt/k8s/docker", NULL);
        char *node = render_service("/opt/dind/dind-cache", "/mnt/k8s/docker", NULL);
        char *dropin = NULL;

        assert_int_equal(unit_dropin_text(vendor, node, &dropin), 1);
        assert_non_null(strstr(dropin, "\nExecStart=\nExecStart=/opt/dind/dind-cache check\n"));
        free(dropin);
        free(vendor);
        free(node);
}

static void test_timer_interval_repeats_every_trigger(void **state) {
        char *vendor = render_timer(300000000ULL), *node = render_timer(120000000ULL);
        char *dropin = NULL;

        assert_int_equal(unit_dropin_text(vendor, node, &dropin), 1);
        /* An empty trigger resets them all: OnBootSec= must come back too. */
        assert_non_null(strstr(dropin, "\n[Timer]\nOnBootSec=\nOnBootSec=2min\nOnUnitActiveSec=2min\n"));
        assert_null(strstr(dropin, "RandomizedDelaySec"));
        free(dropin);
        free(vendor);
        free(node);
}

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_plan_without_vendor_copy_writes_the_whole_unit(void **state) {
        char vendor[] = "/tmp/test-vendor-XXXXXX", etc[] = "/tmp/test-etc-XXXXXX";
        struct unit_place p = {};
        char *node = render_service(PACKAGED_BINARY, "/srv/cache", NULL);
        char path[128];

        assert_non_null(mkdtemp(vendor));
        assert_non_null(mkdtemp(etc));
        assert_int_equal(unit_place_plan(vendor, etc, CHECKER_SERVICE, node, &p), 0);
        assert_false(p.vendor);
        snprintf(path, sizeof(path), "%s/%s", etc, CHECKER_SERVICE);
        assert_string_equal(p.path, path);
        assert_string_equal(p.text, node);
        assert_int_equal(unit_place_same(&p), 0);
        assert_int_equal(unit_place_apply(&p), 1);
        assert_int_equal(unit_place_same(&p), 1);
        assert_int_equal(unit_place_apply(&p), 0);
        unit_place_done(&p);
        unlink(path);
        rmdir(vendor);
        rmdir(etc);
        free(node);
}

static void test_plan_with_vendor_copy_writes_a_dropin_and_drops_our_old_unit(void **state) {
        char vendor[] = "/tmp/test-vendor-XXXXXX", etc[] = "/tmp/test-etc-XXXXXX";
        char vpath[128], old[128], dropin[160], dropdir[128];
        char *packaged = render_service(PACKAGED_BINARY, "/mnt/k8s/docker", NULL);
        char *node = render_service(PACKAGED_BINARY, "/srv/cache", NULL);
        struct unit_place p = {};
        struct stat st;

        assert_non_null(mkdtemp(vendor));
        assert_non_null(mkdtemp(etc));
        snprintf(vpath, sizeof(vpath), "%s/%s", vendor, CHECKER_SERVICE);
        snprintf(old, sizeof(old), "%s/%s", etc, CHECKER_SERVICE);
        snprintf(dropdir, sizeof(dropdir), "%s/%s.d", etc, CHECKER_SERVICE);
        snprintf(dropin, sizeof(dropin), "%s/%s", dropdir, UNIT_DROPIN_NAME);
        write_text(vpath, packaged);
        write_text(old, node); /* an earlier install without the package */

        assert_int_equal(unit_place_plan(vendor, etc, CHECKER_SERVICE, node, &p), 0);
        assert_true(p.vendor);
        assert_string_equal(p.path, dropin);
        assert_string_equal(p.stale, old);
        assert_int_equal(unit_place_apply(&p), 1);
        assert_int_equal(stat(dropin, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_not_equal(access(old, F_OK), 0);
        unit_place_done(&p);

        /* Again: nothing to do. */
        assert_int_equal(unit_place_plan(vendor, etc, CHECKER_SERVICE, node, &p), 0);
        assert_null(p.stale);
        assert_int_equal(unit_place_same(&p), 1);
        assert_int_equal(unit_place_apply(&p), 0);
        unit_place_done(&p);

        /* Back to the packaged settings: the drop-in and its directory go. */
        assert_int_equal(unit_place_plan(vendor, etc, CHECKER_SERVICE, packaged, &p), 0);
        assert_null(p.text);
        assert_int_equal(unit_place_same(&p), 0);
        assert_int_equal(unit_place_apply(&p), 1);
        assert_int_not_equal(access(dropdir, F_OK), 0);
        unit_place_done(&p);

        /* A unit in /etc that is not ours is never removed. */
        write_text(old, "[Service]\nExecStart=/bin/true\n");
        assert_int_equal(unit_place_plan(vendor, etc, CHECKER_SERVICE, node, &p), 0);
        assert_null(p.stale);
        unit_place_done(&p);

        unlink(old);
        unlink(vpath);
        rmdir(vendor);
        rmdir(etc);
        free(packaged);
        free(node);
}

static void test_textfile_dir_joins_the_sandbox(void **state) {
        struct checker_unit_params p = { PACKAGED_BINARY, "/mnt/k8s/docker", 300000000ULL, "/tmp/metrics" };
        char *text = render_service(PACKAGED_BINARY, "/mnt/k8s/docker", "/srv/metrics");

        assert_non_null(strstr(text, "\nReadWritePaths=-/mnt/k8s/docker -/srv/metrics\n"));
        free(text);
        text = NULL;
        /* Hidden by PrivateTmp=: refused, as the data directory would be. */
        assert_int_equal(checker_service_text(&p, &text), -EINVAL);
        p.textfile_dir = "/srv/my metrics";
        assert_int_equal(checker_service_text(&p, &text), -EINVAL);
        assert_null(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_settings_need_no_dropin),
                cmocka_unit_test(test_other_data_dir_resets_and_sets_read_write_paths_only),
                cmocka_unit_test(test_binary_elsewhere_resets_exec_start),
                cmocka_unit_test(test_timer_interval_repeats_every_trigger),
                cmocka_unit_test(test_plan_without_vendor_copy_writes_the_whole_unit),
                cmocka_unit_test(test_plan_with_vendor_copy_writes_a_dropin_and_drops_our_old_unit),
                cmocka_unit_test(test_textfile_dir_joins_the_sandbox),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
