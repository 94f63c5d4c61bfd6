/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

size_t text_utf8_char(const char *text) {
        const unsigned char *s = (const unsigned char *) text;
        unsigned char c = s[0];
        size_t n;
        unsigned cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, cp = c & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* The sequence at S is a C1 control character (U+0080 to U+009F). */
static bool is_c1(const unsigned char *s) {
        return s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f;
}

static char *sanitize(const char *s, size_t len, size_t max, bool keep_newline) {
        char *out, *o;

        if (!s)
                return NULL;
        if (len > max) {
                len = max;
                while (len > 0 && ((unsigned char) s[len] & 0xc0) == 0x80)
                        len--;
        }
        out = o = malloc(len + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c == 0xc2 && i + 1 < len && (unsigned char) s[i + 1] >= 0x80 &&
                    (unsigned char) s[i + 1] <= 0x9f) {
                        *o++ = '?';
                        i++;
                } else if ((c < 0x20 && !(c == '\n' && keep_newline)) || c == 0x7f)
                        *o++ = '?';
                else
                        *o++ = (char) c;
        }
        *o = '\0';
        return out;
}

char *text_sanitize(const char *s, size_t len, size_t max) {
        return sanitize(s, len, max, true);
}

char *text_sanitize_line(const char *s, size_t max) {
        return s ? sanitize(s, strlen(s), max, false) : NULL;
}

char *text_escape(const char *s, size_t max) {
        size_t len, cut;
        char *out, *o;

        if (!s)
                return NULL;
        len = strlen(s);
        cut = len > max ? max : len;
        out = o = malloc(cut * 4 + 4);
        if (!out)
                return NULL;
        for (size_t i = 0; i < cut;) {
                const unsigned char *p = (const unsigned char *) s + i;
                size_t n = text_utf8_char((const char *) p);

                if (n > 1 && i + n <= cut && !is_c1(p)) {
                        memcpy(o, p, n);
                        o += n;
                        i += n;
                        continue;
                }
                switch (*p) {
                case '\n': o += sprintf(o, "\\n"); break;
                case '\r': o += sprintf(o, "\\r"); break;
                case '\t': o += sprintf(o, "\\t"); break;
                case '\033': o += sprintf(o, "\\e"); break;
                default:
                        if (*p < 0x20 || *p >= 0x7f)
                                o += sprintf(o, "\\x%02x", *p);
                        else
                                *o++ = (char) *p;
                }
                i++;
        }
        if (cut < len)
                o += sprintf(o, "...");
        *o = '\0';
        return out;
}

bool text_is_utf8(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = text_utf8_char((const char *) p);
                if (n == 0)
                        return false;
                p += n;
        }
        return true;
}

const char *text_setting_problem(const char *s) {
        if (!text_is_utf8(s))
                return "is not valid UTF-8";
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f || is_c1(p))
                        return "holds a control character";
        return NULL;
}
