/* SPDX-License-Identifier: MIT */
/* YAML -> JSON and back: the scalar schema, nesting, documents, round trips of tricky
 * strings, and a table of hostile inputs that must fail cleanly with -EINVAL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/json-util.h"
#include "base/util.h"
#include "kube/yaml.h"

static json_t *load(const char *text) {
        json_t *doc = NULL;
        _cleanup_free_ char *error = NULL;
        int r = yaml_load_one(text, strlen(text), &doc, &error);
        if (r < 0)
                fail_msg("cannot load '%s': %s", text, error ?: "(no message)");
        return doc;
}

static void assert_json(const char *yaml, const char *expected_json) {
        _cleanup_json_ json_t *doc = load(yaml);
        _cleanup_json_ json_t *want = json_loads(expected_json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        assert_non_null(want);
        if (!json_equal(doc, want)) {
                _cleanup_free_ char *got = json_dumps(doc, JSON_ENCODE_ANY | JSON_SORT_KEYS);
                fail_msg("'%s': got %s, want %s", yaml, got, expected_json);
        }
}

static void scalars_follow_the_core_schema(void **state) {
        static const struct { const char *yaml, *json; } cases[] = {
                { "v: true", "{\"v\": true}" },
                { "v: True", "{\"v\": true}" },
                { "v: FALSE", "{\"v\": false}" },
                { "v: null", "{\"v\": null}" },
                { "v: ~", "{\"v\": null}" },
                { "v:", "{\"v\": null}" },
                { "v: 42", "{\"v\": 42}" },
                { "v: -7", "{\"v\": -7}" },
                { "v: +7", "{\"v\": 7}" },
                { "v: 0", "{\"v\": 0}" },
                { "v: 0x1F", "{\"v\": 31}" },
                { "v: 0o17", "{\"v\": 15}" },
                { "v: 0755", "{\"v\": 493}" },
                { "v: 9223372036854775807", "{\"v\": 9223372036854775807}" },
                { "v: -9223372036854775808", "{\"v\": -9223372036854775808}" },
                { "v: 99999999999999999999", "{\"v\": 1e20}" },
                { "v: 1.5", "{\"v\": 1.5}" },
                { "v: .5", "{\"v\": 0.5}" },
                { "v: 1e3", "{\"v\": 1000.0}" },
                { "v: -2.5E-3", "{\"v\": -0.0025}" },
                /* Quoted: always strings. */
                { "v: \"true\"", "{\"v\": \"true\"}" },
                { "v: '42'", "{\"v\": \"42\"}" },
                { "v: ''", "{\"v\": \"\"}" },
                { "v: \"null\"", "{\"v\": \"null\"}" },
                /* YAML 1.1 booleans: strings here (see yaml.h). */
                { "v: yes", "{\"v\": \"yes\"}" },
                { "v: off", "{\"v\": \"off\"}" },
                { "v: N", "{\"v\": \"N\"}" },
                /* Not numbers. */
                { "v: 1.2.3", "{\"v\": \"1.2.3\"}" },
                { "v: 5Gi", "{\"v\": \"5Gi\"}" },
                { "v: 0x", "{\"v\": \"0x\"}" },
                { "v: 1_000", "{\"v\": \"1_000\"}" },
                { "v: 12:30", "{\"v\": \"12:30\"}" },
                { "v: tcp://0.0.0.0:2375", "{\"v\": \"tcp://0.0.0.0:2375\"}" },
                /* Tags. */
                { "v: !!str 42", "{\"v\": \"42\"}" },
                { "v: !!float 1", "{\"v\": 1.0}" },
                { "v: ! true", "{\"v\": \"true\"}" },
                /* Keys are their text. */
                { "1: a", "{\"1\": \"a\"}" },
                { "true: a", "{\"true\": \"a\"}" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_json(cases[i].yaml, cases[i].json);
}

static void block_scalars_and_escapes_are_strings(void **state) {
        assert_json("v: |\n  line 1\n  line 2\n", "{\"v\": \"line 1\\nline 2\\n\"}");
        assert_json("v: |-\n  a\n", "{\"v\": \"a\"}");
        assert_json("v: >\n  a\n  b\n", "{\"v\": \"a b\\n\"}");
        assert_json("v: \"tab\\there \\u00e9\"", "{\"v\": \"tab\\there \\u00e9\"}");
        assert_json("v: \"nul\\0inside\"", "{\"v\": \"nul\\u0000inside\"}");
}

static void nesting_keeps_structure_and_order(void **state) {
        const char *text =
                "apiVersion: apps/v1\n"
                "kind: Deployment\n"
                "spec:\n"
                "  replicas: 1\n"
                "  template:\n"
                "    spec:\n"
                "      containers:\n"
                "      - name: dind\n"
                "        args: [\"--tls=false\", --mtu=1400]\n"
                "        ports:\n"
                "          - containerPort: 2375\n"
                "      empty: {}\n"
                "      none: []\n";
        _cleanup_json_ json_t *doc = load(text);
        json_t *c = json_array_get(json_get_path(doc, "spec", "template", "spec", "containers", NULL), 0);

        assert_string_equal(json_object_iter_key(json_object_iter(doc)), "apiVersion");
        assert_int_equal(json_integer_value(json_get_path(doc, "spec", "replicas", NULL)), 1);
        assert_string_equal(json_object_get_string(c, "name"), "dind");
        assert_string_equal(json_string_value(json_array_get(json_object_get(c, "args"), 1)), "--mtu=1400");
        assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(c, "ports"), 0),
                                                            "containerPort")), 2375);
        assert_true(json_is_object(json_get_path(doc, "spec", "template", "spec", "empty", NULL)));
        assert_true(json_is_array(json_get_path(doc, "spec", "template", "spec", "none", NULL)));
}

static void all_documents_are_read_and_empty_ones_skipped(void **state) {
        const char *text = "---\na: 1\n---\n---\n# only a comment\n---\n- x\n...\n---\nb: 2\n";
        _cleanup_json_ json_t *docs = NULL;
        _cleanup_json_ json_t *want = json_loads("[{\"a\":1},[\"x\"],{\"b\":2}]", 0, NULL);

        assert_int_equal(yaml_load_all(text, strlen(text), &docs, NULL), 0);
        assert_true(json_equal(docs, want));

        /* yaml_load_one wants exactly one. */
        json_t *one = (json_t *) 0x1;
        _cleanup_free_ char *error = NULL;
        assert_int_equal(yaml_load_one(text, strlen(text), &one, &error), -EINVAL);
        assert_ptr_equal(one, (json_t *) 0x1);
        assert_non_null(strstr(error, "more than one document"));
        free(TAKE_PTR(error));
        assert_int_equal(yaml_load_one("", 0, &one, &error), -EINVAL);
        assert_non_null(strstr(error, "no document"));

        _cleanup_json_ json_t *none = NULL;
        assert_int_equal(yaml_load_all("", 0, &none, NULL), 0);
        assert_int_equal(json_array_size(none), 0);
}

static void errors_name_line_and_column(void **state) {
        const char *text = "a: 1\nb: &x 2\n";
        _cleanup_free_ char *error = NULL;
        json_t *doc = NULL;

        assert_int_equal(yaml_load_one(text, strlen(text), &doc, &error), -EINVAL);
        assert_null(doc);
        assert_string_equal(error, "line 2 column 4: anchors are not supported");

        free(TAKE_PTR(error));
        text = "a: 1\na: 2\n";
        assert_int_equal(yaml_load_one(text, strlen(text), &doc, &error), -EINVAL);
        assert_string_equal(error, "line 2 column 1: duplicate key 'a'");

        free(TAKE_PTR(error));
        text = "a: \"open\n";
        assert_int_equal(yaml_load_one(text, strlen(text), &doc, &error), -EINVAL);
        assert_non_null(strstr(error, "line "));
}

static char *repeat(const char *unit, size_t n, const char *tail) {
        size_t u = strlen(unit), t = strlen(tail);
        char *s = malloc(u * n + t + 1);
        assert_non_null(s);
        for (size_t i = 0; i < n; i++)
                memcpy(s + i * u, unit, u);
        memcpy(s + u * n, tail, t + 1);
        return s;
}

/* Found by tests/fuzz/fuzz-yaml: an error quoted the offending value whole, newlines
 * and escape sequences included, so a kubeconfig could write anything to the terminal. */
static void errors_quote_input_capped_and_clean(void **state) {
        static const char *const inputs[] = {
                "v: !!int \"42\\n\\e[31mred\\u0085\"\n",              /* not a valid int */
                "\"k\\e]0;title\\a\": 1\n\"k\\e]0;title\\a\": 2\n",    /* duplicate key */
                "v: !<!%1B[2J> x\n",                                        /* unsupported tag */
        };
        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                _cleanup_free_ char *error = NULL;
                json_t *doc = NULL;

                assert_int_equal(yaml_load_one(inputs[i], strlen(inputs[i]), &doc, &error), -EINVAL);
                assert_non_null(error);
                for (const unsigned char *p = (const unsigned char *) error; *p; p++) {
                        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
                                fail_msg("input %zu: control character in '%s'", i, error);
                }
        }

        /* A long value is quoted in part, cut at a character boundary, and the message
         * still says what is wrong. */
        _cleanup_free_ char *text = malloc(4096), *error = NULL;
        json_t *doc = NULL;
        assert_non_null(text);
        strcpy(text, "v: !!int \"");
        for (int i = 0; i < 1000; i++)
                strcat(text, "\xc3\xa9");                            /* é, two bytes */
        strcat(text, "\"\n");
        assert_int_equal(yaml_load_one(text, strlen(text), &doc, &error), -EINVAL);
        assert_non_null(error);
        assert_true(strlen(error) < 200);
        assert_non_null(strstr(error, "...' is not a valid"));
        assert_null(strstr(error, "\xc3'"));                            /* no half character */
}

static void hostile_inputs_fail_with_einval(void **state) {
        static const struct { const char *name; const char *text; size_t len; } cases[] = {
#define C(n, t) { n, t, sizeof(t) - 1 }
                C("unclosed double quote", "a: \"abc"),
                C("unclosed single quote", "a: 'abc"),
                C("unclosed flow sequence", "a: [1, 2"),
                C("unclosed flow mapping", "a: {b: 1"),
                C("tab indentation", "a:\n\tb: 1\n"),
                C("bad indentation", "a:\n    b: 1\n  c: 2\n"),
                C("alias", "a: &x 1\nb: *x\n"),
                C("alias bomb", "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n"),
                C("lone alias", "*x"),
                C("merge key", "a: {x: 1}\nb:\n  <<: {x: 2}\n"),
                C("sequence as key", "? [a, b]\n: 1\n"),
                C("mapping as key", "? {a: 1}\n: 1\n"),
                C("unknown tag", "a: !!binary aGVsbG8=\n"),
                C("local tag", "a: !foo bar\n"),
                C("wrong int tag", "a: !!int abc\n"),
                C("infinity", "a: .inf\n"),
                C("nan", "a: .nan\n"),
                C("NUL byte", "a: b\0c\n"),
                C("NUL in key", "\"a\\0b\": 1\n"),
                C("control character", "a: \x01\n"),
                C("invalid UTF-8", "a: \xff\xfe\xfd\n"),
                C("truncated UTF-8", "a: \xc3"),
                C("lone surrogate", "a: \"\\ud800\"\n"),
                C("binary garbage", "\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00"),
                C("directive garbage", "%YAML 9.9\n--- a\n"),
                C("stray document end", "a: 1\n... b\n"),
                C("duplicate key", "a: 1\nb: 2\na: 3\n"),
                C("colon soup", ": : :\n"),
#undef C
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *docs = NULL;
                _cleanup_free_ char *error = NULL;
                int r = yaml_load_all(cases[i].text, cases[i].len, &docs, &error);
                if (r != -EINVAL)
                        fail_msg("%s: got %d, want -EINVAL", cases[i].name, r);
                assert_null(docs);
                assert_non_null(error);
                /* Every prefix of it is survived too (truncated input). */
                for (size_t n = 0; n < cases[i].len; n++) {
                        _cleanup_free_ char *e2 = NULL;
                        json_t *d2 = NULL;
                        r = yaml_load_all(cases[i].text, n, &d2, &e2);
                        assert_true(r == 0 || r == -EINVAL);
                        json_decref(d2);
                }
        }
}

static void deep_nesting_is_refused(void **state) {
        _cleanup_free_ char *flow = repeat("[", 10000, "");
        _cleanup_free_ char *block = NULL;
        _cleanup_free_ char *error = NULL;
        json_t *docs = NULL;

        assert_int_equal(yaml_load_all(flow, strlen(flow), &docs, &error), -EINVAL);
        assert_non_null(error);

        /* 2000 levels of block mappings: "a:\n a:\n  a:..." (2 MB) */
        size_t n = 2000, size = n * (n + 1) / 2 + n * 3 + 1, pos = 0;
        {
                block = malloc(size);
                assert_non_null(block);
                for (size_t i = 0; i < n; i++) {
                        memset(block + pos, ' ', i);
                        pos += i;
                        memcpy(block + pos, "a:\n", 3);
                        pos += 3;
                }
                block[pos] = 0;
                assert_int_equal(yaml_load_all(block, pos, &docs, NULL), -EINVAL);
        }

        /* 64 levels are fine, 65 are not. */
        _cleanup_free_ char *ok64 = NULL;
        ok64 = malloc(200);
        memset(ok64, '[', 64);
        memset(ok64 + 64, ']', 64);
        ok64[128] = 0;
        assert_int_equal(yaml_load_all(ok64, 128, &docs, NULL), 0);
        json_decref(TAKE_PTR(docs));
        _cleanup_free_ char *deep65 = malloc(200);
        memset(deep65, '[', 65);
        memset(deep65 + 65, ']', 65);
        deep65[130] = 0;
        assert_int_equal(yaml_load_all(deep65, 130, &docs, NULL), -EINVAL);
}

static void huge_inputs_are_refused(void **state) {
        size_t n = YAML_MAX_INPUT + 1;
        _cleanup_free_ char *big = malloc(n + 1);
        _cleanup_free_ char *error = NULL;
        json_t *docs = NULL;

        assert_non_null(big);
        memset(big, 'a', n);
        big[n] = 0;
        assert_int_equal(yaml_load_all(big, n, &docs, &error), -EINVAL);
        assert_non_null(strstr(error, "larger than"));

        /* Many small nodes under the byte cap: the node cap. */
        _cleanup_free_ char *many = repeat("- 1\n", 300000, "");
        assert_int_equal(yaml_load_all(many, strlen(many), &docs, NULL), -EINVAL);
}

static void assert_round_trip(json_t *x) {
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *error = NULL;
        _cleanup_json_ json_t *back = NULL;

        assert_int_equal(yaml_dump(x, &text), 0);
        if (yaml_load_one(text, strlen(text), &back, &error) < 0)
                fail_msg("dump does not load back: %s\n%s", error, text);
        if (!json_equal(x, back)) {
                _cleanup_free_ char *a = json_dumps(x, JSON_ENCODE_ANY);
                _cleanup_free_ char *b = json_dumps(back, JSON_ENCODE_ANY);
                fail_msg("round trip changed %s into %s via\n%s", a, b, text);
        }
}

static void dump_round_trips_tricky_strings(void **state) {
        static const char *const strings[] = {
                "", " ", "  leading", "trailing  ", "true", "True", "false", "null", "Null",
                "~", "yes", "no", "on", "off", "y", "n", "Y", "N", "42", "-1", "0755", "0x1f",
                "0o17", "1.0", ".5", "1e3", "1_000", "12:30", ".inf", ".nan", "<<", "=",
                "-", "- a", "? x", ": x", "a: b", "a #b", "#comment", "&anchor", "*alias",
                "!tag", "|", ">", "%", "@", "`", "'", "\"", "{", "}", "[", "]", ",", "a,b",
                "line 1\nline 2", "line 1\nline 2\n", "ends in two\n\n", "\n", "\nleading",
                "  indented\nfirst", "trailing space \nline", "tab\tinside", "\ttab first",
                "é ü 日本", "\xc2\x85 next line", "\xe2\x80\xa8 line separator",
                "\x7f del", "\x1b[31m escape", "docker:27.5.1-dind", "tcp://0.0.0.0:2375",
                "--registry-mirror=https://mirror.example", "0 3 * * 0", "5Gi", "---", "...",
                "2001-12-14", "2001-12-14 21:59:43.10 -5", "2001-1-1",
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                size_t len = strlen(strings[i]);
                _cleanup_json_ json_t *doc = json_pack("{s:o}", "v", json_stringn(strings[i], len));
                _cleanup_json_ json_t *key = json_object();
                assert_non_null(doc);
                assert_round_trip(doc);
                json_object_set_new(key, strings[i], json_integer(1));
                assert_round_trip(key);
                _cleanup_json_ json_t *arr = json_pack("[o]", json_stringn(strings[i], len));
                assert_round_trip(arr);
        }

        _cleanup_json_ json_t *nul = json_pack("{s:s%}", "v", "nul\0inside", (size_t) 10);
        assert_non_null(nul);
        assert_round_trip(nul);
}

/* Every string some YAML 1.1 or 1.2 resolver (kubectl's go-yaml: Go's ParseInt with
 * base 0 after dropping underscores) reads as a number, boolean, null or time is
 * written double-quoted, as a value and as a key. */
static void dump_quotes_what_any_resolver_reads_as_non_string(void **state) {
        static const char *const strings[] = {
                "0B10", "0b10", "0O17", "0o17", "0X1F", "0x1_0", "+0x_1", "-0b1_0", "1_000", "+1",
                "-0", "0", "00", "08", "1.5", "-.5", "+.5e-3", "1E3", "1:20", "190:20:30.15",
                ".inf", "-.Inf", "+.INF", ".NaN", ".nan", "TRUE", "tRuE", "Yes", "yES", "oN",
                "OFF", "y", "N", "NULL", "nUlL", "~", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                _cleanup_json_ json_t *doc = json_pack("{s:s}", "v", strings[i]);
                _cleanup_json_ json_t *key = json_pack("{s:i}", strings[i], 1);
                _cleanup_free_ char *text = NULL, *ktext = NULL, *want = NULL, *kwant = NULL;

                assert_int_equal(yaml_dump(doc, &text), 0);
                want = strdup_printf("v: \"%s\"\n", strings[i]);
                if (!streq(text, want))
                        fail_msg("'%s' dumped as %s", strings[i], text);
                assert_int_equal(yaml_dump(key, &ktext), 0);
                kwant = strdup_printf("\"%s\": 1\n", strings[i]);
                if (!streq(ktext, kwant))
                        fail_msg("key '%s' dumped as %s", strings[i], ktext);
        }
}

/* Tags on keys follow the rules for tags on values. */
static void tags_on_keys_are_held_to_the_rules_of_values(void **state) {
        static const char *const refused[] = {
                "!foo a: 1\n", "!!binary aGVsbG8=: 1\n", "!!int abc: 1\n", "? !foo a\n: 1\n",
                "!<tag:example.com,2000:x> a: 1\n", "!!bool maybe: 1\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                json_t *docs = NULL;
                _cleanup_free_ char *error = NULL;
                if (yaml_load_all(refused[i], strlen(refused[i]), &docs, &error) != -EINVAL)
                        fail_msg("'%s' accepted", refused[i]);
                assert_non_null(error);
        }
        assert_json("!!str a: 1\n", "{\"a\": 1}");
        assert_json("! a: 1\n", "{\"a\": 1}");
        assert_json("!!int 1: x\n", "{\"1\": \"x\"}");
        {
                json_t *docs = NULL;
                _cleanup_free_ char *error = NULL;
                assert_int_equal(yaml_load_all("a: !foo x\n", 10, &docs, &error), -EINVAL);
        }
}

static void dump_round_trips_every_type(void **state) {
        _cleanup_json_ json_t *doc = json_loads(
                "{\"i\": 1, \"neg\": -9223372036854775808, \"r\": 1.0, \"r2\": 0.1, \"r3\": 1e300,"
                " \"r4\": -2.5e-10, \"t\": true, \"f\": false, \"n\": null, \"s\": \"x\","
                " \"empty_obj\": {}, \"empty_arr\": [], \"nested\": [[1, [2, {\"a\": [3]}]], {}],"
                " \"obj\": {\"deep\": {\"er\": [null, \"null\", true, \"true\"]}}}", 0, NULL);
        assert_non_null(doc);
        assert_round_trip(doc);

        _cleanup_json_ json_t *scalar = json_string("just a string");
        assert_round_trip(scalar);
        _cleanup_json_ json_t *number = json_integer(7);
        assert_round_trip(number);
}

static void dump_is_block_style(void **state) {
        _cleanup_json_ json_t *doc = json_loads(
                "{\"metadata\": {\"name\": \"docker-dind\", \"labels\": {\"app\": \"docker-dind\"}},"
                " \"args\": [\"--tls=false\", \"yes\"], \"script\": \"a\\nb\\n\"}", 0, NULL);
        _cleanup_free_ char *text = NULL;

        assert_int_equal(yaml_dump(doc, &text), 0);
        assert_string_equal(text,
                            "metadata:\n"
                            "  name: docker-dind\n"
                            "  labels:\n"
                            "    app: docker-dind\n"
                            "args:\n"
                            "- --tls=false\n"
                            "- \"yes\"\n"
                            "script: |\n"
                            "  a\n"
                            "  b\n");
}

static void dump_refuses_runaway_depth(void **state) {
        _cleanup_json_ json_t *root = json_array();
        json_t *cur = root;
        _cleanup_free_ char *text = NULL;

        for (int i = 0; i < 100; i++) {
                json_t *next = json_array();
                json_array_append_new(cur, next);
                cur = next;
        }
        assert_int_equal(yaml_dump(root, &text), -EINVAL);
        assert_null(text);

        /* Exactly what loads back dumps: 64 nested arrays, not 65. */
        _cleanup_json_ json_t *ok = json_array();
        cur = ok;
        for (int i = 1; i < 64; i++) {
                json_t *next = json_array();
                json_array_append_new(cur, next);
                cur = next;
        }
        assert_round_trip(ok);
        json_array_append_new(cur, json_array());
        assert_int_equal(yaml_dump(ok, &text), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(scalars_follow_the_core_schema),
                cmocka_unit_test(block_scalars_and_escapes_are_strings),
                cmocka_unit_test(nesting_keeps_structure_and_order),
                cmocka_unit_test(all_documents_are_read_and_empty_ones_skipped),
                cmocka_unit_test(errors_name_line_and_column),
                cmocka_unit_test(hostile_inputs_fail_with_einval),
                cmocka_unit_test(errors_quote_input_capped_and_clean),
                cmocka_unit_test(deep_nesting_is_refused),
                cmocka_unit_test(huge_inputs_are_refused),
                cmocka_unit_test(dump_round_trips_tricky_strings),
                cmocka_unit_test(dump_quotes_what_any_resolver_reads_as_non_string),
                cmocka_unit_test(tags_on_keys_are_held_to_the_rules_of_values),
                cmocka_unit_test(dump_round_trips_every_type),
                cmocka_unit_test(dump_is_block_style),
                cmocka_unit_test(dump_refuses_runaway_depth),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
