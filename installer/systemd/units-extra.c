/* SPDX-License-Identifier: MIT */
/* systemd_reset_failed(), systemd_need_daemon_reload(), systemd_main_pid(), systemd_timer_next_elapse() and systemd_error_text() of units.h, kept apart
 * from units.c (which another hand owns); same conventions: never prints, negative
 * errno, the D-Bus error returned. */
#include <errno.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "systemd/units.h"
#include "base/util.h"

int systemd_reset_failed(sd_bus *bus, const char *name, sd_bus_error *ret_error) {
        sd_bus_error local = SD_BUS_ERROR_NULL;
        sd_bus_error *e = ret_error ? ret_error : &local;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "ResetFailedUnit", e, NULL, "s", name);
        if (r < 0 && sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
                r = -ENOENT;
        sd_bus_error_free(&local);
        return r < 0 ? r : 0;
}

int systemd_need_daemon_reload(sd_bus *bus, const char *name) {
        _cleanup_free_ char *path = NULL;
        int need = 0, r;

        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit",
                                        "NeedDaemonReload", NULL, 'b', &need);
        if (r < 0)
                return r;
        return need ? 1 : 0;
}

int systemd_main_pid(sd_bus *bus, const char *name, uint32_t *ret_pid) {
        _cleanup_free_ char *path = NULL;
        uint32_t pid = 0;
        int r;

        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Service",
                                        "MainPID", NULL, 'u', &pid);
        if (r < 0)
                return r;
        *ret_pid = pid;
        return 0;
}

static uint64_t clock_usec(clockid_t id) {
        struct timespec ts;
        clock_gettime(id, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

int systemd_timer_next_elapse(sd_bus *bus, const char *name, uint64_t *ret_realtime) {
        _cleanup_free_ char *path = NULL;
        uint64_t realtime = 0, monotonic = 0, when = 0;
        int r;

        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Timer",
                                        "NextElapseUSecRealtime", NULL, 't', &realtime);
        if (r < 0)
                return r;
        r = sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Timer",
                                        "NextElapseUSecMonotonic", NULL, 't', &monotonic);
        if (r < 0)
                return r;
        if (realtime == UINT64_MAX)
                realtime = 0;
        if (monotonic != 0 && monotonic != UINT64_MAX) {
                /* As systemctl list-timers does: the monotonic time in wall-clock time. */
                uint64_t now_mono = clock_usec(CLOCK_MONOTONIC), now_real = clock_usec(CLOCK_REALTIME);
                when = monotonic > now_mono ? now_real + (monotonic - now_mono) : now_real;
        }
        if (realtime != 0 && (when == 0 || realtime < when))
                when = realtime;
        *ret_realtime = when;
        return 0;
}

const char *systemd_error_text(const sd_bus_error *e, int r) {
        return sd_bus_error_is_set(e) ? e->message : strerror(-r);
}
