/* SPDX-License-Identifier: MIT */
/* dind-cache prune [--dry-run] [--json] [--no-journal]: keeps the data filesystem under
 * its watermarks, what the prune timer runs. Exit status: 0 under HIGH at the end (or
 * nothing to do), 1 still above HIGH with nothing more allowed to go, 2 the run failed
 * (the daemon is unreachable, an API call failed, or a local error: statfs, the state
 * file, memory, the report), 3 bad settings. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/prune.h"
#include "base/json-util.h"
#include "base/log.h"
#include "base/message-ids.h"
#include "base/settings.h"
#include "base/text.h"

static bool arg_dry_run;
static bool arg_json;
static bool arg_journal = true;

static void usage(void) {
        printf("Usage: dind-cache prune [--dry-run] [--json] [--no-journal]\n"
               "\n"
               "Keeps the cache's filesystem under its watermarks: always removes stopped\n"
               "containers and dangling images older than MIN_AGE; above HIGH trims the build\n"
               "cache, then removes images least recently used first, one at a time, until use\n"
               "is under LOW; above CRIT without the reserve and the MIN_AGE grace. Never an\n"
               "image a container uses. Exit status: 0 under HIGH, 1 still above HIGH, 2 the\n"
               "run failed (daemon unreachable, API or local error), 3 bad settings.\n"
               "\n"
               "Options:\n"
               "      --dry-run     list what would be removed, in order; change nothing\n"
               "      --json        print the run as JSON\n"
               "      --no-journal  do not send the steps to the journal\n"
               "  -h, --help        show this help\n"
               "\n"
               "Settings (environment; the timer reads " SETTINGS_ENV_FILE "):\n"
               "  DOCKER_HOST                 tcp://HOST:PORT or unix:///PATH of the daemon\n"
               "  DOCKER_TLS_VERIFY, DOCKER_CERT_PATH  mutual TLS with the daemon, as for check\n"
               "  DIND_CACHE_DATA_DIR         the cache's mount point (default %s)\n"
               "  DIND_CACHE_PRUNE_HIGH/LOW/CRIT  percent used (default 80/70/90)\n"
               "  DIND_CACHE_PRUNE_MIN_AGE    nothing used more recently is removed (default 1h)\n"
               "  DIND_CACHE_PRUNE_RESERVE    percent of the filesystem the build cache keeps (10)\n"
               "  DIND_CACHE_PRUNE_STATE      last-use state file (default %s)\n"
               "  DIND_CACHE_TIMEOUT          each daemon call (default 60s)\n",
               SETTINGS_DEFAULT_DATA_DIR, SETTINGS_DEFAULT_PRUNE_STATE);
}

static int parse_argv(int argc, char **argv) {
        enum { ARG_DRY_RUN = 0x100, ARG_JSON, ARG_NO_JOURNAL };
        static const struct option options[] = {
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-journal", no_argument, NULL, ARG_NO_JOURNAL },
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
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_JOURNAL:
                        arg_journal = false;
                        break;
                default:
                        fprintf(stderr, "dind-cache prune: unknown option '%s' (try 'dind-cache prune --help')\n",
                                argv[optind - 1]);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "dind-cache prune: unexpected argument '%s' (try 'dind-cache prune --help')\n",
                        argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* The settings and the use now: 0, or the exit status. */
static int read_settings(struct prune_run *r) {
        _cleanup_(check_list_done) struct check_list problems = {};
        int q;

        q = node_settings_read_prune(NULL, &r->s, &problems);
        if (q == -EINVAL) {
                const char *problem = problems.items[0].message;
                _cleanup_free_ char *msg = strdup_printf("dind-cache prune: bad setting: %s", problem);
                log_error("bad setting: %s", problem);
                if (msg)
                        prune_journal(r, msg, LOG_ERR, MID_PRUNE_SETTINGS_INVALID, "settings", false, 0, 0, -1, -1, NULL);
                return EXIT_PRUNE_SETTINGS;
        }
        if (q < 0)
                return log_error_errno(q, "cannot read the settings: %m");
        q = prune_fs_read(r->s.data_dir, &r->p.fs);
        if (q < 0) {
                log_error_errno(q, "cannot read the use of '%s': %m", r->s.data_dir);
                return EXIT_PRUNE_SETTINGS;
        }
        r->use_start = r->p.fs.percent;
        r->fs_known = true;
        return 0;
}

/* The daemon's client (DOCKER_HOST, mutual TLS) and its API version: 0, or the exit
 * status. */
static int connect_daemon(struct prune_run *r) {
        int q;

        q = docker_client_new(&r->s.docker_host, &r->c);
        if (q < 0) {
                log_error_errno(q, "bad setting: DOCKER_HOST='%s': %m", r->s.docker_host.text);
                return EXIT_PRUNE_SETTINGS;
        }
        docker_client_set_timeout(r->c, r->s.timeout_usec);
        if (r->s.cert_path) {
                _cleanup_free_ char *bad_file = NULL;

                q = docker_client_set_tls(r->c, r->s.cert_path, &bad_file);
                if (q == -ENOMEM)
                        return log_error_errno(-ENOMEM, "out of memory: %m");
                if (q < 0 && bad_file) {
                        _cleanup_free_ char *path = text_sanitize_line(bad_file, 256);
                        log_error("bad setting: DOCKER_CERT_PATH: cannot read '%s': %s", path ? path : "?",
                                  file_error_to_string(q));
                        return EXIT_PRUNE_SETTINGS;
                }
                if (q < 0) {
                        _cleanup_free_ char *path = text_sanitize_line(r->s.cert_path, 256);
                        log_error_errno(q, "bad setting: DOCKER_CERT_PATH='%s': %m", path ? path : "?");
                        return EXIT_PRUNE_SETTINGS;
                }
        }
        q = docker_negotiate_version(r->c, r->version);
        if (q < 0)
                return prune_daemon_failed(r, "cannot reach the daemon"), EXIT_PRUNE_DAEMON;
        return 0;
}

static int update_state(struct prune_run *r) {
        _cleanup_(docker_event_list_done) struct docker_event_list events = {};
        struct prune_state *state = &r->state;
        int q;

        q = prune_state_load(r->s.state_path, state);
        if (q == -EBADMSG || q == -EFBIG) {
                log_warning("the state file '%s' is damaged; starting afresh", r->s.state_path);
                *state = (struct prune_state) {};
        } else if (q < 0)
                return log_error_errno(q, "cannot read '%s': %m", r->s.state_path);

        /* The daemon leaves out events later than the whole second UNTIL names, and
         * holds the stream open until then: the next second, to see every event so far. */
        int64_t until = r->now + 1;
        q = docker_get_events(r->c, state->last_run > 0 && state->last_run < until ? state->last_run : 1, until,
                              &events);
        if (q < 0)
                return prune_daemon_failed(r, "cannot read the daemon's events");
        q = prune_state_apply_events(state, &events, &r->images);
        if (q < 0)
                return log_error_errno(q, "out of memory: %m");
        prune_state_forget_gone(state, &r->images);
        state->last_run = until;
        if (r->dry_run)
                return 0;
        q = prune_state_save(r->s.state_path, state);
        if (q < 0)
                log_warning_errno(q, "cannot write '%s': %m", r->s.state_path);
        return 0;
}

/* Asks the ladder for each step and does it, until it says stop. */
static int run_ladder(struct prune_run *r) {
        const struct prune_facts f = {
                .settings = &r->s, .api_version = r->version, .now = r->now, .dry_run = r->dry_run,
                .images = &r->images, .containers = &r->containers, .state = &r->state,
        };
        struct prune_step step;
        int q;

        for (;;) {
                q = prune_next(&f, &r->p, &step);
                if (q < 0)
                        return log_error_errno(q, "out of memory: %m");
                if (step.kind == PRUNE_STEP_STOP)
                        return 0;
                q = prune_run_step(r, &f, &step);
                if (q < 0)
                        return q;
        }
}

static int run(struct prune_run *r) {
        int q;

        q = read_settings(r);
        if (q == 0)
                q = connect_daemon(r);
        if (q != 0)
                return q;
        r->now = (int64_t) time(NULL);

        prune_say(r, "prune: %s %d%% used (high %d%%, low %d%%, crit %d%%), daemon API %s%s", r->s.data_dir,
                  r->p.fs.percent, r->s.high, r->s.low, r->s.crit, r->version, r->dry_run ? ", dry run" : "");

        q = docker_list_images(r->c, &r->images);
        if (q >= 0)
                q = docker_list_containers(r->c, &r->containers);
        if (q < 0)
                return prune_daemon_failed(r, "cannot list images and containers"), EXIT_PRUNE_DAEMON;
        q = update_state(r);
        if (q >= 0)
                q = run_ladder(r);
        if (q < 0)
                return q == -EPROTO ? EXIT_PRUNE_DAEMON : q;
        return prune_finish(r);
}

int cmd_prune(int argc, char **argv) {
        _cleanup_json_ json_t *steps = NULL, *images = NULL;
        struct prune_run r = {};
        int q;

        q = parse_argv(argc, argv);
        if (q <= 0)
                return q < 0 ? EXIT_PRUNE_SETTINGS : 0;
        r.dry_run = arg_dry_run;
        r.json = arg_json;
        r.journal = arg_journal && journal_available();
        if (r.journal && journal_new_run_id(r.run_id) < 0)
                r.run_id[0] = '\0';
        if (arg_json) {
                r.steps = steps = json_array();
                r.images_json = images = json_array();
                if (!steps || !images)
                        return log_error_errno(-ENOMEM, "out of memory: %m"), EXIT_PRUNE_DAEMON;
        }
        q = run(&r);
        q = q < 0 ? EXIT_PRUNE_DAEMON : q;
        prune_write_metrics(&r, q);
        prune_progress_done(&r.p);
        prune_state_done(&r.state);
        docker_container_list_done(&r.containers);
        docker_image_list_done(&r.images);
        docker_client_free(r.c);
        node_settings_done(&r.s);
        return q;
}
