/* SPDX-License-Identifier: MIT */
/* dind-cache uninstall: removes the checker (timer, service, env file, catalog);
 * on request the cluster objects install applied, and the data (--wipe-data).
 * Safe to run twice: what is already gone is not an error. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <sys/stat.h>

#include "authz/owners.h"
#include "authz/plugin.h"
#include "authz/revoked.h"
#include "authz/tenants.h"
#include "systemd/authz-units.h"
#include "systemd/catalog.h"
#include "systemd/checker-units.h"
#include "systemd/prune-units.h"
#include "base/settings.h"
#include "cmd/cmd.h"
#include "cmd/install.h"
#include "base/log.h"
#include "check/cache-state.h"
#include "cmd/uninstall.h"
#include "systemd/envfile.h"
#include "systemd/units.h"
#include "base/unit-name.h"
#include "disk/seal.h"
#include "base/text.h"
#include "kube/instance.h"
#include "systemd/vendor-units.h"
#include "disk/wipe.h"
#include "pki/pki-store.h"

#define STOP_TIMEOUT_USEC (90ULL * 1000000)
#define CATALOG_UPDATE_TIMEOUT_USEC (30ULL * 1000000)
#define POD_GONE_TIMEOUT_USEC (180ULL * 1000000)

struct uninstall_args {
        char *data_dir;
        bool delete_cluster_objects;
        char *kubeconfig;
        char *context;
        char *namespace_;
        char *instance;           /* --instance, or NULL: the unnamed one */
        bool wipe_data;
        bool dry_run;
};

static void help(void) {
        printf("Usage: dind-cache uninstall [OPTIONS]\n"
               "\n"
               "Stops and removes the checker, the pruner and the authorization plugin:\n"
               "dind-cache-check.timer and .service, dind-cache-prune.timer and .service,\n"
               "dind-cache-authz.socket and .service (with the Debian package: disables their\n"
               "units and removes install's drop-ins), the pruner's state, the env file\n"
               SETTINGS_ENV_FILE " and the journal catalog. The data directory's mount unit\n"
               "and the data stay, unless --wipe-data, and so does the plugin's state (ownership,\n"
               "deny list, tenant list), which belongs with them. Running it again is harmless.\n"
               "\n"
               "Options:\n"
               "  --data-dir PATH            the data directory (default " SETTINGS_DEFAULT_DATA_DIR ")\n"
               "  --delete-cluster-objects   also delete what install applied to the cluster\n"
               "                             (the PersistentVolume keeps the data: Retain)\n"
               "  --kubeconfig FILE          kubeconfig for --delete-cluster-objects\n"
               "  --context NAME             kubeconfig context\n"
               "  --namespace NS             namespace of the daemon (default " DEFAULT_NAMESPACE ")\n"
               "  --instance NAME            the instance install made with --instance NAME: its\n"
               "                             objects and its key in ConfigMap " INSTANCE_MEMBERS_CONFIGMAP "\n"
               "                             only (default: the unnamed one). When this node holds\n"
               "                             another instance, only the cluster objects go\n"
               "  --wipe-data                also remove everything inside the data directory\n"
               "                             (never the directory, never across a mount or a\n"
               "                             symlink, never the device's filesystem), then stop\n"
               "                             and remove its mount unit and clear the immutable\n"
               "                             attribute install set beneath it; and the node's\n"
               "                             certificates and CA key (" PKI_DEFAULT_DIR ") and the\n"
               "                             plugin's state (" AUTHZ_DEFAULT_STATE_DIR "). Asks nothing.\n"
               "  --dry-run                  say what would be removed; change nothing\n"
               "  -h, --help                 show this help\n"
               "\n"
               "Exit status: 0 done (or nothing to remove), 1 a step failed, 2 usage error.\n");
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "dind-cache uninstall: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'dind-cache uninstall --help'.\n");
        return -EINVAL;
}

/* getopt_long takes a unique prefix ("--wipe" for --wipe-data); this command wants
 * every long option spelled out, the destructive one above all. */
static int check_spelled_out(int argc, char **argv, const struct option *options) {
        for (int i = 1; i < argc && !streq(argv[i], "--"); i++) {
                const char *name = argv[i] + 2;
                size_t n = strcspn(name, "=");
                const struct option *found = NULL;

                if (strncmp(argv[i], "--", 2) != 0)
                        continue;
                for (const struct option *o = options; o->name; o++)
                        if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
                                found = o;
                if (!found)
                        return usage_error("unknown option '%s'", argv[i]);
                if (found->has_arg == required_argument && name[n] != '=')
                        i++; /* its value */
        }
        return 0;
}

/* --data-dir: absolute, trailing slashes dropped (in VALUE itself). */
static int parse_data_dir(char *value, char **ret) {
        size_t n = strlen(value);

        while (n > 1 && value[n - 1] == '/')
                value[--n] = '\0';
        if (value[0] != '/' || streq(value, "/") || strstr(value, "/.") || strstr(value, "//"))
                return usage_error("invalid value for --data-dir: '%s' (an absolute path is needed)", value);
        *ret = value;
        return 0;
}

static int parse_instance(char *value, char **ret) {
        _cleanup_free_ char *why = NULL;
        int r = instance_validate(value, &why);

        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        if (r < 0) {
                _cleanup_free_ char *shown = text_escape(value, 128);
                return usage_error("invalid value for --instance: '%s': %s", shown ?: "?", why ?: "refused");
        }
        *ret = value;
        return 0;
}

static int parse_argv(int argc, char **argv, struct uninstall_args *a) {
        enum {
                ARG_DATA_DIR = 0x100, ARG_DELETE_CLUSTER_OBJECTS, ARG_KUBECONFIG, ARG_CONTEXT,
                ARG_NAMESPACE, ARG_WIPE_DATA, ARG_DRY_RUN, ARG_INSTANCE,
        };
        static const struct option options[] = {
                { "data-dir", required_argument, NULL, ARG_DATA_DIR },
                { "delete-cluster-objects", no_argument, NULL, ARG_DELETE_CLUSTER_OBJECTS },
                { "kubeconfig", required_argument, NULL, ARG_KUBECONFIG },
                { "context", required_argument, NULL, ARG_CONTEXT },
                { "namespace", required_argument, NULL, ARG_NAMESPACE },
                { "instance", required_argument, NULL, ARG_INSTANCE },
                { "wipe-data", no_argument, NULL, ARG_WIPE_DATA },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c, r;

        a->data_dir = (char *) SETTINGS_DEFAULT_DATA_DIR;
        a->namespace_ = (char *) DEFAULT_NAMESPACE;
        opterr = 0;
        optind = 0;
        r = check_spelled_out(argc, argv, options);
        if (r < 0)
                return r;
        while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_DATA_DIR:
                        r = parse_data_dir(optarg, &a->data_dir);
                        if (r < 0)
                                return r;
                        break;
                case ARG_DELETE_CLUSTER_OBJECTS:
                        a->delete_cluster_objects = true;
                        break;
                case ARG_KUBECONFIG:
                        a->kubeconfig = optarg;
                        break;
                case ARG_CONTEXT:
                        a->context = optarg;
                        break;
                case ARG_NAMESPACE:
                        a->namespace_ = optarg;
                        break;
                case ARG_INSTANCE:
                        r = parse_instance(optarg, &a->instance);
                        if (r < 0)
                                return r;
                        break;
                case ARG_WIPE_DATA:
                        a->wipe_data = true;
                        break;
                case ARG_DRY_RUN:
                        a->dry_run = true;
                        break;
                case ':':
                        return usage_error("option '%s' needs a value", argv[optind - 1]);
                default:
                        return usage_error("unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);
        if (!a->delete_cluster_objects && (a->kubeconfig || a->context))
                return usage_error("%s needs --delete-cluster-objects", a->kubeconfig ? "--kubeconfig" : "--context");
        return 1;
}

struct ctx {
        const struct uninstall_args *args;
        sd_bus *bus;              /* NULL when systemd is not running */
        unsigned removed;         /* things removed (or, dry run, that would be) */
        bool reload;
};

/* Stops NAME when it is running, and disables it when it is enabled. */
static int stop_and_disable(struct ctx *c, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(unit_state_done) struct unit_state st = {};
        int r;

        if (!c->bus)
                return 0;
        r = systemd_unit_state(c->bus, name, &st);
        if (r < 0)
                return log_error_errno(r, "cannot read the state of '%s': %m", name);
        if (streq(st.load_state, "loaded") && !streq(st.active_state, "inactive") && !streq(st.active_state, "failed")) {
                if (c->args->dry_run)
                        printf("Would stop %s\n", name);
                else {
                        _cleanup_free_ char *result = NULL;
                        r = systemd_stop(c->bus, name, STOP_TIMEOUT_USEC, &result, &error);
                        if (r < 0)
                                return log_error_errno(r, "cannot stop '%s' (%s): %s", name, result ? result : "no job",
                                                       systemd_error_text(&error, r));
                        log_info("Stopped %s", name);
                }
                c->removed++;
        }
        if (streq(st.unit_file_state, "enabled")) {
                char *const names[] = { (char *) name, NULL };
                if (c->args->dry_run)
                        printf("Would disable %s\n", name);
                else {
                        r = systemd_disable(c->bus, names, &error);
                        if (r < 0)
                                return log_error_errno(r, "cannot disable '%s': %s", name, systemd_error_text(&error, r));
                        log_info("Disabled %s", name);
                }
                c->removed++;
        }
        return 0;
}

/* Removes DIR/NAME when it is there. */
static int remove_file(struct ctx *c, const char *dir, const char *name, bool unit) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, name);
        int r;

        if (!path)
                return log_error_errno(-ENOMEM, "cannot remove '%s': %m", name);
        if (c->args->dry_run) {
                if (access(path, F_OK) == 0) {
                        printf("Would remove %s\n", path);
                        c->removed++;
                }
                return 0;
        }
        r = unit ? unit_file_remove(dir, name) : catalog_file_remove(dir, name);
        if (r < 0)
                return log_error_errno(r, "cannot remove '%s': %m", path);
        if (r > 0) {
                log_info("Removed %s", path);
                c->removed++;
                if (unit)
                        c->reload = true;
        }
        return r;
}

static int reload_and_forget(struct ctx *c, const char *const *names) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!c->bus || c->args->dry_run)
                return 0;
        if (c->reload) {
                r = systemd_daemon_reload(c->bus, &error);
                if (r < 0)
                        return log_error_errno(r, "cannot reload systemd: %s", systemd_error_text(&error, r));
                c->reload = false;
        }
        /* A failed unit stays listed by `systemctl --failed` after its file is gone. */
        for (const char *const *n = names; *n; n++) {
                sd_bus_error_free(&error);
                r = systemd_reset_failed(c->bus, *n, &error);
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "cannot reset the failed state of '%s': %s", *n, systemd_error_text(&error, r));
        }
        return 0;
}

/* Stops, disables and removes UNITS (and install's drop-ins over packaged ones). */
static int remove_units(struct ctx *c, const char *const *units) {
        int r;

        for (const char *const *u = units; *u; u++) {
                r = stop_and_disable(c, *u);
                if (r < 0)
                        return r;
        }
        for (const char *const *u = units; *u; u++) {
                _cleanup_free_ char *dropins = unit_dropin_dir(UNIT_DIR, *u);

                r = remove_file(c, UNIT_DIR, *u, true);
                if (r < 0)
                        return r;
                /* With the package's units, install wrote only this node's drop-in. */
                if (!dropins)
                        return log_error_errno(-ENOMEM, "cannot remove '%s': %m", *u);
                r = remove_file(c, dropins, UNIT_DROPIN_NAME, true);
                if (r < 0)
                        return r;
                if (!c->args->dry_run)
                        (void) rmdir(dropins); /* only when empty */
        }
        return reload_and_forget(c, units);
}

/* The plugin's state goes with the data and the CA (--wipe-data), never before them:
 * the daemon's containers and volumes stay on the disk, and ownership is what keeps
 * another tenant out of them after a re-install; the deny list keeps a revoked
 * certificate of the same CA refused; the tenant list keeps a dropped namespace out
 * until install writes it again. */
static int remove_authz_state(struct ctx *c) {
        static const char *const files[] = { OWNERS_FILE, AUTHZ_COUNTERS_FILE, TENANTS_FILE, REVOKED_FILE,
                                             REVOKED_FILE ".lock" };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                r = remove_file(c, AUTHZ_DEFAULT_STATE_DIR, files[i], false);
                if (r < 0)
                        return r;
        }
        if (!c->args->dry_run)
                (void) rmdir(AUTHZ_DEFAULT_STATE_DIR); /* only when empty */
        return 0;
}

static int uninstall_checker(struct ctx *c) {
        static const char *const units[] = { CHECKER_TIMER, CHECKER_SERVICE, PRUNE_TIMER, PRUNE_SERVICE, NULL };
        static const char *const plugin[] = { AUTHZ_SOCKET_UNIT, AUTHZ_SERVICE_UNIT, NULL };
        unsigned before;
        int r;

        r = remove_units(c, units);
        if (r < 0)
                return r;
        before = c->removed;
        r = remove_units(c, plugin);
        if (r < 0)
                return r;
        if (c->removed > before && !c->args->delete_cluster_objects)
                log_info("The daemon's pod names the authorization plugin in its daemon.json: it answers nothing "
                         "until the plugin is back (dind-cache install) or its objects are gone "
                         "(--delete-cluster-objects).");

        r = remove_file(c, "/etc/dind-cache", "dind-cache.env", false);
        if (r < 0)
                return r;
        if (!c->args->dry_run)
                (void) rmdir("/etc/dind-cache"); /* only when empty */

        /* The pruner's memory of image use and the checker's of the build cache (its
         * reuse counter): they mean nothing without the timers. */
        static const char *const state_files[] = { SETTINGS_PRUNE_STATE_NAME, CACHE_STATE_FILE, CACHE_RECORDS_FILE };
        for (size_t i = 0; i < ELEMENTSOF(state_files); i++) {
                r = remove_file(c, SETTINGS_STATE_DIR, state_files[i], false);
                if (r < 0)
                        return r;
        }
        if (!c->args->dry_run)
                (void) rmdir(SETTINGS_STATE_DIR); /* only when empty */

        r = remove_file(c, CATALOG_DIR, CATALOG_NAME, false);
        if (r < 0)
                return r;
        if (r > 0)
                (void) install_update_catalog();
        return 0;
}

/* Clears the immutable attribute install set on the directory beneath the mount. */
static int unseal(struct ctx *c, const char *dir) {
        int r = seal_state(dir);

        if (r == -ENOENT || r == -EOPNOTSUPP || r == 0)
                return 0;
        if (r < 0)
                return log_error_errno(r, "cannot look beneath the mount at '%s': %m", dir);
        if (c->args->dry_run) {
                printf("Would unseal %s (chattr -i on the directory beneath the mount)\n", dir);
                c->removed++;
                return 0;
        }
        r = seal_set(dir, false);
        if (r < 0)
                return log_error_errno(r, "cannot unseal '%s' (chattr -i on the directory beneath the mount): %m", dir);
        log_info("Unsealed %s: an ordinary directory again", dir);
        c->removed++;
        return 0;
}

static int wipe_data(struct ctx *c) {
        const char *dir = c->args->data_dir;
        _cleanup_free_ char *mount_unit = NULL;
        struct wipe_stats st;
        struct stat sb;
        int r;

        if (wipe_path_is_protected(dir))
                return log_error_errno(-EPERM, "refusing to wipe '%s': a system directory", dir);
        r = unit_name_from_path(dir, ".mount", &mount_unit);
        if (r < 0)
                return log_error_errno(r, "cannot name the mount unit of '%s': %m", dir);

        if (lstat(dir, &sb) < 0 && errno == ENOENT)
                log_info("%s does not exist: no data to wipe", dir);
        else if (c->args->dry_run) {
                printf("Would remove everything inside %s (the directory itself and its filesystem stay)\n", dir);
                c->removed++;
        } else {
                r = wipe_directory_contents(dir, NULL, &st);
                if (r == -EBUSY)
                        return log_error_errno(r, "refusing to wipe '%s': in use (a mount beneath it, or it is "
                                               "mounted elsewhere too: is the Docker daemon still running? stop it "
                                               "first, or use --delete-cluster-objects)", dir);
                if (r == -ENOTDIR)
                        return log_error_errno(r, "refusing to wipe '%s': not a directory, or a symbolic link "
                                               "on the way", dir);
                if (r < 0)
                        return log_error_errno(r, "cannot wipe '%s' (%llu entries removed): %m", dir,
                                               (unsigned long long) st.removed);
                log_info("Wiped %s: %llu entries removed%s", dir, (unsigned long long) st.removed,
                         st.skipped ? ", some on another filesystem left alone" : "");
                if (st.removed)
                        c->removed++;
        }

        /* The node's PKI goes with the data, not before: a re-install keeps its CA. */
        if (access(PKI_DEFAULT_DIR, F_OK) < 0)
                ;
        else if (c->args->dry_run) {
                printf("Would remove the certificates and the CA key in %s\n", PKI_DEFAULT_DIR);
                c->removed++;
        } else {
                r = pki_store_remove(PKI_DEFAULT_DIR);
                if (r == -ENOTEMPTY)
                        return log_error_errno(r, "cannot remove '%s': it holds files install did not write; "
                                               "look at them, remove them, and run uninstall again", PKI_DEFAULT_DIR);
                if (r < 0)
                        return log_error_errno(r, "cannot remove '%s': %m", PKI_DEFAULT_DIR);
                log_info("Removed %s: the CA key and certificates", PKI_DEFAULT_DIR);
                c->removed++;
        }
        /* No CA, no data: the plugin's state (ownership, deny list) goes with them. */
        r = remove_authz_state(c);
        if (r < 0)
                return r;

        /* Only a mount unit install wrote is ours to stop: a mount from /etc/fstab or
         * made by hand is the administrator's, and stays. */
        _cleanup_free_ char *unit_path = strdup_printf("%s/%s", UNIT_DIR, mount_unit);
        if (!unit_path)
                return log_error_errno(-ENOMEM, "cannot wipe '%s': %m", dir);
        if (access(unit_path, F_OK) < 0) {
                log_info("No %s: the mount of %s is not install's, it stays", unit_path, dir);
                return 0;
        }
        r = stop_and_disable(c, mount_unit);
        if (r < 0)
                return r;
        /* No cache and no mount unit any more: the bare directory becomes an ordinary
         * one again, that rmdir can remove. Before the unit file goes, so that a run
         * interrupted here does it again. */
        r = unseal(c, dir);
        if (r < 0)
                return r;
        r = remove_file(c, UNIT_DIR, mount_unit, true);
        if (r < 0)
                return r;
        return reload_and_forget(c, (const char *const[]) { mount_unit, NULL });
}

static int delete_cluster_objects(struct ctx *c) {
        const struct uninstall_args *a = c->args;
        struct uninstall_cluster_args ua = {
                .kubeconfig = a->kubeconfig,
                .context = a->context,
                .namespace_ = a->namespace_,
                .instance = a->instance,
                .data_dir = a->data_dir,
                .dry_run = a->dry_run,
                /* Before a wipe, the daemon must be gone: its mounts live in the pod's
                 * namespace, where the wipe's own check cannot see them. */
                .wait_pods_gone = a->wipe_data,
                .timeout_usec = POD_GONE_TIMEOUT_USEC,
        };
        int r = uninstall_cluster_objects(&ua);
        if (r < 0)
                return r;
        c->removed += (unsigned) r;
        return 0;
}

/* 1 (after saying so) when SETTINGS_ENV_FILE names another instance than --instance: this
 * node's checker, env file and data are that instance's, not ours to remove. */
static int node_holds_other_instance(const struct uninstall_args *a) {
        _cleanup_free_ char *other = NULL, *shown = NULL;
        int r;

        r = install_node_other_instance(a->instance, &other);
        if (r <= 0)
                return r;
        shown = other ? text_escape(other, 64) : NULL;
        if (a->delete_cluster_objects)
                log_info("This node holds %s%s%s, not %s%s%s: deleting that instance's cluster objects only; "
                         "this node's checker, env file and data stay", shown ? "instance '" : "the unnamed cache",
                         shown ?: "", shown ? "'" : "", a->instance ? "instance '" : "the unnamed cache",
                         a->instance ?: "", a->instance ? "'" : "");
        else
                log_error("this node holds %s%s%s (%s), not %s%s%s: nothing removed. Pass --instance %s to "
                          "remove it, or add --delete-cluster-objects to delete the other instance's cluster "
                          "objects from here", shown ? "instance '" : "the unnamed cache", shown ?: "",
                          shown ? "'" : "", SETTINGS_ENV_FILE, a->instance ? "instance '" : "the unnamed cache",
                          a->instance ?: "", a->instance ? "'" : "", shown ?: "(none: leave --instance out)");
        return 1;
}

int cmd_uninstall(int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        struct uninstall_args args = {};
        struct ctx c = { .args = &args };
        int r;

        r = parse_argv(argc, argv, &args);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        if (geteuid() != 0 && !args.dry_run) {
                log_error("uninstall must run as root (try --dry-run to see what it would do)");
                return 1;
        }
        if (args.dry_run)
                log_info("Dry run: nothing will be changed.");

        if (sd_booted() > 0) {
                r = systemd_connect(&bus);
                if (r < 0) {
                        log_error_errno(r, "cannot connect to systemd: %m");
                        return 1;
                }
                c.bus = bus;
        }

        r = node_holds_other_instance(&args);
        if (r < 0)
                return 1;
        if (r > 0 && args.wipe_data) {
                log_error("not wiping '%s': this node's data is another instance's", args.data_dir);
                return 1;
        }
        if (r > 0 && !args.delete_cluster_objects)
                return 1;
        if (args.delete_cluster_objects && delete_cluster_objects(&c) < 0)
                return 1;
        if (r > 0) {
                log_info("This node's checker belongs to another instance: it stays.");
                return fflush(stdout) == 0 ? 0 : 1;
        }
        if (uninstall_checker(&c) < 0)
                return 1;
        if (args.wipe_data && wipe_data(&c) < 0)
                return 1;

        if (c.removed == 0)
                log_info("Nothing to remove: the checker is not installed.");
        else
                log_info(args.dry_run ? "Dry run complete: nothing was changed." : "Uninstall complete.");
        return fflush(stdout) == 0 ? 0 : 1;
}
