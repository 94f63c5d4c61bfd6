/* SPDX-License-Identifier: MIT */
/* metrics/textfile.h: label values from outside (a check name, the data directory, the
 * instance) against a model of the escaper, and the whole file against the text
 * format's grammar as Prometheus reads it: every label value strict UTF-8 (promtool
 * refuses the whole file over an overlong form, a surrogate or a code point above
 * U+10FFFF), quoted, with \ and " escaped and no line break, at most
 * METRICS_LABEL_MAX bytes of the value kept, never half a character.
 *
 * Input: the data directory, "\n---8<---\n", the instance; the check list holds one
 * result named like the data directory and one named like the instance. */
#include <errno.h>

#include "fuzz.h"
#include "metrics/textfile.h"

#define LABEL_BUF (METRICS_LABEL_MAX * 2 + 8)

/* The length of the character at P[0..END), by the harness's own decoder (fuzz.h):
 * the shortest prefix that is valid UTF-8, or 0 when none is. */
static size_t model_char(const unsigned char *p, const unsigned char *end) {
        for (size_t n = 1; n <= 4 && p + n <= end; n++)
                if (fuzz_utf8_valid((const char *) p, n))
                        return n;
        return 0;
}

/* What the escaper must give for S: control characters (C0, DEL, C1) dropped, each byte that starts
 * no character '?', \ and " escaped, input consumed up to METRICS_LABEL_MAX bytes and
 * never a character cut. */
static void model_escape(const char *s, char *out) {
        const unsigned char *p = (const unsigned char *) s, *end = p + strlen(s);
        size_t used = 0, o = 0;

        while (p < end && used < METRICS_LABEL_MAX) {
                size_t n = model_char(p, end);

                if (n == 0) {
                        out[o++] = '?';
                        used++;
                        p++;
                        continue;
                }
                if (used + n > METRICS_LABEL_MAX)
                        break;
                if ((n == 1 && (*p < 0x20 || *p == 0x7f)) || (n == 2 && *p == 0xc2 && p[1] < 0xa0)) {
                        used += n;
                        p += n;
                        continue;
                }
                if (*p == '\\' || *p == '"')
                        out[o++] = '\\';
                memcpy(out + o, p, n);
                o += n;
                used += n;
                p += n;
        }
        out[o] = '\0';
}

/* A label value as the text format reads it, from the opening quote at *P: \\ \" \n
 * escapes only, no raw line break, strict UTF-8. Moves *P past the closing quote. */
static void check_label_value(const char **p) {
        const char *s = *p, *start;

        FUZZ_ASSERT(*s == '"');
        start = ++s;
        for (; *s != '"'; s++) {
                FUZZ_ASSERT(*s && *s != '\n');
                if (*s == '\\') {
                        s++;
                        FUZZ_ASSERT(*s == '\\' || *s == '"' || *s == 'n');
                }
        }
        FUZZ_ASSERT(fuzz_utf8_valid(start, (size_t) (s - start)));
        FUZZ_ASSERT((size_t) (s - start) <= METRICS_LABEL_MAX * 2);
        *p = s + 1;
}

/* One sample line: NAME[{LABEL="VALUE"(,LABEL="VALUE")*}] VALUE. */
static void check_sample(const char *line) {
        const char *p = line + strspn(line, "abcdefghijklmnopqrstuvwxyz_");

        FUZZ_ASSERT(strncmp(line, "dind_cache_", 11) == 0 && p > line + 11);
        if (*p == '{') {
                do {
                        const char *name = ++p;
                        p += strspn(p, "abcdefghijklmnopqrstuvwxyz_");
                        FUZZ_ASSERT(p > name && *p == '=');
                        p++;
                        check_label_value(&p);
                } while (*p == ',');
                FUZZ_ASSERT(*p == '}');
                p++;
        }
        FUZZ_ASSERT(*p == ' ' && p[1] && strspn(p + 1, "0123456789.-") == strlen(p + 1));
}

static void check_file(const char *text) {
        size_t states = 0;

        FUZZ_ASSERT(fuzz_utf8_valid(text, strlen(text)) && fuzz_no_control(text, "\n"));
        for (const char *line = text; *line;) {
                const char *nl = strchr(line, '\n');
                char *copy;

                FUZZ_ASSERT(nl);
                copy = strndup(line, (size_t) (nl - line));
                if (!copy)
                        abort();
                if (copy[0] == '#')
                        FUZZ_ASSERT(strncmp(copy, "# HELP dind_cache_", 18) == 0 ||
                                    strncmp(copy, "# TYPE dind_cache_", 18) == 0);
                else {
                        check_sample(copy);
                        states += strncmp(copy, "dind_cache_check_state{", 23) == 0;
                }
                free(copy);
                line = nl + 1;
        }
        FUZZ_ASSERT(states >= 1 && states <= 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *a, *b;
        size_t a_size, b_size;
        char *dir, *instance, *text = NULL;
        char got[LABEL_BUF], want[LABEL_BUF];
        struct check_list l = {};
        int r;

        if (size > 4 * METRICS_LABEL_MAX)
                return 0;
        fuzz_split(data, size, &a, &a_size, &b, &b_size);
        dir = fuzz_strndup(a, a_size);
        instance = fuzz_strndup(b, b_size);

        /* The escaper against the model, and within its buffer. */
        metrics_label_escape(dir, got, sizeof(got));
        model_escape(dir, want);
        FUZZ_ASSERT(strcmp(got, want) == 0);
        FUZZ_ASSERT(fuzz_utf8_valid(got, strlen(got)) && fuzz_no_control(got, NULL));
        /* A buffer too small never overflows and never cuts a character. */
        {
                size_t small = a_size % sizeof(got) + 1;
                char tiny[LABEL_BUF];
                metrics_label_escape(dir, tiny, small);
                FUZZ_ASSERT(strlen(tiny) < small && strncmp(tiny, want, strlen(tiny)) == 0);
                FUZZ_ASSERT(fuzz_utf8_valid(tiny, strlen(tiny)));
        }

        /* The whole file, as Prometheus reads it. */
        if (!check_list_add(&l, dir, CHECK_FAIL, NULL, "x") ||
            !check_list_add(&l, instance, CHECK_OK, NULL, "y"))
                abort();
        r = metrics_text(&(struct metrics_input) { .checks = &l, .data_dir = dir,
                                                   .instance = b_size ? instance : NULL,
                                                   .disk_warn = 80, .disk_crit = 90,
                                                   .timestamp_usec = 1 }, &text);
        FUZZ_ASSERT(r == 0 && text);
        check_file(text);

        free(text);
        check_list_done(&l);
        free(instance);
        free(dir);
        return 0;
}
