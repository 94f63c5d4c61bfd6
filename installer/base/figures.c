/* SPDX-License-Identifier: MIT */
#include "base/figures.h"

const char *const health_cert_names[4] = { "ca", "server", "client", "checker" };

int percent_used(uint64_t used, uint64_t avail) {
        uint64_t total = used + avail;

        if (total == 0 || total < used)
                return 0;
        /* df: used * 100 / (used + avail), rounded up; in long double to avoid overflow. */
        long double pct = (long double) used * 100.0L / (long double) total;
        int p = (int) pct;
        if ((long double) p < pct)
                p++;
        return p > 100 ? 100 : p;
}
