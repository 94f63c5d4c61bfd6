/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sys/stat.h>
#include <string.h>

#include "systemd/envfile.h"
#include "base/settings.h"
#include "base/text.h"
#include "base/util.h"

#define HEADER "# Written by dind-cache install; read by dind-cache-check.service.\n"

static const char *const keys[] = { "DOCKER_HOST", "DIND_CACHE_DATA_DIR", "DIND_CACHE_NODE", "DOCKER_TLS_VERIFY",
                                    "DOCKER_CERT_PATH", SETTINGS_KEY_TEXTFILE_DIR, SETTINGS_KEY_INSTANCE,
                                    SETTINGS_KEY_PRUNE_CERT_PATH, SETTINGS_KEY_AUTHZ_SOCKET };

static char **field(struct envfile *e, size_t i) {
        char **f[] = { &e->docker_host, &e->data_dir, &e->node, &e->tls_verify, &e->cert_path, &e->textfile_dir,
                       &e->instance, &e->prune_cert_path, &e->authz_socket };
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
        unsigned line, end_line;        /* where it starts and ends (1-based) */
};

struct items {
        struct item *v;
        size_t n;
        bool continued_comment;         /* a backslash escaped a line break in a comment */
};

/* Why systemd refuses a file, or why its versions disagree on it. */
struct refusal {
        enum { REFUSED_NONE, REFUSED_NUL, REFUSED_UTF8, REFUSED_TWO_READINGS } kind;
        unsigned line, end_line;
        char *key;                      /* REFUSED_UTF8: the assignment's key (raw) */
};

static void refusal_done(struct refusal *f) {
        free(f->key);
        *f = (struct refusal) {};
}

static void items_done(struct items *it) {
        for (size_t i = 0; i < it->n; i++) {
                free(it->v[i].key);
                free(it->v[i].value);
                free(it->v[i].text);
        }
        free(it->v);
        *it = (struct items) {};
}

static int items_add(struct items *it, enum item_kind kind, struct buf *a, struct buf *b, unsigned line,
                     unsigned end_line, struct refusal *refusal) {
        struct item *grown = reallocarray(it->v, it->n + 1, sizeof(*grown));
        struct item *i;

        if (!grown)
                return -ENOMEM;
        it->v = grown;
        i = &it->v[it->n];
        *i = (struct item) { .kind = kind, .line = line, .end_line = end_line };
        if (kind == ITEM_ASSIGNMENT) {
                i->key = strndup(a->s ?: "", a->n);
                i->value = strndup(b->s ?: "", b->n);
                if (!i->key || !i->value) {
                        free(i->key);
                        free(i->value);
                        return -ENOMEM;
                }
                /* systemd refuses the whole file over invalid UTF-8 in a key or value (the
                 * text holds no NUL: a file with one is refused before). */
                if (!text_is_utf8(i->key) || !text_is_utf8(i->value)) {
                        *refusal = (struct refusal) { .kind = REFUSED_UTF8, .line = line, .end_line = end_line,
                                                      .key = TAKE_PTR(i->key) };
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

/* systemd's parser for EnvironmentFile= (src/basic/env-file.c,
 * parse_env_file_internal) re-implemented, recording comments and ignored lines too so
 * that a file can be written back with the same meaning. Its rules: a NUL ends the
 * text; CR and LF both end a line; '#' or ';' first on a line starts a comment, in
 * which a backslash escapes the next character; a line with no '=' is ignored; around
 * the key, blanks are dropped; in the value, blanks before it are dropped, and after it
 * too when it ends unquoted; an unquoted backslash takes the next character literally
 * (a newline: both vanish); single quotes take everything literally up to the next
 * one, newlines included; double quotes too, except that a backslash before one of
 * " \ ` $ stands for that character, before a newline vanishes with it, and before
 * anything else is kept; after a closing quote the value goes on (blanks dropped), a
 * quote elsewhere is an ordinary character.
 *
 * One rule changed in systemd 254, after systemd issue #27975: a backslash before a
 * line break in a comment used to carry the comment on to the next line (252, Debian
 * 12: "# note \" then "X=1" is all comment); since 254 (Debian 13) the line break
 * ends the comment and the next line is read on its own (X=1 is set; env-file.c's
 * COMMENT_ESCAPE state: "treated as a non comment line since v254"). V254 picks the
 * rules. Which way a file both would read differently goes: envfile.h. */
struct parser {
        enum {
                PRE_KEY, KEY, PRE_VALUE, VALUE, VALUE_ESCAPE, SINGLE_QUOTE_VALUE,
                DOUBLE_QUOTE_VALUE, DOUBLE_QUOTE_VALUE_ESCAPE, COMMENT, COMMENT_ESCAPE,
        } state;
        bool v254;
        struct buf key, value;          /* the key, or a comment's or ignored line's text */
        size_t key_ws, value_ws;        /* where trailing blanks start, or SIZE_MAX */
        unsigned line, item_line;       /* the current line; where the item began */
        struct items it;
        struct refusal *refusal;
};

static int parser_add(struct parser *p, enum item_kind kind) {
        return items_add(&p->it, kind, &p->key, &p->value, p->item_line, p->line, p->refusal);
}

/* An assignment ends: blanks after an unquoted value and after the key are not kept. */
static int parser_add_assignment(struct parser *p) {
        if (p->state == VALUE && p->value_ws != SIZE_MAX)
                p->value.n = p->value_ws;
        if (p->key_ws != SIZE_MAX)
                p->key.n = p->key_ws;
        return parser_add(p, ITEM_ASSIGNMENT);
}

/* Adds C to B; *WS is where the blanks B ends in start, or SIZE_MAX. */
static int add_tracking_blanks(struct buf *b, size_t *ws, char c) {
        if (!in(c, WHITESPACE))
                *ws = SIZE_MAX;
        else if (*ws == SIZE_MAX)
                *ws = b->n;
        return buf_addc(b, c);
}

static int step_key(struct parser *p, char c, bool after_cr) {
        if (p->state == PRE_KEY) {
                p->item_line = p->line;
                if (in(c, COMMENTS)) {
                        p->state = COMMENT;
                        return buf_addc(&p->key, c);
                }
                if (in(c, NEWLINE))     /* CR LF is one line break */
                        return c == '\n' && after_cr ? 0 : parser_add(p, ITEM_BLANK);
                if (in(c, WHITESPACE))
                        return 0;
                p->state = KEY;
                p->key_ws = SIZE_MAX;
                return buf_addc(&p->key, c);
        }
        if (in(c, NEWLINE)) {
                p->state = PRE_KEY;
                if (p->key_ws != SIZE_MAX)
                        p->key.n = p->key_ws;
                return parser_add(p, ITEM_OTHER);
        }
        if (c == '=') {
                p->state = PRE_VALUE;
                p->value_ws = SIZE_MAX;
                return 0;
        }
        return add_tracking_blanks(&p->key, &p->key_ws, c);
}

static int step_value(struct parser *p, char c) {
        int r;

        if (in(c, NEWLINE)) {
                r = parser_add_assignment(p);
                p->state = PRE_KEY;
                return r;
        }
        if (p->state == PRE_VALUE && (c == '\'' || c == '"')) {
                p->state = c == '\'' ? SINGLE_QUOTE_VALUE : DOUBLE_QUOTE_VALUE;
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
        return add_tracking_blanks(&p->value, &p->value_ws, c);
}

static int step_quoted(struct parser *p, char c) {
        int r;

        switch (p->state) {
        case VALUE_ESCAPE:
                p->state = VALUE;
                return in(c, NEWLINE) ? 0 : buf_addc(&p->value, c);
        case SINGLE_QUOTE_VALUE:
                if (c == '\'')
                        p->state = PRE_VALUE;
                return c == '\'' ? 0 : buf_addc(&p->value, c);
        case DOUBLE_QUOTE_VALUE:
                if (c == '"' || c == '\\') {
                        p->state = c == '"' ? PRE_VALUE : DOUBLE_QUOTE_VALUE_ESCAPE;
                        return 0;
                }
                return buf_addc(&p->value, c);
        default:                        /* DOUBLE_QUOTE_VALUE_ESCAPE */
                p->state = DOUBLE_QUOTE_VALUE;
                if (in(c, SHELL_NEED_ESCAPE))
                        return buf_addc(&p->value, c);
                if (c == '\n')
                        return 0;
                r = buf_addc(&p->value, '\\');
                return r < 0 ? r : buf_addc(&p->value, c);
        }
}

static int step_comment(struct parser *p, char c) {
        if (p->state == COMMENT_ESCAPE) {
                if (in(c, NEWLINE)) {
                        if (p->v254) {          /* the line break ends the comment */
                                p->state = PRE_KEY;
                                return parser_add(p, ITEM_COMMENT);
                        }
                        p->it.continued_comment = true;
                }
                p->state = COMMENT;
                return buf_addc(&p->key, c);
        }
        if (c == '\\')
                p->state = COMMENT_ESCAPE;
        else if (in(c, NEWLINE)) {
                p->state = PRE_KEY;
                return parser_add(p, ITEM_COMMENT);
        }
        return buf_addc(&p->key, c);
}

/* The item the text ends in. */
static int parser_finish(struct parser *p) {
        switch (p->state) {
        case PRE_KEY:
                return 0;
        case KEY:
                if (p->key_ws != SIZE_MAX)
                        p->key.n = p->key_ws;
                return parser_add(p, ITEM_OTHER);
        case COMMENT:
        case COMMENT_ESCAPE:
                return parser_add(p, ITEM_COMMENT);
        default:
                return parser_add_assignment(p);
        }
}

/* TEXT[0..SIZE) (up to a NUL) as items, by systemd 252's rules or (V254) 254's.
 * -EBADMSG with REFUSAL for invalid UTF-8 in an assignment, -ENOMEM. */
static int parse_items(const char *text, size_t size, bool v254, struct items *ret, struct refusal *refusal) {
        struct parser p = { .state = PRE_KEY, .v254 = v254, .key_ws = SIZE_MAX, .value_ws = SIZE_MAX,
                            .line = 1, .item_line = 1, .refusal = refusal };
        int r = 0;

        for (size_t i = 0; r >= 0 && i < size && text[i]; i++) {
                char c = text[i];
                bool after_cr = i > 0 && text[i - 1] == '\r';

                switch (p.state) {
                case PRE_KEY:
                case KEY:
                        r = step_key(&p, c, after_cr);
                        break;
                case PRE_VALUE:
                case VALUE:
                        r = step_value(&p, c);
                        break;
                case COMMENT:
                case COMMENT_ESCAPE:
                        r = step_comment(&p, c);
                        break;
                default:
                        r = step_quoted(&p, c);
                }
                if (c == '\r' || (c == '\n' && !after_cr))
                        p.line++;
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

/* --- What systemd reads, and whether its versions agree ---------------------------- */

struct env_entry {
        const char *key, *value;
        size_t order;
};

static int compare_entries(const void *a, const void *b) {
        const struct env_entry *x = a, *y = b;
        int c = strcmp(x->key, y->key);
        return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* A name the service gets: systemd drops the others (env_name_is_valid()). */
static bool env_name_ok(const char *key) {
        return *key && !(*key >= '0' && *key <= '9') &&
               strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(key);
}

/* IT's environment as the service gets it: each valid name once, with its last value,
 * sorted by name. */
static struct env_entry *environment(const struct items *it, size_t *ret_n) {
        struct env_entry *v = calloc(it->n + 1, sizeof(*v));
        size_t n = 0, kept = 0;

        if (!v)
                return NULL;
        for (size_t i = 0; i < it->n; i++)
                if (it->v[i].kind == ITEM_ASSIGNMENT && env_name_ok(it->v[i].key))
                        v[n++] = (struct env_entry) { it->v[i].key, it->v[i].value, i };
        qsort(v, n, sizeof(*v), compare_entries);
        for (size_t i = 0; i < n; i++)
                if (i + 1 == n || !streq(v[i].key, v[i + 1].key))
                        v[kept++] = v[i];
        *ret_n = kept;
        return v;
}

/* 1 when A and B give a unit the same variables, 0 when not, -ENOMEM. */
static int same_environment(const struct items *a, const struct items *b) {
        _cleanup_free_ struct env_entry *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;

        x = environment(a, &nx);
        y = environment(b, &ny);
        if (!x || !y)
                return -ENOMEM;
        if (nx != ny)
                return 0;
        for (size_t i = 0; i < nx; i++)
                if (!streq(x[i].key, y[i].key) || !streq(x[i].value, y[i].value))
                        return 0;
        return 1;
}

/* Where 252 and 254 part: the first comment that 252 carries over several lines (in
 * IT252) holding the start of an assignment that 254 reads (in IT254, or the one whose
 * invalid UTF-8 made 254 refuse the file, R254). The environments can only differ
 * there: outside such comments both read the same items. */
static void blame(const struct items *it252, const struct items *it254, const struct refusal *r254,
                  struct refusal *ret) {
        *ret = (struct refusal) { .kind = REFUSED_TWO_READINGS };
        for (size_t c = 0; c < it252->n; c++) {
                const struct item *comment = &it252->v[c];
                unsigned first = 0;

                if (comment->kind != ITEM_COMMENT || comment->end_line == comment->line)
                        continue;
                for (size_t a = 0; a <= it254->n; a++) {
                        unsigned line = a < it254->n ? (it254->v[a].kind == ITEM_ASSIGNMENT ? it254->v[a].line : 0)
                                                     : (r254->kind == REFUSED_UTF8 ? r254->line : 0);
                        if (line > comment->line && line <= comment->end_line && (!first || line < first))
                                first = line;
                }
                if (first) {
                        ret->line = comment->line;
                        ret->end_line = first;
                        return;
                }
        }
}

static unsigned line_at(const char *text, size_t pos) {
        unsigned line = 1;
        for (size_t i = 0; i < pos; i++)
                line += text[i] == '\r' || (text[i] == '\n' && !(i > 0 && text[i - 1] == '\r'));
        return line;
}

/* TEXT[0..SIZE) as systemd reads it: its items by 252's rules, or -EBADMSG with
 * REFUSAL when systemd refuses the file (a NUL anywhere; invalid UTF-8 in a key or a
 * value), or when systemd 252 and 254 would give the unit different variables (see
 * envfile.h: refused, never written back by one version's rules). -ENOMEM. */
static int read_text(const char *text, size_t size, struct items *ret, struct refusal *refusal) {
        const char *nul = memchr(text, '\0', size);
        struct items it254 = {};
        struct refusal r254 = {};
        int r, same;

        /* systemd reads the file whole and refuses one with a NUL in it (read_full_stream()
         * without a size: the text would be ambiguous), so the unit does not start. */
        if (nul) {
                *refusal = (struct refusal) { .kind = REFUSED_NUL, .line = line_at(text, (size_t) (nul - text)) };
                return -EBADMSG;
        }
        r = parse_items(text, size, false, ret, refusal);
        if (r < 0 || !ret->continued_comment)
                return r;       /* without a comment carried on, 254 reads the same items */
        r = parse_items(text, size, true, &it254, &r254);
        same = r == -ENOMEM ? r : r < 0 ? 0 : same_environment(ret, &it254);
        if (same == 0) {
                blame(ret, &it254, &r254, refusal);
                r = -EBADMSG;
        } else
                r = same < 0 ? same : 0;
        items_done(&it254);
        refusal_done(&r254);
        if (r < 0)
                items_done(ret);
        return r;
}

char *envfile_explain(const char *text, size_t size) {
        _cleanup_free_ char *key = NULL;
        struct refusal f = {};
        struct items it = {};
        char *m = NULL;
        int r;

        r = read_text(text, size, &it, &f);
        items_done(&it);
        if (r != -EBADMSG)
                return NULL;
        key = f.key ? text_escape(f.key, 64) : NULL;
        switch (f.kind) {
        case REFUSED_NUL:
                m = strdup_printf("line %u holds a NUL byte, for which systemd refuses the whole file", f.line);
                break;
        case REFUSED_UTF8:
                m = strdup_printf("line %u: the assignment of '%s' is not valid UTF-8, for which systemd refuses "
                                  "the whole file", f.line, key ?: "?");
                break;
        default:
                m = strdup_printf("line %u: a comment that ends in a backslash runs on, for systemd 252 (Debian 12), "
                                  "over line %u, which systemd 254 and later (Debian 13) read as a setting: the "
                                  "service's variables would depend on the systemd version; end the comment "
                                  "without a trailing backslash", f.line, f.end_line);
        }
        refusal_done(&f);
        return m;
}

char *envfile_explain_file(const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;

        if (read_file_full(path, ENVFILE_MAX_SIZE, &text, &size) < 0)
                return NULL;
        return envfile_explain(text, size);
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
                if (cfield(e, k) && (has_control(cfield(e, k)) || !text_is_utf8(cfield(e, k))))
                        return -EINVAL;

        {
                struct refusal f = {};
                r = read_text(old ?: "", strlen(old ?: ""), &it, &f);
                refusal_done(&f);
                if (r < 0)
                        return r;
        }

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
        struct refusal f = {};
        struct items it = {};
        int r;

        r = read_text(text, size, &it, &f);
        refusal_done(&f);
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
