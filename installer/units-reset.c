/* SPDX-License-Identifier: MIT */
/* systemd_reset_failed() of units.h, kept apart from units.c (which another hand
 * owns); same conventions: never prints, negative errno, the D-Bus error returned. */
#include <errno.h>
#include <systemd/sd-bus.h>

#include "units.h"

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
