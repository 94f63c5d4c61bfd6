/* SPDX-License-Identifier: MIT */
/* The API server's Status objects (apimachinery metav1.Status) as data. The body comes
 * from the network: every string is capped and stripped of control characters before
 * it can reach a terminal. */
#include <errno.h>
#include <string.h>

#include "base/json-util.h"
#include "kube/kube.h"

#define STATUS_MAX_STRING 4096
#define STATUS_EXCERPT 200

static int copy_string(const json_t *o, const char *key, char **ret) {
        json_t *v = json_object_get(o, key);

        if (!json_is_string(v) || json_string_length(v) == 0)
                return 0;
        *ret = kube_sanitize(json_string_value(v), json_string_length(v), STATUS_MAX_STRING);
        return *ret ? 0 : -ENOMEM;
}

void kube_error_done(struct kube_error *e) {
        if (!e)
                return;
        free(e->reason);
        free(e->message);
        free(e->details_name);
        free(e->details_group);
        free(e->details_kind);
        for (size_t i = 0; i < e->n_causes; i++) {
                free(e->causes[i].type);
                free(e->causes[i].message);
                free(e->causes[i].field);
        }
        free(e->causes);
        free(e->transport);
        free(e->method);
        free(e->path);
        *e = (struct kube_error) {};
}

int kube_status_to_errno(long s) {
        if (s >= 200 && s <= 299)
                return 0;
        switch (s) {
        case 401:
                return -EACCES;
        case 403:
                return -EPERM;
        case 404:
                return -ENOENT;
        case 409:
                return -EBUSY;
        case 400:
        case 422:
                return -EINVAL;
        case 429:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

/* A body that is not a Status: keep a short excerpt as the message (a proxy's error
 * page, "404 page not found"). */
static int excerpt(const char *body, size_t size, struct kube_error *ret) {
        size_t n = strnlen(body, size);

        while (n > 0 && strchr(" \r\n\t", body[n - 1]))
                n--;
        if (n == 0)
                return 0;
        ret->message = kube_sanitize(body, n, STATUS_EXCERPT);
        return ret->message ? 0 : -ENOMEM;
}

int kube_status_parse(const char *body, size_t size, long http_status, struct kube_error *ret) {
        _cleanup_json_ json_t *j = NULL;
        struct kube_error e = { .http_status = http_status };
        json_t *details, *causes, *c;
        size_t i;
        int r;

        if (body && size > 0)
                j = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j) || !streq(json_object_get_string(j, "kind"), "Status")) {
                r = body ? excerpt(body, size, &e) : 0;
                if (r < 0)
                        return r;
                *ret = e;
                return 0;
        }

        if (copy_string(j, "reason", &e.reason) < 0 || copy_string(j, "message", &e.message) < 0)
                goto oom;
        details = json_object_get(j, "details");
        if (json_is_object(details)) {
                if (copy_string(details, "name", &e.details_name) < 0 ||
                    copy_string(details, "group", &e.details_group) < 0 ||
                    copy_string(details, "kind", &e.details_kind) < 0)
                        goto oom;
                causes = json_object_get(details, "causes");
                if (json_is_array(causes) && json_array_size(causes) > 0) {
                        size_t n = json_array_size(causes);
                        if (n > KUBE_STATUS_MAX_CAUSES)
                                n = KUBE_STATUS_MAX_CAUSES;
                        e.causes = calloc(n, sizeof(*e.causes));
                        if (!e.causes)
                                goto oom;
                        json_array_foreach(causes, i, c) {
                                struct kube_status_cause *k;

                                if (e.n_causes >= n)
                                        break;
                                if (!json_is_object(c))
                                        continue;
                                k = &e.causes[e.n_causes++];
                                if (copy_string(c, "reason", &k->type) < 0 ||
                                    copy_string(c, "message", &k->message) < 0 ||
                                    copy_string(c, "field", &k->field) < 0)
                                        goto oom;
                        }
                }
        }
        *ret = e;
        return 0;
oom:
        kube_error_done(&e);
        return -ENOMEM;
}
