#!/usr/bin/env python3
"""A fake Kubernetes API server for the integration tests (Python stdlib only).

It follows the Kubernetes API reference where the installer uses it:

- HTTPS on 127.0.0.1 with a CA it makes (openssl CLI); client-certificate auth (identity
  from the verified peer certificate: CN = user, O = groups) and bearer token auth;
  anything else is 401 (anonymous auth is off, as on hardened clusters).
- Core v1, apps/v1, batch/v1, storage.k8s.io/v1, networking.k8s.io/v1 and
  discovery.k8s.io/v1 resources: GET (object, list with labelSelector/fieldSelector),
  POST, PUT, DELETE, PATCH (apply-patch+yaml, merge-patch+json, json-patch+json;
  strategic-merge-patch+json is treated as a merge patch).
- Status objects as the API server writes them (apimachinery's errors.go messages).
- Server-side apply: fieldManager required (422 PatchOptions), create 201 / update 200,
  managedFields per manager (FieldsV1), FieldManagerConflict 409 unless force=true,
  shared ownership on equal values, no-op re-apply keeps the resourceVersion.
- dryRun=All: validation and response, nothing persisted, no controller runs.
- Validation (422) for the fields the installer writes, and immutable fields.
- Simulated controllers (ClusterIP allocation, scheduler, PV binder, deployment controller,
  kubelet, endpoints and endpointslice controllers) in a background thread.
- Fault injection: Status replies, slow replies, dropped connections.

Documented differences from a real API server:
- Request bodies are JSON. An apply body that is YAML but not JSON is refused with
  400 "error decoding YAML" (a real server would parse it); JSON is YAML, so clients
  that send JSON see the real behaviour.
- Types are checked only for the fields listed in _INT_FIELDS and friends; unknown
  fields are kept, not refused. Go-formatted values in messages (%#v) are approximate.
- Defaulting covers the fields the installer's objects use, not every default.
- dryRun=All on a Service create does not allocate a ClusterIP.
- No watch, no pagination (limit is ignored; lists are complete).
"""

import argparse
import copy
import hashlib
import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 3 * 1024 * 1024  # the API server's request size limit


# --------------------------------------------------------------------------------------
# Resources


class Resource:
    def __init__(self, plural, group, version, kind, namespaced, verbs=None, generation=False):
        self.plural = plural
        self.group = group
        self.version = version
        self.kind = kind
        self.namespaced = namespaced
        self.verbs = verbs or ["create", "delete", "get", "list", "patch", "update"]
        self.generation = generation  # metadata.generation tracks spec changes

    @property
    def gv(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self):  # schema.GroupResource.String(): "deployments.apps"
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self):  # schema.GroupKind.String(): "Deployment.apps"
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def singular(self):
        return self.kind.lower()


RESOURCES = [
    Resource("namespaces", "", "v1", "Namespace", False),
    Resource("nodes", "", "v1", "Node", False),
    Resource("persistentvolumes", "", "v1", "PersistentVolume", False),
    Resource("persistentvolumeclaims", "", "v1", "PersistentVolumeClaim", True),
    Resource("services", "", "v1", "Service", True),
    Resource("endpoints", "", "v1", "Endpoints", True),
    Resource("pods", "", "v1", "Pod", True),
    Resource("events", "", "v1", "Event", True),
    Resource("configmaps", "", "v1", "ConfigMap", True),
    Resource("secrets", "", "v1", "Secret", True),
    Resource("serviceaccounts", "", "v1", "ServiceAccount", True),
    Resource("deployments", "apps", "v1", "Deployment", True, generation=True),
    Resource("cronjobs", "batch", "v1", "CronJob", True, generation=True),
    Resource("storageclasses", "storage.k8s.io", "v1", "StorageClass", False),
    Resource("networkpolicies", "networking.k8s.io", "v1", "NetworkPolicy", True,
             generation=True),
    Resource("endpointslices", "discovery.k8s.io", "v1", "EndpointSlice", True),
]
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_PLURAL = {r.plural: r for r in RESOURCES}
BY_KIND = {(r.gv, r.kind): r for r in RESOURCES}


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --------------------------------------------------------------------------------------
# Status objects and field errors (k8s.io/apimachinery/pkg/api/errors, util/validation/field)


class APIError(Exception):
    """An error the API answers with a Status object."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        return status_object(self.code, self.reason, self.message, self.details)


def status_object(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": message}
    if reason:
        st["reason"] = reason
    if details is not None:
        st["details"] = details
    st["code"] = code
    return st


def _details(name=None, group=None, kind=None, causes=None, retry_after=None):
    d = {}  # StatusDetails, fields omitted when empty as in the JSON the server writes
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if kind:
        d["kind"] = kind
    if causes:
        d["causes"] = causes
    if retry_after:
        d["retryAfterSeconds"] = retry_after
    return d


def err_not_found(res, name):
    return APIError(404, "NotFound", f'{res.qualified} "{name}" not found',
                    _details(name, res.group, res.plural))


def err_namespace_not_found(ns):
    return err_not_found(BY_PLURAL["namespaces"], ns)


def err_already_exists(res, name):
    return APIError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists',
                    _details(name, res.group, res.plural))


def err_bad_request(message):
    return APIError(400, "BadRequest", message)


def err_forbidden(res, name, user, verb, namespace):
    scope = (f'in the namespace "{namespace}"' if namespace else "at the cluster scope")
    why = (f'User "{user}" cannot {verb} resource "{res.plural}" in API group '
           f'"{res.group}" {scope}')
    subject = f'{res.qualified} "{name}"' if name else res.qualified
    return APIError(403, "Forbidden", f"{subject} is forbidden: {why}",
                    _details(name, res.group, res.plural))


def err_conflict_modified(res, name):
    return APIError(409, "Conflict",
                    f'Operation cannot be fulfilled on {res.qualified} "{name}": the object '
                    "has been modified; please apply your changes to the latest version and "
                    "try again", _details(name, res.group, res.plural))


def err_internal(message):
    # ErrorToAPIStatus for an error that is not a StatusError: 500, reason unknown ("").
    return APIError(500, "", message)


_OMIT = object()
_ERROR_TYPES = {
    "Required": ("FieldValueRequired", "Required value"),
    "Invalid": ("FieldValueInvalid", "Invalid value"),
    "Forbidden": ("FieldValueForbidden", "Forbidden"),
    "NotSupported": ("FieldValueNotSupported", "Unsupported value"),
    "Duplicate": ("FieldValueDuplicate", "Duplicate value"),
    "NotFound": ("FieldValueNotFound", "Not found"),
    "TooLong": ("FieldValueTooLong", "Too long"),
}


def go_value(v):
    """Approximates Go's rendering of a bad value in field errors (%v / %q / %#v)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        if all(isinstance(x, str) for x in v.values()):
            inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v[k])}" for k in sorted(v))
            return "map[string]string{" + inner + "}"
        return "map[string]interface {}{" + ", ".join(
            f"{json.dumps(k)}:{go_value(v[k])}" for k in sorted(v)) + "}"
    if isinstance(v, list):
        if all(isinstance(x, str) for x in v):
            return "[]string{" + ", ".join(json.dumps(x) for x in v) + "}"
        return "[]interface {}{" + ", ".join(go_value(x) for x in v) + "}"
    return str(v)


class FieldError:
    def __init__(self, etype, field, value=_OMIT, detail=""):
        self.etype = etype
        self.field = field
        self.value = value
        self.detail = detail

    def body(self):
        label = _ERROR_TYPES[self.etype][1]
        if self.etype in ("Required", "Forbidden", "TooLong") or self.value is _OMIT:
            s = label
        else:
            s = f"{label}: {go_value(self.value)}"
        if self.detail:
            s += f": {self.detail}"
        return s

    def __str__(self):
        return f"{self.field}: {self.body()}"

    def cause(self):
        return {"reason": _ERROR_TYPES[self.etype][0], "message": self.body(),
                "field": self.field}


def not_supported(field, value, supported):
    return FieldError("NotSupported", field, value,
                      "supported values: " + ", ".join(json.dumps(s) for s in supported))


def err_invalid(group, kind, name, errs):
    gk = f"{kind}.{group}" if group else kind
    agg = str(errs[0]) if len(errs) == 1 else "[" + ", ".join(str(e) for e in errs) + "]"
    return APIError(422, "Invalid", f'{gk} "{name}" is invalid: {agg}',
                    _details(name, group, kind, [e.cause() for e in errs]))


def err_invalid_options(kind, errs):
    return err_invalid("meta.k8s.io", kind, "", errs)


# --------------------------------------------------------------------------------------
# Names, labels, selectors, quantities

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

MSG_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
MSG_SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
MSG_DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
               "start with an alphabetic character, and end with an alphanumeric character "
               "(e.g. 'my-name',  or 'abc-123', regex used for validation is "
               "'[a-z]([-a-z0-9]*[a-z0-9])?')")
MSG_LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric "
                   "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                   "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                   "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def check_dns_label(name, field, errs):
    if len(name) > 63:
        errs.append(FieldError("Invalid", field, name, "must be no more than 63 characters"))
    elif not _DNS1123_LABEL.match(name):
        errs.append(FieldError("Invalid", field, name, MSG_LABEL))


def check_name(res, name, errs):
    if res.kind in ("Namespace",):
        check_dns_label(name, "metadata.name", errs)
    elif res.kind == "Service":
        if not _DNS1035_LABEL.match(name) or len(name) > 63:
            errs.append(FieldError("Invalid", "metadata.name", name, MSG_DNS1035))
    elif len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        errs.append(FieldError("Invalid", "metadata.name", name, MSG_SUBDOMAIN))


def check_labels(labels, field, errs):
    if not isinstance(labels, dict):
        return
    for k, v in labels.items():
        key = k.split("/", 1)[-1]
        prefix = k.split("/", 1)[0] if "/" in k else None
        if (not key or len(key) > 63 or not _QUALIFIED_NAME.match(key)
                or (prefix is not None and not _DNS1123_SUBDOMAIN.match(prefix))):
            errs.append(FieldError("Invalid", field, k,
                                   "name part must consist of alphanumeric characters, '-', "
                                   "'_' or '.', and must start and end with an alphanumeric "
                                   "character"))
        if isinstance(v, str) and (len(v) > 63 or not _LABEL_VALUE.match(v)):
            errs.append(FieldError("Invalid", field, v, MSG_LABEL_VALUE))


def parse_label_selector(text):
    """labelSelector query syntax -> list of (key, op, values); raises APIError 400."""
    reqs = []
    for part in _split_selector(text):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$", part)
        if m:
            vals = [v.strip() for v in m.group(3).split(",") if v.strip()]
            reqs.append((m.group(1), m.group(2), vals))
            continue
        m = re.match(r"^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$", part)
        if m:
            op = "!=" if m.group(2) == "!=" else "="
            reqs.append((m.group(1), op, [m.group(3)]))
            continue
        if re.match(r"^![^\s!=]+$", part):
            reqs.append((part[1:], "!", []))
            continue
        if re.match(r"^[^\s!=(),]+$", part):
            reqs.append((part, "exists", []))
            continue
        raise err_bad_request(f'unable to parse requirement: found \'{part}\', expected: '
                              "identifier")
    return reqs


def _split_selector(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        if op == "=" and (not has or labels[key] != vals[0]):
            return False
        if op == "!=" and has and labels[key] == vals[0]:
            return False
        if op == "in" and (not has or labels[key] not in vals):
            return False
        if op == "notin" and has and labels[key] in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
    return True


def selector_matches(sel, labels):
    """metav1.LabelSelector (matchLabels / matchExpressions) against labels."""
    if not isinstance(sel, dict):
        return False
    labels = labels or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


_FIELD_SELECTORS = {
    "pods": ("metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
             "spec.schedulerName", "spec.serviceAccountName", "status.phase", "status.podIP",
             "status.nominatedNodeName"),
    "events": ("metadata.name", "metadata.namespace", "involvedObject.kind",
               "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"),
    "persistentvolumeclaims": ("metadata.name", "metadata.namespace"),
}


def parse_field_selector(res, text):
    reqs = []
    allowed = _FIELD_SELECTORS.get(res.plural, ("metadata.name", "metadata.namespace"))
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^!=]+)(==|=|!=)(.*)$", part)
        if not m:
            raise err_bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field = m.group(1)
        if field not in allowed:
            raise err_bad_request(f'field label not supported: {field}')
        reqs.append((field, "!=" if m.group(2) == "!=" else "=", m.group(3)))
    return reqs


def fields_match(reqs, obj):
    for field, op, want in reqs:
        if field == "source":
            have = (obj.get("source") or {}).get("component", "")
        else:
            have = obj
            for p in field.split("."):
                have = have.get(p) if isinstance(have, dict) else None
            have = "" if have is None else str(have)
        if (op == "=") != (have == want):
            return False
    return True


_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_SUFFIX = {"": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
           "P": 1e15, "E": 1e18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
           "Pi": 2**50, "Ei": 2**60}


def parse_quantity(q):
    """resource.Quantity -> number, or None if it does not parse."""
    if isinstance(q, bool):
        return None
    if isinstance(q, (int, float)):
        return q
    if not isinstance(q, str):
        return None
    m = _QUANTITY.match(q)
    if not m:
        return None
    try:
        num = float(m.group(1))
    except ValueError:
        return None
    suf = m.group(2)
    if suf in _SUFFIX:
        return num * _SUFFIX[suf]
    m2 = re.match(r"^[eE]([-+]?[0-9]+)$", suf)
    if m2:
        return num * 10 ** int(m2.group(1))
    return None


MSG_QUANTITY = ("quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


# --------------------------------------------------------------------------------------
# Structured merge: field sets (managedFields FieldsV1) and the merge of an applied config
#
# A path is a tuple of elements: ("f", name) a field, ("k", '{"name":"x"}') a list item by
# its keys, ("v", 'json') a set-list item. Which lists are associative, and which structs
# are atomic, follows the Kubernetes OpenAPI markers for the fields the installer uses;
# every other list is atomic.


def _list_keys(names):
    last = names[-1] if names else ""
    prev = names[-2] if len(names) > 1 else ""
    if last in ("containers", "initContainers", "ephemeralContainers", "env", "volumes",
                "imagePullSecrets"):
        return [("name", None)]
    if last == "ports" and prev in ("containers", "initContainers"):
        return [("containerPort", None), ("protocol", "TCP")]
    if last == "ports" and names[-2:] == ("spec", "ports") and len(names) == 2:
        return [("port", None), ("protocol", "TCP")]
    if last == "volumeMounts":
        return [("mountPath", None)]
    if last == "conditions":
        return [("type", None)]
    if last == "ownerReferences":
        return [("uid", None)]
    if last == "topologySpreadConstraints":
        return [("topologyKey", None), ("whenUnsatisfiable", None)]
    return None


def _is_set_list(names):
    return bool(names) and names[-1] == "finalizers"


def _is_atomic_struct(names):
    last = names[-1] if names else ""
    prev = names[-2] if len(names) > 1 else ""
    return (last in ("selector", "podSelector", "namespaceSelector", "labelSelector")
            or (prev == "nodeAffinity" and last == "required"))


class TypedError(Exception):
    pass


def _key_of(item, keys, where):
    if not isinstance(item, dict):
        raise TypedError(f"{where}: expected map, got {type(item).__name__}")
    kv = {}
    for k, default in keys:
        if k in item:
            kv[k] = item[k]
        elif default is not None:
            kv[k] = default
        else:
            raise TypedError(f"{where}: associative list with keys has an element that "
                             f'omits key field "{k}" (and doesn\'t have default value)')
    return json.dumps(kv, separators=(",", ":"))


def path_str(path):
    """fieldpath.Path.String(): .spec.template.spec.containers[name="dind"].image"""
    out = ""
    for kind, val in path:
        if kind == "f":
            out += "." + val
        elif kind == "k":
            kv = json.loads(val)
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in kv.items()) + "]"
        else:
            out += "[=" + val + "]"
    return out


def field_set(value, path=(), names=()):
    """The set of paths an object (or applied config) sets."""
    out = set()
    if isinstance(value, dict) and value and not _is_atomic_struct(names):
        for k, v in value.items():
            if v is None:
                continue
            out |= field_set(v, path + (("f", k),), names + (k,))
        return out
    if isinstance(value, list) and value:
        keys = _list_keys(names)
        if keys:
            seen = set()
            for item in value:
                kp = path + (("k", _key_of(item, keys, path_str(path))),)
                if kp in seen:
                    raise TypedError(f"{path_str(path)}: duplicate entries for key "
                                     f"{path_str(kp[-1:])}")
                seen.add(kp)
                out.add(kp)
                for k, v in item.items():
                    if v is not None:
                        out |= field_set(v, kp + (("f", k),), names + (k,))
            return out
        if _is_set_list(names):
            for item in value:
                out.add(path + (("v", json.dumps(item, separators=(",", ":"))),))
            return out
    if path:
        out.add(path)
    return out


_NOT_MANAGED_META = ("name", "namespace", "uid", "resourceVersion", "generation",
                     "creationTimestamp", "deletionTimestamp", "managedFields", "selfLink")


def managed_paths(obj, keep_status=False):
    """field_set without what the field manager strips (apiVersion, kind, identity, status)."""
    o = {k: v for k, v in obj.items()
         if k not in ("apiVersion", "kind") and (keep_status or k != "status")}
    if isinstance(o.get("metadata"), dict):
        o["metadata"] = {k: v for k, v in o["metadata"].items() if k not in _NOT_MANAGED_META}
        if not o["metadata"]:
            del o["metadata"]
    return field_set(o)


def encode_fields(paths):
    """Set of paths -> FieldsV1 JSON ('f:', 'k:', 'v:' keys; '.' marks a member with children)."""
    root = {}
    members = set()
    for p in paths:
        node = root
        for i, (kind, val) in enumerate(p):
            node = node.setdefault(f"{kind}:{val}", {})
        members.add(p)

    def fix(node, prefix):
        out = {}
        for key in sorted(node):
            kind, val = key.split(":", 1)
            child_path = prefix + ((kind, val),)
            child = fix(node[key], child_path)
            if child and child_path in members:
                child = {".": {}, **child}
            out[key] = child
        return out
    return fix(root, ())


def decode_fields(fields, prefix=()):
    out = set()
    for key, child in (fields or {}).items():
        if key == ".":
            out.add(prefix)
            continue
        kind, val = key.split(":", 1)
        p = prefix + ((kind, val),)
        if child:
            out |= decode_fields(child, p)
        else:
            out.add(p)
    return out


def _get_path(obj, path):
    """Value at a path, or _OMIT."""
    cur = obj
    for kind, val in path:
        if kind == "f":
            if not isinstance(cur, dict) or val not in cur:
                return _OMIT
            cur = cur[val]
        elif kind == "k":
            want = json.loads(val)
            if not isinstance(cur, list):
                return _OMIT
            for item in cur:
                if isinstance(item, dict) and all(
                        item.get(k, "TCP" if k == "protocol" else None) == v
                        for k, v in want.items()):
                    cur = item
                    break
            else:
                return _OMIT
        else:
            want = json.loads(val)
            if not isinstance(cur, list) or want not in cur:
                return _OMIT
            cur = want
    return cur


def _remove_path(obj, path):
    if not path:
        return
    parent = _get_path(obj, path[:-1])
    kind, val = path[-1]
    if kind == "f" and isinstance(parent, dict):
        parent.pop(val, None)
    elif kind in ("k", "v") and isinstance(parent, list):
        item = _get_path(obj, path)
        if item is not _OMIT:
            parent[:] = [x for x in parent if x is not item and not (kind == "v" and x == item)]


def merge_applied(live, config, names=()):
    """Merges an applied config into a live value (structured merge for known lists)."""
    if config is None:
        return live
    if isinstance(config, dict) and isinstance(live, dict) and not _is_atomic_struct(names):
        out = dict(live)
        for k, v in config.items():
            if v is None:
                continue
            out[k] = merge_applied(live.get(k), v, names + (k,))
        return out
    if isinstance(config, list) and isinstance(live, list):
        keys = _list_keys(names)
        if keys:
            def key(item):
                return _key_of(item, keys, "")
            live_by = {key(i): i for i in live if isinstance(i, dict)}
            cfg_keys = [key(i) for i in config]
            out = [merge_applied(live_by.get(k), i, names) for k, i in zip(cfg_keys, config)]
            out += [i for i in live if isinstance(i, dict) and key(i) not in cfg_keys]
            return out
        if _is_set_list(names):
            return list(config) + [i for i in live if i not in config]
    if isinstance(config, dict):
        return {k: v for k, v in config.items() if v is not None}
    return copy.deepcopy(config)


# Type checks done by the typed conversion (structured-merge-diff / the JSON decoder).
_INT_FIELDS = {"replicas", "containerPort", "nodePort", "hostPort",
               "terminationGracePeriodSeconds", "revisionHistoryLimit",
               "progressDeadlineSeconds", "minReadySeconds", "initialDelaySeconds",
               "periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold",
               "successfulJobsHistoryLimit", "failedJobsHistoryLimit",
               "startingDeadlineSeconds", "backoffLimit", "activeDeadlineSeconds",
               "runAsUser", "runAsGroup", "fsGroup", "ttlSecondsAfterFinished",
               "generation"}
_INT_OR_STRING = {"targetPort", "maxSurge", "maxUnavailable"}
_BOOL_FIELDS = {"privileged", "suspend", "readOnly", "allowPrivilegeEscalation",
                "readOnlyRootFilesystem", "runAsNonRoot", "hostNetwork", "hostPID",
                "allowVolumeExpansion", "stdin", "tty", "automountServiceAccountToken",
                "unschedulable"}
_STRING_FIELDS = {"name", "image", "namespace", "schedule", "path", "protocol",
                  "storageClassName", "volumeName", "concurrencyPolicy", "provisioner",
                  "volumeBindingMode", "reclaimPolicy", "persistentVolumeReclaimPolicy",
                  "restartPolicy", "imagePullPolicy", "mountPath", "claimName", "key",
                  "operator", "apiVersion", "kind", "generateName", "serviceAccountName",
                  "nodeName", "clusterIP", "volumeMode", "timeZone"}
_STRING_LISTS = {"args", "command", "accessModes", "values", "policyTypes", "finalizers"}
_STRING_MAPS = {"labels", "annotations", "matchLabels", "nodeSelector", "data",
                "parameters"}


def _go_got(v):
    if isinstance(v, str):
        return "string"
    return f"&value.valueUnstructured{{Value:{json.dumps(v)}}}"


def check_types(value, where=""):
    """Raises TypedError like the typed conversion for the fields it knows."""
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{where}.{k}"
            if v is None:
                continue
            if k == "port" and re.match(r"^\.spec\.ports\[\d+\]$", where) and (
                    isinstance(v, bool) or not isinstance(v, int)):
                raise TypedError(f"{p}: expected numeric (int or float), got "
                                 f"{'string' if isinstance(v, str) else type(v).__name__}")
            if k == "port" and (isinstance(v, bool) or not isinstance(v, (int, str))):
                raise TypedError(f"{p}: expected int or string, got {_go_got(v)}")
            if k in _INT_FIELDS and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise TypedError(f"{p}: expected numeric (int or float), got "
                                 f"{type(v).__name__ if not isinstance(v, str) else 'string'}")
            if k in _INT_OR_STRING and (isinstance(v, bool) or not isinstance(v, (int, str))):
                raise TypedError(f"{p}: expected int or string, got {_go_got(v)}")
            if k in _BOOL_FIELDS and not isinstance(v, bool):
                raise TypedError(f"{p}: expected boolean, got {_go_got(v)}")
            if k in _STRING_FIELDS and where not in (".metadata.labels", ".metadata.annotations") \
                    and not isinstance(v, (str, dict, list)):
                raise TypedError(f"{p}: expected string, got {_go_got(v)}")
            if k in _STRING_LISTS and isinstance(v, list):
                for i, item in enumerate(v):
                    if not isinstance(item, str):
                        raise TypedError(f"{p}[{i}]: expected string, got {_go_got(item)}")
            if k in _STRING_MAPS and isinstance(v, dict):
                for mk, mv in v.items():
                    if mv is not None and not isinstance(mv, str):
                        raise TypedError(f"{p}.{mk}: expected string, got {_go_got(mv)}")
                continue
            if k == "value" and where.endswith("]") and not isinstance(v, (str, dict)):
                raise TypedError(f"{p}: expected string, got {_go_got(v)}")
            check_types(v, p)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_types(item, f"{where}[{i}]")


# --------------------------------------------------------------------------------------
# Defaulting (the defaults of the fields the installer's objects carry)


def _default_container(c):
    if not isinstance(c, dict):
        return
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    img = c.get("image") or ""
    tag = img.rsplit("/", 1)[-1]
    if "imagePullPolicy" not in c:
        c["imagePullPolicy"] = ("Always" if "@" not in tag and (":" not in tag
                                or tag.endswith(":latest")) else "IfNotPresent")
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    c.setdefault("resources", {})
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        pr = c.get(probe)
        if isinstance(pr, dict):
            pr.setdefault("timeoutSeconds", 1)
            pr.setdefault("periodSeconds", 10)
            pr.setdefault("successThreshold", 1)
            pr.setdefault("failureThreshold", 3)


def _default_pod_spec(spec, restart="Always"):
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", restart)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        _default_container(c)
    for v in spec.get("volumes") or []:
        if isinstance(v, dict) and isinstance(v.get("hostPath"), dict):
            v["hostPath"].setdefault("type", "")


def apply_defaults(res, obj):
    spec = obj.get("spec")
    kind = res.kind
    if kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
        return
    if kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = \
            obj["metadata"]["name"]
        obj.setdefault("status", {"phase": "Active"})
    if not isinstance(spec, dict):
        return
    if kind == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        st = spec.setdefault("strategy", {})
        if isinstance(st, dict):
            st.setdefault("type", "RollingUpdate")
            if st["type"] == "RollingUpdate":
                ru = st.setdefault("rollingUpdate", {})
                if isinstance(ru, dict):
                    ru.setdefault("maxUnavailable", "25%")
                    ru.setdefault("maxSurge", "25%")
        tmpl = spec.get("template")
        if isinstance(tmpl, dict):
            tmpl.setdefault("metadata", {}).setdefault("creationTimestamp", None)
            _default_pod_spec(tmpl.get("spec"))
    elif kind == "CronJob":
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        jt = spec.get("jobTemplate")
        if isinstance(jt, dict):
            jt.setdefault("metadata", {}).setdefault("creationTimestamp", None)
            js = jt.get("spec")
            if isinstance(js, dict):
                js.setdefault("backoffLimit", 6)
                t = js.get("template")
                if isinstance(t, dict):
                    t.setdefault("metadata", {}).setdefault("creationTimestamp", None)
                    _default_pod_spec(t.get("spec"))
    elif kind == "Service":
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("ipFamilies", ["IPv4"])
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if "targetPort" not in p and "port" in p:
                    p["targetPort"] = p["port"]
    elif kind == "PersistentVolume":
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
        obj.setdefault("status", {"phase": "Pending"})
    elif kind == "PersistentVolumeClaim":
        spec.setdefault("volumeMode", "Filesystem")
        obj.setdefault("status", {"phase": "Pending"})
    elif kind == "NetworkPolicy":
        if "policyTypes" not in spec:
            spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
        for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
            for p in (rule or {}).get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
    elif kind == "Pod":
        _default_pod_spec(spec)


# --------------------------------------------------------------------------------------
# Validation (pkg/apis/*/validation, for the fields the installer writes)


def _validate_pod_spec(spec, fp, errs, restart_supported):
    if not isinstance(spec, dict):
        errs.append(FieldError("Required", fp))
        return
    containers = spec.get("containers")
    vol_names = set()
    for i, v in enumerate(spec.get("volumes") or []):
        vp = f"{fp}.volumes[{i}]"
        if not isinstance(v, dict) or not v.get("name"):
            errs.append(FieldError("Required", f"{vp}.name"))
            continue
        if v["name"] in vol_names:
            errs.append(FieldError("Duplicate", f"{vp}.name", v["name"]))
        vol_names.add(v["name"])
        pvc = v.get("persistentVolumeClaim")
        if isinstance(pvc, dict) and not pvc.get("claimName"):
            errs.append(FieldError("Required", f"{vp}.persistentVolumeClaim.claimName"))
    if not containers:
        errs.append(FieldError("Required", f"{fp}.containers"))
    names = set()
    for i, c in enumerate(containers or []):
        cp = f"{fp}.containers[{i}]"
        if not isinstance(c, dict):
            errs.append(FieldError("Invalid", cp, c, "must be an object"))
            continue
        name = c.get("name")
        if not name:
            errs.append(FieldError("Required", f"{cp}.name"))
        else:
            check_dns_label(name, f"{cp}.name", errs)
            if name in names:
                errs.append(FieldError("Duplicate", f"{cp}.name", name))
            names.add(name)
        if not c.get("image"):
            errs.append(FieldError("Required", f"{cp}.image"))
        for j, p in enumerate(c.get("ports") or []):
            cport = (p or {}).get("containerPort")
            if isinstance(cport, int) and not 1 <= cport <= 65535:
                errs.append(FieldError("Invalid", f"{cp}.ports[{j}].containerPort", cport,
                                       "must be between 1 and 65535, inclusive"))
        for j, m in enumerate(c.get("volumeMounts") or []):
            if not isinstance(m, dict):
                continue
            if not m.get("mountPath"):
                errs.append(FieldError("Required", f"{cp}.volumeMounts[{j}].mountPath"))
            if m.get("name") not in vol_names:
                errs.append(FieldError("NotFound", f"{cp}.volumeMounts[{j}].name",
                                       m.get("name")))
    rp = spec.get("restartPolicy")
    if rp not in restart_supported:
        errs.append(not_supported(f"{fp}.restartPolicy", rp, restart_supported))


def validate(res, obj, old=None):
    """FieldErrors for an object (old: the live object, for an update)."""
    errs = []
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    if not name:
        errs.append(FieldError("Required", "metadata.name", detail="name or generateName "
                               "is required"))
    else:
        check_name(res, name, errs)
    check_labels(meta.get("labels"), "metadata.labels", errs)
    spec = obj.get("spec")
    kind = res.kind
    if kind == "Deployment":
        _validate_deployment(spec, errs)
    elif kind == "CronJob":
        _validate_cronjob(spec, errs)
    elif kind == "Service":
        _validate_service(spec, errs)
    elif kind == "PersistentVolume":
        _validate_pv(spec, errs)
    elif kind == "PersistentVolumeClaim":
        _validate_pvc(spec, errs)
    elif kind == "StorageClass":
        if not obj.get("provisioner"):
            errs.append(FieldError("Required", "provisioner"))
        if obj.get("volumeBindingMode") not in ("Immediate", "WaitForFirstConsumer"):
            errs.append(not_supported("volumeBindingMode", obj.get("volumeBindingMode"),
                                      ["Immediate", "WaitForFirstConsumer"]))
        if obj.get("reclaimPolicy") not in ("Delete", "Retain"):
            errs.append(not_supported("reclaimPolicy", obj.get("reclaimPolicy"),
                                      ["Delete", "Retain"]))
    elif kind == "NetworkPolicy":
        _validate_networkpolicy(spec, errs)
    if old is not None:
        _validate_update(res, obj, old, errs)
    return errs


def _validate_deployment(spec, errs):
    if not isinstance(spec, dict):
        errs.append(FieldError("Required", "spec"))
        return
    reps = spec.get("replicas")
    if isinstance(reps, int) and reps < 0:
        errs.append(FieldError("Invalid", "spec.replicas", reps,
                               "must be greater than or equal to 0"))
    sel = spec.get("selector")
    tmpl = spec.get("template") or {}
    if not isinstance(sel, dict):
        errs.append(FieldError("Required", "spec.selector"))
    elif not sel.get("matchLabels") and not sel.get("matchExpressions"):
        errs.append(FieldError("Invalid", "spec.selector", sel,
                               "empty selector is invalid for deployment"))
    elif not selector_matches(sel, (tmpl.get("metadata") or {}).get("labels")):
        errs.append(FieldError("Invalid", "spec.template.metadata.labels",
                               (tmpl.get("metadata") or {}).get("labels") or {},
                               "`selector` does not match template `labels`"))
    check_labels((tmpl.get("metadata") or {}).get("labels"), "spec.template.metadata.labels",
                 errs)
    st = spec.get("strategy") or {}
    stype = st.get("type")
    if stype not in ("Recreate", "RollingUpdate"):
        errs.append(not_supported("spec.strategy.type", stype, ["Recreate", "RollingUpdate"]))
    elif stype == "Recreate" and st.get("rollingUpdate") is not None:
        errs.append(FieldError("Forbidden", "spec.strategy.rollingUpdate",
                               detail="may not be specified when strategy `type` is "
                               "'Recreate'"))
    _validate_pod_spec(tmpl.get("spec"), "spec.template.spec", errs, ["Always"])


_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
                "@hourly")


def _validate_cronjob(spec, errs):
    if not isinstance(spec, dict):
        errs.append(FieldError("Required", "spec"))
        return
    sched = spec.get("schedule")
    if not sched:
        errs.append(FieldError("Required", "spec.schedule"))
    elif not sched.startswith("@"):
        fields = sched.split()
        if len(fields) != 5:
            errs.append(FieldError("Invalid", "spec.schedule", sched,
                                   f"expected exactly 5 fields, found {len(fields)}: {sched}"))
        elif not all(re.match(r"^[0-9*/,\-A-Za-z?]+$", f) for f in fields):
            errs.append(FieldError("Invalid", "spec.schedule", sched,
                                   f"failed to parse int from {sched}"))
    elif sched not in _CRON_MACROS:
        errs.append(FieldError("Invalid", "spec.schedule", sched,
                               f"unrecognized descriptor: {sched}"))
    cp = spec.get("concurrencyPolicy")
    if cp not in ("Allow", "Forbid", "Replace"):
        errs.append(not_supported("spec.concurrencyPolicy", cp, ["Allow", "Forbid", "Replace"]))
    jt = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    _validate_pod_spec(jt.get("spec"), "spec.jobTemplate.spec.template.spec", errs,
                       ["OnFailure", "Never"])


def _validate_service(spec, errs):
    if not isinstance(spec, dict):
        errs.append(FieldError("Required", "spec"))
        return
    stype = spec.get("type")
    if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        errs.append(not_supported("spec.type", stype,
                                  ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]))
    ports = spec.get("ports") or []
    if not ports and stype != "ExternalName" and spec.get("clusterIP") != "None":
        errs.append(FieldError("Required", "spec.ports"))
    names = set()
    for i, p in enumerate(ports):
        if not isinstance(p, dict):
            continue
        if len(ports) > 1 and not p.get("name"):
            errs.append(FieldError("Required", f"spec.ports[{i}].name"))
        if p.get("name"):
            if p["name"] in names:
                errs.append(FieldError("Duplicate", f"spec.ports[{i}].name", p["name"]))
            names.add(p["name"])
        port = p.get("port")
        if port is None:
            errs.append(FieldError("Required", f"spec.ports[{i}].port"))
        elif isinstance(port, int) and not 1 <= port <= 65535:
            errs.append(FieldError("Invalid", f"spec.ports[{i}].port", port,
                                   "must be between 1 and 65535, inclusive"))
        if p.get("protocol") not in ("TCP", "UDP", "SCTP"):
            errs.append(not_supported(f"spec.ports[{i}].protocol", p.get("protocol"),
                                      ["SCTP", "TCP", "UDP"]))
        tp = p.get("targetPort")
        if isinstance(tp, int) and not isinstance(tp, bool) and not 1 <= tp <= 65535:
            errs.append(FieldError("Invalid", f"spec.ports[{i}].targetPort", tp,
                                   "must be between 1 and 65535, inclusive"))


_PV_SOURCES = ("local", "hostPath", "nfs", "csi", "iscsi", "fc", "rbd", "cephfs",
               "awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile")
_ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]


def _check_access_modes(modes, field, errs, required_detail=""):
    if not modes:
        errs.append(FieldError("Required", field, detail=required_detail))
        return
    for m in modes:
        if m not in _ACCESS_MODES:
            errs.append(not_supported(field, m, _ACCESS_MODES))


def _validate_pv(spec, errs):
    if not isinstance(spec, dict):
        errs.append(FieldError("Required", "spec"))
        return
    _check_access_modes(spec.get("accessModes"), "spec.accessModes", errs)
    cap = spec.get("capacity")
    if not cap:
        errs.append(FieldError("Required", "spec.capacity"))
    elif isinstance(cap, dict):
        if "storage" not in cap:
            errs.append(not_supported("spec.capacity", sorted(cap), ["storage"]))
        for k, v in cap.items():
            q = parse_quantity(v)
            if q is not None and q <= 0:
                errs.append(FieldError("Invalid", f"spec.capacity[{k}]", v,
                                       "must be greater than zero"))
    sources = [s for s in _PV_SOURCES if spec.get(s) is not None]
    if not sources:
        errs.append(FieldError("Required", "spec", detail="must specify a volume type"))
    elif len(sources) > 1:
        errs.append(FieldError("Forbidden", f"spec.{sources[1]}",
                               detail="may not specify more than 1 volume type"))
    local = spec.get("local")
    if isinstance(local, dict):
        if not local.get("path"):
            errs.append(FieldError("Required", "spec.local.path"))
        if not spec.get("nodeAffinity"):
            errs.append(FieldError("Required", "spec.nodeAffinity",
                                   detail="Local volume requires node affinity"))
    na = spec.get("nodeAffinity")
    if isinstance(na, dict):
        terms = ((na.get("required") or {}).get("nodeSelectorTerms"))
        if not terms:
            errs.append(FieldError("Required", "spec.nodeAffinity.required.nodeSelectorTerms",
                                   detail="must have at least one node selector term"))
    rp = spec.get("persistentVolumeReclaimPolicy")
    if rp not in ("Delete", "Recycle", "Retain"):
        errs.append(not_supported("spec.persistentVolumeReclaimPolicy", rp,
                                  ["Delete", "Recycle", "Retain"]))


def _validate_pvc(spec, errs):
    if not isinstance(spec, dict):
        errs.append(FieldError("Required", "spec"))
        return
    _check_access_modes(spec.get("accessModes"), "spec.accessModes", errs,
                        "at least 1 access mode is required")
    req = ((spec.get("resources") or {}).get("requests") or {})
    if "storage" not in req:
        errs.append(FieldError("Required", "spec.resources[storage]"))
    else:
        q = parse_quantity(req["storage"])
        if q is not None and q <= 0:
            errs.append(FieldError("Invalid", "spec.resources[storage]", req["storage"],
                                   "must be greater than zero"))


def _validate_networkpolicy(spec, errs):
    if not isinstance(spec, dict):
        errs.append(FieldError("Required", "spec"))
        return
    for t in spec.get("policyTypes") or []:
        if t not in ("Ingress", "Egress"):
            errs.append(not_supported("spec.policyTypes", t, ["Egress", "Ingress"]))
    for rname in ("ingress", "egress"):
        for i, rule in enumerate(spec.get(rname) or []):
            for j, p in enumerate((rule or {}).get("ports") or []):
                if not isinstance(p, dict):
                    continue
                fp = f"spec.{rname}[{i}].ports[{j}]"
                if p.get("protocol") not in ("TCP", "UDP", "SCTP"):
                    errs.append(not_supported(f"{fp}.protocol", p.get("protocol"),
                                              ["SCTP", "TCP", "UDP"]))
                port = p.get("port")
                if isinstance(port, int) and not isinstance(port, bool) \
                        and not 1 <= port <= 65535:
                    errs.append(FieldError("Invalid", f"{fp}.port", port,
                                           "must be between 1 and 65535, inclusive"))


def _immutable(new, old, field, errs):
    if new != old:
        errs.append(FieldError("Invalid", field, new, "field is immutable"))


def _validate_update(res, obj, old, errs):
    spec, ospec = obj.get("spec") or {}, old.get("spec") or {}
    kind = res.kind
    if kind == "Deployment":
        _immutable(spec.get("selector"), ospec.get("selector"), "spec.selector", errs)
    elif kind == "PersistentVolume":
        src = {k: spec.get(k) for k in _PV_SOURCES if spec.get(k) is not None}
        osrc = {k: ospec.get(k) for k in _PV_SOURCES if ospec.get(k) is not None}
        if src != osrc:
            errs.append(FieldError("Forbidden", "spec.persistentvolumesource",
                                   detail="spec.persistentvolumesource is immutable after "
                                   "creation"))
        _immutable(spec.get("volumeMode"), ospec.get("volumeMode"), "volumeMode", errs)
        if ospec.get("nodeAffinity") is not None:
            _immutable(spec.get("nodeAffinity"), ospec.get("nodeAffinity"), "nodeAffinity",
                       errs)
    elif kind == "PersistentVolumeClaim":
        bound = (old.get("status") or {}).get("phase") == "Bound"
        a, b = copy.deepcopy(spec), copy.deepcopy(ospec)
        if not b.get("volumeName"):
            a.pop("volumeName", None)
            b.pop("volumeName", None)
        if bound:
            new_q = parse_quantity(((a.get("resources") or {}).get("requests") or {})
                                   .get("storage"))
            old_q = parse_quantity(((b.get("resources") or {}).get("requests") or {})
                                   .get("storage"))
            if new_q is not None and old_q is not None and new_q < old_q:
                errs.append(FieldError("Forbidden", "spec.resources.requests.storage",
                                       detail="field can not be less than previous value"))
            for s in (a, b):
                (s.get("resources") or {}).pop("requests", None)
        if a != b:
            errs.append(FieldError("Forbidden", "spec", detail="spec is immutable after "
                                   "creation except resources.requests and "
                                   "volumeAttributesClassName for bound claims"))
    elif kind == "StorageClass":
        if obj.get("parameters") != old.get("parameters"):
            errs.append(FieldError("Forbidden", "parameters",
                                   detail="updates to parameters are forbidden."))
        if obj.get("provisioner") != old.get("provisioner"):
            errs.append(FieldError("Forbidden", "provisioner",
                                   detail="updates to provisioner are forbidden."))
        if obj.get("reclaimPolicy") != old.get("reclaimPolicy"):
            errs.append(FieldError("Forbidden", "reclaimPolicy",
                                   detail="updates to reclaimPolicy are forbidden."))
        _immutable(obj.get("volumeBindingMode"), old.get("volumeBindingMode"),
                   "volumeBindingMode", errs)
    elif kind == "Service":
        oip, nip = ospec.get("clusterIP"), spec.get("clusterIP")
        if oip and nip and oip != nip:
            errs.append(FieldError("Invalid", "spec.clusterIPs[0]", [nip],
                                   "may not change once set"))


# --------------------------------------------------------------------------------------
# Certificates (openssl CLI)


def _b64(data):
    import base64
    return base64.b64encode(data).decode()


def _openssl(*args, cwd):
    subprocess.run(["openssl", *[str(a) for a in args]], cwd=cwd, check=True,
                   capture_output=True)


def _make_ca(d, stem, cn):
    _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{stem}.key",
             "-out", f"{stem}.crt", "-days", "3", "-subj", f"/CN={cn}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash", cwd=d)
    os.chmod(d / f"{stem}.key", 0o600)


def _make_leaf(d, stem, ca, subj, ext):
    (d / f"{stem}.ext").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" + ext)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{stem}.key", "-out", f"{stem}.csr", "-subj", subj, cwd=d)
    _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "3",
             "-out", f"{stem}.crt", "-extfile", f"{stem}.ext", cwd=d)
    os.chmod(d / f"{stem}.key", 0o600)


# --------------------------------------------------------------------------------------
# HTTP plumbing


class _CIDict(dict):
    """Request headers: a dict that also answers case-insensitively."""

    def _find(self, key):
        for k in self:
            if k.lower() == key.lower():
                return k
        return None

    def __getitem__(self, key):
        k = self._find(key)
        if k is None:
            raise KeyError(key)
        return dict.__getitem__(self, k)

    def get(self, key, default=None):
        k = self._find(key)
        return default if k is None else dict.__getitem__(self, k)

    def __contains__(self, key):
        return self._find(key) is not None


class _TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, api, context):
        self.api = api
        self.context = context
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake happens in the handler's thread, not in the accept loop.
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass  # clients that hang up or fail the TLS handshake are not our errors


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    timeout = 60

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(self.timeout)
            super().handle()
        except (ssl.SSLError, OSError, ValueError):
            self.close_connection = True

    def _dispatch(self):
        self.server.api._dispatch(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class _Fault:
    def __init__(self, method, path_re, status, times, retry_after, delay, drop, explicit):
        self.method = method
        self.path_re = re.compile(path_re) if path_re else None
        self.status = status
        self.times = times
        self.retry_after = retry_after
        self.delay = delay
        self.drop = drop
        self.explicit_status = explicit

    def matches(self, method, path):
        return ((self.method is None or self.method.upper() == method)
                and (self.path_re is None or self.path_re.search(path)))


_DEFAULT_STATUS = object()
_FAULT_STATUS = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    404: ("NotFound", "the server could not find the requested resource"),
    408: ("Timeout", "the server was unable to return a response in the time allotted"),
    409: ("Conflict", "the server reported a conflict"),
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected fault"),
    502: ("", "the server responded with the status code 502 but did not return more "
          "information"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted, "
          "but may still be processing the request"),
}

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


def _safe_hash(text, n):
    h = hashlib.sha256(text.encode()).digest()
    return "".join(_ALPHANUMS[b % len(_ALPHANUMS)] for b in h[:n])


# --------------------------------------------------------------------------------------
# The server


class FakeAPIServer:
    """A fake kube-apiserver. start() it, use .url / .kubeconfig(), stop() it."""

    ready_delay = 1.0
    schedule_pods = True
    pod_node = None
    container_waiting = None  # e.g. "ImagePullBackOff": the pod is scheduled but never ready

    def __init__(self, workdir, port=0):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.lock = threading.RLock()
        self.requests = []
        self.token = "fake-token-" + uuid.uuid4().hex
        self.token_user = "admin"
        self.version = {"major": "1", "minor": "30", "gitVersion": "v1.30.4",
                        "gitCommit": "a51b3b711150f57ffc1f526a640ec058514ed596",
                        "gitTreeState": "clean", "buildDate": "2024-08-14T19:04:00Z",
                        "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64"}
        self._store = {}
        self._rv = 100
        self._faults = []
        self._forbidden = set()
        self._ctl = {}  # controller-private state, by uid
        self._ip_counter = 10
        self._pod_ip_counter = 10
        self._stop = threading.Event()
        self._httpd = None
        self._threads = []
        self._make_certs()
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self._create_internal({"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": ns}}, "kube-apiserver")

    # ---- certificates

    def _make_certs(self):
        d = self.workdir / "pki"
        d.mkdir(exist_ok=True)
        _make_ca(d, "ca", "fake-kubernetes-ca")
        _make_ca(d, "other-ca", "some-other-ca")
        _make_leaf(d, "server", "ca", "/CN=kube-apiserver",
                   "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,"
                   "DNS:kubernetes.default.svc,DNS:kubernetes\n")
        _make_leaf(d, "client", "ca", "/O=system:masters/CN=admin",
                   "extendedKeyUsage=clientAuth\n")
        _make_leaf(d, "other-client", "other-ca", "/O=system:masters/CN=intruder",
                   "extendedKeyUsage=clientAuth\n")
        self.ca_file = d / "ca.crt"
        self.ca_pem = self.ca_file.read_text()
        self.other_ca_file = d / "other-ca.crt"
        self.server_cert_file = d / "server.crt"
        self.server_key_file = d / "server.key"
        self.client_cert_file = d / "client.crt"
        self.client_key_file = d / "client.key"
        self.other_client_cert_file = d / "other-client.crt"
        self.other_client_key_file = d / "other-client.key"

    # ---- lifecycle

    def start(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.server_cert_file, self.server_key_file)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(self.ca_file)
        ctx.set_alpn_protocols(["http/1.1"])
        self._httpd = _TLSServer(("127.0.0.1", self.port), _Handler, self, ctx)
        self.port = self._httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        t = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                             name="fake-apiserver", daemon=True)
        t.start()
        c = threading.Thread(target=self._controller_loop, name="fake-controllers",
                             daemon=True)
        c.start()
        self._threads = [t, c]
        return self

    def stop(self):
        self._stop.set()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- test-facing helpers

    def clear_requests(self):
        with self.lock:
            self.requests.clear()

    def inject(self, method=None, path_re=None, status=_DEFAULT_STATUS, times=1,
               retry_after=None, delay=0.0, drop=False):
        """The next `times` requests matching method/path_re: reply `status` (default 500)
        with a Status body (Retry-After if given), or sleep `delay` seconds and then answer
        normally (or with `status` when one is given), or drop the connection (drop=True)."""
        explicit = status is not _DEFAULT_STATUS
        with self.lock:
            self._faults.append(_Fault(method, path_re, 500 if not explicit else status,
                                       times, retry_after, delay, drop, explicit))

    def forbid(self, verb, resource):
        """RBAC denies `verb` on `resource` (plural) to every user from now on."""
        with self.lock:
            self._forbidden.add((verb, resource))

    def allow(self, verb, resource):
        with self.lock:
            self._forbidden.discard((verb, resource))

    def add_node(self, name, labels=None):
        labels = dict(labels) if labels is not None else {"kubernetes.io/hostname": name}
        with self.lock:
            n = len([k for k in self._store if k[0] == "nodes"]) + 1
            node = {"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": labels},
                    "spec": {"podCIDR": f"10.244.{n}.0/24"},
                    "status": {"addresses": [{"type": "InternalIP", "address": f"10.0.0.{n}"},
                                             {"type": "Hostname", "address": name}],
                               "conditions": [{"type": "Ready", "status": "True",
                                               "reason": "KubeletReady",
                                               "message": "kubelet is posting ready status",
                                               "lastHeartbeatTime": now_rfc3339(),
                                               "lastTransitionTime": now_rfc3339()}],
                               "nodeInfo": {"kubeletVersion": self.version["gitVersion"],
                                            "architecture": "amd64", "operatingSystem":
                                            "linux"}}}
            return self._create_internal(node, "kubelet")

    def object(self, resource, name, namespace=None):
        res = BY_PLURAL[resource]
        with self.lock:
            obj = self._store.get((resource, namespace if res.namespaced else None, name))
            return copy.deepcopy(obj) if obj else None

    def objects(self, resource, namespace=None):
        with self.lock:
            return [copy.deepcopy(o) for k, o in sorted(self._store.items())
                    if k[0] == resource and (namespace is None or k[1] == namespace)]

    def put_object(self, obj, manager="kubectl"):
        """Stores an object as if `manager` had created (or updated) it: defaults,
        managedFields for that manager with operation Update; no validation."""
        res = BY_KIND[(obj["apiVersion"], obj["kind"])]
        obj = copy.deepcopy(obj)
        with self.lock:
            ns = obj["metadata"].get("namespace") if res.namespaced else None
            live = self._store.get((res.plural, ns, obj["metadata"]["name"]))
            if live is None:
                return self._create_internal(obj, manager)
            new = copy.deepcopy(live)
            for k, v in obj.items():
                if k != "metadata":
                    new[k] = v
            new["metadata"].update({k: v for k, v in obj["metadata"].items()
                                    if k not in _NOT_MANAGED_META})
            apply_defaults(res, new)
            self._update_managed(res, live, new, manager)
            return copy.deepcopy(self._write(res, new, live))

    def set_status(self, resource, name, namespace=None, status=None, manager="test"):
        """Replaces an object's status (as a controller would through /status)."""
        res = BY_PLURAL[resource]
        with self.lock:
            live = self._store[(resource, namespace if res.namespaced else None, name)]
            new = copy.deepcopy(live)
            new["status"] = copy.deepcopy(status)
            self._update_managed(res, live, new, manager, subresource="status")
            return copy.deepcopy(self._write(res, new, live))

    def kubeconfig(self, path, *, auth="cert", ca="file", context="test", server=None,
                   tls_server_name=None, insecure=False, extra_contexts=(), namespace=None):
        """Writes a kubeconfig (hand-written YAML) and returns its path.

        auth: cert | cert-data | token | token-file | exec | auth-provider | none
        ca:   file | data | none (system roots) | wrong (a CA that did not sign the server)
        extra_contexts: more contexts, each a name (same cluster and user) or a dict with
        "name" and any of auth, ca, server, tls_server_name, insecure, namespace."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = [dict(name=context, auth=auth, ca=ca, server=server,
                        tls_server_name=tls_server_name, insecure=insecure,
                        namespace=namespace)]
        for extra in extra_contexts:
            if isinstance(extra, str):
                e = dict(entries[0])
                e["name"] = extra
                e["same_as"] = context
            elif isinstance(extra, (tuple, list)):
                e = dict(auth=auth, ca=ca, server=server, tls_server_name=tls_server_name,
                         insecure=insecure, namespace=None)
                e.update(extra[1])
                e["name"] = extra[0]
            else:
                e = dict(auth=auth, ca=ca, server=server, tls_server_name=tls_server_name,
                         insecure=insecure, namespace=None)
                e.update(extra)
            entries.append(e)
        q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
        clusters, users, contexts = [], [], []
        for e in entries:
            cname = e.get("same_as") or e["name"]
            ctx = [f"- name: {q(e['name'])}", "  context:", f"    cluster: {q(cname)}",
                   f"    user: {q(cname)}"]
            if e.get("namespace"):
                ctx.append(f"    namespace: {q(e['namespace'])}")
            contexts += ctx
            if e.get("same_as"):
                continue
            cl = [f"- name: {q(cname)}", "  cluster:",
                  f"    server: {q(e.get('server') or self.url)}"]
            if e["ca"] == "file":
                cl.append(f"    certificate-authority: {q(str(self.ca_file))}")
            elif e["ca"] == "data":
                cl.append("    certificate-authority-data: "
                          + q(_b64(self.ca_pem.encode())))
            elif e["ca"] == "wrong":
                cl.append(f"    certificate-authority: {q(str(self.other_ca_file))}")
            elif e["ca"] != "none":
                raise ValueError(f"unknown ca mode {e['ca']!r}")
            if e.get("tls_server_name"):
                cl.append(f"    tls-server-name: {q(e['tls_server_name'])}")
            if e.get("insecure"):
                cl.append("    insecure-skip-tls-verify: true")
            clusters += cl
            stanza = self._user_stanza(e["auth"], path)
            users += [f"- name: {q(cname)}"] + (["  user:"] + stanza if stanza else
                                                ["  user: {}"])
        text = "\n".join(["apiVersion: v1", "kind: Config", "preferences: {}", "clusters:"]
                         + clusters + ["contexts:"] + contexts + ["users:"] + users
                         + [f"current-context: {q(context)}", ""])
        path.write_text(text)
        os.chmod(path, 0o600)
        return path

    def _user_stanza(self, auth, path):
        q = json.dumps
        if auth == "cert":
            return [f"    client-certificate: {q(str(self.client_cert_file))}",
                    f"    client-key: {q(str(self.client_key_file))}"]
        if auth == "cert-data":
            return ["    client-certificate-data: "
                    + q(_b64(self.client_cert_file.read_bytes())),
                    "    client-key-data: " + q(_b64(self.client_key_file.read_bytes()))]
        if auth == "token":
            return [f"    token: {q(self.token)}"]
        if auth == "token-file":
            tf = path.parent / (path.name + ".token")
            tf.write_text(self.token + "\n")
            os.chmod(tf, 0o600)
            return [f"    tokenFile: {q(str(tf))}"]
        if auth == "exec":
            return ["    exec:", "      apiVersion: client.authentication.k8s.io/v1beta1",
                    "      command: aws", "      args:", "      - eks", "      - get-token",
                    "      - --cluster-name", "      - test", "      env: null",
                    "      interactiveMode: IfAvailable", "      provideClusterInfo: false"]
        if auth == "auth-provider":
            return ["    auth-provider:", "      name: gcp", "      config:",
                    "        cmd-path: /usr/bin/gcloud",
                    "        cmd-args: config config-helper --format=json",
                    "        expiry-key: '{.credential.token_expiry}'",
                    "        token-key: '{.credential.access_token}'"]
        if auth == "none":
            return []
        raise ValueError(f"unknown auth mode {auth!r}")

    # ---- request handling

    def _dispatch(self, h):
        method = h.command
        url = urlsplit(h.path)
        path = url.path
        query = parse_qs(url.query, keep_blank_values=True)
        headers = _CIDict(h.headers.items())
        rec = {"method": method, "path": path, "query": query, "headers": headers,
               "body": b"", "status": None}
        with self.lock:
            self.requests.append(rec)
        try:
            rec["body"] = self._read_body(h, headers)
        except APIError as e:
            rec["status"] = e.code
            h.close_connection = True
            self._send(h, e.code, e.status(), e.headers)
            return
        except (OSError, ValueError):
            h.close_connection = True
            return
        with self.lock:
            fault = self._take_fault(method, path)
        if fault:
            if fault.drop:
                self._drop(h)
                return
            if fault.delay:
                time.sleep(fault.delay)
            if fault.explicit_status or not fault.delay:
                reason, message = _FAULT_STATUS.get(fault.status, ("", f"injected {fault.status}"))
                extra = {}
                if fault.retry_after is not None:
                    extra["Retry-After"] = str(fault.retry_after)
                details = None
                if fault.status == 500:
                    details = {"causes": [{"message": "injected fault"}]}
                if fault.status == 429 or fault.retry_after is not None:
                    details = _details(retry_after=fault.retry_after) or None
                rec["status"] = fault.status
                self._send(h, fault.status, status_object(fault.status, reason, message,
                                                          details), extra)
                return
        user = self._authenticate(h, headers)
        extra = {}
        if user is None:
            code, obj = 401, status_object(401, "Unauthorized", "Unauthorized")
        else:
            try:
                code, obj = self._serve(method, path, query, headers, rec["body"], user)
            except APIError as e:
                code, obj, extra = e.code, e.status(), e.headers
            except Exception as e:  # a bug in the fake: say so loudly, as a 500
                import traceback
                traceback.print_exc()
                code, obj = 500, status_object(500, "InternalError",
                                               f"Internal error occurred: fake: {e!r}")
        rec["status"] = code
        self._send(h, code, obj, extra, head=(method == "HEAD"))

    def _read_body(self, h, headers):
        if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                line = h.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                if len(data) + size > MAX_BODY:
                    raise APIError(413, "RequestEntityTooLarge",
                                   f"Request entity too large: limit is {MAX_BODY}")
                data += h.rfile.read(size)
                h.rfile.readline(1024)
            return data
        length = int(headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise APIError(413, "RequestEntityTooLarge",
                           f"Request entity too large: limit is {MAX_BODY}")
        return h.rfile.read(length) if length else b""

    def _take_fault(self, method, path):
        for f in self._faults:
            if f.times > 0 and f.matches(method, path):
                f.times -= 1
                if f.times == 0:
                    self._faults.remove(f)
                return f
        return None

    @staticmethod
    def _drop(h):
        h.close_connection = True
        try:
            h.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, h, code, obj, extra=None, head=False):
        if isinstance(obj, bytes):
            body, ctype = obj, "text/plain; charset=utf-8"
        else:
            body, ctype = json.dumps(obj, separators=(",", ":")).encode() + b"\n", \
                "application/json"
        try:
            h.send_response(code)
            h.send_header("Audit-Id", str(uuid.uuid4()))
            h.send_header("Cache-Control", "no-cache, private")
            h.send_header("Content-Type", ctype)
            h.send_header("X-Kubernetes-Pf-Flowschema-Uid", "fake")
            for k, v in (extra or {}).items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if not head:
                h.wfile.write(body)
            h.wfile.flush()
        except OSError:
            h.close_connection = True

    def _authenticate(self, h, headers):
        try:
            cert = h.request.getpeercert()
        except (ValueError, OSError):
            cert = None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return v
        auth = headers.get("Authorization") or ""
        if auth.startswith("Bearer ") and auth[7:].strip() == self.token:
            return self.token_user
        return None

    def _serve(self, method, path, query, headers, body, user):
        parts = [p for p in path.split("/") if p]
        if method not in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
            raise APIError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource")
        if parts in (["healthz"], ["livez"], ["readyz"]):
            return 200, b"ok"
        if parts == ["version"]:
            return 200, self.version
        if not parts:
            return 200, {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz",
                                   "/version"] + sorted({f"/apis/{r.gv}" for r in RESOURCES
                                                         if r.group})}
        if parts[0] == "api":
            if len(parts) == 1:
                return 200, {"kind": "APIVersions", "versions": ["v1"],
                             "serverAddressByClientCIDRs": [
                                 {"clientCIDR": "0.0.0.0/0",
                                  "serverAddress": f"127.0.0.1:{self.port}"}]}
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 1:
                return 200, {"kind": "APIGroupList", "apiVersion": "v1",
                             "groups": [self._api_group(g) for g in
                                        sorted({r.group for r in RESOURCES if r.group})]}
            group = parts[1]
            if len(parts) == 2:
                if not any(r.group == group for r in RESOURCES):
                    raise self._no_route()
                return 200, dict(self._api_group(group), kind="APIGroup", apiVersion="v1")
            version, rest = parts[2], parts[3:]
        else:
            raise self._no_route()
        if not any(r.group == group and r.version == version for r in RESOURCES):
            raise self._no_route()
        if not rest:
            return 200, self._resource_list(group, version)
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 \
                and (group or rest[2] not in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise self._no_route()
        res = BY_PATH.get((group, version, rest[0]))
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if res is None or (ns is not None and not res.namespaced) or sub is not None:
            raise self._no_route()
        if res.namespaced and ns is None and (name is not None or method != "GET"):
            if name is None and method == "POST":
                raise APIError(405, "MethodNotAllowed", "the server does not allow this "
                               "method on the requested resource")
            raise self._no_route()
        if name is None and method in ("PUT", "PATCH", "DELETE"):
            raise APIError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource")
        if name is not None and method == "POST":
            raise APIError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource")
        verb = {"GET": "get" if name else "list", "HEAD": "get" if name else "list",
                "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
        with self.lock:
            if (verb, res.plural) in self._forbidden:
                raise err_forbidden(res, name, user, verb, ns)
            if verb == "get":
                return 200, self._get(res, ns, name)
            if verb == "list":
                return 200, self._list(res, ns, query)
            if verb == "create":
                return self._create(res, ns, query, headers, body)
            if verb == "update":
                return self._put(res, ns, name, query, headers, body)
            if verb == "patch":
                return self._patch(res, ns, name, query, headers, body)
            return self._delete(res, ns, name, query)

    @staticmethod
    def _no_route():
        return APIError(404, "NotFound", "the server could not find the requested resource",
                        {})

    @staticmethod
    def _api_group(group):
        versions = sorted({r.version for r in RESOURCES if r.group == group})
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}

    @staticmethod
    def _resource_list(group, version):
        rs = [r for r in RESOURCES if r.group == group and r.version == version]
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version,
                "resources": [{"name": r.plural, "singularName": r.singular,
                               "namespaced": r.namespaced, "kind": r.kind,
                               "verbs": r.verbs + ["watch"]} for r in rs]}

    # ---- options

    @staticmethod
    def _dry_run(query, kind):
        vals = query.get("dryRun")
        if vals is None:
            return False
        if any(v != "All" for v in vals):
            raise err_invalid_options(kind, [not_supported("dryRun", vals, ["All"])])
        return True

    @staticmethod
    def _field_manager(query, headers, kind, required=False):
        fm = (query.get("fieldManager") or [""])[0]
        errs = []
        if required and not fm:
            errs.append(FieldError("Required", "fieldManager", detail="is required for apply "
                                   "patch"))
        if len(fm) > 128:
            errs.append(FieldError("TooLong", "fieldManager", fm,
                                   "may not be more than 128 bytes"))
        for i, ch in enumerate(fm):
            if not ch.isprintable():
                errs.append(FieldError("Invalid", "fieldManager", fm,
                                       f"invalid character U+{ord(ch):04X} (at position {i})"))
        if errs:
            raise err_invalid_options(kind, errs)
        if not fm:  # managedFields name an unnamed client by its user agent's first word
            fm = (headers.get("User-Agent") or "unknown").split("/")[0] or "unknown"
        return fm

    # ---- verbs

    def _key(self, res, ns, name):
        return (res.plural, ns if res.namespaced else None, name)

    def _get(self, res, ns, name):
        obj = self._store.get(self._key(res, ns, name))
        if obj is None:
            raise err_not_found(res, name)
        return obj

    def _list(self, res, ns, query):
        ls = parse_label_selector((query.get("labelSelector") or [""])[0])
        fs = parse_field_selector(res, (query.get("fieldSelector") or [""])[0])
        items = []
        for key in sorted(k for k in self._store if k[0] == res.plural):
            if ns is not None and key[1] != ns:
                continue
            obj = self._store[key]
            if labels_match(ls, obj["metadata"].get("labels")) and fields_match(fs, obj):
                items.append({k: v for k, v in obj.items() if k not in ("apiVersion", "kind")})
        return {"kind": res.kind + "List", "apiVersion": res.gv,
                "metadata": {"resourceVersion": str(self._rv)}, "items": items}

    def _decode(self, res, body):
        try:
            obj = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError) as e:
            raise err_bad_request(f"the object provided is unrecognized (must be of type "
                                  f"{res.kind}): couldn't get version/kind; json parse error: "
                                  f"{e}")
        if not isinstance(obj, dict):
            raise err_bad_request(f"the object provided is unrecognized (must be of type "
                                  f"{res.kind}): couldn't get version/kind; json parse error: "
                                  "json: cannot unmarshal into Go value of type struct")
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if av and av != res.gv:
            raise err_bad_request(f"the API version in the data ({av}) does not match the "
                                  f"expected API version ({res.gv})")
        if kind and kind != res.kind:
            raise err_bad_request(f'no kind "{kind}" is registered for version "{res.gv}" in '
                                  'scheme "pkg/api/legacyscheme/scheme.go:30"')
        try:
            check_types(obj)
        except TypedError as e:
            raise err_bad_request(f'{res.kind} in version "{res.version}" cannot be handled '
                                  f"as a {res.kind}: {str(e).lstrip('.')}")
        if not isinstance(obj.get("metadata", {}), dict):
            raise err_bad_request(f'{res.kind} in version "{res.version}" cannot be handled '
                                  f"as a {res.kind}: metadata: expected map")
        obj["apiVersion"], obj["kind"] = res.gv, res.kind
        obj.setdefault("metadata", {})
        return obj

    def _check_namespace(self, res, ns):
        if res.namespaced and ("namespaces", None, ns) not in self._store:
            raise err_namespace_not_found(ns)
        if res.namespaced and self._store[("namespaces", None, ns)]["metadata"].get(
                "deletionTimestamp"):
            raise APIError(403, "Forbidden", f'{res.qualified} "" is forbidden: unable to '
                           f"create new content in namespace {ns} because it is being "
                           "terminated", _details(None, res.group, res.plural))

    def _create(self, res, ns, query, headers, body):
        dry = self._dry_run(query, "CreateOptions")
        manager = self._field_manager(query, headers, "CreateOptions")
        obj = self._decode(res, body)
        meta = obj["metadata"]
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise err_bad_request("the namespace of the provided object does not match "
                                      "the namespace sent on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + _safe_hash(str(self._rv) + str(time.time()), 5)
        self._check_namespace(res, ns)
        name = meta.get("name") or ""
        if name and self._key(res, ns, name) in self._store:
            raise err_already_exists(res, name)
        obj.pop("status", None) if res.kind not in ("Event", "Node") else None
        for k in ("managedFields", "uid", "resourceVersion", "creationTimestamp",
                  "deletionTimestamp", "generation", "selfLink"):
            meta.pop(k, None)
        apply_defaults(res, obj)
        errs = validate(res, obj)
        if errs:
            raise err_invalid(res.group, res.kind, name, errs)
        self._update_managed(res, None, obj, manager)
        return 201, self._write(res, obj, None, dry=dry)

    def _put(self, res, ns, name, query, headers, body):
        dry = self._dry_run(query, "UpdateOptions")
        manager = self._field_manager(query, headers, "UpdateOptions")
        obj = self._decode(res, body)
        meta = obj["metadata"]
        if meta.get("name") != name:
            raise err_bad_request(f"the name of the object ({meta.get('name') or ''}) does "
                                  f"not match the name on the URL ({name})")
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise err_bad_request(f"the namespace of the object ({meta['namespace']}) "
                                      f"does not match the namespace on the request ({ns})")
            meta["namespace"] = ns
        live = self._store.get(self._key(res, ns, name))
        if live is None:
            raise err_not_found(res, name)
        if meta.get("resourceVersion") and meta["resourceVersion"] != \
                live["metadata"]["resourceVersion"]:
            raise err_conflict_modified(res, name)
        for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if k in live["metadata"]:
                meta[k] = live["metadata"][k]
        meta.pop("managedFields", None)
        if "managedFields" in live["metadata"]:
            meta["managedFields"] = copy.deepcopy(live["metadata"]["managedFields"])
        if "status" in live:
            obj["status"] = copy.deepcopy(live["status"])
        else:
            obj.pop("status", None)
        apply_defaults(res, obj)
        self._validate_or_raise(res, obj, live)
        self._update_managed(res, live, obj, manager)
        return 200, self._write(res, obj, live, dry=dry)

    def _validate_or_raise(self, res, obj, live):
        errs = validate(res, obj, live)
        if errs:
            raise err_invalid(res.group, res.kind, obj["metadata"].get("name") or "", errs)

    _PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
                    "application/strategic-merge-patch+json", "application/apply-patch+yaml"]

    def _patch(self, res, ns, name, query, headers, body):
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype not in self._PATCH_TYPES:
            raise APIError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media "
                           "types include: " + ", ".join(self._PATCH_TYPES))
        apply = ctype == "application/apply-patch+yaml"
        errs = []
        if not apply and "force" in query:
            errs.append(FieldError("Forbidden", "force",
                                   detail="may not be specified for non-apply patch"))
        if errs:
            raise err_invalid_options("PatchOptions", errs)
        manager = self._field_manager(query, headers, "PatchOptions", required=apply)
        dry = self._dry_run(query, "PatchOptions")
        if apply:
            force_v = (query.get("force") or ["false"])[0]
            if force_v not in ("true", "false", "1", "0", "True", "False", ""):
                raise err_bad_request(f'strconv.ParseBool: parsing "{force_v}": invalid syntax')
            return self._apply(res, ns, name, body, manager, force_v in ("true", "1", "True"),
                               dry)
        live = self._store.get(self._key(res, ns, name))
        if live is None:
            raise err_not_found(res, name)
        try:
            patch = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError) as e:
            raise err_bad_request(f"error decoding patch: {e}")
        if ctype == "application/json-patch+json":
            new = _json_patch(live, patch)
        else:
            if not isinstance(patch, dict):
                raise err_bad_request("json: cannot unmarshal into Go value of type "
                                      "map[string]interface {}")
            new = _merge_patch(live, patch)
        if not isinstance(new.get("metadata"), dict):
            raise err_bad_request("metadata: expected map")
        new["metadata"]["name"] = name
        if res.namespaced:
            new["metadata"]["namespace"] = ns
        rv = new["metadata"].get("resourceVersion")
        if rv and rv != live["metadata"].get("resourceVersion"):
            raise err_conflict_modified(res, name)
        for k in ("uid", "creationTimestamp", "generation", "resourceVersion",
                  "managedFields"):
            if k in live["metadata"]:
                new["metadata"][k] = copy.deepcopy(live["metadata"][k])
        if "status" in live:
            new["status"] = copy.deepcopy(live["status"])
        new["apiVersion"], new["kind"] = res.gv, res.kind
        try:
            check_types(new)
        except TypedError as e:
            raise err_bad_request(f"{res.kind} in version \"{res.version}\" cannot be handled "
                                  f"as a {res.kind}: {str(e).lstrip('.')}")
        apply_defaults(res, new)
        self._validate_or_raise(res, new, live)
        self._update_managed(res, live, new, manager)
        return 200, self._write(res, new, live, dry=dry)

    def _delete(self, res, ns, name, query):
        dry = self._dry_run(query, "DeleteOptions")
        key = self._key(res, ns, name)
        live = self._store.get(key)
        if live is None:
            raise err_not_found(res, name)
        if res.kind == "Namespace":
            if name in ("default", "kube-system", "kube-public"):
                raise APIError(403, "Forbidden", f'namespaces "{name}" is forbidden: this '
                               "namespace may not be deleted",
                               _details(name, "", "namespaces"))
            new = copy.deepcopy(live)
            if not dry and not live["metadata"].get("deletionTimestamp"):
                new["metadata"]["deletionTimestamp"] = now_rfc3339()
                new["status"] = {"phase": "Terminating"}
                new = self._write(res, new, live)
            return 200, new
        if not dry:
            del self._store[key]
            self._rv += 1
        if res.kind == "Pod":
            return 200, live
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                     "details": dict(_details(name, res.group, res.plural),
                                     uid=live["metadata"].get("uid"))}

    # ---- server-side apply

    def _apply(self, res, ns, name, body, manager, force, dry):
        try:
            text = body.decode("utf-8")
            config = json.loads(text) if text.strip() else {}
        except (UnicodeDecodeError, ValueError) as e:
            raise err_bad_request(f"error decoding YAML: error converting YAML to JSON: yaml: "
                                  f"this fake API server only parses the JSON subset of YAML: "
                                  f"{e}")
        if not isinstance(config, dict):
            raise err_bad_request("error decoding YAML: json: cannot unmarshal array into Go "
                                  "value of type map[string]interface {}")
        av, kind = config.get("apiVersion") or "", config.get("kind") or ""
        gvknn = f"{ns or ''}/{name}; {res.gv}, Kind={res.kind}"
        if av != res.gv:
            raise err_bad_request(f"Incorrect version specified in apply patch. Specified "
                                  f"patch version: {av}, expected: {res.gv}")
        if kind != res.kind:
            raise err_bad_request(f"failed to create typed patch object ({ns or ''}/{name}; "
                                  f"{av}, Kind={kind}): no corresponding type for {av}, "
                                  f"Kind={kind}")
        meta = config.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
            config["metadata"] = meta
        if meta.get("name") != name:
            raise err_bad_request(f"the name of the object ({meta.get('name') or ''}) does "
                                  f"not match the name on the URL ({name})")
        if res.namespaced and meta.get("namespace") and meta["namespace"] != ns:
            raise err_bad_request(f"the namespace of the object ({meta['namespace']}) does not "
                                  f"match the namespace on the request ({ns})")
        if meta.get("managedFields") is not None:
            raise err_bad_request("metadata.managedFields must be nil")
        config.pop("status", None)
        try:
            check_types(config)
            applied = managed_paths(config)
        except TypedError as e:
            raise err_internal(f"failed to create typed patch object ({gvknn}): {e}")
        key = self._key(res, ns, name)
        live = self._store.get(key)
        now = now_rfc3339()
        entry = {"manager": manager, "operation": "Apply", "apiVersion": res.gv, "time": now,
                 "fieldsType": "FieldsV1", "fieldsV1": encode_fields(applied)}
        if live is None:
            self._check_namespace(res, ns)
            obj = merge_applied({}, config)
            obj["metadata"]["name"] = name
            if res.namespaced:
                obj["metadata"]["namespace"] = ns
            else:
                obj["metadata"].pop("namespace", None)
            for k in ("uid", "resourceVersion", "creationTimestamp", "generation"):
                obj["metadata"].pop(k, None)
            apply_defaults(res, obj)
            errs = validate(res, obj)
            if errs:
                raise err_invalid(res.group, res.kind, name, errs)
            if applied:
                obj["metadata"]["managedFields"] = [entry]
            return 201, self._write(res, obj, None, dry=dry)

        entries = copy.deepcopy(live["metadata"].get("managedFields") or [])
        mine = [e for e in entries if e.get("manager") == manager
                and e.get("operation") == "Apply" and not e.get("subresource")]
        prev = decode_fields(mine[0]["fieldsV1"]) if mine else set()
        others = [e for e in entries if not (e in mine)]
        sets = [decode_fields(e.get("fieldsV1")) for e in others]
        conflicts = []
        for e, s in zip(others, sets):
            if e.get("subresource"):
                continue  # the main resource's apply never touches status fields
            for p in sorted(applied & s, key=path_str):
                if p[-1][0] == "k":
                    continue
                lv = _get_path(live, p)
                if lv is not _OMIT and lv != _get_path(config, p):
                    conflicts.append((e, p))
        if conflicts and not force:
            raise _conflict_error(conflicts)
        for e, p in conflicts:
            sets[others.index(e)].discard(p)
        owned_by_others = set().union(*sets) if sets else set()
        new = copy.deepcopy(live)
        new["metadata"].pop("managedFields", None)
        for p in sorted(prev - applied, key=len, reverse=True):
            if p in owned_by_others or any(q[:len(p)] == p for q in owned_by_others):
                continue
            _remove_path(new, p)
        new = merge_applied(new, config)
        new["metadata"]["name"] = name
        for k in ("uid", "resourceVersion", "creationTimestamp", "generation",
                  "deletionTimestamp"):
            if k in live["metadata"]:
                new["metadata"][k] = live["metadata"][k]
        apply_defaults(res, new)
        self._validate_or_raise(res, new, live)
        out = []
        for e, s in zip(others, sets):
            if s:
                if s != decode_fields(e.get("fieldsV1")):
                    e = dict(e, fieldsV1=encode_fields(s))
                out.append(e)
        unchanged = _without_mf(new) == _without_mf(live)
        if mine and prev == applied and unchanged:
            entry = mine[0]  # a no-op apply keeps the entry's time
        if applied:
            # the applier's entry keeps its place in the list
            idx = entries.index(mine[0]) if mine else len(entries)
            out.insert(min(idx, len(out)), entry)
        if out:
            new["metadata"]["managedFields"] = out
        return 200, self._write(res, new, live, dry=dry)

    def _update_managed(self, res, old, new, manager, subresource=""):
        """managedFields after an Update operation by `manager` (create, PUT, non-apply
        PATCH, controller writes): it owns what it changed; others lose what changed."""
        status = subresource == "status"

        def paths(obj):
            if obj is None:
                return set()
            ps = managed_paths(obj, keep_status=status)
            if status:
                ps = {p for p in ps if p[:1] == (("f", "status"),)}
            return ps
        try:
            oldp, newp = paths(old), paths(new)
        except TypedError as e:
            raise err_internal(f"failed to create typed live object: {e}")
        changed = {p for p in newp if p not in oldp
                   or (p[-1][0] == "f" and _get_path(new, p) != _get_path(old, p))}
        removed = oldp - newp
        entries = copy.deepcopy((old or new)["metadata"].get("managedFields") or []) \
            if old is not None else []
        out, found = [], False
        for e in entries:
            s = decode_fields(e.get("fieldsV1"))
            me = (e.get("manager") == manager and e.get("operation") == "Update"
                  and (e.get("subresource") or "") == subresource)
            if me:
                found = True
                s2 = (s - removed) | changed
            else:
                s2 = s - removed - changed
            if s2 != s:
                e = dict(e, fieldsV1=encode_fields(s2))
                if me:
                    e["time"] = now_rfc3339()
            if s2:
                out.append(e)
        if not found and changed:
            e = {"manager": manager, "operation": "Update", "apiVersion": res.gv,
                 "time": now_rfc3339(), "fieldsType": "FieldsV1",
                 "fieldsV1": encode_fields(changed)}
            if subresource:
                e["subresource"] = subresource
            out.append(e)
        if out:
            new["metadata"]["managedFields"] = out
        else:
            new["metadata"].pop("managedFields", None)

    def _write(self, res, new, old, dry=False):
        """Stores `new` (unless dry): resourceVersion, generation, uid; a no-op keeps `old`."""
        if old is not None and _without_rv(new) == _without_rv(old):
            return copy.deepcopy(old)
        meta = new["metadata"]
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if res.generation:
                meta["generation"] = 1
            if res.kind == "Service" and not dry:
                self._allocate_cluster_ip(new)
        elif res.generation:
            g = old["metadata"].get("generation", 1)
            meta["generation"] = g + 1 if _spec_of(new) != _spec_of(old) else g
        if dry:
            if old is None:
                meta.pop("resourceVersion", None)
            return copy.deepcopy(new)
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self._store[self._key(res, meta.get("namespace"), meta["name"])] = new
        return copy.deepcopy(new)

    def _create_internal(self, obj, manager):
        res = BY_KIND[(obj["apiVersion"], obj["kind"])]
        obj = copy.deepcopy(obj)
        if not res.namespaced:
            obj["metadata"].pop("namespace", None)
        apply_defaults(res, obj)
        self._update_managed(res, None, obj, manager)
        return self._write(res, obj, None)

    def _allocate_cluster_ip(self, svc):
        spec = svc.setdefault("spec", {})
        if spec.get("type") == "ExternalName" or spec.get("clusterIP") == "None":
            return
        if not spec.get("clusterIP"):
            n = self._ip_counter
            self._ip_counter += 1
            spec["clusterIP"] = f"10.96.{n // 250}.{n % 250 + 1}"
        spec["clusterIPs"] = [spec["clusterIP"]]


def _conflict_error(conflicts):
    def who(e):
        m = json.dumps(e.get("manager", ""))
        if e.get("subresource"):
            m += f' with subresource {json.dumps(e["subresource"])}'
        if e.get("operation") == "Update":
            m += f" using {e.get('apiVersion')}"
        return m
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {who(e)}",
               "field": path_str(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        msg = f"Apply failed with 1 conflict: conflict with {who(e)}: {path_str(p)}"
    else:
        by = {}
        for e, p in conflicts:
            by.setdefault(who(e), []).append(path_str(p))
        lines = []
        for m in sorted(by):
            lines.append(f"conflicts with {m}:")
            lines += [f"- {p}" for p in by[m]]
        msg = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return APIError(409, "Conflict", msg, {"causes": causes})


def _without_mf(obj):
    o = copy.deepcopy(obj)
    o["metadata"].pop("managedFields", None)
    o["metadata"].pop("resourceVersion", None)
    return o


def _without_rv(obj):
    o = dict(obj)
    o["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    return o


def _spec_of(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


def _json_patch(target, ops):
    """RFC 6902 (add, remove, replace, test, copy, move)."""
    doc = copy.deepcopy(target)
    if not isinstance(ops, list):
        raise err_bad_request("json: cannot unmarshal object into Go value of type "
                              "jsonpatch.Patch")

    def walk(path):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        return parent, parts[-1]
    try:
        for op in ops:
            kind, path = op["op"], op["path"]
            if kind == "test":
                parent, last = walk(path)
                cur = parent[int(last)] if isinstance(parent, list) else parent[last]
                if cur != op.get("value"):
                    raise err_internal(f"testing value {path} failed: test failed")
                continue
            if kind in ("copy", "move"):
                fp, fl = walk(op["from"])
                val = fp[int(fl)] if isinstance(fp, list) else fp[fl]
                if kind == "move":
                    del fp[int(fl) if isinstance(fp, list) else fl]
                kind, op = "add", {"value": copy.deepcopy(val)}
            parent, last = walk(path)
            if kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif kind in ("add", "replace"):
                if isinstance(parent, list):
                    idx = len(parent) if last == "-" else int(last)
                    if kind == "add":
                        parent.insert(idx, op["value"])
                    else:
                        parent[idx] = op["value"]
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = op["value"]
            else:
                raise err_bad_request(f"Unexpected kind: {kind}")
    except (KeyError, IndexError, ValueError, TypeError) as e:
        raise APIError(422, "Invalid", f"the server rejected our request due to an error in "
                       f"our request: doc is missing path: {e}")
    return doc


# --------------------------------------------------------------------------------------
# Simulated controllers: scheduler, PV binder, deployment controller, kubelet, endpoints


class _Controllers:
    """Reconciles the store; called with the server's lock held, every 50 ms."""

    def __init__(self, api):
        self.api = api

    # -- helpers

    def all(self, plural, ns=None):
        return [o for k, o in list(self.api._store.items())
                if k[0] == plural and (ns is None or k[1] == ns)]

    def get(self, plural, ns, name):
        res = BY_PLURAL[plural]
        return self.api._store.get((plural, ns if res.namespaced else None, name))

    def write_status(self, plural, live, status, manager):
        if live.get("status") == status:
            return live
        res = BY_PLURAL[plural]
        new = copy.deepcopy(live)
        new["status"] = copy.deepcopy(status)
        self.api._update_managed(res, live, new, manager, subresource="status")
        return self.api._write(res, new, live)

    def write(self, plural, live, new, manager):
        res = BY_PLURAL[plural]
        self.api._update_managed(res, live, new, manager)
        return self.api._write(res, new, live)

    def delete(self, obj):
        res = BY_KIND[(obj["apiVersion"], obj["kind"])]
        self.api._store.pop(self.api._key(res, obj["metadata"].get("namespace"),
                                          obj["metadata"]["name"]), None)
        self.api._rv += 1

    def state(self, obj):
        return self.api._ctl.setdefault(obj["metadata"]["uid"], {})

    def event(self, obj, etype, reason, message, component):
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        st = self.state(obj)
        seen = st.setdefault("events", set())
        if (reason, message) in seen:
            return
        seen.add((reason, message))
        t = now_rfc3339()
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": ns},
              "involvedObject": {"kind": obj["kind"], "namespace": meta.get("namespace"),
                                 "name": meta["name"], "uid": meta["uid"],
                                 "apiVersion": obj["apiVersion"],
                                 "resourceVersion": meta.get("resourceVersion")},
              "reason": reason, "message": message, "type": etype,
              "source": {"component": component}, "firstTimestamp": t, "lastTimestamp": t,
              "count": 1, "reportingComponent": component, "reportingInstance": ""}
        if not meta.get("namespace"):
            ev["involvedObject"].pop("namespace")
        self.api._create_internal(ev, component)

    def nodes(self):
        return self.all("nodes")  # in the order they were added

    # -- the loop body

    def reconcile(self):
        self.namespaces()
        self.deployments()
        self.pvs()
        self.immediate_binding()
        self.scheduler()
        self.kubelet()
        self.deployment_status()
        self.endpoints()

    def namespaces(self):
        for ns in self.all("namespaces"):
            if ns["metadata"].get("deletionTimestamp"):
                name = ns["metadata"]["name"]
                for key in [k for k in self.api._store if k[1] == name]:
                    del self.api._store[key]
                self.delete(ns)

    def deployments(self):
        api = self.api
        deps = {d["metadata"]["uid"]: d for d in self.all("deployments")}
        for pod in self.all("pods"):
            owner = self.state(pod).get("deployment")
            if owner and owner not in deps:
                self.delete(pod)  # garbage collection of an orphaned pod
        for dep in deps.values():
            meta, spec = dep["metadata"], dep.get("spec") or {}
            st = self.state(dep)
            tmpl = spec.get("template") or {}
            h = _safe_hash(json.dumps(tmpl, sort_keys=True), 10)
            if st.get("generation") != meta.get("generation"):
                st["generation"] = meta.get("generation")
                st["changed_at"] = time.monotonic()
            st["hash"] = h
            ns = meta["namespace"]
            owned = [p for p in self.all("pods", ns)
                     if self.state(p).get("deployment") == meta["uid"]]
            for p in owned:
                if p["metadata"]["labels"].get("pod-template-hash") != h:
                    self.delete(p)
            current = [p for p in owned if p["metadata"]["labels"].get("pod-template-hash") == h]
            want = spec.get("replicas", 1)
            for p in current[want:]:
                self.delete(p)
            rs_name = f"{meta['name']}-{h}"
            rs_uid = str(uuid.uuid5(uuid.NAMESPACE_URL, meta["uid"] + h))
            i = 0
            while len(current) < want:
                name = f"{rs_name}-{_safe_hash(meta['uid'] + h + str(i), 5)}"
                i += 1
                if self.get("pods", ns, name):
                    continue
                labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
                labels["pod-template-hash"] = h
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "generateName": rs_name + "-",
                                    "namespace": ns, "labels": labels,
                                    "ownerReferences": [{"apiVersion": "apps/v1",
                                                         "kind": "ReplicaSet", "name": rs_name,
                                                         "uid": rs_uid, "controller": True,
                                                         "blockOwnerDeletion": True}]},
                       "spec": copy.deepcopy(tmpl.get("spec") or {}),
                       "status": {"phase": "Pending", "qosClass": "BestEffort"}}
                created = api._create_internal(pod, "kube-controller-manager")
                self.state(created)["deployment"] = meta["uid"]
                current.append(created)
                self.event(dep, "Normal", "ScalingReplicaSet",
                           f"Scaled up replica set {rs_name} to {want}",
                           "deployment-controller")

    def pvs(self):
        pvcs = {(c["metadata"]["namespace"], c["metadata"]["name"]): c
                for c in self.all("persistentvolumeclaims")}
        for pv in self.all("persistentvolumes"):
            phase = (pv.get("status") or {}).get("phase")
            ref = (pv.get("spec") or {}).get("claimRef")
            if ref and ref.get("uid"):
                claim = pvcs.get((ref.get("namespace"), ref.get("name")))
                if claim is None or claim["metadata"]["uid"] != ref["uid"]:
                    if phase != "Released":
                        self.write_status("persistentvolumes", pv, {"phase": "Released"},
                                          "kube-controller-manager")
                    continue
            if phase == "Pending" and not ref:
                self.write_status("persistentvolumes", pv, {"phase": "Available"},
                                  "kube-controller-manager")

    def storage_class(self, pvc):
        name = (pvc.get("spec") or {}).get("storageClassName")
        return self.get("storageclasses", None, name) if name else None

    def candidate_pv(self, pvc, hostname=None):
        """The PV a claim would bind to (on a node with that hostname, if given)."""
        spec = pvc.get("spec") or {}
        want = parse_quantity(((spec.get("resources") or {}).get("requests") or {})
                              .get("storage")) or 0
        modes = set(spec.get("accessModes") or [])
        for pv in self.all("persistentvolumes"):
            ps = pv.get("spec") or {}
            if spec.get("volumeName") and pv["metadata"]["name"] != spec["volumeName"]:
                continue
            ref = ps.get("claimRef")
            if ref and (ref.get("namespace"), ref.get("name")) != (
                    pvc["metadata"]["namespace"], pvc["metadata"]["name"]):
                continue
            if ref and ref.get("uid") and ref["uid"] != pvc["metadata"]["uid"]:
                continue
            if (pv.get("status") or {}).get("phase") in ("Released", "Failed"):
                continue
            if (ps.get("storageClassName") or "") != (spec.get("storageClassName") or ""):
                continue
            if (parse_quantity((ps.get("capacity") or {}).get("storage")) or 0) < want:
                continue
            if not modes <= set(ps.get("accessModes") or []):
                continue
            if hostname is not None and pv_hostname(pv) not in (None, hostname):
                continue
            return pv
        return None

    def bind(self, pvc, pv):
        pvc_meta = pvc["metadata"]
        new_pv = copy.deepcopy(pv)
        new_pv["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim",
                                      "namespace": pvc_meta["namespace"],
                                      "name": pvc_meta["name"], "uid": pvc_meta["uid"],
                                      "apiVersion": "v1",
                                      "resourceVersion": pvc_meta["resourceVersion"]}
        pv = self.write("persistentvolumes", pv, new_pv, "kube-controller-manager")
        pv = self.write_status("persistentvolumes", pv, {"phase": "Bound"},
                               "kube-controller-manager")
        new_pvc = copy.deepcopy(pvc)
        new_pvc["spec"]["volumeName"] = pv["metadata"]["name"]
        ann = new_pvc["metadata"].setdefault("annotations", {})
        ann["pv.kubernetes.io/bind-completed"] = "yes"
        ann["pv.kubernetes.io/bound-by-controller"] = "yes"
        pvc = self.write("persistentvolumeclaims", pvc, new_pvc, "kube-controller-manager")
        self.write_status("persistentvolumeclaims", pvc,
                          {"phase": "Bound", "accessModes": pv["spec"].get("accessModes"),
                           "capacity": pv["spec"].get("capacity")},
                          "kube-controller-manager")

    def immediate_binding(self):
        for pvc in self.all("persistentvolumeclaims"):
            if (pvc.get("status") or {}).get("phase") != "Pending":
                continue
            sc = self.storage_class(pvc)
            if sc and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
                self.event(pvc, "Normal", "WaitForFirstConsumer",
                           "waiting for first consumer to be created before binding",
                           "persistentvolume-controller")
                continue
            pv = self.candidate_pv(pvc)
            if pv is not None:
                self.bind(pvc, pv)
            elif not sc and (pvc.get("spec") or {}).get("storageClassName"):
                self.event(pvc, "Warning", "ProvisioningFailed",
                           f'storageclass.storage.k8s.io "{pvc["spec"]["storageClassName"]}" '
                           "not found", "persistentvolume-controller")

    def scheduler(self):
        api = self.api
        nodes = self.nodes()
        for pod in self.all("pods"):
            spec = pod.get("spec") or {}
            if spec.get("nodeName"):
                continue
            ns = pod["metadata"]["namespace"]
            n = len(nodes)
            why, target = None, None
            claims, hostname = [], None
            if not api.schedule_pods:
                why = f"{n} node(s) didn't match Node affinity/selector"
            elif not nodes:
                why = "no nodes"
            for v in spec.get("volumes") or [] if why is None else []:
                cn = (v.get("persistentVolumeClaim") or {}).get("claimName")
                if not cn:
                    continue
                pvc = self.get("persistentvolumeclaims", ns, cn)
                if pvc is None:
                    why = f'persistentvolumeclaim "{cn}" not found'
                    break
                if (pvc.get("status") or {}).get("phase") == "Bound":
                    pv = self.get("persistentvolumes", None, pvc["spec"].get("volumeName"))
                else:
                    pv = self.candidate_pv(pvc)
                    if pv is None:
                        why = f"{n} node(s) didn't find available persistent volumes to bind"
                        break
                claims.append((pvc, pv))
                hostname = pv_hostname(pv) if pv else hostname
            if why is None:
                if api.pod_node is not None:
                    target = next((x for x in nodes if x["metadata"]["name"] == api.pod_node),
                                  None)
                    if target is None:
                        why = f"{n} node(s) didn't match Node affinity/selector"
                elif hostname is not None:
                    target = next((x for x in nodes if (x["metadata"].get("labels") or {})
                                   .get("kubernetes.io/hostname") == hostname), None)
                    if target is None:
                        why = f"{n} node(s) had volume node affinity conflict"
                else:
                    sel = spec.get("nodeSelector") or {}
                    target = next((x for x in nodes if all(
                        (x["metadata"].get("labels") or {}).get(k) == v
                        for k, v in sel.items())), None)
                    if target is None:
                        why = f"{n} node(s) didn't match Pod's node affinity/selector"
            if why is not None:
                if why == "no nodes":
                    msg = "no nodes available to schedule pods"
                elif why.startswith("persistentvolumeclaim"):
                    msg = f"0/{n} nodes are available: {why}. preemption: 0/{n} nodes are " \
                          f"available: {n} Preemption is not helpful for scheduling."
                else:
                    msg = f"0/{n} nodes are available: {why}. preemption: 0/{n} nodes are " \
                          f"available: {n} Preemption is not helpful for scheduling."
                cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                        "lastTransitionTime": self.state(pod).setdefault("unsched_at",
                                                                         now_rfc3339()),
                        "reason": "Unschedulable", "message": msg}
                self.write_status("pods", pod, {"phase": "Pending", "conditions": [cond],
                                                "qosClass": "BestEffort"}, "kube-scheduler")
                self.event(pod, "Warning", "FailedScheduling", msg, "default-scheduler")
                continue
            node = target["metadata"]["name"]
            for pvc, pv in claims:
                if (pvc.get("status") or {}).get("phase") != "Bound" and pv is not None:
                    self.bind(pvc, pv)
            new = copy.deepcopy(pod)
            new["spec"]["nodeName"] = node
            pod = self.write("pods", pod, new, "kube-scheduler")
            t = now_rfc3339()
            self.write_status("pods", pod, {
                "phase": "Pending", "qosClass": "BestEffort",
                "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                "lastTransitionTime": t}]}, "kube-scheduler")
            self.state(pod)["scheduled_at"] = time.monotonic()
            self.event(pod, "Normal", "Scheduled",
                       f"Successfully assigned {ns}/{pod['metadata']['name']} to {node}",
                       "default-scheduler")

    def kubelet(self):
        api = self.api
        for pod in self.all("pods"):
            st = self.state(pod)
            node_name = (pod.get("spec") or {}).get("nodeName")
            if not node_name or "scheduled_at" not in st:
                continue
            if "ip" not in st:
                st["ip"] = f"10.244.0.{api._pod_ip_counter}"
                api._pod_ip_counter += 1
            node = self.get("nodes", None, node_name)
            host_ip = ((node or {}).get("status", {}).get("addresses") or
                       [{"address": "10.0.0.1"}])[0]["address"]
            ready = api.container_waiting is None and \
                time.monotonic() >= st["scheduled_at"] + api.ready_delay
            t0 = st.setdefault("t0", now_rfc3339())
            if ready:
                t1 = st.setdefault("t1", now_rfc3339())
            containers = (pod.get("spec") or {}).get("containers") or []
            cstat = []
            for c in containers:
                s = {"name": c.get("name"), "image": c.get("image"), "imageID": "",
                     "ready": ready, "restartCount": 0, "started": ready}
                if ready:
                    s["state"] = {"running": {"startedAt": t1}}
                    s["containerID"] = "containerd://" + hashlib.sha256(
                        (pod["metadata"]["uid"] + str(c.get("name"))).encode()).hexdigest()
                    s["imageID"] = f"{c.get('image')}@sha256:" + hashlib.sha256(
                        str(c.get("image")).encode()).hexdigest()
                else:
                    reason = api.container_waiting or "ContainerCreating"
                    s["state"] = {"waiting": {"reason": reason}}
                    if api.container_waiting:
                        s["state"]["waiting"]["message"] = \
                            f'Back-off pulling image "{c.get("image")}"'
                cstat.append(s)
            rs = "True" if ready else "False"
            conds = [{"type": "Initialized", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": t0},
                     {"type": "Ready", "status": rs, "lastProbeTime": None,
                      "lastTransitionTime": t1 if ready else t0},
                     {"type": "ContainersReady", "status": rs, "lastProbeTime": None,
                      "lastTransitionTime": t1 if ready else t0},
                     {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": t0}]
            if not ready:
                names = ", ".join(c.get("name") or "" for c in containers)
                for c in conds[1:3]:
                    c["reason"] = "ContainersNotReady"
                    c["message"] = f"containers with unready status: [{names}]"
            status = {"phase": "Running" if ready else "Pending", "conditions": conds,
                      "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                      "podIP": st["ip"], "podIPs": [{"ip": st["ip"]}], "startTime": t0,
                      "containerStatuses": cstat, "qosClass": "BestEffort"}
            self.write_status("pods", pod, status, "kubelet")

    def deployment_status(self):
        for dep in self.all("deployments"):
            meta, spec = dep["metadata"], dep.get("spec") or {}
            st = self.state(dep)
            h = st.get("hash")
            owned = [p for p in self.all("pods", meta["namespace"])
                     if self.state(p).get("deployment") == meta["uid"]]
            updated = [p for p in owned if p["metadata"]["labels"].get("pod-template-hash") == h]
            ready = [p for p in owned if any(c.get("type") == "Ready" and c.get("status") ==
                                             "True" for c in (p.get("status") or {})
                                             .get("conditions") or [])]
            want = spec.get("replicas", 1)
            rs_name = f"{meta['name']}-{h}"
            old = dep.get("status") or {}
            oldc = {c["type"]: c for c in old.get("conditions") or []}
            t = now_rfc3339()

            def cond(ctype, status, reason, message):
                prev = oldc.get(ctype)
                same = prev and prev.get("status") == status and prev.get("reason") == reason
                return {"type": ctype, "status": status,
                        "lastUpdateTime": prev["lastUpdateTime"] if same else t,
                        "lastTransitionTime": prev["lastTransitionTime"]
                        if prev and prev.get("status") == status else t,
                        "reason": reason, "message": message}
            available = len(ready) >= want
            conds = [cond("Available", "True", "MinimumReplicasAvailable",
                          "Deployment has minimum availability.") if available else
                     cond("Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.")]
            complete = len(updated) == want and len(ready) >= want and len(owned) == want
            deadline = spec.get("progressDeadlineSeconds", 600)
            if complete:
                conds.append(cond("Progressing", "True", "NewReplicaSetAvailable",
                                  f'ReplicaSet "{rs_name}" has successfully progressed.'))
            elif time.monotonic() - st.get("changed_at", time.monotonic()) > deadline:
                conds.append(cond("Progressing", "False", "ProgressDeadlineExceeded",
                                  f'ReplicaSet "{rs_name}" has timed out progressing.'))
            else:
                conds.append(cond("Progressing", "True", "ReplicaSetUpdated",
                                  f'ReplicaSet "{rs_name}" is progressing.'))
            status = {"observedGeneration": meta.get("generation", 1)}
            if owned:
                status["replicas"] = len(owned)
            if updated:
                status["updatedReplicas"] = len(updated)
            if ready:
                status["readyReplicas"] = len(ready)
                status["availableReplicas"] = len(ready)
            if len(owned) - len(ready) > 0:
                status["unavailableReplicas"] = len(owned) - len(ready)
            status["conditions"] = conds
            self.write_status("deployments", dep, status, "kube-controller-manager")

    def endpoints(self):
        api = self.api
        services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s
                    for s in self.all("services")}
        for ep in self.all("endpoints"):
            if (ep["metadata"]["namespace"], ep["metadata"]["name"]) not in services:
                self.delete(ep)
        for sl in self.all("endpointslices"):
            svc = (sl["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
            if (sl["metadata"]["namespace"], svc) not in services:
                self.delete(sl)
        for (ns, name), svc in sorted(services.items()):
            spec = svc.get("spec") or {}
            sel = spec.get("selector")
            if not sel:
                continue
            pods = [p for p in self.all("pods", ns)
                    if selector_matches({"matchLabels": sel}, p["metadata"].get("labels"))
                    and (p.get("status") or {}).get("podIP")]
            ready = lambda p: any(c.get("type") == "Ready" and c.get("status") == "True"
                                  for c in (p.get("status") or {}).get("conditions") or [])
            ports = []
            for sp in spec.get("ports") or []:
                tp = sp.get("targetPort", sp.get("port"))
                if isinstance(tp, str):
                    tp = next((cp.get("containerPort") for p in pods
                               for c in p["spec"].get("containers") or []
                               for cp in c.get("ports") or [] if cp.get("name") == tp), None)
                    if tp is None:
                        continue
                port = {"port": tp, "protocol": sp.get("protocol", "TCP")}
                if sp.get("name"):
                    port = {"name": sp["name"], **port}
                ports.append(port)

            def addr(p):
                return {"ip": p["status"]["podIP"], "nodeName": p["spec"].get("nodeName"),
                        "targetRef": {"kind": "Pod", "namespace": ns,
                                      "name": p["metadata"]["name"],
                                      "uid": p["metadata"]["uid"]}}
            subset = {}
            if any(ready(p) for p in pods):
                subset["addresses"] = [addr(p) for p in pods if ready(p)]
            if any(not ready(p) for p in pods):
                subset["notReadyAddresses"] = [addr(p) for p in pods if not ready(p)]
            ep_obj = {"apiVersion": "v1", "kind": "Endpoints",
                      "metadata": {"name": name, "namespace": ns,
                                   "labels": dict(svc["metadata"].get("labels") or {})}}
            if subset and ports:
                subset["ports"] = ports
                ep_obj["subsets"] = [subset]
            if not ep_obj["metadata"]["labels"]:
                del ep_obj["metadata"]["labels"]
            live = self.get("endpoints", ns, name)
            if live is None:
                api._create_internal(ep_obj, "kube-controller-manager")
            else:
                new = copy.deepcopy(live)
                new.pop("subsets", None)
                new.update({k: v for k, v in ep_obj.items() if k != "metadata"})
                self.write("endpoints", live, new, "kube-controller-manager")
            slice_name = f"{name}-{_safe_hash(svc['metadata']['uid'], 5)}"
            labels = dict(svc["metadata"].get("labels") or {})
            labels.update({"kubernetes.io/service-name": name,
                           "endpointslice.kubernetes.io/managed-by":
                           "endpointslice-controller.k8s.io"})
            endpoints = [{"addresses": [p["status"]["podIP"]],
                          "conditions": {"ready": ready(p), "serving": ready(p),
                                         "terminating": False},
                          "nodeName": p["spec"].get("nodeName"),
                          "targetRef": {"kind": "Pod", "namespace": ns,
                                        "name": p["metadata"]["name"],
                                        "uid": p["metadata"]["uid"]}} for p in pods]
            sl_obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {"name": slice_name, "namespace": ns, "labels": labels,
                                   "generateName": name + "-",
                                   "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                                                        "name": name,
                                                        "uid": svc["metadata"]["uid"],
                                                        "controller": True,
                                                        "blockOwnerDeletion": True}]},
                      "addressType": "IPv4", "endpoints": endpoints or None,
                      "ports": [dict(p, name=p.get("name", "")) for p in ports] or None}
            live = self.get("endpointslices", ns, slice_name)
            if live is None:
                api._create_internal(sl_obj, "endpointslice-controller.k8s.io")
            else:
                new = copy.deepcopy(live)
                new["endpoints"], new["ports"] = sl_obj["endpoints"], sl_obj["ports"]
                self.write("endpointslices", live, new, "endpointslice-controller.k8s.io")


def pv_hostname(pv):
    """The kubernetes.io/hostname value a PV's node affinity requires, if any."""
    terms = ((((pv or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required")
             or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for e in term.get("matchExpressions") or []:
            if e.get("key") == "kubernetes.io/hostname" and e.get("operator") == "In" \
                    and e.get("values"):
                return e["values"][0]
    return None


def _controller_loop(self):
    ctl = _Controllers(self)
    while not self._stop.wait(0.05):
        try:
            with self.lock:
                ctl.reconcile()
        except Exception:  # a bug in the fake: show it, keep serving
            import traceback
            traceback.print_exc()


FakeAPIServer._controller_loop = _controller_loop


# --------------------------------------------------------------------------------------
# Manual use: python3 fake_apiserver.py --port 6443 --dir /tmp/kube


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir", required=True, help="where the certificates and kubeconfig go")
    ap.add_argument("--node", action="append", default=None,
                    help="a Node to create (repeatable; default: this host's name)")
    ap.add_argument("--ready-delay", type=float, default=1.0)
    args = ap.parse_args(argv)
    srv = FakeAPIServer(args.dir, port=args.port)
    srv.ready_delay = args.ready_delay
    srv.start()
    for n in args.node or [socket.gethostname()]:
        srv.add_node(n)
    kc = srv.kubeconfig(Path(args.dir) / "kubeconfig")
    print(f"fake API server on {srv.url}\nkubeconfig: {kc}\ntoken: {srv.token}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
