/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "base/check-list.h"

struct check_result *check_list_addv(struct check_list *l, const char *name,
                                     enum check_state state, const char *remedy,
                                     const char *fmt, va_list ap) {
        struct check_result r = { .state = state };
        struct check_result *grown;

        r.name = strdup(name);
        if (vasprintf(&r.message, fmt, ap) < 0)
                r.message = NULL;
        r.remedy = remedy ? strdup(remedy) : NULL;
        if (!r.name || !r.message || (remedy && !r.remedy))
                goto fail;

        grown = realloc(l->items, (l->n + 1) * sizeof(*l->items));
        if (!grown)
                goto fail;
        l->items = grown;
        l->items[l->n] = r;
        return &l->items[l->n++];
fail:
        free(r.name);
        free(r.message);
        free(r.remedy);
        return NULL;
}

struct check_result *check_list_add(struct check_list *l, const char *name,
                                    enum check_state state, const char *remedy,
                                    const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        struct check_result *r = check_list_addv(l, name, state, remedy, fmt, ap);
        va_end(ap);
        return r;
}

static int set_printf(char **field, const char *fmt, va_list ap) _printf_(2, 0);
static int set_printf(char **field, const char *fmt, va_list ap) {
        char *s;
        if (vasprintf(&s, fmt, ap) < 0)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

int check_result_set_value(struct check_result *r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int ret = set_printf(&r->value, fmt, ap);
        va_end(ap);
        return ret;
}

int check_result_set_threshold(struct check_result *r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int ret = set_printf(&r->threshold, fmt, ap);
        va_end(ap);
        return ret;
}

enum check_state check_list_worst(const struct check_list *l) {
        enum check_state worst = CHECK_OK;
        for (size_t i = 0; i < l->n; i++)
                if (l->items[i].state > worst)
                        worst = l->items[i].state;
        return worst;
}

const struct check_result *check_list_find(const struct check_list *l, const char *name) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].name, name))
                        return &l->items[i];
        return NULL;
}

size_t check_list_count(const struct check_list *l, enum check_state state) {
        size_t n = 0;
        for (size_t i = 0; i < l->n; i++)
                n += l->items[i].state == state;
        return n;
}

void check_list_done(struct check_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].name);
                free(l->items[i].message);
                free(l->items[i].remedy);
                free(l->items[i].value);
                free(l->items[i].threshold);
        }
        free(l->items);
        l->items = NULL;
        l->n = 0;
}

const char *check_state_to_string(enum check_state s) {
        static const char *const names[_CHECK_STATE_MAX] = {
                [CHECK_OK] = "OK", [CHECK_SKIP] = "SKIP", [CHECK_WARN] = "WARN",
                [CHECK_UNKNOWN] = "UNKNOWN", [CHECK_FAIL] = "FAIL",
        };
        return s < _CHECK_STATE_MAX ? names[s] : "UNKNOWN";
}

const char *check_state_to_plugin_string(enum check_state s) {
        static const char *const names[_CHECK_STATE_MAX] = {
                [CHECK_OK] = "OK", [CHECK_SKIP] = "OK", [CHECK_WARN] = "WARNING",
                [CHECK_UNKNOWN] = "UNKNOWN", [CHECK_FAIL] = "CRITICAL",
        };
        return s < _CHECK_STATE_MAX ? names[s] : "UNKNOWN";
}

int check_state_to_plugin_status(enum check_state s) {
        switch (s) {
        case CHECK_OK:
        case CHECK_SKIP:
                return 0;
        case CHECK_WARN:
                return 1;
        case CHECK_FAIL:
                return 2;
        default:
                return 3;
        }
}

int check_state_to_priority(enum check_state s) {
        switch (s) {
        case CHECK_OK:
                return LOG_INFO;
        case CHECK_SKIP:
                return LOG_NOTICE;
        case CHECK_WARN:
                return LOG_WARNING;
        case CHECK_FAIL:
                return LOG_CRIT;
        default:
                return LOG_ERR;
        }
}
