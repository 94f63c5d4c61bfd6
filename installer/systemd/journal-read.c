/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "base/text.h"
#include "base/util.h"
#include "systemd/journal-read.h"

#define IDENTIFIER_MATCH "SYSLOG_IDENTIFIER=dind-cache"

int check_state_from_plugin_string(const char *s, enum check_state *ret) {
        static const struct {
                const char *name;
                enum check_state state;
        } map[] = {
                { "OK", CHECK_OK },         { "SKIP", CHECK_SKIP },      { "WARNING", CHECK_WARN },
                { "WARN", CHECK_WARN },     { "UNKNOWN", CHECK_UNKNOWN }, { "CRITICAL", CHECK_FAIL },
                { "FAIL", CHECK_FAIL },
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(s, map[i].name)) {
                        *ret = map[i].state;
                        return 0;
                }
        return -EINVAL;
}

/* A copy of FIELD's value in the current entry (at most JOURNAL_FIELD_MAX bytes),
 * or NULL in *ret when the entry lacks it. 0 or -ENOMEM. */
static int get_field(sd_journal *j, const char *field, char **ret) {
        size_t flen = strlen(field), len;
        const void *data;
        _cleanup_free_ char *raw = NULL;
        char *copy;
        int r;

        r = sd_journal_get_data(j, field, &data, &len);
        if (r == -ENOENT || r == -E2BIG || r == -EBADMSG) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        if (len < flen + 1 || memcmp(data, field, flen) != 0 || ((const char *) data)[flen] != '=') {
                *ret = NULL;
                return 0;
        }
        len -= flen + 1;
        if (len > JOURNAL_FIELD_MAX)
                len = JOURNAL_FIELD_MAX;
        /* Any process may log under our identifier: what is read back is cleaned to one
         * line, as all text from outside, before status shows it. */
        raw = strndup((const char *) data + flen + 1, len);
        if (!raw)
                return -ENOMEM;
        copy = text_sanitize_line(raw, JOURNAL_FIELD_MAX);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

/* Positions J on the newest summary at or after SINCE. 1 found, 0 none. */
static int find_summary(sd_journal *j, uint64_t since_usec) {
        uint64_t t;
        int r;

        sd_journal_flush_matches(j);
        r = sd_journal_add_match(j, IDENTIFIER_MATCH, 0);
        if (r >= 0)
                r = sd_journal_add_match(j, "DIND_CHECK=summary", 0);
        if (r < 0)
                return r;
        r = sd_journal_seek_tail(j);
        if (r < 0)
                return r;
        r = sd_journal_previous(j);
        if (r <= 0)
                return r;
        r = sd_journal_get_realtime_usec(j, &t);
        if (r < 0)
                return r;
        return t >= since_usec;
}

static int read_check(sd_journal *j, struct check_list *l) {
        _cleanup_free_ char *name = NULL, *state_s = NULL, *message = NULL, *value = NULL,
                            *threshold = NULL, *remedy = NULL;
        enum check_state state = CHECK_UNKNOWN;
        struct check_result *c;
        int r;

        if ((r = get_field(j, "DIND_CHECK", &name)) < 0 ||
            (r = get_field(j, "DIND_STATE", &state_s)) < 0 ||
            (r = get_field(j, "MESSAGE", &message)) < 0 ||
            (r = get_field(j, "DIND_VALUE", &value)) < 0 ||
            (r = get_field(j, "DIND_THRESHOLD", &threshold)) < 0 ||
            (r = get_field(j, "DIND_REMEDY", &remedy)) < 0)
                return r;
        if (!name || streq(name, "summary"))
                return 0;
        if (state_s)
                (void) check_state_from_plugin_string(state_s, &state);
        c = check_list_add(l, name, state, remedy, "%s", message ? message : "");
        if (!c)
                return -ENOMEM;
        if (value && check_result_set_value(c, "%s", value) < 0)
                return -ENOMEM;
        if (threshold && check_result_set_threshold(c, "%s", threshold) < 0)
                return -ENOMEM;
        return 1;
}

int journal_read_last_run(uint64_t since_usec, uint64_t timeout_usec, struct journal_run *ret) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *state_s = NULL, *match = NULL;
        struct journal_run run = { .state = CHECK_UNKNOWN };
        uint64_t deadline = now_usec() + timeout_usec;
        size_t n = 0;
        int r;

        /* Without the right to read the system journal it opens fine and looks
         * empty: the caller says so when it is not root. */
        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        (void) sd_journal_set_data_threshold(j, JOURNAL_FIELD_MAX);

        for (;;) {
                uint64_t now;

                r = find_summary(j, since_usec);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;
                now = now_usec();
                if (now >= deadline)
                        return 0;
                r = sd_journal_wait(j, deadline - now);
                if (r < 0)
                        return r;
        }
        if ((r = sd_journal_get_realtime_usec(j, &run.realtime_usec)) < 0 ||
            (r = get_field(j, "DIND_RUN_ID", &run.run_id)) < 0 ||
            (r = get_field(j, "DIND_STATE", &state_s)) < 0 ||
            (r = get_field(j, "MESSAGE", &run.summary)) < 0 ||
            (r = get_field(j, "DIND_DATA_DIR", &run.data_dir)) < 0 ||
            (r = get_field(j, "_SYSTEMD_UNIT", &run.unit)) < 0)
                goto fail;
        if (state_s)
                (void) check_state_from_plugin_string(state_s, &run.state);

        if (run.run_id && strspn(run.run_id, "0123456789abcdef") == 32 && strlen(run.run_id) == 32) {
                match = strdup_printf("DIND_RUN_ID=%s", run.run_id);
                if (!match) {
                        r = -ENOMEM;
                        goto fail;
                }
                sd_journal_flush_matches(j);
                if ((r = sd_journal_add_match(j, IDENTIFIER_MATCH, 0)) < 0 ||
                    (r = sd_journal_add_match(j, match, 0)) < 0 ||
                    (r = sd_journal_seek_head(j)) < 0)
                        goto fail;
                while (n < JOURNAL_RUN_MAX_CHECKS && (r = sd_journal_next(j)) > 0) {
                        r = read_check(j, &run.checks);
                        if (r < 0)
                                goto fail;
                        n += r;
                }
                if (r < 0)
                        goto fail;
        }
        *ret = run;
        return 1;

fail:
        journal_run_done(&run);
        return r;
}

void journal_run_done(struct journal_run *r) {
        free(r->run_id);
        free(r->summary);
        free(r->data_dir);
        free(r->unit);
        check_list_done(&r->checks);
        *r = (struct journal_run) { .state = CHECK_UNKNOWN };
}
