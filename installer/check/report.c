/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "base/json-util.h"
#include "base/text.h"
#include "check/report.h"

/* What the report prints is on one line each, whatever a message holds: a value from
 * outside with a newline must not forge a line of its own ("[OK] ..."). */
#define REPORT_MAX_FIELD 4096

int report_print_text(FILE *f, const struct check_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                const struct check_result *r = &l->items[i];
                _cleanup_free_ char *name = text_escape(r->name ?: "", REPORT_MAX_FIELD);
                _cleanup_free_ char *message = text_escape(r->message ?: "", REPORT_MAX_FIELD);
                _cleanup_free_ char *remedy = text_escape(r->remedy, REPORT_MAX_FIELD);
                char label[16];

                if (!name || !message || (r->remedy && !remedy))
                        return -ENOMEM;
                snprintf(label, sizeof(label), "[%s]", check_state_to_string(r->state));
                fprintf(f, "%-9s %s: %s", label, name, message);
                if (remedy && r->state != CHECK_OK)
                        fprintf(f, " -> %s", remedy);
                fputc('\n', f);
        }
        return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

/* JSON strings are UTF-8: anything else is shown escaped, never dropped. */
static int set_string(json_t *o, const char *key, const char *value) {
        _cleanup_free_ char *escaped = NULL;

        if (!value)
                return 0;
        if (!text_is_utf8(value)) {
                escaped = text_escape(value, REPORT_MAX_FIELD);
                if (!escaped)
                        return -ENOMEM;
                value = escaped;
        }
        return json_object_set_new(o, key, json_string(value)) < 0 ? -ENOMEM : 0;
}

json_t *report_to_json(const struct check_list *l) {
        _cleanup_json_ json_t *doc = json_object(), *checks = json_array();

        if (!doc || !checks)
                return NULL;
        for (size_t i = 0; i < l->n; i++) {
                const struct check_result *r = &l->items[i];
                _cleanup_json_ json_t *o = json_object();

                if (!o || set_string(o, "name", r->name) < 0 ||
                    set_string(o, "state", check_state_to_string(r->state)) < 0 ||
                    set_string(o, "message", r->message) < 0 ||
                    set_string(o, "remedy", r->remedy) < 0 ||
                    set_string(o, "value", r->value) < 0 ||
                    set_string(o, "threshold", r->threshold) < 0 ||
                    json_array_append(checks, o) < 0)
                        return NULL;
        }
        if (set_string(doc, "result", check_state_to_string(check_list_worst(l))) < 0 ||
            json_object_set(doc, "checks", checks) < 0)
                return NULL;
        return TAKE_PTR(doc);
}

int report_print_json(FILE *f, const struct check_list *l) {
        _cleanup_json_ json_t *doc = report_to_json(l);

        if (!doc)
                return -ENOMEM;
        if (json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
                return -EIO;
        fputc('\n', f);
        return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

static int set_u64(json_t *o, const char *key, uint64_t v) {
        return json_object_set_new(o, key, json_integer((json_int_t) (v > INT64_MAX ? INT64_MAX : v))) < 0 ? -ENOMEM : 0;
}

json_t *report_cache_json(const struct health_figures *fig) {
        _cleanup_json_ json_t *o = json_object();

        if (!o)
                return NULL;
        if (fig && fig->cache_known &&
            (set_u64(o, "build_cache_records", fig->cache_records) < 0 ||
             set_u64(o, "build_cache_bytes", fig->cache_bytes) < 0 ||
             set_u64(o, "build_cache_reclaimable_bytes", fig->cache_reclaimable) < 0 ||
             set_u64(o, "build_cache_read_timestamp_seconds", (uint64_t) fig->cache_read_at) < 0))
                return NULL;
        if (fig && fig->reuses_known && set_u64(o, "build_cache_reuses_total", fig->cache_reuses_total) < 0)
                return NULL;
        if (fig && fig->images_known &&
            (set_u64(o, "images", fig->images) < 0 || set_u64(o, "image_bytes", fig->image_bytes) < 0))
                return NULL;
        return TAKE_PTR(o);
}
