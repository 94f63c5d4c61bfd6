/* SPDX-License-Identifier: MIT */
#pragma once

/* What the checker reads of the daemon's caches: the build cache's records (GET
 * /system/df?type=build-cache) and the image list's totals (GET /images/json).
 *
 * Invariants:
 * - The build cache is asked for alone (type=build-cache, API 1.42 and newer: older
 *   daemons compute every image's, container's and volume's size for /system/df, so
 *   they are not asked at all: -EOPNOTSUPP), in API version min(the daemon's, 1.51),
 *   the record list whose fields are read here (1.52 reshaped the answer).
 * - The answer is read by a scanner that keeps only the fields below and builds no
 *   tree (10,000 records: 3 MiB, about 30 ms of CPU here where jansson's tree took
 *   130 ms); it refuses what JSON refuses, nesting past 64 levels, and a kept string
 *   that is not UTF-8.
 * - The answer is capped (DOCKER_CACHE_MAX_BODY bytes, DOCKER_CACHE_MAX_RECORDS records
 *   kept, DOCKER_CACHE_MAX_PARENTS parents each) and every string kept is cleaned
 *   (text_sanitize_line: control characters read as '?', cut on a UTF-8 boundary): an
 *   ID at most 64 bytes, a Type 32, a Description DOCKER_CACHE_MAX_DESCRIPTION.
 * - Parents: 28.5.2 names the key " Parents" (with a leading space, a quirk of its Go
 *   struct tag), the API documents "Parents", older daemons send one "Parent": all
 *   three are read.
 * - Library: never prints; negative errno as in docker.h. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker/docker.h"

#define DOCKER_CACHE_MAX_BODY (32u << 20)     /* 10,000 records are about 3.6 MiB */
#define DOCKER_CACHE_MAX_RECORDS 100000
#define DOCKER_CACHE_MAX_PARENTS 4
#define DOCKER_CACHE_MAX_DESCRIPTION 256
#define DOCKER_CACHE_API_OLDEST "1.42"        /* /system/df's type= */
#define DOCKER_CACHE_API_NEWEST "1.51"        /* the shape parsed here (Docker 28.5) */

struct docker_cache_record {
        char *id;
        char *type;                           /* "regular", "source.local", "exec.cachemount", ... */
        char *description;                    /* "mount / from exec /bin/sh -c npm ci", ... */
        char *parents[DOCKER_CACHE_MAX_PARENTS];
        size_t n_parents;
        uint64_t size;
        bool shared, in_use;
        int64_t last_used;                    /* LastUsedAt, unix seconds; 0 unknown */
        uint64_t usage_count;
};

struct docker_build_cache {
        struct docker_cache_record *items;
        size_t n;
        size_t body_size;                     /* bytes of the answer */
};

/* The body of GET /system/df: an object whose "BuildCache" is an array (or null) of
 * records with an "ID"; others are skipped. -EBADMSG when it is not such an object. */
int docker_build_cache_parse(const char *json, size_t size, struct docker_build_cache *ret);
/* API_VERSION: the daemon's (GET /version's ApiVersion). */
int docker_get_build_cache(struct docker_client *c, const char *api_version, struct docker_build_cache *ret);
void docker_build_cache_done(struct docker_build_cache *bc);

/* The body of GET /images/json: RET_COUNT images, RET_BYTES the sum of their Size
 * (a layer two images share counts for each, as `docker images` shows them).
 * -EBADMSG when it is not an array. */
int docker_image_totals_parse(const char *json, size_t size, uint64_t *ret_count, uint64_t *ret_bytes);
int docker_get_image_totals(struct docker_client *c, uint64_t *ret_count, uint64_t *ret_bytes);
