/* SPDX-License-Identifier: MIT */
#pragma once

/* Messages for people, on stderr. Only the command layer (main.c, cmd-*.c,
 * install-*.c) logs; library modules return negative errno instead.
 *
 * log_error_errno() logs and returns its negative errno argument, so an error is
 * logged and returned in one step; "%m" in the format prints that error's text:
 *         r = disk_probe(path, &probe);
 *         if (r < 0)
 *                 return log_error_errno(r, "cannot probe '%s': %m", path); */

#include "base/util.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Messages above this level are dropped. INFO by default; --quiet/--verbose move it. */
void log_set_max_level(enum log_level level);
enum log_level log_get_max_level(void);

int log_full_errno(enum log_level level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_error_errno(error, ...) log_full_errno(LOG_LEVEL_ERROR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_LEVEL_WARNING, (error), __VA_ARGS__)
#define log_error(...) ((void) log_full_errno(LOG_LEVEL_ERROR, 0, __VA_ARGS__))
#define log_warning(...) ((void) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__))
#define log_info(...) ((void) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__))
#define log_debug(...) ((void) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__))
