/* SPDX-License-Identifier: MIT */
/* The node's env file read and written by the commands: one place that says which line
 * systemd refuses, or reads differently by version, when the library refuses it. */
#include <errno.h>

#include "base/log.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "systemd/envfile.h"

static int log_envfile_error(int r, const char *verb, const char *path) {
        _cleanup_free_ char *why = r == -EBADMSG ? envfile_explain_file(path) : NULL;

        if (why)
                return log_error_errno(r, "cannot %s '%s': %s; fix or remove it", verb, path, why);
        return log_error_errno(r, "cannot %s '%s': %m", verb, path);
}

int cmd_envfile_read(const char *path, struct envfile *ret) {
        int r = envfile_read(path, ret);
        return r < 0 && r != -ENOENT ? log_envfile_error(r, "read", path) : r;
}

int cmd_envfile_write(const char *path, const struct envfile *e) {
        int r = envfile_write(path, e);
        return r < 0 ? log_envfile_error(r, "update", path) : r;
}
