"""Structured merge for the fake Kubernetes API server: managedFields field sets (FieldsV1),
the merge of an applied configuration, and the typed conversion's type checks."""

import copy
import json
import re

from fake_kube_objects import _OMIT


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
