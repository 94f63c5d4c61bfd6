/* SPDX-License-Identifier: MIT */
/* install's certificates: once the Service has its ClusterIP, the node's PKI is made
 * or kept (pki-store.h), the Secrets join the objects before the Deployment, and the
 * Deployment's pod template carries the server certificate's hash. Command layer:
 * prints what it did, never a key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "cmd/authz-state.h"
#include "cmd/install-cluster-private.h"
#include "kube/manifest.h"
#include "pki/pki-store.h"

static const char *action_word(enum pki_action a, bool dry_run) {
        switch (a) {
        case PKI_CREATED:
                return dry_run ? "would be created" : "created";
        case PKI_RENEWED:
                return dry_run ? "would be renewed" : "renewed";
        default:
                return "kept";
        }
}

static void print_state(const struct install_options *o, const struct pki_state *s) {
        time_t now = time(NULL);

        printf("  Certificates in %s (the CA's key stays there, in no Secret)%s:\n", PKI_DEFAULT_DIR,
               o->dry_run ? " (dry run: nothing written)" : "");
        for (size_t i = 0; i < s->n_items; i++) {
                const struct pki_info *info = &s->info[i];
                char until[32] = "?";
                struct tm tm;

                if (!info->not_after) {
                        /* A dry run makes nothing: there is no certificate to describe. */
                        printf("    %-8s %s%s%s\n", s->name[i], action_word(s->action[i], o->dry_run),
                               s->reason[i] ? ": " : "", s->reason[i] ?: "");
                        continue;
                }
                if (gmtime_r(&info->not_after, &tm))
                        strftime(until, sizeof(until), "%Y-%m-%d", &tm);
                printf("    %-8s %s%s%s; valid until %s (%ld days)\n", s->name[i],
                       action_word(s->action[i], o->dry_run), s->reason[i] ? ": " : "", s->reason[i] ?: "", until,
                       pki_days_left(info, now));
        }
        if (s->previous_dropped)
                printf("    the previous CA %s the trust bundle: every certificate is the new CA's\n",
                       o->dry_run ? "would leave" : "left");
        else if (s->bundle && pki_count_certs(s->bundle, strlen(s->bundle)) > 1)
                printf("    the previous CA stays trusted beside the new one until a later install run\n");
        fflush(stdout);
}

static int server_sans(const struct install_options *o, const char *cluster_ip, struct pki_sans *ret) {
        const char *service = o->names.service;
        _cleanup_free_ char *ns = strdup_printf("%s.%s", service, o->namespace_);
        _cleanup_free_ char *svc = strdup_printf("%s.%s.svc", service, o->namespace_);
        _cleanup_free_ char *fqdn = strdup_printf("%s.%s.svc.%s", service, o->namespace_, o->cluster_domain);
        const char *names[] = { service, ns, svc, fqdn, cluster_ip, "localhost", "127.0.0.1" };
        int r;

        if (!ns || !svc || !fqdn)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                r = pki_sans_add(ret, names[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What the Secrets hold, from S: no files in a dry run; each hash only when known. */
static int tls_of_state(const struct install_options *o, const struct pki_state *s, struct manifest_tls *tls,
                        struct manifest_tls_files **ret_tenant_files, char bundle_sha256[static 65]) {
        size_t n = s->n_items - PKI_ITEM_TENANTS;
        struct manifest_tls_files *f = calloc(n + 1, sizeof(*f));
        int r;

        if (!f)
                return -ENOMEM;
        *ret_tenant_files = f;
        *tls = (struct manifest_tls) {
                .dry_run = o->dry_run,
                .server = { s->bundle, s->leaf[PKI_ITEM_SERVER].cert_pem, s->leaf[PKI_ITEM_SERVER].key_pem },
                .prune_job = { s->bundle, s->leaf[PKI_ITEM_PRUNE_JOB].cert_pem, s->leaf[PKI_ITEM_PRUNE_JOB].key_pem },
                .tenants = s->tenants,
                .tenant_files = f,
                /* A dry run knows a kept certificate's and a kept CA's bundle only. */
                .server_sha256 = s->action[PKI_ITEM_SERVER] == PKI_KEPT || !o->dry_run ? s->info[PKI_ITEM_SERVER].sha256
                                                                                       : NULL,
        };
        for (size_t k = 0; k < n; k++)
                f[k] = (struct manifest_tls_files) { s->bundle, s->leaf[PKI_ITEM_TENANTS + k].cert_pem,
                                                     s->leaf[PKI_ITEM_TENANTS + k].key_pem };
        if (s->action[PKI_ITEM_CA] == PKI_KEPT || !o->dry_run) {
                r = pki_sha256_hex(s->bundle, strlen(s->bundle), bundle_sha256);
                if (r < 0)
                        return r;
                tls->bundle_sha256 = bundle_sha256;
        }
        return 0;
}

/* The node's PKI as REQ asks (REQ's deny list read here: a revoked leaf is re-issued),
 * printed, in RET. */
static int ensure_pki(const struct install_options *o, struct pki_request *req, struct pki_state *ret) {
        _cleanup_(revoked_done) struct revoked revoked = {};
        int r;

        r = authz_state_load_revoked(&revoked);
        if (r < 0)
                return r;
        req->revoked = authz_state_is_revoked;
        req->revoked_userdata = &revoked;
        r = pki_store_ensure(req, ret);
        if (r < 0) {
                if (ret->error)
                        log_error("%s: %s", ret->error, strerror(-r));
                else
                        log_error_errno(r, "cannot make the certificates in '%s': %m", PKI_DEFAULT_DIR);
                return r;
        }
        print_state(o, ret);
        return 0;
}

int install_tls_prepare(const struct install_options *o, json_t *objects, const char *cluster_ip) {
        _cleanup_(pki_state_done) struct pki_state s = {};
        _cleanup_(pki_sans_done) struct pki_sans sans = {};
        _cleanup_free_ char *error = NULL;
        _cleanup_free_ struct manifest_tls_files *tenant_files = NULL;
        struct manifest_tls tls;
        struct manifest_params p;
        char bundle_sha256[65];
        struct pki_request req = {
                .dir = PKI_DEFAULT_DIR,
                .tenants = o->allow_namespaces,
                .renew = o->renew_certs,
                .rotate_ca = o->rotate_ca,
                .dry_run = o->dry_run,
        };
        int r;

        if (!cluster_ip) {
                if (o->dry_run) {
                        printf("  Certificates in %s would be made once the Service has its ClusterIP; then the "
                               "Secrets %s and %s, and %s in each allowed namespace (dry run)\n", PKI_DEFAULT_DIR,
                               o->names.server_secret, o->names.prune_secret, o->names.client_secret);
                        return 0;
                }
                return log_error_errno(-EADDRNOTAVAIL, "the Service '%s/%s' has no ClusterIP: the "
                                       "server certificate must name it", o->namespace_, o->names.service);
        }
        r = server_sans(o, cluster_ip, &sans);
        if (r < 0)
                return log_error_errno(r, "cannot list the server certificate's names: %m");
        req.server_sans = &sans;
        r = ensure_pki(o, &req, &s);
        if (r < 0)
                return r;

        if (o->dry_run) {
                /* No key material goes to the API server, not even to be dry-run (audit
                 * logs and admission webhooks see dry-run bodies). */
                printf("  The Secrets are sent without their data (dry run: no key is made or sent)\n");
                fflush(stdout);
        }
        r = tls_of_state(o, &s, &tls, &tenant_files, bundle_sha256);
        if (r < 0)
                return log_error_errno(r, "cannot hash the trust bundle: %m");
        install_manifest_params(o, 0, &p);
        r = manifest_add_tls(objects, &p, &tls, &error);
        if (r < 0)
                return log_error_errno(r, "cannot add the certificates' Secrets: %s", error ?: strerror(-r));
        return 1;
}

char *install_docker_host(const char *ip, bool plaintext) {
        int port = plaintext ? MANIFEST_PLAINTEXT_PORT : MANIFEST_TLS_PORT;

        return strchr(ip, ':') ? strdup_printf("tcp://[%s]:%d", ip, port) : strdup_printf("tcp://%s:%d", ip, port);
}
