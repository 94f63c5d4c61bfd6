/* SPDX-License-Identifier: MIT */
/* Unit names by systemd's path escaping (known answers of systemd-escape --path, and
 * systemd-escape itself when installed), mount unit text, unit file writes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "systemd/units.h"
#include "base/unit-name.h"
#include "base/util.h"

/* Answers of `systemd-escape --path --suffix=mount` (systemd 252). */
static const struct {
        const char *path, *name;
} known[] = {
        { "/mnt/k8s/docker", "mnt-k8s-docker.mount" },
        { "/", "-.mount" },
        { "//", "-.mount" },
        { "/mnt/x/", "mnt-x.mount" },
        { "//a//b/", "a-b.mount" },
        { "/a/./b", "a-b.mount" },
        { "/a-b", "a\\x2db.mount" },
        { "/-", "\\x2d.mount" },
        { "/a b", "a\\x20b.mount" },
        { "/\xc3\xa9t\xc3\xa9/x", "\\xc3\\xa9t\\xc3\\xa9-x.mount" },
        { "/.hidden", "\\x2ehidden.mount" },
        { "/a/.b", "a-.b.mount" },
        { "/a\\b", "a\\x5cb.mount" },
        { "/a:b_c.d", "a:b_c.d.mount" },
        { "/srv/data%1", "srv-data\\x251.mount" },
        { "a/b", "a-b.mount" },
};

static void names_match_systemd_escape_known_answers(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(known); i++) {
                _cleanup_free_ char *name = NULL;
                assert_int_equal(unit_name_from_path(known[i].path, ".mount", &name), 0);
                assert_string_equal(name, known[i].name);
        }
}

static void other_suffixes_are_kept(void **state) {
        _cleanup_free_ char *name = NULL;
        assert_int_equal(unit_name_from_path("/var/lib/x", ".automount", &name), 0);
        assert_string_equal(name, "var-lib-x.automount");
}

static void dot_dot_and_bad_arguments_are_refused(void **state) {
        char *name = (char *) "untouched";
        assert_int_equal(unit_name_from_path("/a/../b", ".mount", &name), -EINVAL);
        assert_int_equal(unit_name_from_path("/..", ".mount", &name), -EINVAL);
        assert_int_equal(unit_name_from_path("", ".mount", &name), -EINVAL);
        assert_int_equal(unit_name_from_path("/a", "mount", &name), -EINVAL);
        assert_int_equal(unit_name_from_path("/a", ".mo.unt", &name), -EINVAL);
        assert_string_equal(name, "untouched");
}

static void overlong_names_are_refused(void **state) {
        char path[300];
        char *name = NULL;

        path[0] = '/';
        memset(path + 1, 'a', sizeof(path) - 2);
        path[sizeof(path) - 1] = '\0';
        assert_int_equal(unit_name_from_path(path, ".mount", &name), -ENAMETOOLONG);
        /* 70 bytes that each escape to four: 280 > 255. */
        memset(path + 1, '-', 70);
        path[71] = '\0';
        assert_int_equal(unit_name_from_path(path, ".mount", &name), -ENAMETOOLONG);
        assert_null(name);
}

/* Runs systemd-escape --path --suffix=mount PATH; NULL when it is not installed or
 * refuses the path. */
static char *systemd_escape(const char *path) {
        int fds[2];
        char buf[1024];
        ssize_t n, total = 0;
        pid_t pid;
        int status;

        if (access("/usr/bin/systemd-escape", X_OK) < 0 || pipe2(fds, O_CLOEXEC) < 0)
                return NULL;
        pid = fork();
        if (pid < 0)
                return NULL;
        if (pid == 0) {
                int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
                dup2(fds[1], 1);
                if (devnull >= 0)
                        dup2(devnull, 2);
                execl("/usr/bin/systemd-escape", "systemd-escape", "--path", "--suffix=mount", "--", path,
                      (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        while ((n = read(fds[0], buf + total, sizeof(buf) - 1 - (size_t) total)) > 0)
                total += n;
        close(fds[0]);
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return NULL;
        buf[total] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return strdup(buf);
}

static void names_match_systemd_escape_itself(void **state) {
        static const char *const paths[] = {
                "/mnt/k8s/docker", "/", "/a-b/c--d", "/with space/x", "/\xc3\xa9t\xc3\xa9",
                "/trailing/", "/.dot/.x", "/tab\there", "/q\"uote'", "/~user/[x]{y}", "/a+b=c,d@e",
                "/mnt/disk#1/$HOME",
        };
        unsigned compared = 0;

        if (access("/usr/bin/systemd-escape", X_OK) < 0)
                skip();
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_free_ char *expected = systemd_escape(paths[i]), *name = NULL;
                if (!expected)
                        continue;
                assert_int_equal(unit_name_from_path(paths[i], ".mount", &name), 0);
                assert_string_equal(name, expected);
                compared++;
        }
        assert_int_equal(compared, ELEMENTSOF(paths));
}

static void mount_unit_has_what_where_type_options_and_install(void **state) {
        _cleanup_free_ char *text = NULL;

        assert_int_equal(mount_unit_text("/dev/disk/by-uuid/6ad4c946-7316-4c25-bd45-9cd0dd22691c",
                                         "/mnt/k8s/docker", "xfs", "defaults,noatime", &text), 0);
        assert_non_null(strstr(text, "\n[Mount]\n"
                                     "What=/dev/disk/by-uuid/6ad4c946-7316-4c25-bd45-9cd0dd22691c\n"
                                     "Where=/mnt/k8s/docker\n"
                                     "Type=xfs\n"
                                     "Options=defaults,noatime\n"));
        assert_non_null(strstr(text, "[Unit]\nDescription="));
        assert_non_null(strstr(text, "\n[Install]\nWantedBy=local-fs.target\n"));
}

static void mount_unit_text_is_the_same_every_time(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        assert_int_equal(mount_unit_text("/dev/vdb", "/srv/x", "xfs", NULL, &a), 0);
        assert_int_equal(mount_unit_text("/dev/vdb", "/srv/x", "xfs", NULL, &b), 0);
        assert_string_equal(a, b);
        assert_non_null(strstr(a, "Options=defaults\n"));
}

static void mount_unit_escapes_specifiers_and_refuses_newlines(void **state) {
        _cleanup_free_ char *text = NULL;
        char *untouched = NULL;

        assert_int_equal(mount_unit_text("/dev/vdb", "/srv/100%", "xfs", NULL, &text), 0);
        assert_non_null(strstr(text, "Where=/srv/100%%\n"));
        assert_int_equal(mount_unit_text("/dev/vdb", "/srv/x\nExecStart=/bin/sh", "xfs", NULL, &untouched),
                         -EINVAL);
        assert_int_equal(mount_unit_text("/dev/vdb", "/srv/x\\", "xfs", NULL, &untouched), -EINVAL);
        assert_int_equal(mount_unit_text("/dev/vdb", "relative", "xfs", NULL, &untouched), -EINVAL);
        assert_int_equal(mount_unit_text("", "/srv", "xfs", NULL, &untouched), -EINVAL);
        assert_null(untouched);
}

static void unit_file_write_says_whether_it_wrote(void **state) {
        char dir[] = "/tmp/test-units-XXXXXX";
        _cleanup_free_ char *path = NULL;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        path = strdup_printf("%s/x.mount", dir);
        assert_int_equal(unit_file_write(dir, "x.mount", "[Mount]\n"), 1);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(unit_file_write(dir, "x.mount", "[Mount]\n"), 0);
        assert_int_equal(unit_file_same(dir, "x.mount", "[Mount]\n"), 1);
        assert_int_equal(unit_file_same(dir, "x.mount", "[Mount]\nWhat=/dev/vdb\n"), 0);
        assert_int_equal(unit_file_same(dir, "y.mount", "[Mount]\n"), 0);
        assert_int_equal(unit_file_write(dir, "x.mount", "[Mount]\nWhat=/dev/vdb\n"), 1);
        assert_int_equal(unit_file_write(dir, "../x.mount", "[Mount]\n"), -EINVAL);
        assert_int_equal(unit_file_remove(dir, "x.mount"), 1);
        assert_int_equal(unit_file_remove(dir, "x.mount"), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(names_match_systemd_escape_known_answers),
                cmocka_unit_test(other_suffixes_are_kept),
                cmocka_unit_test(dot_dot_and_bad_arguments_are_refused),
                cmocka_unit_test(overlong_names_are_refused),
                cmocka_unit_test(names_match_systemd_escape_itself),
                cmocka_unit_test(mount_unit_has_what_where_type_options_and_install),
                cmocka_unit_test(mount_unit_text_is_the_same_every_time),
                cmocka_unit_test(mount_unit_escapes_specifiers_and_refuses_newlines),
                cmocka_unit_test(unit_file_write_says_whether_it_wrote),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
