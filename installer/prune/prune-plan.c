/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

#include "prune/prune-plan.h"
#include "base/figures.h"
#include "base/util.h"

void prune_fs_from_counts(uint64_t blocks, uint64_t bfree, uint64_t bavail, uint64_t frsize,
                          struct prune_fs *ret) {
        uint64_t used = (blocks - (bfree < blocks ? bfree : blocks)) * frsize;
        uint64_t avail = bavail * frsize;

        *ret = (struct prune_fs) {
                .size = used + avail,
                .used = used,
                .avail = avail,
                .percent = percent_used(used, avail),
        };
}

int prune_fs_read(const char *path, struct prune_fs *ret) {
        struct statvfs st;

        if (statvfs(path, &st) < 0)
                return -errno;
        prune_fs_from_counts(st.f_blocks, st.f_bfree, st.f_bavail, st.f_frsize, ret);
        return 0;
}

void prune_fs_lower(struct prune_fs *fs, uint64_t bytes) {
        uint64_t used = fs->used > bytes ? fs->used - bytes : 0;

        fs->used = used;
        fs->avail = fs->size - used;
        fs->percent = percent_used(used, fs->avail);
}

uint64_t prune_bytes_over(const struct prune_fs *fs, int percent) {
        uint64_t target = fs->size / 100 * (uint64_t) percent + fs->size % 100 * (uint64_t) percent / 100;
        return fs->used > target ? fs->used - target : 0;
}

void prune_build_params(const struct prune_fs *fs, const struct node_settings *s, bool crit,
                        uint64_t cache_bytes, struct docker_build_prune *ret) {
        uint64_t low_bytes = fs->size / 100 * (uint64_t) s->low;
        uint64_t need = prune_bytes_over(fs, s->low);
        uint64_t reserve = crit ? 0 : fs->size / 100 * (uint64_t) s->reserve;
        uint64_t keep = cache_bytes > need ? cache_bytes - need : 0;

        *ret = (struct docker_build_prune) {
                .all = crit,
                .reserved_space = reserve,
                .max_used_space = crit ? 0 : low_bytes,
                .min_free_space = fs->size - low_bytes,
                .keep_storage = keep > reserve ? keep : reserve,
        };
}

static bool in_use(const struct docker_container_list *containers, const char *id) {
        for (size_t i = 0; i < containers->n; i++)
                if (streq(containers->items[i].image_id, id))
                        return true;
        return false;
}

/* Whether A's layers are the bottom of B's (A is B's base, or B itself rebuilt). */
static bool layers_prefix(char **a, char **b) {
        if (!a || !b || !a[0])
                return false;
        for (; *a; a++, b++)
                if (!*b || !streq(*a, *b))
                        return false;
        return true;
}

static int compare(const void *a, const void *b) {
        const struct prune_image *x = a, *y = b;

        if (x->last_use != y->last_use)
                return x->last_use < y->last_use ? -1 : 1;
        if (x->image->size != y->image->size)
                return x->image->size > y->image->size ? -1 : 1;
        return strcmp(x->image->id, y->image->id);
}

int prune_plan_images(const struct docker_image_list *images, const struct docker_container_list *containers,
                      const struct prune_state *state, int64_t now, uint64_t min_age_usec, bool grace,
                      struct prune_image **ret_items, size_t *ret_n) {
        struct prune_image *items = calloc(images->n + 1, sizeof(*items));
        int64_t cutoff = now - (int64_t) (min_age_usec / 1000000);

        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < images->n; i++) {
                const struct docker_image *img = &images->items[i];
                int64_t last = prune_state_get(state, img->id);

                if (img->created > last)
                        last = img->created;
                if (img->last_tag_time > last)
                        last = img->last_tag_time;
                items[i] = (struct prune_image) {
                        .image = img,
                        .last_use = last,
                        .verdict = in_use(containers, img->id) ? PRUNE_KEEP_IN_USE : PRUNE_CANDIDATE,
                };
        }
        /* A base image is used whenever an image built on it is: removing it first would
         * free nothing (the layers stay with its children) and make the next build pull
         * it again. Its children's own uses count (a prefix of a prefix is a prefix). */
        int64_t *own = calloc(images->n + 1, sizeof(*own));
        if (!own) {
                free(items);
                return -ENOMEM;
        }
        for (size_t i = 0; i < images->n; i++)
                own[i] = items[i].last_use;
        for (size_t i = 0; i < images->n; i++)
                for (size_t j = 0; j < images->n; j++) {
                        if (i == j || !layers_prefix(images->items[i].layers, images->items[j].layers))
                                continue;
                        if (own[j] > items[i].last_use)
                                items[i].last_use = own[j];
                        if (in_use(containers, images->items[j].id))
                                items[i].verdict = PRUNE_KEEP_IN_USE;
                }
        free(own);
        for (size_t i = 0; i < images->n; i++)
                if (grace && items[i].verdict == PRUNE_CANDIDATE && items[i].last_use > cutoff)
                        items[i].verdict = PRUNE_KEEP_RECENT;
        qsort(items, images->n, sizeof(*items), compare);
        *ret_items = items;
        *ret_n = images->n;
        return 0;
}
