/* SPDX-License-Identifier: MIT */
#pragma once

/* systemd: unit names, unit files and the manager over sd-bus. Never prints;
 * returns negative errno, and where the manager refused, the D-Bus error in
 * ret_error (optional, may be NULL) for the caller to print. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* The text of a mount unit: [Unit] Description, [Mount] What= Where= Type= Options=,
 * [Install] WantedBy=local-fs.target. */
int mount_unit_text(const char *what, const char *where, const char *type,
                    const char *options, char **ret);

/* Writes TEXT to DIR/NAME atomically, 0644. 1 written, 0 unchanged, <0 error. */
int unit_file_write(const char *dir, const char *name, const char *text);
/* Removes DIR/NAME. 1 removed, 0 was absent. */
int unit_file_remove(const char *dir, const char *name);

/* Connects to the system manager: its private socket /run/systemd/private when root
 * (works without a D-Bus daemon, as systemctl does), else the system bus. */
int systemd_connect(sd_bus **ret);

/* The words for a failed call: the D-Bus error's message when it has one, else R's. */
const char *systemd_error_text(const sd_bus_error *e, int r);

/* Reload (systemctl daemon-reload): 0 once the manager has reloaded. */
int systemd_daemon_reload(sd_bus *bus, sd_bus_error *ret_error);
/* EnableUnitFiles / DisableUnitFiles for NAMES (NULL-terminated). 1 changed, 0 not. */
int systemd_enable(sd_bus *bus, char *const *names, sd_bus_error *ret_error);
int systemd_disable(sd_bus *bus, char *const *names, sd_bus_error *ret_error);

/* StartUnit/StopUnit/RestartUnit "replace", and wait (up to TIMEOUT) until the job
 * is done. Returns 0 when the job's result is "done", -ECANCELED/-EIO/-ETIMEDOUT
 * (the job's result in ret_result: "failed", "timeout", "dependency", ...). */
int systemd_start(sd_bus *bus, const char *name, uint64_t timeout_usec,
                  char **ret_result, sd_bus_error *ret_error);
int systemd_stop(sd_bus *bus, const char *name, uint64_t timeout_usec,
                 char **ret_result, sd_bus_error *ret_error);

struct unit_state {
        char *load_state;        /* "loaded", "not-found", "masked" */
        char *active_state;      /* "active", "inactive", "failed", ... */
        char *sub_state;         /* "mounted", "waiting", "dead", "exited" */
        char *unit_file_state;   /* "enabled", "disabled", "static", "" */
        char *result;            /* service/mount Result: "success", "exit-code" */
        uint64_t next_elapse_realtime;  /* timers: usec since epoch, 0 when none; a
                                         * monotonic trigger (OnUnitActiveSec=) is carried
                                         * over to the realtime clock, as list-timers does */
        uint64_t last_trigger_realtime; /* timers: usec since epoch, 0 when never */
        int exec_main_status;    /* services: last exit status */
};
int systemd_unit_state(sd_bus *bus, const char *name, struct unit_state *ret);
void unit_state_done(struct unit_state *s);

/* ResetFailedUnit: forgets NAME's failed state (and unloads it when its file is
 * gone), so `systemctl --failed` no longer lists it. 0, or <0 (-ENOENT: no such
 * unit loaded, which is fine for the caller). Implemented in units-extra.c. */
int systemd_reset_failed(sd_bus *bus, const char *name, sd_bus_error *ret_error);

/* 1 when systemd runs NAME from an older version of its unit file than the one on disk
 * (NeedDaemonReload): a run killed between writing a unit file and reloading leaves
 * that, and the next run, finding the file unchanged, must reload all the same.
 * 0 when not, <0 error. Implemented in units-extra.c. */
int systemd_need_daemon_reload(sd_bus *bus, const char *name);

/* The main process of service NAME (MainPID), 0 when none runs. Implemented in
 * units-extra.c. */
int systemd_main_pid(sd_bus *bus, const char *name, uint32_t *ret_pid);

/* The timer NAME's next elapse in realtime usec: the earlier of its realtime and
 * its monotonic next elapse (the latter converted as systemctl list-timers does),
 * 0 when none. Implemented in units-extra.c. */
int systemd_timer_next_elapse(sd_bus *bus, const char *name, uint64_t *ret_realtime);

/* 1 when DIR/NAME holds exactly TEXT, 0 when it differs or is missing (what
 * unit_file_write would do, for a dry run). */
int unit_file_same(const char *dir, const char *name, const char *text);
