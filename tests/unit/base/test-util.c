/* SPDX-License-Identifier: MIT */
/* Quantities and durations as the flags take them; their short renderings. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/util.h"

#define KI 1024ULL
#define MI (1024ULL * KI)
#define GI (1024ULL * MI)
#define SEC 1000000ULL

static void quantity_ok(const char *s, uint64_t want) {
        uint64_t v = 42;
        int r = parse_quantity(s, &v);
        if (r != 0 || v != want)
                fail_msg("parse_quantity(\"%s\") = %d, %llu; want %llu", s, r,
                         (unsigned long long) v, (unsigned long long) want);
}

static void quantity_bad(const char *s, int want) {
        uint64_t v = 42;
        int r = parse_quantity(s, &v);
        if (r != want || v != 42)
                fail_msg("parse_quantity(\"%s\") = %d (value %llu); want %d, value untouched", s, r,
                         (unsigned long long) v, want);
}

static void quantities_binary_decimal_and_plain(void **state) {
        quantity_ok("5Gi", 5 * GI);
        quantity_ok("500Mi", 500 * MI);
        quantity_ok("10G", 10000000000ULL);
        quantity_ok("1.5Gi", 1536 * MI);
        quantity_ok("0.5Ki", 512);
        quantity_ok("1e9", 1000000000ULL);
        quantity_ok("2E", 2000000000000000000ULL);
        quantity_ok("123", 123);
        quantity_ok("1Ti", 1024 * GI);
        quantity_ok("100k", 100000);
        quantity_ok("15Ei", 15ULL << 60);
}

static void quantities_malformed_are_einval(void **state) {
        const char *bad[] = { "", "Gi", "5GB", "5 Gi", "-5Gi", "5Gi ", " 5Gi", "1.2.3", "e9",
                              "5gi", "5K", "five", ".", "0x10" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                quantity_bad(bad[i], -EINVAL);
        quantity_bad(NULL, -EINVAL);
}

static void quantities_too_large_are_erange(void **state) {
        quantity_bad("16Ei", -ERANGE);
        quantity_bad("18446744073709551616", -ERANGE);
        quantity_bad("1e20", -ERANGE);
        quantity_bad("18446744073709551615.1", -ERANGE);    /* rounds up past the top */
        quantity_bad("20E", -ERANGE);
        quantity_ok("18446744073709551615", UINT64_MAX);
}

static void quantity_formatting_picks_the_largest_exact_suffix(void **state) {
        char buf[32];
        assert_string_equal(format_quantity(5 * GI, buf, sizeof(buf)), "5Gi");
        assert_string_equal(format_quantity(500 * MI, buf, sizeof(buf)), "500Mi");
        assert_string_equal(format_quantity(1536 * MI, buf, sizeof(buf)), "1536Mi");
        assert_string_equal(format_quantity(1000, buf, sizeof(buf)), "1000");
        assert_string_equal(format_quantity(0, buf, sizeof(buf)), "0");
        assert_string_equal(format_quantity(1024, buf, sizeof(buf)), "1Ki");
}

static void quantity_round_trips(void **state) {
        const uint64_t values[] = { 1, 1000, 1024, 5 * GI, 1536 * MI, 3ULL << 60, UINT64_MAX };
        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                char buf[32];
                uint64_t v;
                assert_int_equal(parse_quantity(format_quantity(values[i], buf, sizeof(buf)), &v), 0);
                assert_int_equal(v, values[i]);
        }
}

static void bytes_formatting_is_short(void **state) {
        char buf[16];
        assert_string_equal(format_bytes(512, buf, sizeof(buf)), "512B");
        assert_string_equal(format_bytes(1024, buf, sizeof(buf)), "1.0K");
        assert_string_equal(format_bytes(5 * GI + 512 * MI, buf, sizeof(buf)), "5.5G");
}

/* One rounding for install's PV and render's manifests: whole GiB from 1 GiB, whole
 * MiB from 1 MiB, the size itself below (never 0, never more than the disk). */
static void capacity_rounds_down_at_the_edges(void **state) {
        static const struct {
                uint64_t fs, want;
        } cases[] = {
                { 0, 0 },
                { 1, 1 },
                { 1000, 1000 },
                { (UINT64_C(1) << 20) - 1, (UINT64_C(1) << 20) - 1 },
                { UINT64_C(1) << 20, UINT64_C(1) << 20 },
                { (UINT64_C(1) << 20) + 1, UINT64_C(1) << 20 },
                { (UINT64_C(500) << 20) + 7, UINT64_C(500) << 20 },
                { (UINT64_C(1) << 30) - 1, UINT64_C(1023) << 20 },
                { UINT64_C(1) << 30, UINT64_C(1) << 30 },
                { (UINT64_C(2) << 30) - 1, UINT64_C(1) << 30 },
                { (UINT64_C(50) << 30) + 12345, UINT64_C(50) << 30 },
                { UINT64_MAX, UINT64_MAX / (UINT64_C(1) << 30) * (UINT64_C(1) << 30) },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t got = capacity_round_down(cases[i].fs);
                if (got != cases[i].want)
                        fail_msg("capacity of %" PRIu64 " bytes: %" PRIu64 ", want %" PRIu64, cases[i].fs, got,
                                 cases[i].want);
                assert_true(got <= cases[i].fs);
        }
}

static void duration_ok(const char *s, uint64_t want) {
        uint64_t v = 42;
        int r = parse_duration(s, &v);
        if (r != 0 || v != want)
                fail_msg("parse_duration(\"%s\") = %d, %llu; want %llu", s, r,
                         (unsigned long long) v, (unsigned long long) want);
}

static void duration_bad(const char *s, int want) {
        uint64_t v = 42;
        int r = parse_duration(s, &v);
        if (r != want || v != 42)
                fail_msg("parse_duration(\"%s\") = %d (value %llu); want %d, value untouched", s, r,
                         (unsigned long long) v, want);
}

static void durations_go_style(void **state) {
        duration_ok("168h", 168 * 3600 * SEC);
        duration_ok("5m", 300 * SEC);
        duration_ok("1h30m", 5400 * SEC);
        duration_ok("90s", 90 * SEC);
        duration_ok("500ms", 500000);
        duration_ok("1m500ms", 60 * SEC + 500000);
        duration_ok("300", 300 * SEC);
        duration_ok("0", 0);
}

static void durations_malformed_or_too_long(void **state) {
        const char *bad[] = { "", "5x", "h", "1h30", "-5m", "5 m", "m5", ".h", "+", "1.2.3s", "1hh" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                duration_bad(bad[i], -EINVAL);
        duration_bad("99999999999999999999h", -ERANGE);
        duration_bad("9999999999999h", -ERANGE);
}

static void quantity_fractions_are_exact_decimals(void **state) {
        /* Floating point gave 129999, 999 and one byte short of 8.26P. */
        quantity_ok(".13M", 130000);
        quantity_ok("0.13M", 130000);
        quantity_ok(".001M", 1000);
        quantity_ok("8.26P", 8260000000000000ULL);
        quantity_ok("1.1Gi", 1181116007ULL);                    /* 1181116006.4, rounded up */
        quantity_ok("0.1Ki", 103);                              /* 102.4 -> 103 */
        quantity_ok("1m", 1);                                   /* Value() rounds up */
        quantity_ok("1500m", 2);
        quantity_ok("2000m", 2);
        quantity_ok("1n", 1);
        quantity_ok("123456789u", 124);
        quantity_ok("1.5E3", 1500);
        quantity_ok("1e-3", 1);
        quantity_ok("1E+3", 1000);
        quantity_ok("12.34e2", 1234);
        quantity_ok("5.", 5);
        quantity_ok("+5Ki", 5120);
        quantity_ok("0.000Mi", 0);
        quantity_ok("1.00000000000000000000000000000000000000001", 2);
        quantity_ok("1e19", 10000000000000000000ULL);
        quantity_ok("0.9999999999999999999999E19", 10000000000000000000ULL);   /* ...999.9999 rounds up */
        quantity_ok("15.999999999999999999Ei", UINT64_MAX);     /* (16 - 1e-18) * 2^60 rounds up to 2^64 - 1 */
        quantity_bad("15.9999999999999999999Ei", -ERANGE);
        quantity_bad("1e", -EINVAL);
        quantity_bad("1e1.5", -EINVAL);
        quantity_bad("1Ki5", -EINVAL);
        quantity_bad("1.5e3Ki", -EINVAL);
        quantity_bad("1e21", -ERANGE);
        quantity_ok("0e99999", 0);
}

static void durations_are_exact_or_refused(void **state) {
        duration_ok("1.5h", 5400 * SEC);
        duration_ok("1500ms", 1500000);
        duration_ok("1.5s", 1500000);
        duration_ok(".5s", 500000);
        duration_ok("1h0.25m", 3615 * SEC);
        duration_ok("1000ns", 1);
        duration_ok("2\xc2\xb5s", 2);
        duration_ok("+3m", 180 * SEC);
        duration_ok("0.0000010s", 1);
        duration_bad("1ns", -EDOM);
        duration_bad("1.5us", -EDOM);
        duration_bad("0.1ns", -EDOM);
        duration_bad("0.00000000000000000000001h", -EDOM);
}

static void duration_formatting(void **state) {
        char buf[32];
        assert_string_equal(format_duration(90 * SEC, buf, sizeof(buf)), "1m30s");
        assert_string_equal(format_duration(5400 * SEC, buf, sizeof(buf)), "1h30m");
        assert_string_equal(format_duration(168 * 3600 * SEC, buf, sizeof(buf)), "168h");
        assert_string_equal(format_duration(500000, buf, sizeof(buf)), "500ms");
        /* Exact: 1500ms used to come out as 1s. */
        assert_string_equal(format_duration(1500000, buf, sizeof(buf)), "1s500ms");
        assert_string_equal(format_duration(3600 * SEC + 1, buf, sizeof(buf)), "1h1us");
        assert_string_equal(format_duration(0, buf, sizeof(buf)), "0s");
        assert_string_equal(format_duration(UINT64_MAX, buf, sizeof(buf)), "5124095576h1m49s551ms615us");
}

static void int_ranges(void **state) {
        long v = 7;
        assert_int_equal(parse_int_range("1500", 68, 65535, &v), 0);
        assert_int_equal(v, 1500);
        assert_int_equal(parse_int_range("67", 68, 65535, &v), -ERANGE);
        assert_int_equal(parse_int_range("15x", 68, 65535, &v), -EINVAL);
        assert_int_equal(parse_int_range("", 68, 65535, &v), -EINVAL);
        assert_int_equal(v, 1500);
}

/* A FIFO named by input must never block open(): refused at once, as are directories;
 * a regular file reads as before. */
static void fifo_and_directory_are_refused_without_blocking(void **state) {
        char dir[] = "/tmp/test-util-XXXXXX", fifo[64], file[64];
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int fd;

        assert_non_null(mkdtemp(dir));
        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        snprintf(file, sizeof(file), "%s/file", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(write_file_atomic(file, "token\n", 6, 0600), 1);

        assert_int_equal(read_file_full(fifo, 1024, &data, &size), -EBADFD);
        assert_int_equal(open_regular(fifo, O_RDONLY), -EBADFD);
        assert_int_equal(read_file_full(dir, 1024, &data, &size), -EISDIR);
        assert_string_equal(file_error_to_string(-EBADFD), "not a regular file");
        fd = open_regular(file, O_RDONLY);
        assert_true(fd >= 0);
        assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
        close(fd);
        assert_int_equal(read_file_full(file, 1024, &data, &size), 0);
        assert_string_equal(data, "token\n");

        unlink(fifo);
        unlink(file);
        rmdir(dir);
}

/* A killed writer's temporary file goes; a live writer's (it holds a lock on it until
 * its rename) stays, so two writers of one file do not break each other. */
static void only_temporary_files_nobody_holds_are_stale(void **state) {
        char dir[] = "/tmp/test-util-XXXXXX";
        _cleanup_free_ char *path = NULL, *held = NULL, *dead = NULL, *cmd = NULL;
        int fd;

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/f.conf", dir);
        held = strdup_printf("%s/f.conf.tmp-Ab12Cd", dir);
        dead = strdup_printf("%s/f.conf.tmp-Zz99Yy", dir);
        fd = open(held, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(flock(fd, LOCK_EX), 0);
        assert_int_equal(close(open(dead, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);

        assert_int_equal(remove_stale_temps(path), 1);
        assert_int_equal(access(dead, F_OK), -1);
        assert_int_equal(access(held, F_OK), 0);
        /* The live writer's file stays while another writes the same path. */
        assert_int_equal(write_file_atomic(path, "x\n", 2, 0644), 1);
        assert_int_equal(access(held, F_OK), 0);
        close(fd);
        assert_int_equal(remove_stale_temps(path), 1);
        assert_int_equal(access(held, F_OK), -1);

        cmd = strdup_printf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

/* mkdir -p: the parents as the umask leaves them, the directory itself with its mode
 * whatever the umask; a directory already there is left as it is. */
static void mkdir_p_makes_the_parents_and_the_mode(void **state) {
        char base[] = "/tmp/test-util-mkdir-XXXXXX";
        char *dir, *file;
        struct stat st;
        mode_t old = umask(077);

        assert_non_null(mkdtemp(base));
        dir = strdup_printf("%s/a/b/c", base);
        file = strdup_printf("%s/file", base);
        assert_int_equal(mkdir_p(dir, 0711), 1);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0711);
        assert_int_equal(chmod(dir, 0700), 0);
        assert_int_equal(mkdir_p(dir, 0711), 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
        assert_int_equal(mkdir_p(file, 0711), -ENOTDIR);
        umask(old);
        free(dir);
        free(file);
        dir = strdup_printf("rm -rf '%s'", base);
        assert_int_equal(system(dir), 0);
        free(dir);
}

/* CPU quantities in thousandths, as MilliValue() reads them; formatted back as the API
 * server writes them. */
static void cpu_quantities_are_read_in_millicores(void **state) {
        static const struct {
                const char *in;
                uint64_t milli;
                const char *out;
        } cases[] = {
                { "4", 4000, "4" }, { "500m", 500, "500m" }, { "1.5", 1500, "1500m" }, { "0.0001", 1, "1m" },
                { "2500m", 2500, "2500m" }, { "1e-3", 1, "1m" }, { "1k", 1000000, "1000" }, { "0", 0, "0" },
        };
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 0;
                assert_int_equal(parse_quantity_milli(cases[i].in, &v), 0);
                assert_true(v == cases[i].milli);
                assert_string_equal(format_quantity_milli(v, buf, sizeof(buf)), cases[i].out);
        }
        for (const char *const *bad = (const char *const[]) { "", "-1", "four", "1.5 cores", "m", NULL }; *bad; bad++) {
                uint64_t v = 7;
                assert_int_equal(parse_quantity_milli(*bad, &v), -EINVAL);
                assert_true(v == 7);
        }
        {
                uint64_t v;
                assert_int_equal(parse_quantity_milli("20E", &v), -ERANGE);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(quantities_binary_decimal_and_plain),
                cmocka_unit_test(quantities_malformed_are_einval),
                cmocka_unit_test(quantities_too_large_are_erange),
                cmocka_unit_test(quantity_formatting_picks_the_largest_exact_suffix),
                cmocka_unit_test(quantity_round_trips),
                cmocka_unit_test(cpu_quantities_are_read_in_millicores),
                cmocka_unit_test(bytes_formatting_is_short),
                cmocka_unit_test(capacity_rounds_down_at_the_edges),
                cmocka_unit_test(durations_go_style),
                cmocka_unit_test(durations_malformed_or_too_long),
                cmocka_unit_test(quantity_fractions_are_exact_decimals),
                cmocka_unit_test(durations_are_exact_or_refused),
                cmocka_unit_test(duration_formatting),
                cmocka_unit_test(int_ranges),
                cmocka_unit_test(fifo_and_directory_are_refused_without_blocking),
                cmocka_unit_test(only_temporary_files_nobody_holds_are_stale),
                cmocka_unit_test(mkdir_p_makes_the_parents_and_the_mode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
