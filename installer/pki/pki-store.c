/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/util.h"
#include "pki/pki-store.h"

/* The fixed items: name, folder, CN. Tenant K is PKI_ITEM_TENANTS + K, in tenants/NS. */
static const struct {
        const char *name, *folder, *cn;
} fixed[PKI_ITEM_TENANTS] = {
        [PKI_ITEM_CA] = { "CA", "ca", NULL },
        [PKI_ITEM_SERVER] = { "server", "server", PKI_CN_SERVER },
        [PKI_ITEM_CHECKER] = { "checker", "checker", PKI_CN_CHECKER },
        [PKI_ITEM_PRUNER] = { "pruner", "pruner", PKI_CN_PRUNER },
        [PKI_ITEM_PRUNE_JOB] = { "prune-job", "prune-job", PKI_CN_PRUNE_JOB },
};
/* Every file the store may leave in a folder: the removers take these. */
static const char *const known_files[] = { "ca.pem", "cert.pem", "key.pem", "previous.pem",
                                           "cert.pem.new", "key.pem.new" };

void pki_state_done(struct pki_state *s) {
        pki_pair_done(&s->ca);
        free(s->bundle);
        for (size_t i = 0; i < s->n_items; i++) {
                if (s->leaf)
                        pki_pair_done(&s->leaf[i]);
                if (s->info)
                        pki_info_done(&s->info[i]);
                if (s->reason)
                        free(s->reason[i]);
                if (s->name)
                        free(s->name[i]);
        }
        free(s->leaf);
        free(s->info);
        free(s->action);
        free(s->reason);
        free(s->name);
        strv_free(s->tenants);
        free(s->error);
        *s = (struct pki_state) {};
}

_printf_(3, 4) static int fail(struct pki_state *s, int r, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        free(s->error);
        s->error = msg;
        return r;
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A DNS-1123 label, what a namespace is: the only names a tenant's folder may have. */
static bool tenant_name_ok(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Item I's folder, relative to the store's directory. */
static char *item_folder(const struct pki_state *s, size_t i) {
        if (i < PKI_ITEM_TENANTS)
                return strdup(fixed[i].folder);
        return strdup_printf(PKI_TENANTS_FOLDER "/%s", s->tenants[i - PKI_ITEM_TENANTS]);
}

/* Item I's subject CN: a tenant's is its namespace. */
static const char *item_cn(const struct pki_state *s, size_t i) {
        return i < PKI_ITEM_TENANTS ? fixed[i].cn : s->tenants[i - PKI_ITEM_TENANTS];
}

static enum pki_usage item_usage(size_t i) {
        return i == PKI_ITEM_SERVER ? PKI_USAGE_SERVER : PKI_USAGE_CLIENT;
}

/* The state's arrays for the CA, the node's identities and REQ's tenants. */
static int state_init(struct pki_state *s, const struct pki_request *req) {
        for (char *const *t = req->tenants; t && *t; t++) {
                if (!tenant_name_ok(*t))
                        return fail(s, -EINVAL, "'%s' is not a namespace name (a DNS-1123 label)", *t);
                if (!strv_contains(s->tenants, *t) && strv_extend(&s->tenants, *t) < 0)
                        return -ENOMEM;
        }
        s->n_items = PKI_ITEM_TENANTS + strv_length(s->tenants);
        s->leaf = calloc(s->n_items, sizeof(*s->leaf));
        s->info = calloc(s->n_items, sizeof(*s->info));
        s->action = calloc(s->n_items, sizeof(*s->action));
        s->reason = calloc(s->n_items, sizeof(*s->reason));
        s->name = calloc(s->n_items, sizeof(*s->name));
        if (!s->leaf || !s->info || !s->action || !s->reason || !s->name)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_items; i++) {
                s->name[i] = i < PKI_ITEM_TENANTS ? strdup(fixed[i].name)
                                                  : strdup_printf("tenant %s", s->tenants[i - PKI_ITEM_TENANTS]);
                if (!s->name[i])
                        return -ENOMEM;
        }
        return 0;
}

/* DIR/FOLDER of item I */
static char *folder_path(const struct pki_state *s, const char *dir, size_t i) {
        _cleanup_free_ char *folder = item_folder(s, i);
        return folder ? strdup_printf("%s/%s", dir, folder) : NULL;
}

/* DIR/FOLDER/FILE of item I */
static char *file_path(const struct pki_state *s, const char *dir, size_t i, const char *file) {
        _cleanup_free_ char *folder = item_folder(s, i);
        return folder ? strdup_printf("%s/%s/%s", dir, folder, file) : NULL;
}

/* A file's content, NULL when it does not exist. */
static int read_optional(const char *path, char **ret) {
        size_t size;
        int r = read_file_full(path, PKI_MAX_PEM, ret, &size);

        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        return r;
}

/* ---- a certificate and its key, switched as a pair
 *
 * A pair (FOLDER/cert.pem + FOLDER/key.pem) is replaced in four steps, each atomic:
 *   1. key.pem.new written (fsync'ed),  2. cert.pem.new written (fsync'ed),
 *   3. key.pem.new renamed over key.pem, 4. cert.pem.new renamed over cert.pem.
 * cert.pem.new is the commit mark: once it exists, the new pair is complete on disk and
 * the switch is finished by whoever reads the folder next (load_pair()); before it
 * exists, the old pair is still whole and key.pem.new alone is discarded. So a run
 * killed anywhere leaves a state the next run turns into a matching pair. */

static int fsync_dir(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        return fsync(fd) < 0 ? -errno : 0;
}

static int unlink_optional(const char *path) {
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* The pair in DIR/FOLDER of item I as it stands once an interrupted switch is finished
 * (or discarded); NULLs when absent. Unless DRY_RUN, the switch is finished on disk. */
static int load_pair(struct pki_state *s, const char *dir, size_t i, bool dry_run, char **ret_cert,
                     char **ret_key) {
        _cleanup_free_ char *folder = folder_path(s, dir, i);
        _cleanup_free_ char *cert_path = file_path(s, dir, i, "cert.pem"), *key_path = file_path(s, dir, i, "key.pem");
        _cleanup_free_ char *cert_new_path = file_path(s, dir, i, "cert.pem.new");
        _cleanup_free_ char *key_new_path = file_path(s, dir, i, "key.pem.new");
        _cleanup_free_ char *cert = NULL, *cert_new = NULL;
        _cleanup_erase_ char *key = NULL, *key_new = NULL;
        int r;

        if (!folder || !cert_path || !key_path || !cert_new_path || !key_new_path)
                return -ENOMEM;
        if ((r = read_optional(cert_new_path, &cert_new)) < 0)
                return fail(s, r, "cannot read '%s'", cert_new_path);
        if ((r = read_optional(key_new_path, &key_new)) < 0)
                return fail(s, r, "cannot read '%s'", key_new_path);
        if ((r = read_optional(key_path, &key)) < 0)
                return fail(s, r, "cannot read '%s'", key_path);

        if (cert_new && key_new && pki_key_matches(cert_new, key_new) == 0) {
                /* Killed after step 2 or 3... with the key not yet renamed: finish. */
                erase_and_free(TAKE_PTR(key));
                key = TAKE_PTR(key_new);
                if (!dry_run && (rename(key_new_path, key_path) < 0 || rename(cert_new_path, cert_path) < 0))
                        return fail(s, -errno, "cannot finish the interrupted switch in '%s'", folder);
                *ret_cert = TAKE_PTR(cert_new);
        } else if (cert_new && !key_new && key && pki_key_matches(cert_new, key) == 0) {
                /* Killed after step 3: the new key is in place, its certificate not. */
                if (!dry_run && rename(cert_new_path, cert_path) < 0)
                        return fail(s, -errno, "cannot finish the interrupted switch in '%s'", folder);
                *ret_cert = TAKE_PTR(cert_new);
        } else {
                /* Nothing pending, or a switch that never reached its commit mark (or
                 * leftovers that belong to nothing): the pair in place stands. */
                if (cert_new || key_new) {
                        if (!dry_run && ((r = unlink_optional(cert_new_path)) < 0 ||
                                         (r = unlink_optional(key_new_path)) < 0))
                                return fail(s, r, "cannot remove the leftovers of a switch in '%s'", folder);
                }
                if ((r = read_optional(cert_path, &cert)) < 0)
                        return fail(s, r, "cannot read '%s'", cert_path);
                *ret_cert = TAKE_PTR(cert);
        }
        if (!dry_run && (cert_new || key_new) && (r = fsync_dir(folder)) < 0)
                return fail(s, r, "cannot sync '%s'", folder);
        *ret_key = TAKE_PTR(key);
        return 0;
}

/* Replaces the pair of item I (see above); nothing is touched when it is unchanged. */
static int write_pair(struct pki_state *s, const char *dir, size_t i, const struct pki_pair *p) {
        _cleanup_free_ char *folder = folder_path(s, dir, i);
        _cleanup_free_ char *cert_path = file_path(s, dir, i, "cert.pem"), *key_path = file_path(s, dir, i, "key.pem");
        _cleanup_free_ char *cert_new_path = file_path(s, dir, i, "cert.pem.new");
        _cleanup_free_ char *key_new_path = file_path(s, dir, i, "key.pem.new");
        _cleanup_free_ char *cert = NULL;
        _cleanup_erase_ char *key = NULL;
        int r;

        if (!folder || !cert_path || !key_path || !cert_new_path || !key_new_path)
                return -ENOMEM;
        if (read_optional(cert_path, &cert) == 0 && read_optional(key_path, &key) == 0 && streq(cert, p->cert_pem) &&
            streq(key, p->key_pem)) {
                /* Unchanged; write_file_atomic() only fixes a mode if one drifted. */
                if ((r = write_file_atomic(key_path, key, strlen(key), 0600)) < 0)
                        return fail(s, r, "cannot write '%s'", key_path);
                if ((r = write_file_atomic(cert_path, cert, strlen(cert), 0644)) < 0)
                        return fail(s, r, "cannot write '%s'", cert_path);
                return 0;
        }
        if ((r = write_file_atomic(key_new_path, p->key_pem, strlen(p->key_pem), 0600)) < 0)
                return fail(s, r, "cannot write '%s'", key_new_path);
        if ((r = write_file_atomic(cert_new_path, p->cert_pem, strlen(p->cert_pem), 0644)) < 0)
                return fail(s, r, "cannot write '%s'", cert_new_path);
        if (rename(key_new_path, key_path) < 0)
                return fail(s, -errno, "cannot rename '%s'", key_new_path);
        if (rename(cert_new_path, cert_path) < 0)
                return fail(s, -errno, "cannot rename '%s'", cert_new_path);
        if ((r = fsync_dir(folder)) < 0)
                return fail(s, r, "cannot sync '%s'", folder);
        return 0;
}

static int make_dir(const char *path) {
        int r = mkdir_p(path, 0700);

        if (r < 0)
                return r;
        /* Root-only, whatever it was made with. */
        if (chmod(path, 0700) < 0)
                return -errno;
        return 0;
}

static int set_reason(struct pki_state *s, size_t i, enum pki_action a, const char *why) {
        char *copy = strdup(why);

        if (!copy)
                return -ENOMEM;
        free(s->reason[i]);
        s->reason[i] = copy;
        s->action[i] = a;
        s->changed = true;
        return 0;
}

static char *ca_name(void) {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;

        gmtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
        return strdup_printf("dind-cache CA %s", stamp);
}

/* The CA: loaded, made, or rotated. */
static int ensure_ca(const struct pki_request *req, const char *dir, struct pki_state *s, char **ret_previous) {
        _cleanup_free_ char *cert_path = file_path(s, dir, PKI_ITEM_CA, "cert.pem");
        _cleanup_free_ char *key_path = file_path(s, dir, PKI_ITEM_CA, "key.pem");
        _cleanup_free_ char *prev_path = file_path(s, dir, PKI_ITEM_CA, "previous.pem");
        _cleanup_free_ char *cert = NULL, *prev = NULL, *name = NULL;
        _cleanup_erase_ char *key = NULL;
        int r;

        if (!cert_path || !key_path || !prev_path)
                return -ENOMEM;
        if ((r = load_pair(s, dir, PKI_ITEM_CA, req->dry_run, &cert, &key)) < 0)
                return r;
        if ((r = read_optional(prev_path, &prev)) < 0)
                return fail(s, r, "cannot read '%s'", prev_path);

        if (cert || key) {
                if (!cert)
                        return fail(s, -ENOENT, "the CA key exists but its certificate '%s' is missing: "
                                    "restore it, or remove the whole directory to start a new CA", cert_path);
                if (!key)
                        return fail(s, -ENOENT, "the CA certificate exists but its key '%s' is missing: "
                                    "restore it, or remove the whole directory to start a new CA", key_path);
                r = pki_info_from_pem(cert, strlen(cert), &s->info[PKI_ITEM_CA]);
                if (r < 0)
                        return fail(s, r, "'%s' is not a PEM certificate", cert_path);
                if (!s->info[PKI_ITEM_CA].is_ca)
                        return fail(s, -EBADMSG, "'%s' is not a CA certificate", cert_path);
                r = pki_key_matches(cert, key);
                if (r < 0)
                        return fail(s, r, "the CA key does not belong to the CA certificate '%s'", cert_path);
                if (!req->rotate_ca) {
                        s->ca.cert_pem = TAKE_PTR(cert);
                        s->ca.key_pem = TAKE_PTR(key);
                        /* A rotation is over once a run found everything issued by the
                         * new CA: the previous one leaves the bundle (see the caller). */
                        *ret_previous = TAKE_PTR(prev);
                        return 0;
                }
                /* Rotation: the old CA stays trusted beside the new one. */
                *ret_previous = TAKE_PTR(cert);
                pki_info_done(&s->info[PKI_ITEM_CA]);
                r = set_reason(s, PKI_ITEM_CA, PKI_RENEWED, "--rotate-ca");
        } else
                r = set_reason(s, PKI_ITEM_CA, PKI_CREATED, "there was none");
        if (r < 0)
                return r;
        if (req->dry_run)
                /* Decided, not made: a dry run creates no key, even in memory. */
                return 0;
        name = ca_name();
        if (!name)
                return -ENOMEM;
        r = pki_make_ca(name, &s->ca);
        if (r < 0)
                return fail(s, r, "cannot make a CA for '%s'", dir);
        r = pki_info_from_pem(s->ca.cert_pem, strlen(s->ca.cert_pem), &s->info[PKI_ITEM_CA]);
        if (r < 0)
                return r;
        return 0;
}

/* CERT's serial is on the request's deny list. */
static bool leaf_revoked(const struct pki_request *req, const char *cert) {
        struct pki_peer peer = {};
        bool revoked;

        if (!req->revoked || pki_peer_from_pem(cert, strlen(cert), &peer) < 0)
                return false;
        revoked = req->revoked(peer.serial, req->revoked_userdata);
        pki_peer_done(&peer);
        return revoked;
}

/* Why leaf I must be (re-)issued, or NULL when it is good. *RET_ACTION says how. */
static int judge_leaf(const struct pki_request *req, struct pki_state *s, size_t i, const char *cert,
                      const char *key, char **ret_why, enum pki_action *ret_action) {
        struct pki_info *info = &s->info[i];
        _cleanup_free_ char *reason = NULL;
        long days;
        int r;

        *ret_action = PKI_RENEWED;
        if (!cert || !key) {
                *ret_action = PKI_CREATED;
                *ret_why = strdup("there was none");
                return *ret_why ? 0 : -ENOMEM;
        }
        r = pki_info_from_pem(cert, strlen(cert), info);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret_why = strdup("its certificate does not parse");
                return *ret_why ? 0 : -ENOMEM;
        }
        if (s->action[PKI_ITEM_CA] == PKI_RENEWED)
                *ret_why = strdup("the CA was rotated");
        else if (!s->ca.cert_pem)
                *ret_why = strdup("the CA is new");
        else if (req->renew)
                *ret_why = strdup("--renew-certs");
        else if (leaf_revoked(req, cert))
                *ret_why = strdup("it is revoked (dind-cache revoke)");
        else if (!streq(info->subject_cn, item_cn(s, i)))
                *ret_why = strdup_printf("it names '%s', not '%s'", info->subject_cn ?: "(no CN)", item_cn(s, i));
        else if (pki_key_matches(cert, key) < 0)
                *ret_why = strdup("its key does not match it");
        else if (pki_verify(s->ca.cert_pem, cert, item_usage(i), &reason) < 0)
                *ret_why = strdup_printf("it does not verify against the CA: %s", reason ?: "?");
        else if ((days = pki_days_left(info, time(NULL))) < PKI_RENEW_DAYS)
                *ret_why = strdup_printf("%ld days left (renewed under %d)", days, PKI_RENEW_DAYS);
        else if (i == PKI_ITEM_SERVER && req->server_sans && !pki_sans_equal(&info->sans, req->server_sans))
                *ret_why = strdup("its names (SANs) differ from the Service's");
        else
                return 0;
        return *ret_why ? 0 : -ENOMEM;
}

/* *RET_HOLDS_NO_OLD: nobody can hold a certificate of leaf I from before this run's CA:
 * the leaf found on disk was already issued by it, or there was none (so the jobs are
 * trusted without the previous CA). */
static int ensure_leaf(const struct pki_request *req, const char *dir, struct pki_state *s, size_t i,
                       bool *ret_holds_no_old) {
        _cleanup_free_ char *cert = NULL, *why = NULL;
        _cleanup_erase_ char *key = NULL;
        enum pki_action action;
        int r;

        if ((r = load_pair(s, dir, i, req->dry_run, &cert, &key)) < 0)
                return r;
        *ret_holds_no_old = s->ca.cert_pem && s->action[PKI_ITEM_CA] == PKI_KEPT &&
                            (!cert || pki_verify(s->ca.cert_pem, cert, item_usage(i), NULL) == 0);
        r = judge_leaf(req, s, i, cert, key, &why, &action);
        if (r < 0)
                return r;
        if (!why) {
                s->leaf[i].cert_pem = TAKE_PTR(cert);
                s->leaf[i].key_pem = TAKE_PTR(key);
                return 0;
        }
        r = set_reason(s, i, action, why);
        if (r < 0)
                return r;
        pki_info_done(&s->info[i]);
        if (req->dry_run)
                return 0;
        r = pki_make_leaf(&s->ca, item_usage(i), item_cn(s, i), i == PKI_ITEM_SERVER ? req->server_sans : NULL,
                          &s->leaf[i]);
        if (r < 0)
                return fail(s, r, "cannot issue a certificate in '%s'", dir);
        return pki_info_from_pem(s->leaf[i].cert_pem, strlen(s->leaf[i].cert_pem), &s->info[i]);
}

/* Writes the file DIR/PATH (relative), saying which on failure. */
static int write_one(struct pki_state *s, const char *dir, const char *path, const char *data, mode_t mode) {
        _cleanup_free_ char *full = strdup_printf("%s/%s", dir, path);
        int r;

        if (!full)
                return -ENOMEM;
        r = write_file_atomic(full, data, strlen(data), mode);
        if (r < 0)
                return fail(s, r, "cannot write '%s'", full);
        return 0;
}

static int make_item_dirs(struct pki_state *s, const char *dir) {
        const char *tops[] = { "", "/" PKI_TENANTS_FOLDER };
        int r;

        for (size_t k = 0; k < ELEMENTSOF(tops); k++) {
                _cleanup_free_ char *top = strdup_printf("%s%s", dir, tops[k]);
                if (!top)
                        return -ENOMEM;
                if (k == 1 && s->n_items == PKI_ITEM_TENANTS)
                        break;
                if ((r = make_dir(top)) < 0)
                        return fail(s, r, "cannot make the directory '%s'", top);
        }
        for (size_t i = 0; i < s->n_items; i++) {
                _cleanup_free_ char *sub = folder_path(s, dir, i);
                if (!sub)
                        return -ENOMEM;
                if ((r = make_dir(sub)) < 0)
                        return fail(s, r, "cannot make the directory '%s'", sub);
        }
        return 0;
}

/* The prune job's and the tenants' certificates, tenants by name: client-certs.pem. */
static char *client_certs(const struct pki_state *s) {
        _cleanup_strv_free_ char **sorted = NULL;
        _cleanup_free_ char *text = strdup(s->leaf[PKI_ITEM_PRUNE_JOB].cert_pem ?: "");

        for (char **t = s->tenants; t && *t; t++)
                if (strv_extend(&sorted, *t) < 0)
                        return NULL;
        if (sorted)
                qsort(sorted, strv_length(sorted), sizeof(char *), strcmp_ptr);
        for (char **t = sorted; text && t && *t; t++) {
                size_t i = PKI_ITEM_TENANTS;
                char *more;

                while (!streq(s->tenants[i - PKI_ITEM_TENANTS], *t))
                        i++;
                more = strdup_printf("%s%s", text, s->leaf[i].cert_pem ?: "");
                free(text);
                text = more;
        }
        return TAKE_PTR(text);
}

static int write_all(struct pki_state *s, const char *dir, const char *previous) {
        _cleanup_free_ char *prev_path = file_path(s, dir, PKI_ITEM_CA, "previous.pem"), *certs = NULL;
        int r;

        if (!prev_path)
                return -ENOMEM;
        if ((r = make_item_dirs(s, dir)) < 0)
                return r;
        /* The previous CA first, then the CA's pair: an interrupted rotation leaves
         * the old CA known. */
        if (previous)
                r = write_one(s, dir, "ca/previous.pem", previous, 0644);
        else if ((r = unlink_optional(prev_path)) < 0)
                r = fail(s, r, "cannot remove '%s'", prev_path);
        if (r < 0)
                return r;
        if ((r = write_pair(s, dir, PKI_ITEM_CA, &s->ca)) < 0)
                return r;
        for (size_t i = PKI_ITEM_SERVER; i < s->n_items; i++) {
                _cleanup_free_ char *folder = item_folder(s, i);
                _cleanup_free_ char *bundle = folder ? strdup_printf("%s/ca.pem", folder) : NULL;
                if (!bundle)
                        return -ENOMEM;
                if ((r = write_pair(s, dir, i, &s->leaf[i])) < 0 ||
                    (r = write_one(s, dir, bundle, s->bundle, 0644)) < 0)
                        return r;
        }
        certs = client_certs(s);
        if (!certs)
                return -ENOMEM;
        return write_one(s, dir, PKI_CLIENT_CERTS_FILE, certs, 0644);
}

int pki_store_ensure(const struct pki_request *req, struct pki_state *ret) {
        const char *dir = req->dir ?: PKI_DEFAULT_DIR;
        _cleanup_free_ char *previous = NULL;
        struct pki_state s = {};
        bool all_new = true;
        int r;

        r = state_init(&s, req);
        if (r < 0)
                goto fail;
        r = ensure_ca(req, dir, &s, &previous);
        if (r < 0)
                goto fail;
        for (size_t i = PKI_ITEM_SERVER; i < s.n_items; i++) {
                bool holds_no_old = false;

                r = ensure_leaf(req, dir, &s, i, &holds_no_old);
                if (r < 0)
                        goto fail;
                all_new = all_new && holds_no_old;
        }

        /* The previous CA stays in the bundle for the run that issues the new CA's
         * leaves, and leaves it on a later run that finds every leaf on the node
         * already issued by the new CA: the jobs hold the new client certificates by
         * then. (A run that finishes an interrupted rotation re-issues the leaves
         * itself, so the previous CA stays one run more.) */
        if (previous && !req->rotate_ca && all_new) {
                free(previous);
                previous = NULL;
                s.previous_dropped = true;
                s.changed = true;
        }
        s.bundle = strdup_printf("%s%s", s.ca.cert_pem ?: "", previous ?: "");
        if (!s.bundle) {
                r = -ENOMEM;
                goto fail;
        }
        if (!req->dry_run) {
                r = write_all(&s, dir, previous);
                if (r < 0)
                        goto fail;
        }
        *ret = s;
        return 0;
fail:
        free(ret->error);
        ret->error = TAKE_PTR(s.error);
        pki_state_done(&s);
        return r;
}

/* Removes our files from DIR/FOLDER, then the folder (-ENOTEMPTY when something else
 * is there). 0 also when it is gone. */
static int remove_folder(const char *dir, const char *folder) {
        _cleanup_free_ char *sub = strdup_printf("%s/%s", dir, folder);
        int r = 0;

        if (!sub)
                return -ENOMEM;
        for (size_t f = 0; f < ELEMENTSOF(known_files); f++) {
                _cleanup_free_ char *path = strdup_printf("%s/%s", sub, known_files[f]);
                if (!path)
                        return -ENOMEM;
                (void) remove_stale_temps(path);
                if (unlink(path) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        if (rmdir(sub) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int pki_store_tenants(const char *dir, char ***ret) {
        _cleanup_free_ char *path = strdup_printf("%s/" PKI_TENANTS_FOLDER, dir);
        _cleanup_strv_free_ char **list = NULL;
        DIR *d;
        struct dirent *e;
        int r = 0;

        if (!path)
                return -ENOMEM;
        d = opendir(path);
        if (!d && errno != ENOENT)
                return -errno;
        while (d && (e = readdir(d)))
                if (tenant_name_ok(e->d_name) && (r = strv_extend(&list, e->d_name)) < 0)
                        break;
        if (d)
                closedir(d);
        if (r < 0)
                return r;
        if (!list && !(list = calloc(1, sizeof(char *))))
                return -ENOMEM;
        qsort(list, strv_length(list), sizeof(char *), strcmp_ptr);
        *ret = TAKE_PTR(list);
        return 0;
}

int pki_store_remove_tenant(const char *dir, const char *tenant) {
        _cleanup_free_ char *folder = NULL, *top = NULL;
        int r;

        if (!tenant_name_ok(tenant))
                return -EINVAL;
        folder = strdup_printf(PKI_TENANTS_FOLDER "/%s", tenant);
        top = strdup_printf("%s/" PKI_TENANTS_FOLDER, dir);
        if (!folder || !top)
                return -ENOMEM;
        r = remove_folder(dir, folder);
        /* The last tenant gone: tenants/ too (an empty folder; another tenant's stays). */
        if (r == 0 && rmdir(top) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
                r = -errno;
        return r;
}

int pki_store_has_legacy_client(const char *dir) {
        _cleanup_free_ char *path = strdup_printf("%s/" PKI_LEGACY_CLIENT_FOLDER, dir);
        struct stat st;

        if (!path)
                return -ENOMEM;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return 1;
}

int pki_store_remove_legacy_client(const char *dir) {
        return remove_folder(dir, PKI_LEGACY_CLIENT_FOLDER);
}

int pki_store_remove(const char *dir) {
        _cleanup_strv_free_ char **tenants = NULL;
        _cleanup_free_ char *certs = strdup_printf("%s/" PKI_CLIENT_CERTS_FILE, dir);
        int r, k;

        if (!certs)
                return -ENOMEM;
        r = pki_store_tenants(dir, &tenants);
        for (char **t = tenants; r >= 0 && t && *t; t++)
                r = pki_store_remove_tenant(dir, *t);
        if ((k = remove_folder(dir, PKI_TENANTS_FOLDER)) < 0 && r >= 0)
                r = k;
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                if ((k = remove_folder(dir, fixed[i].folder)) < 0 && r >= 0)
                        r = k;
        if ((k = remove_folder(dir, PKI_LEGACY_CLIENT_FOLDER)) < 0 && r >= 0)
                r = k;
        (void) remove_stale_temps(certs);
        if (unlink(certs) < 0 && errno != ENOENT && r >= 0)
                r = -errno;
        if (rmdir(dir) < 0 && errno != ENOENT && r >= 0)
                r = -errno;
        return r < 0 ? r : 0;
}
