/* SPDX-License-Identifier: MIT */
/* install's plugin step, before the cluster step: the authorization plugin's socket
 * (dind-cache-authz.socket) and its service written (with the Debian package: drop-ins
 * over the packaged units), the socket enabled and started. The daemon's pod names the
 * plugin in its daemon.json and mounts the socket's directory: until the socket exists
 * it answers nothing, not even its readiness probe. Command layer: prints what it does. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "base/log.h"
#include "cmd/authz-state.h"
#include "cmd/install.h"
#include "systemd/authz-units.h"
#include "systemd/units.h"
#include "systemd/vendor-units.h"

#define AUTHZ_JOB_TIMEOUT_USEC (90ULL * 1000000)

#define NO_PLUGIN_WARNING \
        "!!! --plaintext: no authorization plugin: without client certificates there are no identities to " \
        "tell jobs apart, so every CI job that reaches the daemon can run privileged containers and mount " \
        "the node's root: every job is root on this node !!!"

struct authz_files {
        char *binary;
        char *textfile_dir;              /* or NULL: metrics off */
        char *socket, *service;          /* the rendered units */
        struct unit_place places[2];     /* the socket, the service */
};

static void authz_files_done(struct authz_files *f) {
        free(f->binary);
        free(f->textfile_dir);
        free(f->socket);
        free(f->service);
        for (size_t i = 0; i < ELEMENTSOF(f->places); i++)
                unit_place_done(&f->places[i]);
}

static int render_files(struct authz_files *f) {
        int r;

        r = install_unit_binary(&f->binary);
        if (r >= 0)
                r = install_textfile_dir(&f->textfile_dir);
        if (r < 0)
                return r;
        r = authz_socket_text(&f->socket);
        if (r < 0)
                return log_error_errno(r, "cannot render '%s': %m", AUTHZ_SOCKET_UNIT);
        r = authz_service_text(f->binary, f->textfile_dir, &f->service);
        if (r < 0)
                return log_error_errno(r, "cannot render '%s': %m", AUTHZ_SERVICE_UNIT);
        r = unit_place_plan(DIND_CACHE_UNITDIR, UNIT_DIR, AUTHZ_SOCKET_UNIT, f->socket, &f->places[0]);
        if (r >= 0)
                r = unit_place_plan(DIND_CACHE_UNITDIR, UNIT_DIR, AUTHZ_SERVICE_UNIT, f->service, &f->places[1]);
        if (r < 0)
                return log_error_errno(r, "cannot plan the authorization plugin's units: %m");
        return 0;
}

static void say_dry_run(const struct authz_files *f) {
        install_say_unit_places(f->places, ELEMENTSOF(f->places));
        printf("  ExecStart=%s authz, listening on %s\n", f->binary, AUTHZ_UNITS_SOCKET_PATH);
        printf("Would reload systemd, enable and start %s (the daemon's pod mounts %s)\n", AUTHZ_SOCKET_UNIT,
               AUTHZ_UNITS_SOCKET_DIR);
}

/* The number of unit files changed (bit 0 the socket's, bit 1 the service's), or <0. */
static int write_files(const struct authz_files *f) {
        int changed = install_apply_unit_places(f->places, ELEMENTSOF(f->places));

        if (changed < 0)
                return changed;
        if (f->places[0].vendor)
                log_info("Authorization plugin: the packaged %s and %s in %s, this node's settings %s",
                         AUTHZ_SOCKET_UNIT, AUTHZ_SERVICE_UNIT, DIND_CACHE_UNITDIR, changed ? "written" : "unchanged");
        else
                log_info("Authorization plugin: %s/%s and %s %s", UNIT_DIR, AUTHZ_SOCKET_UNIT, AUTHZ_SERVICE_UNIT,
                         changed ? "written" : "unchanged");
        return changed;
}

/* The running plugin runs a binary that is no longer BINARY (a new one was installed
 * over it: /proc shows the old one deleted), or none runs. */
static bool runs_other_binary(sd_bus *bus, const char *binary) {
        char link[64], exe[PATH_MAX];
        uint32_t pid = 0;
        ssize_t n;

        if (systemd_main_pid(bus, AUTHZ_SERVICE_UNIT, &pid) < 0 || pid == 0)
                return false;
        snprintf(link, sizeof(link), "/proc/%u/exe", pid);
        n = readlink(link, exe, sizeof(exe) - 1);
        if (n < 0)
                return false;
        exe[n] = '\0';
        return !streq(exe, binary);
}

/* Stops UNIT when it is active: 0 it was not, 1 stopped; <0 logged. */
static int stop_active(sd_bus *bus, const char *unit) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(unit_state_done) struct unit_state st = {};
        _cleanup_free_ char *result = NULL;
        int r;

        r = systemd_unit_state(bus, unit, &st);
        if (r < 0)
                return log_error_errno(r, "cannot read the state of '%s': %m", unit);
        if (!streq(st.active_state, "active"))
                return 0;
        r = systemd_stop(bus, unit, AUTHZ_JOB_TIMEOUT_USEC, &result, &error);
        if (r < 0)
                return log_error_errno(r, "cannot restart '%s' (%s): %s", unit, result ?: "no job",
                                       systemd_error_text(&error, r));
        return 1;
}

/* The socket anew when its unit CHANGED or its file is gone while the unit is active
 * (removed by hand): the plugin first, which holds the old socket, then the socket;
 * start_socket() starts it again, and dockerd's retries (about 15 s) cover the gap. */
static int renew_socket_if_stale(sd_bus *bus, bool changed) {
        int r;

        if (!changed && access(AUTHZ_UNITS_SOCKET_PATH, F_OK) == 0)
                return 0;
        r = stop_active(bus, AUTHZ_SERVICE_UNIT);
        if (r >= 0)
                r = stop_active(bus, AUTHZ_SOCKET_UNIT);
        if (r > 0)
                log_info("Authorization plugin: %s stopped, to listen anew", AUTHZ_SOCKET_UNIT);
        return r < 0 ? r : 0;
}

/* Stops the running plugin when CHANGED or its binary was replaced: the socket keeps
 * the requests meanwhile, and the next one starts the new plugin. */
static int restart_if_stale(sd_bus *bus, bool changed, const char *binary) {
        int r;

        if (!changed && !runs_other_binary(bus, binary))
                return 0;
        r = stop_active(bus, AUTHZ_SERVICE_UNIT);
        if (r > 0)
                log_info("Authorization plugin: %s stopped, to start anew on the next request", AUTHZ_SERVICE_UNIT);
        return r < 0 ? r : 0;
}

/* Reloads systemd when CHANGED (or a killed run left it unread), enables the socket and
 * starts it. */
static int start_socket(sd_bus *bus, int changed, const char *binary) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(unit_state_done) struct unit_state st = {};
        static const char *const units[] = { AUTHZ_SOCKET_UNIT, AUTHZ_SERVICE_UNIT, NULL };
        char *const names[] = { (char *) AUTHZ_SOCKET_UNIT, NULL };
        _cleanup_free_ char *result = NULL;
        int r;

        r = install_reload_and_enable(bus, changed, units, names);
        if (r >= 0)
                r = renew_socket_if_stale(bus, changed & 1);
        if (r >= 0)
                r = restart_if_stale(bus, changed & 2, binary);
        if (r < 0)
                return r;
        r = systemd_unit_state(bus, AUTHZ_SOCKET_UNIT, &st);
        if (r < 0)
                return log_error_errno(r, "cannot read the state of '%s': %m", AUTHZ_SOCKET_UNIT);
        if (streq(st.active_state, "active") && access(AUTHZ_UNITS_SOCKET_PATH, F_OK) == 0)
                return 0;
        r = systemd_start(bus, AUTHZ_SOCKET_UNIT, AUTHZ_JOB_TIMEOUT_USEC, &result, &error);
        if (r < 0)
                return log_error_errno(r, "cannot start '%s' (%s): %s (journalctl -u %s)", AUTHZ_SOCKET_UNIT,
                                       result ?: "no job", systemd_error_text(&error, r), AUTHZ_SOCKET_UNIT);
        return 0;
}

int install_authz(const struct install_options *o) {
        _cleanup_(authz_files_done) struct authz_files f = {};
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r, changed;

        if (o->plaintext) {
                log_warning(NO_PLUGIN_WARNING);
                return 0;
        }
        /* Before the plugin can answer: no moment when it runs without this install's
         * list (a missing list lets every namespace pass, authz/tenants.h), and before
         * any Secret, so a new tenant's certificate works once its jobs have it. */
        r = authz_state_write_tenants(o->allow_namespaces, o->dry_run);
        if (r < 0)
                return r;
        if (sd_booted() <= 0) {
                log_warning("systemd is not running on this host: the authorization plugin's %s cannot be "
                            "installed. The daemon's pod answers nothing, its probes included, until something "
                            "serves %s: run 'dind-cache authz --socket %s' under your own supervisor",
                            AUTHZ_SOCKET_UNIT, AUTHZ_UNITS_SOCKET_PATH, AUTHZ_UNITS_SOCKET_PATH);
                return 0;
        }
        r = render_files(&f);
        if (r < 0)
                return r;
        if (o->dry_run) {
                say_dry_run(&f);
                return 0;
        }
        changed = write_files(&f);
        if (changed < 0)
                return changed;
        r = systemd_connect(&bus);
        if (r < 0)
                return log_error_errno(r, "cannot connect to systemd: %m");
        r = start_socket(bus, changed, f.binary);
        if (r < 0)
                return r;
        if (access(AUTHZ_UNITS_SOCKET_PATH, F_OK) < 0)
                return log_error_errno(-errno, "%s is active but '%s' is missing: %m (journalctl -u %s)",
                                       AUTHZ_SOCKET_UNIT, AUTHZ_UNITS_SOCKET_PATH, AUTHZ_SOCKET_UNIT);
        log_info("Authorization plugin: %s active, listening on %s (the daemon's pod mounts %s)", AUTHZ_SOCKET_UNIT,
                 AUTHZ_UNITS_SOCKET_PATH, AUTHZ_UNITS_SOCKET_DIR);
        return 0;
}
