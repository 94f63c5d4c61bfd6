/* SPDX-License-Identifier: MIT */
/* kube/kube.h: kube_status_parse() on any reply body never fails but for -ENOMEM, and
 * every string it keeps is capped and free of control characters (newlines allowed). */
#include <errno.h>

#include "fuzz.h"
#include "kube/kube.h"

#define STATUS_MAX_STRING 4096

static void check_string(const char *s) {
        if (!s)
                return;
        FUZZ_ASSERT(strlen(s) <= STATUS_MAX_STRING);
        FUZZ_ASSERT(fuzz_no_control(s, "\n"));
        /* Cut at a character boundary: what was UTF-8 stays UTF-8. */
        FUZZ_ASSERT(fuzz_utf8_valid(s, strlen(s)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct kube_error e = {};
        long status = size > 0 ? 400 + data[0] % 200 : 500;
        char *s;
        int r;

        r = kube_status_parse((const char *) data, size, status, &e);
        FUZZ_ASSERT(r == 0);
        FUZZ_ASSERT(e.http_status == status);
        FUZZ_ASSERT(e.n_causes <= KUBE_STATUS_MAX_CAUSES);
        FUZZ_ASSERT(e.n_causes == 0 || e.causes);
        if (fuzz_utf8_valid((const char *) data, size)) {
                check_string(e.reason);
                check_string(e.message);
                check_string(e.details_name);
                check_string(e.details_group);
                check_string(e.details_kind);
                for (size_t i = 0; i < e.n_causes; i++) {
                        check_string(e.causes[i].type);
                        check_string(e.causes[i].message);
                        check_string(e.causes[i].field);
                }
        } else
                FUZZ_ASSERT(fuzz_no_control(e.message, "\n"));
        FUZZ_ASSERT(kube_status_to_errno(status) < 0);
        kube_error_done(&e);

        /* kube_sanitize() itself, with a cap from the input. */
        s = kube_sanitize((const char *) data, size, size > 0 ? data[size - 1] : 0);
        FUZZ_ASSERT(s);
        FUZZ_ASSERT(strlen(s) <= (size > 0 ? data[size - 1] : 0u));
        FUZZ_ASSERT(fuzz_no_control(s, "\n"));
        if (fuzz_utf8_valid((const char *) data, size) && !memchr(data, 0, size))
                FUZZ_ASSERT(fuzz_utf8_valid(s, strlen(s)));
        free(s);
        return 0;
}
