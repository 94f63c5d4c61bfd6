/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading the numbers and times of the daemon's JSON, shared by the files of docker/.
 * Never fails: what is absent or out of range reads as 0. */

#include <jansson.h>
#include <stdint.h>

/* An integer the daemon sent at KEY of O; 0 when absent or out of range (a real such
 * as 1e300 would make the conversion undefined). */
int64_t docker_json_int(const json_t *o, const char *key);

/* RFC 3339 "2024-05-01T10:15:00.123Z" (UTC or +hh:mm) to unix seconds; 0 for Go's zero
 * time, NULL or text that is not a time. */
int64_t docker_json_time(const char *s);
