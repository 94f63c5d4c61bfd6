/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "cmd.h"
#include "log.h"

int cmd_check(int argc, char **argv) {
        log_error("'check' is not written yet");
        return 1;
}
