/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/identity.h"
#include "authz/tenants.h"

int tenants_init(struct tenants *t, const char *path) {
        *t = (struct tenants) { .path = path ? strdup(path) : NULL };
        return !path || t->path ? 0 : -ENOMEM;
}

static void clear_list(struct tenants *t) {
        strv_free(t->names);
        t->names = NULL;
        t->n = t->n_bad = 0;
}

void tenants_done(struct tenants *t) {
        clear_list(t);
        free(t->path);
        *t = (struct tenants) {};
}

int tenants_parse(struct tenants *t, const char *text, size_t size) {
        _cleanup_strv_free_ char **list = NULL;
        size_t bad = 0;

        for (const char *line = text; line < text + size;) {
                const char *end = memchr(line, '\n', (size_t) (text + size - line)) ?: text + size;
                size_t n = (size_t) (end - line);
                char name[64];

                if (n > 0 && n < sizeof(name)) {
                        memcpy(name, line, n);
                        name[n] = '\0';
                }
                if (n == 0)
                        ;
                else if (n >= sizeof(name) || !identity_is_namespace(name))
                        bad++;
                else if (strv_extend(&list, name) < 0)
                        return -ENOMEM;
                line = end + 1;
        }
        clear_list(t);
        t->n = strv_sort_unique(list, strv_length(list));
        t->names = TAKE_PTR(list);
        t->n_bad = bad;
        return 0;
}

int tenants_refresh(struct tenants *t) {
        _cleanup_free_ char *data = NULL;
        struct file_stamp now;
        size_t size;
        int q;

        if (!t->path)
                return 0;
        q = file_read_changed(&t->stamp, t->path, TENANTS_MAX_SIZE, &data, &size, &now);
        if (q == 0)
                return 0;
        if (q > 0 && data)
                q = tenants_parse(t, data, size);
        else if (q > 0)
                clear_list(t);
        if (q < 0) {
                clear_list(t);
                t->stamp = (struct file_stamp) {};
                return q;
        }
        t->stamp = now;
        return 1;
}

bool tenants_allow(const struct tenants *t, const char *name) {
        if (!t->path || (t->stamp.known && !t->stamp.present))
                return true;
        return strv_sorted_contains(t->names, t->n, name);
}

int tenants_text(char *const *names, char **ret) {
        _cleanup_strv_free_ char **sorted = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n, size = 1, o = 0;

        for (char *const *p = names; p && *p; p++) {
                if (!identity_is_namespace(*p))
                        return -EINVAL;
                if (strv_extend(&sorted, *p) < 0)
                        return -ENOMEM;
                size += strlen(*p) + 1;
        }
        n = strv_sort_unique(sorted, strv_length(sorted));
        text = malloc(size);
        if (!text)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                o += (size_t) sprintf(text + o, "%s\n", sorted[i]);
        text[o] = '\0';
        *ret = TAKE_PTR(text);
        return 0;
}

int tenants_write(const char *path, char *const *names) {
        _cleanup_free_ char *text = NULL;
        int r = tenants_text(names, &text);

        if (r < 0)
                return r;
        return write_file_atomic(path, text, strlen(text), TENANTS_MODE);
}

bool tenants_written(const char *path, char *const *names) {
        _cleanup_free_ char *text = NULL;

        return tenants_text(names, &text) >= 0 && file_has_content(path, text, strlen(text), TENANTS_MODE);
}
