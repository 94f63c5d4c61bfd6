/* SPDX-License-Identifier: MIT */
/* base/http.c's reading of what a server sends besides the body: response header
 * lines (Content-Type, Retry-After; a new status line starts afresh) against a model,
 * the wait Retry-After asks for (delay-seconds, RFC 9110 10.2.3: 1*DIGIT; anything
 * else, an HTTP date included, is treated as no header: the backoff), always within
 * the client's cap; and the body collected in chunks never past its cap.
 *
 * Input: header lines, one per "\n" (each handed to the callback with "\r\n", as curl
 * does), then "\n---8<---\n" and the body, cut into chunks of 1 to 256 bytes by the
 * input's first byte. */
#include "fuzz.h"
/* keep_header, header_cb, retry_wait and write_cb are static: the harness includes the
 * source (and the Makefile leaves that object out of this harness's link). */
#include "base/http.c"

#define MAX_WAIT_USEC (120 * 1000000ULL)

/* The model's header value: NAME: VALUE (name case-insensitive), blanks trimmed
 * before, blanks and line ends after. */
static char *model_header(const char *line, const char *name) {
        size_t len = strlen(name), n;

        if (strncasecmp(line, name, len) != 0 || line[len] != ':')
                return NULL;
        line += len + 1;
        line += strspn(line, " \t");
        n = strlen(line);
        while (n > 0 && strchr(" \r\n", line[n - 1]))
                n--;
        return fuzz_strndup((const uint8_t *) line, n);
}

static bool same(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *a, *b;
        size_t a_size, b_size, chunk;
        char *headers, *want_type = NULL, *want_retry = NULL;
        struct transfer t = {};
        struct http_client c = { .max_wait_usec = MAX_WAIT_USEC };
        long secs = -1;

        if (size > 65536)
                return 0;
        fuzz_split(data, size, &a, &a_size, &b, &b_size);

        /* 1. Headers, line by line, against the model. */
        headers = fuzz_strndup(a, a_size);
        for (char *line = headers, *next; line; line = next) {
                char *nl = strchr(line, '\n'), *full, *v;
                next = nl ? nl + 1 : NULL;
                if (nl)
                        *nl = '\0';
                if (asprintf(&full, "%s\r\n", line) < 0)
                        abort();
                FUZZ_ASSERT(header_cb(full, 1, strlen(full), &t) == strlen(full));
                if (strncmp(full, "HTTP/", 5) == 0) {
                        free(want_type);
                        free(want_retry);
                        want_type = want_retry = NULL;
                }
                if ((v = model_header(full, "Content-Type"))) {
                        free(want_type);
                        want_type = v;
                }
                if ((v = model_header(full, "Retry-After"))) {
                        free(want_retry);
                        want_retry = v;
                }
                free(full);
                FUZZ_ASSERT(same(t.content_type, want_type) && same(t.retry_after, want_retry));
        }

        /* 2. The wait: delay-seconds (at most a day) as asked, capped; else the backoff. */
        if (want_retry && *want_retry && strspn(want_retry, "0123456789") == strlen(want_retry)) {
                secs = 0;
                for (const char *p = want_retry; *p && secs <= 86400; p++)
                        secs = secs * 10 + (*p - '0');
                if (secs > 86400)
                        secs = -1;
        }
        for (unsigned attempt = 1; attempt <= 10; attempt++) {
                uint64_t want = secs >= 0 ? (uint64_t) secs * 1000000ULL : 200000ULL << (attempt > 6 ? 6 : attempt - 1);
                if (want > MAX_WAIT_USEC)
                        want = MAX_WAIT_USEC;
                FUZZ_ASSERT(retry_wait(&c, t.retry_after, attempt) == want);
        }

        /* 3. The body in chunks: kept whole up to the cap, refused past it. */
        t.max = 1024;
        chunk = size ? (size_t) data[0] % 256 + 1 : 1;
        for (size_t off = 0; off < b_size; off += chunk) {
                size_t n = b_size - off < chunk ? b_size - off : chunk, before = t.size;
                size_t got = write_cb((char *) b + off, 1, n, &t);
                if (before + n > t.max) {
                        FUZZ_ASSERT(got == 0 && t.too_big && t.size == before);
                        break;
                }
                FUZZ_ASSERT(got == n && t.size == before + n && memcmp(t.body + before, b + off, n) == 0 &&
                            t.body[t.size] == '\0');
        }

        transfer_done(&t);
        free(want_type);
        free(want_retry);
        free(headers);
        return 0;
}
