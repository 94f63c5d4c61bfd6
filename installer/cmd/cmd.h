/* SPDX-License-Identifier: MIT */
#pragma once

/* The subcommands. Each takes the arguments after its name (argv[0] is the command
 * name) and returns the process exit status:
 *   preflight, install, render, uninstall: 0 success (warnings allowed), 1 a check or
 *     an action failed, 2 usage error;
 *   check, status: the monitoring-plugin convention, 0 OK, 1 WARNING, 2 CRITICAL,
 *     3 UNKNOWN (a usage error is UNKNOWN);
 *   prune: 0 under the high watermark, 1 still above it, 2 the run failed (daemon,
 *     API or a local error), 3 bad settings (a usage error too);
 *   authz: 0 stopped by a signal, 1 it could not serve, 2 usage error;
 *   revoke: 0 revoked (or already), 1 it could not, 2 usage error. */

#define EXIT_USAGE 2
#define EXIT_PLUGIN_UNKNOWN 3

int cmd_preflight(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_uninstall(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_authz(int argc, char **argv);
int cmd_revoke(int argc, char **argv);

/* The metrics directory (DIND_CACHE_TEXTFILE_DIR, else node_exporter's when it
 * exists): 1 and the path in RET, or 0 for none (a bad setting is logged as a
 * warning: metrics never fail a command). */
int cmd_metrics_dir(char **ret);

struct envfile;
/* envfile_read() and envfile_write() of the node's env file at PATH, with their
 * results; an error is logged (a read's -ENOENT is not: no file yet), naming the line
 * when systemd refuses the file or its versions read it differently. */
int cmd_envfile_read(const char *path, struct envfile *ret);
int cmd_envfile_write(const char *path, const struct envfile *e);
