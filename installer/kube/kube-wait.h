/* SPDX-License-Identifier: MIT */
#pragma once

/* Readiness of the objects install waits for, read from their JSON as the API server
 * returns them. Pure functions, no I/O: the caller fetches, these judge.
 *
 * Invariants:
 * - A predicate returns true when the condition holds. When it does not, *ret_why
 *   (optional; caller frees; NULL on -ENOMEM) says what is awaited, in words for
 *   people: "claim 'docker-dind-data' is Pending".
 * - Strings taken from the objects are capped and stripped of control characters. */

#include <jansson.h>
#include <stdbool.h>

/* status.phase == "Bound". */
bool kube_pvc_is_bound(const json_t *pvc, char **ret_why);

/* The rollout is complete as `kubectl rollout status` judges it: observedGeneration
 * >= generation, and updatedReplicas == availableReplicas == replicas (spec, default
 * 1), no old replicas left. A ProgressDeadlineExceeded condition is named. */
bool kube_deployment_is_complete(const json_t *deployment, char **ret_why);

/* The pod runs (phase Running, Ready) on NODE. */
bool kube_pod_is_running_on(const json_t *pod, const char *node, char **ret_why);

/* Of the pods in ITEMS, the one to look at: not being deleted, newest first. Borrowed. */
const json_t *kube_pods_pick(const json_t *items);

/* The Service's spec.clusterIP, or NULL when there is none yet (or "None"). Borrowed. */
const char *kube_service_cluster_ip(const json_t *service);

/* Some endpoint of some EndpointSlice in ITEMS is ready (conditions.ready true or
 * absent, as the API defines it). */
bool kube_endpointslices_ready(const json_t *items, char **ret_why);

/* What keeps the pod from running, for a timeout message: a container's waiting or
 * terminated reason and message, else an unmet pod condition's message; NULL when
 * nothing is said. Caller frees. */
char *kube_pod_problem(const json_t *pod);

/* "Warning FailedScheduling: 0/1 nodes are available: ...", one line per event, the
 * last MAX events by time; NULL when there are none. Caller frees. */
char *kube_events_describe(const json_t *items, size_t max);

/* A label selector from matchLabels: "app=docker-dind,tier=daemon". Caller frees. */
char *kube_label_selector(const json_t *match_labels);
