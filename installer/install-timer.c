/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "install.h"
#include "log.h"

int install_timer(const struct install_options *o) {
        return log_error_errno(-EOPNOTSUPP, "the timer step is not written yet");
}
