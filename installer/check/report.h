/* SPDX-License-Identifier: MIT */
#pragma once

/* Rendering check lists for people and for scripts.
 *
 * Text, one line per result, like kubeadm's preflight:
 *     [OK]   fs_type: xfs on /dev/vdb mounted at /mnt/k8s/docker
 *     [FAIL] d_type: xfs without ftype=1 -> reformat with mkfs.xfs -n ftype=1
 * JSON: { "result": "FAIL", "checks": [ { "name", "state", "message", "remedy",
 *         "value", "threshold" }, ... ] } with absent optional fields omitted. */

#include <jansson.h>
#include <stdio.h>

#include "base/check-list.h"
#include "base/figures.h"

/* Writes the text report to F. Returns 0, or -EIO when F had a write error. */
int report_print_text(FILE *f, const struct check_list *l);

/* The JSON document above; NULL on -ENOMEM. */
json_t *report_to_json(const struct check_list *l);

/* Writes report_to_json() to F, indented, with a final newline. 0, -ENOMEM or -EIO. */
int report_print_json(FILE *f, const struct check_list *l);

/* The caches' figures of FIG for `check --json`, named as in the metrics file without
 * "dind_cache_": {"build_cache_records": 41, ..., "build_cache_reuses_total": 17,
 * "images": 3, "image_bytes": ...}, each only when it was read. NULL on -ENOMEM. */
json_t *report_cache_json(const struct health_figures *fig);
