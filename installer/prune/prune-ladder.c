/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "prune/prune-ladder.h"
#include "base/util.h"

static const char *const rung_names[_PRUNE_RUNG_MAX] = {
        [PRUNE_RUNG_CONTAINERS] = "containers",
        [PRUNE_RUNG_DANGLING] = "dangling",
        [PRUNE_RUNG_BUILD_CACHE] = "build-cache",
        [PRUNE_RUNG_IMAGES] = "images",
        [PRUNE_RUNG_BUILD_CACHE_CRIT] = "build-cache-crit",
        [PRUNE_RUNG_IMAGES_NO_GRACE] = "images-no-grace",
        [PRUNE_RUNG_BUILD_CACHE_ALL] = "build-cache-all",
};

const char *prune_rung_to_string(enum prune_rung r) {
        return r >= 0 && r < _PRUNE_RUNG_MAX ? rung_names[r] : NULL;
}

void prune_progress_done(struct prune_progress *p) {
        free(p->plan);
        p->plan = NULL;
        p->n_plan = p->cursor = 0;
}

static int64_t cutoff(const struct prune_facts *f) {
        return f->now - (int64_t) (f->settings->min_age_usec / 1000000);
}

static int emit(struct prune_progress *p, enum prune_step_kind kind, enum prune_rung rung, struct prune_step *ret) {
        p->last = kind;
        p->rung = rung;
        ret->kind = kind;
        ret->rung = rung;
        return 0;
}

/* CONTAINERS or DANGLING: what is older than MIN_AGE. */
static int tidy(const struct prune_facts *f, struct prune_progress *p, enum prune_step_kind kind,
                enum prune_rung rung, struct prune_step *ret) {
        ret->until = cutoff(f);
        ret->min_age_sec = f->settings->min_age_usec / 1000000;
        return emit(p, kind, rung, ret);
}

/* A trim (BUILD_CACHE or RETRIM) of RUNG: the build cache's size first. */
static int measure(struct prune_progress *p, enum prune_step_kind trim, enum prune_rung rung, struct prune_step *ret) {
        p->pending = trim;
        return emit(p, PRUNE_STEP_MEASURE, rung, ret);
}

static int next_image(const struct prune_facts *f, struct prune_progress *p, struct prune_step *ret);

/* The trim a MEASURE was for, now that the cache's size is known. Above CRIT (and in
 * the images rung without the grace) without the reserve; `all` only as the last
 * resort; a re-trim never `all`, and none when there is no record to trim. */
static int trim(const struct prune_facts *f, struct prune_progress *p, struct prune_step *ret) {
        bool crit = p->rung == PRUNE_RUNG_BUILD_CACHE_CRIT || p->rung == PRUNE_RUNG_BUILD_CACHE_ALL ||
                    p->rung == PRUNE_RUNG_IMAGES_NO_GRACE;
        _cleanup_free_ char *query = NULL;
        int r;

        if (p->pending == PRUNE_STEP_RETRIM && p->cache_records == 0)
                return next_image(f, p, ret);
        prune_build_params(&p->fs, f->settings, crit, p->cache_bytes, &ret->build);
        ret->build.all = p->pending == PRUNE_STEP_BUILD_CACHE && p->rung == PRUNE_RUNG_BUILD_CACHE_ALL;
        r = docker_build_prune_query(f->api_version, &ret->build, &query);
        if (r < 0)
                return r;
        snprintf(ret->params, sizeof(ret->params), "%s", query[0] ? query + 1 : "no size limits");
        return emit(p, p->pending, p->rung, ret);
}

/* The next image of the rung under way, or its end: in the rung with the grace, the
 * candidates; without it, the images kept for their recent use (the others had
 * their turn); never one a container uses; none once use is under LOW. */
static int next_image(const struct prune_facts *f, struct prune_progress *p, struct prune_step *ret) {
        bool grace = p->rung == PRUNE_RUNG_IMAGES;

        while (p->cursor < p->n_plan && p->fs.percent >= f->settings->low) {
                const struct prune_image *pi = &p->plan[p->cursor++];

                if (pi->verdict == PRUNE_KEEP_IN_USE || (pi->verdict == PRUNE_KEEP_RECENT) == grace)
                        continue;
                ret->image = pi;
                return emit(p, PRUNE_STEP_IMAGE, p->rung, ret);
        }
        p->cursor = p->n_plan;
        return emit(p, PRUNE_STEP_IMAGES_DONE, p->rung, ret);
}

/* An images rung starts: its first image, once the images are inspected and ordered. */
static int images(const struct prune_facts *f, struct prune_progress *p, enum prune_rung rung,
                  struct prune_step *ret) {
        bool grace = rung == PRUNE_RUNG_IMAGES;

        if (!p->plan)
                return emit(p, PRUNE_STEP_INSPECT, rung, ret);
        p->rung = rung;
        p->cursor = 0;
        p->kept_in_use = p->kept_recent = 0;
        for (size_t i = 0; i < p->n_plan; i++) {
                p->kept_in_use += p->plan[i].verdict == PRUNE_KEEP_IN_USE;
                p->kept_recent += grace && p->plan[i].verdict == PRUNE_KEEP_RECENT;
        }
        return next_image(f, p, ret);
}

static int inspected(const struct prune_facts *f, struct prune_progress *p, struct prune_step *ret) {
        int r = prune_plan_images(f->images, f->containers, f->state, f->now, f->settings->min_age_usec, true,
                                  &p->plan, &p->n_plan);
        if (r < 0)
                return r;
        return images(f, p, p->rung, ret);
}

/* After a trim of a rung of its own: the images while use is at or above LOW. */
static int trimmed(const struct prune_facts *f, struct prune_progress *p, struct prune_step *ret) {
        if (p->rung == PRUNE_RUNG_BUILD_CACHE_ALL || p->fs.percent < f->settings->low)
                return emit(p, PRUNE_STEP_STOP, p->rung, ret);
        return images(f, p, p->rung == PRUNE_RUNG_BUILD_CACHE ? PRUNE_RUNG_IMAGES : PRUNE_RUNG_IMAGES_NO_GRACE, ret);
}

int prune_next(const struct prune_facts *f, struct prune_progress *p, struct prune_step *ret) {
        const struct node_settings *s = f->settings;

        *ret = (struct prune_step) {};
        switch (p->last) {
        case PRUNE_STEP_BEGIN:
                return tidy(f, p, PRUNE_STEP_CONTAINERS, PRUNE_RUNG_CONTAINERS, ret);
        case PRUNE_STEP_CONTAINERS:
                return tidy(f, p, PRUNE_STEP_DANGLING, PRUNE_RUNG_DANGLING, ret);
        case PRUNE_STEP_DANGLING:
                if (p->fs.percent < s->high)
                        break;
                return measure(p, PRUNE_STEP_BUILD_CACHE, PRUNE_RUNG_BUILD_CACHE, ret);
        case PRUNE_STEP_MEASURE:
                return trim(f, p, ret);
        case PRUNE_STEP_BUILD_CACHE:
                return trimmed(f, p, ret);
        case PRUNE_STEP_INSPECT:
                return inspected(f, p, ret);
        case PRUNE_STEP_IMAGE:
                if (p->removed && !f->dry_run && p->fs.percent >= s->low)
                        return measure(p, PRUNE_STEP_RETRIM, p->rung, ret);
                return next_image(f, p, ret);
        case PRUNE_STEP_RETRIM:
                return next_image(f, p, ret);
        case PRUNE_STEP_IMAGES_DONE:
                if (p->fs.percent < s->crit)
                        break;
                return measure(p, PRUNE_STEP_BUILD_CACHE,
                               p->rung == PRUNE_RUNG_IMAGES ? PRUNE_RUNG_BUILD_CACHE_CRIT : PRUNE_RUNG_BUILD_CACHE_ALL,
                               ret);
        case PRUNE_STEP_STOP:
                break;
        }
        return emit(p, PRUNE_STEP_STOP, p->rung, ret);
}

bool prune_container_goes(const struct prune_step *s, const struct docker_container *k) {
        bool stopped = !streq(k->state, "running") && !streq(k->state, "paused") && !streq(k->state, "restarting");
        return stopped && k->created <= s->until;
}

bool prune_dangling_goes(const struct prune_facts *f, const struct prune_step *s, const struct docker_image *img) {
        if (img->tags[0] || img->created > s->until)
                return false;
        for (size_t k = 0; k < f->containers->n; k++)
                if (streq(f->containers->items[k].image_id, img->id))
                        return false;
        return true;
}

uint64_t prune_build_estimate(const struct prune_facts *f, const struct prune_progress *p,
                              const struct prune_step *s) {
        uint64_t need = prune_bytes_over(&p->fs, f->settings->low);
        uint64_t keep = s->build.reserved_space > s->build.keep_storage ? s->build.reserved_space
                                                                         : s->build.keep_storage;
        uint64_t can = s->build.all ? p->cache_bytes : p->cache_bytes > keep ? p->cache_bytes - keep : 0;

        return can < need ? can : need;
}
