/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's namespace and Pod Security Admission. The daemon runs privileged, so its
 * namespace must enforce the level "privileged" (or none, where the cluster's default
 * is privileged). install labels only a namespace it creates, and marks it so that a
 * later run and uninstall know the label is theirs to keep or take away; on a
 * namespace that was there before, it reports the enforced level and refuses one that
 * would refuse the daemon's pod, never relabelling someone else's namespace.
 *
 * Invariants:
 * - A namespace is install's (POD_SECURITY_OURS) when it carries the mark, or when its
 *   enforce label is owned by install's field manager (an install of an earlier version
 *   labelled it): either way install set the label.
 * - An enforce label with any value but "privileged" refuses a privileged pod: baseline
 *   and restricted do, and PodSecurity enforces a value it does not know as restricted.
 * - Library code: never prints. */

#include <jansson.h>

#define POD_SECURITY_ENFORCE_LABEL "pod-security.kubernetes.io/enforce"
#define POD_SECURITY_PRIVILEGED "privileged"
/* The annotation that marks the label as install's (manifests/00-namespace.yaml). */
#define POD_SECURITY_MARK "dind-cache.io/pod-security-label"

enum pod_security_verdict {
        POD_SECURITY_NO_NAMESPACE,      /* install creates it, labelled and marked */
        POD_SECURITY_OURS,              /* install set its label: kept (and marked) */
        POD_SECURITY_UNLABELLED,        /* another's, no enforce label: the cluster's default */
        POD_SECURITY_ADMITS,            /* another's, enforcing privileged */
        POD_SECURITY_REFUSES,           /* another's, enforcing a level that refuses the pod */
};

/* The verdict on the live Namespace NS (NULL: it does not exist) for install, whose
 * field manager is MANAGER; *RET_LEVEL (may be NULL) the enforce label's value, borrowed
 * from NS, or NULL. */
enum pod_security_verdict pod_security_judge(const json_t *ns, const char *manager, const char **ret_level);

/* Removes the enforce label and the mark from OBJ, the Namespace as install applies it:
 * the namespace is another's, whose label install neither sets nor takes. */
void pod_security_unlabel(json_t *obj);
