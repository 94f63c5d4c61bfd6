/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "base/text.h"
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
        { "authz", cmd_authz, "the daemon's authorization plugin (run by dind-cache-authz.socket)" },
        { "revoke", cmd_revoke, "refuse a client certificate from its next request on" },
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

/* Every argument (a path, an image, a URL, a name) is printable UTF-8: anything else is
 * refused before a command sees it, and echoed escaped. A newline in --data-dir would
 * forge lines of a report; bytes that are not UTF-8 cannot be JSON or YAML. */
static bool arguments_are_text(const char *command, int argc, char **argv) {
        for (int i = 0; i < argc; i++) {
                const char *why = text_setting_problem(argv[i]);
                _cleanup_free_ char *shown = NULL;

                if (!why)
                        continue;
                shown = text_escape(argv[i], 256);
                fprintf(stderr, "dind-cache %s: argument '%s' %s\nTry 'dind-cache %s --help'.\n", command,
                        shown ?: "?", why, command);
                return false;
        }
        return true;
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
                if (streq(argv[1], commands[i].name)) {
                        if (!arguments_are_text(argv[1], argc - 2, argv + 2))
                                /* check reports in monitoring-plugin terms: a bad setting is UNKNOWN. */
                                return streq(argv[1], "check") ? EXIT_PLUGIN_UNKNOWN : EXIT_USAGE;
                        return commands[i].run(argc - 1, argv + 1);
                }

        _cleanup_free_ char *shown = text_escape(argv[1], 256);
        fprintf(stderr, "dind-cache: unknown command '%s'\nTry 'dind-cache --help'.\n", shown ?: "?");
        return EXIT_USAGE;
}
