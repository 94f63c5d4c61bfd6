/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics/prune-metrics.h"

static void header(FILE *f, const char *name, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

int metrics_prune_text(const struct metrics_prune_input *in, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        header(f, "dind_cache_prune_exit_status",
               "Exit status of the last prune run: 0 under the high watermark, 1 still above it, "
               "2 the run failed (daemon, API or a local error), 3 bad settings.");
        fprintf(f, "dind_cache_prune_exit_status %d\n", in->exit_status);

        if (in->use_known) {
                header(f, "dind_cache_prune_disk_usage_ratio",
                       "Share of the data filesystem used when the last prune run started and ended.");
                fprintf(f, "dind_cache_prune_disk_usage_ratio{at=\"start\"} %.2f\n", in->use_start / 100.0);
                fprintf(f, "dind_cache_prune_disk_usage_ratio{at=\"end\"} %.2f\n", in->use_end / 100.0);
        }
        if (in->high > 0 && in->low > 0 && in->crit > 0) {
                header(f, "dind_cache_prune_watermark_ratio",
                       "The pruner's watermarks (DIND_CACHE_PRUNE_LOW, _HIGH, _CRIT) as shares of the filesystem.");
                fprintf(f, "dind_cache_prune_watermark_ratio{level=\"low\"} %.2f\n", in->low / 100.0);
                fprintf(f, "dind_cache_prune_watermark_ratio{level=\"high\"} %.2f\n", in->high / 100.0);
                fprintf(f, "dind_cache_prune_watermark_ratio{level=\"crit\"} %.2f\n", in->crit / 100.0);
        }
        if (in->counts_known) {
                header(f, "dind_cache_prune_images_removed", "Images the last prune run removed.");
                fprintf(f, "dind_cache_prune_images_removed %" PRIu64 "\n", in->removed_images);
                header(f, "dind_cache_prune_images_kept",
                       "Images the last prune run would have removed but kept, by reason: used by a container, "
                       "used within MIN_AGE, refused by the daemon.");
                fprintf(f, "dind_cache_prune_images_kept{reason=\"in_use\"} %" PRIu64 "\n", in->kept_in_use);
                fprintf(f, "dind_cache_prune_images_kept{reason=\"recent\"} %" PRIu64 "\n", in->kept_recent);
                fprintf(f, "dind_cache_prune_images_kept{reason=\"refused\"} %" PRIu64 "\n", in->refused);
        }
        header(f, "dind_cache_prune_last_run_timestamp_seconds", "When the last prune run ended, in Unix time.");
        fprintf(f, "dind_cache_prune_last_run_timestamp_seconds %.6f\n", (double) in->timestamp_usec / 1e6);

        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}
