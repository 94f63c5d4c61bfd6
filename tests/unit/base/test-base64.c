/* SPDX-License-Identifier: MIT */
/* Base64 as Go's encoding/json writes a []byte: strict both ways. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/base64.h"
#include "base/util.h"

static void round_trips_every_length(void **state) {
        unsigned char data[40];

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (unsigned char) (i * 37 + 255);
        for (size_t n = 0; n <= sizeof(data); n++) {
                _cleanup_free_ char *enc = base64_encode(data, n), *dec = NULL;
                size_t size;

                assert_non_null(enc);
                assert_int_equal(strlen(enc), (n + 2) / 3 * 4);
                assert_int_equal(base64_decode(enc, strlen(enc), 1024, &dec, &size), 0);
                assert_int_equal(size, n);
                assert_memory_equal(dec, data, n);
                assert_int_equal(dec[n], '\0');
        }
}

static void known_values_and_strictness(void **state) {
        static const char *const bad[] = { "QQ", "QQ=", "Q===", "QQ==QQ==", "QR==", "QUI=x", "QU I=", "QUJD\n" };
        _cleanup_free_ char *a = base64_encode("foobar", 6);
        char *out = NULL;
        size_t size;

        assert_string_equal(a, "Zm9vYmFy");
        assert_int_equal(base64_decode("Zm9vYg==", 8, 100, &out, &size), 0);
        assert_string_equal(out, "foob");
        free(out);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (base64_decode(bad[i], strlen(bad[i]), 100, &out, &size) != -EBADMSG)
                        fail_msg("'%s' decoded", bad[i]);
        assert_int_equal(base64_decode("Zm9vYmFy", 8, 5, &out, &size), -EFBIG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(round_trips_every_length),
                cmocka_unit_test(known_values_and_strictness),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
