/* SPDX-License-Identifier: MIT */
#pragma once

/* YAML <-> JSON (jansson), on libyaml. Kubernetes objects and kubeconfig files are
 * YAML; everything inside the program is a JSON tree.
 *
 * Loading follows the YAML 1.2 core schema, with the numbers as Kubernetes
 * (sigs.k8s.io/yaml, on go-yaml v2) reads them. For plain (unquoted) scalars:
 *   null   "", ~, null, Null, NULL
 *   bool   true, True, TRUE, false, False, FALSE
 *   int    decimal; 0x hex, 0o and leading-zero octal ("0755" is 493, as kubectl
 *          reads file modes), 0b binary; too large for int64: a float
 *   float  1.5, .5, 1e3, 2.5E-3 (.inf and .nan are refused: JSON has no such number)
 *   string everything else, and every quoted or block scalar; tags !!str, !!int,
 *          !!float, !!bool, !!null are honoured, any other tag is refused, on
 *          mapping keys as on values (a key stays text: "!!int 1: x" is key "1").
 * Deliberate difference from kubectl: YAML 1.1's y/n/yes/no/on/off (any case form)
 * are read as STRINGS, not booleans. Silently turning a word into a boolean is the
 * classic YAML trap; a consumer that wants a boolean gets a string and must refuse it
 * (fail closed) or accept those words explicitly. Our manifests quote such values, and
 * yaml_dump() quotes them too, so what we write reads the same under both schemas.
 *
 * Refused with -EINVAL (never expanded or guessed): anchors and aliases (no "billion
 * laughs"), merge keys (<<), non-scalar mapping keys, duplicate keys, keys with a NUL,
 * input larger than YAML_MAX_INPUT, nesting deeper than 64 levels, more than 2^18
 * nodes, malformed YAML (tabs as indentation, unclosed quotes, control characters,
 * invalid UTF-8). Never prints: on -EINVAL, ret_error (optional; caller frees) gets
 * "line N column M: what" (1-based). Other failures: -ENOMEM. */

#include <jansson.h>
#include <stddef.h>

#define YAML_MAX_INPUT (4u << 20)

/* Every document of TEXT, as a JSON array (empty and null documents skipped, as
 * kubectl skips them). */
int yaml_load_all(const char *text, size_t size, json_t **ret_docs, char **ret_error);
/* Exactly one document; -EINVAL for none or more than one. */
int yaml_load_one(const char *text, size_t size, json_t **ret_doc, char **ret_error);

/* JSON to one block-style YAML document (no "---"), keys in the object's order.
 * Strings that any YAML 1.2 or 1.1 resolver (kubectl's go-yaml, PyYAML) could read
 * as another type are double-quoted: booleans and nulls in every case form, ints in
 * every base with prefixes in either case, underscores and signs ("0B10", "0O17",
 * "0x1_0", "+0x_1"), floats, .inf/.nan, sexagesimal ("1:20"), dates and timestamps,
 * "" -- in practice every string that starts with [-+.0-9] and is made only of
 * number characters; multi-line strings are
 * literal blocks (|) where that is exact, else double-quoted with escapes; floats
 * always carry a "." or an exponent. load(dump(x)) equals x. -EINVAL for more than 64
 * nested collections (what loading refuses), -ENOMEM. The caller frees *ret_text. */
int yaml_dump(const json_t *doc, char **ret_text);
