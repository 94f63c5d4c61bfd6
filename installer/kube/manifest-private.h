/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by manifest.c and manifest-tls.c; not part of the module's API. */

#include "base/util.h"

/* Sets *RET_ERROR (when RET_ERROR is not NULL) to a malloc()ed message made from FMT,
 * and returns -EINVAL: the one way both files refuse a manifest. */
int manifest_fail(char **ret_error, const char *fmt, ...) _printf_(2, 3);
