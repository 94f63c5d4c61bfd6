/* SPDX-License-Identifier: MIT */
/* install's last step: the checker's and the pruner's units and the catalog, both
 * timers started, and one check run right away through the service itself, so the
 * sandbox is proven on this node and the first result is in the journal for `status`. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "base/assets.h"
#include "systemd/catalog.h"
#include "systemd/checker-units.h"
#include "systemd/prune-units.h"
#include "cmd/cmd.h"
#include "cmd/install.h"
#include "systemd/journal-read.h"
#include "base/log.h"
#include "check/report.h"
#include "systemd/units.h"
#include "systemd/envfile.h"
#include "systemd/vendor-units.h"
#include "metrics/textfile.h"

/* The oneshot's own TimeoutStartSec= is 60 s; wait a little longer than that. */
#define CHECK_RUN_TIMEOUT_USEC (90ULL * 1000000)
#define JOURNAL_WAIT_USEC (3ULL * 1000000)
#define CATALOG_UPDATE_TIMEOUT_USEC (30ULL * 1000000)
/* What journalctl --update-catalog writes. */
#define CATALOG_DATABASE "/var/lib/systemd/catalog/database"

struct timer_files {
        char *binary;
        char *textfile_dir;              /* the metrics directory in the sandbox, or NULL */
        char *service;
        char *timer;
        char *prune_service;
        char *prune_timer;
        struct unit_place places[4];     /* the checker's service and timer, the pruner's */
        const char *catalog;             /* NULL: the package ships it */
};

static void timer_files_done(struct timer_files *f) {
        free(f->binary);
        free(f->textfile_dir);
        free(f->service);
        free(f->timer);
        free(f->prune_service);
        free(f->prune_timer);
        for (size_t i = 0; i < ELEMENTSOF(f->places); i++)
                unit_place_done(&f->places[i]);
}

int install_textfile_dir(char **ret) {
        _cleanup_(envfile_done) struct envfile env = {};
        int r = cmd_envfile_read(SETTINGS_ENV_FILE, &env);

        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0 && env.textfile_dir) {
                if (isempty(env.textfile_dir))
                        return 0;
                if (!unit_path_is_plain(env.textfile_dir) || checker_path_hidden(env.textfile_dir)) {
                        char shown[METRICS_LABEL_MAX * 2 + 8]; /* capped, no control characters */
                        return log_error_errno(-EINVAL, "the checker's sandbox cannot write the metrics directory "
                                               "%s='%s' set in '%s' (not absolute, under /home, /root, /tmp, "
                                               "/var/tmp, or with unusual characters)", METRICS_DIR_ENV,
                                               metrics_label_escape(env.textfile_dir, shown, sizeof(shown)), SETTINGS_ENV_FILE);
                }
                *ret = TAKE_PTR(env.textfile_dir);
                return 0;
        }
        *ret = strdup(METRICS_DEFAULT_DIR);
        return *ret ? 0 : log_error_errno(-ENOMEM, "cannot plan the checker's units: %m");
}

int install_unit_binary(char **ret) {
        _cleanup_free_ char *binary = realpath("/proc/self/exe", NULL);

        if (!binary)
                return log_error_errno(-errno, "cannot find the path of this binary: %m");
        if (!unit_path_is_plain(binary) || checker_path_hidden(binary))
                return log_error_errno(-EINVAL, "the node's units cannot run the binary at '%s': install it in "
                                       "a system path first (make install puts it in /usr/local/sbin)", binary);
        *ret = TAKE_PTR(binary);
        return 0;
}

static int render_files(const struct install_options *o, struct timer_files *f) {
        const struct asset *catalog;
        struct checker_unit_params p;
        _cleanup_free_ char *packaged_catalog = NULL;
        int r;

        r = install_unit_binary(&f->binary);
        if (r < 0)
                return r;
        if (!unit_path_is_plain(o->data_dir) || checker_path_hidden(o->data_dir))
                return log_error_errno(-EINVAL, "the checker's sandbox cannot reach the data directory '%s' "
                                       "(under /home, /root, /tmp, /var/tmp, or with unusual characters)",
                                       o->data_dir);
        r = install_textfile_dir(&f->textfile_dir);
        if (r < 0)
                return r;

        p = (struct checker_unit_params) { .binary = f->binary, .data_dir = o->data_dir,
                                           .interval_usec = o->check_interval_usec,
                                           .textfile_dir = f->textfile_dir };
        r = checker_service_text(&p, &f->service);
        if (r < 0)
                return log_error_errno(r, "cannot render '%s': %m", CHECKER_SERVICE);
        r = checker_timer_text(&p, &f->timer);
        if (r < 0)
                return log_error_errno(r, "cannot render '%s': %m", CHECKER_TIMER);
        r = prune_service_text(f->binary, f->textfile_dir, &f->prune_service);
        if (r < 0)
                return log_error_errno(r, "cannot render '%s': %m", PRUNE_SERVICE);
        r = prune_timer_text(o->prune_interval_usec, &f->prune_timer);
        if (r < 0)
                return log_error_errno(r, "cannot render '%s': %m", PRUNE_TIMER);

        /* A package ships the units in its vendor directory: then only a drop-in. */
        r = unit_place_plan(DIND_CACHE_UNITDIR, UNIT_DIR, CHECKER_SERVICE, f->service, &f->places[0]);
        if (r >= 0)
                r = unit_place_plan(DIND_CACHE_UNITDIR, UNIT_DIR, CHECKER_TIMER, f->timer, &f->places[1]);
        if (r >= 0)
                r = unit_place_plan(DIND_CACHE_UNITDIR, UNIT_DIR, PRUNE_SERVICE, f->prune_service, &f->places[2]);
        if (r >= 0)
                r = unit_place_plan(DIND_CACHE_UNITDIR, UNIT_DIR, PRUNE_TIMER, f->prune_timer, &f->places[3]);
        if (r < 0)
                return log_error_errno(r, "cannot plan the checker's and the pruner's units: %m");

        packaged_catalog = strdup_printf("%s/%s", DIND_CACHE_CATALOGDIR, CATALOG_NAME);
        if (!packaged_catalog)
                return log_error_errno(-ENOMEM, "cannot plan the journal catalog: %m");
        if (!streq(DIND_CACHE_CATALOGDIR, CATALOG_DIR) && access(packaged_catalog, F_OK) == 0)
                return 0;
        catalog = asset_find(CATALOG_ASSET);
        if (!catalog)
                return log_error_errno(-ENOENT, "the journal catalog '%s' is not built into this binary", CATALOG_ASSET);
        f->catalog = (const char *) catalog->data;
        return 0;
}

void install_say_unit_places(const struct unit_place *places, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const struct unit_place *u = &places[i];
                bool same = unit_place_same(u) > 0;

                if (u->stale)
                        printf("Would remove %s (the package's unit replaces it)\n", u->stale);
                if (u->text)
                        printf("Would %s %s\n", same ? "leave unchanged" : "write", u->path);
                else if (!same)
                        printf("Would remove %s\n", u->path);
                else
                        printf("Would leave %s/%s as packaged\n", DIND_CACHE_UNITDIR, u->name);
        }
}

static void say_dry_run(const struct install_options *o, const struct timer_files *f) {
        char span[32];

        install_say_unit_places(f->places, ELEMENTSOF(f->places));
        if (f->catalog) {
                bool same = unit_file_same(CATALOG_DIR, CATALOG_NAME, f->catalog) > 0;
                printf("Would %s %s/%s\n", same ? "leave unchanged" : "write", CATALOG_DIR, CATALOG_NAME);
        }
        printf("  ExecStart=%s check, ReadWritePaths=-%s%s%s, OnUnitActiveSec=%s\n", f->binary, o->data_dir,
               f->textfile_dir ? " -" : "", f->textfile_dir ? f->textfile_dir : "",
               format_timespan_unit(o->check_interval_usec, span, sizeof(span)));
        printf("  ExecStart=%s prune, OnUnitActiveSec=%s\n", f->binary,
               format_timespan_unit(o->prune_interval_usec, span, sizeof(span)));
        if (access(SETTINGS_ENV_FILE, F_OK) < 0)
                printf("  (the checker and the pruner read %s, which the cluster step writes)\n", SETTINGS_ENV_FILE);
        printf("Would reload systemd, enable and start %s and %s, and run %s once\n", CHECKER_TIMER, PRUNE_TIMER,
               CHECKER_SERVICE);
}

/* Runs the service once and prints what it found. 0 when OK or WARNING. */
static int run_one_check(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(unit_state_done) struct unit_state st = {};
        _cleanup_(journal_run_done) struct journal_run run = { .state = CHECK_UNKNOWN };
        _cleanup_free_ char *result = NULL;
        struct timespec ts;
        uint64_t since;
        int r, found, status;

        clock_gettime(CLOCK_REALTIME, &ts);
        since = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;

        log_info("Running one check: systemctl start %s", CHECKER_SERVICE);
        r = systemd_start(bus, CHECKER_SERVICE, CHECK_RUN_TIMEOUT_USEC, &result, &error);
        if (r < 0 && sd_bus_error_is_set(&error))
                return log_error_errno(r, "cannot start '%s': %s", CHECKER_SERVICE, error.message);
        if (r == -ETIMEDOUT)
                return log_error_errno(r, "'%s' did not finish in time: see journalctl -u %s",
                                       CHECKER_SERVICE, CHECKER_SERVICE);

        r = systemd_unit_state(bus, CHECKER_SERVICE, &st);
        if (r < 0)
                return log_error_errno(r, "cannot read the state of '%s': %m", CHECKER_SERVICE);
        status = st.exec_main_status;

        found = journal_read_last_run(since, JOURNAL_WAIT_USEC, &run);
        if (found < 0)
                log_warning_errno(found, "cannot read the check's results from the journal: %m");
        else if (found > 0) {
                (void) report_print_text(stdout, &run.checks);
                if (run.summary)
                        printf("%s\n", run.summary);
        }
        fflush(stdout);

        switch (status) {
        case 0:
        case 1:
                if (found <= 0)
                        printf("dind-cache check %s (exit status %d)\n", status == 0 ? "OK" : "WARNING", status);
                return 0;
        case 2:
                return log_error_errno(-EIO, "the first check is CRITICAL: fix what it reports, then run install again "
                                       "(journalctl -x -u %s explains each finding)", CHECKER_SERVICE);
        case 3:
                return log_error_errno(-EINVAL, "the first check could not tell (UNKNOWN): check the settings in '%s'",
                                       SETTINGS_ENV_FILE);
        default:
                return log_error_errno(-EIO, "'%s' could not run the check (result '%s', exit status %d): "
                                       "see journalctl -u %s", CHECKER_SERVICE, result ? result : st.result,
                                       status, CHECKER_SERVICE);
        }
}

/* Starts timer NAME unless it is active; RET gets its state. */
static int start_timer(sd_bus *bus, const char *name, struct unit_state *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = systemd_unit_state(bus, name, ret);
        if (r < 0)
                return log_error_errno(r, "cannot read the state of '%s': %m", name);
        if (streq(ret->active_state, "active"))
                return 0;
        _cleanup_free_ char *result = NULL;
        r = systemd_start(bus, name, CHECK_RUN_TIMEOUT_USEC, &result, &error);
        if (r < 0)
                return log_error_errno(r, "cannot start '%s' (%s): %s", name, result ? result : "no job",
                                       systemd_error_text(&error, r));
        unit_state_done(ret);
        r = systemd_unit_state(bus, name, ret);
        if (r < 0)
                return log_error_errno(r, "cannot read the state of '%s': %m", name);
        return 0;
}

/* Rebuilds journald's catalog database after the catalog file changed. A failure
 * only costs the explanations of journalctl -x: it is a warning. */
int install_update_catalog(void) {
        int status = 0;
        int r = catalog_update_database(CATALOG_UPDATE_TIMEOUT_USEC, &status);

        if (r < 0)
                log_warning_errno(r, "cannot update the journal catalog (journalctl --update-catalog, "
                                  "status %d): %m", status);
        return r;
}

/* True when journald's catalog database is older than the catalog file (or missing):
 * a run killed between writing the file and rebuilding the database leaves that. */
static bool catalog_database_older(const char *catalog) {
        struct stat db, file;

        if (stat(catalog, &file) < 0)
                return false;
        if (stat(CATALOG_DATABASE, &db) < 0)
                return true;
        return db.st_mtim.tv_sec < file.st_mtim.tv_sec ||
               (db.st_mtim.tv_sec == file.st_mtim.tv_sec && db.st_mtim.tv_nsec < file.st_mtim.tv_nsec);
}

/* Writes the units (or drop-ins over the packaged ones) and the catalog. Nonzero when
 * a unit file changed (install_apply_unit_places()), or <0. */
int install_apply_unit_places(const struct unit_place *places, size_t n) {
        int r, changed = 0;

        assert(n < 31);
        for (size_t i = 0; i < n; i++) {
                r = unit_place_apply(&places[i]);
                if (r < 0)
                        return log_error_errno(r, "cannot write '%s': %m", places[i].path);
                if (r > 0)
                        changed |= 1 << i;
        }
        return changed;
}

static int write_files(const struct timer_files *f) {
        int r, changed = install_apply_unit_places(f->places, ELEMENTSOF(f->places));

        if (changed < 0)
                return changed;
        if (f->places[0].vendor)
                log_info("Checker and pruner: the packaged %s, %s, %s and %s in %s, this node's settings %s",
                         CHECKER_SERVICE, CHECKER_TIMER, PRUNE_SERVICE, PRUNE_TIMER, DIND_CACHE_UNITDIR,
                         changed ? "written" : "unchanged");
        else
                log_info("Checker and pruner: %s/%s, %s, %s and %s %s", UNIT_DIR, CHECKER_SERVICE, CHECKER_TIMER,
                         PRUNE_SERVICE, PRUNE_TIMER, changed ? "written" : "unchanged");

        if (f->catalog) {
                r = catalog_file_write(CATALOG_DIR, CATALOG_NAME, f->catalog);
                if (r < 0)
                        return log_error_errno(r, "cannot write '%s/%s': %m", CATALOG_DIR, CATALOG_NAME);
                if ((r > 0 || catalog_database_older(CATALOG_DIR "/" CATALOG_NAME)) && install_update_catalog() >= 0)
                        log_info("Checker: journal catalog %s/%s installed", CATALOG_DIR, CATALOG_NAME);
        }
        return changed;
}

/* Reloads systemd when CHANGED (or when it has not read the files yet: a run killed
 * before its reload), enables both timers and starts them. */
int install_reload_and_enable(sd_bus *bus, bool changed, const char *const *units, char *const *enable) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        for (const char *const *u = units; !changed && *u; u++)
                changed = systemd_need_daemon_reload(bus, *u) > 0;
        if (changed) {
                r = systemd_daemon_reload(bus, &error);
                if (r < 0)
                        return log_error_errno(r, "cannot reload systemd: %s", systemd_error_text(&error, r));
        }
        r = systemd_enable(bus, enable, &error);
        if (r < 0)
                return log_error_errno(r, "cannot enable '%s'%s: %s", enable[0], enable[1] ? " and the others" : "",
                                       systemd_error_text(&error, r));
        return 0;
}

static int enable_timers(sd_bus *bus, bool changed, struct unit_state *ret_timer,
                         struct unit_state *ret_prune_timer) {
        static const char *const units[] = { CHECKER_SERVICE, CHECKER_TIMER, PRUNE_SERVICE, PRUNE_TIMER, NULL };
        char *const names[] = { (char *) CHECKER_TIMER, (char *) PRUNE_TIMER, NULL };
        int r;

        r = install_reload_and_enable(bus, changed, units, names);
        if (r < 0)
                return r;
        r = start_timer(bus, CHECKER_TIMER, ret_timer);
        if (r < 0)
                return r;
        return start_timer(bus, PRUNE_TIMER, ret_prune_timer);
}

int install_timer(const struct install_options *o) {
        _cleanup_(timer_files_done) struct timer_files f = {};
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(unit_state_done) struct unit_state timer = {}, prune_timer = {};
        char span[32], when[64];
        uint64_t next;
        int r, changed;

        if (o->skip_timer) {
                log_info("Checker: not installing %s (--skip-timer); run 'dind-cache check' from your own "
                         "scheduler or monitoring (exit status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
                         CHECKER_TIMER);
                return 0;
        }
        if (sd_booted() <= 0)
                return log_error_errno(-EOPNOTSUPP, "systemd is not running on this host, so the checker's timer "
                                       "cannot be installed: use --skip-timer and run 'dind-cache check' from "
                                       "cron or your monitoring");

        r = render_files(o, &f);
        if (r < 0)
                return r;

        if (o->dry_run) {
                say_dry_run(o, &f);
                return 0;
        }

        if (access(SETTINGS_ENV_FILE, R_OK) < 0)
                return log_error_errno(-errno, "cannot read '%s': %m (the checker's unit reads DOCKER_HOST and "
                                       "DIND_CACHE_DATA_DIR from it; the cluster step writes it)", SETTINGS_ENV_FILE);
        changed = write_files(&f);
        if (changed < 0)
                return changed;

        r = systemd_connect(&bus);
        if (r < 0)
                return log_error_errno(r, "cannot connect to systemd: %m");
        r = enable_timers(bus, changed > 0, &timer, &prune_timer);
        if (r < 0)
                return r;
        if (systemd_timer_next_elapse(bus, PRUNE_TIMER, &next) < 0)
                next = 0;
        log_info("Pruner: %s %s, every %s, next run %s", PRUNE_TIMER, prune_timer.active_state,
                 format_timespan_unit(o->prune_interval_usec, span, sizeof(span)),
                 format_timestamp_unit(next, when, sizeof(when)));
        r = run_one_check(bus);
        if (systemd_timer_next_elapse(bus, CHECKER_TIMER, &next) < 0)
                next = 0;
        log_info("Checker: %s %s, every %s, next run %s", CHECKER_TIMER, timer.active_state,
                 format_timespan_unit(o->check_interval_usec, span, sizeof(span)),
                 format_timestamp_unit(next, when, sizeof(when)));
        return r;
}
