/* SPDX-License-Identifier: MIT */
#pragma once

/* YAML <-> JSON (jansson), on libyaml. Kubernetes objects and kubeconfig files are
 * YAML; everything inside the program is a JSON tree.
 *
 * Loading follows the YAML 1.2 core schema as Kubernetes (sigs.k8s.io/yaml) reads it:
 * plain scalars true/false, null/~/empty, integers and floats become JSON types,
 * everything quoted or else is a string; anchors and aliases are refused (-EINVAL)
 * rather than expanded (no "billion laughs"); mapping keys must be scalars; input
 * larger than the cap or nested deeper than 64 levels is refused. Never prints:
 * on -EINVAL, ret_error (optional) gets "line N column M: what". */

#include <jansson.h>
#include <stddef.h>

#define YAML_MAX_INPUT (4u << 20)

/* Every document of TEXT, as a JSON array (empty documents skipped). */
int yaml_load_all(const char *text, size_t size, json_t **ret_docs, char **ret_error);
/* Exactly one document; -EINVAL for none or more than one. */
int yaml_load_one(const char *text, size_t size, json_t **ret_doc, char **ret_error);

/* JSON to block-style YAML text, keys in the object's order; strings that would read
 * back as another type ("true", "1.0", "", "0755") are quoted. */
int yaml_dump(const json_t *doc, char **ret_text);
