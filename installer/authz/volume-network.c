/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "authz/go-json.h"
#include "authz/volume-network.h"

static int malformed(struct authz_verdict *v, const char *field) {
        return authz_refuse(v, "malformed-body", "%s is not what the Engine API reads there", field);
}

int volume_create_check(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v) {
        const char *driver, *name;
        const json_t *cluster;
        int r;

        if (!json_is_object(body) || gojson_string(body, "Driver", &driver) < 0 ||
            gojson_string(body, "Name", &name) < 0)
                return malformed(v, "the body");
        if (!isempty(driver) && !streq(driver, "local"))
                return authz_refuse(v, "volume-options", "volume driver '%s' is not for jobs", verdict_quote(driver));
        r = gojson_nonempty(body, "DriverOpts");
        if (r < 0)
                return malformed(v, "DriverOpts");
        if (r > 0)
                return authz_refuse(v, "volume-options",
                                    "driver options make a local volume mount any path of the node (o=bind, device=)");
        cluster = gojson_field(body, "ClusterVolumeSpec");
        if (cluster && !json_is_null(cluster))
                return authz_refuse(v, "volume-options", "cluster volumes are not for jobs");
        return isempty(name) ? 0 : authz_require_owner_or_new(c, OWNER_VOLUME, name, "not-your-volume", v);
}

static int check_network_driver(const json_t *body, struct authz_verdict *v) {
        const json_t *ipam;
        const char *driver, *scope, *ipam_driver;
        bool attachable, ingress, config_only;
        int opts, ipam_opts, ipam_config;

        if (gojson_string(body, "Driver", &driver) < 0 || gojson_string(body, "Scope", &scope) < 0 ||
            gojson_object(body, "IPAM", &ipam) < 0 || gojson_string(ipam, "Driver", &ipam_driver) < 0 ||
            gojson_bool(body, "Attachable", &attachable) < 0 || gojson_bool(body, "Ingress", &ingress) < 0 ||
            gojson_bool(body, "ConfigOnly", &config_only) < 0 || (opts = gojson_nonempty(body, "Options")) < 0 ||
            (ipam_opts = gojson_nonempty(ipam, "Options")) < 0 || (ipam_config = gojson_nonempty(ipam, "Config")) < 0)
                return malformed(v, "the body");
        if (!isempty(driver) && !streq(driver, "bridge"))
                return authz_refuse(v, "network-options", "network driver '%s' is not for jobs (bridge only)",
                                    verdict_quote(driver));
        if (opts || ipam_opts || !(isempty(ipam_driver) || streq(ipam_driver, "default")))
                return authz_refuse(v, "network-options",
                                    "driver and IPAM options can reach other networks (a bridge by its name)");
        /* A subnet is a route of the daemon's (the pod's) network namespace: one chosen
         * over the cluster's service range takes every job's DNS into this network. */
        if (ipam_config)
                return authz_refuse(v, "network-options", "chosen subnets, ranges and gateways (IPAM Config) become "
                                    "routes of the daemon's network namespace: let the daemon pick them");
        if (!(isempty(scope) || streq(scope, "local")) || attachable || ingress || config_only)
                return authz_refuse(v, "network-options", "swarm scopes, attachable, ingress and config-only "
                                    "networks are not for jobs");
        return 0;
}

int network_create_check(const struct authz_ctx *c, const json_t *body, struct authz_verdict *v) {
        const json_t *from;
        const char *name;
        int r;

        if (!json_is_object(body) || gojson_string(body, "Name", &name) < 0)
                return malformed(v, "the body");
        if (!owners_valid_name(name))
                return authz_refuse(v, "network-name", "network name '%s' is not [a-zA-Z0-9][a-zA-Z0-9_.-]*",
                                    verdict_quote(name));
        if ((r = check_network_driver(body, v)) != 0)
                return r;
        from = gojson_field(body, "ConfigFrom");
        if (from && !json_is_null(from))
                return authz_refuse(v, "network-options", "config-from networks are not for jobs");
        if (streq(name, "bridge") || streq(name, "host") || streq(name, "none") || streq(name, "default"))
                return authz_refuse(v, "network-name", "'%s' is the daemon's own network", name);
        return authz_require_owner_or_new(c, OWNER_NETWORK, name, "not-your-network", v);
}

int network_shared_or_own(const struct authz_ctx *c, const char *network, struct authz_verdict *v) {
        if (streq(network, "bridge") || streq(network, "none"))
                return 0;
        return authz_require_owner(c, OWNER_NETWORK, network, "not-your-network", v);
}

int network_connect_check(const struct authz_ctx *c, const char *network, const json_t *body,
                          struct authz_verdict *v) {
        const json_t *ep, *links;
        const char *container;
        size_t i;
        json_t *e;
        int r;

        if ((r = network_shared_or_own(c, network, v)) != 0)
                return r;
        if (!json_is_object(body) || gojson_string(body, "Container", &container) < 0 ||
            gojson_object(body, "EndpointConfig", &ep) < 0 || gojson_string_array(ep, "Links", &links) < 0 ||
            (r = gojson_nonempty(ep, "DriverOpts")) < 0)
                return malformed(v, "the body");
        if (r > 0)
                return authz_refuse(v, "network-options", "endpoint driver options are not for jobs");
        if ((r = authz_require_owner(c, OWNER_CONTAINER, container, "not-your-container", v)) != 0)
                return r;
        json_array_foreach ((json_t *) links, i, e) {
                _cleanup_free_ char *name = strndup(json_string_value(e), strcspn(json_string_value(e), ":"));

                if (!name)
                        return -ENOMEM;
                if ((r = authz_require_owner(c, OWNER_CONTAINER, name, "other-container", v)) != 0)
                        return r;
        }
        return 0;
}
