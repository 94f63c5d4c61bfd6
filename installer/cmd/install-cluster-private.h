/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared between install-cluster.c (render, preflight, apply, env file) and
 * install-cluster-wait.c (waiting until the daemon is ready). Command layer. */

#include <jansson.h>

#include "cmd/install.h"
#include "kube/kube.h"
#include "kube/members.h"
#include "base/log.h"

#define log_oom() log_error_errno(-ENOMEM, "out of memory")

/* Logs the client's last error for a request that failed with R while doing WHAT
 * ("apply Deployment kube-ops/docker-dind"): the Status reason and message, the
 * causes, and a hint for 401/403/409/TLS failures. Returns R. */
int install_log_kube_error(struct kube_client *c, const struct kubeconfig *cfg, int r, const char *what);

/* Waits (at most o->timeout_usec) until the claim is Bound, the Deployment rolled out,
 * its pod runs on o->node, and the Service has a ClusterIP and a ready endpoint.
 * Prints progress; on timeout says which condition failed, with the pod's problem and
 * its last events. *ret_cluster_ip: the Service's ClusterIP. */
int install_cluster_wait(const struct install_options *o, struct kube_client *c,
                         const struct kubeconfig *cfg, const json_t *objects, char **ret_cluster_ip);

/* The certificates (install-tls.c), called by the apply loop when it reaches the
 * Deployment, with the Service's CLUSTER_IP (NULL: not known, dry run): makes or keeps
 * the node's PKI, prints what it did, adds the Secrets before the Deployment in
 * OBJECTS and the certificate's hash to its pod template. 1 when the Secrets were
 * added, 0 when not (dry run without a ClusterIP), negative errno after logging. */
int install_tls_prepare(const struct install_options *o, json_t *objects, const char *cluster_ip);

/* Before anything is applied (install-namespace.c): the daemon's namespace and its
 * pod-security level. Keeps the label and mark in OBJECTS' Namespace when install made
 * (or makes) the namespace, takes them out when it is another's that admits the
 * privileged pod, and refuses (-EPERM, logged) one that would not. Prints the verdict. */
int install_namespace_preflight(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg,
                                json_t *objects);

/* After the apply (install-tenants.c): tenants dropped from --allow-namespace lose their
 * certificate (the seam of revocation), Secret and node folder; client Secrets of ours
 * in namespaces that are no tenant go; the client certificate every job shared before
 * per-tenant identities (pki/client/) goes. Dry run: says what it would do. */
int install_tenants_settle(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg);

/* "tcp://IP:2376" ("tcp://[IP]:PORT" for IPv6), port 2375 when PLAINTEXT. */
char *install_docker_host(const char *ip, bool plaintext);

/* The members ConfigMap (install-members.c). Before anything is applied: refuses the
 * unnamed instance beside named ones in one namespace (-EEXIST, logged). */
int install_members_preflight(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg);
/* Applies this instance's key (field manager dind-cache/KEY; dryRun with --dry-run),
 * prints the outcome, and reads every member back into *RET. */
int install_members_register(const struct install_options *o, struct kube_client *c, const struct kubeconfig *cfg,
                             struct members *ret);
