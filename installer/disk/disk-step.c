/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "base/util.h"
#include "disk/datadir.h"
#include "disk/disk-step.h"
#include "disk/seal.h"

void disk_step_facts_done(struct disk_step_facts *f) {
        mountinfo_done(&f->mounts);
        disk_facts_done(&f->dir);
        mountinfo_entry_done(&f->at_data_dir);
        blockdev_info_done(&f->device);
        *f = (struct disk_step_facts) {};
}

/* What is mounted at DIR itself (the top mount there, a bind onto itself included:
 * a new mount would hide it). 1 and a copy in RET, or 0. */
static int mounted_at(const struct mountinfo *m, const char *dir, struct mountinfo_entry *ret) {
        const struct mountinfo_entry *e = mountinfo_holder(m, dir);
        int r;

        if (!e || !streq(e->mount_point, dir))
                return 0;
        r = mountinfo_entry_copy(e, ret);
        return r < 0 ? r : 1;
}

int disk_step_gather(const struct disk_step_options *o, struct disk_step_facts *ret) {
        _cleanup_(disk_step_facts_done) struct disk_step_facts f = { .seal = -ENODATA };
        int r;

        r = mountinfo_read(NULL, &f.mounts);
        if (r < 0)
                return r;
        f.dir_r = disk_facts_get(o->data_dir, &f.mounts, &f.dir);
        if (f.dir_r == -ENOMEM)
                return f.dir_r;
        /* What a dry run says about the seal (the act itself reads it as it sets it). */
        if (f.dir_r >= 0 && o->dry_run && (o->device || o->seal_mount_point))
                f.seal = seal_state(o->data_dir);

        if (o->device) {
                f.mounted_r = datadir_device_mounted(o->data_dir, o->device, &f.mounts);
                r = mounted_at(&f.mounts, o->data_dir, &f.at_data_dir);
                if (r < 0)
                        return r;
                f.other_mount = r > 0;
                f.inspect_r = blockdev_inspect(o->device, &f.mounts, &f.device);
                if (f.mounted_r == -ENOMEM || f.inspect_r == -ENOMEM)
                        return -ENOMEM;
        }
        *ret = f;
        f = (struct disk_step_facts) {};
        return 0;
}

void disk_step_plan_done(struct disk_step_plan *p) {
        check_list_done(&p->device_checks);
        *p = (struct disk_step_plan) {};
}

static void refuse(struct disk_step_plan *p, enum disk_step_refusal why, int error) {
        p->action = DISK_STEP_REFUSE;
        p->refusal = why;
        p->error = error;
}

/* No --device: the checks, and the seal asked for on a disk someone else mounted. */
static void decide_without_device(const struct disk_step_options *o, const struct disk_step_facts *f,
                                  struct disk_step_plan *p) {
        p->action = DISK_STEP_CHECK;
        p->check_creates_dir = !o->dry_run;
        if (!o->seal_mount_point)
                return;
        p->check_creates_dir = false;
        if (f->dir_r == -ENOENT && o->dry_run)
                refuse(p, DISK_REFUSAL_SEAL_MISSING, 0);
        else if (f->dir_r < 0)
                refuse(p, DISK_REFUSAL_DIR_UNREADABLE, f->dir_r);
        else if (!f->dir.is_mount_point)
                refuse(p, DISK_REFUSAL_SEAL_NOT_MOUNT, 0);
        else {
                p->seal = true;
                p->check_creates_dir = !o->dry_run;
        }
}

/* The device is not mounted at the data directory: judged by its checks. */
static int decide_device(const struct disk_step_options *o, const struct disk_step_facts *f,
                         struct disk_step_plan *p) {
        enum blockdev_verdict verdict;
        int r;

        /* A new mount would hide what is there, with the daemon's data on it. */
        if (f->other_mount) {
                refuse(p, DISK_REFUSAL_OTHER_MOUNT, 0);
                return 0;
        }
        p->device_report = true;
        r = blockdev_judge(o->device, f->inspect_r, &f->device, o->capacity, &p->device_checks, &verdict);
        if (r < 0)
                return r;
        if (verdict == BLOCKDEV_REFUSE)
                refuse(p, DISK_REFUSAL_DEVICE_CHECKS, 0);
        else if (verdict == BLOCKDEV_REUSE_XFS)
                p->action = DISK_STEP_REUSE;
        else if (!o->format)
                refuse(p, DISK_REFUSAL_BLANK, 0);
        else
                p->action = DISK_STEP_FORMAT;
        return 0;
}

int disk_step_decide(const struct disk_step_options *o, const struct disk_step_facts *f,
                     struct disk_step_plan *ret) {
        _cleanup_(disk_step_plan_done) struct disk_step_plan p = {};
        int r;

        if (!o->device)
                decide_without_device(o, f, &p);
        else if (f->mounted_r < 0 && f->mounted_r != -ENOENT)
                refuse(&p, DISK_REFUSAL_MOUNT_UNKNOWN, f->mounted_r);
        else if (f->mounted_r > 0) {
                /* Install has run: its filesystem is judged by the data directory's
                 * checks, not refused as "in use". */
                if (f->inspect_r < 0)
                        refuse(&p, DISK_REFUSAL_DEVICE_UNREADABLE, f->inspect_r);
                else if (isempty(f->device.uuid))
                        refuse(&p, DISK_REFUSAL_NO_UUID, 0);
                else
                        p.action = DISK_STEP_USE_MOUNTED;
        } else {
                r = decide_device(o, f, &p);
                if (r < 0)
                        return r;
        }

        if (o->device && p.action != DISK_STEP_REFUSE) {
                p.create_dir = f->dir_r == -ENOENT;
                p.seal = true;  /* always: install owns the mount point */
                p.mount = true;
        }
        *ret = p;
        p = (struct disk_step_plan) {};
        return 0;
}
