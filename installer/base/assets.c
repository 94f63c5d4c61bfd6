/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "base/assets.h"

const struct asset *asset_find(const char *name) {
        ASSET_FOREACH(a)
                if (strcmp(a->name, name) == 0)
                        return a;
        return NULL;
}
