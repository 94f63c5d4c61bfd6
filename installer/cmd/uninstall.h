/* SPDX-License-Identifier: MIT */
#pragma once

/* Steps of `dind-cache uninstall` that live in their own command-layer file
 * (cmd-uninstall-cluster.c). Like install's steps they print progress, log why they
 * failed, and change nothing with dry_run. */

#include <stdbool.h>
#include <stdint.h>

struct uninstall_cluster_args {
        const char *kubeconfig;   /* or NULL: $KUBECONFIG, ~/.kube/config, admin.conf */
        const char *context;      /* or NULL: current-context */
        const char *namespace_;
        const char *instance;     /* NULL: the unnamed one */
        const char *data_dir;
        bool dry_run;
        bool wait_pods_gone;      /* wait until the daemon's pods are gone (before a wipe) */
        uint64_t timeout_usec;    /* for that wait */
};

/* Deletes what install applied, in reverse order of applying. The Namespace stays
 * (it may hold more than ours), and so does the StorageClass while another
 * PersistentVolume uses it. The PersistentVolume's reclaim policy is Retain, and a
 * local volume has no provisioner: the data on the node stays. Returns the number of
 * objects deleted (or that would be), or a negative errno after logging why. */
int uninstall_cluster_objects(const struct uninstall_cluster_args *a);
