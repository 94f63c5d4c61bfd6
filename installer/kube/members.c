/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json-util.h"
#include "base/text.h"
#include "base/util.h"
#include "kube/instance.h"
#include "kube/members.h"

void members_done(struct members *m) {
        if (!m)
                return;
        for (size_t i = 0; i < m->n; i++) {
                free(m->v[i].key);
                free(m->v[i].address);
                free(m->v[i].manager);
        }
        free(m->v);
        *m = (struct members) {};
}

char *members_path(const char *ns) {
        return strdup_printf("/api/v1/namespaces/%s/configmaps/" INSTANCE_MEMBERS_CONFIGMAP, ns);
}

int members_config(const char *ns, const char *instance, const char *address, json_t **ret) {
        json_t *cm;

        cm = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
                       INSTANCE_MEMBERS_CONFIGMAP, "namespace", ns);
        if (!cm)
                return -ENOMEM;
        if (address && json_object_set_new(cm, "data", json_pack("{s:s}", instance_key(instance), address)) < 0) {
                json_decref(cm);
                return -ENOMEM;
        }
        *ret = cm;
        return 0;
}

char *members_address(const char *service, const char *ns, int port) {
        return strdup_printf("%s.%s.svc:%d", service, ns, port);
}

static bool dns_name(const char *s, size_t n) {
        size_t label = 0;

        if (n == 0 || n > 253)
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                if (ch == '.') {
                        if (label == 0 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      (ch == '-' && label > 0)))
                        return false;
                if (++label > 63)
                        return false;
        }
        return s[n - 1] != '-' && s[n - 1] != '.';
}

bool members_address_valid(const char *address) {
        const char *colon, *port;
        size_t hn;
        char *end;
        long p;

        if (!address || strlen(address) > MEMBER_ADDRESS_MAX)
                return false;
        colon = strrchr(address, ':');
        if (!colon)
                return false;
        port = colon + 1;
        if (*port < '1' || *port > '9' || strlen(port) > 5)
                return false;
        p = strtol(port, &end, 10);
        if (*end || p < 1 || p > 65535)
                return false;
        hn = (size_t) (colon - address);
        if (address[0] == '[')
                return hn > 2 && address[hn - 1] == ']' &&
                       strspn(address + 1, "0123456789abcdefABCDEF:.") == hn - 2;
        return dns_name(address, hn);
}

/* The Apply manager whose fieldsV1 holds f:data.f:KEY, from CM's managedFields. */
static char *owner_of(const json_t *cm, const char *key) {
        _cleanup_free_ char *field = strdup_printf("f:%s", key);
        const char *found = NULL;
        size_t i;
        json_t *e;

        if (!field)
                return NULL;
        json_array_foreach(json_get_path(cm, "metadata", "managedFields", NULL), i, e) {
                if (!streq(json_object_get_string(e, "operation"), "Apply"))
                        continue;
                if (json_get_path(e, "fieldsV1", "f:data", field, NULL)) {
                        found = json_object_get_string(e, "manager");
                        break;
                }
        }
        return found ? text_sanitize(found, strlen(found), 128) : NULL;
}

static int compare_members(const void *a, const void *b) {
        return strcmp(((const struct member *) a)->key, ((const struct member *) b)->key);
}

int members_parse(const json_t *cm, struct members *ret) {
        _cleanup_(members_done) struct members m = {};
        json_t *data = json_object_get(cm, "data"), *v;
        const char *key;
        size_t n;

        n = json_is_object(data) ? json_object_size(data) : 0;
        if (n > MEMBERS_MAX) {
                m.truncated = true;
                n = MEMBERS_MAX;
        }
        if (n > 0) {
                m.v = calloc(n, sizeof(*m.v));
                if (!m.v)
                        return -ENOMEM;
        }
        json_object_foreach(n > 0 ? data : NULL, key, v) {
                struct member *e;
                const char *s = json_string_value(v);

                if (m.n >= n)
                        break;
                e = &m.v[m.n++];
                e->key = text_sanitize(key, strlen(key), 253);
                e->address = text_sanitize(s ?: "", s ? strlen(s) : 0, MEMBER_ADDRESS_MAX);
                if (!e->key || !e->address)
                        return -ENOMEM;
                e->valid = s && streq(e->address, s) && members_address_valid(s);
                e->manager = owner_of(cm, key);
        }
        if (m.n > 1)
                qsort(m.v, m.n, sizeof(*m.v), compare_members);
        *ret = m;
        m = (struct members) {};
        return 0;
}

const struct member *members_find(const struct members *m, const char *key) {
        for (size_t i = 0; i < m->n; i++)
                if (streq(m->v[i].key, key))
                        return &m->v[i];
        return NULL;
}

char *members_hosts(const struct members *m) {
        size_t len = 1;
        char *s, *o;

        for (size_t i = 0; i < m->n; i++)
                if (m->v[i].valid)
                        len += strlen(m->v[i].address) + 1;
        s = o = malloc(len);
        if (!s)
                return NULL;
        *o = '\0';
        for (size_t i = 0; i < m->n; i++) {
                if (!m->v[i].valid)
                        continue;
                if (o != s)
                        *o++ = ' ';
                o = stpcpy(o, m->v[i].address);
        }
        return s;
}
