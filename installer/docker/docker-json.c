/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <time.h>

#include "docker/docker-json.h"

int64_t docker_json_int(const json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        if (json_is_integer(v))
                return json_integer_value(v);
        if (json_is_real(v)) {
                double d = json_real_value(v);
                if (d >= -9.2e18 && d <= 9.2e18)
                        return (int64_t) d;
        }
        return 0;
}

int64_t docker_json_time(const char *s) {
        struct tm tm = {};
        const char *p;
        int64_t t;

        if (!s || !(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) || tm.tm_year < 71)
                return 0;
        t = (int64_t) timegm(&tm);
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9'; p++)
                        ;
        if ((*p == '+' || *p == '-') && strlen(p) >= 6) {
                int h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');
                int64_t off = (int64_t) h * 3600 + m * 60;
                t += *p == '+' ? -off : off;
        }
        return t > 0 ? t : 0;
}
