/* SPDX-License-Identifier: MIT */
#pragma once

/* Who owns what on the shared daemon: each container, exec instance, named volume and
 * network belongs to the identity that created it, as the plugin learned from the
 * create's AuthZRes (the daemon's reply names the new object). Tenants reach only
 * their own; the policy asks here.
 *
 * Invariants:
 * - A reference is resolved as dockerd resolves it: containers and networks by full
 *   ID, then by name (a leading "/" ignored), then by ID prefix; volumes by name; exec
 *   instances by full ID. A reference of 64 hex digits that is no known ID resolves
 *   to nothing, not to a record of that name: the daemon would take it as the ID of
 *   an object the plugin never saw. A prefix counts only from OWNERS_MIN_PREFIX hex digits (what
 *   `docker ps` shows): a shorter one could name a container the plugin never saw
 *   (one that removed itself, --rm) through a record that outlived it.
 * - What the plugin does not know is nobody's: resolving it gives NULL, and the
 *   policy refuses it to every tenant.
 * - Names and IDs are checked before they are kept (IDs 64 lower-case hex digits,
 *   names [a-zA-Z0-9][a-zA-Z0-9_.-]*, owners as identity.h): the file never holds a
 *   tab or a newline from outside.
 * - A name belongs to one record of a kind: learning it for one takes it from any
 *   other (the daemon's names are unique; an old record's name went with its object).
 * - The file (OWNERS_FILE in the state directory) is a log: owners_save() appends the
 *   changes since the last save in one write (a record line learns or replaces an
 *   object, "-<TAB>KIND<TAB>ID" forgets one), and replaces the whole file atomically
 *   with the records alone (write_file_replace, no fsync: a crash of the node takes the
 *   containers too) when the log has grown past twice the records. Appending creates
 *   no file: each create and remove of a container costs one write, not a new inode.
 *   Reading replays the lines in order; a line cut short by a crash is skipped, and
 *   the next save replaces the file (an append would glue its first line to the
 *   stump, and lose it).
 * - At most OWNERS_MAX records of a kind: past that the oldest record of the identity
 *   holding the most goes. A tenant filling the table pushes out its own records,
 *   never another's first: a volume that is nobody's goes to whoever names it.
 * - Library: never prints; negative errno. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OWNERS_FILE "owners"
#define OWNERS_MAX 65536
#define OWNERS_MIN_PREFIX 12
#define OWNERS_NAME_MAX 255
/* A list reply forgets what it lacks only when learned longer ago than this: a list
 * the daemon made before a create finished may reach the plugin after that create. */
#define OWNERS_SYNC_GRACE_SEC 120

enum owner_kind {
        OWNER_CONTAINER,
        OWNER_EXEC,
        OWNER_VOLUME,
        OWNER_NETWORK,
        _OWNER_KIND_MAX,
};

struct owner_record {
        char *id;               /* full ID; a volume's name */
        char *name;             /* containers and networks: the name, or NULL unknown */
        char *owner;            /* the identity's name */
        char *parent;           /* exec instances: their container's ID */
        int64_t learned;        /* Unix time */
};

struct owners {
        char *path;             /* the file, or NULL: kept in memory only */
        struct owner_record *items[_OWNER_KIND_MAX];
        size_t n[_OWNER_KIND_MAX];
        size_t n_bad;           /* lines of the file that were skipped */
        char *pending;          /* lines not yet appended to the file */
        size_t pending_size, pending_allocated;
        size_t log_lines;       /* lines in the file */
        bool replaying;         /* reading the file: changes are not logged */
        bool torn;              /* the file ends in a line a crash cut short */
        size_t max;             /* records of a kind kept at most: OWNERS_MAX */
};

/* PATH may be NULL. */
int owners_new(const char *path, struct owners **ret);
struct owners *owners_free(struct owners *o);
static inline void owners_freep(struct owners **o) {
        owners_free(*o);
}

/* Reads the file (a missing one is empty). */
int owners_load(struct owners *o);
/* Writes the changes since the last save (nothing without a path). */
int owners_save(struct owners *o);
/* The records as the text of a compacted file. */
int owners_text(const struct owners *o, char **ret);
/* Replays the lines of TEXT onto O. */
int owners_parse(struct owners *o, const char *text, size_t size);

const char *owner_kind_to_string(enum owner_kind k);

/* S can be kept as a name of KIND; a volume's also as its ID. */
bool owners_valid_name(const char *s);
bool owners_valid_id(const char *s);

/* REF resolved as dockerd would, or NULL. */
const struct owner_record *owners_resolve(const struct owners *o, enum owner_kind k, const char *ref);

/* Learns (or replaces) the record of ID. NAME, PARENT may be NULL. -EINVAL for an ID,
 * name or owner that cannot be kept. */
int owners_learn(struct owners *o, enum owner_kind k, const char *id, const char *name, const char *owner,
                 const char *parent, int64_t now);
/* Forgets ID (a container takes its exec instances along). 1 forgotten, 0 unknown. */
int owners_forget(struct owners *o, enum owner_kind k, const char *id);
/* The record of ID gets NAME (taken from any other). 1 changed, 0 unknown ID or the
 * same name, -EINVAL a bad name. */
int owners_set_name(struct owners *o, enum owner_kind k, const char *id, const char *name);

/* One object of a complete list reply (GET /containers/json?all=1, /volumes, /networks). */
struct owners_listed {
        const char *id;
        const char *name;       /* or NULL */
};
/* Takes names from a list reply and, when it is COMPLETE (no filter, no limit),
 * forgets records it lacks that were learned before NOW - OWNERS_SYNC_GRACE_SEC.
 * Returns how many records changed. */
int owners_sync(struct owners *o, enum owner_kind k, const struct owners_listed *list, size_t n, bool complete,
                int64_t now);
