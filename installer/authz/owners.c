/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "authz/owners.h"
#include "base/util.h"

static const char kind_letters[] = "cevn";
static const char *const kind_names[_OWNER_KIND_MAX] = { "container", "exec instance", "volume", "network" };

const char *owner_kind_to_string(enum owner_kind k) {
        return k < _OWNER_KIND_MAX ? kind_names[k] : "object";
}

static void record_done(struct owner_record *r) {
        free(r->id);
        free(r->name);
        free(r->owner);
        free(r->parent);
        *r = (struct owner_record) {};
}

int owners_new(const char *path, struct owners **ret) {
        struct owners *o = calloc(1, sizeof(*o));

        if (!o)
                return -ENOMEM;
        o->max = OWNERS_MAX;
        if (path && !(o->path = strdup(path))) {
                free(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

static void clear(struct owners *o) {
        for (int k = 0; k < _OWNER_KIND_MAX; k++) {
                for (size_t i = 0; i < o->n[k]; i++)
                        record_done(&o->items[k][i]);
                free(o->items[k]);
                o->items[k] = NULL;
                o->n[k] = 0;
        }
        o->n_bad = 0;
}

struct owners *owners_free(struct owners *o) {
        if (!o)
                return NULL;
        clear(o);
        free(o->pending);
        free(o->path);
        free(o);
        return NULL;
}

bool owners_valid_name(const char *s) {
        size_t n = s ? strlen(s) : 0;
        static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

        return n > 0 && n <= OWNERS_NAME_MAX && strchr(alnum, s[0]) &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

bool owners_valid_id(const char *s) {
        return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static bool valid_key(enum owner_kind k, const char *id) {
        return k == OWNER_VOLUME ? owners_valid_name(id) : owners_valid_id(id);
}

static struct owner_record *find_id(const struct owners *o, enum owner_kind k, const char *id) {
        for (size_t i = 0; i < o->n[k]; i++)
                if (streq(o->items[k][i].id, id))
                        return &o->items[k][i];
        return NULL;
}

static struct owner_record *find_name(const struct owners *o, enum owner_kind k, const char *name) {
        for (size_t i = 0; i < o->n[k]; i++)
                if (streq(o->items[k][i].name, name))
                        return &o->items[k][i];
        return NULL;
}

const struct owner_record *owners_resolve(const struct owners *o, enum owner_kind k, const char *ref) {
        const struct owner_record *found = NULL;
        size_t len;

        if (isempty(ref))
                return NULL;
        if (k == OWNER_VOLUME || k == OWNER_EXEC)
                return find_id(o, k, ref);
        if ((found = find_id(o, k, ref)))
                return found;
        /* The daemon takes a full ID as one before any name: a record named like the
         * ID of an object the plugin never saw (a classic build's step) must not
         * stand in for it. */
        if (owners_valid_id(ref))
                return NULL;
        if ((found = find_name(o, k, ref[0] == '/' ? ref + 1 : ref)))
                return found;
        len = strlen(ref);
        if (len < OWNERS_MIN_PREFIX || len > 64 || strspn(ref, "0123456789abcdef") != len)
                return NULL;
        for (size_t i = 0; i < o->n[k]; i++)
                if (strncmp(o->items[k][i].id, ref, len) == 0) {
                        if (found)
                                return NULL; /* ambiguous: dockerd refuses it too */
                        found = &o->items[k][i];
                }
        return found;
}

/* Queues LINE for the file (a change to replay). Memory only: -ENOMEM. */
static int log_line(struct owners *o, const char *line) {
        size_t n = strlen(line);

        if (!o->path || o->replaying)
                return 0;
        if (o->pending_size + n + 1 > o->pending_allocated) {
                size_t want = (o->pending_size + n + 1) * 2;
                char *grown = realloc(o->pending, want);

                if (!grown)
                        return -ENOMEM;
                o->pending = grown;
                o->pending_allocated = want;
        }
        memcpy(o->pending + o->pending_size, line, n + 1);
        o->pending_size += n;
        return 0;
}

static char *record_line(enum owner_kind k, const struct owner_record *r) {
        return strdup_printf("%c\t%s\t%s\t%s\t%" PRId64 "\t%s\n", kind_letters[k], r->id, r->name ?: "", r->owner,
                             r->learned, r->parent ?: "");
}

static int log_record(struct owners *o, enum owner_kind k, const struct owner_record *r) {
        _cleanup_free_ char *line = NULL;

        if (!o->path || o->replaying)
                return 0;
        line = record_line(k, r);
        return line ? log_line(o, line) : -ENOMEM;
}

static int log_forget(struct owners *o, enum owner_kind k, const char *id) {
        _cleanup_free_ char *line = NULL;

        if (!o->path || o->replaying)
                return 0;
        line = strdup_printf("-\t%c\t%s\n", kind_letters[k], id);
        return line ? log_line(o, line) : -ENOMEM;
}

static void remove_at(struct owners *o, enum owner_kind k, size_t i) {
        record_done(&o->items[k][i]);
        memmove(&o->items[k][i], &o->items[k][i + 1], (o->n[k] - i - 1) * sizeof(o->items[k][0]));
        o->n[k]--;
}

/* Takes NAME away from every record of K but KEEP. */
static void drop_name(struct owners *o, enum owner_kind k, const char *name, const struct owner_record *keep) {
        for (size_t i = 0; name && i < o->n[k]; i++)
                if (&o->items[k][i] != keep && streq(o->items[k][i].name, name)) {
                        free(o->items[k][i].name);
                        o->items[k][i].name = NULL;
                }
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The record of K to drop when the kind is full: the oldest of the identity that holds
 * the most. A tenant filling the table pushes out its own records, never first those
 * of another (a volume nobody owns is anyone's to claim). */
static int eviction_index(const struct owners *o, enum owner_kind k, size_t *ret) {
        _cleanup_free_ const char **owners = calloc(o->n[k], sizeof(char *));
        const char *top = NULL;
        size_t best = 0;

        if (!owners)
                return -ENOMEM;
        for (size_t i = 0; i < o->n[k]; i++)
                owners[i] = o->items[k][i].owner;
        qsort(owners, o->n[k], sizeof(*owners), cmp_str);
        for (size_t i = 0, run; i < o->n[k]; i += run) {
                for (run = 1; i + run < o->n[k] && streq(owners[i + run], owners[i]); run++)
                        ;
                if (run > best) {
                        best = run;
                        top = owners[i];
                }
        }
        /* Records are kept in the order they were learned: the first is the oldest. */
        for (size_t i = 0; i < o->n[k]; i++)
                if (streq(o->items[k][i].owner, top)) {
                        *ret = i;
                        return 0;
                }
        *ret = 0;
        return 0;
}

static int append(struct owners *o, enum owner_kind k, struct owner_record *rec) {
        struct owner_record *grown;
        size_t drop;
        int r;

        if (o->n[k] > 0 && o->n[k] >= o->max) {
                if ((r = eviction_index(o, k, &drop)) < 0)
                        return r;
                remove_at(o, k, drop);
        }
        grown = reallocarray(o->items[k], o->n[k] + 1, sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        o->items[k] = grown;
        o->items[k][o->n[k]++] = *rec;
        *rec = (struct owner_record) {};
        return 0;
}

int owners_learn(struct owners *o, enum owner_kind k, const char *id, const char *name, const char *owner,
                 const char *parent, int64_t now) {
        struct owner_record rec = {};
        int r;

        if (k >= _OWNER_KIND_MAX || !valid_key(k, id) || (name && !owners_valid_name(name)) ||
            !owners_valid_name(owner) || (parent && !owners_valid_id(parent)))
                return -EINVAL;
        if (k == OWNER_VOLUME || k == OWNER_EXEC)
                name = NULL;
        (void) owners_forget(o, k, id);
        drop_name(o, k, name, NULL);
        rec = (struct owner_record) { .id = strdup(id), .name = name ? strdup(name) : NULL,
                                      .owner = strdup(owner), .parent = parent ? strdup(parent) : NULL,
                                      .learned = now };
        if (!rec.id || !rec.owner || (name && !rec.name) || (parent && !rec.parent)) {
                record_done(&rec);
                return -ENOMEM;
        }
        r = append(o, k, &rec);
        record_done(&rec);
        return r < 0 ? r : log_record(o, k, &o->items[k][o->n[k] - 1]);
}

int owners_forget(struct owners *o, enum owner_kind k, const char *id) {
        for (size_t i = 0; i < o->n[k]; i++) {
                if (!streq(o->items[k][i].id, id))
                        continue;
                if (log_forget(o, k, id) < 0)
                        return -ENOMEM;
                if (k == OWNER_CONTAINER)
                        for (size_t e = o->n[OWNER_EXEC]; e > 0; e--)
                                if (streq(o->items[OWNER_EXEC][e - 1].parent, id))
                                        remove_at(o, OWNER_EXEC, e - 1);
                remove_at(o, k, i);
                return 1;
        }
        return 0;
}

int owners_set_name(struct owners *o, enum owner_kind k, const char *id, const char *name) {
        struct owner_record *rec;
        char *copy;

        if (k == OWNER_VOLUME || k == OWNER_EXEC)
                return 0;
        if (!owners_valid_name(name))
                return -EINVAL;
        rec = find_id(o, k, id);
        if (!rec || streq(rec->name, name))
                return 0;
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        drop_name(o, k, name, rec);
        free(rec->name);
        rec->name = copy;
        return log_record(o, k, rec) < 0 ? -ENOMEM : 1;
}

int owners_sync(struct owners *o, enum owner_kind k, const struct owners_listed *list, size_t n, bool complete,
                int64_t now) {
        _cleanup_free_ const char **ids = calloc(n + 1, sizeof(char *));
        _cleanup_strv_free_ char **gone = NULL;
        int changed = 0, r;

        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                ids[i] = list[i].id;
                if (!list[i].name || !find_id(o, k, list[i].id))
                        continue;
                r = owners_set_name(o, k, list[i].id, list[i].name);
                if (r == -ENOMEM)
                        return r;
                changed += r > 0;
        }
        if (!complete)
                return changed;
        qsort(ids, n, sizeof(*ids), cmp_str);
        for (size_t i = 0; i < o->n[k]; i++) {
                const struct owner_record *rec = &o->items[k][i];

                if (rec->learned < now - OWNERS_SYNC_GRACE_SEC && !bsearch(&rec->id, ids, n, sizeof(*ids), cmp_str) &&
                    strv_extend(&gone, rec->id) < 0)
                        return -ENOMEM;
        }
        for (char **id = gone; id && *id; id++)
                changed += owners_forget(o, k, *id);
        return changed;
}

int owners_text(const struct owners *o, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        fputs("# dind-cache authz: owners of the daemon's objects (KIND ID NAME OWNER LEARNED PARENT)\n", f);
        for (int k = 0; k < _OWNER_KIND_MAX; k++)
                for (size_t i = 0; i < o->n[k]; i++) {
                        _cleanup_free_ char *line = record_line(k, &o->items[k][i]);
                        if (!line)
                                fputc('\0', f); /* poisons the text: -ENOMEM below */
                        else
                                fputs(line, f);
                }
        if (fclose(f) != 0 || !buf || strlen(buf) != size) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

/* One line "KIND ID NAME OWNER LEARNED PARENT" (tabs): 0 kept, 1 skipped, -ENOMEM. */
static int parse_line(struct owners *o, char *line) {
        char *f[6] = {};
        size_t n = 0;
        long long learned;
        char *end;
        int k;

        for (char *p = line; n < 6; n++) {
                f[n] = p;
                p = strchr(p, '\t');
                if (!p) {
                        n++;
                        break;
                }
                *p++ = '\0';
        }
        if (n == 3 && streq(f[0], "-") && strlen(f[1]) == 1 && strchr(kind_letters, f[1][0])) {
                (void) owners_forget(o, (enum owner_kind) (strchr(kind_letters, f[1][0]) - kind_letters), f[2]);
                return 0;
        }
        if (n != 6 || strlen(f[0]) != 1 || !strchr(kind_letters, f[0][0]))
                return 1;
        k = (int) (strchr(kind_letters, f[0][0]) - kind_letters);
        errno = 0;
        learned = strtoll(f[4], &end, 10);
        if (errno || end == f[4] || *end)
                return 1;
        int r = owners_learn(o, (enum owner_kind) k, f[1], *f[2] ? f[2] : NULL, f[3], *f[5] ? f[5] : NULL, learned);
        return r == -ENOMEM ? r : r < 0 ? 1 : 0;
}

int owners_parse(struct owners *o, const char *text, size_t size) {
        _cleanup_free_ char *copy = strndup(text, size);
        char *line, *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        clear(o);
        o->replaying = true;
        o->log_lines = 0;
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                o->log_lines++;
                if (line[0] == '#')
                        continue;
                r = parse_line(o, line);
                if (r < 0) {
                        o->replaying = false;
                        return r;
                }
                o->n_bad += (size_t) r;
        }
        o->replaying = false;
        o->torn = size > 0 && text[size - 1] != '\n';
        return 0;
}

int owners_load(struct owners *o) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        if (!o->path)
                return 0;
        r = read_file_full(o->path, (size_t) 256 << 20, &data, &size);
        if (r == -ENOENT) {
                clear(o);
                return 0;
        }
        if (r < 0)
                return r;
        return owners_parse(o, data, size);
}

static size_t records(const struct owners *o) {
        size_t n = 0;

        for (int k = 0; k < _OWNER_KIND_MAX; k++)
                n += o->n[k];
        return n;
}

static int compact(struct owners *o) {
        _cleanup_free_ char *text = NULL;
        int r = owners_text(o, &text);

        if (r < 0)
                return r;
        r = write_file_replace(o->path, text, strlen(text), 0600);
        if (r < 0)
                return r;
        o->log_lines = records(o) + 1;
        o->torn = false;
        return 0;
}

int owners_save(struct owners *o) {
        _cleanup_close_ int fd = -1;
        size_t lines = 0;
        int r;

        if (!o->path || o->pending_size == 0)
                return 0;
        for (size_t i = 0; i < o->pending_size; i++)
                lines += o->pending[i] == '\n';
        if (o->torn || o->log_lines + lines > 2 * records(o) + 1024) {
                r = compact(o);
        } else {
                fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return -errno;
                /* One write: a reader (a restart) sees whole lines, but for a crash. */
                r = write(fd, o->pending, o->pending_size) == (ssize_t) o->pending_size ? 0 : errno ? -errno : -EIO;
                if (r == 0)
                        o->log_lines += lines;
        }
        if (r < 0)
                return r;
        o->pending_size = 0;
        return 0;
}
