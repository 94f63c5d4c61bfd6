/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "cmd.h"
#include "log.h"

int cmd_render(int argc, char **argv) {
        log_error("'render' is not written yet");
        return 1;
}
