/* SPDX-License-Identifier: MIT */
#pragma once

/* A small Kubernetes API client on http.h: GET, server-side apply, DELETE and LIST of
 * objects by REST path (manifest.h gives the paths of what we ship), and the API's
 * errors as data.
 *
 * Invariants:
 * - One client is one reused connection to one API server, authenticated and verified
 *   as the kubeconfig says (kubeconfig.h). Each request has a connect timeout (5 s) and
 *   a total timeout (30 s); bodies are capped (8 MiB); 429, 5xx and dropped
 *   connections are retried a bounded number of times (5), honouring Retry-After
 *   (capped at 10 s).
 * - The server URL is https:// or http://, a host name, IPv4 or [IPv6] address, a
 *   port from 1 to 65535 and an optional path prefix; no user info, query or fragment
 *   (kube_client_new() says which rule it breaks).
 * - Paths are absolute API paths ("/api/v1/nodes/node1"); the client adds the server's
 *   URL (and its path prefix, if any). Names in paths must be DNS names (manifest_ref()
 *   checks ours); selectors and other query values are percent-encoded here.
 * - Library code: never prints. Every function returns a negative errno on failure
 *   and then kube_client_last_error() says why, in the API's own words when the server
 *   answered with a Status object:
 *     -EACCES  401 Unauthorized (credentials missing, expired or not accepted)
 *     -EPERM   403 Forbidden (RBAC)
 *     -ENOENT  404 NotFound (the object, or its namespace)
 *     -EBUSY   409 Conflict (a server-side apply FieldManagerConflict, or AlreadyExists)
 *     -EINVAL  400 BadRequest, 422 Invalid (see the causes)
 *     -EAGAIN  429 TooManyRequests, still after the retries
 *     -EIO     5xx, still after the retries; another unexpected status
 *     -EBADMSG a reply that is not the JSON object expected
 *     and http.h's errors when no reply arrived (-ETIMEDOUT, -ECONNREFUSED, -EPROTO for
 *     TLS failures, -ECONNRESET, -EFBIG).
 * - Key material handed in (kubeconfig) is copied into curl's handle only. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/text.h"
#include "kube/kubeconfig.h"

#define KUBE_FIELD_MANAGER "dind-cache"

struct kube_client;

/* One entry of Status.details.causes. Any member may be NULL. */
struct kube_status_cause {
        char *type;              /* "FieldValueInvalid", "FieldManagerConflict" */
        char *message;
        char *field;             /* ".spec.replicas", "spec.template.spec..." */
};

/* Why the last request failed. Any string may be NULL; for a failure with no HTTP reply
 * http_status is 0 and transport says what the connection said. */
struct kube_error {
        long http_status;        /* 401, 403, ... or 0 */
        char *reason;            /* Status.reason: "Forbidden", "NotFound", "Conflict", ... */
        char *message;           /* Status.message, as the API server wrote it */
        char *details_name;      /* Status.details.name */
        char *details_group;
        char *details_kind;      /* "deployments", "namespaces", ... */
        struct kube_status_cause *causes;
        size_t n_causes;         /* at most KUBE_STATUS_MAX_CAUSES kept */
        char *transport;         /* curl's words when no reply arrived */
        char *method;            /* the request: "PATCH" */
        char *path;              /* "/apis/apps/v1/namespaces/kube-ops/deployments/docker-dind" */
};

#define KUBE_STATUS_MAX_CAUSES 64

void kube_error_done(struct kube_error *e);

/* Parses a Status object (the body of an error reply) into RET. A body that is not a
 * Status leaves reason NULL and keeps a short excerpt of it as message (a proxy's
 * error page); never fails for hostile input (-ENOMEM only). Strings are copied,
 * capped (4 KiB each) and stripped of control characters (newlines kept). */
int kube_status_parse(const char *body, size_t size, long http_status, struct kube_error *ret);

/* Text from the server that may reach a terminal: base/util.h's text_sanitize(), the
 * one cleaning helper, under the name the kube layer has always used. */
static inline char *kube_sanitize(const char *s, size_t len, size_t max) {
        return text_sanitize(s, len, max);
}

/* The negative errno for an HTTP status, as listed above (0 for 2xx). */
int kube_status_to_errno(long http_status);

/* Connects nothing yet: sets up the client from CFG (server, trust, credentials).
 * -EINVAL with *ret_message (caller frees) when the server URL is unusable. */
int kube_client_new(const struct kubeconfig *cfg, struct kube_client **ret, char **ret_message);
struct kube_client *kube_client_free(struct kube_client *c);
static inline void kube_client_freep(struct kube_client **c) {
        kube_client_free(*c);
}

/* Called before each retry's wait (progress for people): STATUS is the HTTP status
 * (0 for a dropped connection), WAIT_USEC how long the client will wait. */
void kube_client_set_retry_callback(struct kube_client *c,
                                    void (*cb)(void *userdata, long status, int error, uint64_t wait_usec),
                                    void *userdata);
/* Overrides the per-request total timeout (default 30 s). */
void kube_client_set_timeout(struct kube_client *c, uint64_t total_usec);

/* Why the last failing call failed; valid until the next call. Never NULL. */
const struct kube_error *kube_client_last_error(const struct kube_client *c);

/* The server's URL, as given in the kubeconfig. */
const char *kube_client_server(const struct kube_client *c);

/* GET PATH: the object in *ret_obj. -ENOENT when it does not exist. */
int kube_get(struct kube_client *c, const char *path, json_t **ret_obj);

enum {
        KUBE_APPLY_FORCE = 1 << 0,      /* force=true: take over conflicting fields */
        KUBE_APPLY_DRY_RUN = 1 << 1,    /* dryRun=All: the server persists nothing */
};

enum kube_apply_outcome {
        KUBE_APPLY_CREATED,             /* 201, or (dry run) it did not exist */
        KUBE_APPLY_CONFIGURED,          /* it existed and changed (or would change) */
        KUBE_APPLY_UNCHANGED,           /* it existed and nothing changed */
};
const char *kube_apply_outcome_to_string(enum kube_apply_outcome o); /* "created", ... */

/* Server-side apply of OBJ (a complete object with apiVersion, kind, metadata.name,
 * and metadata.namespace when namespaced) at PATH (its REST path): a GET of the live
 * object, then PATCH with Content-Type application/apply-patch+yaml (JSON is YAML),
 * fieldManager=dind-cache, force=true with KUBE_APPLY_FORCE, dryRun=All with
 * KUBE_APPLY_DRY_RUN. The outcome: 201 is created; otherwise unchanged when the
 * resourceVersion stayed the same (dry run: when the returned object equals the live
 * one but for resourceVersion and managedFields timestamps), configured otherwise.
 * *ret_obj (optional) gets the object the server returned. A conflict is -EBUSY, with
 * the conflicting fields and their managers in the last error's causes. */
int kube_apply(struct kube_client *c, const char *path, const json_t *obj, unsigned flags,
               enum kube_apply_outcome *ret_outcome, json_t **ret_obj);

/* kube_apply() with the field manager MANAGER (at most 128 characters of
 * [a-z0-9./-]; -EINVAL otherwise), e.g. "dind-cache/a": that manager owns exactly the
 * fields OBJ holds, and an apply without a field it owned alone removes it. */
int kube_apply_as(struct kube_client *c, const char *path, const json_t *obj, const char *manager, unsigned flags,
                  enum kube_apply_outcome *ret_outcome, json_t **ret_obj);

/* DELETE PATH (propagationPolicy=Background; dryRun=All when DRY_RUN). Returns 1 when
 * deleted (or it would be), 0 when it was already gone. */
int kube_delete(struct kube_client *c, const char *path, bool dry_run);

/* LIST the collection at COLLECTION_PATH ("/api/v1/namespaces/kube-ops/pods") with
 * optional selectors ("app=docker-dind", "involvedObject.name=x"), at most 500 items:
 * the items array in *ret_items. */
int kube_list(struct kube_client *c, const char *collection_path, const char *label_selector,
              const char *field_selector, json_t **ret_items);
