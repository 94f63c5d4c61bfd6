/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "disk/blockdev.h"
#include "cmd/cmd.h"
#include "disk/datadir.h"
#include "disk/disk-step.h"
#include "cmd/install.h"
#include "base/log.h"
#include "check/report.h"

/* preflight changes nothing: the data directory is never created, the device never
 * formatted, and --format (which the disk option group knows) is refused. */
int cmd_preflight(int argc, char **argv) {
        _cleanup_(install_options_done) struct install_options o = {};
        _cleanup_(check_list_done) struct check_list l = {};
        _cleanup_(disk_step_facts_done) struct disk_step_facts f = {};
        struct datadir_options d;
        enum check_state worst;
        int r;

        r = install_options_parse("preflight", OPTS_DISK | OPTS_DEVICE | OPTS_JSON, argc, argv, &o);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        if (o.format) {
                fprintf(stderr, "dind-cache preflight: --format is not accepted: preflight changes nothing "
                                "(formatting is done by 'dind-cache install --device DEV --format')\n"
                                "Try 'dind-cache preflight --help'.\n");
                return EXIT_USAGE;
        }

        /* The facts install's disk step reads, once: one read of the mount table. */
        r = disk_step_gather(&(struct disk_step_options) { .data_dir = o.data_dir, .device = o.device,
                                                           .capacity = o.capacity }, &f);
        if (r < 0) {
                log_error_errno(r, "cannot read the mount table: %m");
                return 1;
        }
        d = (struct datadir_options) {
                .data_dir = o.data_dir,
                .capacity = o.capacity,
                .create = false,
                .device = o.device,
                .mounts = &f.mounts,
        };

        if (o.device) {
                enum blockdev_verdict verdict;

                /* A device already mounted at the data directory (install has run) is
                 * judged by the filesystem checks, not refused as "in use". */
                if (f.mounted_r > 0)
                        r = check_list_add(&l, "device", CHECK_OK, NULL, "%s is mounted at %s", o.device, o.data_dir)
                                    ? 0 : -ENOMEM;
                else
                        r = blockdev_judge(o.device, f.inspect_r, &f.device, o.capacity, &l, &verdict);
                if (r < 0) {
                        log_error_errno(r, "cannot check '%s': %m", o.device);
                        return 1;
                }
        }

        r = datadir_check(&d, &l);
        if (r < 0) {
                log_error_errno(r, "cannot check '%s': %m", o.data_dir);
                return 1;
        }

        r = o.json ? report_print_json(stdout, &l) : report_print_text(stdout, &l);
        if (r < 0) {
                log_error_errno(r, "cannot write the report: %m");
                return 1;
        }

        worst = check_list_worst(&l);
        if (!o.json) {
                size_t fails = check_list_count(&l, CHECK_FAIL) + check_list_count(&l, CHECK_UNKNOWN);
                size_t warns = check_list_count(&l, CHECK_WARN);
                if (fails)
                        log_error("preflight failed: %zu check(s) failed, %zu warning(s)", fails, warns);
                else if (warns)
                        log_warning("preflight passed with %zu warning(s)", warns);
                else
                        log_info("preflight passed");
        }
        return worst >= CHECK_UNKNOWN ? 1 : 0;
}
