/* SPDX-License-Identifier: MIT */
/* metrics_text() with label values from the command line, byte for byte, for the
 * integration tests to hand to the real `promtool check metrics`:
 *     metrics-text DATA_DIR [INSTANCE]   the checker's file with one check named DATA_DIR
 * The command's own argument check (printable UTF-8 only) is not in the way here: the
 * library must keep the file valid whatever it is given. */
#include <stdio.h>
#include <stdlib.h>

#include "base/check-list.h"
#include "metrics/textfile.h"

int main(int argc, char **argv) {
        struct check_list l = {};
        char *text = NULL;
        int r;

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: metrics-text DATA_DIR [INSTANCE]\n");
                return 1;
        }
        if (!check_list_add(&l, argv[1], CHECK_FAIL, NULL, "a check named like the data directory"))
                return 1;
        r = metrics_text(&(struct metrics_input) { .checks = &l, .data_dir = argv[1],
                                                   .instance = argc == 3 ? argv[2] : NULL,
                                                   .disk_warn = 80, .disk_crit = 90,
                                                   .timestamp_usec = 1 }, &text);
        check_list_done(&l);
        if (r < 0) {
                fprintf(stderr, "metrics-text: cannot make the text\n");
                return 1;
        }
        fputs(text, stdout);
        free(text);
        return fflush(stdout) == 0 ? 0 : 1;
}
