/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/http.h"
#include "base/util.h"

struct http_client {
        CURL *curl;
        char errbuf[CURL_ERROR_SIZE];
        char *bearer;           /* "Authorization: Bearer ..." header */
        struct curl_slist *connect_to;
        uint64_t connect_usec, total_usec;
        size_t max_body;
        unsigned max_retries;
        uint64_t max_wait_usec;
        void (*retry_cb)(void *userdata, long status, int error, uint64_t wait_usec);
        void *retry_userdata;
};

/* One transfer's collected body and headers; the body is parsed only afterwards. */
struct transfer {
        char *body;
        size_t size, allocated, max;
        bool too_big;
        char *content_type;
        char *retry_after;
};

static int curl_global(void) {
        static bool done;
        if (!done) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -EIO;
                done = true;
        }
        return 0;
}

int http_client_new(struct http_client **ret) {
        struct http_client *c;
        int r = curl_global();
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->curl = curl_easy_init();
        if (!c->curl) {
                free(c);
                return -ENOMEM;
        }
        c->connect_usec = 5 * 1000000ULL;
        c->total_usec = 30 * 1000000ULL;
        c->max_body = 4 << 20;
        *ret = c;
        return 0;
}

struct http_client *http_client_free(struct http_client *c) {
        if (!c)
                return NULL;
        curl_easy_cleanup(c->curl);
        curl_slist_free_all(c->connect_to);
        if (c->bearer) {
                explicit_bzero(c->bearer, strlen(c->bearer));
                free(c->bearer);
        }
        free(c);
        return NULL;
}

static int curl_to_errno(CURLcode code) {
        switch (code) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_BAD_FUNCTION_ARGUMENT:
        case CURLE_UNKNOWN_OPTION:
                return -EINVAL;
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_WRITE_ERROR:
                return -EFBIG;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
                return -EPROTO;
        default:
                return -EIO;
        }
}

#define SETOPT(c, opt, val)                                              \
        do {                                                             \
                CURLcode _code = curl_easy_setopt((c)->curl, opt, val);  \
                if (_code != CURLE_OK)                                   \
                        return curl_to_errno(_code);                     \
        } while (0)

int http_client_set_unix_socket(struct http_client *c, const char *path) {
        SETOPT(c, CURLOPT_UNIX_SOCKET_PATH, path);
        return 0;
}

static int set_blob(struct http_client *c, CURLoption opt, const void *data, size_t size) {
        struct curl_blob blob = { .data = (void *) data, .len = size, .flags = CURL_BLOB_COPY };
        SETOPT(c, opt, &blob);
        return 0;
}

int http_client_set_tls(struct http_client *c, const struct http_tls *tls) {
        int r;

        if (tls->insecure) {
                SETOPT(c, CURLOPT_SSL_VERIFYPEER, 0L);
                SETOPT(c, CURLOPT_SSL_VERIFYHOST, 0L);
        } else {
                SETOPT(c, CURLOPT_SSL_VERIFYPEER, 1L);
                SETOPT(c, CURLOPT_SSL_VERIFYHOST, 2L);
        }
        if (tls->ca_file || tls->ca_data) {
                /* A CA of our own is the only trust, as in client-go: no system bundle
                 * and no CA directory (Debian's libcurl also loads /etc/ssl/certs). */
                SETOPT(c, CURLOPT_CAPATH, NULL);
                SETOPT(c, CURLOPT_CAINFO, tls->ca_file);
        }
        if (tls->ca_data) {
                r = set_blob(c, CURLOPT_CAINFO_BLOB, tls->ca_data, tls->ca_size);
                if (r < 0)
                        return r;
        }
        if (tls->cert_file)
                SETOPT(c, CURLOPT_SSLCERT, tls->cert_file);
        if (tls->cert_data) {
                r = set_blob(c, CURLOPT_SSLCERT_BLOB, tls->cert_data, tls->cert_size);
                if (r < 0)
                        return r;
        }
        if (tls->cert_file || tls->cert_data)
                SETOPT(c, CURLOPT_SSLCERTTYPE, "PEM");
        if (tls->key_file)
                SETOPT(c, CURLOPT_SSLKEY, tls->key_file);
        if (tls->key_data) {
                r = set_blob(c, CURLOPT_SSLKEY_BLOB, tls->key_data, tls->key_size);
                if (r < 0)
                        return r;
        }
        if (tls->key_file || tls->key_data)
                SETOPT(c, CURLOPT_SSLKEYTYPE, "PEM");
        return 0;
}

int http_client_set_bearer_token(struct http_client *c, const char *token) {
        char *header = NULL;

        if (token) {
                header = strdup_printf("Authorization: Bearer %s", token);
                if (!header)
                        return -ENOMEM;
        }
        if (c->bearer) {
                explicit_bzero(c->bearer, strlen(c->bearer));
                free(c->bearer);
        }
        c->bearer = header;
        return 0;
}

int http_client_set_connect_to(struct http_client *c, const char *connect_to) {
        struct curl_slist *l = NULL;

        if (!isempty(connect_to)) {
                l = curl_slist_append(NULL, connect_to);
                if (!l)
                        return -ENOMEM;
        }
        SETOPT(c, CURLOPT_CONNECT_TO, l);
        curl_slist_free_all(c->connect_to);
        c->connect_to = l;
        return 0;
}

void http_client_set_timeouts(struct http_client *c, uint64_t connect_usec, uint64_t total_usec) {
        c->connect_usec = connect_usec;
        c->total_usec = total_usec;
}

void http_client_set_max_body(struct http_client *c, size_t max) {
        c->max_body = max;
}

void http_client_set_retries(struct http_client *c, unsigned max_retries, uint64_t max_wait_usec) {
        c->max_retries = max_retries;
        c->max_wait_usec = max_wait_usec;
}

void http_client_set_retry_callback(struct http_client *c,
                                    void (*cb)(void *userdata, long status, int error, uint64_t wait_usec),
                                    void *userdata) {
        c->retry_cb = cb;
        c->retry_userdata = userdata;
}

const char *http_client_last_error(const struct http_client *c) {
        return c->errbuf;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata) {
        struct transfer *t = userdata;
        size_t n = size * nmemb;

        if (t->size + n > t->max) {
                t->too_big = true;
                return 0; /* makes curl fail with CURLE_WRITE_ERROR */
        }
        if (t->size + n + 1 > t->allocated) {
                size_t want = t->allocated ? t->allocated : 4096;
                while (want < t->size + n + 1)
                        want *= 2;
                /* Not realloc: a reply may hold a secret (a Secret's data), and the
                 * old block is cleared before it is freed. */
                char *grown = malloc(want);
                if (!grown)
                        return 0;
                if (t->body) {
                        memcpy(grown, t->body, t->size);
                        explicit_bzero(t->body, t->allocated);
                        free(t->body);
                }
                t->body = grown;
                t->allocated = want;
        }
        memcpy(t->body + t->size, data, n);
        t->size += n;
        t->body[t->size] = '\0';
        return n;
}

/* Keeps the value of header NAME (case-insensitive), trimmed. */
static void keep_header(const char *line, size_t n, const char *name, char **field) {
        size_t len = strlen(name);

        if (n <= len + 1 || strncasecmp(line, name, len) != 0 || line[len] != ':')
                return;
        line += len + 1;
        n -= len + 1;
        while (n > 0 && (*line == ' ' || *line == '\t'))
                line++, n--;
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
                n--;
        free(*field);
        *field = strndup(line, n);
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *userdata) {
        struct transfer *t = userdata;
        size_t n = size * nmemb;

        /* A new status line (after a redirect or 100-continue) starts afresh. */
        if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                free(t->content_type);
                free(t->retry_after);
                t->content_type = t->retry_after = NULL;
        }
        keep_header(data, n, "Content-Type", &t->content_type);
        keep_header(data, n, "Retry-After", &t->retry_after);
        return n;
}

static void transfer_done(struct transfer *t) {
        if (t->body)
                explicit_bzero(t->body, t->allocated);
        free(t->body);
        free(t->content_type);
        free(t->retry_after);
        *t = (struct transfer) {};
}

static bool is_retryable(int r, long status) {
        if (r == -ECONNRESET)
                return true;
        return r == 0 && (status == 429 || (status >= 500 && status <= 599));
}

/* How long to wait before try number ATTEMPT (1 = first retry). Retry-After is either
 * delay-seconds (1*DIGIT, RFC 9110 10.2.3: no sign, no blank) or an HTTP date; a date,
 * or anything else, is treated like a missing header. */
static uint64_t retry_wait(const struct http_client *c, const char *retry_after, unsigned attempt) {
        uint64_t wait = 200000ULL << (attempt > 6 ? 6 : attempt - 1);
        long secs;

        if (retry_after && *retry_after && strspn(retry_after, "0123456789") == strlen(retry_after) &&
            parse_int_range(retry_after, 0, 86400, &secs) >= 0)
                wait = (uint64_t) secs * 1000000ULL;
        if (c->max_wait_usec && wait > c->max_wait_usec)
                wait = c->max_wait_usec;
        return wait;
}

static void sleep_usec(uint64_t usec) {
        struct timespec ts = { .tv_sec = usec / 1000000ULL, .tv_nsec = (usec % 1000000ULL) * 1000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Nothing is ever read for a request body but the bytes handed to the request. */
static size_t no_read_cb(char *buffer, size_t size, size_t nitems, void *userdata) {
        return CURL_READFUNC_ABORT;
}

static int perform_once(struct http_client *c, const char *method, const char *url,
                        struct curl_slist *headers, const void *body, size_t body_size,
                        struct transfer *t, long *ret_status) {
        CURLcode code;

        SETOPT(c, CURLOPT_URL, url);
        SETOPT(c, CURLOPT_HTTPHEADER, headers);
        SETOPT(c, CURLOPT_ERRORBUFFER, c->errbuf);
        SETOPT(c, CURLOPT_NOSIGNAL, 1L);
        SETOPT(c, CURLOPT_FOLLOWLOCATION, 0L);
        SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
        SETOPT(c, CURLOPT_TCP_KEEPALIVE, 1L);
        SETOPT(c, CURLOPT_CONNECTTIMEOUT_MS, (long) (c->connect_usec / 1000));
        SETOPT(c, CURLOPT_TIMEOUT_MS, (long) (c->total_usec / 1000));
        SETOPT(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) c->max_body);
        SETOPT(c, CURLOPT_WRITEFUNCTION, write_cb);
        SETOPT(c, CURLOPT_WRITEDATA, t);
        SETOPT(c, CURLOPT_HEADERFUNCTION, header_cb);
        SETOPT(c, CURLOPT_HEADERDATA, t);
        /* Exactly the body given, or none: never curl's default read callback, which
         * reads stdin. Setting CURLOPT_POSTFIELDS (even to NULL) makes the request a
         * POST whose body, without fields, is read from stdin with chunked encoding;
         * a request without a body is reset to GET and then renamed. */
        SETOPT(c, CURLOPT_UPLOAD, 0L);
        SETOPT(c, CURLOPT_READFUNCTION, no_read_cb);
        SETOPT(c, CURLOPT_READDATA, NULL);
        if (body) {
                SETOPT(c, CURLOPT_NOBODY, 0L);
                SETOPT(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_size);
                SETOPT(c, CURLOPT_POSTFIELDS, body);
        } else {
                SETOPT(c, CURLOPT_HTTPGET, 1L);
                SETOPT(c, CURLOPT_NOBODY, streq(method, "HEAD") ? 1L : 0L);
        }
        SETOPT(c, CURLOPT_CUSTOMREQUEST, method);

        c->errbuf[0] = '\0';
        code = curl_easy_perform(c->curl);
        if (t->too_big) {
                snprintf(c->errbuf, sizeof(c->errbuf), "response body larger than %zu bytes", c->max_body);
                return -EFBIG;
        }
        if (code == CURLE_FILESIZE_EXCEEDED) {
                snprintf(c->errbuf, sizeof(c->errbuf), "response body larger than %zu bytes", c->max_body);
                return -EFBIG;
        }
        if (code != CURLE_OK) {
                if (!c->errbuf[0])
                        snprintf(c->errbuf, sizeof(c->errbuf), "%s", curl_easy_strerror(code));
                return curl_to_errno(code);
        }
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, ret_status);
        return 0;
}

int http_client_request(struct http_client *c, const char *method, const char *url,
                        const char *content_type, const char *accept,
                        const void *body, size_t body_size, struct http_response *ret) {
        struct curl_slist *headers = NULL, *l;
        _cleanup_free_ char *ct = NULL, *acc = NULL;
        uint64_t start = now_usec();
        unsigned attempt = 0;
        int r = 0;

        /* No "Expect: 100-continue" round trip for request bodies. */
        headers = curl_slist_append(headers, "Expect:");
        if (headers && content_type) {
                ct = strdup_printf("Content-Type: %s", content_type);
                l = ct ? curl_slist_append(headers, ct) : NULL;
                headers = l ? l : (curl_slist_free_all(headers), NULL);
        }
        if (headers && accept) {
                acc = strdup_printf("Accept: %s", accept);
                l = acc ? curl_slist_append(headers, acc) : NULL;
                headers = l ? l : (curl_slist_free_all(headers), NULL);
        }
        if (headers && c->bearer) {
                l = curl_slist_append(headers, c->bearer);
                headers = l ? l : (curl_slist_free_all(headers), NULL);
        }
        if (!headers)
                return -ENOMEM;

        for (;;) {
                struct transfer t = { .max = c->max_body };
                long status = 0;

                attempt++;
                r = perform_once(c, method, url, headers, body, body_size, &t, &status);
                if (attempt <= c->max_retries && is_retryable(r, status)) {
                        uint64_t wait = retry_wait(c, t.retry_after, attempt);
                        if (c->retry_cb)
                                c->retry_cb(c->retry_userdata, status, r, wait);
                        transfer_done(&t);
                        sleep_usec(wait);
                        continue;
                }
                if (r < 0) {
                        transfer_done(&t);
                        break;
                }
                if (!t.body) {
                        t.body = strdup("");
                        if (!t.body) {
                                transfer_done(&t);
                                r = -ENOMEM;
                                break;
                        }
                }
                *ret = (struct http_response) {
                        .status = status,
                        .body = t.body,
                        .body_size = t.size,
                        .content_type = t.content_type,
                        .attempts = attempt,
                        .elapsed_usec = now_usec() - start,
                };
                free(t.retry_after);
                break;
        }

        /* The header list holds the token: scrub it before it is freed. */
        for (l = headers; l; l = l->next)
                explicit_bzero(l->data, strlen(l->data));
        curl_slist_free_all(headers);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
        return r;
}

void http_response_done(struct http_response *r) {
        if (r->body)
                explicit_bzero(r->body, r->body_size);
        free(r->body);
        free(r->content_type);
        *r = (struct http_response) {};
}

char *http_escape(const char *s) {
        static const char safe[] = "-._~";
        size_t n = strlen(s);
        char *out = malloc(n * 3 + 1), *p = out;

        if (!out)
                return NULL;
        for (; *s; s++) {
                unsigned char ch = (unsigned char) *s;
                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    strchr(safe, ch))
                        *p++ = (char) ch;
                else
                        p += sprintf(p, "%%%02X", ch);
        }
        *p = '\0';
        return out;
}
