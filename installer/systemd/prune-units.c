/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "base/assets.h"
#include "systemd/checker-units.h"
#include "systemd/prune-units.h"
#include "base/util.h"

static const char *template(const char *name) {
        const struct asset *a = asset_find(name);
        return a ? (const char *) a->data : NULL;
}

int prune_service_text(const char *binary, const char *textfile_dir, char **ret) {
        return unit_service_text(PRUNE_SERVICE_ASSET, binary, "prune", textfile_dir, ret);
}

int prune_timer_text(uint64_t interval_usec, char **ret) {
        const char *t = template(PRUNE_TIMER_ASSET);
        char span[32];

        if (!t)
                return -ENOENT;
        if (interval_usec < 1000000)
                return -EINVAL;
        return unit_text_set_value(t, "Timer", "OnUnitActiveSec",
                                   format_timespan_unit(interval_usec, span, sizeof(span)), ret);
}
