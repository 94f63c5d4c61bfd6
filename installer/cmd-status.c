/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "cmd.h"
#include "log.h"

int cmd_status(int argc, char **argv) {
        log_error("'status' is not written yet");
        return 1;
}
