/* SPDX-License-Identifier: MIT */
#pragma once

/* The authorization plugin's lists on this node as install keeps them: the deny list
 * (authz/revoked.h), which the certificates install issues are checked against, and
 * the tenant list (authz/tenants.h), which install writes from --allow-namespace.
 * Command layer: logs what fails; the callers print what they did. */

#include <stdbool.h>

#include "authz/plugin.h"
#include "authz/revoked.h"
#include "authz/tenants.h"

#define AUTHZ_REVOKED_PATH AUTHZ_DEFAULT_STATE_DIR "/" REVOKED_FILE
#define AUTHZ_TENANTS_PATH AUTHZ_DEFAULT_STATE_DIR "/" TENANTS_FILE

/* Puts SERIAL (named CN) on the deny list: 1 added, 0 there already; with DRY_RUN
 * nothing is written (1: it would be added). Logs a failure. */
int authz_state_revoke(const char *serial, const char *cn, bool dry_run);

/* The deny list as it is now, for pki_request.revoked (authz_state_is_revoked() with RET
 * as its userdata). A missing file is an empty list; one that cannot be read is an
 * error (logged): install cannot tell which certificates to re-issue. */
int authz_state_load_revoked(struct revoked *ret);
bool authz_state_is_revoked(const char *serial, void *userdata);

/* Writes the tenant list (the plugin's state directory made 0700 when missing); with
 * DRY_RUN says what it would do. 1 written, 0 unchanged; logs a failure. */
int authz_state_write_tenants(char *const *tenants, bool dry_run);
