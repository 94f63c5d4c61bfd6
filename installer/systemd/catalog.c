/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "systemd/catalog.h"
#include "base/util.h"

extern char **environ;

int catalog_file_write(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name);
        if (!path)
                return -ENOMEM;
        return write_file_atomic(path, text, strlen(text), 0644);
}

int catalog_file_remove(const char *dir, const char *name) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name);
        if (!path)
                return -ENOMEM;
        /* A write killed before its rename leaves a temporary file: it goes too. */
        if (unlink(path) < 0)
                return errno == ENOENT ? (remove_stale_temps(path) > 0) : -errno;
        (void) remove_stale_temps(path);
        return 1;
}

static const char *const journalctl_paths[] = { "/usr/bin/journalctl", "/bin/journalctl" };

int catalog_update_database(uint64_t timeout_usec, int *ret_status) {
        char *argv[] = { (char *) "journalctl", (char *) "--update-catalog", NULL };
        posix_spawn_file_actions_t actions;
        const char *prog = NULL;
        uint64_t deadline;
        pid_t pid;
        int r, status;

        for (size_t i = 0; i < ELEMENTSOF(journalctl_paths); i++)
                if (access(journalctl_paths[i], X_OK) == 0) {
                        prog = journalctl_paths[i];
                        break;
                }
        if (!prog)
                return -ENOENT;

        /* Its output is of no use to us: both to /dev/null (inherited by the child,
         * so not O_CLOEXEC). */
        r = posix_spawn_file_actions_init(&actions);
        if (r != 0)
                return -r;
        r = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
        if (r == 0)
                r = posix_spawn(&pid, prog, &actions, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        if (r != 0)
                return -r;

        deadline = now_usec() + timeout_usec;
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid)
                        break;
                if (w < 0 && errno != EINTR)
                        return -errno;
                if (now_usec() >= deadline) {
                        kill(pid, SIGKILL);
                        (void) waitpid(pid, &status, 0);
                        return -ETIMEDOUT;
                }
                nanosleep(&(struct timespec) { .tv_nsec = 20 * 1000 * 1000 }, NULL);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (ret_status)
                *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return -EPROTO;
}
