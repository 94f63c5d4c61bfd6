/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/install.h"
#include "base/log.h"
#include "kube/manifest.h"

#define PLAINTEXT_WARNING \
        "!!! --plaintext: the daemon serves port 2375 WITHOUT TLS: any pod, node or process that reaches " \
        "it is root on this node (the NetworkPolicy helps only where the network plugin enforces it). " \
        "Re-run install without --plaintext to switch to mutual TLS on 2376 !!!"

/* The GitLab CI snippet that points builds at the shared daemon. */
static void print_ci_snippet(const struct install_options *o, const struct install_cluster_result *cluster) {
        if (o->plaintext) {
                printf("\nUse the shared cache from GitLab CI (any namespace allowed by the NetworkPolicy):\n\n"
                       "  build_image:\n"
                       "    image: docker:cli\n"
                       "    variables:\n"
                       "      DOCKER_HOST: tcp://%s:2375\n"
                       "    script:\n"
                       "      - docker info\n"
                       "      - docker build -t \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA\" .\n",
                       cluster->service_dns);
                return;
        }
        printf("\nUse the shared cache from GitLab CI. Jobs run in a namespace given with --allow-namespace, "
               "where install put that namespace's own client certificate (Secret " MANIFEST_CLIENT_SECRET ").\n\n"
               "1. Mount it into every job pod: in the runner's config.toml\n\n"
               "  [[runners]]\n"
               "    [runners.kubernetes]\n"
               "      [[runners.kubernetes.volumes.secret]]\n"
               "        name = \"" MANIFEST_CLIENT_SECRET "\"\n"
               "        mount_path = \"/certs/client\"\n"
               "        read_only = true\n\n"
               "   or, with the GitLab Runner Helm chart, in its values (runners.config):\n\n"
               "  runners:\n"
               "    config: |\n"
               "      [[runners]]\n"
               "        [runners.kubernetes]\n"
               "          [[runners.kubernetes.volumes.secret]]\n"
               "            name = \"" MANIFEST_CLIENT_SECRET "\"\n"
               "            mount_path = \"/certs/client\"\n"
               "            read_only = true\n\n"
               "2. In .gitlab-ci.yml:\n\n"
               "  build_image:\n"
               "    image: docker:cli\n"
               "    variables:\n"
               "      DOCKER_HOST: tcp://%s:2376\n"
               "      DOCKER_TLS_VERIFY: \"1\"\n"
               "      DOCKER_CERT_PATH: /certs/client\n"
               "    script:\n"
               "      - docker info\n"
               "      - docker build -t \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA\" .\n\n"
               "A job's own DOCKER_HOST variable wins over the runner's environment: remove every old "
               "DOCKER_HOST: tcp://...:2375 line from .gitlab-ci.yml files and CI/CD settings.\n",
               cluster->service_dns);
        if (cluster->was_plaintext)
                printf("\nThis install switched the daemon from plaintext port 2375 to mutual TLS on 2376: jobs that "
                       "still use tcp://...:2375 now fail to connect. Change the runner configuration (1.) and the "
                       "jobs' variables (2.) as shown above.\n");
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
        if (o.plaintext)
                log_warning(PLAINTEXT_WARNING);

        r = install_check_node_instance(&o);
        if (r < 0)
                return 1;

        r = install_disk(&o, &disk);
        if (r < 0)
                return 1;

        /* Before the cluster: the daemon's pod answers nothing without the plugin. */
        r = install_authz(&o);
        if (r < 0)
                return 1;

        r = install_cluster(&o, &disk, &cluster);
        if (r < 0)
                return 1;

        r = install_timer(&o);
        if (r < 0)
                return 1;

        /* One unnamed cache alone: the single daemon's snippet, as before instances. */
        if (o.instance || cluster.members.n > 1)
                install_members_print(&o, &cluster.members);
        else if (cluster.service_dns)
                print_ci_snippet(&o, &cluster);
        if (o.plaintext)
                log_warning(PLAINTEXT_WARNING);
        if (fflush(stdout) != 0)
                return 1;
        log_info(o.dry_run ? "Dry run complete: nothing was changed." : "Install complete.");
        return 0;
}
