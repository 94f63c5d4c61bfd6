/* SPDX-License-Identifier: MIT */
#pragma once

/* The checker's findings as a Prometheus text-format file for node_exporter's textfile
 * collector: DIR/dind_cache.prom, rewritten by every check run.
 *
 * Invariants:
 * - The file is replaced atomically (a temporary file in the same directory, fsync,
 *   rename, fsync of the directory), mode 0644: node_exporter never reads half a file,
 *   and reads only names ending in ".prom", so the temporary one is never scraped.
 * - Samples carry no timestamp; dind_cache_last_run_timestamp_seconds says when.
 * - Every metric has HELP and TYPE; names have the one prefix "dind_cache_" and base
 *   units (bytes, seconds, ratios), as `promtool check metrics` wants.
 * - Label values come from outside (check names, the data directory): control
 *   characters (C0, DEL, C1) are dropped, \ and " escaped, each byte that starts no
 *   character of strict UTF-8 (base/text.h: no overlong form, no surrogate, nothing
 *   above U+10FFFF, for which Prometheus refuses the whole file) becomes '?', at most
 *   METRICS_LABEL_MAX bytes kept (never cutting a UTF-8 sequence). One series per check name: a name listed
 *   twice (several bad settings) gives its worst state.
 * - No secret is written: no DOCKER_HOST, no node credentials.
 * - Library: never prints; negative errno. */

#include <stdint.h>

#include "base/check-list.h"
#include "base/figures.h"
#include "base/settings.h"

#define METRICS_FILE_NAME "dind_cache.prom"
/* Debian's prometheus-node-exporter reads textfiles from here. */
#define METRICS_DEFAULT_DIR "/var/lib/prometheus/node-exporter"
#define METRICS_DIR_ENV SETTINGS_KEY_TEXTFILE_DIR    /* the node setting that names it */
#define METRICS_LABEL_MAX 256

struct metrics_input {
        const struct check_list *checks;      /* the run's results */
        const struct health_figures *figures; /* or NULL: nothing was measured (bad settings) */
        const char *data_dir;                 /* for dind_cache_info; NULL: omitted */
        const char *instance;                 /* its dind_instance label; NULL: none (the
                                               * unnamed instance). Not "instance", which
                                               * Prometheus gives every scraped series */
        int disk_warn, disk_crit;             /* percent; 0 when unknown (bad settings) */
        uint64_t timestamp_usec;              /* realtime of the run */
};

/* The file's text. -ENOMEM. */
int metrics_text(const struct metrics_input *in, char **ret);

/* S as a label value, without the quotes, into BUF (SIZE > METRICS_LABEL_MAX * 2):
 * see the invariants. Returns BUF. */
char *metrics_label_escape(const char *s, char *buf, size_t size);

/* Where to write: ENV_VALUE (the value of DIND_CACHE_TEXTFILE_DIR, or NULL when
 * unset) names a directory that must exist (-EINVAL not an absolute path, -ENOENT
 * missing, -ENOTDIR not a directory); set but empty turns metrics off. Unset:
 * DEFAULT_DIR when it is a directory. Returns 1 and the directory in RET, or 0
 * (no metrics, RET untouched). */
int metrics_textfile_dir(const char *env_value, const char *default_dir, char **ret);

/* Writes TEXT to DIR/dind_cache.prom as the invariants say. 0 or negative errno. */
int metrics_write(const char *dir, const char *text);

/* The same for another file of the family, for another command's figures (pruning:
 * "dind_cache_prune.prom"), so that runs of different commands never overwrite each
 * other: NAME must start with "dind_cache", end in ".prom" and hold no '/' (-EINVAL). */
int metrics_write_named(const char *dir, const char *name, const char *text);
