/* SPDX-License-Identifier: MIT */
/* kube/kubeconfig.h: any kubeconfig text is either refused with a message, or gives a
 * usable configuration that keeps the trust rules (never insecure with a CA; material
 * non-empty PEM text; a token on one line), and whose server URL the client accepts
 * only when it is scheme://host[:port][/path] with nothing a request path could be
 * swallowed by. Files it names resolve against a scratch directory holding a CA, a
 * client certificate and key, a token file, and a FIFO ("fifo", and "fifo-link" to
 * it), which must be refused at once, never waited on.
 *
 * An input whose first line is "KUBECONFIG=LIST" tests kubeconfig_find() instead: the
 * list (relative entries resolved in the scratch directory, which also holds a
 * directory "sub") picks the first entry that exists when it is a regular file; one
 * that exists and is not (the FIFO, a directory) is refused naming it, on one line,
 * never skipped and never "does not exist"; none: -ENOENT. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "kube/kube.h"
#include "kube/kubeconfig.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MESSAGE_MAX 4096

static char dir[] = "/tmp/fuzz-kubeconfig-XXXXXX";

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void remove_dir(void) {
        nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *name, const char *content) {
        char path[128];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        if (!f || fputs(content, f) < 0 || fclose(f) != 0)
                abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUZmFrZQ==\n-----END CERTIFICATE-----\n";

        if (!mkdtemp(dir))
                abort();
        atexit(remove_dir);
        put("ca.crt", pem);
        put("client.crt", pem);
        put("client.key", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIGZha2U=\n-----END EC PRIVATE KEY-----\n");
        put("token", "  abc.def  \n");
        put("empty", "");
        {
                char fifo[128], link[128], sub[128];
                snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
                snprintf(link, sizeof(link), "%s/fifo-link", dir);
                snprintf(sub, sizeof(sub), "%s/sub", dir);
                if (mkfifo(fifo, 0600) < 0 || symlink("fifo", link) < 0 || mkdir(sub, 0700) < 0)
                        abort();
        }
        /* Never the host's ~/.kube/config. */
        if (setenv("HOME", dir, 1) < 0)
                abort();
        return 0;
}

/* kubeconfig_find() on $KUBECONFIG=LIST against a model: stat() each non-empty entry. */
static void check_find(const char *list) {
        char *value = malloc(strlen(list) * (strlen(dir) + 2) + 2), *o = value, *copy, *save = NULL;
        char *path = NULL, *message = NULL, *want_path = NULL;
        int r, want = -ENOENT;

        if (!value)
                abort();
        /* Relative entries are the scratch directory's. */
        for (const char *p = list; *p;) {
                size_t n = strcspn(p, ":");
                if (n > 0 && p[0] != '/')
                        o += sprintf(o, "%s/", dir);
                memcpy(o, p, n);
                o += n;
                p += n;
                if (*p)
                        *o++ = *p++;
        }
        *o = '\0';
        copy = strdup(value);
        if (!copy)
                abort();
        for (char *e = strtok_r(copy, ":", &save); e && want == -ENOENT; e = strtok_r(NULL, ":", &save)) {
                struct stat st;
                if (stat(e, &st) < 0) {
                        if (errno != ENOENT && errno != ENOTDIR)
                                want = -errno;
                } else if (S_ISREG(st.st_mode)) {
                        want = 0;
                        want_path = e;
                } else
                        want = S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
        }
        if (setenv("KUBECONFIG", value, 1) < 0)
                abort();
        r = kubeconfig_find(NULL, &path, &message);
        FUZZ_ASSERT(r == want);
        if (r == 0)
                FUZZ_ASSERT(path && strcmp(path, want_path) == 0 && !message);
        else {
                FUZZ_ASSERT(!path && message && fuzz_no_control(message, NULL) && strlen(message) < MESSAGE_MAX);
                FUZZ_ASSERT(strstr(message, r == -ENOENT ? "no file of $KUBECONFIG" : "(in $KUBECONFIG): "));
                FUZZ_ASSERT(r != -EBADFD || strstr(message, "not a regular file"));
        }
        unsetenv("KUBECONFIG");
        free(path);
        free(message);
        free(copy);
        free(value);
}

/* Opening a device node as root can act (a watchdog arms, a tape rewinds) and a
 * regular file under /proc can block a read (/proc/kmsg): inputs that could name
 * anything under /dev, /proc, /sys or /run (or spell it with a YAML escape) are not
 * run. The FIFO in the scratch directory stands for every file that is not regular. */
static bool may_name_a_system_file(const char *text) {
        static const char *const words[] = { "dev", "proc", "sys", "run", "fd", "stdin", "\\" };
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strstr(text, words[i]))
                        return true;
        return false;
}

/* Accepted server URLs (kube_client_new()) keep the rules of the URL every request
 * path is appended to: scheme https or http, no '?', '#' or user info, a host that is
 * a name, an IPv4 or a bracketed IPv6 address, a port from 1 to 65535. */
static bool server_url_sound(const char *url) {
        const char *auth, *end, *colon = NULL;
        char host[300];
        size_t hlen;

        if (strncmp(url, "https://", 8) == 0)
                auth = url + 8;
        else if (strncmp(url, "http://", 7) == 0)
                auth = url + 7;
        else
                return false;
        if (strpbrk(url, "?#") || !fuzz_no_control(url, NULL))
                return false;
        end = auth + strcspn(auth, "/");
        if (memchr(auth, '@', (size_t) (end - auth)))
                return false;
        if (*auth == '[') {
                const char *close = memchr(auth, ']', (size_t) (end - auth));
                struct in6_addr a6;
                if (!close || (size_t) (close - auth) >= sizeof(host))
                        return false;
                memcpy(host, auth + 1, (size_t) (close - auth - 1));
                host[close - auth - 1] = '\0';
                if (inet_pton(AF_INET6, host, &a6) != 1)
                        return false;
                colon = close + 1 < end ? close + 1 : NULL;
                if (colon && *colon != ':')
                        return false;
        } else {
                colon = memchr(auth, ':', (size_t) (end - auth));
                hlen = (size_t) ((colon ? colon : end) - auth);
                if (hlen == 0 || hlen > 253 || strspn(auth, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") < hlen)
                        return false;
        }
        if (colon) {
                size_t n = (size_t) (end - colon - 1);
                long port = 0;
                if (n == 0 || strspn(colon + 1, "0123456789") < n)
                        return false;
                for (size_t i = 1; i <= n; i++)
                        if ((port = port * 10 + (colon[i] - '0')) > 65535)
                                return false;
                if (port == 0)
                        return false;
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size), *message = NULL;
        struct kubeconfig *k = NULL;
        int r;

        if (size > 65536 || strlen(text) != size || may_name_a_system_file(text))
                goto out;
        if (strncmp(text, "KUBECONFIG=", 11) == 0) {
                char *nl = strchr(text, '\n');
                if (nl)
                        *nl = '\0';
                if (text[11] && size < 4096)
                        check_find(text + 11);
                goto out;
        }

        r = kubeconfig_parse(text, size, dir, "/etc/kubernetes/fuzz.conf", NULL, &k, &message);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOENT || r == -EOPNOTSUPP || r == -EFBIG ||
                    r == -EISDIR || r == -EBADFD || r == -EACCES || r == -ENOTDIR || r == -ENAMETOOLONG || r == -ELOOP);
        if (r < 0) {
                /* Every refusal says why and names the file. */
                FUZZ_ASSERT(!k && message && strstr(message, "/etc/kubernetes/fuzz.conf"));
                /* ... on one line, whatever the names and URLs in it held. */
                FUZZ_ASSERT(fuzz_no_control(message, NULL) && strlen(message) < MESSAGE_MAX);
                goto out;
        }
        FUZZ_ASSERT(k && !message);
        FUZZ_ASSERT(k->path && k->context && k->cluster && !isempty(k->server));
        FUZZ_ASSERT(!(k->insecure && k->ca));
        FUZZ_ASSERT(!k->ca || (k->ca_size > 0 && strlen(k->ca) == k->ca_size));
        FUZZ_ASSERT(!k->cert || (k->cert_size > 0 && strlen(k->cert) == k->cert_size));
        FUZZ_ASSERT(!k->key || (k->key_size > 0 && strlen(k->key) == k->key_size));
        FUZZ_ASSERT(!k->token || (*k->token && !strpbrk(k->token, "\r\n")));
        FUZZ_ASSERT(!k->token_file || k->token_file[0] == '/');
        FUZZ_ASSERT(!k->ca_origin || k->ca_origin[0] == '/');
        {
                struct kube_client *c = NULL;
                char *why = NULL;
                r = kube_client_new(k, &c, &why);
                FUZZ_ASSERT(r == 0 || r == -EINVAL);
                if (r == 0)
                        FUZZ_ASSERT(c && !why && server_url_sound(k->server));
                else
                        FUZZ_ASSERT(!c && why && fuzz_no_control(why, NULL) && strlen(why) < MESSAGE_MAX);
                kube_client_free(c);
                free(why);
        }
out:
        kubeconfig_free(k);
        free(message);
        free(text);
        return 0;
}
