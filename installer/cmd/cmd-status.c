/* SPDX-License-Identifier: MIT */
/* dind-cache status: the checker's timer, its last run read back from the journal,
 * a live look at the data directory's disk use, and what the checker keeps of the
 * build cache (cmd-status-cache.c). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "systemd/checker-units.h"
#include "systemd/journal-prune.h"
#include "systemd/prune-units.h"
#include "cmd/cmd.h"
#include "disk/disk.h"
#include "check/health.h"
#include "cmd/install.h"
#include "systemd/journal-read.h"
#include "base/json-util.h"
#include "base/log.h"
#include "check/report.h"
#include "systemd/units.h"
#include "systemd/envfile.h"
#include "cmd/status.h"
#include "base/text.h"
#include "kube/instance.h"
#include "kube/validate.h"

static bool arg_json = false;
static char *arg_data_dir = NULL;
static char *arg_kubeconfig = NULL;
static char *arg_context = NULL;
static char *arg_namespace = (char *) DEFAULT_NAMESPACE;
static char *arg_instance = NULL;
static char *arg_state_dir = (char *) SETTINGS_STATE_DIR;

static void help(void) {
        printf("Usage: dind-cache status [OPTIONS]\n"
               "\n"
               "Shows the checker's timer and next run, the last check's results as logged to\n"
               "the journal, the data directory's disk use now, the build cache as the checker\n"
               "last read it (records, bytes, reuses in the last hour and day, the most reused\n"
               "steps, builds per tenant); and every member of the ConfigMap\n"
               INSTANCE_MEMBERS_CONFIGMAP " (name, node, address, ready), when the cluster can\n"
               "be reached with a kubeconfig.\n"
               "\n"
               "Options:\n"
               "  --data-dir PATH   the data directory to look at (default: the one the last\n"
               "                    check reported, else " SETTINGS_DEFAULT_DATA_DIR ")\n"
               "  --kubeconfig FILE kubeconfig (default: $KUBECONFIG, ~/.kube/config,\n"
               "                    /etc/kubernetes/admin.conf)\n"
               "  --context NAME    kubeconfig context (default: current-context)\n"
               "  --namespace NS    namespace of the caches (default " DEFAULT_NAMESPACE ")\n"
               "  --instance NAME   this node's instance, marked in the list (default: the\n"
               "                    env file's DIND_CACHE_INSTANCE)\n"
               "  --state-dir DIR   where the checker keeps its state (default " SETTINGS_STATE_DIR ")\n"
               "  --json            print a JSON document\n"
               "  -h, --help        show this help\n"
               "\n"
               "Exit status, as a monitoring plugin: the last check's state, 0 OK, 1 WARNING,\n"
               "2 CRITICAL, 3 UNKNOWN (no check logged yet, or a usage error). While the timer is\n"
               "not active the state is at least WARNING: the last result is getting old.\n");
}

static int parse_argv(int argc, char **argv) {
        enum { ARG_JSON = 0x100, ARG_DATA_DIR, ARG_KUBECONFIG, ARG_CONTEXT, ARG_NAMESPACE, ARG_INSTANCE,
               ARG_STATE_DIR };
        static const struct option options[] = {
                { "json", no_argument, NULL, ARG_JSON },
                { "kubeconfig", required_argument, NULL, ARG_KUBECONFIG },
                { "context", required_argument, NULL, ARG_CONTEXT },
                { "namespace", required_argument, NULL, ARG_NAMESPACE },
                { "instance", required_argument, NULL, ARG_INSTANCE },
                { "data-dir", required_argument, NULL, ARG_DATA_DIR },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_KUBECONFIG:
                        arg_kubeconfig = optarg;
                        break;
                case ARG_CONTEXT:
                        arg_context = optarg;
                        break;
                case ARG_NAMESPACE:
                case ARG_INSTANCE: {
                        _cleanup_free_ char *why = NULL, *shown = NULL;
                        int r = c == ARG_NAMESPACE ? validate_dns_label(optarg, &why) : instance_validate(optarg, &why);
                        if (r < 0) {
                                shown = text_escape(optarg, 128);
                                fprintf(stderr, "dind-cache status: invalid value for %s: '%s': %s\n"
                                        "Try 'dind-cache status --help'.\n", c == ARG_NAMESPACE ? "--namespace" :
                                        "--instance", shown ?: "?", why ?: "refused");
                                return -EINVAL;
                        }
                        if (c == ARG_NAMESPACE)
                                arg_namespace = optarg;
                        else
                                arg_instance = optarg;
                        break;
                }
                case ARG_DATA_DIR:
                case ARG_STATE_DIR:
                        if (optarg[0] != '/') {
                                _cleanup_free_ char *shown = text_escape(optarg, 128);
                                fprintf(stderr, "dind-cache status: invalid value for %s: '%s' (an absolute path is needed)\n"
                                        "Try 'dind-cache status --help'.\n", c == ARG_DATA_DIR ? "--data-dir" :
                                        "--state-dir", shown ?: "?");
                                return -EINVAL;
                        }
                        if (c == ARG_DATA_DIR)
                                arg_data_dir = optarg;
                        else
                                arg_state_dir = optarg;
                        break;
                case ':':
                        fprintf(stderr, "dind-cache status: option '%s' needs a value\nTry 'dind-cache status --help'.\n",
                                argv[optind - 1]);
                        return -EINVAL;
                default:
                        fprintf(stderr, "dind-cache status: unknown option '%s'\nTry 'dind-cache status --help'.\n",
                                argv[optind - 1]);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "dind-cache status: unexpected argument '%s'\nTry 'dind-cache status --help'.\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

struct status {
        bool have_timer;            /* systemd answered */
        struct unit_state timer;
        uint64_t next_run;          /* realtime usec, 0 none */
        bool have_prune_timer;
        struct unit_state prune_timer;
        uint64_t prune_next_run;
        int prune_found;            /* 1 found, 0 none, <0 error */
        struct journal_prune_run prune;
        int run_found;              /* 1 found, 0 none, <0 error */
        struct journal_run run;
        int disk_r;                 /* 0 facts read, <0 error */
        struct disk_facts disk;
        const char *data_dir;
        enum check_state state;
        struct status_members members;
        char *instance;             /* this node's: --instance, else the env file's */
        struct status_cache cache;
};

static void status_done(struct status *s) {
        unit_state_done(&s->timer);
        unit_state_done(&s->prune_timer);
        journal_prune_run_done(&s->prune);
        journal_run_done(&s->run);
        disk_facts_done(&s->disk);
        status_members_done(&s->members);
        status_cache_done(&s->cache);
        free(s->instance);
}

static int percent(uint64_t used, uint64_t total) {
        return total == 0 ? 0 : percent_used(used, total - used);
}

static void gather(struct status *s) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (sd_booted() > 0 && systemd_connect(&bus) >= 0) {
                r = systemd_unit_state(bus, CHECKER_TIMER, &s->timer);
                s->have_timer = r >= 0;
                if (r < 0)
                        log_warning_errno(r, "cannot read the state of '%s': %m", CHECKER_TIMER);
                else if (streq(s->timer.active_state, "active"))
                        (void) systemd_timer_next_elapse(bus, CHECKER_TIMER, &s->next_run);
                r = systemd_unit_state(bus, PRUNE_TIMER, &s->prune_timer);
                s->have_prune_timer = r >= 0;
                if (r < 0)
                        log_warning_errno(r, "cannot read the state of '%s': %m", PRUNE_TIMER);
                else if (streq(s->prune_timer.active_state, "active"))
                        (void) systemd_timer_next_elapse(bus, PRUNE_TIMER, &s->prune_next_run);
        }
        s->prune_found = journal_read_last_prune(&s->prune);

        s->run_found = journal_read_last_run(0, 0, &s->run);
        if (s->run_found < 0)
                log_warning_errno(s->run_found, "cannot read the journal: %m");
        else if (s->run_found == 0 && geteuid() != 0)
                log_warning("no check found in the journal (reading the system journal needs root or the "
                            "systemd-journal group)");

        s->data_dir = arg_data_dir ? arg_data_dir :
                      s->run_found > 0 && s->run.data_dir && s->run.data_dir[0] == '/' ? s->run.data_dir :
                      SETTINGS_DEFAULT_DATA_DIR;
        s->disk_r = disk_facts_get(s->data_dir, NULL, &s->disk);
        if (status_cache_gather(arg_state_dir, &s->cache) < 0)
                log_warning("out of memory while reading the cache's state");

        if (arg_instance)
                s->instance = strdup(arg_instance);
        else {
                _cleanup_(envfile_done) struct envfile env = {};
                if (envfile_read(SETTINGS_ENV_FILE, &env) >= 0 && !isempty(env.instance))
                        s->instance = text_sanitize(env.instance, strlen(env.instance), 63);
        }
        r = status_members_gather(arg_kubeconfig, arg_context, arg_namespace, &s->members);
        if (r == -ENOMEM)
                log_warning("out of memory while asking the cluster for its members");

        s->state = s->run_found > 0 ? s->run.state : CHECK_UNKNOWN;
        if (s->run_found > 0 && !(s->have_timer && streq(s->timer.active_state, "active")) &&
            s->state < CHECK_WARN)
                s->state = CHECK_WARN;
}

static bool timer_active(const struct status *s) {
        return s->have_timer && streq(s->timer.active_state, "active");
}

static bool is_this_node(const struct status *s, const char *key) {
        return streq(key, s->instance ?: INSTANCE_DEFAULT_KEY);
}

static void print_members_text(const struct status *s) {
        const struct status_members *m = &s->members;

        if (m->error) {
                printf("Members:  %s\n", m->error);
                return;
        }
        printf("Members:  %zu in ConfigMap %s/" INSTANCE_MEMBERS_CONFIGMAP "%s\n", m->n, arg_namespace,
               m->members.truncated ? " (more not shown)" : "");
        for (size_t i = 0; i < m->n; i++) {
                const struct member *e = &m->members.v[i];
                const struct status_member *p = &m->v[i];
                printf("  %-2s%-20s %-20s %-40s %s\n", is_this_node(s, e->key) ? "*" : "", e->key,
                       p->node ?: "-", e->address, p->error ? "unknown (cannot list its pods)" :
                       p->ready ? "ready" : p->pods ? "not ready" : "no pod");
        }
}

static json_t *members_json(const struct status *s) {
        const struct status_members *m = &s->members;
        _cleanup_json_ json_t *a = NULL;

        if (m->error)
                return json_pack("{s:s}", "error", m->error);
        a = json_array();
        if (!a)
                return NULL;
        for (size_t i = 0; i < m->n; i++) {
                const struct member *e = &m->members.v[i];
                const struct status_member *p = &m->v[i];
                json_t *o = json_pack("{s:s, s:s?, s:s, s:b, s:b, s:I, s:b}", "name", e->key, "node", p->node,
                                      "address", e->address, "valid", e->valid, "ready", p->ready,
                                      "pods", (json_int_t) p->pods, "this_node", is_this_node(s, e->key));
                if (!o || json_array_append_new(a, o) < 0)
                        return NULL;
        }
        return json_pack("{s:s, s:O}", "configmap", INSTANCE_MEMBERS_CONFIGMAP, "members", a);
}

static int print_text(const struct status *s) {
        char when[64], size[16], used[16];

        if (!s->have_timer)
                printf("Timer:    %s: systemd is not reachable\n", CHECKER_TIMER);
        else if (streq(s->timer.load_state, "not-found"))
                printf("Timer:    %s is not installed (dind-cache install)\n", CHECKER_TIMER);
        else {
                printf("Timer:    %s %s (%s), %s\n", CHECKER_TIMER, s->timer.active_state, s->timer.sub_state,
                       isempty(s->timer.unit_file_state) ? "static" : s->timer.unit_file_state);
                printf("Next run: %s\n", timer_active(s) ?
                       format_timestamp_unit(s->next_run, when, sizeof(when)) : "none (the timer is not active)");
        }

        if (s->run_found > 0) {
                printf("Last run: %s %s%s%s\n", format_timestamp_unit(s->run.realtime_usec, when, sizeof(when)),
                       check_state_to_plugin_string(s->run.state), s->run.unit ? " by " : " from a shell",
                       s->run.unit ? s->run.unit : "");
                (void) report_print_text(stdout, &s->run.checks);
                if (s->run.summary)
                        printf("%s\n", s->run.summary);
        } else
                printf("Last run: none logged in the journal yet\n");

        if (!s->have_prune_timer)
                printf("Pruner:   %s: systemd is not reachable\n", PRUNE_TIMER);
        else if (streq(s->prune_timer.load_state, "not-found"))
                printf("Pruner:   %s is not installed (dind-cache install)\n", PRUNE_TIMER);
        else
                printf("Pruner:   %s %s (%s), next run %s\n", PRUNE_TIMER, s->prune_timer.active_state,
                       s->prune_timer.sub_state, streq(s->prune_timer.active_state, "active") ?
                       format_timestamp_unit(s->prune_next_run, when, sizeof(when)) : "none");
        if (s->prune_found > 0)
                printf("Last prune: %s %s\n", format_timestamp_unit(s->prune.realtime_usec, when, sizeof(when)),
                       s->prune.message ? s->prune.message : "");
        else
                printf("Last prune: none logged in the journal yet\n");

        if (s->disk_r < 0)
                printf("Disk:     %s: %s\n", s->data_dir, strerror(-s->disk_r));
        else {
                const struct disk_facts *d = &s->disk;
                printf("Disk:     %s %d%% used (%s of %s), inodes %d%% used, %s on %s%s\n", s->data_dir,
                       percent(d->size - d->free, d->size - d->free + d->avail),
                       format_bytes(d->size - d->free, used, sizeof(used)), format_bytes(d->size, size, sizeof(size)),
                       percent(d->inodes - d->inodes_free, d->inodes), d->fs_type ? d->fs_type : "?",
                       d->source ? d->source : "?", d->on_root_fs ? " (the root filesystem: not mounted?)" : "");
        }
        status_cache_print(&s->cache);
        print_members_text(s);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -EIO;
}

static int json_set_new(json_t *o, const char *key, json_t *v) {
        return v && json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

static int print_json(const struct status *s) {
        _cleanup_json_ json_t *doc = json_object(), *timer = NULL, *run = NULL, *disk = NULL;
        char when[64];

        if (!doc)
                return -ENOMEM;
        if (s->have_timer) {
                timer = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:b, s:I, s:I}",
                                  "unit", CHECKER_TIMER, "load_state", s->timer.load_state,
                                  "active_state", s->timer.active_state, "sub_state", s->timer.sub_state,
                                  "unit_file_state", s->timer.unit_file_state, "active", timer_active(s),
                                  "next_run_usec", (json_int_t) s->next_run,
                                  "last_trigger_usec", (json_int_t) s->timer.last_trigger_realtime);
                if (!timer)
                        return -ENOMEM;
                if (s->next_run &&
                    json_set_new(timer, "next_run", json_string(format_timestamp_unit(s->next_run, when, sizeof(when)))) < 0)
                        return -ENOMEM;
        }
        if (s->run_found > 0) {
                run = report_to_json(&s->run.checks);
                if (!run ||
                    json_set_new(run, "result", json_string(check_state_to_plugin_string(s->run.state))) < 0 ||
                    json_set_new(run, "time_usec", json_integer((json_int_t) s->run.realtime_usec)) < 0 ||
                    json_set_new(run, "time", json_string(format_timestamp_unit(s->run.realtime_usec, when, sizeof(when)))) < 0 ||
                    (s->run.run_id && json_set_new(run, "run_id", json_string(s->run.run_id)) < 0) ||
                    (s->run.summary && json_set_new(run, "summary", json_string(s->run.summary)) < 0) ||
                    (s->run.unit && json_set_new(run, "unit", json_string(s->run.unit)) < 0))
                        return -ENOMEM;
        }
        if (s->disk_r >= 0) {
                const struct disk_facts *d = &s->disk;
                disk = json_pack("{s:s, s:s?, s:s?, s:s?, s:b, s:b, s:I, s:I, s:I, s:i, s:I, s:I, s:i}",
                                 "data_dir", s->data_dir, "mount_point", d->mount_point, "source", d->source,
                                 "fs_type", d->fs_type, "read_only", d->read_only, "on_root_fs", d->on_root_fs,
                                 "size", (json_int_t) d->size, "used", (json_int_t) (d->size - d->free),
                                 "avail", (json_int_t) d->avail,
                                 "used_percent", percent(d->size - d->free, d->size - d->free + d->avail),
                                 "inodes", (json_int_t) d->inodes, "inodes_used", (json_int_t) (d->inodes - d->inodes_free),
                                 "inodes_used_percent", percent(d->inodes - d->inodes_free, d->inodes));
        } else
                disk = json_pack("{s:s, s:s}", "data_dir", s->data_dir, "error", strerror(-s->disk_r));
        if (!disk)
                return -ENOMEM;

        json_t *prune = json_pack("{s:s, s:s?, s:s?, s:I, s:s?, s:I}", "unit", PRUNE_TIMER,
                                  "load_state", s->have_prune_timer ? s->prune_timer.load_state : NULL,
                                  "active_state", s->have_prune_timer ? s->prune_timer.active_state : NULL,
                                  "next_run_usec", (json_int_t) s->prune_next_run,
                                  "last_run", s->prune_found > 0 ? s->prune.message : NULL,
                                  "last_run_usec", (json_int_t) (s->prune_found > 0 ? s->prune.realtime_usec : 0));
        if (json_set_new(doc, "result", json_string(check_state_to_plugin_string(s->state))) < 0 ||
            json_object_set(doc, "timer", timer ? timer : json_null()) < 0 ||
            json_object_set(doc, "last_run", run ? run : json_null()) < 0 ||
            json_object_set(doc, "disk", disk) < 0 ||
            json_set_new(doc, "cache", status_cache_json(&s->cache)) < 0 ||
            json_set_new(doc, "cluster", members_json(s)) < 0) {
                json_decref(prune);
                return -ENOMEM;
        }
        if (json_set_new(doc, "prune", prune) < 0)
                return -ENOMEM;
        if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
                return -EIO;
        putchar('\n');
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -EIO;
}

int cmd_status(int argc, char **argv) {
        _cleanup_(status_done) struct status s = { .run = { .state = CHECK_UNKNOWN } };
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_PLUGIN_UNKNOWN : 0;

        gather(&s);
        r = arg_json ? print_json(&s) : print_text(&s);
        if (r < 0) {
                log_error_errno(r, "cannot write the status: %m");
                return EXIT_PLUGIN_UNKNOWN;
        }
        return check_state_to_plugin_status(s.state);
}
