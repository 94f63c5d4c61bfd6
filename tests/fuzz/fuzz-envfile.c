/* SPDX-License-Identifier: MIT */
/* systemd/envfile.h, differential: the env file's reader and writer against a small
 * independent model of systemd's EnvironmentFile= parser (src/basic/env-file.c of
 * systemd 252, Debian 12's, and of 254 and later, Debian 13's, where a line break that
 * a comment's trailing backslash escapes ends the comment), which is what the checker's
 * unit really reads. A file the two versions read differently (whole environments
 * compared) is refused by the reader and the writer, naming the line; what the writer
 * writes, both read alike.
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

/* TEXT[0..SIZE): systemd reads the file whole and refuses one holding a NUL (-EBADMSG).
 * V254: systemd 254's rule for a comment's escaped line break. */
static int model_parse(const char *text, size_t size, bool v254, struct env *ret) {
        enum {
                PRE_KEY, KEY, PRE_VALUE, VALUE, VALUE_ESCAPE, SINGLE_QUOTE_VALUE,
                DOUBLE_QUOTE_VALUE, DOUBLE_QUOTE_VALUE_ESCAPE, COMMENT, COMMENT_ESCAPE,
        } state = PRE_KEY;
        struct env e = {};
        struct buf key = {}, value = {};
        size_t last_key_ws = SIZE_MAX, last_value_ws = SIZE_MAX;
        int r = 0;

        if (memchr(text, '\0', size))
                return -EBADMSG;
#define NEWLINE(c) ((c) == '\n' || (c) == '\r')
#define WHITESPACE(c) ((c) == ' ' || (c) == '\t' || NEWLINE(c))
#define KEY_LEN() (last_key_ws != SIZE_MAX ? last_key_ws : key.n)
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
                        /* systemd < 254: the comment goes on; 254: a line break ends it */
                        state = v254 && NEWLINE(c) ? PRE_KEY : COMMENT;
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

static const char *const our_keys[] = { "DOCKER_HOST", "DIND_CACHE_DATA_DIR", "DIND_CACHE_NODE",
                                        "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DIND_CACHE_TEXTFILE_DIR" };
#define N_WRITTEN 3     /* the keys the input gives values for: the first three */

static const char *ef_get(const struct envfile *e, size_t i) {
        const char *f[] = { e->docker_host, e->data_dir, e->node, e->tls_verify, e->cert_path, e->textfile_dir };
        return f[i];
}

static bool ours(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(our_keys); i++)
                if (strcmp(key, our_keys[i]) == 0)
                        return true;
        return false;
}

static bool same(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* systemd hands the service only assignments whose name is valid (exec's
 * strv_env_clean_with_callback(), env_name_is_valid()): [A-Za-z_][A-Za-z0-9_]*. */
static bool name_passed_on(const char *k) {
        if (!*k || (*k >= '0' && *k <= '9'))
                return false;
        for (; *k; k++)
                if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_'))
                        return false;
        return true;
}

/* A and B give a unit the same variables. */
static bool same_env(const struct env *a, const struct env *b) {
        for (size_t i = 0; i < a->n; i++)
                if (name_passed_on(a->keys[i]) && !same(env_get(a, a->keys[i]), env_get(b, a->keys[i])))
                        return false;
        for (size_t i = 0; i < b->n; i++)
                if (name_passed_on(b->keys[i]) && !env_get(a, b->keys[i]))
                        return false;
        return true;
}

/* What systemd 252 and 254 both read from TEXT[0..SIZE) into RET (252's reading), or
 * <0: one of them refuses it, or they read it differently. */
static int model_read(const char *text, size_t size, struct env *ret) {
        struct env v254 = {};
        int m = model_parse(text, size, false, ret), m254 = model_parse(text, size, true, &v254);

        if (m == 0 && (m254 < 0 || !same_env(ret, &v254)))
                m = -EBADMSG;
        env_done(&v254);
        return m;
}

/* A refusal's explanation: one printable line naming the line. */
static void check_explanation(const char *text, size_t size, bool refused) {
        char *why = envfile_explain(text, size);

        FUZZ_ASSERT(!refused == !why);
        FUZZ_ASSERT(!why || (strncmp(why, "line ", 5) == 0 && fuzz_utf8_valid(why, strlen(why)) &&
                             fuzz_no_control(why, NULL) && strlen(why) < 1024));
        free(why);
}

/* A value the writer must refuse (-EINVAL): a C0 control character or DEL (a newline
 * would forge an assignment), or not UTF-8 (systemd would refuse the whole file). */
static bool unwritable(const char *v) {
        for (const unsigned char *p = (const unsigned char *) v; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return true;
        return !fuzz_utf8_valid(v, strlen(v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *a, *b;
        size_t a_size, b_size;
        char *old, *values, *text = NULL, *again = NULL;
        struct envfile want = {}, got = {}, reread = {};
        struct env model_old = {}, model_new = {}, model_new254 = {};
        bool refuse = false;
        int r, m;

        if (size > ENVFILE_MAX_SIZE)
                return 0;
        fuzz_split(data, size, &a, &a_size, &b, &b_size);
        old = fuzz_strndup(a, a_size);

        /* 1. The reader reads what systemd reads, and refuses what systemd refuses. */
        r = envfile_parse(old, a_size, &got);
        m = model_read(old, a_size, &model_old);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        FUZZ_ASSERT((r < 0) == (m < 0));
        check_explanation(old, a_size, r < 0);
        if (r == 0)
                for (size_t i = 0; i < ELEMENTSOF(our_keys); i++)
                        FUZZ_ASSERT(same(ef_get(&got, i), env_get(&model_old, our_keys[i])));
        envfile_done(&got);

        /* 2. The writer: what it writes, systemd reads back exactly, and nothing else changes. */
        values = fuzz_strndup(b, b_size);
        {
                char *p = values, *fields[N_WRITTEN] = {};
                for (size_t i = 0; i < N_WRITTEN && p; i++) {
                        char *nl = strchr(p, '\n');
                        if (nl)
                                *nl = '\0';
                        fields[i] = p;
                        p = nl ? nl + 1 : NULL;
                }
                want = (struct envfile) { .docker_host = fields[0], .data_dir = fields[1], .node = fields[2] };
        }
        if (memchr(old, '\0', a_size))
                goto finish;    /* envfile_write() refuses such a file before it gets here (-EBADMSG) */
        r = envfile_update_text(old, &want, &text);
        for (size_t i = 0; i < N_WRITTEN; i++)
                refuse |= ef_get(&want, i) && unwritable(ef_get(&want, i));
        if (refuse) {
                FUZZ_ASSERT(r == -EINVAL && !text);
                goto finish;
        }
        if (m < 0) {            /* systemd refuses the old file, or its versions disagree on it:
                                 * so does the writer, untouched */
                FUZZ_ASSERT(r == -EBADMSG && !text);
                goto finish;
        }
        FUZZ_ASSERT(r == 0);
        FUZZ_ASSERT(model_parse(text, strlen(text), false, &model_new) == 0);
        /* Every systemd version reads what was written alike. */
        FUZZ_ASSERT(model_parse(text, strlen(text), true, &model_new254) == 0 && same_env(&model_new, &model_new254));
        for (size_t i = 0; i < ELEMENTSOF(our_keys); i++)
                FUZZ_ASSERT(same(env_get(&model_new, our_keys[i]),
                                 i < N_WRITTEN && ef_get(&want, i) ? ef_get(&want, i)
                                                                   : env_get(&model_old, our_keys[i])));
        for (size_t i = 0; i < model_old.n; i++)
                FUZZ_ASSERT(ours(model_old.keys[i]) ||
                            same(env_get(&model_new, model_old.keys[i]), env_get(&model_old, model_old.keys[i])));
        for (size_t i = 0; i < model_new.n; i++)
                FUZZ_ASSERT(ours(model_new.keys[i]) || env_get(&model_old, model_new.keys[i]));

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
        env_done(&model_new254);
        free(text);
        free(again);
        free(values);
        free(old);
        return 0;
}
