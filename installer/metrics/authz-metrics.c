/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "base/util.h"
#include "metrics/authz-metrics.h"
#include "metrics/textfile.h"

void authz_counters_done(struct authz_counters *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->items[i].tenant);
        free(c->items);
        *c = (struct authz_counters) {};
}

static struct authz_counter *find_or_add(struct authz_counters *c, const char *tenant) {
        struct authz_counter *grown;
        char *copy;

        for (size_t i = 0; i < c->n; i++)
                if (streq(c->items[i].tenant, tenant))
                        return &c->items[i];
        if (c->n >= AUTHZ_COUNTERS_MAX && !streq(tenant, "other"))
                return find_or_add(c, "other");
        copy = strdup(tenant);
        grown = copy ? reallocarray(c->items, c->n + 1, sizeof(*grown)) : NULL;
        if (!grown) {
                free(copy);
                return NULL;
        }
        c->items = grown;
        c->items[c->n] = (struct authz_counter) { .tenant = copy };
        return &c->items[c->n++];
}

int authz_counters_add(struct authz_counters *c, const char *tenant, bool allowed, bool build) {
        /* One line of the state file each: no tab, no newline, capped. */
        _cleanup_free_ char *clean = text_sanitize_line(isempty(tenant) ? "unknown" : tenant, 255);
        struct authz_counter *e;

        if (!clean)
                return -ENOMEM;
        for (char *p = clean; *p; p++)
                if (*p == '\t')
                        *p = '?';
        e = find_or_add(c, clean);
        if (!e)
                return -ENOMEM;
        if (allowed)
                e->allowed++;
        else
                e->denied++;
        if (allowed && build)
                e->builds++;
        c->dirty = true;
        return 0;
}

int authz_counters_text(const struct authz_counters *c, char **ret) {
        char label[METRICS_LABEL_MAX * 2 + 8];
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        fputs("# HELP dind_cache_authz_requests_total Docker API requests the authorization plugin decided, "
              "by caller (certificate name) and verdict.\n"
              "# TYPE dind_cache_authz_requests_total counter\n", f);
        for (size_t i = 0; i < c->n; i++) {
                metrics_label_escape(c->items[i].tenant, label, sizeof(label));
                fprintf(f, "dind_cache_authz_requests_total{tenant=\"%s\",verdict=\"allow\"} %" PRIu64 "\n", label,
                        c->items[i].allowed);
                fprintf(f, "dind_cache_authz_requests_total{tenant=\"%s\",verdict=\"deny\"} %" PRIu64 "\n", label,
                        c->items[i].denied);
        }
        fputs("# HELP dind_cache_tenant_requests_total Docker API requests of each caller, allowed or not.\n"
              "# TYPE dind_cache_tenant_requests_total counter\n", f);
        for (size_t i = 0; i < c->n; i++)
                fprintf(f, "dind_cache_tenant_requests_total{tenant=\"%s\"} %" PRIu64 "\n",
                        metrics_label_escape(c->items[i].tenant, label, sizeof(label)),
                        c->items[i].allowed + c->items[i].denied);
        fputs("# HELP dind_cache_tenant_builds_total Builds the authorization plugin allowed, by caller: "
              "BuildKit /grpc and /session upgrades and POST /build.\n"
              "# TYPE dind_cache_tenant_builds_total counter\n", f);
        for (size_t i = 0; i < c->n; i++)
                fprintf(f, "dind_cache_tenant_builds_total{tenant=\"%s\"} %" PRIu64 "\n",
                        metrics_label_escape(c->items[i].tenant, label, sizeof(label)), c->items[i].builds);
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int authz_counters_state_text(const struct authz_counters *c, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < c->n; i++)
                fprintf(f, "%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", c->items[i].tenant, c->items[i].allowed,
                        c->items[i].denied, c->items[i].builds);
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int authz_counters_state_parse(struct authz_counters *c, const char *text, size_t size) {
        _cleanup_free_ char *copy = strndup(text, size);
        char *line, *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char tenant[256];
                uint64_t a, d, b;
                struct authz_counter *e;
                int end = 0;

                if (sscanf(line, "%255[^\t]\t%" SCNu64 "\t%" SCNu64 "\t%" SCNu64 "%n", tenant, &a, &d, &b, &end) != 4 ||
                    line[end] != '\0')
                        continue;
                e = find_or_add(c, tenant);
                if (!e)
                        return -ENOMEM;
                e->allowed += a;
                e->denied += d;
                e->builds += b;
        }
        return 0;
}
