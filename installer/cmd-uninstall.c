/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "cmd.h"
#include "log.h"

int cmd_uninstall(int argc, char **argv) {
        log_error("'uninstall' is not written yet");
        return 1;
}
