/* SPDX-License-Identifier: MIT */
#pragma once

/* Standard base64 (RFC 4648, "+/" and "=" padding), as Go's encoding/json writes a
 * []byte: the authorization plugin's request and response bodies and its peer
 * certificates arrive that way (and its tests make them so).
 *
 * Invariants: strict. Every character is of the alphabet, the length a multiple of
 * four, padding only at the end and the unused bits zero (what Go's StdEncoding
 * accepts, but its newline skipping: dockerd never writes one). Never prints. */

#include <stddef.h>

/* Decodes the LEN characters at S into a new buffer of at most MAX bytes (a NUL is
 * added after them, not counted in *RET_SIZE). -EBADMSG not base64, -EFBIG the
 * result would be longer than MAX, -ENOMEM. */
int base64_decode(const char *s, size_t len, size_t max, char **ret, size_t *ret_size);

/* The SIZE bytes at DATA encoded, NUL-terminated; NULL on -ENOMEM. */
char *base64_encode(const void *data, size_t size);
