/* SPDX-License-Identifier: MIT */
/* kube/kubeconfig.h: any kubeconfig text is either refused with a message, or gives a
 * usable configuration that keeps the trust rules (never insecure with a CA; material
 * non-empty PEM text; a token on one line). Files it names resolve against a scratch
 * directory holding a CA, a client certificate and key, and a token file. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#include "fuzz.h"
#include "kube/kubeconfig.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

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
        return 0;
}

/* issue 11 item 3: a file the kubeconfig names that is a FIFO or a device blocks the
 * read (being fixed elsewhere); inputs that could name one (/dev, /proc, /sys, /run, or
 * a YAML escape that could spell them) are not run until then. */
static bool may_name_a_special_file(const char *text) {
        static const char *const words[] = { "dev", "proc", "sys", "run", "fd", "stdin", "\\" };
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strstr(text, words[i]))
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size), *message = NULL;
        struct kubeconfig *k = NULL;
        int r;

        if (size > 65536 || strlen(text) != size || may_name_a_special_file(text))
                goto out;

        r = kubeconfig_parse(text, size, dir, "/etc/kubernetes/fuzz.conf", NULL, &k, &message);
        FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOENT || r == -EOPNOTSUPP || r == -EFBIG ||
                    r == -EISDIR || r == -EACCES || r == -ENOTDIR || r == -ENAMETOOLONG || r == -ELOOP);
        if (r < 0) {
                /* Every refusal says why and names the file. */
                FUZZ_ASSERT(!k && message && strstr(message, "/etc/kubernetes/fuzz.conf"));
                /* issue 11 item 12: context names and URLs reach the message raw; not asserted. */
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
        /* issue 11 item 6: a server URL with a query or fragment, or port 0, is accepted
         * (being fixed elsewhere); the URL's form is not asserted. */
out:
        kubeconfig_free(k);
        free(message);
        free(text);
        return 0;
}
