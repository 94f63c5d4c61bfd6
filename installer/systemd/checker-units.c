/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/assets.h"
#include "systemd/checker-units.h"
#include "base/util.h"

bool unit_path_is_plain(const char *path) {
        size_t n;

        if (!path || path[0] != '/')
                return false;
        n = strlen(path);
        if (n >= PATH_MAX)
                return false;
        for (const char *p = path; *p; p++)
                if ((unsigned char) *p <= ' ' || (unsigned char) *p == 0x7f ||
                    strchr("\"'\\%$;`", *p))
                        return false;
        if (strstr(path, "/./") || strstr(path, "/../") || strstr(path, "//"))
                return false;
        if ((n >= 2 && streq(path + n - 2, "/.")) || (n >= 3 && streq(path + n - 3, "/..")))
                return false;
        return true;
}

static bool path_under(const char *path, const char *dir) {
        size_t n = strlen(dir);
        return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool checker_path_hidden(const char *path) {
        static const char *const hidden[] = { "/home", "/root", "/run/user", "/tmp", "/var/tmp", "/dev" };

        for (size_t i = 0; i < ELEMENTSOF(hidden); i++)
                if (path_under(path, hidden[i]))
                        return true;
        return false;
}

char *format_timespan_unit(uint64_t usec, char *buf, size_t size) {
        if (usec % 60000000ULL == 0)
                snprintf(buf, size, "%" PRIu64 "min", (uint64_t) (usec / 60000000ULL));
        else if (usec % 1000000ULL == 0)
                snprintf(buf, size, "%" PRIu64 "s", (uint64_t) (usec / 1000000ULL));
        else if (usec % 1000ULL == 0)
                snprintf(buf, size, "%" PRIu64 "ms", (uint64_t) (usec / 1000ULL));
        else
                snprintf(buf, size, "%" PRIu64 "us", usec);
        return buf;
}

/* The length of the line at P, without its newline. */
static size_t line_length(const char *p) {
        const char *nl = strchr(p, '\n');
        return nl ? (size_t) (nl - p) : strlen(p);
}

int unit_text_set_value(const char *text, const char *section, const char *key,
                        const char *value, char **ret) {
        size_t key_len = strlen(key), section_len = strlen(section);
        const char *found = NULL;
        bool in_section = false;
        char *out;

        for (const char *p = text; *p;) {
                size_t n = line_length(p);

                if (n > 0 && p[0] == '[')
                        in_section = n == section_len + 2 && p[n - 1] == ']' &&
                                     strncmp(p + 1, section, section_len) == 0;
                else if (in_section && n > key_len && strncmp(p, key, key_len) == 0 && p[key_len] == '=') {
                        if (found)
                                return -ENOTUNIQ;
                        found = p;
                }
                p += n;
                if (*p == '\n')
                        p++;
        }
        if (!found)
                return -ENOENT;

        size_t before = (size_t) (found - text) + key_len + 1;
        const char *after = found + line_length(found);
        out = strdup_printf("%.*s%s%s", (int) before, text, value, after);
        if (!out)
                return -ENOMEM;
        *ret = out;
        return 0;
}

static int template_text(const char *asset, const char **ret) {
        const struct asset *a = asset_find(asset);
        if (!a)
                return -ENOENT;
        *ret = (const char *) a->data;
        return 0;
}

int checker_service_text(const struct checker_unit_params *p, char **ret) {
        _cleanup_free_ char *exec = NULL, *rw = NULL, *step = NULL;
        const char *tmpl;
        int r;

        if (!unit_path_is_plain(p->binary) || !unit_path_is_plain(p->data_dir) ||
            checker_path_hidden(p->binary) || checker_path_hidden(p->data_dir))
                return -EINVAL;
        if (p->textfile_dir && (!unit_path_is_plain(p->textfile_dir) || checker_path_hidden(p->textfile_dir)))
                return -EINVAL;
        r = template_text(CHECKER_SERVICE_ASSET, &tmpl);
        if (r < 0)
                return r;
        exec = strdup_printf("%s check", p->binary);
        rw = p->textfile_dir ? strdup_printf("-%s -%s", p->data_dir, p->textfile_dir)
                             : strdup_printf("-%s", p->data_dir);
        if (!exec || !rw)
                return -ENOMEM;
        r = unit_text_set_value(tmpl, "Service", "ExecStart", exec, &step);
        if (r < 0)
                return r;
        return unit_text_set_value(step, "Service", "ReadWritePaths", rw, ret);
}

int checker_timer_text(const struct checker_unit_params *p, char **ret) {
        char span[32];
        const char *tmpl;
        int r;

        if (p->interval_usec < 1000000ULL)
                return -EINVAL;
        r = template_text(CHECKER_TIMER_ASSET, &tmpl);
        if (r < 0)
                return r;
        return unit_text_set_value(tmpl, "Timer", "OnUnitActiveSec",
                                   format_timespan_unit(p->interval_usec, span, sizeof(span)), ret);
}

char *format_timestamp_unit(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / 1000000ULL);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "n/a");
        return buf;
}

int unit_service_text(const char *asset, const char *binary, const char *verb, const char *textfile_dir,
                      char **ret) {
        _cleanup_free_ char *exec = NULL, *step = NULL, *rw = NULL;
        const char *t;
        int r;

        r = template_text(asset, &t);
        if (r < 0)
                return r;
        if (!unit_path_is_plain(binary) || checker_path_hidden(binary))
                return -EINVAL;
        if (textfile_dir && (!unit_path_is_plain(textfile_dir) || checker_path_hidden(textfile_dir)))
                return -EINVAL;
        exec = strdup_printf("%s %s", binary, verb);
        if (!exec)
                return -ENOMEM;
        r = unit_text_set_value(t, "Service", "ExecStart", exec, &step);
        if (r < 0)
                return r;
        /* The metrics directory, like the checker's: '-' as it may be absent; none
         * (an empty assignment) when metrics are off. */
        rw = textfile_dir ? strdup_printf("-%s", textfile_dir) : strdup("");
        if (!rw)
                return -ENOMEM;
        return unit_text_set_value(step, "Service", "ReadWritePaths", rw, ret);
}
