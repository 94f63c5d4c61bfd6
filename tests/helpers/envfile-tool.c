/* SPDX-License-Identifier: MIT */
/* The library's env-file reader and writer, for the integration tests to hold against
 * systemd's own parser:
 *     envfile-tool read FILE              our keys as systemd would set them, JSON
 *                                         (null: unset); exit 2 when the file is refused
 *     envfile-tool write FILE DOCKER_HOST  install's update of FILE (DOCKER_HOST set)
 * A refusal says why on stderr, naming the line when the library explains it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "systemd/envfile.h"
#include "base/util.h"

static int refused(const char *verb, const char *path, int r) {
        char *why = r == -EBADMSG ? envfile_explain_file(path) : NULL;

        fprintf(stderr, "cannot %s '%s': %s\n", verb, path, why ?: strerror(-r));
        free(why);
        return 2;
}

int main(int argc, char **argv) {
        struct envfile e = {};
        json_t *o;
        char *s;
        int r;

        if (argc == 4 && streq(argv[1], "write")) {
                e.docker_host = argv[3];
                r = envfile_write(argv[2], &e);
                return r < 0 ? refused("write", argv[2], r) : 0;
        }
        if (argc != 3 || !streq(argv[1], "read")) {
                fprintf(stderr, "usage: envfile-tool read FILE | write FILE DOCKER_HOST\n");
                return 1;
        }
        r = envfile_read(argv[2], &e);
        if (r < 0)
                return refused("read", argv[2], r);
        o = json_pack("{s:s?, s:s?, s:s?}", "DOCKER_HOST", e.docker_host,
                      "DIND_CACHE_DATA_DIR", e.data_dir, "DIND_CACHE_NODE", e.node);
        s = o ? json_dumps(o, JSON_SORT_KEYS) : NULL;
        if (!s)
                return 1;
        puts(s);
        free(s);
        json_decref(o);
        envfile_done(&e);
        return 0;
}
