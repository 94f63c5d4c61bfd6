/* SPDX-License-Identifier: MIT */
#pragma once

/* Files of the source tree embedded in the binary at build time: every
 * manifests/NAME.yaml and every file under units/. The binary is copied to nodes
 * alone, so it carries what it installs.
 *
 * Invariants: the table ends with an entry whose name is NULL; every entry's data is
 * followed by a NUL byte (not counted in size), so text assets are C strings. */

#include <stddef.h>

struct asset {
        const char *name;            /* path in the source tree: "manifests/pv.yaml" */
        const unsigned char *data;
        size_t size;
};

extern const struct asset dind_assets[];

#define ASSET_FOREACH(a) for (const struct asset *a = dind_assets; a->name; a++)

/* The asset named NAME ("units/dind-cache-check.timer"), or NULL. */
const struct asset *asset_find(const char *name);
