/* SPDX-License-Identifier: MIT */
/* dind-cache authz: the authorization plugin of the shared daemon, served on the socket
 * dind-cache-authz.socket passes (or one made with --socket), until SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "authz/plugin.h"
#include "authz/policy.h"
#include "authz/server.h"
#include "base/log.h"
#include "base/text.h"
#include "cmd/cmd.h"
#include "metrics/textfile.h"
#include "systemd/journal-authz.h"
#include "systemd/journal.h"

#define FLUSH_INTERVAL_MS 10000
#define DRAIN_MS 1000

static const char *arg_socket;
static const char *arg_state_dir;
static bool arg_policy;

static void usage(void) {
        printf("Usage: dind-cache authz [--socket PATH] [--state-dir DIR]\n"
               "       dind-cache authz --policy\n"
               "\n"
               "The authorization plugin of the shared Docker daemon (%s): dockerd asks it\n"
               "before and after every API call, and it allows what the policy table allows\n"
               "to the caller its client certificate names. Runs until SIGTERM, on the socket\n"
               "dind-cache-authz.socket passes it.\n"
               "\n"
               "Options:\n"
               "      --socket PATH     listen on a unix socket made at PATH (by hand, for tests)\n"
               "      --state-dir DIR   ownership, deny list and counters (default\n"
               "                        $STATE_DIRECTORY, else %s)\n"
               "      --policy          print the policy table (Markdown) and exit\n"
               "  -h, --help            show this help\n"
               "\n"
               "Settings (environment):\n"
               "  DIND_CACHE_TEXTFILE_DIR   where to write dind_cache_authz.prom for node_exporter\n"
               "                            (default %s if it exists; empty: none)\n",
               AUTHZ_PLUGIN_NAME, AUTHZ_DEFAULT_STATE_DIR, METRICS_DEFAULT_DIR);
}

/* <0 error, 0 done (--help), >0 go on. */
static int parse_argv(int argc, char **argv) {
        enum { ARG_SOCKET = 0x100, ARG_STATE_DIR, ARG_POLICY };
        static const struct option options[] = {
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "policy", no_argument, NULL, ARG_POLICY },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        usage();
                        return 0;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_POLICY:
                        arg_policy = true;
                        break;
                default:
                        fprintf(stderr, "dind-cache authz: unknown option or missing value '%s' "
                                "(try 'dind-cache authz --help')\n", argv[optind - 1]);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "dind-cache authz: unexpected argument '%s' (try 'dind-cache authz --help')\n",
                        argv[optind]);
                return -EINVAL;
        }
        if ((arg_socket && arg_socket[0] != '/') || (arg_state_dir && arg_state_dir[0] != '/')) {
                fprintf(stderr, "dind-cache authz: --socket and --state-dir take absolute paths\n");
                return -EINVAL;
        }
        return 1;
}

/* A listening unix socket at PATH (a stale socket there is replaced), mode 0600. */
static int listen_at(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(-ENAMETOOLONG, "socket path '%s' is too long", path);
        strcpy(sa.sun_path, path);
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
                (void) unlink(path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(-errno, "cannot make a socket: %m");
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || listen(fd, 128) < 0)
                return log_error_errno(-errno, "cannot listen on '%s': %m", path);
        return TAKE_FD(fd);
}

static int listening_fd(void) {
        int n;

        if (arg_socket)
                return listen_at(arg_socket);
        n = sd_listen_fds(true);
        if (n < 0)
                return log_error_errno(n, "cannot read the sockets systemd passed: %m");
        if (n != 1 || sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
                log_error("no listening unix socket to serve: start dind-cache-authz.socket, or give --socket PATH");
                return -EBADF;
        }
        return SD_LISTEN_FDS_START;
}

/* --state-dir, else systemd's StateDirectory= (the first of a list), else the default. */
static char *state_dir(void) {
        const char *env = getenv("STATE_DIRECTORY");

        if (arg_state_dir)
                return strdup(arg_state_dir);
        if (!isempty(env) && env[0] == '/')
                return strndup(env, strcspn(env, ":"));
        return strdup(AUTHZ_DEFAULT_STATE_DIR);
}

struct serving {
        struct authz_plugin *plugin;
        bool journal;
        int owners_error;
};

static void log_refusal(const struct serving *s, const struct authz_event *e) {
        int r = -ENOTCONN;

        if (s->journal)
                r = journal_send_authz_refusal(&(struct journal_authz_refusal) {
                        .message = e->message, .tenant = e->tenant, .serial = e->serial,
                        .rule = e->rule, .method = e->method, .path = e->path });
        if (r < 0)
                log_warning("refused %s %s for %s: %s", e->method, e->path, e->tenant, e->message);
}

static int on_call(void *userdata, const char *path, const char *body, size_t size, int *ret_status,
                   char **ret_reply) {
        struct serving *s = userdata;
        struct authz_event e = {};
        int r;

        r = authz_plugin_handle(s->plugin, path, body, size, ret_status, ret_reply, &e);
        if (r >= 0 && e.message)
                log_refusal(s, &e);
        authz_event_done(&e);
        if (s->plugin->owners_error != s->owners_error) {
                s->owners_error = s->plugin->owners_error;
                if (s->owners_error < 0)
                        log_warning_errno(s->owners_error, "cannot save container ownership (it is kept in "
                                          "memory until a write works): %m");
        }
        if (r < 0)
                log_error_errno(r, "cannot answer a call of dockerd: %m");
        return r;
}

static uint64_t now_ms(void) {
        return now_usec() / 1000;
}

static void flush(struct authz_plugin *p, const char *metrics_dir) {
        int r = authz_plugin_flush(p, metrics_dir);

        if (r < 0)
                log_warning_errno(r, "cannot write the plugin's counters: %m");
}

static int signal_fd(void) {
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        signal(SIGPIPE, SIG_IGN);
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? -errno : fd;
}

/* Serves until SIGTERM or SIGINT, then drains: each open connection is closed after
 * its next answer, for at most DRAIN_MS. */
static int serve(struct authz_server *srv, struct authz_plugin *p, const char *metrics_dir, int sig) {
        _cleanup_close_ int ep = epoll_create1(EPOLL_CLOEXEC);
        uint64_t next_flush = now_ms() + FLUSH_INTERVAL_MS, stop_at = 0;
        struct epoll_event ev = { .events = EPOLLIN };
        int r;

        if (ep < 0)
                return -errno;
        ev.data.fd = authz_server_fd(srv);
        if (epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
                return -errno;
        ev.data.fd = sig;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, sig, &ev) < 0)
                return -errno;
        for (;;) {
                int timeout = authz_server_timeout_ms(srv), n;
                uint64_t now = now_ms(), due = stop_at ? stop_at : next_flush;
                struct epoll_event got[2];

                if (stop_at && (now >= stop_at || authz_server_connections(srv) == 0))
                        return 0;
                if (timeout < 0 || (uint64_t) timeout > (due > now ? due - now : 0))
                        timeout = (int) (due > now ? due - now : 0);
                n = epoll_wait(ep, got, 2, timeout);
                if (n < 0 && errno != EINTR)
                        return -errno;
                for (int i = 0; i < n; i++)
                        if (got[i].data.fd == sig && !stop_at) {
                                struct signalfd_siginfo si;
                                (void) !read(sig, &si, sizeof(si));
                                (void) sd_notify(false, "STOPPING=1");
                                if ((r = authz_server_drain(srv)) < 0)
                                        log_warning_errno(r, "cannot stop accepting connections: %m");
                                stop_at = now_ms() + DRAIN_MS;
                        }
                if ((r = authz_server_run(srv)) < 0)
                        return r;
                if (now_ms() >= next_flush) {
                        flush(p, metrics_dir);
                        next_flush = now_ms() + FLUSH_INTERVAL_MS;
                }
        }
}

static int run(void) {
        _cleanup_free_ char *dir = state_dir(), *metrics_dir = NULL;
        _cleanup_close_ int sig = -1;
        struct serving s = { .journal = journal_available() };
        struct authz_server *srv = NULL;
        int fd, r;

        if (!dir)
                return log_error_errno(-ENOMEM, "out of memory");
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "cannot make the state directory '%s': %m", dir);
        r = authz_plugin_new(dir, &s.plugin);
        if (r < 0)
                return log_error_errno(r, "cannot read the plugin's state in '%s': %m", dir);
        if (s.plugin->owners->n_bad > 0)
                log_warning("skipped %zu unreadable lines of '%s/%s'", s.plugin->owners->n_bad, dir, OWNERS_FILE);
        (void) cmd_metrics_dir(&metrics_dir);
        sig = signal_fd();
        fd = sig < 0 ? sig : listening_fd();
        if (fd >= 0 && (r = authz_server_new(fd, on_call, &s, &srv)) < 0) {
                log_error_errno(r, "cannot serve the plugin's socket");
                close(fd);
                fd = r;
        }
        if (fd >= 0) {
                (void) sd_notifyf(false, "READY=1\nSTATUS=serving %s", AUTHZ_PLUGIN_NAME);
                r = serve(srv, s.plugin, metrics_dir, sig);
                if (r < 0)
                        log_error_errno(r, "the plugin's server failed: %m");
                authz_server_free(srv);
                flush(s.plugin, metrics_dir);
        } else
                r = sig < 0 ? log_error_errno(sig, "cannot handle signals: %m") : fd;
        authz_plugin_free(s.plugin);
        return r;
}

int cmd_authz(int argc, char **argv) {
        int r = parse_argv(argc, argv);

        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        if (arg_policy) {
                r = policy_print_markdown(stdout);
                return r < 0 || fflush(stdout) != 0 ? 1 : 0;
        }
        return run() < 0 ? 1 : 0;
}
