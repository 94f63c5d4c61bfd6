/* SPDX-License-Identifier: MIT */
/* systemd/envfile.h, differential: the env file's reader and writer against a small
 * independent model of systemd's EnvironmentFile= parser (src/basic/env-file.c of
 * systemd 252, Debian 12's), which is what the checker's unit really reads.
 *
 * Input: the old file's text, then "\n---8<---\n", then up to three lines: the values of
 * DOCKER_HOST, DIND_CACHE_DATA_DIR and DIND_CACHE_NODE to write (a missing line: NULL,
 * the key is left as the file has it). */
#include <errno.h>

#include "fuzz.h"
#include "systemd/envfile.h"

/* --- The model: systemd's state machine, assignments in order, last one wins ------- */

struct env {
        char **keys, **values;
        size_t n;
};

static void env_done(struct env *e) {
        for (size_t i = 0; i < e->n; i++) {
                free(e->keys[i]);
                free(e->values[i]);
        }
        free(e->keys);
        free(e->values);
        *e = (struct env) {};
}

static const char *env_get(const struct env *e, const char *key) {
        for (size_t i = e->n; i > 0; i--)
                if (strcmp(e->keys[i - 1], key) == 0)
                        return e->values[i - 1];
        return NULL;
}

struct buf {
        char *s;
        size_t n;
};

static void buf_add(struct buf *b, char c) {
        char *grown = realloc(b->s, b->n + 2);
        if (!grown)
                abort();
        b->s = grown;
        b->s[b->n++] = c;
        b->s[b->n] = '\0';
}

static char *buf_take(struct buf *b, size_t len) {
        char *s = strndup(b->s ? b->s : "", len);
        if (!s)
                abort();
        free(b->s);
        *b = (struct buf) {};
        return s;
}

/* systemd's push: a key or value that is not UTF-8 fails the whole file (the unit does
 * not start), -EINVAL. */
static int env_push(struct env *e, struct buf *key, size_t key_len, struct buf *value, size_t value_len) {
        char *k = buf_take(key, key_len), *v = buf_take(value, value_len);

        if (!fuzz_utf8_valid(k, strlen(k)) || !fuzz_utf8_valid(v, strlen(v))) {
                free(k);
                free(v);
                return -EINVAL;
        }
        e->keys = realloc(e->keys, (e->n + 1) * sizeof(char *));
        e->values = realloc(e->values, (e->n + 1) * sizeof(char *));
        if (!e->keys || !e->values)
                abort();
        e->keys[e->n] = k;
        e->values[e->n++] = v;
        return 0;
}

static int model_parse(const char *text, struct env *ret) {
        enum {
                PRE_KEY, KEY, PRE_VALUE, VALUE, VALUE_ESCAPE, SINGLE_QUOTE_VALUE,
                DOUBLE_QUOTE_VALUE, DOUBLE_QUOTE_VALUE_ESCAPE, COMMENT, COMMENT_ESCAPE,
        } state = PRE_KEY;
        struct env e = {};
        struct buf key = {}, value = {};
        size_t last_key_ws = SIZE_MAX, last_value_ws = SIZE_MAX;
        int r = 0;

#define NEWLINE(c) ((c) == '\n' || (c) == '\r')
#define WHITESPACE(c) ((c) == ' ' || (c) == '\t' || NEWLINE(c))
#define KEY_LEN() (last_key_ws != SIZE_MAX ? last_key_ws : key.n)
        /* The file's bytes up to the first NUL, as systemd's loop reads them. */
        for (const char *p = text; *p && r >= 0; p++) {
                char c = *p;

                switch (state) {
                case PRE_KEY:
                        if (c == '#' || c == ';')
                                state = COMMENT;
                        else if (!WHITESPACE(c)) {
                                state = KEY;
                                last_key_ws = SIZE_MAX;
                                buf_add(&key, c);
                        }
                        break;
                case KEY:
                        if (NEWLINE(c)) {
                                state = PRE_KEY;
                                free(buf_take(&key, 0));
                        } else if (c == '=') {
                                state = PRE_VALUE;
                                last_value_ws = SIZE_MAX;
                        } else {
                                if (!WHITESPACE(c))
                                        last_key_ws = SIZE_MAX;
                                else if (last_key_ws == SIZE_MAX)
                                        last_key_ws = key.n;
                                buf_add(&key, c);
                        }
                        break;
                case PRE_VALUE:
                        if (NEWLINE(c)) {
                                state = PRE_KEY;
                                r = env_push(&e, &key, KEY_LEN(), &value, value.n);
                        } else if (c == '\'')
                                state = SINGLE_QUOTE_VALUE;
                        else if (c == '"')
                                state = DOUBLE_QUOTE_VALUE;
                        else if (c == '\\')
                                state = VALUE_ESCAPE;
                        else if (!WHITESPACE(c)) {
                                state = VALUE;
                                buf_add(&value, c);
                        }
                        break;
                case VALUE:
                        if (NEWLINE(c)) {
                                state = PRE_KEY;
                                r = env_push(&e, &key, KEY_LEN(), &value,
                                             last_value_ws != SIZE_MAX ? last_value_ws : value.n);
                        } else if (c == '\\') {
                                state = VALUE_ESCAPE;
                                last_value_ws = SIZE_MAX;
                        } else {
                                if (!WHITESPACE(c))
                                        last_value_ws = SIZE_MAX;
                                else if (last_value_ws == SIZE_MAX)
                                        last_value_ws = value.n;
                                buf_add(&value, c);
                        }
                        break;
                case VALUE_ESCAPE:
                        state = VALUE;
                        if (!NEWLINE(c))
                                buf_add(&value, c);       /* an escaped newline is eaten */
                        break;
                case SINGLE_QUOTE_VALUE:
                        if (c == '\'')
                                state = PRE_VALUE;
                        else
                                buf_add(&value, c);
                        break;
                case DOUBLE_QUOTE_VALUE:
                        if (c == '"')
                                state = PRE_VALUE;
                        else if (c == '\\')
                                state = DOUBLE_QUOTE_VALUE_ESCAPE;
                        else
                                buf_add(&value, c);
                        break;
                case DOUBLE_QUOTE_VALUE_ESCAPE:
                        state = DOUBLE_QUOTE_VALUE;
                        if (c == '"' || c == '\\' || c == '`' || c == '$')
                                buf_add(&value, c);
                        else if (c != '\n') {
                                buf_add(&value, '\\');
                                buf_add(&value, c);
                        }
                        break;
                case COMMENT:
                        if (c == '\\')
                                state = COMMENT_ESCAPE;
                        else if (NEWLINE(c))
                                state = PRE_KEY;
                        break;
                case COMMENT_ESCAPE:
                        state = COMMENT;        /* systemd < 254: the comment goes on */
                        break;
                }
        }
        if (r >= 0 && (state == PRE_VALUE || state == VALUE || state == VALUE_ESCAPE ||
                       state == SINGLE_QUOTE_VALUE || state == DOUBLE_QUOTE_VALUE ||
                       state == DOUBLE_QUOTE_VALUE_ESCAPE))
                r = env_push(&e, &key, KEY_LEN(), &value,
                             state == VALUE && last_value_ws != SIZE_MAX ? last_value_ws : value.n);
        free(key.s);
        free(value.s);
        if (r < 0) {
                env_done(&e);
                return r;
        }
        *ret = e;
        return 0;
#undef KEY_LEN
}

/* --- The properties ------------------------------------------------------------------ */

static const char *const our_keys[] = { "DOCKER_HOST", "DIND_CACHE_DATA_DIR", "DIND_CACHE_NODE" };

static const char *ef_get(const struct envfile *e, size_t i) {
        return i == 0 ? e->docker_host : i == 1 ? e->data_dir : e->node;
}

/* issue 11 item 7: the reader and the in-place writer disagree with systemd across lines,
 * on CRLF, on backslashes and on quotes. Texts with any of those are not compared yet. */
static bool known_disagreement(const char *text, size_t size) {
        return memchr(text, '\\', size) || memchr(text, '\r', size) || memchr(text, '"', size) ||
               memchr(text, '\'', size);
}

static bool same(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *a, *b;
        size_t a_size, b_size;
        char *old, *values, *text = NULL, *again = NULL;
        struct envfile want = {}, got = {}, reread = {};
        struct env model_old = {}, model_new = {};
        bool old_comparable;
        int r, m;

        if (size > ENVFILE_MAX_SIZE)
                return 0;
        fuzz_split(data, size, &a, &a_size, &b, &b_size);
        old = fuzz_strndup(a, a_size);

        /* 1. The reader reads what systemd reads. */
        r = envfile_parse(old, a_size, &got);
        FUZZ_ASSERT(r == 0);
        m = model_parse(old, &model_old);
        old_comparable = m == 0 && !memchr(old, '\0', a_size) && !known_disagreement(old, a_size);
        if (old_comparable)
                for (size_t i = 0; i < ELEMENTSOF(our_keys); i++)
                        FUZZ_ASSERT(same(ef_get(&got, i), env_get(&model_old, our_keys[i])));
        envfile_done(&got);

        /* 2. The writer: what it writes, systemd reads back exactly, and nothing else changes. */
        values = fuzz_strndup(b, b_size);
        {
                char *p = values, *fields[3] = {};
                for (size_t i = 0; i < 3 && p; i++) {
                        char *nl = strchr(p, '\n');
                        if (nl)
                                *nl = '\0';
                        fields[i] = p;
                        p = nl ? nl + 1 : NULL;
                }
                want = (struct envfile) { .docker_host = fields[0], .data_dir = fields[1], .node = fields[2] };
        }
        if (memchr(old, '\0', a_size))
                goto finish;    /* envfile_write() refuses such a file before it gets here */
        r = envfile_update_text(old, &want, &text);
        FUZZ_ASSERT(r == 0 || r == -EINVAL);
        if (r == -EINVAL) {
                bool control = false;
                for (size_t i = 0; i < 3; i++)
                        control |= ef_get(&want, i) && !fuzz_no_control(ef_get(&want, i), NULL);
                FUZZ_ASSERT(control);
                goto finish;
        }
        /* Values that are not UTF-8 make systemd refuse the whole file: issue 11 item 11
         * (they are to be refused as usage errors before they get here). */
        for (size_t i = 0; i < 3; i++)
                if (ef_get(&want, i) && !fuzz_utf8_valid(ef_get(&want, i), strlen(ef_get(&want, i))))
                        goto finish;
        if (!old_comparable)
                goto finish;
        FUZZ_ASSERT(model_parse(text, &model_new) == 0);
        for (size_t i = 0; i < ELEMENTSOF(our_keys); i++)
                FUZZ_ASSERT(same(env_get(&model_new, our_keys[i]),
                                 ef_get(&want, i) ? ef_get(&want, i) : env_get(&model_old, our_keys[i])));
        for (size_t i = 0; i < model_old.n; i++)
                FUZZ_ASSERT(same(env_get(&model_new, model_old.keys[i]), env_get(&model_old, model_old.keys[i])) ||
                            strcmp(model_old.keys[i], our_keys[0]) == 0 || strcmp(model_old.keys[i], our_keys[1]) == 0 ||
                            strcmp(model_old.keys[i], our_keys[2]) == 0);
        for (size_t i = 0; i < model_new.n; i++)
                FUZZ_ASSERT(env_get(&model_old, model_new.keys[i]) || strcmp(model_new.keys[i], our_keys[0]) == 0 ||
                            strcmp(model_new.keys[i], our_keys[1]) == 0 || strcmp(model_new.keys[i], our_keys[2]) == 0);

        /* Our reader reads our writer's text as systemd does, and writing again changes nothing. */
        FUZZ_ASSERT(envfile_parse(text, strlen(text), &reread) == 0);
        for (size_t i = 0; i < ELEMENTSOF(our_keys); i++)
                FUZZ_ASSERT(same(ef_get(&reread, i), env_get(&model_new, our_keys[i])));
        FUZZ_ASSERT(envfile_update_text(text, &want, &again) == 0);
        FUZZ_ASSERT(strcmp(again, text) == 0);

finish:
        envfile_done(&reread);
        env_done(&model_old);
        env_done(&model_new);
        free(text);
        free(again);
        free(values);
        free(old);
        return 0;
}
