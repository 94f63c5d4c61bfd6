/* SPDX-License-Identifier: MIT */
/* The TLS checks of health.h: days left on each certificate of the node's PKI. (The
 * handshake itself is judged in health-daemon.c, on the daemon's own connection.) */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check/health-private.h"
#include "check/health.h"
#include "pki/pki.h"
#include "pki/pki-store.h"
#include "base/message-ids.h"

#define REMEDY_RENEW "run dind-cache install again: it re-issues leaf certificates with less than 30 days left"
#define REMEDY_ROTATE "run dind-cache install --rotate-ca"
#define PKI_MAX_BUNDLE (1u << 20)      /* client-certs.pem: a certificate per tenant */


/* Checks one certificate (of a bundle at PATH: the one that expires first, named by its
 * CN); *RET_NOT_AFTER gets its notAfter when it could be read. */
static int check_one(const struct node_settings *s, const char *name, const char *what, const char *path,
                     bool is_ca, bool bundle, struct check_list *l, int64_t *ret_not_after) {
        _cleanup_free_ char *pem = NULL, *named = NULL;
        struct pki_info info = {};
        struct check_result *res;
        size_t size;
        long days;
        int r;

        r = read_file_full(path, bundle ? PKI_MAX_BUNDLE : PKI_MAX_PEM, &pem, &size);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                r = bundle ? pki_info_soonest_from_pem(pem, size, &info) : pki_info_from_pem(pem, size, &info);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return health_add(l, name, CHECK_FAIL, MID_CERT_UNREADABLE, "run dind-cache install again",
                                  "the %s certificate '%s' cannot be read: %s", what, path,
                                  r == -EBADMSG ? "not a PEM certificate" : strerror(-r)) ? 0 : -ENOMEM;

        days = pki_days_left(&info, time(NULL));
        *ret_not_after = (int64_t) info.not_after;
        if (bundle) {
                named = strdup_printf("%s (%s)", what, info.subject_cn ?: "no CN");
                if (!named) {
                        pki_info_done(&info);
                        return -ENOMEM;
                }
                what = named;
        }
        pki_info_done(&info);
        if (days < 0)
                res = health_add(l, name, CHECK_FAIL, MID_CERT_EXPIRED, is_ca ? REMEDY_ROTATE : REMEDY_RENEW,
                                 "the %s certificate expired %ld days ago", what, -days);
        else if (days < s->cert_crit_days)
                res = health_add(l, name, CHECK_FAIL, MID_CERT_EXPIRED, is_ca ? REMEDY_ROTATE : REMEDY_RENEW,
                                 "the %s certificate expires in %ld days (crit %d)", what, days, s->cert_crit_days);
        else if (days < s->cert_warn_days)
                res = health_add(l, name, CHECK_WARN, MID_CERT_EXPIRING, is_ca ? REMEDY_ROTATE : REMEDY_RENEW,
                                 "the %s certificate expires in %ld days (warn %d)", what, days, s->cert_warn_days);
        else
                res = health_add(l, name, CHECK_OK, MID_CERT_OK, NULL, "the %s certificate has %ld days left",
                                 what, days);
        if (!res || check_result_set_value(res, "%ld", days) < 0 ||
            check_result_set_threshold(res, "%d", res->state == CHECK_OK ? s->cert_warn_days :
                                                  res->state == CHECK_WARN ? s->cert_warn_days : s->cert_crit_days) < 0)
                return -ENOMEM;
        return 0;
}

int health_check_certs(const struct node_settings *s, struct check_list *l, struct health_figures *fig) {
        _cleanup_free_ char *copy = NULL, *ca = NULL, *server = NULL, *client = NULL, *checker = NULL;
        int64_t not_after[4] = {};
        const char *dir;
        int r;

        if (!s->tls_verify || !s->cert_path)
                return 0;
        copy = strdup(s->cert_path);
        if (!copy)
                return -ENOMEM;
        dir = dirname(copy);
        ca = strdup_printf("%s/ca/cert.pem", dir);
        server = strdup_printf("%s/server/cert.pem", dir);
        /* The jobs' certificates (the prune job's and every tenant's), public copies the
         * unit's sandbox lets the checker read (install before 15: client/cert.pem). */
        client = strdup_printf("%s/" PKI_CLIENT_CERTS_FILE, dir);
        if (client && access(client, F_OK) < 0 && errno == ENOENT) {
                free(client);
                client = strdup_printf("%s/" PKI_LEGACY_CLIENT_FOLDER "/cert.pem", dir);
        }
        checker = strdup_printf("%s/cert.pem", s->cert_path);
        if (!ca || !server || !client || !checker)
                return -ENOMEM;
        r = check_one(s, "cert_ca", "CA", ca, true, false, l, &not_after[0]);
        if (r >= 0)
                r = check_one(s, "cert_server", "daemon's server", server, false, false, l, &not_after[1]);
        if (r >= 0)
                r = check_one(s, "cert_client", "CI jobs' client", client, false, true, l, &not_after[2]);
        if (r >= 0)
                r = check_one(s, "cert_checker", "checker's client", checker, false, false, l, &not_after[3]);
        if (fig)
                memcpy(fig->cert_not_after, not_after, sizeof(not_after));
        return r < 0 ? r : 0;
}
