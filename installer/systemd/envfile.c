/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "systemd/envfile.h"
#include "base/util.h"

#define HEADER "# Written by dind-cache install; read by dind-cache-check.service.\n"

static const char *const keys[] = { "DOCKER_HOST", "DIND_CACHE_DATA_DIR", "DIND_CACHE_NODE",
                                     "DIND_CACHE_TEXTFILE_DIR" };

static char **field(struct envfile *e, size_t i) {
        char **f[] = { &e->docker_host, &e->data_dir, &e->node, &e->textfile_dir };
        return f[i];
}

static const char *cfield(const struct envfile *e, size_t i) {
        return *field((struct envfile *) e, i);
}

void envfile_done(struct envfile *e) {
        if (!e)
                return;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                free(*field(e, i));
        *e = (struct envfile) {};
}

/* Which of our keys LINE assigns (index), or -1. */
static int line_key(const char *line, size_t len) {
        size_t i = 0;

        while (i < len && (line[i] == ' ' || line[i] == '\t'))
                i++;
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                size_t n = strlen(keys[k]), j = i + n;
                if (len - i < n || strncmp(line + i, keys[k], n) != 0)
                        continue;
                while (j < len && (line[j] == ' ' || line[j] == '\t'))
                        j++;
                if (j < len && line[j] == '=')
                        return (int) k;
        }
        return -1;
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* KEY=VALUE\n, quoted when VALUE needs it. */
static char *format_line(const char *key, const char *value) {
        static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+,=-";
        _cleanup_free_ char *q = NULL;
        char *o;

        if (*value && strspn(value, safe) == strlen(value))
                return strdup_printf("%s=%s\n", key, value);
        q = o = malloc(strlen(value) * 2 + 1);
        if (!q)
                return NULL;
        for (const char *p = value; *p; p++) {
                if (strchr("\\\"$`", *p))
                        *o++ = '\\';
                *o++ = *p;
        }
        *o = '\0';
        return strdup_printf("%s=\"%s\"\n", key, q);
}

/* Appends N bytes of S to the growing string *BUF. */
static int append(char **buf, size_t *len, const char *s, size_t n) {
        char *grown = realloc(*buf, *len + n + 1);
        if (!grown)
                return -ENOMEM;
        memcpy(grown + *len, s, n);
        *len += n;
        grown[*len] = '\0';
        *buf = grown;
        return 0;
}

int envfile_update_text(const char *old, const struct envfile *e, char **ret_text) {
        _cleanup_free_ char *out = NULL;
        char *lines[ELEMENTSOF(keys)] = {};
        bool done[ELEMENTSOF(keys)] = {};
        size_t len = 0;
        int r = 0;

        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                if (!cfield(e, k))
                        continue;
                if (has_control(cfield(e, k))) {
                        r = -EINVAL;
                        goto finish;
                }
                lines[k] = format_line(keys[k], cfield(e, k));
                if (!lines[k]) {
                        r = -ENOMEM;
                        goto finish;
                }
        }

        if (isempty(old))
                r = append(&out, &len, HEADER, strlen(HEADER));
        for (const char *p = old ?: ""; r >= 0 && *p;) {
                size_t n = strcspn(p, "\n");
                int k = line_key(p, n);

                if (k < 0 || !lines[k])
                        r = append(&out, &len, p, n);              /* not ours, or kept */
                else if (!done[k]) {
                        r = append(&out, &len, lines[k], strlen(lines[k]) - 1);
                        done[k] = true;
                } else {                                         /* a later duplicate: dropped */
                        p += n + (p[n] == '\n');
                        continue;
                }
                if (r >= 0)
                        r = append(&out, &len, "\n", 1);
                p += n + (p[n] == '\n');
        }
        for (size_t k = 0; r >= 0 && k < ELEMENTSOF(keys); k++)
                if (lines[k] && !done[k])
                        r = append(&out, &len, lines[k], strlen(lines[k]));
        if (r >= 0 && !out)
                r = append(&out, &len, "", 0);
finish:
        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                free(lines[k]);
        if (r < 0)
                return r;
        *ret_text = TAKE_PTR(out);
        return 0;
}

int envfile_write(const char *path, const struct envfile *e) {
        _cleanup_free_ char *old = NULL, *text = NULL;
        size_t size = 0;
        int r;

        r = read_file_full(path, ENVFILE_MAX_SIZE, &old, &size);
        if (r < 0 && r != -ENOENT)
                return r;
        if (old && memchr(old, '\0', size))
                return -EINVAL;
        r = envfile_update_text(old, e, &text);
        if (r < 0)
                return r;
        return write_file_atomic(path, text, strlen(text), 0644);
}

/* One value, systemd's way, from P (just after '='); *P moves past the assignment. */
static int parse_value(const char **pp, const char *end, char **ret) {
        const char *p = *pp;
        _cleanup_free_ char *v = malloc(end - p + 1);
        char *o = v, quote = 0;
        char *last_nonspace;

        if (!v)
                return -ENOMEM;
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        last_nonspace = o;
        for (; p < end; p++) {
                if (quote) {
                        if (*p == quote)
                                quote = 0;
                        else if (quote == '"' && *p == '\\' && p + 1 < end) {
                                p++;
                                if (*p != '\n')
                                        *o++ = *p;
                        } else
                                *o++ = *p;
                        last_nonspace = o;
                        continue;
                }
                if (*p == '\n')
                        break;
                if (*p == '"' || *p == '\'') {
                        quote = *p;
                        continue;
                }
                if (*p == '\\' && p + 1 < end) {
                        p++;
                        if (*p != '\n')
                                *o++ = *p;
                        last_nonspace = o;
                        continue;
                }
                *o++ = *p;
                if (*p != ' ' && *p != '\t')
                        last_nonspace = o;
        }
        *last_nonspace = '\0';
        *pp = p;
        *ret = TAKE_PTR(v);
        return 0;
}

int envfile_parse(const char *text, size_t size, struct envfile *ret) {
        struct envfile e = {};
        const char *p = text, *end = text + size;
        int r;

        while (p < end) {
                const char *line_end = memchr(p, '\n', end - p) ?: end;
                int k = line_key(p, line_end - p);
                char *value;

                if (k < 0) {
                        p = line_end + (line_end < end);
                        continue;
                }
                p = memchr(p, '=', line_end - p) + 1;
                r = parse_value(&p, end, &value);
                if (r < 0) {
                        envfile_done(&e);
                        return r;
                }
                free(*field(&e, k));
                *field(&e, k) = value;
                p += p < end;
        }
        *ret = e;
        return 0;
}

int envfile_read(const char *path, struct envfile *ret) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = read_file_full(path, ENVFILE_MAX_SIZE, &text, &size);
        if (r < 0)
                return r;
        return envfile_parse(text, size, ret);
}
