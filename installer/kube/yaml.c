/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yaml.h> /* libyaml; ours is kube/yaml.h */

#include "base/json-util.h"
#include "base/util.h"
#include "kube/yaml.h"

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES (1u << 18)

static void yaml_parser_deletep(yaml_parser_t *p) {
        yaml_parser_delete(p);
}
static void yaml_event_deletep(yaml_event_t *e) {
        yaml_event_delete(e);
}
static void yaml_emitter_deletep(yaml_emitter_t *e) {
        yaml_emitter_delete(e);
}

/* Input quoted in a message: at most MESSAGE_QUOTE bytes of it, cut at a character
 * boundary, "..." marking the cut. Used as "'%.*s%s'", QUOTED(s). */
#define MESSAGE_QUOTE 64
static int quote_len(const char *s) {
        size_t n = strlen(s);

        if (n <= MESSAGE_QUOTE)
                return (int) n;
        n = MESSAGE_QUOTE;
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                n--;
        return (int) n;
}
#define QUOTED(s) quote_len(s), (s), strlen(s) > (size_t) quote_len(s) ? "..." : ""

/* Control characters (C0, DEL, C1 as UTF-8) in S read as '?', in place: messages quote
 * the input, and they reach a terminal. */
static void clean_controls(char *s) {
        char *o = s;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
                        *o++ = '?';
                        p++;
                } else
                        *o++ = *p < 0x20 || *p == 0x7f ? '?' : (char) *p;
        }
        *o = '\0';
}

_printf_(3, 4) static int fail(char **ret_error, const yaml_mark_t *mark, const char *fmt, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;

        if (!ret_error)
                return -EINVAL;
        va_start(ap, fmt);
        if (vasprintf(&what, fmt, ap) < 0)
                what = NULL;
        va_end(ap);
        if (!what)
                return -EINVAL;         /* ret_error stays untouched */
        clean_controls(what);
        *ret_error = mark ? strdup_printf("line %zu column %zu: %s", mark->line + 1,
                                          mark->column + 1, what)
                          : TAKE_PTR(what);
        return -EINVAL;
}

/* --- Plain scalar resolution --------------------------------------------------- */

enum kind { K_STRING, K_NULL, K_BOOL, K_INT, K_FLOAT, K_BAD_NUMBER };

static bool in_list(const char *s, const char *const *list) {
        for (; *list; list++)
                if (streq(s, *list))
                        return true;
        return false;
}

static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const trues[] = { "true", "True", "TRUE", NULL };
static const char *const falses[] = { "false", "False", "FALSE", NULL };
static const char *const specials[] = {
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
        ".nan", ".NaN", ".NAN", NULL
};

static bool all_digits(const char *s, const char *set) {
        if (!*s)
                return false;
        return strspn(s, set) == strlen(s);
}

/* Integer forms: [-+]?[0-9]+ (a leading 0 means octal, as Go and YAML 1.1 read
 * "0755"), [-+]?0x[0-9a-fA-F]+, [-+]?0o[0-7]+, [-+]?0b[01]+. */
static enum kind resolve_int(const char *s, json_int_t *ret) {
        const char *p = s, *digits;
        bool neg = false;
        int base = 10;
        unsigned long long v;
        char *end;

        if (*p == '-' || *p == '+')
                neg = *p++ == '-';
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
                base = 16, digits = p + 2;
        else if (p[0] == '0' && p[1] == 'o')
                base = 8, digits = p + 2;
        else if (p[0] == '0' && p[1] == 'b')
                base = 2, digits = p + 2;
        else if (p[0] == '0' && p[1])
                base = 8, digits = p + 1;
        else
                digits = p;

        if (!all_digits(digits, base == 16 ? "0123456789abcdefABCDEF" :
                                base == 8 ? "01234567" : base == 2 ? "01" : "0123456789"))
                return K_STRING;
        errno = 0;
        v = strtoull(digits, &end, base);
        if (errno == ERANGE || *end)
                return K_FLOAT;         /* too large: a float, as go-yaml does */
        if (neg ? v > (unsigned long long) INT64_MAX + 1 : v > INT64_MAX)
                return K_FLOAT;
        *ret = neg ? (json_int_t) (0 - v) : (json_int_t) v;
        return K_INT;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float_text(const char *s) {
        const char *p = s;
        size_t n;

        if (*p == '-' || *p == '+')
                p++;
        n = strspn(p, "0123456789");
        p += n;
        if (*p == '.') {
                size_t m = strspn(p + 1, "0123456789");
                if (n == 0 && m == 0)
                        return false;
                p += 1 + m;
        } else if (n == 0)
                return false;
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '-' || *p == '+')
                        p++;
                n = strspn(p, "0123456789");
                if (n == 0)
                        return false;
                p += n;
        }
        return *p == 0;
}

static enum kind resolve_plain(const char *s, size_t len, json_int_t *ret_int, double *ret_real) {
        if (strlen(s) != len)
                return K_STRING;                /* an embedded NUL: cannot be anything else */
        if (in_list(s, nulls))
                return K_NULL;
        if (in_list(s, trues)) {
                *ret_int = 1;
                return K_BOOL;
        }
        if (in_list(s, falses)) {
                *ret_int = 0;
                return K_BOOL;
        }
        if (in_list(s, specials))
                return K_BAD_NUMBER;
        enum kind k = resolve_int(s, ret_int);
        if (k == K_INT)
                return K_INT;
        if (k == K_FLOAT || is_float_text(s)) {
                /* Leading-zero decimals that are not octal ("089") read as floats. */
                char *end;
                double d = strtod(s, &end);
                if (*end)
                        return K_STRING;
                if (!isfinite(d))
                        return K_BAD_NUMBER;
                *ret_real = d;
                return K_FLOAT;
        }
        return K_STRING;
}

/* Whether string S must be quoted so that every YAML 1.1 and 1.2 resolver (kubectl's
 * go-yaml, PyYAML, libyaml-based tools) reads it back as a string. Quoting more than
 * needed is harmless; a miss turns a string into a number, a boolean or a date. */
static bool needs_quotes(const char *s, size_t len) {
        static const char *const words[] = {
                "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~", "<<", "=", NULL
        };
        const char *unsigned_s = s + (*s == '+' || *s == '-');
        json_int_t i;
        double d;

        if (resolve_plain(s, len, &i, &d) != K_STRING)
                return true;
        /* Booleans and nulls in every case form (YAML 1.1 and go-yaml read some). */
        for (const char *const *w = words; *w; w++)
                if (strcasecmp(s, *w) == 0)
                        return true;
        /* .inf and .nan, signed or not, in any case. */
        if (strcasecmp(unsigned_s, ".inf") == 0 || strcasecmp(unsigned_s, ".nan") == 0)
                return true;
        /* Anything that may be a number to someone: ints in every base with prefixes in
         * either case, underscores and signs (Go's ParseInt base 0 after go-yaml drops
         * the underscores: 0B10, 0O17, 0x1_0, +0x_1), floats, YAML 1.1 sexagesimal
         * (1:20, 190:20:30.15). */
        if (len > 0 && strchr("+-.0123456789", s[0]) &&
            strspn(s, "0123456789abcdefABCDEF_+-.:xXoObBeE") == len)
                return true;
        /* YAML 1.1 timestamps ("2001-12-14", "2001-12-14t21:59:43.10-05:00",
         * "2001-12-14 21:59:43.10 -5"), which go-yaml turns into a time. */
        if (len >= 8 && strspn(s, "0123456789") == 4 && s[4] == '-' && s[5] >= '0' && s[5] <= '9')
                return true;
        return false;
}

/* --- Loading -------------------------------------------------------------------- */

static bool tag_is(const yaml_char_t *tag, const char *name) {
        static const char prefix[] = "tag:yaml.org,2002:";
        return tag && strncmp((const char *) tag, prefix, sizeof(prefix) - 1) == 0 &&
               streq((const char *) tag + sizeof(prefix) - 1, name);
}

static int scalar_to_json(const yaml_event_t *ev, json_t **ret, char **ret_error) {
        const char *v = (const char *) ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        const yaml_char_t *tag = ev->data.scalar.tag;
        json_int_t i = 0;
        double d = 0;
        enum kind k;
        json_t *j;

        if (tag && !streq((const char *) tag, "!") && !tag_is(tag, "str") &&
            !tag_is(tag, "null") && !tag_is(tag, "bool") && !tag_is(tag, "int") &&
            !tag_is(tag, "float"))
                return fail(ret_error, &ev->start_mark, "unsupported tag '%.*s%s'", QUOTED((const char *) tag));

        if (tag_is(tag, "str") || streq((const char *) tag, "!") ||
            (!tag && ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE))
                k = K_STRING;
        else {
                k = resolve_plain(v, len, &i, &d);
                if (tag && ((tag_is(tag, "null") && k != K_NULL) ||
                            (tag_is(tag, "bool") && k != K_BOOL) ||
                            (tag_is(tag, "int") && k != K_INT) ||
                            (tag_is(tag, "float") && k != K_FLOAT && k != K_INT)))
                        return fail(ret_error, &ev->start_mark, "'%.*s%s' is not a valid %s",
                                    QUOTED(v), (const char *) tag);
                if (tag_is(tag, "float") && k == K_INT) {
                        k = K_FLOAT;
                        d = (double) i;
                }
        }

        switch (k) {
        case K_NULL:
                j = json_null();
                break;
        case K_BOOL:
                j = json_boolean(i);
                break;
        case K_INT:
                j = json_integer(i);
                break;
        case K_FLOAT:
                j = json_real(d);
                break;
        case K_BAD_NUMBER:
                return fail(ret_error, &ev->start_mark, "'%.*s%s' cannot be represented in JSON", QUOTED(v));
        default:
                j = json_stringn(v, len);
                if (!j)
                        return fail(ret_error, &ev->start_mark, "string is not valid UTF-8");
        }
        if (!j)
                return -ENOMEM;
        *ret = j;
        return 0;
}

struct frame {
        json_t *node;           /* object or array being filled */
        char *key;              /* object: the key waiting for its value */
};

struct loader {
        struct frame stack[YAML_MAX_DEPTH + 1];
        unsigned depth;
        unsigned nodes;
        json_t *root;
        char **ret_error;
};

static void loader_reset(struct loader *l) {
        for (unsigned i = 0; i < l->depth; i++) {
                free(l->stack[i].key);
                l->stack[i].key = NULL;
        }
        l->depth = 0;
        json_decref(l->root);
        l->root = NULL;
}

/* Attaches NODE (a new reference, stolen) to the current container or as root. */
static int loader_add(struct loader *l, json_t *node, const yaml_mark_t *mark) {
        struct frame *f;
        int r;

        if (++l->nodes > YAML_MAX_NODES) {
                json_decref(node);
                return fail(l->ret_error, mark, "more than %u nodes", YAML_MAX_NODES);
        }
        if (l->depth == 0) {
                l->root = node;
                return 0;
        }
        f = &l->stack[l->depth - 1];
        if (json_is_array(f->node))
                r = json_array_append_new(f->node, node);
        else {
                if (!f->key) {
                        json_decref(node);
                        return fail(l->ret_error, mark, "mapping keys must be scalars");
                }
                r = json_object_set_new(f->node, f->key, node);
                free(f->key);
                f->key = NULL;
        }
        return r < 0 ? -ENOMEM : 0;
}

static bool utf8_valid(const char *s, size_t len) {
        json_t *probe = json_stringn(s, len);

        json_decref(probe);
        return probe != NULL;
}

static int loader_key(struct loader *l, const yaml_event_t *ev) {
        struct frame *f = &l->stack[l->depth - 1];
        const char *v = (const char *) ev->data.scalar.value;
        size_t len = ev->data.scalar.length;

        if (ev->data.scalar.anchor)
                return fail(l->ret_error, &ev->start_mark, "anchors are not supported");
        if (strlen(v) != len)
                return fail(l->ret_error, &ev->start_mark, "key contains a NUL character");
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag &&
            streq(v, "<<"))
                return fail(l->ret_error, &ev->start_mark, "merge keys are not supported");
        /* A key's tag is held to the rules a value's is: unknown tags refused, the
         * standard ones must fit the text. */
        if (ev->data.scalar.tag) {
                _cleanup_json_ json_t *probe = NULL;
                int r = scalar_to_json(ev, &probe, l->ret_error);
                if (r < 0)
                        return r;
        }
        if (!utf8_valid(v, len))
                return fail(l->ret_error, &ev->start_mark, "key is not valid UTF-8");
        if (json_object_get(f->node, v))
                return fail(l->ret_error, &ev->start_mark, "duplicate key '%.*s%s'", QUOTED(v));
        f->key = strdup(v);
        return f->key ? 0 : -ENOMEM;
}

/* Is the next event, in the current mapping, a key? */
static bool loader_wants_key(const struct loader *l) {
        const struct frame *f;

        if (l->depth == 0)
                return false;
        f = &l->stack[l->depth - 1];
        return json_is_object(f->node) && !f->key;
}

static int loader_open(struct loader *l, const yaml_event_t *ev, json_t *node,
                       const yaml_char_t *anchor, const yaml_char_t *tag, const char *expect) {
        int r;

        if (!node)
                return -ENOMEM;
        if (anchor) {
                json_decref(node);
                return fail(l->ret_error, &ev->start_mark, "anchors are not supported");
        }
        if (tag && !streq((const char *) tag, "!") && !tag_is(tag, expect)) {
                json_decref(node);
                return fail(l->ret_error, &ev->start_mark, "unsupported tag '%.*s%s'",
                            QUOTED((const char *) tag));
        }
        if (l->depth >= YAML_MAX_DEPTH) {
                json_decref(node);
                return fail(l->ret_error, &ev->start_mark, "nested deeper than %d levels",
                            YAML_MAX_DEPTH);
        }
        json_incref(node);
        r = loader_add(l, node, &ev->start_mark);
        if (r < 0) {
                json_decref(node);
                return r;
        }
        l->stack[l->depth++] = (struct frame) { .node = node };
        json_decref(node);      /* the parent (or root) holds it */
        return 0;
}

/* One parser event EV into the loader L; a finished document goes to DOCS, the
 * stream's end sets *DONE. */
static int loader_event(struct loader *l, const yaml_event_t *ev, json_t *docs, bool *done) {
        json_t *j = NULL;
        int r;

        switch (ev->type) {
        case YAML_STREAM_END_EVENT:
                *done = true;
                return 0;
        case YAML_DOCUMENT_START_EVENT:
                loader_reset(l);
                return 0;
        case YAML_DOCUMENT_END_EVENT:
                r = l->root && !json_is_null(l->root) && json_array_append(docs, l->root) < 0 ? -ENOMEM : 0;
                loader_reset(l);
                return r;
        case YAML_ALIAS_EVENT:
                return fail(l->ret_error, &ev->start_mark, "aliases are not supported");
        case YAML_SCALAR_EVENT:
                if (loader_wants_key(l))
                        return loader_key(l, ev);
                if (ev->data.scalar.anchor)
                        return fail(l->ret_error, &ev->start_mark, "anchors are not supported");
                r = scalar_to_json(ev, &j, l->ret_error);
                return r < 0 ? r : loader_add(l, j, &ev->start_mark);
        case YAML_SEQUENCE_START_EVENT:
                if (loader_wants_key(l))
                        return fail(l->ret_error, &ev->start_mark, "mapping keys must be scalars");
                return loader_open(l, ev, json_array(), ev->data.sequence_start.anchor,
                                   ev->data.sequence_start.tag, "seq");
        case YAML_MAPPING_START_EVENT:
                if (loader_wants_key(l))
                        return fail(l->ret_error, &ev->start_mark, "mapping keys must be scalars");
                return loader_open(l, ev, json_object(), ev->data.mapping_start.anchor,
                                   ev->data.mapping_start.tag, "map");
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                if (l->depth > 0)
                        l->depth--;
                return 0;
        default:
                return 0;
        }
}

int yaml_load_all(const char *text, size_t size, json_t **ret_docs, char **ret_error) {
        _cleanup_(yaml_parser_deletep) yaml_parser_t parser = {};
        _cleanup_json_ json_t *docs = NULL;
        struct loader l = { .ret_error = ret_error };
        bool done = false;
        int r = 0;

        if (!text && size > 0)
                return -EINVAL;
        if (size > YAML_MAX_INPUT)
                return fail(ret_error, NULL, "input larger than %u bytes", YAML_MAX_INPUT);
        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) (text ?: ""), size);
        docs = json_array();
        if (!docs)
                return -ENOMEM;

        while (!done && r >= 0) {
                _cleanup_(yaml_event_deletep) yaml_event_t ev = { .type = YAML_NO_EVENT };

                if (!yaml_parser_parse(&parser, &ev)) {
                        r = fail(ret_error, &parser.problem_mark, "%s%s%s",
                                 parser.context ?: "", parser.context ? ": " : "",
                                 parser.problem ?: "malformed YAML");
                        break;
                }

                r = loader_event(&l, &ev, docs, &done);
        }
        loader_reset(&l);
        if (r < 0)
                return r;
        *ret_docs = TAKE_PTR(docs);
        return 0;
}

int yaml_load_one(const char *text, size_t size, json_t **ret_doc, char **ret_error) {
        _cleanup_json_ json_t *docs = NULL;
        int r;

        r = yaml_load_all(text, size, &docs, ret_error);
        if (r < 0)
                return r;
        if (json_array_size(docs) != 1)
                return fail(ret_error, NULL, json_array_size(docs) == 0 ? "no document" :
                            "more than one document");
        *ret_doc = json_incref(json_array_get(docs, 0));
        return 0;
}

/* --- Dumping -------------------------------------------------------------------- */

static int emit(yaml_emitter_t *e, yaml_event_t *ev) {
        return yaml_emitter_emit(e, ev) ? 0 : -EIO;
}

static int emit_scalar(yaml_emitter_t *e, const char *v, size_t len, bool quote) {
        yaml_event_t ev;
        yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

        if (quote)
                style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        else if (memchr(v, '\n', len))
                style = YAML_LITERAL_SCALAR_STYLE;
        if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) v, (int) len,
                                          !quote, 1, style))
                return -ENOMEM;
        return emit(e, &ev);
}

static int emit_string(yaml_emitter_t *e, const char *v, size_t len) {
        return emit_scalar(e, v, len, needs_quotes(v, len));
}

static int emit_node(yaml_emitter_t *e, const json_t *j, unsigned depth) {
        yaml_event_t ev;
        char buf[64];
        int r;

        /* What yaml_load_all() would refuse: more than 64 nested collections. */
        if ((json_is_object(j) || json_is_array(j)) && depth >= YAML_MAX_DEPTH)
                return -EINVAL;

        switch (json_typeof(j)) {
        case JSON_OBJECT: {
                const char *key;
                json_t *v;

                if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE))
                        return -ENOMEM;
                if ((r = emit(e, &ev)) < 0)
                        return r;
                json_object_foreach((json_t *) j, key, v) {
                        if ((r = emit_string(e, key, strlen(key))) < 0 ||
                            (r = emit_node(e, v, depth + 1)) < 0)
                                return r;
                }
                if (!yaml_mapping_end_event_initialize(&ev))
                        return -ENOMEM;
                return emit(e, &ev);
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *v;

                if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE))
                        return -ENOMEM;
                if ((r = emit(e, &ev)) < 0)
                        return r;
                json_array_foreach((json_t *) j, i, v)
                        if ((r = emit_node(e, v, depth + 1)) < 0)
                                return r;
                if (!yaml_sequence_end_event_initialize(&ev))
                        return -ENOMEM;
                return emit(e, &ev);
        }
        case JSON_STRING:
                return emit_string(e, json_string_value(j), json_string_length(j));
        case JSON_INTEGER:
                snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
                return emit_scalar(e, buf, strlen(buf), false);
        case JSON_REAL: {
                double d = json_real_value(j);
                /* The shortest text that reads back as the same double. */
                for (int prec = 15; prec <= 17; prec++) {
                        snprintf(buf, sizeof(buf), "%.*g", prec, d);
                        if (strtod(buf, NULL) == d)
                                break;
                }
                if (!strpbrk(buf, ".eE"))
                        strcat(buf, ".0");
                return emit_scalar(e, buf, strlen(buf), false);
        }
        case JSON_TRUE:
                return emit_scalar(e, "true", 4, false);
        case JSON_FALSE:
                return emit_scalar(e, "false", 5, false);
        case JSON_NULL:
                return emit_scalar(e, "null", 4, false);
        }
        return -EINVAL;
}

static int write_handler(void *data, unsigned char *buffer, size_t size) {
        FILE *f = data;
        return fwrite(buffer, 1, size, f) == size;
}

int yaml_dump(const json_t *doc, char **ret_text) {
        _cleanup_(yaml_emitter_deletep) yaml_emitter_t emitter = {};
        _cleanup_free_ char *text = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        yaml_event_t ev;
        size_t size = 0;
        int r;

        if (!doc)
                return -EINVAL;
        if (!yaml_emitter_initialize(&emitter))
                return -ENOMEM;
        f = open_memstream(&text, &size);
        if (!f)
                return -errno;
        yaml_emitter_set_output(&emitter, write_handler, f);
        yaml_emitter_set_unicode(&emitter, 1);
        yaml_emitter_set_width(&emitter, -1);
        yaml_emitter_set_indent(&emitter, 2);

        if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))
                return -ENOMEM;
        if ((r = emit(&emitter, &ev)) < 0)
                return r;
        if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1))
                return -ENOMEM;
        if ((r = emit(&emitter, &ev)) < 0)
                return r;
        if ((r = emit_node(&emitter, doc, 0)) < 0)
                return r;
        if (!yaml_document_end_event_initialize(&ev, 1))
                return -ENOMEM;
        if ((r = emit(&emitter, &ev)) < 0)
                return r;
        if (!yaml_stream_end_event_initialize(&ev))
                return -ENOMEM;
        if ((r = emit(&emitter, &ev)) < 0)
                return r;
        if (!yaml_emitter_flush(&emitter))
                return -EIO;
        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;
        *ret_text = TAKE_PTR(text);
        return 0;
}
