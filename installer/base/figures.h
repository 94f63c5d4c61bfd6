/* SPDX-License-Identifier: MIT */
#pragma once

/* The figures a check run measures, the vocabulary shared by the checker (check/),
 * which fills them, and the metrics file (metrics/), which is written from them; and
 * the percentage of a filesystem in use, as every command counts it. */

#include <stdbool.h>
#include <stdint.h>

/* The figures measured on the way, for the metrics file (metrics/textfile.h) and
 * `check --json`: what the checks read anyway, and the caches' figures from two cheap
 * calls (check/health-cache.c). */
struct health_figures {
        bool disk_known;          /* the data directory's filesystem was read */
        uint64_t disk_size;       /* bytes */
        uint64_t disk_used;       /* bytes: size - free, as the disk_usage check counts */
        uint64_t disk_available;  /* bytes available to unprivileged users */
        uint64_t inodes;          /* 0: no inode limit (btrfs) */
        uint64_t inodes_free;
        int daemon_up;            /* 1 answered /_ping, 0 did not, -1 not checked */
        uint64_t round_trip_usec; /* of /_ping, when daemon_up is 1 */
        bool plugins_known;       /* GET /info was read: authz_listed below says */
        bool authz_listed;        /* its Plugins.Authorization names dind-cache-authz */
        /* notAfter (Unix time) of each certificate of the node's PKI, in the order of
         * health_cert_names; 0: not checked or unreadable. */
        int64_t cert_not_after[4];
        /* The caches (check/health-cache.c): each group only when it was read. */
        bool cache_known;         /* the build cache's figures below */
        uint64_t cache_records, cache_bytes, cache_reclaimable;
        int64_t cache_read_at;    /* when they were read, unix seconds (a big cache is
                                   * read only now and then: maybe an earlier run) */
        bool reuses_known;        /* the node's state keeps the reuse counter */
        uint64_t cache_reuses_total;
        bool images_known;
        uint64_t images, image_bytes;
};

/* The certificates the checker reads: "ca", "server", "client", "checker". */
extern const char *const health_cert_names[4];

/* Percent of USED out of USED + AVAIL, rounded up as df does (0..100). */
int percent_used(uint64_t used, uint64_t avail);
