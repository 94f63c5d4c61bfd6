/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "install.h"
#include "log.h"

int install_cluster(const struct install_options *o, const struct install_disk_result *disk,
                    struct install_cluster_result *ret) {
        return log_error_errno(-EOPNOTSUPP, "the cluster step is not written yet");
}
