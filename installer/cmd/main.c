/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "base/util.h"

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
} commands[] = {
        { "preflight", cmd_preflight, "check the data directory (and a device) without changing anything" },
        { "install", cmd_install, "prepare the disk, apply the cluster objects, install the checker" },
        { "render", cmd_render, "print the final Kubernetes manifests as YAML, no cluster needed" },
        { "check", cmd_check, "check disk health and daemon reachability (run by the timer)" },
        { "prune", cmd_prune, "keep the cache under its disk watermarks, least recently used first" },
        { "status", cmd_status, "show the checker's timer and last results, and disk use" },
        { "uninstall", cmd_uninstall, "remove the checker (and, on request, cluster objects or data)" },
};

static void usage(FILE *f) {
        fprintf(f,
                "Usage: dind-cache COMMAND [OPTIONS]\n"
                "\n"
                "A persistent, shared Docker layer cache for CI builds on Kubernetes: one\n"
                "docker:dind daemon whose /var/lib/docker is a local volume on this storage node.\n"
                "\n"
                "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
        fprintf(f,
                "\n"
                "Options:\n"
                "  -h, --help     show this help (COMMAND --help for a command's options)\n"
                "  -V, --version  show the version\n");
}

int main(int argc, char **argv) {
        if (argc < 2) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (streq(argv[1], "-h") || streq(argv[1], "--help") || streq(argv[1], "help")) {
                usage(stdout);
                return fflush(stdout) == 0 ? 0 : 1;
        }
        if (streq(argv[1], "-V") || streq(argv[1], "--version")) {
                printf("dind-cache %s\n", DIND_CACHE_VERSION);
                return fflush(stdout) == 0 ? 0 : 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(argv[1], commands[i].name))
                        return commands[i].run(argc - 1, argv + 1);

        fprintf(stderr, "dind-cache: unknown command '%s'\nTry 'dind-cache --help'.\n", argv[1]);
        return EXIT_USAGE;
}
