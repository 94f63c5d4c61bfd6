/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sys/stat.h>
#include <string.h>

#include "systemd/envfile.h"
#include "base/util.h"

#define HEADER "# Written by dind-cache install; read by dind-cache-check.service.\n"

static const char *const keys[] = { "DOCKER_HOST", "DIND_CACHE_DATA_DIR", "DIND_CACHE_NODE", "DOCKER_TLS_VERIFY",
                                    "DOCKER_CERT_PATH", "DIND_CACHE_TEXTFILE_DIR", "DIND_CACHE_INSTANCE" };

static char **field(struct envfile *e, size_t i) {
        char **f[] = { &e->docker_host, &e->data_dir, &e->node, &e->tls_verify, &e->cert_path, &e->textfile_dir,
                       &e->instance };
        return f[i];
}

static const char *cfield(const struct envfile *e, size_t i) {
        return *field((struct envfile *) e, i);
}

void envfile_done(struct envfile *e) {
        if (!e)
                return;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                free(*field(e, i));
        *e = (struct envfile) {};
}

static int key_index(const char *key) {
        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                if (streq(key, keys[k]))
                        return (int) k;
        return -1;
}

/* A growing string. */
struct buf {
        char *s;
        size_t n, size;
};

static int buf_add(struct buf *b, const char *s, size_t n) {
        if (b->n + n + 1 > b->size) {
                size_t size = (b->n + n + 1) * 2;
                char *grown = realloc(b->s, size);
                if (!grown)
                        return -ENOMEM;
                b->s = grown;
                b->size = size;
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = '\0';
        return 0;
}

static int buf_addc(struct buf *b, char c) {
        return buf_add(b, &c, 1);
}

static int buf_adds(struct buf *b, const char *s) {
        return buf_add(b, s, strlen(s));
}

static bool utf8_valid(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s, *end = p + n;

        while (p < end) {
                unsigned c = *p, len, cp;
                if (c < 0x80) {
                        p++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        len = 2, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        len = 3, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        len = 4, cp = c & 0x07;
                else
                        return false;
                if ((size_t) (end - p) < len)
                        return false;
                for (unsigned i = 1; i < len; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i] & 0x3f);
                }
                if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                p += len;
        }
        return true;
}

/* What the file says, item by item, as systemd's parser sees it. */
enum item_kind {
        ITEM_ASSIGNMENT,    /* KEY=VALUE: key and value */
        ITEM_COMMENT,       /* from '#' or ';' to the newline that ends it: text */
        ITEM_OTHER,         /* a line with no '=', which systemd ignores: text */
        ITEM_BLANK,
};

struct item {
        enum item_kind kind;
        char *key, *value, *text;
};

struct items {
        struct item *v;
        size_t n;
};

static void items_done(struct items *it) {
        for (size_t i = 0; i < it->n; i++) {
                free(it->v[i].key);
                free(it->v[i].value);
                free(it->v[i].text);
        }
        free(it->v);
        *it = (struct items) {};
}

static int items_add(struct items *it, enum item_kind kind, struct buf *a, struct buf *b) {
        struct item *grown = reallocarray(it->v, it->n + 1, sizeof(*grown));
        struct item *i;

        if (!grown)
                return -ENOMEM;
        it->v = grown;
        i = &it->v[it->n];
        *i = (struct item) { .kind = kind };
        if (kind == ITEM_ASSIGNMENT) {
                i->key = strndup(a->s ?: "", a->n);
                i->value = strndup(b->s ?: "", b->n);
                if (!i->key || !i->value) {
                        free(i->key);
                        free(i->value);
                        return -ENOMEM;
                }
                /* systemd refuses the whole file over invalid UTF-8 in a key or value. */
                if (!utf8_valid(i->key, a->n) || !utf8_valid(i->value, b->n)) {
                        free(i->key);
                        free(i->value);
                        return -EBADMSG;
                }
        } else if (kind != ITEM_BLANK) {
                i->text = strndup(a->s ?: "", a->n);
                if (!i->text)
                        return -ENOMEM;
        }
        it->n++;
        a->n = b->n = 0;
        return 0;
}

#define NEWLINE "\n\r"
#define WHITESPACE " \t\n\r"
#define COMMENTS "#;"
#define SHELL_NEED_ESCAPE "\"\\`$"

static bool in(char c, const char *set) {
        return c && strchr(set, c);
}

/* systemd 252's parser for EnvironmentFile= (src/basic/env-file.c,
 * parse_env_file_internal) re-implemented, recording comments and ignored lines too so
 * that a file can be written back with the same meaning. Its rules: a NUL ends the
 * text; CR and LF both end a line; '#' or ';' first on a line starts a comment, in
 * which a backslash escapes the next character (a newline too); a line with no '=' is
 * ignored; around the key, blanks are dropped; in the value, blanks before it are
 * dropped, and after it too when it ends unquoted; an unquoted backslash takes the
 * next character literally (a newline: both vanish); single quotes take everything
 * literally up to the next one, newlines included; double quotes too, except that a
 * backslash before one of " \ ` $ stands for that character, before a newline
 * vanishes with it, and before anything else is kept; after a closing quote the value
 * goes on (blanks dropped), a quote elsewhere is an ordinary character. */
struct parser {
        enum {
                PRE_KEY, KEY, PRE_VALUE, VALUE, VALUE_ESCAPE, SINGLE_QUOTE_VALUE,
                DOUBLE_QUOTE_VALUE, DOUBLE_QUOTE_VALUE_ESCAPE, COMMENT, COMMENT_ESCAPE,
        } state;
        struct buf key, value;        /* a comment's or ignored line's text is in key */
        struct items it;
        size_t key_ws, value_ws;      /* where trailing blanks began, or SIZE_MAX */
};

/* The assignment read so far, its trailing blanks dropped. */
static int end_assignment(struct parser *p) {
        if (p->state == VALUE && p->value_ws != SIZE_MAX)
                p->value.n = p->value_ws;
        if (p->key_ws != SIZE_MAX)
                p->key.n = p->key_ws;
        p->state = PRE_KEY;
        return items_add(&p->it, ITEM_ASSIGNMENT, &p->key, &p->value);
}

/* A line with no '=', its trailing blanks dropped. */
static int end_other(struct parser *p) {
        if (p->key_ws != SIZE_MAX)
                p->key.n = p->key_ws;
        p->state = PRE_KEY;
        return items_add(&p->it, ITEM_OTHER, &p->key, &p->value);
}

/* C, which follows PREV, at the start of a line or in a key. */
static int on_key(struct parser *p, char c, char prev) {
        if (p->state == PRE_KEY) {
                if (in(c, COMMENTS)) {
                        p->state = COMMENT;
                        return buf_addc(&p->key, c);
                }
                if (in(c, NEWLINE))
                        return c == '\n' && prev == '\r' ? 0 : items_add(&p->it, ITEM_BLANK, &p->key, &p->value);
                if (in(c, WHITESPACE))
                        return 0;
                p->state = KEY;
                p->key_ws = SIZE_MAX;
                return buf_addc(&p->key, c);
        }
        if (in(c, NEWLINE))
                return end_other(p);
        if (c == '=') {
                p->state = PRE_VALUE;
                p->value_ws = SIZE_MAX;
                return 0;
        }
        if (!in(c, WHITESPACE))
                p->key_ws = SIZE_MAX;
        else if (p->key_ws == SIZE_MAX)
                p->key_ws = p->key.n;
        return buf_addc(&p->key, c);
}

/* C before or in an unquoted value. */
static int on_value(struct parser *p, char c) {
        if (in(c, NEWLINE))
                return end_assignment(p);
        if (p->state == PRE_VALUE && c == '\'') {
                p->state = SINGLE_QUOTE_VALUE;
                return 0;
        }
        if (p->state == PRE_VALUE && c == '"') {
                p->state = DOUBLE_QUOTE_VALUE;
                return 0;
        }
        if (c == '\\') {
                if (p->state == VALUE)
                        p->value_ws = SIZE_MAX;
                p->state = VALUE_ESCAPE;
                return 0;
        }
        if (p->state == PRE_VALUE) {
                if (in(c, WHITESPACE))
                        return 0;
                p->state = VALUE;
                return buf_addc(&p->value, c);
        }
        if (!in(c, WHITESPACE))
                p->value_ws = SIZE_MAX;
        else if (p->value_ws == SIZE_MAX)
                p->value_ws = p->value.n;
        return buf_addc(&p->value, c);
}

/* C after an unquoted backslash, or in quotes. */
static int on_quoted(struct parser *p, char c) {
        int r;

        switch (p->state) {
        case VALUE_ESCAPE:
                p->state = VALUE;
                return in(c, NEWLINE) ? 0 : buf_addc(&p->value, c);
        case SINGLE_QUOTE_VALUE:
                if (c != '\'')
                        return buf_addc(&p->value, c);
                p->state = PRE_VALUE;
                return 0;
        case DOUBLE_QUOTE_VALUE:
                if (c == '"')
                        p->state = PRE_VALUE;
                else if (c == '\\')
                        p->state = DOUBLE_QUOTE_VALUE_ESCAPE;
                else
                        return buf_addc(&p->value, c);
                return 0;
        default: /* DOUBLE_QUOTE_VALUE_ESCAPE */
                p->state = DOUBLE_QUOTE_VALUE;
                if (in(c, SHELL_NEED_ESCAPE))
                        return buf_addc(&p->value, c);
                if (c == '\n')
                        return 0;
                r = buf_addc(&p->value, '\\');
                return r < 0 ? r : buf_addc(&p->value, c);
        }
}

/* C in a comment. */
static int on_comment(struct parser *p, char c) {
        if (p->state == COMMENT_ESCAPE)
                p->state = COMMENT;
        else if (c == '\\')
                p->state = COMMENT_ESCAPE;
        else if (in(c, NEWLINE)) {
                p->state = PRE_KEY;
                return items_add(&p->it, ITEM_COMMENT, &p->key, &p->value);
        }
        return buf_addc(&p->key, c);
}

/* The item the text ended in. */
static int parser_finish(struct parser *p) {
        switch (p->state) {
        case PRE_KEY:
                return 0;
        case KEY:
                return end_other(p);
        case COMMENT:
        case COMMENT_ESCAPE:
                return items_add(&p->it, ITEM_COMMENT, &p->key, &p->value);
        default:
                return end_assignment(p);
        }
}

/* systemd 252's parser for EnvironmentFile= (src/basic/env-file.c,
 * parse_env_file_internal) re-implemented, recording comments and ignored lines too so
 * that a file can be written back with the same meaning. Its rules: a NUL ends the
 * text; CR and LF both end a line; '#' or ';' first on a line starts a comment, in
 * which a backslash escapes the next character (a newline too); a line with no '=' is
 * ignored; around the key, blanks are dropped; in the value, blanks before it are
 * dropped, and after it too when it ends unquoted; an unquoted backslash takes the
 * next character literally (a newline: both vanish); single quotes take everything
 * literally up to the next one, newlines included; double quotes too, except that a
 * backslash before one of " \ ` $ stands for that character, before a newline
 * vanishes with it, and before anything else is kept; after a closing quote the value
 * goes on (blanks dropped), a quote elsewhere is an ordinary character. */
static int parse_items(const char *text, size_t size, struct items *ret) {
        struct parser p = { .state = PRE_KEY, .key_ws = SIZE_MAX, .value_ws = SIZE_MAX };
        int r = 0;

        for (size_t i = 0; r >= 0 && i < size && text[i]; i++) {
                char c = text[i];

                switch (p.state) {
                case PRE_KEY:
                case KEY:
                        r = on_key(&p, c, i > 0 ? text[i - 1] : '\0');
                        break;
                case PRE_VALUE:
                case VALUE:
                        r = on_value(&p, c);
                        break;
                case COMMENT:
                case COMMENT_ESCAPE:
                        r = on_comment(&p, c);
                        break;
                default:
                        r = on_quoted(&p, c);
                        break;
                }
        }
        if (r >= 0)
                r = parser_finish(&p);
        free(p.key.s);
        free(p.value.s);
        if (r < 0) {
                items_done(&p.it);
                return r;
        }
        *ret = p.it;
        return 0;
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* KEY=VALUE\n in a form systemd reads back exactly: unquoted when VALUE is made of
 * safe characters, else in double quotes with " \ ` $ escaped (newlines inside double
 * quotes are taken literally). */
static int add_assignment(struct buf *b, const char *key, const char *value) {
        static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+,=-";
        int r;

        if ((r = buf_adds(b, key)) < 0 || (r = buf_addc(b, '=')) < 0)
                return r;
        if (*value && strspn(value, safe) == strlen(value))
                r = buf_adds(b, value);
        else {
                r = buf_addc(b, '"');
                for (const char *p = value; r >= 0 && *p; p++) {
                        if (in(*p, SHELL_NEED_ESCAPE))
                                r = buf_addc(b, '\\');
                        if (r >= 0)
                                r = buf_addc(b, *p);
                }
                if (r >= 0)
                        r = buf_addc(b, '"');
        }
        return r < 0 ? r : buf_addc(b, '\n');
}

/* A comment, or a line systemd ignores, as lines that end where systemd ends them:
 * each line break inside it (a backslash had escaped it) starts a new comment line, and
 * a line that would end in a backslash gets a blank after it, which the backslash
 * escapes instead of the newline. */
static int add_text(struct buf *b, const char *text, bool comment) {
        int r = 0;

        for (const char *p = text; r >= 0;) {
                size_t n = strcspn(p, NEWLINE);
                if ((r = buf_add(b, p, n)) < 0)
                        return r;
                if (comment && n > 0 && p[n - 1] == '\\')
                        r = buf_addc(b, ' ');
                if (r >= 0)
                        r = buf_addc(b, '\n');
                if (!p[n])
                        break;
                p += n + 1;
                if (r >= 0 && *p && !in(*p, NEWLINE))
                        r = buf_adds(b, "# ");
                else if (r >= 0 && !*p)
                        break;
                else if (r >= 0)
                        r = buf_addc(b, '#');
        }
        return r;
}

int envfile_update_text(const char *old, const struct envfile *e, char **ret_text) {
        struct items it = {};
        struct buf out = {};
        bool done[ELEMENTSOF(keys)] = {};
        int r = 0;

        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                if (cfield(e, k) && (has_control(cfield(e, k)) ||
                                     !utf8_valid(cfield(e, k), strlen(cfield(e, k)))))
                        return -EINVAL;

        r = parse_items(old ?: "", strlen(old ?: ""), &it);
        if (r < 0)
                return r;

        /* The whole file is written back normalised: every assignment in the form above,
         * comments and ignored lines cut where systemd ends them, so that nothing another
         * line holds can swallow ours. */
        if (isempty(old))
                r = buf_adds(&out, HEADER);
        for (size_t i = 0; r >= 0 && i < it.n; i++) {
                const struct item *item = &it.v[i];
                int k;

                switch (item->kind) {
                case ITEM_BLANK:
                        r = buf_addc(&out, '\n');
                        break;
                case ITEM_COMMENT:
                case ITEM_OTHER:
                        r = add_text(&out, item->text, item->kind == ITEM_COMMENT);
                        break;
                case ITEM_ASSIGNMENT:
                        k = key_index(item->key);
                        if (k < 0 || !cfield(e, k))
                                r = add_assignment(&out, item->key, item->value);
                        else if (!done[k]) {
                                r = add_assignment(&out, keys[k], cfield(e, k));
                                done[k] = true;
                        }
                        break;
                }
        }
        for (size_t k = 0; r >= 0 && k < ELEMENTSOF(keys); k++)
                if (cfield(e, k) && !done[k])
                        r = add_assignment(&out, keys[k], cfield(e, k));
        if (r >= 0 && !out.s)
                r = buf_add(&out, "", 0);
        items_done(&it);
        if (r < 0) {
                free(out.s);
                return r;
        }
        *ret_text = out.s;
        return 0;
}

/* 0644 for a new file; an existing file keeps a stricter mode an administrator gave
 * it (0600 for a secret of theirs), never more than 0644. */
static mode_t envfile_mode(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return 0644;
        return st.st_mode & 0644;
}

int envfile_write(const char *path, const struct envfile *e) {
        _cleanup_free_ char *old = NULL, *text = NULL;
        size_t size = 0;
        int r;

        r = read_file_full(path, ENVFILE_MAX_SIZE, &old, &size);
        if (r < 0 && r != -ENOENT)
                return r;
        if (old && memchr(old, '\0', size))
                return -EBADMSG;
        r = envfile_update_text(old, e, &text);
        if (r < 0)
                return r;
        return write_file_atomic(path, text, strlen(text), envfile_mode(path));
}

int envfile_parse(const char *text, size_t size, struct envfile *ret) {
        struct envfile e = {};
        struct items it = {};
        int r;

        /* systemd reads the file whole and refuses one with a NUL in it (read_full_stream()
         * without a size: the text would be ambiguous), so the unit does not start. */
        if (memchr(text, '\0', size))
                return -EBADMSG;
        r = parse_items(text, size, &it);
        if (r < 0)
                return r;
        for (size_t i = 0; i < it.n; i++) {
                int k = it.v[i].kind == ITEM_ASSIGNMENT ? key_index(it.v[i].key) : -1;
                if (k < 0)
                        continue;
                free(*field(&e, k));
                *field(&e, k) = TAKE_PTR(it.v[i].value);
        }
        items_done(&it);
        *ret = e;
        return 0;
}

int envfile_read(const char *path, struct envfile *ret) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = read_file_full(path, ENVFILE_MAX_SIZE, &text, &size);
        if (r < 0)
                return r;
        return envfile_parse(text, size, ret);
}
