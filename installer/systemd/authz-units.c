/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "base/assets.h"
#include "systemd/authz-units.h"
#include "systemd/checker-units.h"

int authz_socket_text(char **ret) {
        const struct asset *a = asset_find(AUTHZ_SOCKET_ASSET);

        if (!a)
                return -ENOENT;
        *ret = strdup((const char *) a->data);
        return *ret ? 0 : -ENOMEM;
}

int authz_service_text(const char *binary, const char *textfile_dir, char **ret) {
        return unit_service_text(AUTHZ_SERVICE_ASSET, binary, "authz", textfile_dir, ret);
}
