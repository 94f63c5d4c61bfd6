/* SPDX-License-Identifier: MIT */
/* kube/yaml.h: loading any text never crashes, leaks or accepts more than it promises,
 * and what it loads (or any JSON document) survives a dump and a load unchanged. */
#include <errno.h>
#include <jansson.h>

#include "fuzz.h"
#include "kube/yaml.h"

/* yaml_dump() then yaml_load_one() gives back DOC. */
static void round_trip(const json_t *doc) {
        char *text = NULL, *error = NULL;
        json_t *back = NULL;
        int r;

        r = yaml_dump(doc, &text);
        if (r == -EINVAL)       /* nesting deeper than loading accepts: refused, fine */
                return;
        FUZZ_ASSERT(r == 0 && text);
        r = yaml_load_one(text, strlen(text), &back, &error);
        FUZZ_ASSERT(r == 0);
        FUZZ_ASSERT(json_equal(doc, back));
        /* Dumping again gives the same text: the form is stable. */
        {
                char *again = NULL;
                FUZZ_ASSERT(yaml_dump(back, &again) == 0);
                FUZZ_ASSERT(strcmp(text, again) == 0);
                free(again);
        }
        json_decref(back);
        free(text);
        free(error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size), *error = NULL;
        json_t *docs = NULL, *doc, *one = NULL;
        size_t i;
        int r;

        r = yaml_load_all(text, size, &docs, &error);
        FUZZ_ASSERT(r == 0 || r == -EINVAL);
        if (r == 0) {
                FUZZ_ASSERT(json_is_array(docs));
                json_array_foreach(docs, i, doc)
                        round_trip(doc);
                /* yaml_load_one() agrees with yaml_load_all() on one document. */
                free(error);
                error = NULL;
                r = yaml_load_one(text, size, &one, &error);
                FUZZ_ASSERT((r == 0) == (json_array_size(docs) == 1));
                if (r == 0)
                        FUZZ_ASSERT(json_equal(one, json_array_get(docs, 0)));
                json_decref(one);
        } else if (error)
                /* The message locates the fault and is one short clean line (it quotes the
                 * input capped: found here, see tests/unit/kube/test-yaml.c). */
                FUZZ_ASSERT(fuzz_no_control(error, NULL) && strlen(error) < 512);
        json_decref(docs);
        free(error);

        /* The same bytes as JSON (any value): dump and load give it back. */
        doc = json_loadb(text, size, JSON_DECODE_ANY, NULL);
        if (doc && !json_is_null(doc))  /* a null document is skipped on load, as kubectl does */
                round_trip(doc);
        json_decref(doc);
        free(text);
        return 0;
}
