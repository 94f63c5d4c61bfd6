/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stddef.h>
#include <inttypes.h>
#include <string.h>

#include "cmd/install.h"
#include "base/log.h"
#include "kube/manifest.h"
#include "kube/validate.h"

enum {
        ARG_DATA_DIR = 0x100,
        ARG_CAPACITY,
        ARG_DEVICE,
        ARG_FORMAT,
        ARG_JSON,
        ARG_NODE,
        ARG_NAMESPACE,
        ARG_IMAGE,
        ARG_REGISTRY_MIRROR,
        ARG_MTU,
        ARG_ALLOW_NAMESPACE,
        ARG_PRUNE_SCHEDULE,
        ARG_PRUNE_AFTER,
        ARG_KUBECONFIG,
        ARG_CONTEXT,
        ARG_TIMEOUT,
        ARG_DRY_RUN,
        ARG_SKIP_APPLY,
        ARG_FORCE_CONFLICTS,
        ARG_CHECK_INTERVAL,
        ARG_PRUNE_INTERVAL,
        ARG_SKIP_TIMER,
        ARG_PLAINTEXT,
        ARG_CLUSTER_DOMAIN,
        ARG_RENEW_CERTS,
        ARG_ROTATE_CA,
        ARG_SEAL_MOUNT_POINT,
        ARG_INSTANCE,
        ARG_MEMORY,
        ARG_CPUS,
};

static const struct option_doc {
        struct option opt;
        unsigned group;
        const char *arg;
        const char *help;
} option_docs[] = {
        { { "data-dir", required_argument, NULL, ARG_DATA_DIR }, OPTS_DISK, "PATH",
          "the Docker data directory on this node (default " SETTINGS_DEFAULT_DATA_DIR ")" },
        { { "device", required_argument, NULL, ARG_DEVICE }, OPTS_DEVICE, "DEV",
          "a block device to hold the data directory (never formatted if it has any signature)" },
        { { "format", no_argument, NULL, ARG_FORMAT }, OPTS_DEVICE, NULL,
          "with --device: format a blank device with mkfs.xfs -n ftype=1" },
        { { "seal-mount-point", no_argument, NULL, ARG_SEAL_MOUNT_POINT }, OPTS_SEAL, NULL,
          "without --device: seal the disk mounted by hand at --data-dir (chattr +i beneath it; see README)" },
        { { "capacity", required_argument, NULL, ARG_CAPACITY }, OPTS_DISK, "SIZE",
          "the volume's capacity, a quantity like 50Gi (default: the filesystem's size)" },
        { { "instance", required_argument, NULL, ARG_INSTANCE }, OPTS_CLUSTER, "NAME",
          "one of several caches, one per node: its objects are named from NAME (default: the unnamed one)" },
        { { "node", required_argument, NULL, ARG_NODE }, OPTS_CLUSTER, "NAME",
          "the node's kubernetes.io/hostname (default: this host's name)" },
        { { "namespace", required_argument, NULL, ARG_NAMESPACE }, OPTS_CLUSTER, "NS",
          "namespace of the daemon (default " DEFAULT_NAMESPACE ")" },
        { { "image", required_argument, NULL, ARG_IMAGE }, OPTS_CLUSTER, "IMAGE",
          "the docker:dind image (default: the pinned version in the manifests)" },
        { { "registry-mirror", required_argument, NULL, ARG_REGISTRY_MIRROR }, OPTS_CLUSTER, "URL",
          "a registry mirror for the daemon" },
        { { "mtu", required_argument, NULL, ARG_MTU }, OPTS_CLUSTER, "N",
          "the daemon's network MTU (match the pod network's)" },
        { { "allow-namespace", required_argument, NULL, ARG_ALLOW_NAMESPACE }, OPTS_CLUSTER, "NS",
          "a namespace whose pods may reach the daemon, and that gets its own client certificate (repeatable)" },
        { { "memory", required_argument, NULL, ARG_MEMORY }, OPTS_CLUSTER, "SIZE",
          "the daemon's memory limit, a quantity like 8Gi, for every build it runs (default 8Gi)" },
        { { "cpus", required_argument, NULL, ARG_CPUS }, OPTS_CLUSTER, "CPUS",
          "the daemon's CPU limit, a quantity like 4 or 1500m (default 4)" },
        { { "plaintext", no_argument, NULL, ARG_PLAINTEXT }, OPTS_CLUSTER, NULL,
          "INSECURE: serve port 2375 without TLS (whoever reaches it is root on the node)" },
        { { "cluster-domain", required_argument, NULL, ARG_CLUSTER_DOMAIN }, OPTS_CLUSTER, "DOMAIN",
          "the cluster's DNS domain, named in the server certificate (default " DEFAULT_CLUSTER_DOMAIN ")" },
        { { "prune-schedule", required_argument, NULL, ARG_PRUNE_SCHEDULE }, OPTS_CLUSTER, "CRON",
          "when the prune job runs (default \"" DEFAULT_PRUNE_SCHEDULE "\")" },
        { { "prune-after", required_argument, NULL, ARG_PRUNE_AFTER }, OPTS_CLUSTER, "DURATION",
          "prune build cache unused, and images and stopped containers created, longer ago than this (default 168h)" },
        { { "kubeconfig", required_argument, NULL, ARG_KUBECONFIG }, OPTS_APPLY, "FILE",
          "kubeconfig (default: $KUBECONFIG, ~/.kube/config, /etc/kubernetes/admin.conf)" },
        { { "context", required_argument, NULL, ARG_CONTEXT }, OPTS_APPLY, "NAME",
          "kubeconfig context (default: current-context)" },
        { { "timeout", required_argument, NULL, ARG_TIMEOUT }, OPTS_APPLY, "DURATION",
          "how long to wait for the daemon to become ready (default 5m)" },
        { { "dry-run", no_argument, NULL, ARG_DRY_RUN }, OPTS_APPLY, NULL,
          "check and show what would be done; change nothing" },
        { { "skip-apply", no_argument, NULL, ARG_SKIP_APPLY }, OPTS_APPLY, NULL,
          "do the node-side steps only; apply the manifests from elsewhere (see render)" },
        { { "force-conflicts", no_argument, NULL, ARG_FORCE_CONFLICTS }, OPTS_APPLY, NULL,
          "take over fields another field manager owns" },
        { { "renew-certs", no_argument, NULL, ARG_RENEW_CERTS }, OPTS_APPLY, NULL,
          "re-issue the server and client certificates now" },
        { { "rotate-ca", no_argument, NULL, ARG_ROTATE_CA }, OPTS_APPLY, NULL,
          "make a new CA and re-issue every certificate; the old CA stays trusted until the next run" },
        { { "check-interval", required_argument, NULL, ARG_CHECK_INTERVAL }, OPTS_TIMER, "DURATION",
          "how often the checker runs (default 5m)" },
        { { "prune-interval", required_argument, NULL, ARG_PRUNE_INTERVAL }, OPTS_TIMER, "DURATION",
          "how often the pruner keeps the disk under its watermarks (default 5m)" },
        { { "skip-timer", no_argument, NULL, ARG_SKIP_TIMER }, OPTS_TIMER, NULL,
          "do not install the checker's and pruner's systemd timers (run 'dind-cache check' and 'dind-cache prune' yourself)" },
        { { "json", no_argument, NULL, ARG_JSON }, OPTS_JSON, NULL,
          "print the report as JSON" },
};

static void help(const char *name, unsigned accept) {
        printf("Usage: dind-cache %s [OPTIONS]\n\nOptions:\n", name);
        for (size_t i = 0; i < ELEMENTSOF(option_docs); i++) {
                const struct option_doc *d = &option_docs[i];
                char left[64];

                if (!(d->group & accept))
                        continue;
                snprintf(left, sizeof(left), "--%s%s%s", d->opt.name, d->arg ? " " : "", d->arg ? d->arg : "");
                printf("  %-28s %s\n", left, d->help);
        }
        printf("  %-28s %s\n", "-h, --help", "show this help");
}

static int usage_error(const char *name, const char *fmt, ...) _printf_(2, 3);
static int usage_error(const char *name, const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "dind-cache %s: ", name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'dind-cache %s --help'.\n", name);
        return -EINVAL;
}

/* A flag's value refused with the validator's reason (VALIDATE's result R); 0 when valid. */
static int flag_invalid(const char *name, const char *flag, const char *value, int r, char *why) {
        _cleanup_free_ char *reason = why;
        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        if (r >= 0)
                return 0;
        return usage_error(name, "invalid value for %s: '%s': %s", flag, value, reason);
}

static int set_defaults(struct install_options *o) {
        char host[256];

        *o = (struct install_options) {
                .prune_after_usec = DEFAULT_PRUNE_AFTER_USEC,
                .timeout_usec = DEFAULT_TIMEOUT_USEC,
                .check_interval_usec = DEFAULT_CHECK_INTERVAL_USEC,
                .prune_interval_usec = DEFAULT_PRUNE_INTERVAL_USEC,
        };
        if (gethostname(host, sizeof(host)) < 0)
                snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        /* Node names are lower case; the kubelet lower-cases the host name too. */
        for (char *p = host; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
        o->data_dir = strdup(SETTINGS_DEFAULT_DATA_DIR);
        o->namespace_ = strdup(DEFAULT_NAMESPACE);
        o->prune_schedule = strdup(DEFAULT_PRUNE_SCHEDULE);
        o->cluster_domain = strdup(DEFAULT_CLUSTER_DOMAIN);
        o->node = strdup(host);
        if (!o->data_dir || !o->namespace_ || !o->prune_schedule || !o->node || !o->cluster_domain)
                return -ENOMEM;
        return 0;
}

/* Flags that set a bool. */
static const struct {
        int arg;
        size_t offset;
} bool_flags[] = {
        { ARG_FORMAT, offsetof(struct install_options, format) },
        { ARG_JSON, offsetof(struct install_options, json) },
        { ARG_DRY_RUN, offsetof(struct install_options, dry_run) },
        { ARG_SKIP_APPLY, offsetof(struct install_options, skip_apply) },
        { ARG_FORCE_CONFLICTS, offsetof(struct install_options, force_conflicts) },
        { ARG_SKIP_TIMER, offsetof(struct install_options, skip_timer) },
        { ARG_PLAINTEXT, offsetof(struct install_options, plaintext) },
        { ARG_RENEW_CERTS, offsetof(struct install_options, renew_certs) },
        { ARG_ROTATE_CA, offsetof(struct install_options, rotate_ca) },
        { ARG_SEAL_MOUNT_POINT, offsetof(struct install_options, seal_mount_point) },
};

/* Flags that keep a string, checked first as the API server would (VALIDATE, or NULL). */
static const struct {
        int arg;
        const char *flag;
        int (*validate)(const char *s, char **ret_reason);
        size_t offset;
} string_flags[] = {
        { ARG_NODE, "--node", validate_node_name, offsetof(struct install_options, node) },
        { ARG_INSTANCE, "--instance", instance_validate, offsetof(struct install_options, instance) },
        { ARG_NAMESPACE, "--namespace", validate_dns_label, offsetof(struct install_options, namespace_) },
        { ARG_IMAGE, "--image", validate_image_reference, offsetof(struct install_options, image) },
        { ARG_PRUNE_SCHEDULE, "--prune-schedule", validate_cron_schedule,
          offsetof(struct install_options, prune_schedule) },
        { ARG_CLUSTER_DOMAIN, "--cluster-domain", validate_dns_subdomain,
          offsetof(struct install_options, cluster_domain) },
        { ARG_KUBECONFIG, "--kubeconfig", NULL, offsetof(struct install_options, kubeconfig) },
        { ARG_CONTEXT, "--context", NULL, offsetof(struct install_options, context) },
};

/* Flags that take a Go duration of at least a second. */
static const struct {
        int arg;
        const char *flag;
        size_t offset;
} duration_flags[] = {
        { ARG_PRUNE_AFTER, "--prune-after", offsetof(struct install_options, prune_after_usec) },
        { ARG_TIMEOUT, "--timeout", offsetof(struct install_options, timeout_usec) },
        { ARG_CHECK_INTERVAL, "--check-interval", offsetof(struct install_options, check_interval_usec) },
        { ARG_PRUNE_INTERVAL, "--prune-interval", offsetof(struct install_options, prune_interval_usec) },
};

#define FIELD(o, type, offset) ((type *) ((char *) (o) + (offset)))

static int parse_validated(const char *name, const char *flag, int (*validate)(const char *, char **),
                           const char *value, char **field) {
        char *why = NULL;
        int r = validate ? validate(value, &why) : 0;

        r = flag_invalid(name, flag, value, r, why);
        return r < 0 ? r : free_and_strdup(field, value);
}

static int parse_duration_flag(const char *name, const char *flag, const char *value, uint64_t *field) {
        uint64_t usec;
        int r = parse_duration(value, &usec);

        if (r == -EDOM)
                return usage_error(name, "invalid value for %s: '%s': not a whole number of microseconds, "
                                   "which is as fine as it can be kept (it is not rounded)", flag, value);
        if (r == -ERANGE)
                return usage_error(name, "invalid value for %s: '%s': too long a duration", flag, value);
        if (r < 0)
                return usage_error(name, "invalid value for %s: '%s': a duration such as 90s, 5m, 1h30m "
                                   "or 168h is needed (units h m s ms us ns)", flag, value);
        if (usec < 1000000ULL)
                return usage_error(name, "invalid value for %s: '%s': at least 1s is needed", flag, value);
        *field = usec;
        return 0;
}

static int parse_capacity(const char *name, const char *value, uint64_t *field) {
        int r = parse_quantity(value, field);

        if (r == -ERANGE)
                return usage_error(name, "invalid value for --capacity: '%s': more bytes than fit in 64 bits", value);
        if (r < 0)
                return usage_error(name, "invalid value for --capacity: '%s': a quantity such as 50Gi, "
                                   "500Mi or 1.5T is needed (suffixes Ki Mi Gi Ti Pi Ei, k M G T P E, or an exponent)",
                                   value);
        if (*field == 0)
                return usage_error(name, "invalid value for --capacity: '%s': the capacity must be more than zero", value);
        return 0;
}

/* --memory and --cpus: Kubernetes quantities, as the API server reads them (memory in
 * bytes, a fraction of a byte rounded up; CPU in thousandths, MilliValue()). */
static int parse_limit(const char *name, const char *flag, const char *value, bool milli, uint64_t *field) {
        int r = milli ? parse_quantity_milli(value, field) : parse_quantity(value, field);

        if (r == -ERANGE)
                return usage_error(name, "invalid value for %s: '%s': more than fits in 64 bits", flag, value);
        if (r < 0)
                return usage_error(name, "invalid value for %s: '%s': a quantity such as %s is needed", flag, value,
                                   milli ? "4, 1.5 or 1500m" : "8Gi, 16Gi or 12G");
        if (*field == 0)
                return usage_error(name, "invalid value for %s: '%s': the limit must be more than zero", flag, value);
        return 0;
}

/* The flags no table above holds. */
static int parse_other(const char *name, int c, const char *value, char **argv, struct install_options *o) {
        char *why = NULL;
        long v;
        int r;

        switch (c) {
        case ARG_DATA_DIR:
                free(o->data_dir);
                o->data_dir = NULL;
                r = validate_local_path(value, &o->data_dir, &why);
                return flag_invalid(name, "--data-dir", value, r, why);
        case ARG_DEVICE:
                if (value[0] != '/')
                        return usage_error(name, "invalid value for --device: '%s' (a path like /dev/vdb is needed)", value);
                return free_and_strdup(&o->device, value);
        case ARG_CAPACITY:
                return parse_capacity(name, value, &o->capacity);
        case ARG_MEMORY:
                return parse_limit(name, "--memory", value, false, &o->memory_limit);
        case ARG_CPUS:
                return parse_limit(name, "--cpus", value, true, &o->cpu_limit_milli);
        case ARG_ALLOW_NAMESPACE:
                r = validate_dns_label(value, &why);
                r = flag_invalid(name, "--allow-namespace", value, r, why);
                if (r < 0 || strv_contains(o->allow_namespaces, value))
                        return r;
                return strv_extend(&o->allow_namespaces, value);
        case ARG_REGISTRY_MIRROR:
                if ((strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0) ||
                    strpbrk(value, " \t\n\"'"))
                        return usage_error(name, "invalid value for --registry-mirror: '%s' (an http:// or https:// URL is needed)", value);
                return free_and_strdup(&o->registry_mirror, value);
        case ARG_MTU:
                r = parse_int_range(value, 68, 65535, &v);
                if (r < 0)
                        return usage_error(name, "invalid value for --mtu: '%s' (a number from 68 to 65535 is needed)", value);
                o->mtu = v;
                return 0;
        case ':':
                return usage_error(name, "option '%s' needs a value", argv[optind - 1]);
        default:
                return usage_error(name, "unknown option '%s'", argv[optind - 1]);
        }
}

/* One flag C with its VALUE (optarg) into O. */
static int parse_flag(const char *name, int c, const char *value, char **argv, struct install_options *o) {
        for (size_t i = 0; i < ELEMENTSOF(bool_flags); i++)
                if (bool_flags[i].arg == c) {
                        *FIELD(o, bool, bool_flags[i].offset) = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(string_flags); i++)
                if (string_flags[i].arg == c)
                        return parse_validated(name, string_flags[i].flag, string_flags[i].validate, value,
                                               FIELD(o, char *, string_flags[i].offset));
        for (size_t i = 0; i < ELEMENTSOF(duration_flags); i++)
                if (duration_flags[i].arg == c)
                        return parse_duration_flag(name, duration_flags[i].flag, value,
                                                   FIELD(o, uint64_t, duration_flags[i].offset));
        return parse_other(name, c, value, argv, o);
}

/* What the flags say together, once each was read. */
static int check_together(const char *name, struct install_options *o) {
        if (o->format && !o->device)
                return usage_error(name, "--format needs --device");
        if (o->plaintext && (o->renew_certs || o->rotate_ca))
                return usage_error(name, "%s makes no sense with --plaintext", o->rotate_ca ? "--rotate-ca" : "--renew-certs");
        if (instance_names_init(o->instance, &o->names) < 0)
                return usage_error(name, "invalid value for --instance: '%s'", o->instance);
        return 0;
}

int install_options_parse(const char *name, unsigned accept, int argc, char **argv,
                          struct install_options *ret) {
        _cleanup_(install_options_done) struct install_options o = {};
        struct option longopts[ELEMENTSOF(option_docs) + 2];
        size_t n = 0;
        int c, r;

        for (size_t i = 0; i < ELEMENTSOF(option_docs); i++)
                if (option_docs[i].group & accept)
                        longopts[n++] = option_docs[i].opt;
        longopts[n++] = (struct option) { "help", no_argument, NULL, 'h' };
        longopts[n] = (struct option) {};

        r = set_defaults(&o);
        if (r < 0)
                return r;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) >= 0) {
                if (c == 'h') {
                        help(name, accept);
                        return 0;
                }
                r = parse_flag(name, c, optarg, argv, &o);
                if (r < 0)
                        return r;
        }
        if (optind < argc)
                return usage_error(name, "unexpected argument '%s'", argv[optind]);
        r = check_together(name, &o);
        if (r < 0)
                return r;
        *ret = o;
        o = (struct install_options) {};
        return 1;
}

void install_options_done(struct install_options *o) {
        free(o->data_dir);
        free(o->device);
        free(o->instance);
        free(o->node);
        free(o->namespace_);
        free(o->image);
        free(o->registry_mirror);
        strv_free(o->allow_namespaces);
        free(o->prune_schedule);
        free(o->cluster_domain);
        free(o->kubeconfig);
        free(o->context);
        *o = (struct install_options) {};
}

void install_disk_result_done(struct install_disk_result *r) {
        free(r->fs_type);
        free(r->uuid);
        *r = (struct install_disk_result) {};
}

void install_cluster_result_done(struct install_cluster_result *r) {
        free(r->cluster_ip);
        free(r->service_dns);
        members_done(&r->members);
        *r = (struct install_cluster_result) {};
}

void install_manifest_params(const struct install_options *o, uint64_t capacity, struct manifest_params *ret) {
        *ret = (struct manifest_params) {
                .namespace_ = o->namespace_,
                .instance = o->instance,
                .node = o->node,
                .data_dir = o->data_dir,
                .capacity = capacity,
                .image = o->image,
                .registry_mirror = o->registry_mirror,
                .mtu = o->mtu,
                .allow_namespaces = o->allow_namespaces,
                .prune_schedule = o->prune_schedule,
                .prune_after_usec = o->prune_after_usec,
                .memory_limit = o->memory_limit,
                .cpu_limit_milli = o->cpu_limit_milli,
                .plaintext = o->plaintext,
        };
}

int install_render_manifests(const struct manifest_params *p, json_t **ret_objects) {
        _cleanup_free_ char *error = NULL;
        int r = manifest_render(p, ret_objects, &error);

        if (r < 0 && error)
                return log_error_errno(r, "cannot render the manifests: %s", error);
        if (r < 0)
                return log_error_errno(r, "cannot render the manifests: %m");
        return 0;
}
