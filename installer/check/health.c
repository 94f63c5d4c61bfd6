/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/health-private.h"
#include "check/health.h"
#include "base/message-ids.h"

struct check_result *health_add(struct check_list *l, const char *name, enum check_state state,
                                const char *message_id, const char *remedy, const char *fmt, ...) {
        struct check_result *r;
        va_list ap;

        va_start(ap, fmt);
        r = check_list_addv(l, name, state, remedy, fmt, ap);
        va_end(ap);
        if (r)
                r->message_id = message_id;
        return r;
}

uint64_t health_time_left(uint64_t deadline) {
        uint64_t now = now_usec();
        return now < deadline ? deadline - now : 0;
}

uint64_t health_call_timeout(uint64_t timeout, uint64_t deadline) {
        uint64_t left = health_time_left(deadline);
        uint64_t t = timeout < left ? timeout : left;
        return t < 1000 ? 1000 : t;
}

int health_add_deadline_passed(struct check_list *l, const char *name, uint64_t deadline_usec) {
        char buf[32];
        return health_add(l, name, CHECK_UNKNOWN, MID_DEADLINE_PASSED,
                          "find what is slow (disk or daemon), or raise DIND_CACHE_DEADLINE",
                          "%s not checked: the run's deadline of %s passed", name,
                          format_duration(deadline_usec, buf, sizeof(buf))) ? 0 : -ENOMEM;
}

char *health_format_latency(uint64_t usec, char *buf, size_t size) {
        if (usec < 10000)
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "ms", usec / 1000, (usec % 1000) / 100);
        else if (usec < 1000000)
                snprintf(buf, size, "%" PRIu64 "ms", (usec + 500) / 1000);
        else
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "s", usec / 1000000, (usec % 1000000) / 100000);
        return buf;
}

enum check_state health_threshold_state(int percent, int warn, int crit) {
        if (percent >= crit)
                return CHECK_FAIL;
        if (percent >= warn)
                return CHECK_WARN;
        return CHECK_OK;
}

int health_run_figures(const struct node_settings *s, struct check_list *l,
                       struct health_figures *ret) {
        _cleanup_free_ char *fs_type = NULL;
        uint64_t deadline = now_usec() + s->deadline_usec;
        int r;

        *ret = (struct health_figures) { .daemon_up = -1 };
        r = health_check_disk_figures(s, deadline, l, &fs_type, ret);
        if (r < 0)
                return r;
        r = health_check_daemon_figures(s, fs_type, deadline, l, ret);
        if (r < 0)
                return r;
        r = health_check_authz(s, deadline, ret, l);
        if (r < 0)
                return r;
        return health_check_certs(s, l, ret);
}

/* Appends "; " and S to *BUF (a growing string). */
static int append(char **buf, size_t *len, const char *s) {
        size_t n = strlen(s);
        char *grown = realloc(*buf, *len + n + 3);

        if (!grown)
                return -ENOMEM;
        *buf = grown;
        if (*len > 0 && grown[*len - 1] != ' ') {
                memcpy(grown + *len, "; ", 2);
                *len += 2;
        }
        memcpy(grown + *len, s, n + 1);
        *len += n;
        return 0;
}

char *health_summary(const struct check_list *l) {
        static const enum check_state order[] = { CHECK_FAIL, CHECK_UNKNOWN, CHECK_WARN };
        enum check_state worst = check_list_worst(l);
        _cleanup_free_ char *buf = strdup_printf("dind-cache check %s: ", check_state_to_plugin_string(worst));
        size_t len = buf ? strlen(buf) : 0;
        size_t n_ok = check_list_count(l, CHECK_OK), n_skip = check_list_count(l, CHECK_SKIP);
        char counts[64];

        if (!buf)
                return NULL;
        for (size_t o = 0; o < ELEMENTSOF(order); o++)
                for (size_t i = 0; i < l->n; i++)
                        if (l->items[i].state == order[o] && append(&buf, &len, l->items[i].message) < 0)
                                return NULL;
        if (n_skip > 0)
                snprintf(counts, sizeof(counts), "%zu OK, %zu skipped", n_ok, n_skip);
        else
                snprintf(counts, sizeof(counts), "%zu OK", n_ok);
        if (append(&buf, &len, counts) < 0)
                return NULL;
        return TAKE_PTR(buf);
}
