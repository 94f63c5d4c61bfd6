/* SPDX-License-Identifier: MIT */
#pragma once

/* Text from outside: the API server, the daemon, files, the environment, the command
 * line. Two ways to show it, one test of whether a setting may hold it.
 *
 * Invariants:
 * - text_sanitize() is the one cleaning helper for text that is shown as it is (a
 *   daemon's driver name, an API server's message): capped, cut at a UTF-8 boundary,
 *   control characters replaced. Every layer applies it where such text enters.
 * - text_escape() is for echoing a value that is refused: every byte stays visible
 *   (C escapes for control characters, \xNN for bytes that are not UTF-8), so the
 *   person sees what was wrong with it.
 * - Control characters: C0 (newline included, unless said), DEL, and C1 (U+0080 to
 *   U+009F, as UTF-8). Never print, never fail but for -ENOMEM (NULL). */

#include <stdbool.h>
#include <stddef.h>

/* A copy of the first LEN bytes of S, at most MAX bytes (cut at a UTF-8 boundary), in
 * which control characters (but newline) read as '?'. NULL for NULL S or on -ENOMEM. */
char *text_sanitize(const char *s, size_t len, size_t max);

/* The same for a NUL-terminated string, newlines read as '?' too: one line. */
char *text_sanitize_line(const char *s, size_t max);

/* S with control characters and bytes that are not UTF-8 escaped ("\n", "\t", "\e",
 * "\x80"; a backslash stays as it is, as in systemd's unit names); at most MAX bytes of
 * S are shown, then "...". The result is printable UTF-8 on one line. NULL for NULL S or
 * on -ENOMEM. */
char *text_escape(const char *s, size_t max);

/* The one strict UTF-8 decoder: the length (1 to 4) of the character S starts, or 0
 * when the bytes at S are not one (an overlong form, a surrogate, above U+10FFFF, a
 * sequence cut short by a NUL or another byte). S[0] is not NUL. */
size_t text_utf8_char(const char *s);

/* S is valid UTF-8 (text_utf8_char() all along). */
bool text_is_utf8(const char *s);

/* Why S cannot be a setting: "is not valid UTF-8", "holds a control character", or
 * NULL when it is printable UTF-8 text. */
const char *text_setting_problem(const char *s);
