/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/install.h"
#include "base/log.h"

/* The GitLab CI snippet that points builds at the shared daemon. */
static void print_ci_snippet(const struct install_cluster_result *cluster) {
        printf("\nUse the shared cache from GitLab CI (any namespace allowed by the NetworkPolicy):\n\n"
               "  build_image:\n"
               "    image: docker:cli\n"
               "    variables:\n"
               "      DOCKER_HOST: tcp://%s:2375\n"
               "    script:\n"
               "      - docker info\n"
               "      - docker build -t \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA\" .\n",
               cluster->service_dns);
}

int cmd_install(int argc, char **argv) {
        _cleanup_(install_options_done) struct install_options o = {};
        _cleanup_(install_disk_result_done) struct install_disk_result disk = {};
        _cleanup_(install_cluster_result_done) struct install_cluster_result cluster = {};
        int r;

        r = install_options_parse("install", OPTS_DISK | OPTS_DEVICE | OPTS_SEAL | OPTS_CLUSTER | OPTS_APPLY | OPTS_TIMER,
                                  argc, argv, &o);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;

        if (geteuid() != 0 && !o.dry_run) {
                log_error("install must run as root: it formats, mounts and installs systemd units "
                          "(try --dry-run to see what it would do)");
                return 1;
        }
        if (o.dry_run)
                log_info("Dry run: nothing will be changed.");

        r = install_disk(&o, &disk);
        if (r < 0)
                return 1;

        r = install_cluster(&o, &disk, &cluster);
        if (r < 0)
                return 1;

        r = install_timer(&o);
        if (r < 0)
                return 1;

        if (cluster.service_dns)
                print_ci_snippet(&cluster);
        if (fflush(stdout) != 0)
                return 1;
        log_info(o.dry_run ? "Dry run complete: nothing was changed." : "Install complete.");
        return 0;
}
