/* SPDX-License-Identifier: MIT */
#pragma once

/* The pruner's memory of when each image was last used, kept between runs in a small
 * JSON file (default /var/lib/dind-cache/prune-state.json):
 *     {"version":1,"last_run":1764410000,"images":{"sha256:...":1764409000,...}}
 * Each run reads the daemon's events since last_run (GET /events?since=&until=), moves
 * the images they name forward, forgets images that are gone, and saves the file.
 *
 * Invariants:
 * - The file is capped (PRUNE_STATE_MAX_SIZE, PRUNE_STATE_MAX_IMAGES entries) and
 *   written atomically (temp file in the same directory, fsync, rename, fsync dir).
 * - A missing file is an empty state; a damaged one is -EBADMSG (the caller starts
 *   afresh and says so).
 * - What the events can tell: container create/start name their image (by reference
 *   or id); image pull, tag, load and import name the image. A build that only reads
 *   a base image through BuildKit leaves no event, and the daemon keeps only its last
 *   256 events in memory: what happened before those is lost.
 * - Library: never prints. */

#include <stddef.h>
#include <stdint.h>

#include "docker/docker-prune.h"

#define PRUNE_STATE_MAX_SIZE (4u << 20)
#define PRUNE_STATE_MAX_IMAGES 20000

struct prune_use {
        char *id;                 /* "sha256:..." */
        int64_t last_use;         /* unix seconds */
};

struct prune_state {
        int64_t last_run;         /* unix seconds; 0 never */
        struct prune_use *items;
        size_t n, allocated;
};

int prune_state_parse(const char *text, size_t size, struct prune_state *ret);
int prune_state_format(const struct prune_state *s, char **ret);
/* -ENOENT is not an error here: RET is then empty. */
int prune_state_load(const char *path, struct prune_state *ret);
/* Written atomically, mode 0644 (image ids and times are no secret). */
int prune_state_save(const char *path, const struct prune_state *s);
void prune_state_done(struct prune_state *s);

/* The last use of image ID, 0 unknown. */
int64_t prune_state_get(const struct prune_state *s, const char *id);
/* Moves ID's last use to T when T is later. */
int prune_state_touch(struct prune_state *s, const char *id, int64_t t);

/* The image of IMAGES that NAME means: an id ("sha256:..."), an id prefix of 12 or
 * more hex digits, or a reference ("bb", "bb:1", "docker.io/library/bb:latest",
 * "repo@sha256:...") matched against the tags (":latest" when no tag). NULL none. */
const struct docker_image *prune_resolve_image(const struct docker_image_list *images, const char *name);

/* Applies EVENTS to S: each image named by a container create/start or an image
 * pull/tag/load/import event, resolved in IMAGES, is used at the event's time. */
int prune_state_apply_events(struct prune_state *s, const struct docker_event_list *events,
                             const struct docker_image_list *images);

/* Forgets the images that are not in IMAGES. */
void prune_state_forget_gone(struct prune_state *s, const struct docker_image_list *images);
