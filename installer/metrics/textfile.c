/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "metrics/textfile.h"
#include "base/text.h"
#include "base/util.h"

char *metrics_label_escape(const char *s, char *buf, size_t size) {
        const unsigned char *p = (const unsigned char *) (s ? s : "");
        size_t used = 0, o = 0;

        if (size == 0)
                return buf;
        while (*p && used < METRICS_LABEL_MAX) {
                /* The one strict decoder: Prometheus refuses the whole file over an
                 * overlong form, a surrogate or a code point above U+10FFFF. */
                size_t n = text_utf8_char((const char *) p);

                if (n == 0) {
                        /* Not UTF-8, which the format requires: one '?' for the byte. */
                        if (o + 1 >= size)
                                break;
                        buf[o++] = '?';
                        used++;
                        p++;
                        continue;
                }
                if (used + n > METRICS_LABEL_MAX)
                        break;
                if ((n == 1 && (*p < 0x20 || *p == 0x7f)) || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
                        /* Control characters (C0, DEL, C1) never reach the file. */
                        used += n;
                        p += n;
                        continue;
                }
                if (n == 1 && (*p == '\\' || *p == '"')) {
                        if (o + 2 >= size)
                                break;
                        buf[o++] = '\\';
                } else if (o + n >= size)
                        break;
                memcpy(buf + o, p, n);
                o += n;
                used += n;
                p += n;
        }
        buf[o] = '\0';
        return buf;
}

/* The worst state of every result named NAME, as the monitoring-plugin status. */
static int worst_of_name(const struct check_list *l, const char *name) {
        enum check_state worst = CHECK_OK;

        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].name, name) && l->items[i].state > worst)
                        worst = l->items[i].state;
        return check_state_to_plugin_status(worst);
}

static bool seen_before(const struct check_list *l, size_t i) {
        for (size_t j = 0; j < i; j++)
                if (streq(l->items[j].name, l->items[i].name))
                        return true;
        return false;
}

static void header(FILE *f, const char *name, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void gauge_u64(FILE *f, const char *name, const char *help, uint64_t v) {
        header(f, name, help);
        fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void gauge_double(FILE *f, const char *name, const char *help, double v) {
        header(f, name, help);
        fprintf(f, "%s %.6f\n", name, v);
}

/* Each check's state, the worst, and the info series. */
static void write_states(FILE *f, const struct metrics_input *in) {
        const struct check_list *l = in->checks;
        char label[METRICS_LABEL_MAX * 2 + 8];

        header(f, "dind_cache_check_state",
               "State of each check of the last run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.");
        for (size_t i = 0; i < l->n; i++) {
                if (seen_before(l, i))
                        continue;
                fprintf(f, "dind_cache_check_state{check=\"%s\"} %d\n",
                        metrics_label_escape(l->items[i].name, label, sizeof(label)),
                        worst_of_name(l, l->items[i].name));
        }
        header(f, "dind_cache_state",
               "Worst state of the last run, its exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.");
        fprintf(f, "dind_cache_state %d\n", check_state_to_plugin_status(check_list_worst(l)));

        if (in->data_dir) {
                header(f, "dind_cache_info", "The data directory the checker looks at (always 1).");
                fprintf(f, "dind_cache_info{data_dir=\"%s\"", metrics_label_escape(in->data_dir, label, sizeof(label)));
                if (in->instance)
                        fprintf(f, ",dind_instance=\"%s\"", metrics_label_escape(in->instance, label, sizeof(label)));
                fputs("} 1\n", f);
        }
}

/* The data directory's filesystem and the thresholds its use is held to. */
static void write_disk(FILE *f, const struct metrics_input *in) {
        const struct health_figures *fig = in->figures;

        if (fig && fig->disk_known) {
                gauge_u64(f, "dind_cache_disk_size_bytes", "Size of the data directory's filesystem.",
                          fig->disk_size);
                gauge_u64(f, "dind_cache_disk_used_bytes", "Bytes used on the data directory's filesystem.",
                          fig->disk_used);
                gauge_u64(f, "dind_cache_disk_available_bytes",
                          "Bytes available to unprivileged users on the data directory's filesystem.",
                          fig->disk_available);
                if (fig->inodes > 0) {
                        gauge_u64(f, "dind_cache_disk_inodes", "Inodes of the data directory's filesystem.",
                                  fig->inodes);
                        gauge_u64(f, "dind_cache_disk_inodes_free",
                                  "Free inodes of the data directory's filesystem.", fig->inodes_free);
                }
        }
        if (in->disk_warn > 0 && in->disk_crit > 0) {
                gauge_double(f, "dind_cache_disk_usage_warning_ratio",
                             "Share of the disk used from which the checker warns (DIND_CACHE_DISK_WARN).",
                             in->disk_warn / 100.0);
                gauge_double(f, "dind_cache_disk_usage_critical_ratio",
                             "Share of the disk used from which the checker is CRITICAL (DIND_CACHE_DISK_CRIT).",
                             in->disk_crit / 100.0);
        }
}

/* The daemon's answer and the certificates' expiry. */
static void write_daemon(FILE *f, const struct health_figures *fig) {
        bool any = false;

        if (!fig)
                return;
        if (fig->daemon_up >= 0) {
                gauge_u64(f, "dind_cache_daemon_up", "1 when the Docker daemon answered /_ping, else 0.",
                          (uint64_t) fig->daemon_up);
                if (fig->daemon_up > 0)
                        gauge_double(f, "dind_cache_daemon_round_trip_seconds",
                                     "Round trip of the daemon's /_ping.", (double) fig->round_trip_usec / 1e6);
        }
        for (size_t i = 0; i < ELEMENTSOF(fig->cert_not_after); i++) {
                if (fig->cert_not_after[i] <= 0)
                        continue;
                if (!any)
                        header(f, "dind_cache_certificate_expiry_timestamp_seconds",
                               "When each certificate of the node's PKI expires (notAfter), in Unix time.");
                any = true;
                fprintf(f, "dind_cache_certificate_expiry_timestamp_seconds{certificate=\"%s\"} %" PRId64 "\n",
                        health_cert_names[i], fig->cert_not_after[i]);
        }
}

static void counter_u64(FILE *f, const char *name, const char *help, uint64_t v) {
        fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name, name, v);
}

/* The caches' figures (check/health-cache.c), each group only when it was read. */
static void write_caches(FILE *f, const struct health_figures *fig) {
        if (!fig)
                return;
        if (fig->cache_known) {
                gauge_u64(f, "dind_cache_build_cache_records", "Records of the daemon's build cache.",
                          fig->cache_records);
                gauge_u64(f, "dind_cache_build_cache_bytes",
                          "Bytes of the build cache's records not shared with an image (as docker system df).",
                          fig->cache_bytes);
                gauge_u64(f, "dind_cache_build_cache_reclaimable_bytes",
                          "Of those, the bytes of records no build uses now.", fig->cache_reclaimable);
                gauge_u64(f, "dind_cache_build_cache_read_timestamp_seconds",
                          "When the build cache figures were read (a big cache is read now and then).",
                          (uint64_t) fig->cache_read_at);
        }
        if (fig->reuses_known)
                counter_u64(f, "dind_cache_build_cache_reuses_total",
                            "Build steps served from the build cache (CACHED), kept across runs and evictions.",
                            fig->cache_reuses_total);
        if (fig->images_known) {
                gauge_u64(f, "dind_cache_images", "Images in the daemon's image list.", fig->images);
                gauge_u64(f, "dind_cache_image_bytes",
                          "Sum of the images' sizes (a layer two images share counts for each).", fig->image_bytes);
        }
}

int metrics_text(const struct metrics_input *in, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        write_states(f, in);
        write_disk(f, in);
        write_daemon(f, in->figures);
        write_caches(f, in->figures);
        gauge_double(f, "dind_cache_last_run_timestamp_seconds", "When the last check ran, in Unix time.",
                     (double) in->timestamp_usec / 1e6);

        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int metrics_textfile_dir(const char *env_value, const char *default_dir, char **ret) {
        const char *dir = env_value;
        struct stat st;
        char *copy;

        if (env_value) {
                if (env_value[0] == '\0')
                        return 0;
                if (env_value[0] != '/')
                        return -EINVAL;
                if (stat(env_value, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
        } else {
                if (!default_dir || stat(default_dir, &st) < 0 || !S_ISDIR(st.st_mode))
                        return 0;
                dir = default_dir;
        }
        copy = strdup(dir);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 1;
}

int metrics_write(const char *dir, const char *text) {
        return metrics_write_named(dir, METRICS_FILE_NAME, text);
}

int metrics_write_named(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = NULL;
        size_t n = name ? strlen(name) : 0;
        struct stat st;
        int r;

        if (isempty(dir) || dir[0] != '/' || !text || n <= strlen(".prom") || strchr(name, '/') ||
            strncmp(name, "dind_cache", strlen("dind_cache")) != 0 || !streq(name + n - strlen(".prom"), ".prom"))
                return -EINVAL;
        /* Never create the directory: its existence is what turns metrics on. */
        if (stat(dir, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        path = strdup_printf("%s/%s", dir, name);
        if (!path)
                return -ENOMEM;
        r = write_file_atomic(path, text, strlen(text), 0644);
        return r < 0 ? r : 0;
}
