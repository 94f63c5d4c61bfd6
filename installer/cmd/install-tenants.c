/* SPDX-License-Identifier: MIT */
/* install's last word on the tenants, once the Secrets of this run are applied: a
 * namespace dropped from --allow-namespace loses its certificate (revoked: on the
 * authorization plugin's deny list), its Secret and its node folder; an install made
 * before per-tenant identities loses the one client certificate every job shared
 * (pki/client/: revoked too, and its Secret in every namespace that is no tenant now).
 * Command layer: prints what it does. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "base/json-util.h"
#include "cmd/authz-state.h"
#include "cmd/install-cluster-private.h"
#include "kube/manifest.h"
#include "pki/pki-store.h"

/* From here on the daemon refuses certificate SERIAL (named CN) of WHO, which jobs may
 * still hold: dockerd reads no CRL, the authorization plugin's deny list refuses it
 * (and the tenant list, written before the Secrets, no longer names a dropped tenant). */
static int revoke_dropped(const struct install_options *o, const char *who, const char *serial, const char *cn) {
        int r = authz_state_revoke(serial, cn, o->dry_run);

        if (r < 0)
                return r;
        printf("  %s: certificate %s (CN %s) %s: the daemon refuses it from its next request on\n", who, serial,
               cn ?: "?", o->dry_run ? (r > 0 ? "would be revoked" : "is revoked already")
                                     : (r > 0 ? "revoked" : "revoked already"));
        return 0;
}

/* The serial and CN of the certificate in DIR/FOLDER, or NULLs when unreadable. */
static int folder_certificate(const char *folder, struct pki_peer *ret) {
        _cleanup_free_ char *path = strdup_printf(PKI_DEFAULT_DIR "/%s/cert.pem", folder);
        _cleanup_free_ char *pem = NULL;
        size_t size;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file_full(path, PKI_MAX_PEM, &pem, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || pki_peer_from_pem(pem, size, ret) < 0)
                *ret = (struct pki_peer) {};
        return 0;
}

/* Deletes the client Secret of namespace NS, saying so (and nothing when it is gone). */
static int delete_client_secret(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg,
                                const char *ns, const char *why) {
        _cleanup_free_ char *path = strdup_printf("/api/v1/namespaces/%s/secrets/%s", ns, o->names.client_secret);
        _cleanup_free_ char *what = strdup_printf("delete Secret %s/%s", ns, o->names.client_secret);
        int r;

        if (!path || !what)
                return log_oom();
        r = kube_delete(c, path, o->dry_run);
        if (r == -ENOENT || r == 0)
                return 0;
        if (r < 0)
                return install_log_kube_error(c, cfg, r, what);
        printf("  Secret %s/%s %s (%s)\n", ns, o->names.client_secret, o->dry_run ? "would be deleted" : "deleted",
               why);
        fflush(stdout);
        return 0;
}

/* A tenant with a node folder but no longer in --allow-namespace: revoked, its Secret
 * deleted, then its folder removed (last: it holds the serial, so a run killed before
 * is finished by the next). */
static int drop_tenant(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg,
                       const char *tenant) {
        _cleanup_(pki_peer_done) struct pki_peer peer = {};
        _cleanup_free_ char *folder = strdup_printf(PKI_TENANTS_FOLDER "/%s", tenant);
        int r;

        if (!folder || (r = folder_certificate(folder, &peer)) < 0)
                return log_oom();
        _cleanup_free_ char *who = strdup_printf("tenant %s", tenant);
        if (!who)
                return log_oom();
        if (*peer.serial && (r = revoke_dropped(o, who, peer.serial, peer.cn)) < 0)
                return r;
        r = delete_client_secret(o, c, cfg, tenant, "dropped from --allow-namespace");
        if (r < 0 || o->dry_run)
                return r;
        r = pki_store_remove_tenant(PKI_DEFAULT_DIR, tenant);
        if (r < 0)
                return log_error_errno(r, "cannot remove the folder of tenant '%s' in '%s': %m", tenant,
                                       PKI_DEFAULT_DIR "/" PKI_TENANTS_FOLDER);
        printf("  tenant %s: its folder in %s removed\n", tenant, PKI_DEFAULT_DIR "/" PKI_TENANTS_FOLDER);
        return 0;
}

/* This node's CAs: the CA and, during a rotation, the one before it (PEM), or NULL when
 * there is none yet. */
static char *node_cas(void) {
        _cleanup_free_ char *ca = NULL, *previous = NULL;
        size_t size;

        if (read_file_full(PKI_DEFAULT_DIR "/ca/cert.pem", PKI_MAX_PEM, &ca, &size) < 0)
                return NULL;
        if (read_file_full(PKI_DEFAULT_DIR "/ca/previous.pem", PKI_MAX_PEM, &previous, &size) < 0)
                previous = NULL;
        return strdup_printf("%s%s", ca, previous ?: "");
}

/* True when SECRET holds a client certificate one of CAS issued: a Secret of the same
 * name that another install made (an unnamed cache of another namespace, with its own
 * CA) is never ours to delete. */
static bool secret_is_ours(const json_t *secret, const char *cas) {
        const char *b64 = json_string_value(json_get_path(secret, "data", "cert.pem", NULL));
        _cleanup_free_ char *pem = NULL;
        size_t size;

        if (!cas || !b64 || base64_decode(b64, strlen(b64), PKI_MAX_PEM, &pem, &size) < 0)
                return false;
        return pki_verify(cas, pem, PKI_USAGE_CLIENT, NULL) == 0;
}

/* Our client Secrets, as objects: every one, when the credentials may list Secrets
 * cluster-wide, else the daemon's namespace's alone (the node's tenants are looked at
 * all the same). */
static int client_secrets(const struct install_options *o, struct kube_client *c, json_t **ret) {
        _cleanup_free_ char *path = strdup_printf("/api/v1/namespaces/%s/secrets/%s", o->namespace_,
                                                  o->names.client_secret);
        _cleanup_json_ json_t *items = NULL, *own = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        r = kube_list(c, "/api/v1/secrets", "app=" MANIFEST_APP_LABEL, NULL, &items);
        if (r == -EPERM || r == -EACCES) {
                log_warning("cannot list Secrets in every namespace: only the node's tenants and '%s' are checked for "
                            "a %s no longer wanted (kubectl get secrets -A -l app=" MANIFEST_APP_LABEL " shows all)",
                            o->namespace_, o->names.client_secret);
                items = json_array();
                r = kube_get(c, path, &own);
                if (r == -ENOENT)
                        r = 0;
                if (r >= 0 && (!items || (own && json_array_append(items, own) < 0)))
                        r = -ENOMEM;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(items);
        return 0;
}

/* Secrets of ours in namespaces that are no tenant (now): the daemon's own held the one
 * shared client certificate before the prune job had its own. */
static int drop_stale_secrets(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg,
                              char *const *tenants) {
        _cleanup_json_ json_t *items = NULL;
        _cleanup_free_ char *cas = node_cas();
        json_t *item;
        size_t i;
        int r;

        r = client_secrets(o, c, &items);
        if (r < 0)
                return install_log_kube_error(c, cfg, r, "list the client Secrets");
        json_array_foreach(items, i, item) {
                const char *name = json_string_value(json_get_path(item, "metadata", "name", NULL));
                const char *ns = json_string_value(json_get_path(item, "metadata", "namespace", NULL));

                if (!streq(name, o->names.client_secret) || !ns || strv_contains(o->allow_namespaces, ns) ||
                    strv_contains(tenants, ns) || !secret_is_ours(item, cas))
                        continue;
                if ((r = delete_client_secret(o, c, cfg, ns, "no tenant of this daemon")) < 0)
                        return r;
        }
        return 0;
}

/* The one client certificate every job shared before per-tenant identities: revoked,
 * then removed from the node (its serial known until then), once the tenants' Secrets
 * are applied. Jobs whose Secret volume the kubelet has not refreshed yet (about a
 * minute) are refused meanwhile; the daemon restarts in this run anyway (README,
 * "Revocation"). */
static int drop_legacy_client(const struct install_options *o) {
        _cleanup_(pki_peer_done) struct pki_peer peer = {};
        int r;

        r = pki_store_has_legacy_client(PKI_DEFAULT_DIR);
        if (r <= 0)
                return r < 0 ? log_error_errno(r, "cannot look at '%s': %m", PKI_DEFAULT_DIR) : 0;
        if (folder_certificate(PKI_LEGACY_CLIENT_FOLDER, &peer) < 0)
                return log_oom();
        if (*peer.serial && (r = revoke_dropped(o, "the client certificate every job shared", peer.serial,
                                                 peer.cn ?: PKI_LEGACY_CN_CLIENT)) < 0)
                return r;
        if (!o->dry_run && (r = pki_store_remove_legacy_client(PKI_DEFAULT_DIR)) < 0)
                return log_error_errno(r, "cannot remove '%s': %m", PKI_DEFAULT_DIR "/" PKI_LEGACY_CLIENT_FOLDER);
        printf("  %s %s: each allowed namespace has its own certificate now\n",
               PKI_DEFAULT_DIR "/" PKI_LEGACY_CLIENT_FOLDER, o->dry_run ? "would be removed" : "removed");
        fflush(stdout);
        return 0;
}

int install_tenants_settle(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg) {
        _cleanup_strv_free_ char **tenants = NULL;
        int r;

        r = pki_store_tenants(PKI_DEFAULT_DIR, &tenants);
        if (r < 0)
                return log_error_errno(r, "cannot list the tenants in '%s': %m", PKI_DEFAULT_DIR);
        for (char **t = tenants; *t; t++)
                if (!strv_contains(o->allow_namespaces, *t) && (r = drop_tenant(o, c, cfg, *t)) < 0)
                        return r;

        if ((r = drop_stale_secrets(o, c, cfg, tenants)) < 0)
                return r;
        return drop_legacy_client(o);
}
