/* SPDX-License-Identifier: MIT */
#pragma once

/* Where install puts each of our units (every .service and .timer under units/):
 *
 * - Packaged: the package ships the unit in the vendor directory (DIND_CACHE_UNITDIR,
 *   compiled in: /usr/lib/systemd/system for the Debian package), neither enabled nor
 *   started. install then writes only what differs on this node, as a drop-in
 *   /etc/systemd/system/NAME.d/dind-cache.conf, and removes a complete unit of ours
 *   that an earlier, unpackaged install left in /etc/systemd/system (it would hide
 *   the package's).
 * - Unpackaged (make install): no vendor copy, so install writes the complete unit to
 *   /etc/systemd/system, as it always did.
 *
 * Invariants:
 * - The drop-in holds only keys whose values differ from the vendor copy, section by
 *   section. List settings (ExecStart=, ReadWritePaths=, EnvironmentFile=, ...) are
 *   reset with an empty assignment before their values; a changed timer trigger
 *   (OnBootSec=, OnUnitActiveSec=, OnCalendar=, ...) resets all triggers and repeats
 *   every trigger of the rendered unit, since an empty trigger resets them all.
 * - No difference: no drop-in (an old one is removed).
 * - Same inputs, same bytes: a second install writes nothing.
 * - Library: never prints; negative errno. */

#include <stdbool.h>

#ifndef DIND_CACHE_UNITDIR
#define DIND_CACHE_UNITDIR "/usr/local/lib/systemd/system"
#endif
#ifndef DIND_CACHE_CATALOGDIR
#define DIND_CACHE_CATALOGDIR "/usr/local/lib/systemd/catalog"
#endif
#define UNIT_DROPIN_NAME "dind-cache.conf"
/* The first line of every unit (template) of ours. */
#define UNIT_OURS_PREFIX "# dind-cache"

/* The drop-in that turns VENDOR into RENDERED (both unit texts). 1 and the text in
 * RET when they differ, 0 when RENDERED adds nothing (RET untouched), -ENOMEM. */
int unit_dropin_text(const char *vendor, const char *rendered, char **ret);

/* What install does for one unit. */
struct unit_place {
        char *name;        /* "dind-cache-check.service" */
        bool vendor;       /* a packaged copy exists */
        char *path;        /* the file install owns: ETC_DIR/NAME, or the drop-in */
        char *text;        /* its content; NULL: it must not exist (no difference) */
        char *stale;       /* a complete unit of ours in ETC_DIR to remove, or NULL */
};
void unit_place_done(struct unit_place *p);

/* Plans NAME with RENDERED text: vendored when VENDOR_DIR/NAME exists (VENDOR_DIR
 * NULL or equal to ETC_DIR: never). */
int unit_place_plan(const char *vendor_dir, const char *etc_dir, const char *name,
                    const char *rendered, struct unit_place *ret);

/* 1 when the files already are as planned (what a dry run says), 0 when not. */
int unit_place_same(const struct unit_place *p);

/* Writes (atomically, 0644) or removes the planned file, removes the stale unit and
 * an empty drop-in directory. 1 something changed, 0 nothing did. */
int unit_place_apply(const struct unit_place *p);

/* ETC_DIR/NAME.d, where the drop-in goes; NULL on -ENOMEM. */
char *unit_dropin_dir(const char *etc_dir, const char *name);
