/* SPDX-License-Identifier: MIT */
/* The checker's env file: written so systemd reads back exactly our values, other
 * lines kept, NULL keys left alone, atomically with mode 0644; read back by systemd's
 * rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "systemd/envfile.h"
#include "base/util.h"

static char *update(const char *old, const char *host, const char *dir, const char *node) {
        struct envfile e = { .docker_host = (char *) host, .data_dir = (char *) dir, .node = (char *) node };
        char *text = NULL;
        assert_int_equal(envfile_update_text(old, &e, &text), 0);
        return text;
}

static void parse(const char *text, struct envfile *e) {
        assert_int_equal(envfile_parse(text, strlen(text), e), 0);
}

static void a_new_file_has_a_header_and_our_keys(void **state) {
        _cleanup_free_ char *t = update(NULL, "tcp://10.96.0.12:2375", "/mnt/k8s/docker", "node1");
        assert_string_equal(t, "# Written by dind-cache install; read by dind-cache-check.service.\n"
                               "DOCKER_HOST=tcp://10.96.0.12:2375\n"
                               "DIND_CACHE_DATA_DIR=/mnt/k8s/docker\n"
                               "DIND_CACHE_NODE=node1\n");
}

static void other_lines_are_kept_and_ours_replaced_in_place(void **state) {
        const char *old = "# mine\nDIND_CACHE_DISK_WARN=70\n  DOCKER_HOST = tcp://old:2375\nX=1\n"
                          "DOCKER_HOST=tcp://dup:2375\nDOCKER_HOSTNAME=keep\n";
        _cleanup_free_ char *t = update(old, "tcp://new:2375", NULL, "n2");
        assert_string_equal(t, "# mine\nDIND_CACHE_DISK_WARN=70\nDOCKER_HOST=tcp://new:2375\nX=1\n"
                               "DOCKER_HOSTNAME=keep\nDIND_CACHE_NODE=n2\n");
}

static void null_keys_are_left_as_they_are(void **state) {
        const char *old = "DOCKER_HOST=tcp://10.0.0.9:2375\nDIND_CACHE_NODE=a\n";
        _cleanup_free_ char *t = update(old, NULL, "/d", "b");
        assert_string_equal(t, "DOCKER_HOST=tcp://10.0.0.9:2375\nDIND_CACHE_NODE=b\nDIND_CACHE_DATA_DIR=/d\n");
}

static void awkward_values_are_quoted_and_read_back(void **state) {
        static const char *const values[] = {
                "/mnt/with space", "/mnt/$HOME", "/mnt/\"q\"", "/mnt/back\\slash", "/mnt/`x`", "", "a'b", "#x",
        };
        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                _cleanup_free_ char *t = update(NULL, NULL, values[i], NULL);
                struct envfile e = {};
                parse(t, &e);
                if (!streq(e.data_dir, values[i]))
                        fail_msg("'%s' read back as '%s' from %s", values[i], e.data_dir, t);
                envfile_done(&e);
        }
}

static void control_characters_are_refused(void **state) {
        struct envfile e = { .data_dir = (char *) "/mnt/a\nDOCKER_HOST=tcp://evil:2375" };
        char *text = NULL;
        assert_int_equal(envfile_update_text(NULL, &e, &text), -EINVAL);
        assert_null(text);
        e.data_dir = (char *) "/mnt/\x1b[2J";
        assert_int_equal(envfile_update_text(NULL, &e, &text), -EINVAL);
}

static void parsing_follows_systemd(void **state) {
        struct envfile e = {};
        parse("# DOCKER_HOST=commented\n; DIND_CACHE_NODE=also\n"
              "DOCKER_HOST=first\nDOCKER_HOST='tcp://10.1.2.3:2375'  \n"
              "DIND_CACHE_DATA_DIR=  /mnt/a\\ b   \n"
              "DIND_CACHE_NODE=\"n\\\"1\"", &e);
        assert_string_equal(e.docker_host, "tcp://10.1.2.3:2375");
        assert_string_equal(e.data_dir, "/mnt/a b");
        assert_string_equal(e.node, "n\"1");
        envfile_done(&e);

        parse("", &e);
        assert_null(e.docker_host);
        assert_null(e.data_dir);
        parse("DOCKER_HOST=\"unterminated\nDIND_CACHE_NODE=x", &e); /* never crashes */
        envfile_done(&e);
}

static char *parse_node(const char *text) {
        struct envfile e = {};
        char *v;
        assert_int_equal(envfile_parse(text, strlen(text), &e), 0);
        v = e.node;
        e.node = NULL;
        envfile_done(&e);
        return v;
}

static void reader_follows_systemd_on_crlf_backslashes_and_mid_value_quotes(void **state) {
        static const struct { const char *text, *node; } cases[] = {
                { "DIND_CACHE_NODE=a\r\nX=1\r\n", "a" },                    /* CR ends the line */
                { "DIND_CACHE_NODE=\"a\\b\\\\c\\$d\"", "a\\b\\c$d" },        /* \b kept, \\ and \$ not */
                { "DIND_CACHE_NODE=\"a\\\nb\"", "ab" },                      /* escaped newline vanishes */
                { "DIND_CACHE_NODE=a\"b\"c", "a\"b\"c" },                    /* a quote mid-value is literal */
                { "DIND_CACHE_NODE=\"a\"  'b'c  ", "abc" },                  /* the value goes on after quotes */
                { "DIND_CACHE_NODE='a\nb'", "a\nb" },                        /* quotes span lines */
                { "DIND_CACHE_NODE=x\n# c\rDIND_CACHE_NODE=y", "y" },        /* CR ends a comment */
                { "DIND_CACHE_NODE=x\n# c\\\n# DIND_CACHE_NODE=y", "x" },    /* a comment goes on after \ */
                { "DIND_CACHE_NODE=x\nY=z\\\nDIND_CACHE_NODE=y", "x" },      /* so does a value */
                { "  DIND_CACHE_NODE \t= \t v w \t", "v w" },
                { "DIND_CACHE_NODE=\"x\\", "x" },                            /* ends in an escape */
                { "DIND_CACHE_NODE=a\0DIND_CACHE_NODE=b", "a" },             /* a NUL ends the text */
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *v = parse_node(cases[i].text);
                if (!v || !streq(v, cases[i].node))
                        fail_msg("case %zu: '%s' instead of '%s'", i, v ?: "(unset)", cases[i].node);
        }
}

static void invalid_utf8_refuses_the_file_as_systemd_does(void **state) {
        struct envfile e = {};
        char *text = NULL;
        assert_int_equal(envfile_parse("A=\xff\n", 5, &e), -EBADMSG);
        assert_int_equal(envfile_update_text("X\xc3=1\n", &(struct envfile) { .node = (char *) "n" }, &text),
                         -EBADMSG);
        assert_null(text);
        assert_int_equal(envfile_parse("# \xff in a comment is fine\n", 25, &e), 0);
        envfile_done(&e);
}

/* systemd 252 refuses a file with a NUL anywhere (the unit does not start): the reader
 * must not read the assignments before it as if they were set (found by fuzz-envfile,
 * seed regress-nul-refuses-the-file). */
static void a_nul_refuses_the_file_as_systemd_does(void **state) {
        static const char text[] = "DIND_CACHE_NODE=n\n\0DOCKER_HOST=tcp://after-nul:2375\n";
        struct envfile e = {};
        assert_int_equal(envfile_parse(text, sizeof(text) - 1, &e), -EBADMSG);
        assert_null(e.node);
        assert_int_equal(envfile_parse("DIND_CACHE_NODE=n\0", 18, &e), -EBADMSG);
        assert_int_equal(envfile_parse(text, 18, &e), 0);      /* the text before it alone */
        assert_string_equal(e.node, "n");
        envfile_done(&e);
}

/* systemd 254 (Debian 13) ends a comment at a line break its trailing backslash
 * escapes; 252 (Debian 12) carries the comment on. A file the two would read
 * differently is refused naming the lines (written back by 252's rules, the service on
 * 254 lost the assignment); one they read alike is read and written as before. */
static void comments_two_systemd_versions_read_differently_are_refused(void **state) {
        static const struct { const char *text; unsigned comment, read_twice; } refused[] = {
                { "# note \\\nDOCKER_HOST=tcp://hidden:2375\n", 1, 2 },
                { "DIND_CACHE_NODE=x\n# c\\\nDIND_CACHE_NODE=y", 2, 3 },
                { "# a \\\nfoo \\\nBAR=1\n", 1, 3 },                   /* carried on by a line that is no comment */
                { "# a \\\n# b \\\n\nX=1\n# c \\\nY=\"open\nZ=1\n", 5, 6 },    /* the first that matters */
                { "# c \\\rX=1", 1, 2 },                                  /* CR is a line break too */
                { "X=1\n# c \\\nX=2\n", 2, 3 },
                { "# c \\\nK=\xff\n", 1, 2 },                             /* 254 refuses the file, 252 not */
        };
        static const char *const alike[] = {
                "# a \\\n# b\nX=1\n", "# a \\\n\nX=1\n", "# a \\\nX=1\nX=1\n", "# a \\\nno assignment\n",
                "# c \\", "# c \\ \nX=1\n", "# c \\\\\nX=1\n",
                "# c \\\r\nX=1\n",                                        /* 252 escapes the CR, LF ends it */
                "# c \\\n1X=2\n", " ;=\\\n `=#='\"",                        /* names systemd drops */
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                struct envfile e = {};
                char *text = NULL, *want = NULL;
                _cleanup_free_ char *why = NULL;
                assert_int_equal(envfile_parse(refused[i].text, strlen(refused[i].text), &e), -EBADMSG);
                assert_int_equal(envfile_update_text(refused[i].text, &(struct envfile) { .node = (char *) "n" },
                                                     &text), -EBADMSG);
                assert_null(text);
                why = envfile_explain(refused[i].text, strlen(refused[i].text));
                want = strdup_printf("line %u: a comment that ends in a backslash runs on, for systemd 252 "
                                     "(Debian 12), over line %u,", refused[i].comment, refused[i].read_twice);
                if (!why || strncmp(why, want, strlen(want)) != 0)
                        fail_msg("case %zu: '%s'", i, why ?: "(none)");
                free(want);
        }
        for (size_t i = 0; i < ELEMENTSOF(alike); i++) {
                struct envfile e = {};
                _cleanup_free_ char *t = NULL;
                assert_int_equal(envfile_parse(alike[i], strlen(alike[i]), &e), 0);
                assert_null(envfile_explain(alike[i], strlen(alike[i])));
                envfile_done(&e);
                t = update(alike[i], "tcp://h:1", NULL, NULL);
                /* What is written has no comment that ends in a backslash. */
                assert_null(strstr(t, "\\\n"));
        }
}

static void refusals_name_the_line(void **state) {
        _cleanup_free_ char *nul = envfile_explain("A=1\r\nB=2\n\0C=3", 13);
        _cleanup_free_ char *utf8 = envfile_explain("A=1\n\nK\x1b=\xff\n", 10);
        assert_string_equal(nul, "line 3 holds a NUL byte, for which systemd refuses the whole file");
        assert_string_equal(utf8, "line 3: the assignment of 'K\\e' is not valid UTF-8, for which systemd "
                                  "refuses the whole file");
        assert_null(envfile_explain("A=1\n", 4));
}

/* The file install writes: whatever the old text held, systemd reads our values, and
 * the kept keys keep the value systemd read before. */
static void our_keys_survive_lines_that_swallow_the_next(void **state) {
        static const char *const olds[] = {
                "X=a\\\n",                                              /* ends in a backslash */
                "X=a\\",
                "X=\"open\n",                                           /* an open quote */
                "X='open",
                "X=\"multi\nDOCKER_HOST=tcp://evil:2375\n\"\n",         /* inside another value */
                "# comment \\\n# DOCKER_HOST=tcp://hidden:2375\n",      /* a continued comment */
                "# comment \\\nX=1\nX=1\n",                             /* read alike by 252 and 254 */
                "# comment \\",
                "DOCKER_HOST=old\r\nX=1\r",
                "garbage",
        };
        for (size_t i = 0; i < ELEMENTSOF(olds); i++) {
                for (int keep = 0; keep < 2; keep++) {
                        _cleanup_free_ char *old = strdup_printf("DIND_CACHE_DATA_DIR=\"/kept dir\"\n%s", olds[i]);
                        _cleanup_free_ char *t = update(old, "tcp://10.96.0.12:2375", keep ? NULL : "/d", "n");
                        struct envfile e = {};
                        parse(t, &e);
                        if (!e.docker_host || !streq(e.docker_host, "tcp://10.96.0.12:2375") ||
                            !e.node || !streq(e.node, "n") ||
                            !e.data_dir || !streq(e.data_dir, keep ? "/kept dir" : "/d"))
                                fail_msg("from %s wrote %s", olds[i], t);
                        envfile_done(&e);
                }
        }
}

static void other_assignments_are_written_back_as_systemd_read_them(void **state) {
        /* DIND_CACHE_DATA_DIR is kept (NULL): its value must not change by normalising. */
        static const char *const values[] = {
                "DIND_CACHE_DATA_DIR=\"a\nb\"", "DIND_CACHE_DATA_DIR='x\\y'", "DIND_CACHE_DATA_DIR=a\"b\" c  ",
                "DIND_CACHE_DATA_DIR=\"q\\q\\\"\\$\"", "DIND_CACHE_DATA_DIR=  \\  x\\\ny",
                "DIND_CACHE_DATA_DIR=\"\\`\"'#'", "DIND_CACHE_DATA_DIR=\"tab\there\r\"",
        };
        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                _cleanup_free_ char *t = update(values[i], "tcp://h:1", NULL, NULL);
                struct envfile before = {}, after = {};
                parse(values[i], &before);
                parse(t, &after);
                if (!streq(before.data_dir, after.data_dir))
                        fail_msg("'%s' became '%s' through %s", before.data_dir, after.data_dir, t);
                envfile_done(&before);
                envfile_done(&after);
        }
}

static void the_administrators_metrics_directory_is_read_and_kept(void **state) {
        const char *old = "DOCKER_HOST=tcp://h:2375\nDIND_CACHE_TEXTFILE_DIR=\"/srv/metrics\"\n";
        _cleanup_free_ char *t = update(old, "tcp://new:2375", "/d", "n");
        struct envfile e = {};

        /* install never sets it: the administrator's value stays (in the normal form). */
        assert_non_null(strstr(t, "\nDIND_CACHE_TEXTFILE_DIR=/srv/metrics\n"));
        parse(t, &e);
        assert_string_equal(e.textfile_dir, "/srv/metrics");
        envfile_done(&e);
        parse("DIND_CACHE_TEXTFILE_DIR=\n", &e);
        assert_string_equal(e.textfile_dir, "");
        envfile_done(&e);
}

static void written_atomically_with_mode_0644(void **state) {
        char dir[] = "/tmp/test-envfile-XXXXXX";
        _cleanup_free_ char *path = NULL, *cmd = NULL;
        struct envfile e = { .docker_host = (char *) "tcp://10.96.0.1:2375", .data_dir = (char *) "/d",
                             .node = (char *) "n" }, back = {};
        struct stat st;

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/etc/dind-cache/dind-cache.env", dir);
        assert_int_equal(envfile_read(path, &back), -ENOENT);
        assert_int_equal(envfile_write(path, &e), 1);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(envfile_write(path, &e), 0); /* the same: untouched */
        /* An administrator's stricter mode stays; a looser one is not kept. */
        assert_int_equal(chmod(path, 0600), 0);
        e.node = (char *) "n2";
        assert_int_equal(envfile_write(path, &e), 1);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(chmod(path, 0666), 0);
        e.node = (char *) "n";
        assert_int_equal(envfile_write(path, &e), 1);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(envfile_read(path, &back), 0);
        assert_string_equal(back.docker_host, "tcp://10.96.0.1:2375");
        assert_string_equal(back.data_dir, "/d");
        assert_string_equal(back.node, "n");
        envfile_done(&back);
        cmd = strdup_printf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

static void tls_keys_are_written_and_emptied_for_plaintext(void **state) {
        struct envfile tls = { .docker_host = "tcp://10.96.0.12:2376", .tls_verify = "1",
                               .cert_path = "/etc/dind-cache/pki/checker" };
        struct envfile plain = { .docker_host = "tcp://10.96.0.12:2375", .tls_verify = "", .cert_path = "" };
        _cleanup_free_ char *a = NULL, *b = NULL;
        struct envfile e = {};

        assert_int_equal(envfile_update_text("DIND_CACHE_NODE=n1\n", &tls, &a), 0);
        assert_string_equal(a, "DIND_CACHE_NODE=n1\nDOCKER_HOST=tcp://10.96.0.12:2376\nDOCKER_TLS_VERIFY=1\n"
                               "DOCKER_CERT_PATH=/etc/dind-cache/pki/checker\n");
        parse(a, &e);
        assert_string_equal(e.tls_verify, "1");
        assert_string_equal(e.cert_path, "/etc/dind-cache/pki/checker");
        envfile_done(&e);

        /* --plaintext: empty values, which the Docker CLI and the checker read as unset. */
        assert_int_equal(envfile_update_text(a, &plain, &b), 0);
        parse(b, &e);
        assert_string_equal(e.docker_host, "tcp://10.96.0.12:2375");
        assert_string_equal(e.tls_verify, "");
        assert_string_equal(e.cert_path, "");
        envfile_done(&e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(tls_keys_are_written_and_emptied_for_plaintext),
                cmocka_unit_test(a_new_file_has_a_header_and_our_keys),
                cmocka_unit_test(other_lines_are_kept_and_ours_replaced_in_place),
                cmocka_unit_test(null_keys_are_left_as_they_are),
                cmocka_unit_test(awkward_values_are_quoted_and_read_back),
                cmocka_unit_test(control_characters_are_refused),
                cmocka_unit_test(parsing_follows_systemd),
                cmocka_unit_test(reader_follows_systemd_on_crlf_backslashes_and_mid_value_quotes),
                cmocka_unit_test(invalid_utf8_refuses_the_file_as_systemd_does),
                cmocka_unit_test(a_nul_refuses_the_file_as_systemd_does),
                cmocka_unit_test(our_keys_survive_lines_that_swallow_the_next),
                cmocka_unit_test(comments_two_systemd_versions_read_differently_are_refused),
                cmocka_unit_test(refusals_name_the_line),
                cmocka_unit_test(other_assignments_are_written_back_as_systemd_read_them),
                cmocka_unit_test(the_administrators_metrics_directory_is_read_and_kept),
                cmocka_unit_test(written_atomically_with_mode_0644),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
