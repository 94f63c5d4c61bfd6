/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "base/docker-host.h"
#include "base/util.h"

#define SUN_PATH_MAX 108          /* sizeof(((struct sockaddr_un *) 0)->sun_path) */

static bool host_char_ok(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               ch == '.' || ch == '-' || ch == '_';
}

/* HOST (LEN bytes) is a host name (labels of 1 to 63 characters, not starting or
 * ending with '-', 253 in all) or, when it is only digits and dots, an IPv4 address. */
static bool host_name_ok(const char *host, size_t len) {
        char buf[254];
        size_t label = 0;

        if (len == 0 || len > 253)
                return false;
        memcpy(buf, host, len);
        buf[len] = '\0';
        if (strspn(buf, "0123456789.") == len) {
                struct in_addr a;
                return inet_pton(AF_INET, buf, &a) == 1;
        }
        for (size_t i = 0; i <= len; i++) {
                if (i == len || buf[i] == '.') {
                        if (label == 0 || label > 63 || buf[i - 1] == '-' || buf[i - label] == '-')
                                return false;
                        label = 0;
                } else if (!host_char_ok(buf[i]))
                        return false;
                else
                        label++;
        }
        return true;
}

/* The end of the host part at S ("[V6]" or a name or IPv4 address), or NULL. */
static const char *host_end(const char *s) {
        const char *end;

        if (*s == '[') {
                char v6[INET6_ADDRSTRLEN];
                struct in6_addr a;

                end = strchr(s, ']');
                if (!end || end == s + 1 || (size_t) (end - s - 1) >= sizeof(v6))
                        return NULL;
                memcpy(v6, s + 1, (size_t) (end - s - 1));
                v6[end - s - 1] = '\0';
                return inet_pton(AF_INET6, v6, &a) == 1 ? end + 1 : NULL;
        }
        for (end = s; host_char_ok(*end); end++)
                ;
        return host_name_ok(s, (size_t) (end - s)) ? end : NULL;
}

/* "HOST[:PORT][/]" or "[V6][:PORT][/]" into H's host and port. */
static int parse_tcp(const char *s, struct docker_host *h) {
        const char *end = host_end(s);
        long port = DOCKER_HOST_DEFAULT_PORT;
        char port_buf[8];

        if (!end)
                return -EINVAL;
        h->host = strndup(s, (size_t) (end - s));
        if (!h->host)
                return -ENOMEM;
        if (*end == ':') {
                size_t n = strspn(end + 1, "0123456789");
                if (n == 0 || n >= sizeof(port_buf))
                        return -EINVAL;
                memcpy(port_buf, end + 1, n);
                port_buf[n] = '\0';
                if (parse_int_range(port_buf, 1, 65535, &port) < 0)
                        return -EINVAL;
                end += n + 1;
        }
        if (*end == '/')
                end++;
        if (*end)
                return -EINVAL;
        h->port = (uint16_t) port;
        return 0;
}

int docker_host_parse(const char *text, struct docker_host *ret) {
        struct docker_host h = {};
        int r;

        if (isempty(text))
                return -EINVAL;
        if (strncmp(text, "tcp://", 6) == 0) {
                h.kind = DOCKER_HOST_TCP;
                r = parse_tcp(text + 6, &h);
        } else if (strncmp(text, "unix://", 7) == 0) {
                const char *p = text + 7;

                h.kind = DOCKER_HOST_UNIX;
                if (p[0] != '/' || p[1] == '\0' || strlen(p) >= SUN_PATH_MAX)
                        r = -EINVAL;
                else
                        r = (h.socket_path = strdup(p)) ? 0 : -ENOMEM;
        } else
                r = -EINVAL;
        if (r >= 0 && !(h.text = strdup(text)))
                r = -ENOMEM;
        if (r < 0) {
                docker_host_done(&h);
                return r;
        }
        *ret = h;
        return 0;
}

int docker_host_with_port(const struct docker_host *h, uint16_t port, struct docker_host *ret) {
        struct docker_host n = { .kind = DOCKER_HOST_TCP, .port = port };

        if (h->kind != DOCKER_HOST_TCP || port == 0)
                return -EINVAL;
        n.host = strdup(h->host);
        n.text = strdup_printf("tcp://%s:%u", h->host, (unsigned) port);
        if (!n.host || !n.text) {
                docker_host_done(&n);
                return -ENOMEM;
        }
        *ret = n;
        return 0;
}

char *docker_host_base_url(const struct docker_host *h) {
        switch (h->kind) {
        case DOCKER_HOST_TCP:
                return strdup_printf("http://%s:%u", h->host, (unsigned) h->port);
        case DOCKER_HOST_UNIX:
                return strdup("http://localhost");
        default:
                return NULL;
        }
}

void docker_host_done(struct docker_host *h) {
        free(h->text);
        free(h->host);
        free(h->socket_path);
        *h = (struct docker_host) {};
}
