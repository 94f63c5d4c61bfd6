/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "install.h"
#include "log.h"

int install_disk(const struct install_options *o, struct install_disk_result *ret) {
        return log_error_errno(-EOPNOTSUPP, "the disk step is not written yet");
}
