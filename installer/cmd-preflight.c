/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "cmd.h"
#include "log.h"

int cmd_preflight(int argc, char **argv) {
        log_error("'preflight' is not written yet");
        return 1;
}
