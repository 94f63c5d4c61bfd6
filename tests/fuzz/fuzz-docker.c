/* SPDX-License-Identifier: MIT */
/* docker/docker.h and the daemon verdict of check/health-daemon.c: any /info and
 * /version body (the input, split at "\n---8<---\n") is parsed without crashing or
 * leaking, and the storage-driver verdict follows the rules; any DOCKER_HOST value (the
 * input's first line) gives a usable URL or -EINVAL. */
#include <errno.h>
#include <jansson.h>

#include "fuzz.h"
/* The verdict (check_driver) is static: the harness includes its source (and the
 * Makefile leaves that object out of this harness's link). */
#include "check/health-daemon.c"

static const char *const fs_types[] = { NULL, "xfs", "ext4", "btrfs", "tmpfs" };

static void driver_verdict(const struct docker_info *info, const char *fs_type) {
        struct check_list l = {};
        const struct check_result *res;
        const char *want = docker_fs_name(fs_type);
        bool overlay = streq(info->driver, "overlay2") || (streq(info->driver, "overlayfs") && info->containerd_store);
        enum check_state expect;
        char *summary;

        FUZZ_ASSERT(check_driver(info, fs_type, &l) == 0);
        FUZZ_ASSERT(l.n == 1);
        res = check_list_find(&l, "storage_driver");
        FUZZ_ASSERT(res && res->message && streq(res->value, info->driver));
        if (streq(info->driver, "vfs"))
                expect = CHECK_FAIL;
        else if (!overlay)
                expect = CHECK_WARN;
        else if (info->supports_d_type == 0)
                expect = CHECK_FAIL;
        else if (info->backing_fs && want && !streq(info->backing_fs, want))
                expect = CHECK_FAIL;
        else
                expect = CHECK_OK;
        FUZZ_ASSERT(res->state == expect);
        /* issue 11 item 4: the daemon's strings reach the message uncleaned and uncapped;
         * no assertion on the message's characters until that lands. */
        summary = health_summary(&l);
        FUZZ_ASSERT(summary);
        free(summary);
        check_list_done(&l);
}

static void docker_host(const char *text) {
        char *url = NULL, *socket_path = NULL;
        int r = docker_host_parse(text, &url, &socket_path);

        FUZZ_ASSERT(r == 0 || r == -EINVAL);
        if (r < 0) {
                FUZZ_ASSERT(!url && !socket_path);
                return;
        }
        FUZZ_ASSERT(url && strncmp(url, "http://", 7) == 0);
        FUZZ_ASSERT(fuzz_no_control(url, NULL) && !strchr(url, ' '));
        if (strncmp(text, "unix://", 7) == 0)
                FUZZ_ASSERT(socket_path && socket_path[0] == '/' && strlen(socket_path) < 108);
        else
                FUZZ_ASSERT(!socket_path && strncmp(text, "tcp://", 6) == 0);
        /* issue 11 item 13: "tcp://[1]:2375" passes; the host's form is not asserted. */
        free(url);
        free(socket_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *a, *b;
        size_t a_size, b_size;
        struct docker_info info = {};
        struct docker_version version = {};
        char *line;
        int r;

        fuzz_split(data, size, &a, &a_size, &b, &b_size);

        r = docker_info_parse((const char *) a, a_size, &info);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        if (r == 0) {
                FUZZ_ASSERT(info.driver);
                FUZZ_ASSERT(info.supports_d_type >= -1 && info.supports_d_type <= 1);
                FUZZ_ASSERT(!info.containerd_store || info.driver_type);
                for (size_t i = 0; i < ELEMENTSOF(fs_types); i++)
                        driver_verdict(&info, fs_types[i]);
                docker_info_done(&info);
        }

        r = docker_version_parse((const char *) b, b_size, &version);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        if (r == 0) {
                FUZZ_ASSERT(version.api_version);
                docker_version_done(&version);
        }

        {
                const uint8_t *nl = memchr(data, '\n', size);
                line = fuzz_strndup(data, nl ? (size_t) (nl - data) : size);
        }
        docker_host(line);
        free(line);
        return 0;
}
