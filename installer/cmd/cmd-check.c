/* SPDX-License-Identifier: MIT */
/* dind-cache check [--json] [--no-journal]: what the timer runs. Settings come from the
 * environment; the exit status follows the monitoring-plugin convention. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "kube/instance.h"
#include "check/health.h"
#include "systemd/journal.h"
#include "base/json-util.h"
#include "base/log.h"
#include "check/report.h"
#include "metrics/textfile.h"

/* The safety net's grace after the run's own deadline, for anything that did not
 * keep it (a filesystem call stuck in the kernel, a stuck journald). */
#define WATCHDOG_GRACE_SEC 5

static bool arg_json;
static bool arg_journal = true;

static char watchdog_line[160];

static void usage(void) {
        printf("Usage: dind-cache check [--json] [--no-journal]\n"
               "\n"
               "Checks the cache disk and the Docker daemon, logs the results to the journal\n"
               "and exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin style).\n"
               "\n"
               "Options:\n"
               "      --json        print the results as JSON\n"
               "      --no-journal  do not send the results to the journal\n"
               "  -h, --help        show this help\n"
               "\n"
               "Settings (environment; the timer reads " SETTINGS_ENV_FILE "):\n"
               "  DOCKER_HOST               tcp://HOST:PORT or unix:///PATH of the daemon\n"
               "  DIND_CACHE_DATA_DIR       the cache's mount point (default %s)\n"
               "  DIND_CACHE_DISK_WARN/CRIT percent of space used (default 80/90)\n"
               "  DIND_CACHE_INODE_WARN/CRIT percent of inodes used (default 80/90)\n"
               "  DIND_CACHE_WRITE_WARN_MS  write probe latency warning (default 1000)\n"
               "  DIND_CACHE_TIMEOUT        each daemon call and the disk probes (default 5s)\n"
               "  DIND_CACHE_DEADLINE       the whole run (default 30s)\n"
               "  DIND_CACHE_TEXTFILE_DIR   where to write dind_cache.prom for node_exporter\n"
               "                            (default %s if it exists; empty: none)\n"
               "  DIND_CACHE_INSTANCE       the cache instance's name, in every journal entry\n"
               "                            (DIND_INSTANCE=) and the metrics (dind_instance)\n"
               "  STATE_DIRECTORY           where to keep the build cache's reuse counter (the\n"
               "                            unit's StateDirectory=; unset: none kept)\n",
               SETTINGS_DEFAULT_DATA_DIR, METRICS_DEFAULT_DIR);
}

/* <0 error, 0 done (--help), >0 go on. */
static int parse_argv(int argc, char **argv) {
        enum { ARG_JSON = 0x100, ARG_NO_JOURNAL };
        static const struct option options[] = {
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
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_JOURNAL:
                        arg_journal = false;
                        break;
                default:
                        fprintf(stderr, "dind-cache check: unknown option '%s' (try 'dind-cache check --help')\n",
                                argv[optind - 1]);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "dind-cache check: unexpected argument '%s' (try 'dind-cache check --help')\n",
                        argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static void watchdog_fired(int sig) {
        /* Only async-signal-safe calls here. */
        (void) !write(STDOUT_FILENO, watchdog_line, strlen(watchdog_line));
        _exit(2);
}

static void watchdog_arm(uint64_t deadline_usec) {
        struct sigaction sa = { .sa_handler = watchdog_fired };
        char d[32];

        snprintf(watchdog_line, sizeof(watchdog_line),
                 "dind-cache check CRITICAL: the run did not finish within its deadline of %s "
                 "(a disk or daemon call hangs)\n", format_duration(deadline_usec, d, sizeof(d)));
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGALRM, &sa, NULL) == 0)
                alarm((unsigned) ((deadline_usec + 999999) / 1000000) + WATCHDOG_GRACE_SEC);
}

static int print_json(const struct check_list *l, const struct health_figures *fig, const char *summary,
                      const char *run_id) {
        _cleanup_json_ json_t *doc = report_to_json(l);
        enum check_state worst = check_list_worst(l);

        if (!doc || json_object_set_new(doc, "status", json_string(check_state_to_plugin_string(worst))) < 0 ||
            json_object_set_new(doc, "exit_status", json_integer(check_state_to_plugin_status(worst))) < 0 ||
            json_object_set_new(doc, "summary", json_string(summary)) < 0 ||
            json_object_set_new(doc, "run_id", json_string(run_id)) < 0 ||
            json_object_set_new(doc, "cache", report_cache_json(fig)) < 0)
                return -ENOMEM;
        if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
                return -EIO;
        fputc('\n', stdout);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -EIO;
}

/* The metrics file for node_exporter, when its directory is there. A failure costs
 * the metrics, not the check: a warning, and the exit status stays the check's. */
static void write_metrics(const struct check_list *l, const struct node_settings *s,
                          const struct health_figures *fig, const char *instance) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        struct timespec ts;
        int r;

        if (cmd_metrics_dir(&dir) <= 0)
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = metrics_text(&(struct metrics_input) {
                                 .checks = l,
                                 .figures = fig,
                                 .data_dir = s->data_dir,
                                 .instance = instance,
                                 .disk_warn = s->disk_warn,
                                 .disk_crit = s->disk_crit,
                                 .timestamp_usec = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000,
                         }, &text);
        if (r >= 0)
                r = metrics_write(dir, text);
        if (r < 0)
                log_warning_errno(r, "cannot write the metrics file '%s/%s': %m", dir, METRICS_FILE_NAME);
}

/* DIND_CACHE_INSTANCE from the env file: the instance's name, or NULL for the
 * unnamed one. A value install could not have written is left out, not passed on. */
static const char *checker_instance(void) {
        const char *v = node_settings_instance(NULL);

        if (!v || instance_validate(v, NULL) < 0)
                return NULL;
        return v;
}

static int run(void) {
        _cleanup_(node_settings_done) struct node_settings s = {};
        _cleanup_(check_list_done) struct check_list l = {};
        _cleanup_free_ char *summary = NULL;
        struct health_figures fig = { .daemon_up = -1 };
        bool measured = false;
        char run_id[JOURNAL_RUN_ID_LEN + 1] = "";
        const char *data_dir, *instance;
        int r;

        r = node_settings_read_check(NULL, &s, &l);
        if (r == -ENOMEM)
                return log_error_errno(r, "cannot read the settings: %m");
        if (r >= 0) {
                watchdog_arm(s.deadline_usec);
                r = health_run_figures(&s, &l, &fig);
                measured = true;
                if (r < 0)
                        return log_error_errno(r, "cannot run the checks: %m");
        }
        data_dir = s.data_dir ? s.data_dir : SETTINGS_DEFAULT_DATA_DIR;
        instance = checker_instance();

        summary = health_summary(&l);
        if (!summary)
                return log_error_errno(-ENOMEM, "cannot write the summary: %m");
        r = journal_new_run_id(run_id);
        if (r < 0)
                log_warning_errno(r, "cannot make a run id: %m");

        if (arg_json)
                r = print_json(&l, measured ? &fig : NULL, summary, run_id);
        else
                r = report_print_text(stdout, &l);
        if (r < 0)
                return log_error_errno(r, "cannot write the report: %m");

        if (arg_journal && journal_available()) {
                r = journal_send_checks_instance(&l, summary, data_dir, instance, run_id);
                if (r < 0)
                        log_warning_errno(r, "cannot send the results to the journal: %m");
        }

        write_metrics(&l, &s, measured ? &fig : NULL, instance);

        /* The summary line last, so that `systemctl status` shows it. */
        if (!arg_json) {
                printf("%s\n", summary);
                if (fflush(stdout) != 0 || ferror(stdout))
                        return log_error_errno(-EIO, "cannot write the report: %m");
        }
        alarm(0);
        return check_state_to_plugin_status(check_list_worst(&l));
}

int cmd_check(int argc, char **argv) {
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_PLUGIN_UNKNOWN : 0;
        r = run();
        return r < 0 ? EXIT_PLUGIN_UNKNOWN : r;
}
