/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "systemd/units.h"
#include "systemd/vendor-units.h"
#include "base/util.h"

/* Unit files of ours are small; anything larger is not one. */
#define UNIT_TEXT_MAX (64u << 10)

struct entry {
        char *section, *key, *value;
};

struct entries {
        struct entry *e;
        size_t n;
        char *buf; /* the copy the entries point into */
};

static void entries_done(struct entries *l) {
        free(l->e);
        free(l->buf);
}

static char *strip(char *s) {
        size_t n;

        s += strspn(s, " \t");
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                s[--n] = '\0';
        return s;
}

/* Sections, keys and values of TEXT; comments and blank lines dropped. */
static int entries_parse(const char *text, struct entries *ret) {
        struct entries l = {};
        char *section = (char *) "", *save = NULL;

        l.buf = strdup(text);
        if (!l.buf)
                return -ENOMEM;
        for (char *line = strtok_r(l.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *s = strip(line), *eq;

                if (*s == '\0' || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') {
                        char *end = strchr(s, ']');
                        if (end)
                                *end = '\0';
                        section = s + 1;
                        continue;
                }
                eq = strchr(s, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                struct entry *grown = realloc(l.e, (l.n + 1) * sizeof(*l.e));
                if (!grown) {
                        entries_done(&l);
                        return -ENOMEM;
                }
                l.e = grown;
                l.e[l.n++] = (struct entry) { section, strip(s), strip(eq + 1) };
        }
        *ret = l;
        return 0;
}

/* Settings that are lists: a drop-in must empty them before giving its values. */
static bool key_is_list(const char *key) {
        static const char *const lists[] = {
                "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload",
                "ExecCondition", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "ExecPaths",
                "NoExecPaths", "EnvironmentFile", "Environment", "SuccessExitStatus", "Documentation",
        };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                if (streq(key, lists[i]))
                        return true;
        return false;
}

/* A timer's triggers: an empty assignment to any of them resets them all. */
static bool key_is_trigger(const char *section, const char *key) {
        static const char *const triggers[] = { "OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec",
                                                "OnUnitInactiveSec", "OnCalendar" };
        if (!streq(section, "Timer"))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(triggers); i++)
                if (streq(key, triggers[i]))
                        return true;
        return false;
}

/* Does L assign, in SECTION, the key KEY (or any trigger, with TRIGGERS) the same
 * values in the same order as M? */
static bool same_values(const struct entries *l, const struct entries *m, const char *section,
                        const char *key, bool triggers) {
        size_t i = 0, j = 0;

        for (;;) {
                while (i < l->n && !(streq(l->e[i].section, section) &&
                                     (triggers ? key_is_trigger(section, l->e[i].key) : streq(l->e[i].key, key))))
                        i++;
                while (j < m->n && !(streq(m->e[j].section, section) &&
                                     (triggers ? key_is_trigger(section, m->e[j].key) : streq(m->e[j].key, key))))
                        j++;
                if (i == l->n || j == m->n)
                        return i == l->n && j == m->n;
                if (!streq(l->e[i].value, m->e[j].value) || (triggers && !streq(l->e[i].key, m->e[j].key)))
                        return false;
                i++;
                j++;
        }
}

/* Was KEY (or, with TRIGGERS, a trigger) already seen in SECTION before index I? */
static bool seen_before(const struct entries *l, size_t i, bool triggers) {
        for (size_t k = 0; k < i; k++)
                if (streq(l->e[k].section, l->e[i].section) &&
                    (triggers ? key_is_trigger(l->e[k].section, l->e[k].key) : streq(l->e[k].key, l->e[i].key)))
                        return true;
        return false;
}

static bool section_seen_before(const struct entries *l, size_t i) {
        for (size_t k = 0; k < i; k++)
                if (streq(l->e[k].section, l->e[i].section))
                        return true;
        return false;
}

int unit_dropin_text(const char *vendor, const char *rendered, char **ret) {
        _cleanup_(entries_done) struct entries v = {}, r = {};
        char *buf = NULL;
        size_t size = 0;
        bool any = false;
        FILE *f;
        int k;

        if ((k = entries_parse(vendor, &v)) < 0 || (k = entries_parse(rendered, &r)) < 0)
                return k;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("# Written by dind-cache install: what this node changes in the packaged unit.\n"
              "# dind-cache uninstall removes it.\n", f);

        for (size_t s = 0; s < r.n; s++) {
                const char *section = r.e[s].section;
                bool header = false;

                if (section_seen_before(&r, s))
                        continue;
                for (size_t i = s; i < r.n; i++) {
                        const struct entry *e = &r.e[i];
                        bool trig = key_is_trigger(section, e->key);

                        if (!streq(e->section, section) || seen_before(&r, i, trig) ||
                            same_values(&r, &v, section, e->key, trig))
                                continue;
                        if (!header) {
                                fprintf(f, "\n[%s]\n", section);
                                header = true;
                        }
                        if (trig || key_is_list(e->key))
                                fprintf(f, "%s=\n", e->key);
                        for (size_t j = i; j < r.n; j++)
                                if (streq(r.e[j].section, section) &&
                                    (trig ? key_is_trigger(section, r.e[j].key) : streq(r.e[j].key, e->key)))
                                        fprintf(f, "%s=%s\n", r.e[j].key, r.e[j].value);
                        any = true;
                }
        }
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        if (!any) {
                free(buf);
                return 0;
        }
        *ret = buf;
        return 1;
}

void unit_place_done(struct unit_place *p) {
        free(p->name);
        free(p->path);
        free(p->text);
        free(p->stale);
        *p = (struct unit_place) {};
}

char *unit_dropin_dir(const char *etc_dir, const char *name) {
        return strdup_printf("%s/%s.d", etc_dir, name);
}

/* Is PATH a unit file that one of our templates made? */
static bool file_is_ours(const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t size;

        if (read_file_full(path, UNIT_TEXT_MAX, &data, &size) < 0)
                return false;
        return strncmp(data, UNIT_OURS_PREFIX, strlen(UNIT_OURS_PREFIX)) == 0;
}

int unit_place_plan(const char *vendor_dir, const char *etc_dir, const char *name,
                    const char *rendered, struct unit_place *ret) {
        _cleanup_(unit_place_done) struct unit_place p = {};
        _cleanup_free_ char *vendor_path = NULL, *vendor_text = NULL, *dir = NULL;
        size_t size;
        int r;

        if (isempty(etc_dir) || isempty(name) || strchr(name, '/') || !rendered)
                return -EINVAL;
        p.name = strdup(name);
        if (!p.name)
                return -ENOMEM;
        if (!isempty(vendor_dir) && !streq(vendor_dir, etc_dir)) {
                vendor_path = strdup_printf("%s/%s", vendor_dir, name);
                if (!vendor_path)
                        return -ENOMEM;
                r = read_file_full(vendor_path, UNIT_TEXT_MAX, &vendor_text, &size);
                if (r < 0 && r != -ENOENT)
                        return r;
                p.vendor = r >= 0;
        }

        if (!p.vendor) {
                p.path = strdup_printf("%s/%s", etc_dir, name);
                p.text = strdup(rendered);
                if (!p.path || !p.text)
                        return -ENOMEM;
                *ret = p;
                p = (struct unit_place) {};
                return 0;
        }

        dir = unit_dropin_dir(etc_dir, name);
        p.path = dir ? strdup_printf("%s/%s", dir, UNIT_DROPIN_NAME) : NULL;
        if (!p.path)
                return -ENOMEM;
        r = unit_dropin_text(vendor_text, rendered, &p.text);
        if (r < 0)
                return r;
        p.stale = strdup_printf("%s/%s", etc_dir, name);
        if (!p.stale)
                return -ENOMEM;
        if (!file_is_ours(p.stale)) {
                free(p.stale);
                p.stale = NULL;
        }
        *ret = p;
        p = (struct unit_place) {};
        return 0;
}

static int split_path(const char *path, char **ret_dir, const char **ret_name) {
        const char *slash = strrchr(path, '/');

        if (!slash || slash == path)
                return -EINVAL;
        *ret_dir = strndup(path, (size_t) (slash - path));
        if (!*ret_dir)
                return -ENOMEM;
        *ret_name = slash + 1;
        return 0;
}

int unit_place_same(const struct unit_place *p) {
        _cleanup_free_ char *dir = NULL;
        const char *name;
        int r;

        if (p->stale)
                return 0;
        if (!p->text)
                return access(p->path, F_OK) < 0 && errno == ENOENT;
        r = split_path(p->path, &dir, &name);
        if (r < 0)
                return r;
        return unit_file_same(dir, name, p->text);
}

int unit_place_apply(const struct unit_place *p) {
        _cleanup_free_ char *dir = NULL;
        const char *name;
        int r, changed = 0;

        r = split_path(p->path, &dir, &name);
        if (r < 0)
                return r;
        if (p->text) {
                /* The drop-in directory is made by the atomic write, 0755. */
                r = unit_file_write(dir, name, p->text);
                if (r < 0)
                        return r;
                changed += r;
        } else {
                r = unit_file_remove(dir, name);
                if (r < 0)
                        return r;
                changed += r;
                if (p->vendor && rmdir(dir) < 0 && errno != ENOENT && errno != ENOTEMPTY)
                        return -errno;
        }
        if (p->stale) {
                _cleanup_free_ char *sdir = NULL;
                const char *sname;

                r = split_path(p->stale, &sdir, &sname);
                if (r < 0)
                        return r;
                r = unit_file_remove(sdir, sname);
                if (r < 0)
                        return r;
                changed += r;
        }
        return changed > 0;
}
