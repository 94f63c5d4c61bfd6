/* SPDX-License-Identifier: MIT */
/* The system manager over sd-bus: reload, enable/disable, start/stop and wait for
 * the job, unit state. Names, text and files are units.c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "systemd/units.h"
#include "base/util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
/* Replies of a busy manager (a reload) can take a while. */
#define BUS_CALL_TIMEOUT_USEC (90ULL * 1000000)
/* JobRemoved signals remembered while the StartUnit reply is on its way. */
#define JOBS_SEEN_MAX 64

int systemd_connect(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (geteuid() != 0) {
                r = sd_bus_open_system(&bus);
                if (r < 0)
                        return r;
        } else {
                /* As systemctl does: straight to PID 1, no D-Bus daemon needed. */
                r = sd_bus_new(&bus);
                if (r < 0)
                        return r;
                r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
                if (r < 0)
                        return r;
                r = sd_bus_start(bus);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(bus);
        return 0;
}

int systemd_daemon_reload(sd_bus *bus, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "Reload");
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, BUS_CALL_TIMEOUT_USEC, ret_error, &reply);
        return r < 0 ? r : 0;
}

/* Reads the a(sss) list of changes EnableUnitFiles/DisableUnitFiles return:
 * 1 when it lists any, 0 when none. */
static int read_changes(sd_bus_message *reply) {
        const char *type, *path, *source;
        int r, n = 0;

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(sss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(sss)", &type, &path, &source)) > 0)
                n++;
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        return n > 0;
}

static int enable_disable(sd_bus *bus, bool enable, char *const *names, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        if (strv_length(names) == 0)
                return -EINVAL;
        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                           enable ? "EnableUnitFiles" : "DisableUnitFiles");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, (char **) names);
        if (r < 0)
                return r;
        /* runtime=false (in /etc), and for enable force=true (replace stale links). */
        r = enable ? sd_bus_message_append(m, "bb", 0, 1) : sd_bus_message_append(m, "b", 0);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, BUS_CALL_TIMEOUT_USEC, ret_error, &reply);
        if (r < 0)
                return r;
        if (enable) {
                int carries_install_info;
                r = sd_bus_message_read(reply, "b", &carries_install_info);
                if (r < 0)
                        return r;
        }
        return read_changes(reply);
}

int systemd_enable(sd_bus *bus, char *const *names, sd_bus_error *ret_error) {
        return enable_disable(bus, true, names, ret_error);
}

int systemd_disable(sd_bus *bus, char *const *names, sd_bus_error *ret_error) {
        return enable_disable(bus, false, names, ret_error);
}

struct job_wait {
        const char *unit;
        struct {
                char *path;
                char *result;
        } seen[JOBS_SEEN_MAX];
        size_t n;
};

static void job_wait_done(struct job_wait *w) {
        for (size_t i = 0; i < w->n; i++) {
                free(w->seen[i].path);
                free(w->seen[i].result);
        }
        w->n = 0;
}

/* JobRemoved(u id, o job, s unit, s result): remembers the jobs of our unit, since
 * the signal may come before the reply that names the job. */
static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct job_wait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (!streq(unit, w->unit) || w->n >= JOBS_SEEN_MAX)
                return 0;
        w->seen[w->n].path = strdup(path);
        w->seen[w->n].result = strdup(result);
        if (!w->seen[w->n].path || !w->seen[w->n].result) {
                free(w->seen[w->n].path);
                free(w->seen[w->n].result);
                return -ENOMEM;
        }
        w->n++;
        return 0;
}

static const char *job_seen(const struct job_wait *w, const char *job) {
        for (size_t i = 0; i < w->n; i++)
                if (streq(w->seen[i].path, job))
                        return w->seen[i].result;
        return NULL;
}

static int job_result_to_errno(const char *result) {
        if (streq(result, "done"))
                return 0;
        if (streq(result, "canceled"))
                return -ECANCELED;
        if (streq(result, "timeout"))
                return -ETIMEDOUT;
        return -EIO;     /* failed, dependency, skipped, invalid, assert, once, ... */
}

static int start_stop(sd_bus *bus, const char *method, const char *name, uint64_t timeout_usec,
                      char **ret_result, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(job_wait_done) struct job_wait w = { .unit = name };
        _cleanup_free_ char *job = NULL;
        const char *path, *result;
        uint64_t deadline;
        int r;

        if (isempty(name))
                return -EINVAL;

        /* Listen first, then ask: the job may finish before the reply arrives. A
         * direct connection has no sender names, so match on the sender only on a bus. */
        r = sd_bus_match_signal(bus, &slot, sd_bus_is_bus_client(bus) ? SD_DEST : NULL, SD_PATH, SD_MANAGER,
                                "JobRemoved", on_job_removed, &w);
        if (r < 0)
                return r;
        /* On the system bus the manager only sends signals to subscribers; on the
         * private socket it sends them anyway. An error here is harmless. */
        (void) sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, NULL);

        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, ret_error, &reply, "ss", name,
                               "replace");
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        job = strdup(path);
        if (!job)
                return -ENOMEM;

        deadline = now_usec() + timeout_usec;
        while (!(result = job_seen(&w, job))) {
                uint64_t now = now_usec();

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0)
                        return r;
        }

        if (ret_result) {
                char *copy = strdup(result);
                if (!copy)
                        return -ENOMEM;
                *ret_result = copy;
        }
        return job_result_to_errno(result);
}

int systemd_start(sd_bus *bus, const char *name, uint64_t timeout_usec,
                  char **ret_result, sd_bus_error *ret_error) {
        return start_stop(bus, "StartUnit", name, timeout_usec, ret_result, ret_error);
}

int systemd_stop(sd_bus *bus, const char *name, uint64_t timeout_usec,
                 char **ret_result, sd_bus_error *ret_error) {
        return start_stop(bus, "StopUnit", name, timeout_usec, ret_result, ret_error);
}

static int get_string(sd_bus *bus, const char *path, const char *iface, const char *prop, char **ret) {
        return sd_bus_get_property_string(bus, SD_DEST, path, iface, prop, NULL, ret);
}

static int get_trivial(sd_bus *bus, const char *path, const char *iface, const char *prop, char type,
                       void *ret) {
        return sd_bus_get_property_trivial(bus, SD_DEST, path, iface, prop, NULL, type, ret);
}

/* The type-specific interface of NAME: "org.freedesktop.systemd1.Mount" for a .mount. */
static const char *unit_interface(const char *name) {
        static const struct {
                const char *suffix, *iface;
        } types[] = {
                { ".service", "org.freedesktop.systemd1.Service" },
                { ".mount", "org.freedesktop.systemd1.Mount" },
                { ".timer", "org.freedesktop.systemd1.Timer" },
                { ".socket", "org.freedesktop.systemd1.Socket" },
                { ".swap", "org.freedesktop.systemd1.Swap" },
                { ".automount", "org.freedesktop.systemd1.Automount" },
                { ".path", "org.freedesktop.systemd1.Path" },
        };
        const char *dot = strrchr(name, '.');

        for (size_t i = 0; dot && i < ELEMENTSOF(types); i++)
                if (streq(dot, types[i].suffix))
                        return types[i].iface;
        return NULL;
}

/* When a timer runs next, in realtime usec, as systemctl list-timers shows it: the
 * earlier of its calendar elapse and its monotonic one (OnUnitActiveSec=, ...)
 * carried over to the realtime clock. 0 when it has none. */
static int timer_next_elapse(sd_bus *bus, const char *path, const char *iface, uint64_t *ret) {
        uint64_t realtime = 0, monotonic = 0, next;
        struct timespec mono, real;
        int r;

        r = get_trivial(bus, path, iface, "NextElapseUSecRealtime", 't', &realtime);
        if (r < 0)
                return r;
        r = get_trivial(bus, path, iface, "NextElapseUSecMonotonic", 't', &monotonic);
        if (r < 0)
                return r;
        if (realtime == UINT64_MAX)
                realtime = 0;
        next = realtime;
        if (monotonic > 0 && monotonic != UINT64_MAX && clock_gettime(CLOCK_MONOTONIC, &mono) == 0 &&
            clock_gettime(CLOCK_REALTIME, &real) == 0) {
                uint64_t now_mono = (uint64_t) mono.tv_sec * 1000000 + (uint64_t) mono.tv_nsec / 1000;
                uint64_t now_real = (uint64_t) real.tv_sec * 1000000 + (uint64_t) real.tv_nsec / 1000;
                uint64_t converted = monotonic >= now_mono ? now_real + (monotonic - now_mono)
                                                           : (now_real > now_mono - monotonic ? now_real - (now_mono - monotonic) : 0);
                if (converted > 0 && (next == 0 || converted < next))
                        next = converted;
        }
        *ret = next;
        return 0;
}

int systemd_unit_state(sd_bus *bus, const char *name, struct unit_state *ret) {
        _cleanup_(unit_state_done) struct unit_state s = {};
        _cleanup_free_ char *path = NULL;
        const char *iface;
        int r;

        if (isempty(name))
                return -EINVAL;
        /* Reading the unit's object loads it if needed (LoadState "not-found" when there
         * is no such unit), as systemctl show does. */
        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path);
        if (r < 0)
                return r;
        r = get_string(bus, path, SD_UNIT, "LoadState", &s.load_state);
        if (r < 0)
                return r;
        r = get_string(bus, path, SD_UNIT, "ActiveState", &s.active_state);
        if (r < 0)
                return r;
        r = get_string(bus, path, SD_UNIT, "SubState", &s.sub_state);
        if (r < 0)
                return r;
        r = get_string(bus, path, SD_UNIT, "UnitFileState", &s.unit_file_state);
        if (r < 0)
                return r;

        iface = unit_interface(name);
        if (iface && streq(s.load_state, "loaded")) {
                /* Every type listed in unit_interface() has a Result property. */
                r = get_string(bus, path, iface, "Result", &s.result);
                if (r < 0)
                        return r;
                if (strstr(iface, ".Timer")) {
                        r = timer_next_elapse(bus, path, iface, &s.next_elapse_realtime);
                        if (r < 0)
                                return r;
                        r = get_trivial(bus, path, iface, "LastTriggerUSec", 't', &s.last_trigger_realtime);
                        if (r < 0)
                                return r;
                } else if (strstr(iface, ".Service")) {
                        int32_t status;
                        r = get_trivial(bus, path, iface, "ExecMainStatus", 'i', &status);
                        if (r < 0)
                                return r;
                        s.exec_main_status = status;
                }
        }
        if (!s.result) {
                s.result = strdup("");
                if (!s.result)
                        return -ENOMEM;
        }
        *ret = s;
        s = (struct unit_state) {};
        return 0;
}

void unit_state_done(struct unit_state *s) {
        if (!s)
                return;
        free(s->load_state);
        free(s->active_state);
        free(s->sub_state);
        free(s->unit_file_state);
        free(s->result);
        *s = (struct unit_state) {};
}
