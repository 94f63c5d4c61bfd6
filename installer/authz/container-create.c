/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "authz/container-create.h"
#include "authz/go-json.h"

static const char *const safe_sysctls[] = {
        "kernel.shm_rmid_forced",        "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",     "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",  "net.ipv4.tcp_keepalive_probes",
};

bool container_sysctl_is_safe(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(safe_sysctls); i++)
                if (streq(name, safe_sysctls[i]))
                        return true;
        return false;
}

static int malformed(struct authz_verdict *v, const char *field) {
        return authz_refuse(v, "malformed-body", "%s is not what the Engine API reads there", field);
}

/* Fields that must be false or empty, each with its rule. */
static int check_flags(const json_t *hc, struct authz_verdict *v) {
        static const struct {
                const char *field, *rule, *why;
        } empty[] = {
                { "CapAdd", "cap-add", "a job may add no capability" },
                { "Devices", "devices", "a job may map no device of the node" },
                { "DeviceRequests", "devices", "a job may request no device" },
                { "DeviceCgroupRules", "devices", "a job may add no device cgroup rule" },
                { "Annotations", "annotations", "OCI annotations go to the runtime unchecked" },
        };
        bool privileged;
        int r;

        if (gojson_bool(hc, "Privileged", &privileged) < 0)
                return malformed(v, "HostConfig.Privileged");
        if (privileged)
                return authz_refuse(v, "privileged", "a privileged container is root on the node");
        for (size_t i = 0; i < ELEMENTSOF(empty); i++) {
                r = gojson_nonempty(hc, empty[i].field);
                if (r < 0)
                        return malformed(v, empty[i].field);
                if (r > 0)
                        return authz_refuse(v, empty[i].rule, "%s: %s", empty[i].field, empty[i].why);
        }
        return 0;
}

/* One Binds entry, as the daemon's Linux parser reads it (volume/mounts). */
static int check_bind(const struct authz_ctx *c, const char *raw, struct authz_verdict *v) {
        _cleanup_free_ char *source = NULL;
        size_t parts = 1;
        const char *colon = strchr(raw, ':');

        for (const char *p = raw; (p = strchr(p, ':')); p++)
                parts++;
        if (parts == 1)
                return 0; /* a container path: an anonymous volume */
        if (parts > 4 || colon == raw)
                return malformed(v, "a Binds entry");
        source = strndup(raw, (size_t) (colon - raw));
        if (!source)
                return -ENOMEM;
        if (source[0] == '/')
                return authz_refuse(v, "bind-mount", "'%s' mounts a path of the node", verdict_quote(raw));
        return authz_require_owner_or_new(c, OWNER_VOLUME, source, "not-your-volume", v);
}

static int check_binds(const struct authz_ctx *c, const json_t *hc, struct authz_verdict *v) {
        const json_t *binds;
        size_t i;
        json_t *e;
        int r;

        if (gojson_string_array(hc, "Binds", &binds) < 0)
                return malformed(v, "HostConfig.Binds");
        json_array_foreach ((json_t *) binds, i, e)
                if ((r = check_bind(c, json_string_value(e), v)) != 0)
                        return r;
        return 0;
}

static int check_volume_options(const json_t *m, struct authz_verdict *v) {
        const json_t *opts, *driver;
        const char *name;
        int r;

        if (gojson_object(m, "VolumeOptions", &opts) < 0 || gojson_object(opts, "DriverConfig", &driver) < 0 ||
            gojson_string(driver, "Name", &name) < 0)
                return malformed(v, "Mounts[].VolumeOptions");
        r = gojson_nonempty(driver, "Options");
        if (r < 0)
                return malformed(v, "Mounts[].VolumeOptions.DriverConfig.Options");
        if (r > 0 || !(isempty(name) || streq(name, "local")))
                return authz_refuse(v, "volume-options",
                                    "a volume with a driver or driver options can mount any path of the node");
        return 0;
}

static int check_mount(const struct authz_ctx *c, const json_t *m, struct authz_verdict *v) {
        const char *type, *source;
        int r;

        if (!json_is_object(m) || gojson_string(m, "Type", &type) < 0 || gojson_string(m, "Source", &source) < 0)
                return malformed(v, "a Mounts entry");
        if (streq(type, "bind"))
                return authz_refuse(v, "bind-mount", "a mount of type bind mounts '%s' of the node",
                                    verdict_quote(source));
        if (streq(type, "tmpfs") || streq(type, "image"))
                return 0;
        if (!streq(type, "volume"))
                return authz_refuse(v, "mount-type", "mounts of type '%s' are not for jobs", verdict_quote(type));
        if ((r = check_volume_options(m, v)) != 0)
                return r;
        return isempty(source) ? 0 : authz_require_owner_or_new(c, OWNER_VOLUME, source, "not-your-volume", v);
}

static int check_mounts(const struct authz_ctx *c, const json_t *hc, struct authz_verdict *v) {
        const json_t *mounts = gojson_field(hc, "Mounts");
        const char *driver;
        size_t i;
        json_t *m;
        int r;

        if (gojson_string(hc, "VolumeDriver", &driver) < 0)
                return malformed(v, "HostConfig.VolumeDriver");
        if (!isempty(driver) && !streq(driver, "local"))
                return authz_refuse(v, "volume-options", "volume driver '%s' is not for jobs", verdict_quote(driver));
        if (!mounts || json_is_null(mounts))
                return 0;
        if (!json_is_array(mounts))
                return malformed(v, "HostConfig.Mounts");
        json_array_foreach (mounts, i, m)
                if ((r = check_mount(c, m, v)) != 0)
                        return r;
        return 0;
}

/* A network a container joins by NAME (NetworkMode, an EndpointsConfig key). */
static int check_network_ref(const struct authz_ctx *c, const char *name, struct authz_verdict *v) {
        if (strcasecmp(name, "host") == 0)
                return authz_refuse(v, "host-namespace", "the host network is the node's (the daemon pod's)");
        if (streq(name, "bridge") || streq(name, "default") || streq(name, "none"))
                return 0;
        return authz_require_owner(c, OWNER_NETWORK, name, "not-your-network", v);
}

/* A "host" / "container:NAME" namespace mode. */
static int check_mode(const struct authz_ctx *c, const char *field, const char *mode, struct authz_verdict *v) {
        if (isempty(mode))
                return 0;
        if (strcasecmp(mode, "host") == 0)
                return authz_refuse(v, "host-namespace", "%s host shares a namespace of the node", field);
        if (strncasecmp(mode, "container:", strlen("container:")) == 0)
                return authz_require_owner(c, OWNER_CONTAINER, mode + strlen("container:"), "other-container", v);
        return 0;
}

static int check_namespaces(const struct authz_ctx *c, const json_t *hc, struct authz_verdict *v) {
        static const char *const fields[] = { "PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode",
                                              "Cgroup" };
        const char *net;
        int r;

        if (gojson_string(hc, "NetworkMode", &net) < 0)
                return malformed(v, "HostConfig.NetworkMode");
        if (!isempty(net)) {
                if (strncasecmp(net, "container:", strlen("container:")) == 0)
                        r = check_mode(c, "NetworkMode", net, v);
                else
                        r = check_network_ref(c, net, v);
                if (r != 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const char *mode;

                if (gojson_string(hc, fields[i], &mode) < 0)
                        return malformed(v, fields[i]);
                if ((r = check_mode(c, fields[i], mode, v)) != 0)
                        return r;
                /* UsernsMode has no private value but "": anything else leaves the remap. */
                if (streq(fields[i], "UsernsMode") && !isempty(mode))
                        return authz_refuse(v, "host-namespace", "UsernsMode '%s' is not for jobs",
                                            verdict_quote(mode));
        }
        return 0;
}

/* VolumesFrom ("NAME[:ro|rw]") and Links ("NAME[:ALIAS]") of LIST name containers. */
static int check_container_list(const struct authz_ctx *c, const json_t *obj, const char *field, const char *rule,
                                struct authz_verdict *v) {
        const json_t *list;
        size_t i;
        json_t *e;
        int r;

        if (gojson_string_array(obj, field, &list) < 0)
                return malformed(v, field);
        json_array_foreach ((json_t *) list, i, e) {
                const char *s = json_string_value(e);
                _cleanup_free_ char *name = strndup(s, strcspn(s, ":"));

                if (!name)
                        return -ENOMEM;
                if ((r = authz_require_owner(c, OWNER_CONTAINER, name, rule, v)) != 0)
                        return r;
        }
        return 0;
}

static int check_security_opt(const json_t *hc, struct authz_verdict *v) {
        const json_t *opts;
        size_t i;
        json_t *e;

        if (gojson_string_array(hc, "SecurityOpt", &opts) < 0)
                return malformed(v, "HostConfig.SecurityOpt");
        json_array_foreach ((json_t *) opts, i, e) {
                const char *s = json_string_value(e);

                if (!streq(s, "no-new-privileges") && !streq(s, "no-new-privileges=true") &&
                    !streq(s, "no-new-privileges:true"))
                        return authz_refuse(v, "security-opt",
                                            "security option '%s': only no-new-privileges is allowed (seccomp, "
                                            "AppArmor, labels and systempaths keep the container confined)",
                                            verdict_quote(s));
        }
        return 0;
}

static int check_sysctls(const json_t *hc, struct authz_verdict *v) {
        const json_t *sysctls;
        const char *key;
        json_t *value;

        if (gojson_object(hc, "Sysctls", &sysctls) < 0)
                return malformed(v, "HostConfig.Sysctls");
        json_object_foreach ((json_t *) sysctls, key, value)
                if (!container_sysctl_is_safe(key))
                        return authz_refuse(v, "sysctls", "sysctl '%s' is outside the safe set", verdict_quote(key));
        return 0;
}

/* Runtime, cgroup parent, masked paths, logging driver, OOM score and killer. */
static int check_runtime(const json_t *hc, struct authz_verdict *v) {
        const json_t *log;
        const char *runtime, *parent, *driver;
        long long oom;
        bool oom_kill_disable;

        if (gojson_string(hc, "Runtime", &runtime) < 0 || gojson_string(hc, "CgroupParent", &parent) < 0 ||
            gojson_object(hc, "LogConfig", &log) < 0 || gojson_string(log, "Type", &driver) < 0 ||
            gojson_int(hc, "OomScoreAdj", &oom) < 0 || gojson_bool(hc, "OomKillDisable", &oom_kill_disable) < 0)
                return malformed(v, "HostConfig");
        if (!isempty(runtime) && !streq(runtime, "runc"))
                return authz_refuse(v, "runtime", "runtime '%s' is not runc", verdict_quote(runtime));
        if (!isempty(parent))
                return authz_refuse(v, "cgroup-parent", "a cgroup parent takes the container out of the daemon's cgroup");
        /* null is the default set; anything else, [] included, replaces it. */
        for (const char *const *f = (const char *const[]) { "MaskedPaths", "ReadonlyPaths", NULL }; *f; f++) {
                const json_t *p = gojson_field(hc, *f);
                if (p && !json_is_null(p))
                        return authz_refuse(v, "masked-paths", "%s replaces the paths that keep /proc and /sys "
                                            "masked", *f);
        }
        if (!(isempty(driver) || streq(driver, "json-file") || streq(driver, "local") || streq(driver, "none")))
                return authz_refuse(v, "log-driver", "logging driver '%s' is not for jobs", verdict_quote(driver));
        if (oom < 0)
                return authz_refuse(v, "oom-score-adj", "a negative OomScoreAdj makes the node's processes die first");
        /* Ignored on cgroup v2; on a cgroup v1 node the kernel then kills others instead. */
        if (oom_kill_disable)
                return authz_refuse(v, "oom-kill-disable", "OomKillDisable makes the node's processes die first");
        return 0;
}

static int check_endpoint(const struct authz_ctx *c, const char *network, const json_t *ep,
                          struct authz_verdict *v) {
        const char *id;
        int r;

        if ((r = check_network_ref(c, network, v)) != 0)
                return r;
        if (!ep || json_is_null(ep))
                return 0;
        if (!json_is_object(ep) || gojson_string(ep, "NetworkID", &id) < 0)
                return malformed(v, "an EndpointsConfig entry");
        if (!isempty(id) && (r = check_network_ref(c, id, v)) != 0)
                return r;
        r = gojson_nonempty(ep, "DriverOpts");
        if (r < 0)
                return malformed(v, "EndpointsConfig[].DriverOpts");
        if (r > 0)
                return authz_refuse(v, "network-options", "endpoint driver options are not for jobs");
        return check_container_list(c, ep, "Links", "other-container", v);
}

static int check_networking(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v) {
        const json_t *nc, *eps;
        const char *network;
        json_t *ep;
        int r;

        if (gojson_object(body, "NetworkingConfig", &nc) < 0 || gojson_object(nc, "EndpointsConfig", &eps) < 0)
                return malformed(v, "NetworkingConfig");
        json_object_foreach ((json_t *) eps, network, ep)
                if ((r = check_endpoint(c, network, ep, v)) != 0)
                        return r;
        return 0;
}

int container_create_check(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v) {
        const json_t *hc;
        int r;

        if (!json_is_object(body) || gojson_object(body, "HostConfig", &hc) < 0)
                return malformed(v, "the body");
        if ((r = check_flags(hc, v)) != 0 || (r = check_binds(c, hc, v)) != 0 || (r = check_mounts(c, hc, v)) != 0 ||
            (r = check_namespaces(c, hc, v)) != 0 ||
            (r = check_container_list(c, hc, "VolumesFrom", "other-container", v)) != 0 ||
            (r = check_container_list(c, hc, "Links", "other-container", v)) != 0 ||
            (r = check_security_opt(hc, v)) != 0 || (r = check_sysctls(hc, v)) != 0 ||
            (r = check_runtime(hc, v)) != 0)
                return r;
        return check_networking(c, body, v);
}

int container_update_check(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v) {
        const char *parent;
        int r;

        if (!json_is_object(body) || gojson_string(body, "CgroupParent", &parent) < 0)
                return malformed(v, "the body");
        if (!isempty(parent))
                return authz_refuse(v, "cgroup-parent", "a cgroup parent takes the container out of the daemon's cgroup");
        for (const char *const *f = (const char *const[]) { "Devices", "DeviceRequests", "DeviceCgroupRules", NULL };
             *f; f++) {
                r = gojson_nonempty(body, *f);
                if (r < 0)
                        return malformed(v, *f);
                if (r > 0)
                        return authz_refuse(v, "devices", "%s: a job may map no device of the node", *f);
        }
        return 0;
}

int exec_create_check(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v) {
        bool privileged;

        if (!json_is_object(body) || gojson_bool(body, "Privileged", &privileged) < 0)
                return malformed(v, "the body");
        if (privileged)
                return authz_refuse(v, "privileged", "a privileged exec is root on the node");
        return 0;
}

int container_create_volumes(const json_t *body, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        const json_t *hc = NULL, *binds = NULL, *mounts;
        size_t i;
        json_t *e;

        if (gojson_object(body, "HostConfig", &hc) < 0 || gojson_string_array(hc, "Binds", &binds) < 0)
                return -EBADMSG;
        json_array_foreach ((json_t *) binds, i, e) {
                const char *s = json_string_value(e);
                size_t n = strcspn(s, ":");
                _cleanup_free_ char *name = strndup(s, n);

                if (!name)
                        return -ENOMEM;
                if (s[n] == ':' && n > 0 && s[0] != '/' && !strv_contains(names, name) && strv_extend(&names, name) < 0)
                        return -ENOMEM;
        }
        mounts = gojson_field(hc, "Mounts");
        json_array_foreach ((json_t *) mounts, i, e) {
                const char *type = NULL, *source = NULL;

                if (gojson_string(e, "Type", &type) < 0 || gojson_string(e, "Source", &source) < 0)
                        return -EBADMSG;
                if (streq(type, "volume") && !isempty(source) && !strv_contains(names, source) &&
                    strv_extend(&names, source) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(names);
        return 0;
}
