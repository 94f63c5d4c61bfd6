/* SPDX-License-Identifier: MIT */
#pragma once

/* The API server's rules for the fields our flags fill, so that a bad value is refused
 * when it is typed, with the reason the API server would give, and never reaches a
 * cluster:
 *   - DNS-1123 labels (namespaces) and subdomains (node names);
 *   - label values (a node name is matched against the kubernetes.io/hostname label);
 *   - CronJob schedules as robfig/cron v3's standard parser, which the API server and
 *     the CronJob controller use, reads them: five fields (minute hour day-of-month
 *     month day-of-week, split on Unicode white space as Go's strings.Fields) of comma
 *     lists (empty entries dropped) of *, ?, N, N-M, names (jan-dec, sun-sat), each
 *     with an optional /STEP ("*" or "?" before a '-' is the whole field, as robfig
 *     reads it); or @yearly @annually @monthly @weekly @daily @midnight @hourly or
 *     @every DURATION (Go's time.ParseDuration, a negative one too); no "TZ";
 *   - container image references, by the Docker reference grammar
 *     (distribution/reference's ParseNormalizedNamed: [domain[:port]/]path[:tag][@digest];
 *     the path, docker.io's "library/" counted, and the whole normalised name at most
 *     255 characters); a first component that looks like a registry must be one;
 *   - local volume paths: absolute, no ".." component; "." components, repeated and
 *     trailing slashes are dropped.
 *
 * Each function returns 0 when S is valid; -EINVAL with *RET_REASON (when not NULL) set to a
 * malloc()ed reason in lower case (the reason only: the caller names the flag and
 * the value), or -ENOMEM. A reason is one printable line, whatever S holds: the parts
 * of S it quotes are escaped (base/text.h, text_escape). Library code: never prints. */

int validate_dns_label(const char *s, char **ret_reason);
int validate_dns_subdomain(const char *s, char **ret_reason);
int validate_label_value(const char *s, char **ret_reason);
/* A node name: a DNS-1123 subdomain that is also a label value (the PersistentVolume's
 * node affinity matches it against the node's kubernetes.io/hostname label). */
int validate_node_name(const char *s, char **ret_reason);
int validate_cron_schedule(const char *s, char **ret_reason);
int validate_image_reference(const char *s, char **ret_reason);
/* An absolute path for a local volume, normalised into *RET_PATH. */
int validate_local_path(const char *s, char **ret_path, char **ret_reason);
