/* SPDX-License-Identifier: MIT */
/* dind-cache render [install's cluster and disk flags]: the manifests as they would be
 * applied, YAML documents on stdout. Talks to no cluster and changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <sys/statvfs.h>

#include "cmd/cmd.h"
#include "cmd/install.h"
#include "base/json-util.h"
#include "base/log.h"
#include "kube/manifest.h"
#include "kube/yaml.h"

/* --capacity, else the size of the filesystem at --data-dir (when it exists), else
 * the manifests' own; says which on stderr, as a YAML comment. */
static int render_capacity(const struct install_options *o, uint64_t *ret) {
        struct statvfs sv;
        char q[32];

        if (o->capacity > 0) {
                *ret = o->capacity;
                return 0;
        }
        if (statvfs(o->data_dir, &sv) < 0) {
                if (errno != ENOENT)
                        return log_error_errno(-errno, "cannot read the size of '%s': %m", o->data_dir);
                fprintf(stderr, "# capacity: '%s' does not exist, so the manifests' default is kept "
                        "(set --capacity)\n", o->data_dir);
                *ret = 0;
                return 0;
        }
        *ret = capacity_round_down((uint64_t) sv.f_blocks * sv.f_frsize);
        if (*ret == 0) {
                fprintf(stderr, "# capacity: the filesystem at '%s' reports no size, so the "
                        "manifests' default is kept (set --capacity)\n", o->data_dir);
                return 0;
        }
        fprintf(stderr, "# capacity %s: the size of the filesystem at '%s', rounded down\n",
                format_quantity(*ret, q, sizeof(q)), o->data_dir);
        return 0;
}

int cmd_render(int argc, char **argv) {
        _cleanup_(install_options_done) struct install_options o = {};
        _cleanup_json_ json_t *objects = NULL;
        struct manifest_params p;
        size_t i;
        json_t *obj;
        int r;

        r = install_options_parse("render", OPTS_DISK | OPTS_CLUSTER, argc, argv, &o);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;

        install_manifest_params(&o, 0, &p);
        if (render_capacity(&o, &p.capacity) < 0)
                return 1;

        r = install_render_manifests(&p, &objects);
        if (r < 0)
                return 1;
        if (o.plaintext)
                fprintf(stderr, "# --plaintext: port 2375 WITHOUT TLS; whoever reaches it is root on the node\n");
        else
                fprintf(stderr, "# mutual TLS on 2376: the Secrets %s, %s and each allowed namespace's %s are not "
                        "printed; install makes them on the node (its CA key never leaves it)\n",
                        o.names.server_secret, o.names.prune_secret, o.names.client_secret);

        json_array_foreach(objects, i, obj) {
                _cleanup_free_ char *text = NULL;

                r = yaml_dump(obj, &text);
                if (r < 0) {
                        _cleanup_free_ char *what = manifest_describe(obj);
                        log_error_errno(r, "cannot write '%s' as YAML: %m", what ?: "an object");
                        return 1;
                }
                fputs("---\n", stdout);
                fputs(text, stdout);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error_errno(-errno, "cannot write the manifests to standard output: %m");
                return 1;
        }
        return 0;
}
