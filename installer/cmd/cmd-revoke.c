/* SPDX-License-Identifier: MIT */
/* dind-cache revoke: puts a client certificate on the authorization plugin's deny
 * list, so that the daemon refuses it from its next request on (dockerd reads no CRL). */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "authz/identity.h"
#include "authz/plugin.h"
#include "authz/revoked.h"
#include "base/log.h"
#include "base/text.h"
#include "cmd/cmd.h"
#include "pki/pki-store.h"

static const char *arg_serial;
static const char *arg_name;
static const char *arg_cert;
static const char *arg_namespace;
static const char *arg_state_dir = AUTHZ_DEFAULT_STATE_DIR;
static bool arg_list;

static void usage(void) {
        printf("Usage: dind-cache revoke --namespace NS [--state-dir DIR]\n"
               "       dind-cache revoke --serial SERIAL [--name NAME] [--state-dir DIR]\n"
               "       dind-cache revoke --cert FILE [--state-dir DIR]\n"
               "       dind-cache revoke --list [--state-dir DIR]\n"
               "\n"
               "Puts a client certificate on the authorization plugin's deny list: the daemon\n"
               "refuses it from its next request on. Issue a new one with dind-cache install.\n"
               "\n"
               "Options:\n"
               "      --namespace NS   the tenant NS's current certificate (%s/%s/NS/cert.pem)\n"
               "      --serial SERIAL  the certificate's serial, hex (openssl x509 -noout -serial)\n"
               "      --name NAME      whose it is (its CN), kept beside the serial\n"
               "      --cert FILE      read the serial and the name from a certificate (PEM)\n"
               "      --list           print the deny list\n"
               "      --state-dir DIR  the plugin's state directory (default %s)\n"
               "  -h, --help           show this help\n",
               PKI_DEFAULT_DIR, PKI_TENANTS_FOLDER, AUTHZ_DEFAULT_STATE_DIR);
}

/* <0 error, 0 done (--help), >0 go on. */
static int parse_argv(int argc, char **argv) {
        enum { ARG_SERIAL = 0x100, ARG_NAME, ARG_CERT, ARG_LIST, ARG_STATE_DIR, ARG_NAMESPACE };
        static const struct option options[] = {
                { "namespace", required_argument, NULL, ARG_NAMESPACE },
                { "serial", required_argument, NULL, ARG_SERIAL },
                { "name", required_argument, NULL, ARG_NAME },
                { "cert", required_argument, NULL, ARG_CERT },
                { "list", no_argument, NULL, ARG_LIST },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        usage();
                        return 0;
                case ARG_SERIAL:
                        arg_serial = optarg;
                        break;
                case ARG_NAME:
                        arg_name = optarg;
                        break;
                case ARG_CERT:
                        arg_cert = optarg;
                        break;
                case ARG_NAMESPACE:
                        arg_namespace = optarg;
                        break;
                case ARG_LIST:
                        arg_list = true;
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                default:
                        fprintf(stderr, "dind-cache revoke: unknown option or missing value '%s' "
                                "(try 'dind-cache revoke --help')\n", argv[optind - 1]);
                        return -EINVAL;
                }
        if (optind < argc || (!!arg_serial + !!arg_cert + !!arg_namespace + arg_list) != 1 ||
            (arg_name && !arg_serial)) {
                fprintf(stderr, "dind-cache revoke: give one of --namespace, --serial, --cert, --list "
                        "(try 'dind-cache revoke --help')\n");
                return -EINVAL;
        }
        if (arg_namespace && !identity_is_namespace(arg_namespace)) {
                _cleanup_free_ char *shown = text_escape(arg_namespace, 64);
                fprintf(stderr, "dind-cache revoke: --namespace '%s' is not a namespace (a DNS-1123 label)\n",
                        shown ?: "?");
                return -EINVAL;
        }
        return 1;
}

/* The list, one certificate a line: "SERIAL<TAB>NAME<TAB>WHEN", every field cleaned. */
static int list(const char *path) {
        _cleanup_free_ char *data = NULL;
        char *line, *save = NULL;
        size_t size;
        int r = read_file_full(path, REVOKED_MAX_SIZE, &data, &size);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "cannot read '%s': %m", path);
        for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *fields[3] = {}, *p = line;

                for (size_t i = 0; i < 3 && p; i++)
                        fields[i] = strsep(&p, "\t");
                for (size_t i = 0; i < 3; i++) {
                        _cleanup_free_ char *f = text_sanitize_line(fields[i] ?: "", 256);
                        printf("%s%s", i ? "\t" : "", f ?: "?");
                }
                putchar('\n');
        }
        return fflush(stdout) == 0 ? 0 : -EIO;
}

/* The serial and CN of the certificate in the PEM file PATH, in RET. */
static int read_certificate(const char *path, struct pki_peer *ret) {
        _cleanup_free_ char *pem = NULL;
        size_t size;
        int r = read_file_full(path, PKI_MAX_PEM, &pem, &size);

        if (r >= 0)
                r = pki_peer_from_pem(pem, size, ret);
        if (r == -ENOENT && arg_namespace)
                return log_error_errno(r, "no tenant '%s' on this node: '%s' does not exist (install "
                                       "--allow-namespace %s issues it)", arg_namespace, path, arg_namespace);
        if (r < 0)
                return log_error_errno(r, "cannot read a certificate from '%s': %s", path,
                                       r == -EBADMSG ? "not a PEM certificate" : file_error_to_string(-r));
        return 0;
}

static void say_revoked(int r, const char *serial, const char *name) {
        printf("%s certificate %s%s%s%s: the daemon refuses it from its next request on.\n",
               r > 0 ? "revoked" : "already revoked:", serial, name ? " (" : "", name ?: "", name ? ")" : "");
        if (arg_namespace)
                printf("Run dind-cache install again, with the same flags, to issue %s a fresh certificate: its "
                       "client Secret is updated in place, and the kubelet refreshes the jobs' volumes within "
                       "about a minute; until then its jobs are refused (rule revoked).\n", arg_namespace);
        else
                printf("Issue a new one with dind-cache install.\n");
}

static int run(void) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", arg_state_dir, REVOKED_FILE), *cert = NULL;
        _cleanup_(pki_peer_done) struct pki_peer peer = {};
        const char *serial = arg_serial, *name = arg_name;
        int r;

        if (!path)
                return log_error_errno(-ENOMEM, "out of memory");
        if (arg_list)
                return list(path);
        if (arg_namespace) {
                cert = strdup_printf("%s/%s/%s/cert.pem", PKI_DEFAULT_DIR, PKI_TENANTS_FOLDER, arg_namespace);
                if (!cert)
                        return log_error_errno(-ENOMEM, "out of memory");
        }
        if (arg_cert || cert) {
                r = read_certificate(arg_cert ?: cert, &peer);
                if (r < 0)
                        return r;
                serial = peer.serial;
                name = peer.cn;
        }
        /* The plugin's StateDirectory= mode, when it has not run yet. */
        r = mkdir_p(arg_state_dir, 0700);
        if (r >= 0)
                r = revoked_add(path, serial, name, time(NULL));
        if (r == -EINVAL)
                return log_error_errno(r, "'%s' is not a serial in hex, or the name holds a tab or a control "
                                       "character", serial);
        if (r < 0)
                return log_error_errno(r, "cannot write '%s': %m", path);
        say_revoked(r, serial, name);
        return 0;
}

int cmd_revoke(int argc, char **argv) {
        int r = parse_argv(argc, argv);

        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        return run() < 0 ? 1 : 0;
}
