/* SPDX-License-Identifier: MIT */
/* yaml_dump() of the JSON document on standard input, for the integration tests to read
 * back with other YAML readers (PyYAML's YAML 1.1 resolver). */
#include <stdio.h>
#include <jansson.h>

#include "kube/yaml.h"
#include "base/util.h"

int main(void) {
        json_error_t error;
        json_t *doc = json_loadf(stdin, JSON_ALLOW_NUL, &error);
        char *text = NULL;

        if (!doc) {
                fprintf(stderr, "yaml-dump: %s\n", error.text);
                return 1;
        }
        if (yaml_dump(doc, &text) < 0) {
                fprintf(stderr, "yaml-dump: cannot dump\n");
                return 1;
        }
        fputs(text, stdout);
        free(text);
        json_decref(doc);
        return fflush(stdout) == 0 ? 0 : 1;
}
