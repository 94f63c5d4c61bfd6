/* SPDX-License-Identifier: MIT */
#pragma once

/* The install flow, in steps, and the options that preflight, install and render
 * share. This is command-layer code: the steps print progress and reports.
 *
 *   install:  options -> install_disk() -> install_authz() -> install_cluster()
 *             -> install_timer() -> report (GitLab CI snippet)
 *
 * Each step returns 0 on success or a negative errno after it has logged why; it
 * changes nothing when opts->dry_run is set (it says what it would do instead). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include <jansson.h>

#include "base/settings.h"
#include "base/util.h"
#include "kube/instance.h"
#include "kube/members.h"

#define DEFAULT_NAMESPACE "kube-ops"
#define DEFAULT_PRUNE_SCHEDULE "0 3 * * 0"
#define DEFAULT_CLUSTER_DOMAIN "cluster.local"
#define DEFAULT_PRUNE_AFTER_USEC (168ULL * 3600 * 1000000)
#define DEFAULT_TIMEOUT_USEC (5ULL * 60 * 1000000)
#define DEFAULT_CHECK_INTERVAL_USEC (5ULL * 60 * 1000000)
#define DEFAULT_PRUNE_INTERVAL_USEC (5ULL * 60 * 1000000)
#define UNIT_DIR "/etc/systemd/system"

/* Which options a command accepts. */
enum {
        OPTS_DISK = 1 << 0,    /* --data-dir --capacity */
        OPTS_DEVICE = 1 << 1,  /* --device --format */
        OPTS_CLUSTER = 1 << 2, /* --node --namespace --image ... (what render needs) */
        OPTS_APPLY = 1 << 3,   /* --kubeconfig --context --timeout --dry-run --skip-apply ... */
        OPTS_TIMER = 1 << 4,   /* --check-interval --prune-interval --skip-timer */
        OPTS_JSON = 1 << 5,    /* --json */
        OPTS_SEAL = 1 << 6,    /* --seal-mount-point (install only) */
};

struct install_options {
        /* disk */
        char *data_dir;            /* absolute, no trailing slash */
        char *device;              /* or NULL */
        bool format;
        bool seal_mount_point;     /* seal a mount point install did not make (seal.h) */
        uint64_t capacity;         /* bytes; 0 = the filesystem's size */
        bool json;

        /* cluster objects */
        char *instance;            /* --instance, or NULL: the unnamed instance */
        struct instance_names names; /* its objects' names (kube/instance.h) */
        char *node;                /* default: this host's name */
        char *namespace_;
        char *image;               /* or NULL: the manifest's pinned image */
        char *registry_mirror;     /* or NULL */
        long mtu;                  /* 0: not set */
        char **allow_namespaces;   /* besides the namespace itself */
        char *prune_schedule;
        uint64_t prune_after_usec;
        uint64_t memory_limit;     /* --memory, bytes; 0: the manifest's */
        uint64_t cpu_limit_milli;  /* --cpus, thousandths of a CPU; 0: the manifest's */
        bool plaintext;            /* --plaintext: 2375 without TLS (loudly) */
        char *cluster_domain;      /* the server certificate's longest name */

        /* talking to the cluster */
        char *kubeconfig;          /* or NULL: $KUBECONFIG, ~/.kube/config, admin.conf */
        char *context;             /* or NULL: current-context */
        uint64_t timeout_usec;
        bool dry_run;
        bool skip_apply;
        bool force_conflicts;
        bool renew_certs;          /* re-issue every leaf certificate */
        bool rotate_ca;            /* a new CA, the old one trusted beside it for a run */

        /* the checker */
        uint64_t check_interval_usec;
        uint64_t prune_interval_usec;
        bool skip_timer;           /* do not install the checker's and the pruner's units */
};

/* Parses ARGV for the command NAME, accepting the option groups in ACCEPT. Prints the
 * command's help on --help (returns 0), a one-line error naming the flag and a hint
 * to --help on a bad one (returns -EINVAL); > 0 to go on. Fills defaults. */
int install_options_parse(const char *name, unsigned accept, int argc, char **argv,
                          struct install_options *ret);
void install_options_done(struct install_options *o);

/* What the disk step found or made: the PV's path and capacity come from here. */
struct install_disk_result {
        uint64_t capacity;       /* bytes, what the PV will claim */
        uint64_t fs_size;        /* bytes */
        char *fs_type;           /* "xfs" */
        char *uuid;              /* of the device, when --device was given */
};
void install_disk_result_done(struct install_disk_result *r);

/* Preflight the data directory (and device), format with --format, write and start
 * the mount unit, check the result. Prints the report. */
int install_disk(const struct install_options *o, struct install_disk_result *ret);

/* What the cluster step learned. */
struct install_cluster_result {
        char *cluster_ip;        /* the Service's ClusterIP, or NULL (dry run, skip) */
        char *service_dns;       /* "docker-dind.kube-ops.svc" */
        bool was_plaintext;      /* the env file pointed at port 2375 before this run */
        struct members members;  /* every member, read back after registering */
};
void install_cluster_result_done(struct install_cluster_result *r);

/* Render the manifests, preflight the cluster, server-side apply, wait until ready,
 * write SETTINGS_ENV_FILE. With --skip-apply: say how to apply from elsewhere. */
int install_cluster(const struct install_options *o, const struct install_disk_result *disk,
                    struct install_cluster_result *ret);

/* DIND_CACHE_HOSTS, the runner's Secret mounts and the job's include, for the
 * members M (install-members.c). */
void install_members_print(const struct install_options *o, const struct members *m);

/* Which instance SETTINGS_ENV_FILE says this node holds, against INSTANCE (NULL: the unnamed
 * one): 0 the same one, or none is installed; 1 another one, whose name is in
 * RET_OTHER (NULL: the unnamed one; the caller frees it); <0 after logging why the
 * file cannot be read. For install and uninstall alike. */
int install_node_other_instance(const char *instance, char **ret_other);

/* One instance per node: refuses (logged, -EEXIST) when SETTINGS_ENV_FILE says this node holds
 * another instance than O's (or the unnamed one, or it holds one and O is unnamed). */
int install_check_node_instance(const struct install_options *o);

/* The authorization plugin's units (install-authz.c): dind-cache-authz.socket and
 * .service written (drop-ins over packaged ones), reloaded, the socket enabled and
 * started, the service restarted when its unit or the binary changed. Before the
 * cluster step: the daemon's pod answers nothing, its probes included, until the
 * socket exists. With --plaintext (no identities) it leaves the plugin out and warns;
 * without a running systemd it warns and says how to serve the socket. */
int install_authz(const struct install_options *o);

/* What writing PLACES (N units, planned by unit_place_plan()) would do, for --dry-run. */
struct unit_place;
void install_say_unit_places(const struct unit_place *places, size_t n);
/* Writes PLACES (N < 31 units): a bit set for each unit file that changed (bit I:
 * PLACES[I]), 0 none, or <0 after logging which could not be written. */
int install_apply_unit_places(const struct unit_place *places, size_t n);

/* Reloads systemd when CHANGED or one of UNITS (NULL-terminated) needs it (a run
 * killed before its reload left them unread), then enables ENABLE. <0 logged. */
int install_reload_and_enable(sd_bus *bus, bool changed, const char *const *units, char *const *enable);

/* The installed binary, for a unit's ExecStart= (this process's, resolved), logging
 * why a unit could not run it from there. */
int install_unit_binary(char **ret);

/* The metrics directory a unit's sandbox must let it write: the env file's
 * DIND_CACHE_TEXTFILE_DIR when an administrator set one there (NULL: empty, none), else
 * node_exporter's default (listed with '-', so it may be absent). Logs a refusal. */
int install_textfile_dir(char **ret);

/* Write the checker's units and catalog, reload, enable and start the timer, run
 * one check and print it. Fails when that check is CRITICAL. With --skip-timer it
 * only says so; without a running systemd it fails and points at --skip-timer. */
int install_timer(const struct install_options *o);

/* The manifest parameters (manifest.h) for O, with CAPACITY (bytes; 0: the manifests'
 * own): what install applies and render prints. Strings borrowed from O. */
struct manifest_params;
void install_manifest_params(const struct install_options *o, uint64_t capacity, struct manifest_params *ret);

/* manifest_render(), logging why it failed. */
int install_render_manifests(const struct manifest_params *p, json_t **ret_objects);

/* Rebuilds journald's catalog database (journalctl --update-catalog) after our
 * catalog file was written or removed; logs a warning on failure. */
int install_update_catalog(void);
