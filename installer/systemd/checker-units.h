/* SPDX-License-Identifier: MIT */
#pragma once

/* The checker's systemd units and journal catalog, rendered from the templates
 * embedded in the binary (units/dind-cache-check.service, .timer,
 * units/dind-cache.catalog) for this node. Never prints; returns negative errno.
 *
 * Invariants: a rendered unit differs from its template only in the values of the
 * keys set here (the service's ExecStart= and ReadWritePaths=, the timer's
 * OnUnitActiveSec=); the same inputs always give the same bytes, so installing
 * twice writes nothing the second time. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECKER_SERVICE "dind-cache-check.service"
#define CHECKER_TIMER "dind-cache-check.timer"
#define CHECKER_SERVICE_ASSET "units/" CHECKER_SERVICE
#define CHECKER_TIMER_ASSET "units/" CHECKER_TIMER
#define CATALOG_ASSET "units/dind-cache.catalog"
/* Where journald looks for catalogs kept by the local administrator. */
#define CATALOG_DIR "/usr/local/lib/systemd/catalog"
#define CATALOG_NAME "dind-cache.catalog"

struct checker_unit_params {
        const char *binary;       /* absolute path of the installed dind-cache */
        const char *data_dir;     /* absolute path the checker probes */
        uint64_t interval_usec;   /* between runs; at least one second */
        const char *textfile_dir; /* the metrics directory the checker writes, or NULL */
};

/* The service: the template with "ExecStart=BINARY check" and
 * "ReadWritePaths=-DATA_DIR" (and " -TEXTFILE_DIR" when set). -EINVAL when a path cannot be written into a unit
 * file verbatim (see unit_path_is_plain) or is hidden by the service's sandbox
 * (see checker_path_hidden); -ENOENT when the template lacks a key. */
int checker_service_text(const struct checker_unit_params *p, char **ret);

/* The timer: the template with "OnUnitActiveSec=" the interval. */
int checker_timer_text(const struct checker_unit_params *p, char **ret);

/* The service template ASSET with "ExecStart=BINARY VERB" and "ReadWritePaths=-TEXTFILE_DIR"
 * (empty when TEXTFILE_DIR is NULL: metrics off): the pruner's and the plugin's units.
 * -EINVAL when a path cannot be written verbatim or the sandbox hides it, -ENOENT when
 * the template is not built in or lacks a key. */
int unit_service_text(const char *asset, const char *binary, const char *verb, const char *textfile_dir,
                      char **ret);

/* Returns a copy of TEXT where the value of the only KEY= line inside [SECTION] is
 * VALUE. -ENOENT no such line, -ENOTUNIQ more than one (an ambiguous template). */
int unit_text_set_value(const char *text, const char *section, const char *key,
                        const char *value, char **ret);

/* True when PATH is absolute and may appear verbatim in ExecStart= or
 * ReadWritePaths=: no whitespace, quotes, backslash, '%', '$', ';' or control
 * characters, no "." or ".." components, at most PATH_MAX bytes. */
bool unit_path_is_plain(const char *path);

/* True when PATH lies where the service's sandbox hides it (ProtectHome=,
 * PrivateTmp=, PrivateDevices=): /home, /root, /run/user, /tmp, /var/tmp, /dev. */
bool checker_path_hidden(const char *path);

/* A systemd time span for USEC: "5min", "90s", "1500ms". BUF of 32 bytes or more. */
char *format_timespan_unit(uint64_t usec, char *buf, size_t size);

/* Realtime USEC as systemctl shows it, in local time: "2024-05-01 10:15:00 UTC".
 * "n/a" for 0. BUF of 64 bytes or more. */
char *format_timestamp_unit(uint64_t usec, char *buf, size_t size);
