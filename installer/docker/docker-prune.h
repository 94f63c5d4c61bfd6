/* SPDX-License-Identifier: MIT */
#pragma once

/* The Engine API calls of `dind-cache prune`: version negotiation, the image and
 * container lists, the event log, the daemon's own prune endpoints and one image
 * removal at a time.
 *
 * Invariants:
 * - Every reply is capped where it enters (DOCKER_PRUNE_MAX_LIST for lists and the
 *   event log, at most DOCKER_PRUNE_MAX_ITEMS objects kept) and every string taken
 *   from it is cleaned: control characters read as '?', at most DOCKER_PRUNE_MAX_STR
 *   bytes (cut on a UTF-8 boundary). What the daemon says can be printed as it is.
 * - Nothing is ever forced: DELETE /images/{name} goes without force=1, so the daemon
 *   itself refuses an image a container uses (-EBUSY here).
 * - /build/prune gets exactly the size parameters its API version reads (1.48 and
 *   newer: reserved-space, max-used-space, min-free-space; older: keep-storage), and
 *   none that is zero.
 * - Library: never prints; negative errno as in docker.h, plus -EBUSY (409 conflict)
 *   and -ENOENT (404 no such image). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker/docker.h"

#define DOCKER_PRUNE_API_NEWEST "1.51"   /* the newest API this client speaks (Docker 28.5) */
#define DOCKER_PRUNE_API_OLDEST "1.41"   /* Docker 20.10 */
#define DOCKER_PRUNE_API_SIZES "1.48"    /* /build/prune's reserved/max-used/min-free */
#define DOCKER_PRUNE_MAX_LIST (8u << 20)
#define DOCKER_PRUNE_MAX_ITEMS 20000
#define DOCKER_PRUNE_MAX_STR 256

/* Compares API versions "1.N": <0, 0, >0. Malformed text sorts first. */
int docker_api_version_compare(const char *a, const char *b);

/* GET /version (unversioned), then speaks min(the daemon's ApiVersion, NEWEST) on
 * every later call. RET gets that version ("1.51"). -EPROTONOSUPPORT when the daemon
 * is older than OLDEST. */
int docker_negotiate_version(struct docker_client *c, char ret[16]);

struct docker_image {
        char *id;                 /* "sha256:...", cleaned */
        char **tags;              /* RepoTags without "<none>:<none>"; never NULL */
        int64_t created;          /* unix seconds */
        int64_t last_tag_time;    /* Metadata.LastTagTime, unix seconds; 0 unknown */
        uint64_t size;
        char **layers;            /* RootFS.Layers, bottom first; NULL until inspected */
};

struct docker_image_list {
        struct docker_image *items;
        size_t n;
};

/* GET /images/json's body: an array of objects with "Id". -EBADMSG otherwise. */
int docker_images_parse(const char *json, size_t size, struct docker_image_list *ret);
int docker_list_images(struct docker_client *c, struct docker_image_list *ret);
void docker_image_list_done(struct docker_image_list *l);

/* From GET /images/{id}/json's body: IMG's last_tag_time (Metadata.LastTagTime, unix
 * seconds; 0 when absent or Go's zero time) and layers (RootFS.Layers, at most 256).
 * -EBADMSG when the body is not an object. */
int docker_image_inspect_parse(const char *json, size_t size, struct docker_image *img);
int docker_image_inspect(struct docker_client *c, struct docker_image *img);

struct docker_container {
        char *id;
        char *image_id;           /* "sha256:..." */
        char *state;              /* "running", "exited", "created", ... */
        int64_t created;          /* unix seconds */
};

struct docker_container_list {
        struct docker_container *items;
        size_t n;
};

/* GET /containers/json?all=1's body. */
int docker_containers_parse(const char *json, size_t size, struct docker_container_list *ret);
int docker_list_containers(struct docker_client *c, struct docker_container_list *ret);
void docker_container_list_done(struct docker_container_list *l);

struct docker_event {
        char *type;               /* "container", "image" */
        char *action;             /* "create", "start", "pull", "tag", "load", ... */
        char *actor_id;           /* Actor.ID: a container id, an image id or a reference */
        char *image;              /* Actor.Attributes.image (containers) or .name (images), or NULL */
        int64_t time;             /* unix seconds */
};

struct docker_event_list {
        struct docker_event *items;
        size_t n;
};

/* The event stream's body: JSON objects one after the other (newline-separated).
 * Objects without Type/Action/time are skipped; a truncated last object ends it. */
int docker_events_parse(const char *text, size_t size, struct docker_event_list *ret);
/* GET /events?since=SINCE&until=UNTIL filtered to container and image events. */
int docker_get_events(struct docker_client *c, int64_t since, int64_t until, struct docker_event_list *ret);
void docker_event_list_done(struct docker_event_list *l);

struct docker_prune_report {
        uint64_t count;           /* objects removed */
        uint64_t bytes;           /* what the daemon says it reclaimed */
};

/* POST /containers/prune: stopped containers created more than MIN_AGE_SEC ago. */
int docker_prune_containers(struct docker_client *c, uint64_t min_age_sec, struct docker_prune_report *ret);
/* POST /images/prune: dangling images created more than MIN_AGE_SEC ago. */
int docker_prune_dangling_images(struct docker_client *c, uint64_t min_age_sec, struct docker_prune_report *ret);

struct docker_build_prune {
        bool all;                 /* every record, internal ones too */
        uint64_t reserved_space;  /* keep at least this much cache; 0 none */
        uint64_t max_used_space;  /* the cache's size cap; 0 none */
        uint64_t min_free_space;  /* prune until this much is free; 0 none */
        uint64_t keep_storage;    /* before 1.48: keep this much cache; 0 none */
};

/* The query of POST /build/prune for API version VERSION: "?all=1&reserved-space=..."
 * (1.48+: keep_storage ignored; older: only all and keep-storage). "" when nothing. */
int docker_build_prune_query(const char *version, const struct docker_build_prune *p, char **ret);
int docker_build_prune(struct docker_client *c, const char *version, const struct docker_build_prune *p,
                       struct docker_prune_report *ret);
/* The build cache's size (its records that are not shared with images), from GET
 * /system/df; RET_COUNT records. */
int docker_system_df_build_cache_parse(const char *json, size_t size, uint64_t *ret_bytes, uint64_t *ret_count);
int docker_build_cache_size(struct docker_client *c, const char *version, uint64_t *ret_bytes, uint64_t *ret_count);

/* DELETE /images/NAME (an id or a reference), never forced: 0 removed or untagged,
 * -EBUSY the daemon refused (in use, or children), -ENOENT no such image. */
int docker_remove_image(struct docker_client *c, const char *name);
