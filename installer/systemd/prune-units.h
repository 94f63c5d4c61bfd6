/* SPDX-License-Identifier: MIT */
#pragma once

/* The pruner's systemd units, rendered from the templates embedded in the binary
 * (units/dind-cache-prune.service, .timer). Never prints; returns negative errno.
 *
 * Invariants: a rendered unit differs from its template only in the service's
 * ExecStart= and ReadWritePaths= and the timer's OnUnitActiveSec=; the same inputs give the same bytes.
 * The service writes nothing but its StateDirectory= (/var/lib/dind-cache) and the
 * metrics directory: the data directory stays read-only to it (statfs is all it
 * needs there). */

#include <stdint.h>

#define PRUNE_SERVICE "dind-cache-prune.service"
#define PRUNE_TIMER "dind-cache-prune.timer"
#define PRUNE_SERVICE_ASSET "units/" PRUNE_SERVICE
#define PRUNE_TIMER_ASSET "units/" PRUNE_TIMER

/* "ExecStart=BINARY prune", and "ReadWritePaths=-TEXTFILE_DIR" (the metrics
 * directory; empty when TEXTFILE_DIR is NULL: metrics off). -EINVAL when a path cannot be written
 * verbatim or the sandbox hides it. */
int prune_service_text(const char *binary, const char *textfile_dir, char **ret);
/* "OnUnitActiveSec=" the interval (at least one second). */
int prune_timer_text(uint64_t interval_usec, char **ret);
