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
        _cleanup_free_ char *exec = NULL, *step = NULL, *rw = NULL;
        const char *t = template(PRUNE_SERVICE_ASSET);
        int r;

        if (!t)
                return -ENOENT;
        if (!unit_path_is_plain(binary) || checker_path_hidden(binary))
                return -EINVAL;
        if (textfile_dir && (!unit_path_is_plain(textfile_dir) || checker_path_hidden(textfile_dir)))
                return -EINVAL;
        exec = strdup_printf("%s prune", binary);
        if (!exec)
                return -ENOMEM;
        r = unit_text_set_value(t, "Service", "ExecStart", exec, &step);
        if (r < 0)
                return r;
        /* The metrics directory, like the checker's: '-' as it may be absent; none
         * (an empty assignment) when metrics are off. */
        rw = textfile_dir ? strdup_printf("-%s", textfile_dir) : strdup("");
        if (!rw)
                return -ENOMEM;
        return unit_text_set_value(step, "Service", "ReadWritePaths", rw, ret);
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
