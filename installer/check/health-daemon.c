/* SPDX-License-Identifier: MIT */
/* The daemon checks of health.h: /_ping with its round trip, the storage driver from
 * /info (and whether the daemon names the authorization plugin there, for
 * health-authz.c), the version from /version. */
#include <errno.h>
#include <string.h>

#include "docker/docker.h"
#include "check/health-private.h"
#include "check/health.h"
#include "base/message-ids.h"

#define REMEDY_DAEMON "look at the docker-dind pod (kubectl -n kube-ops get pods; kubectl -n kube-ops logs deploy/docker-dind)"
#define REMEDY_TLS "run dind-cache install again: it re-issues certificates that do not verify or no longer name the Service, and updates the Secrets (--renew-certs forces it)"
#define REMEDY_PLAINTEXT "run dind-cache install again without --plaintext: mutual TLS on 2376"
#define REMEDY_DRIVER "start the daemon with --storage-driver=overlay2 on the cache disk (DOCKER_DRIVER=overlay2), then restart the pod"

/* Docker's name of a filesystem type (graphdriver's FsNames) for a mountinfo type. */
static const char *docker_fs_name(const char *fs_type) {
        if (streq(fs_type, "ext2") || streq(fs_type, "ext3") || streq(fs_type, "ext4"))
                return "extfs";
        return fs_type;
}

void health_error_text(int r, const struct docker_client *c, uint64_t timeout, char *buf, size_t size) {
        char t[32];

        if (r == -ETIMEDOUT)
                snprintf(buf, size, "no answer within %s", format_duration(timeout, t, sizeof(t)));
        else if (!isempty(docker_client_last_error(c)))
                snprintf(buf, size, "%s", docker_client_last_error(c));
        else
                snprintf(buf, size, "%s", strerror(-r));
}

static int check_driver(const struct docker_info *info, const char *fs_type, struct check_list *l) {
        const char *want_fs = docker_fs_name(fs_type);
        struct check_result *r;
        bool overlay = streq(info->driver, "overlay2") || (streq(info->driver, "overlayfs") && info->containerd_store);

        if (streq(info->driver, "vfs"))
                r = health_add(l, "storage_driver", CHECK_FAIL, MID_DRIVER_VFS, REMEDY_DRIVER,
                               "the daemon uses the vfs storage driver: every layer is a full copy, "
                               "builds are slow and the disk fills");
        else if (!overlay)
                r = health_add(l, "storage_driver", CHECK_WARN, MID_DRIVER_UNEXPECTED, REMEDY_DRIVER,
                               "the daemon uses the %s storage driver, not overlay2", info->driver);
        else if (info->supports_d_type == 0)
                r = health_add(l, "storage_driver", CHECK_FAIL, MID_DAEMON_DTYPE_MISSING,
                               "recreate the filesystem with d_type (mkfs.xfs -n ftype=1)",
                               "the daemon reports no d_type support for %s", info->driver);
        else if (info->backing_fs && want_fs && !streq(info->backing_fs, want_fs))
                r = health_add(l, "storage_driver", CHECK_FAIL, MID_BACKING_FS_MISMATCH,
                               "mount the cache disk before the daemon starts, then restart the docker-dind pod",
                               "the daemon's %s is backed by %s, not by the cache disk's %s: it does not "
                               "store its layers on the cache disk", info->driver, info->backing_fs, want_fs);
        else
                r = health_add(l, "storage_driver", CHECK_OK, MID_DRIVER_OK, NULL, "%s%s%s%s",
                               info->driver, info->containerd_store ? " (containerd image store)" : "",
                               info->backing_fs ? " on " : "", info->backing_fs ? info->backing_fs : "");
        if (!r || check_result_set_value(r, "%s", info->driver) < 0)
                return -ENOMEM;
        return 0;
}

int health_next_call(struct docker_client *c, const struct node_settings *s, uint64_t deadline,
                     const char *name, struct check_list *l, uint64_t *ret_timeout) {
        if (health_time_left(deadline) == 0)
                return health_add_deadline_passed(l, name, s->deadline_usec) < 0 ? -ENOMEM : 1;
        *ret_timeout = health_call_timeout(s->timeout_usec, deadline);
        docker_client_set_timeout(c, *ret_timeout);
        return 0;
}

int health_check_daemon(const struct node_settings *s, const char *data_dir_fs_type,
                        uint64_t deadline, struct check_list *l) {
        return health_check_daemon_figures(s, data_dir_fs_type, deadline, l, NULL);
}

/* A client of S's daemon, with mutual TLS when S says so: 0 with *RET set, 1 when it
 * could not be made (said as a result in L), -ENOMEM. */
static int connect_daemon(const struct node_settings *s, struct check_list *l, struct docker_client **ret) {
        _cleanup_(docker_client_freep) struct docker_client *c = NULL;
        _cleanup_free_ char *bad_file = NULL;
        const char *host = s->docker_host.text;
        int r;

        r = docker_client_new(&s->docker_host, &c);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return health_add(l, "daemon", CHECK_UNKNOWN, MID_CHECK_ERROR, NULL,
                                  "cannot talk to DOCKER_HOST='%s': %s", host, strerror(-r)) ? 1 : -ENOMEM;
        if (s->tls_verify) {
                r = docker_client_set_tls(c, s->cert_path, &bad_file);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && bad_file)
                        return health_add(l, "tls", CHECK_UNKNOWN, MID_SETTINGS_INVALID,
                                          "DOCKER_CERT_PATH must hold ca.pem, cert.pem and key.pem as regular files "
                                          "(install writes them)",
                                          "cannot read '%s': %s", bad_file, file_error_to_string(r)) ? 1 : -ENOMEM;
                if (r < 0)
                        return health_add(l, "tls", CHECK_UNKNOWN, MID_SETTINGS_INVALID,
                                          "DOCKER_TLS_VERIFY needs a tcp:// DOCKER_HOST",
                                          "cannot use TLS with DOCKER_HOST='%s': %s", host, strerror(-r)) ? 1 : -ENOMEM;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* The daemon did not answer /_ping (error R): a TLS failure names its reason. */
static int ping_failed(const struct node_settings *s, const struct docker_client *c, int r, uint64_t timeout,
                       struct check_list *l) {
        const char *reason = s->tls_verify ? docker_tls_failure_reason(docker_client_last_error(c)) : NULL;
        struct check_result *res;
        char why[320];

        health_error_text(r, c, timeout, why, sizeof(why));
        if (reason) {
                res = health_add(l, "tls", CHECK_FAIL, MID_TLS_FAILED, REMEDY_TLS,
                                 "TLS handshake with the daemon at %s failed: %s (%s)", s->docker_host.text,
                                 reason, why);
                return res && check_result_set_value(res, "%s", reason) >= 0 ? 0 : -ENOMEM;
        }
        return health_add(l, "daemon", CHECK_FAIL, MID_DAEMON_UNREACHABLE, REMEDY_DAEMON,
                          "daemon at %s does not answer: %s", s->docker_host.text, why) ? 0 : -ENOMEM;
}

/* The daemon answered /_ping in RTT: the transport (TLS, plain TCP, or a unix socket,
 * which has no network and needs no TLS) and the round trip. */
static int ping_answered(const struct node_settings *s, uint64_t rtt, struct check_list *l) {
        const char *host = s->docker_host.text;
        struct check_result *res;
        char lat[16];

        if (s->tls_verify) {
                if (!health_add(l, "tls", CHECK_OK, MID_TLS_OK, NULL, "mutual TLS with the daemon at %s: its "
                                "certificate verified (CA and name), ours accepted", host))
                        return -ENOMEM;
        } else if (s->docker_host.kind == DOCKER_HOST_TCP) {
                if (!health_add(l, "tls", CHECK_WARN, MID_TLS_PLAINTEXT, REMEDY_PLAINTEXT,
                                "the daemon at %s is reached WITHOUT TLS: whoever reaches it is root on the node",
                                host))
                        return -ENOMEM;
        }
        health_format_latency(rtt, lat, sizeof(lat));
        res = health_add(l, "daemon", CHECK_OK, MID_DAEMON_OK, NULL, "daemon at %s answered /_ping in %s", host, lat);
        if (!res || check_result_set_value(res, "%s", lat) < 0)
                return -ENOMEM;
        return 0;
}

/* /_ping: 0 answered, 1 not (said in L: the checks after it are left out), -ENOMEM. */
static int check_ping(struct docker_client *c, const struct node_settings *s, uint64_t deadline,
                      struct check_list *l, struct health_figures *fig) {
        uint64_t rtt = 0, timeout = 0;
        int r;

        r = health_next_call(c, s, deadline, "daemon", l, &timeout);
        if (r != 0)
                return r;
        r = docker_ping(c, &rtt);
        if (r == -ENOMEM)
                return r;
        if (fig)
                fig->daemon_up = r >= 0;
        if (r < 0)
                return ping_failed(s, c, r, timeout, l) < 0 ? -ENOMEM : 1;
        if (fig)
                fig->round_trip_usec = rtt;
        return ping_answered(s, rtt, l);
}

/* /info: the storage driver on the cache disk's filesystem FS_TYPE; into FIG (or NULL)
 * whether the daemon runs with the authorization plugin (the authz check judges it). 1:
 * the deadline passed. */
static int check_info(struct docker_client *c, const struct node_settings *s, const char *fs_type,
                      uint64_t deadline, struct check_list *l, struct health_figures *fig) {
        _cleanup_(docker_info_done) struct docker_info info = { .supports_d_type = -1 };
        uint64_t timeout = 0;
        char why[320];
        int r;

        r = health_next_call(c, s, deadline, "storage_driver", l, &timeout);
        if (r != 0)
                return r;
        r = docker_get_info(c, &info);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && fig) {
                fig->plugins_known = true;
                fig->authz_listed = strv_contains(info.authz_plugins, HEALTH_AUTHZ_PLUGIN);
        }
        if (r >= 0)
                return check_driver(&info, fs_type, l);
        health_error_text(r, c, timeout, why, sizeof(why));
        return health_add(l, "storage_driver", r == -EBADMSG ? CHECK_UNKNOWN : CHECK_FAIL, MID_INFO_FAILED,
                          REMEDY_DAEMON, "cannot read the daemon's storage driver: %s", why) ? 0 : -ENOMEM;
}

/* /version; RET_API (16 bytes) its API version, "" when unknown. */
static int check_version(struct docker_client *c, const struct node_settings *s, uint64_t deadline,
                         struct check_list *l, char *ret_api) {
        _cleanup_(docker_version_done) struct docker_version version = {};
        struct check_result *res;
        uint64_t timeout = 0;
        char why[320];
        int r;

        r = health_next_call(c, s, deadline, "daemon_version", l, &timeout);
        if (r != 0)
                return r < 0 ? r : 0;
        r = docker_get_version(c, &version);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                health_error_text(r, c, timeout, why, sizeof(why));
                return health_add(l, "daemon_version", CHECK_WARN, MID_VERSION_FAILED, REMEDY_DAEMON,
                                  "cannot read the daemon's version: %s", why) ? 0 : -ENOMEM;
        }
        snprintf(ret_api, 16, "%s", version.api_version);
        res = health_add(l, "daemon_version", CHECK_OK, MID_VERSION_OK, NULL, "Docker %s, API %s",
                         version.version ? version.version : "?", version.api_version);
        return res ? check_result_set_value(res, "%s", version.api_version) : -ENOMEM;
}

int health_check_daemon_figures(const struct node_settings *s, const char *data_dir_fs_type,
                                uint64_t deadline, struct check_list *l, struct health_figures *fig) {
        _cleanup_(docker_client_freep) struct docker_client *c = NULL;
        char api[16] = "";
        int r;

        if (s->docker_host.kind == DOCKER_HOST_UNSET)
                return health_add(l, "daemon", CHECK_WARN, MID_DAEMON_NOT_CONFIGURED,
                                  "run dind-cache install, or set DOCKER_HOST=tcp://HOST:2376 with DOCKER_TLS_VERIFY=1",
                                  "daemon not checked: DOCKER_HOST is not set (install writes it to "
                                  SETTINGS_ENV_FILE ")") ? 0 : -ENOMEM;
        r = connect_daemon(s, l, &c);
        if (r == 0)
                r = check_ping(c, s, deadline, l, fig);
        if (r == 0)
                r = check_info(c, s, data_dir_fs_type, deadline, l, fig);
        if (r == 0)
                r = check_version(c, s, deadline, l, api);
        if (r == 0)
                r = health_check_cache(c, s, api[0] ? api : NULL, deadline, l, fig);
        return r < 0 ? r : 0;
}
