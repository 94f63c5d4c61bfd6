/* SPDX-License-Identifier: MIT */
/* Where check and prune write their metrics files: DIND_CACHE_TEXTFILE_DIR from the
 * node's settings, and one place that says why nothing was written. */
#include <stdlib.h>

#include "base/log.h"
#include "base/settings.h"
#include "cmd/cmd.h"
#include "metrics/textfile.h"

int cmd_metrics_dir(char **ret) {
        const char *env = node_settings_textfile_dir(NULL);
        int r = metrics_textfile_dir(env, METRICS_DEFAULT_DIR, ret);

        if (r < 0) {
                char shown[METRICS_LABEL_MAX * 2 + 8]; /* capped, no control characters */
                log_warning_errno(r, "no metrics written: %s='%s': %m", METRICS_DIR_ENV,
                                  metrics_label_escape(env, shown, sizeof(shown)));
                return 0;
        }
        return r;
}
