/* SPDX-License-Identifier: MIT */
#pragma once

/* The journal catalog: the file that explains each MESSAGE_ID (journalctl -x), and
 * journald's binary catalog database built from such files. Never prints.
 *
 * Catalog files only take effect once the database is rebuilt, so every change of
 * a file goes with catalog_update_database(). */

#include <stdint.h>

/* Writes TEXT to DIR/NAME atomically, 0644. 1 written, 0 unchanged, <0 error. */
int catalog_file_write(const char *dir, const char *name, const char *text);
/* Removes DIR/NAME. 1 removed, 0 was absent. */
int catalog_file_remove(const char *dir, const char *name);

/* Runs `journalctl --update-catalog`, waiting at most TIMEOUT_USEC. 0 success;
 * -ENOENT no journalctl; -ETIMEDOUT (the program is killed); -EPROTO when it
 * exited non-zero (its status in *ret_status when not NULL). */
int catalog_update_database(uint64_t timeout_usec, int *ret_status);
