/* SPDX-License-Identifier: MIT */
/* install's membership step (kube/members.h): before anything is applied, refuse to
 * mix the unnamed instance with named ones in one namespace; once the daemon is
 * ready, register this instance's key in the members ConfigMap under its own field
 * manager, read every member back, and print how jobs are routed across them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/install-cluster-private.h"
#include "cmd/cmd.h"
#include "cmd/install.h"
#include "base/json-util.h"
#include "base/text.h"
#include "systemd/envfile.h"
#include "kube/instance.h"
#include "kube/kube.h"
#include "kube/manifest.h"
#include "kube/members.h"

/* The route script's convention (scripts/dind-cache-route.sh): each member's client
 * certificates in CERT_DIR/HOST. */
#define ROUTE_CERT_DIR "/certs/dind-cache"

int install_members_preflight(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg) {
        _cleanup_free_ char *path = strdup_printf("/apis/apps/v1/namespaces/%s/deployments", o->namespace_);
        _cleanup_json_ json_t *items = NULL;
        json_t *d;
        size_t i;
        int r;

        if (!path)
                return log_oom();
        /* The unnamed instance's Service selects every daemon pod of the namespace (its
         * selector predates instances and stays as it was): it cannot live beside
         * named ones. */
        r = kube_list(c, path, "app=" MANIFEST_APP_LABEL, NULL, &items);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return install_log_kube_error(c, cfg, r, "list the Deployments");
        json_array_foreach(items, i, d) {
                const char *name = json_string_value(json_get_path(d, "metadata", "name", NULL));
                const char *other = json_string_value(json_get_path(d, "metadata", "labels", INSTANCE_LABEL, NULL));
                _cleanup_free_ char *shown = name ? kube_sanitize(name, strlen(name), 253) : NULL;
                _cleanup_free_ char *shown_other = other ? kube_sanitize(other, strlen(other), 63) : NULL;

                if (o->instance && !other && streq(name, MANIFEST_DEPLOYMENT)) {
                        log_error("the namespace '%s' holds the unnamed cache (Deployment %s), whose Service "
                                  "would select instance '%s''s daemon too: named instances cannot live beside "
                                  "it. Remove it first (on its node: dind-cache uninstall --delete-cluster-objects; "
                                  "its data stays), then install it again with --instance; or install this node "
                                  "without --instance in another --namespace", o->namespace_, MANIFEST_DEPLOYMENT,
                                  o->instance);
                        return -EEXIST;
                }
                if (!o->instance && other) {
                        log_error("the namespace '%s' holds the named instance '%s' (Deployment %s): the unnamed "
                                  "cache's Service would select its daemon too. Install this node with --instance "
                                  "NAME, or in another --namespace", o->namespace_, shown_other ?: "?",
                                  shown ?: "?");
                        return -EEXIST;
                }
        }
        return 0;
}

int install_members_register(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg,
                             struct members *ret) {
        _cleanup_free_ char *path = members_path(o->namespace_);
        _cleanup_free_ char *address = members_address(o->names.service, o->namespace_,
                                                       o->plaintext ? MANIFEST_PLAINTEXT_PORT : MANIFEST_TLS_PORT);
        _cleanup_json_ json_t *config = NULL, *live = NULL;
        enum kube_apply_outcome outcome;
        char manager[128];
        int r;

        if (!path || !address || members_config(o->namespace_, o->instance, address, &config) < 0)
                return log_oom();
        if (!instance_field_manager(o->instance, manager, sizeof(manager)))
                return log_error_errno(-EINVAL, "invalid instance '%s'", o->instance);
        r = kube_apply_as(c, path, config, manager,
                          (o->dry_run ? KUBE_APPLY_DRY_RUN : 0) | (o->force_conflicts ? KUBE_APPLY_FORCE : 0),
                          &outcome, &live);
        if (r == -ENOENT && o->dry_run) {
                /* The server cannot dry-run into a namespace a dry run did not create. */
                printf("  ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP ": key '%s' = %s created (dry run; not sent: the "
                       "namespace does not exist yet)\n", o->namespace_, instance_key(o->instance), address);
                return 0;
        }
        if (r < 0)
                return install_log_kube_error(c, cfg, r, "register in ConfigMap " INSTANCE_MEMBERS_CONFIGMAP);
        printf("  ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP ": key '%s' = %s %s (field manager %s)%s\n",
               o->namespace_, instance_key(o->instance), address, kube_apply_outcome_to_string(outcome), manager,
               o->dry_run ? " (dry run)" : "");
        r = members_parse(live, ret);
        if (r < 0)
                return log_oom();
        return 0;
}

void install_members_print(const struct install_options *o, const struct members *m) {
        _cleanup_free_ char *hosts = members_hosts(m);

        if (!hosts)
                return;
        if (m->n == 0) {
                printf("\nThis instance is not in ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP " yet (--skip-apply, or a "
                       "dry run in a new namespace): the install that registers it prints DIND_CACHE_HOSTS and the "
                       "runner's mounts for every member.\n", o->namespace_);
                return;
        }
        printf("\nRoute jobs across the %zu member%s of %s/" INSTANCE_MEMBERS_CONFIGMAP " (README, \"Routing jobs "
               "across several caches\"):\n\n"
               "1. Set the CI/CD variable (group or instance level; re-read it after adding or removing a node):\n\n"
               "  DIND_CACHE_HOSTS=\"%s\"\n",
               m->n, m->n == 1 ? "" : "s", o->namespace_, hosts);
        for (size_t i = 0; i < m->n; i++)
                if (!m->v[i].valid)
                        printf("  (member '%s' is left out: '%s' is not HOST:PORT)\n", m->v[i].key, m->v[i].address);
        if (!o->plaintext) {
                printf("\n2. Mount each member's client certificate where the route script looks for it, in the "
                       "runner's config.toml (each install puts its Secret in every --allow-namespace):\n\n"
                       "  [[runners]]\n"
                       "    [runners.kubernetes]\n");
                for (size_t i = 0; i < m->n; i++) {
                        const struct member *e = &m->v[i];
                        const char *instance = streq(e->key, INSTANCE_DEFAULT_KEY) ? NULL : e->key;
                        char secret[64];
                        size_t hn;

                        if (!e->valid || (instance && instance_validate(instance, NULL) < 0) ||
                            !instance_object_name(MANIFEST_CLIENT_SECRET, instance, secret, sizeof(secret)))
                                continue;
                        hn = strrchr(e->address, ':') - e->address;
                        if (e->address[0] == '[')
                                printf("      [[runners.kubernetes.volumes.secret]]\n"
                                       "        name = \"%s\"\n"
                                       "        mount_path = \"" ROUTE_CERT_DIR "/%.*s\"\n"
                                       "        read_only = true\n", secret, (int) hn - 2, e->address + 1);
                        else
                                printf("      [[runners.kubernetes.volumes.secret]]\n"
                                       "        name = \"%s\"\n"
                                       "        mount_path = \"" ROUTE_CERT_DIR "/%.*s\"\n"
                                       "        read_only = true\n", secret, (int) hn, e->address);
                }
        }
        printf("\n%d. In .gitlab-ci.yml, include the template that carries scripts/dind-cache-route.sh and route "
               "each job before it builds:\n\n"
               "  include:\n"
               "    - project: infra/ci-templates\n"
               "      file: templates/dind-cache.yml\n"
               "  build_image:\n"
               "    extends: .dind-cache       # image docker:cli, before_script: the script, then dind_cache_route\n"
               "    variables:\n"
               "%s"
               "    script:\n"
               "      - docker build -t \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA\" .\n",
               o->plaintext ? 2 : 3,
               o->plaintext ? "      DOCKER_TLS_VERIFY: \"\"\n" : "      DOCKER_TLS_VERIFY: \"1\"\n");
}

int install_node_other_instance(const char *instance, char **ret_other) {
        _cleanup_(envfile_done) struct envfile env = {};
        int r;

        r = cmd_envfile_read(SETTINGS_ENV_FILE, &env);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!env.node && !env.docker_host && !env.instance)
                return 0;   /* nothing installed here */
        if (isempty(env.instance) ? !instance : streq(env.instance, instance))
                return 0;
        *ret_other = isempty(env.instance) ? NULL : TAKE_PTR(env.instance);
        return 1;
}

int install_check_node_instance(const struct install_options *o) {
        _cleanup_free_ char *other = NULL, *shown = NULL;
        int r;

        r = install_node_other_instance(o->instance, &other);
        if (r <= 0)
                return r;
        if (!other) {
                log_error("this node already holds the unnamed cache (%s names no DIND_CACHE_INSTANCE): one instance "
                          "per node. To turn it into instance '%s', remove it first: dind-cache uninstall "
                          "--delete-cluster-objects (the data stays), then run this install again",
                          SETTINGS_ENV_FILE, o->instance);
                return -EEXIST;
        }
        shown = text_escape(other, 64);
        log_error("this node already holds the cache instance '%s' (DIND_CACHE_INSTANCE in %s): one instance per "
                  "node. Re-run install with --instance %s, or remove it first: dind-cache uninstall --instance %s "
                  "--delete-cluster-objects", shown ?: "?", SETTINGS_ENV_FILE, shown ?: "?", shown ?: "?");
        return -EEXIST;
}
