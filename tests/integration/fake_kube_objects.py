"""The object model of the fake Kubernetes API server: resources, Status objects and field
errors (as k8s.io/apimachinery writes them), names, selectors, quantities, defaulting and
validation (pkg/apis/*/validation, for the fields the installer writes)."""

import copy
import hashlib
import json
import re
import time

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


# --------------------------------------------------------------------------------------
# Pod Security Admission (k8s.io/pod-security-admission): a namespace's
# pod-security.kubernetes.io/enforce label refuses a pod that violates its level, with
# the checks' words. Only the checks a privileged daemon and a plain job pod meet.

PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
PSA_LEVELS = ("privileged", "baseline", "restricted")


def _containers_phrase(names, verb):
    quoted = ", ".join(f'"{n}"' for n in names)
    return f'container {quoted} {verb}' if len(names) == 1 else f'containers {quoted} {verb}'


def _pod_or_containers(names, verb):
    quoted = ", ".join(f'"{n}"' for n in names)
    return f'pod or container {quoted} {verb}' if len(names) == 1 else f'pod or containers {quoted} {verb}'


def pod_security_violations(spec, level):
    """The failed checks of LEVEL for a pod SPEC, as PodSecurity words them."""
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    sc_of = {c.get("name"): (c.get("securityContext") or {}) for c in containers}
    pod_sc = spec.get("securityContext") or {}
    out = []
    privileged = [n for n, sc in sc_of.items() if sc.get("privileged") is True]
    if privileged:
        out.append("privileged (" + _containers_phrase(privileged, "must not set securityContext.privileged=true")
                   + ")")
    if level != "restricted":
        return out
    escalation = [n for n, sc in sc_of.items() if sc.get("allowPrivilegeEscalation") is not False]
    if escalation:
        out.append("allowPrivilegeEscalation != false (" + _containers_phrase(
            escalation, "must set securityContext.allowPrivilegeEscalation=false") + ")")
    caps = [n for n, sc in sc_of.items() if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or [])]
    if caps:
        out.append("unrestricted capabilities (" + _containers_phrase(
            caps, 'must set securityContext.capabilities.drop=["ALL"]') + ")")
    if pod_sc.get("runAsNonRoot") is not True:
        root = [n for n, sc in sc_of.items() if sc.get("runAsNonRoot") is not True]
        if root:
            out.append("runAsNonRoot != true (" + _pod_or_containers(
                root, "must set securityContext.runAsNonRoot=true") + ")")
    if (pod_sc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
        seccomp = [n for n, sc in sc_of.items()
                   if (sc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost")]
        if seccomp:
            out.append("seccompProfile (" + _pod_or_containers(
                seccomp, 'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"') + ")")
    return out


def pod_security_refusal(namespace, pod, default=None):
    """The admission error for creating POD in the NAMESPACE object, or None. Without an
    enforce label the cluster's DEFAULT level applies (the API server's admission
    configuration; None: privileged). An enforce label that names no level is enforced
    as restricted (PodSecurity fails closed)."""
    labels = (namespace or {}).get("metadata", {}).get("labels") or {}
    level = labels.get(PSA_ENFORCE, default)
    if level is None or level == "privileged":
        return None
    if level not in PSA_LEVELS:
        level = "restricted"
    version = labels.get(PSA_ENFORCE + "-version") or "latest"
    failed = pod_security_violations(pod.get("spec") or {}, level)
    if not failed:
        return None
    name = pod["metadata"].get("name") or pod["metadata"].get("generateName") or ""
    return APIError(403, "Forbidden", f'pods "{name}" is forbidden: violates PodSecurity "{level}:{version}": '
                    + ", ".join(failed), _details(name, "", "pods"))


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
        spec = {"restartPolicy": restart_supported[0]}  # an absent template is an empty one
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

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


def _safe_hash(text, n):
    h = hashlib.sha256(text.encode()).digest()
    return "".join(_ALPHANUMS[b % len(_ALPHANUMS)] for b in h[:n])
