/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"
#include "cmd/authz-state.h"

int authz_state_revoke(const char *serial, const char *cn, bool dry_run) {
        struct revoked now = {};
        int r;

        if (dry_run) {
                r = authz_state_load_revoked(&now);
                if (r >= 0)
                        r = !revoked_contains(&now, serial);
                revoked_done(&now);
                return r;
        }
        r = mkdir_p(AUTHZ_DEFAULT_STATE_DIR, 0700);
        if (r >= 0)
                r = revoked_add(AUTHZ_REVOKED_PATH, serial, cn, time(NULL));
        if (r < 0)
                return log_error_errno(r, "cannot put certificate %s on the deny list '%s': %m", serial,
                                       AUTHZ_REVOKED_PATH);
        return r;
}

int authz_state_load_revoked(struct revoked *ret) {
        int r = revoked_init(ret, AUTHZ_REVOKED_PATH);

        if (r >= 0)
                r = revoked_refresh(ret);
        if (r < 0) {
                revoked_done(ret);
                return log_error_errno(r, "cannot read the deny list '%s': %m", AUTHZ_REVOKED_PATH);
        }
        return 0;
}

bool authz_state_is_revoked(const char *serial, void *userdata) {
        return revoked_contains(userdata, serial);
}

int authz_state_write_tenants(char *const *tenants, bool dry_run) {
        int r;

        if (dry_run) {
                printf("Authorization plugin: would %s the tenant list %s\n",
                       tenants_written(AUTHZ_TENANTS_PATH, tenants) ? "leave unchanged" : "write",
                       AUTHZ_TENANTS_PATH);
                return 0;
        }
        r = mkdir_p(AUTHZ_DEFAULT_STATE_DIR, 0700);
        if (r >= 0)
                r = tenants_write(AUTHZ_TENANTS_PATH, tenants);
        if (r < 0)
                return log_error_errno(r, "cannot write the plugin's tenant list '%s': %m", AUTHZ_TENANTS_PATH);
        log_info("Authorization plugin: tenant list %s %s", AUTHZ_TENANTS_PATH, r > 0 ? "written" : "unchanged");
        return r;
}
