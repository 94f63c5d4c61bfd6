/* SPDX-License-Identifier: MIT */
#pragma once

/* Small helpers shared by every module: cleanup attributes, atomic file writes,
 * Kubernetes quantities and Go-style durations.
 *
 * Like every library module: functions return 0 or a positive result on success and
 * a negative errno on failure, never print, and leave ret_ parameters untouched on
 * failure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
static inline void closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}
/* For buffers that held a secret (a private key, a token): cleared before free().
 * NUL-terminated text; NULL is fine. */
static inline void erase_and_free(char *p) {
        if (p) {
                explicit_bzero(p, strlen(p));
                free(p);
        }
}
static inline void erase_and_freep(char **p) {
        erase_and_free(*p);
}
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_erase_ _cleanup_(erase_and_freep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_close_ _cleanup_(closep)

/* Hand over ownership: returns *p and sets *p to NULL (or -1 for fds). */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

static inline bool streq(const char *a, const char *b) {
        return a && b && __builtin_strcmp(a, b) == 0;
}
static inline bool isempty(const char *s) {
        return !s || !*s;
}

/* NULL-terminated string vectors. */
void strv_free(char **v);
static inline void strv_freep(char ***v) {
        strv_free(*v);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)
size_t strv_length(char *const *v);
/* Appends a copy of S; -ENOMEM on failure, *v unchanged. */
int strv_extend(char ***v, const char *s);
bool strv_contains(char *const *v, const char *s);
/* Sorts V (N strings, strcmp order) and drops repeats (freed), NULL after the last:
 * returns how many are left. */
size_t strv_sort_unique(char **v, size_t n);
/* S is among the N strings of V, sorted by strv_sort_unique() (a binary search). */
bool strv_sorted_contains(char *const *v, size_t n, const char *s);

/* Replaces *P (freed) with a copy of S; -ENOMEM leaves *P as it was. */
int free_and_strdup(char **p, const char *s);

/* asprintf that returns NULL on failure. */
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);

/* Writes DATA to PATH atomically: a temporary file in the same directory created with
 * MODE (0600 for secrets), fsync'ed, renamed over PATH, and the directory fsync'ed.
 * Creates missing parent directories with mode 0755. Returns 1 if PATH was written,
 * 0 if it already held exactly DATA with MODE (nothing touched), negative errno. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);
/* PATH is a regular file that holds exactly DATA (SIZE bytes) with MODE: what
 * write_file_atomic() would leave untouched. */
bool file_has_content(const char *path, const void *data, size_t size, mode_t mode);

/* mkdir -p of what lies above PATH: every missing directory on the way to it (not
 * PATH itself) is made with mode 0755 (as the umask leaves it). */
int mkdir_parents(const char *path);

/* mkdir -p DIR: the missing directories above it as mkdir_parents(), DIR itself with
 * MODE whatever the umask. 1 when it made DIR, 0 when DIR was a directory already
 * (its mode untouched), -ENOTDIR when it is something else. */
int mkdir_p(const char *dir, mode_t mode);

/* write_file_atomic() without the fsyncs: readers never see half a file, but a crash of the node
 * may lose the last writes. For state that a crash makes moot anyway (the plugin's
 * container ownership: a node crash takes the containers too). */
int write_file_replace(const char *path, const void *data, size_t size, mode_t mode);

/* Opens PATH (FLAGS: O_RDONLY, ...; O_CLOEXEC is added) only if it is a regular file,
 * without ever blocking in open(): a FIFO, socket or device named by input (a
 * kubeconfig, a file it names, the env file) is -EBADFD, a directory -EISDIR. Returns
 * the fd, in blocking mode. */
int open_regular(const char *path, int flags);

/* strerror() that names open_regular()'s refusals: "not a regular file". */
const char *file_error_to_string(int error);

/* Removes the temporary files write_file_atomic(PATH) left when it was killed before
 * its rename (PATH.tmp-XXXXXX); write_file_atomic does this first itself. A writer
 * holds a flock on its temporary file until the rename, so the file of a concurrent
 * writer (the timer's run and one by hand) is left alone. Returns how many it
 * removed, or <0. */
int remove_stale_temps(const char *path);

/* Reads a whole regular file (open_regular()) of at most MAX bytes, NUL-terminated.
 * -EFBIG if larger. */
int read_file_full(const char *path, size_t max, char **ret_data, size_t *ret_size);

/* What a file was when it was last read, so that a reader polled on every request
 * reads it again only when it changed (inode, size or modification time differ). */
struct file_stamp {
        bool known;                     /* the fields below describe the file read last */
        bool present;
        ino_t ino;
        off_t size;
        struct timespec mtime;
};

/* Whether the file at PATH differs from STAMP: 0 the same (or still absent), 1
 * changed (or never read), -errno when stat() fails but for ENOENT. RET_NOW is what
 * stat() saw (before the caller reads the file: a change after it shows next time);
 * the caller makes it STAMP once it has read the file. */
int file_stamp_check(const struct file_stamp *stamp, const char *path, struct file_stamp *ret_now);

/* Reads PATH (at most MAX bytes, read_file_full()) when it differs from STAMP: 1 read,
 * *RET_DATA NULL when the file is absent; 0 unchanged (nothing returned); -errno. The
 * caller makes *RET_NOW its stamp once it has used the data. */
int file_read_changed(const struct file_stamp *stamp, const char *path, size_t max, char **ret_data,
                      size_t *ret_size, struct file_stamp *ret_now);

/* Kubernetes resource quantity to bytes, exactly as resource.Quantity reads it and
 * Value() rounds it: "5Gi", "500Mi", "10G", "1.5Ti", "1e9", ".13M", "1E-3", "123".
 * Binary suffixes Ki Mi Gi Ti Pi Ei, decimal n u m k M G T P E, e/E exponents; exact
 * decimal arithmetic, a fraction of a byte rounded up. -EINVAL on malformed text (or
 * a negative quantity), -ERANGE past UINT64_MAX. */
int parse_quantity(const char *s, uint64_t *ret_bytes);
/* The same in thousandths, as Quantity.MilliValue() (CPU: "500m" -> 500, "1.5" -> 1500,
 * "2" -> 2000); a fraction of a thousandth rounded up. */
int parse_quantity_milli(const char *s, uint64_t *ret_milli);
/* Thousandths as the API server writes CPU: 2000 -> "2", 1500 -> "1500m". Returns BUF. */
char *format_quantity_milli(uint64_t milli, char *buf, size_t size);

/* Bytes to the largest exact binary quantity: 5368709120 -> "5Gi", 1000 -> "1000".
 * BUF must hold at least 32 bytes. Returns BUF. */
char *format_quantity(uint64_t bytes, char *buf, size_t size);

/* The volume capacity to claim on a filesystem of FS_BYTES (install's PV, render's
 * manifests): rounded down to a whole GiB, or a whole MiB below 1 GiB, so that the
 * claim never exceeds the disk and reads well ("49Gi", not "52521566208"); below
 * 1 MiB the size itself, never 0 for a filesystem that has a size. */
uint64_t capacity_round_down(uint64_t fs_bytes);

/* Bytes to a short readable size: "4.9G". BUF must hold at least 16 bytes. */
char *format_bytes(uint64_t bytes, char *buf, size_t size);

/* Go duration (time.ParseDuration) to microseconds: "168h", "5m", "1h30m", "1.5h",
 * "500ms", "250us"; a plain number is seconds. Exact: -EDOM when it is not a whole
 * number of microseconds ("1ns", "0.5us"), never rounded. -EINVAL malformed, -ERANGE
 * overflow. */
int parse_duration(const char *s, uint64_t *ret_usec);

/* Microseconds to exact Go duration text: "1h30m", "90s" -> "1m30s", 1.5 s ->
 * "1s500ms", 0 -> "0s". BUF must hold at least 32 bytes. */
char *format_duration(uint64_t usec, char *buf, size_t size);

/* Monotonic clock in microseconds. */
uint64_t now_usec(void);

/* Parses a decimal integer in [min, max]. -EINVAL, -ERANGE. */
int parse_int_range(const char *s, long min, long max, long *ret);
