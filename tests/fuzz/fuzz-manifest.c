/* SPDX-License-Identifier: MIT */
/* kube/manifest.h: manifest_apply_params() with any parameters either refuses them
 * (-EINVAL, with one printable line saying why, whatever a value held: never -ENOMEM
 * for a value the objects cannot hold) or gives objects that carry them. It refuses
 * exactly when one parameter is invalid: each name by its validator (kube/validate.h,
 * itself held to the API server's rules by fuzz-validate), a data directory or
 * registry mirror that is not printable UTF-8, not absolute, not http(s); an MTU out
 * of 68..65535; a prune-after under 1 s. The same parameters give the same objects.
 *
 * Input: lines KEY=VALUE (namespace, allow (repeated), node, data_dir, image,
 * registry_mirror, schedule, instance, mtu, capacity, prune_after, plaintext); in a
 * value the byte 0x1f stands for a newline. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "fuzz.h"
#include "base/json-util.h"
#include "kube/instance.h"
#include "kube/manifest.h"
#include "kube/validate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

#define ERROR_MAX 4096
#define MAX_ALLOW 4

static json_t *loaded;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (manifest_load(&loaded, NULL) < 0)
                abort();
        return 0;
}

struct input {
        struct manifest_params p;
        char *allow[MAX_ALLOW + 1];
        size_t n_allow;
};

static void set(const char **field, char *value) {
        *field = value;
}

static uint64_t number(const char *s) {
        uint64_t v = 0;
        for (; *s >= '0' && *s <= '9'; s++)
                v = v * 10 + (uint64_t) (*s - '0');     /* wraps: any uint64 */
        return v;
}

/* Splits TEXT (changed in place) into the parameters; values point into TEXT. */
static void parse_input(char *text, struct input *in) {
        for (char *line = text, *next; line; line = next) {
                char *eq;
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                eq = strchr(line, '=');
                if (!eq)
                        continue;
                *eq++ = '\0';
                for (char *c = eq; *c; c++)
                        if (*c == 0x1f)
                                *c = '\n';
                if (!strcmp(line, "namespace"))
                        set(&in->p.namespace_, eq);
                else if (!strcmp(line, "node"))
                        set(&in->p.node, eq);
                else if (!strcmp(line, "data_dir"))
                        set(&in->p.data_dir, eq);
                else if (!strcmp(line, "image"))
                        set(&in->p.image, eq);
                else if (!strcmp(line, "registry_mirror"))
                        set(&in->p.registry_mirror, eq);
                else if (!strcmp(line, "schedule"))
                        set(&in->p.prune_schedule, eq);
                else if (!strcmp(line, "instance"))
                        set(&in->p.instance, eq);
                else if (!strcmp(line, "mtu"))
                        in->p.mtu = (long) (number(eq) % 70000);
                else if (!strcmp(line, "capacity"))
                        in->p.capacity = number(eq);
                else if (!strcmp(line, "prune_after"))
                        in->p.prune_after_usec = number(eq);
                else if (!strcmp(line, "plaintext"))
                        in->p.plaintext = true;
                else if (!strcmp(line, "allow") && in->n_allow < MAX_ALLOW)
                        in->allow[in->n_allow++] = eq;
        }
        in->p.allow_namespaces = in->n_allow ? in->allow : NULL;
}

static bool validator_ok(int (*v)(const char *, char **), const char *s) {
        return v(s, NULL) == 0;
}

/* Printable UTF-8 by the harness's own reading (fuzz.h): what JSON can hold and a
 * message can show. */
static bool printable(const char *s) {
        return fuzz_utf8_valid(s, strlen(s)) && fuzz_no_control(s, NULL);
}

/* Whether P is valid, parameter by parameter. */
static bool model_valid(const struct manifest_params *p) {
        if (!validator_ok(validate_dns_label, p->namespace_ ?: MANIFEST_DEFAULT_NAMESPACE))
                return false;
        for (char *const *s = p->allow_namespaces; s && *s; s++)
                if (!validator_ok(validate_dns_label, *s))
                        return false;
        if (p->instance && instance_validate(p->instance, NULL) != 0)
                return false;
        if (p->node && !validator_ok(validate_node_name, p->node))
                return false;
        if (p->data_dir && (!printable(p->data_dir) || p->data_dir[0] != '/'))
                return false;
        if (p->image && !validator_ok(validate_image_reference, p->image))
                return false;
        if (p->registry_mirror && (!printable(p->registry_mirror) ||
                                   (strncmp(p->registry_mirror, "http://", 7) != 0 &&
                                    strncmp(p->registry_mirror, "https://", 8) != 0)))
                return false;
        if (p->mtu != 0 && (p->mtu < 68 || p->mtu > 65535))
                return false;
        if (p->prune_schedule && !validator_ok(validate_cron_schedule, p->prune_schedule))
                return false;
        if (p->prune_after_usec > 0 && p->prune_after_usec < 1000000)
                return false;
        return true;
}

static const char *at(json_t *o, const char *a, const char *b, const char *c, const char *d) {
        return json_string_value(json_get_path(o, a, b, c, d, NULL));
}

/* The objects carry the parameters. */
static void check_objects(json_t *objects, const struct manifest_params *p) {
        const char *ns = p->namespace_ ?: MANIFEST_DEFAULT_NAMESPACE;
        json_t *o, *pv, *cron, *dep;
        size_t i;

        json_array_foreach(objects, i, o) {
                struct manifest_ref ref;
                char *text = json_dumps(o, 0);
                FUZZ_ASSERT(manifest_ref(o, &ref) == 0);
                FUZZ_ASSERT(!ref.namespace_ || strcmp(ref.namespace_, ns) == 0);
                FUZZ_ASSERT(text);
                free(text);
        }
        pv = manifest_find(objects, "PersistentVolume", NULL);
        cron = manifest_find(objects, "CronJob", NULL);
        dep = manifest_find(objects, "Deployment", NULL);
        FUZZ_ASSERT(pv && cron && dep);
        if (p->data_dir)
                FUZZ_ASSERT(strcmp(at(pv, "spec", "local", "path", NULL), p->data_dir) == 0);
        if (p->prune_schedule)
                FUZZ_ASSERT(strcmp(at(cron, "spec", "schedule", NULL, NULL), p->prune_schedule) == 0);
        if (p->image) {
                json_t *c = json_array_get(json_get_path(dep, "spec", "template", "spec", "containers", NULL), 0);
                FUZZ_ASSERT(strcmp(json_string_value(json_object_get(c, "image")), p->image) == 0);
        }
        if (p->registry_mirror) {
                json_t *cm = manifest_find(objects, "ConfigMap", NULL);
                const char *daemon = at(cm, "data", "daemon.json", NULL, NULL);
                json_t *doc = daemon ? json_loads(daemon, 0, NULL) : NULL;
                FUZZ_ASSERT(doc);
                FUZZ_ASSERT(strcmp(json_string_value(json_array_get(json_object_get(doc, "registry-mirrors"), 0)),
                                   p->registry_mirror) == 0);
                json_decref(doc);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text, *error = NULL, *again_error = NULL;
        json_t *objects, *again;
        struct input in = {};
        bool want;
        int r;

        if (size > 4096)
                return 0;
        text = fuzz_strndup(data, size);
        parse_input(text, &in);
        want = model_valid(&in.p);

        objects = json_deep_copy(loaded);
        if (!objects)
                abort();
        r = manifest_apply_params(objects, &in.p, &error);
        FUZZ_ASSERT(r == 0 || r == -EINVAL);
        if (r < 0) {
                FUZZ_ASSERT(!want);
                FUZZ_ASSERT(error && *error && strlen(error) < ERROR_MAX && printable(error));
                goto out;
        }
        FUZZ_ASSERT(want && !error);
        check_objects(objects, &in.p);

        /* The same parameters, the same objects. */
        again = json_deep_copy(loaded);
        if (!again)
                abort();
        FUZZ_ASSERT(manifest_apply_params(again, &in.p, &again_error) == 0);
        FUZZ_ASSERT(json_equal(objects, again));
        json_decref(again);

out:
        free(again_error);
        free(error);
        json_decref(objects);
        free(text);
        return 0;
}
