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
- Pod Security Admission on pod creation (a POST, and the deployment controller's): a
  namespace's pod-security.kubernetes.io/enforce label of baseline or restricted refuses
  a pod that violates it, with PodSecurity's Status message; the controller's refusal
  is a FailedCreate event of the ReplicaSet, as the replicaset-controller reports it.
- Fault injection: Status replies, slow replies, dropped connections.

This module is the server (TLS, routing, verbs, apply); fake_kube_objects.py holds the
object model (Status, validation, defaults), fake_kube_merge.py the managedFields field sets,
fake_kube_controllers.py the controllers.

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
import atexit
import base64
import copy
import http.server
import json
import os
import re
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fake_kube_controllers import Controllers
from fake_kube_merge import (TypedError, check_types, decode_fields, encode_fields,
                             managed_paths, merge_applied, path_str, _get_path, _remove_path,
                             _NOT_MANAGED_META)
from fake_kube_objects import (BY_KIND, BY_PATH, BY_PLURAL, MAX_BODY, RESOURCES, APIError,
                               FieldError, apply_defaults, err_already_exists,
                               err_bad_request, err_conflict_modified, err_forbidden,
                               err_internal, err_invalid, err_invalid_options,
                               err_namespace_not_found, err_not_found, fields_match, labels_match,
                               not_supported, now_rfc3339, parse_field_selector, pod_security_refusal,
                               parse_label_selector, status_object, validate, _details,
                               _OMIT, _safe_hash)



# --------------------------------------------------------------------------------------
# Certificates (openssl CLI)


_PKI_CACHE = None
_PKI_LOCK = threading.Lock()


def _b64(data):
    return base64.b64encode(data).decode()


def _openssl(*args, cwd):
    subprocess.run(["openssl", *[str(a) for a in args]], cwd=cwd, check=True,
                   capture_output=True)


def _make_ca(d, stem, cn):
    _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{stem}.key",
             "-out", f"{stem}.crt", "-days", "3650", "-subj", f"/CN={cn}",
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
             "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "3650",
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
# A request's recorded status when its client went away before the answer (nginx's code).
CLIENT_CLOSED_REQUEST = 499
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



# --------------------------------------------------------------------------------------
# The server


class FakeAPIServer:
    """A fake kube-apiserver. start() it, use .url / .kubeconfig(), stop() it."""

    ready_delay = 1.0
    schedule_pods = True
    pod_node = None
    # The ClusterIP the next Service gets; None: allocated from 10.96.0.0/16. An end-to-end
    # test sets 127.0.0.1 to stand in for kube-proxy, which makes the real one reachable
    # from the node.
    cluster_ip = None
    container_waiting = None  # e.g. "ImagePullBackOff": the pod is scheduled but never ready
    # The PodSecurity level of a namespace without an enforce label (the API server's
    # AdmissionConfiguration defaults): None is privileged, the built-in default.
    pod_security_default = None

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
        """The PKI is made once per process (openssl is the slow part of a start) and
        copied into each server's workdir."""
        global _PKI_CACHE
        d = self.workdir / "pki"
        with _PKI_LOCK:
            if _PKI_CACHE is None or not _PKI_CACHE.is_dir():
                cache = Path(tempfile.mkdtemp(prefix="fake-kube-pki-"))
                self._generate_certs(cache)
                atexit.register(shutil.rmtree, cache, True)
                _PKI_CACHE = cache
            shutil.copytree(_PKI_CACHE, d, dirs_exist_ok=True)
        self.ca_file = d / "ca.crt"
        self.ca_pem = self.ca_file.read_text()
        self.other_ca_file = d / "other-ca.crt"
        self.server_cert_file = d / "server.crt"
        self.server_key_file = d / "server.key"
        self.client_cert_file = d / "client.crt"
        self.client_key_file = d / "client.key"
        self.other_client_cert_file = d / "other-client.crt"
        self.other_client_key_file = d / "other-client.key"

    @staticmethod
    def _generate_certs(d):
        _make_ca(d, "ca", "fake-kubernetes-ca")
        _make_ca(d, "other-ca", "some-other-ca")
        _make_leaf(d, "server", "ca", "/CN=kube-apiserver",
                   "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,"
                   "DNS:kubernetes.default.svc,DNS:kubernetes\n")
        _make_leaf(d, "client", "ca", "/O=system:masters/CN=admin",
                   "extendedKeyUsage=clientAuth\n")
        _make_leaf(d, "other-client", "other-ca", "/O=system:masters/CN=intruder",
                   "extendedKeyUsage=clientAuth\n")
        for f in d.glob("*.csr"):
            f.unlink()

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
        with a Status body (Retry-After if given), or hold it `delay` seconds and then answer
        normally (or with `status` when one is given), or drop the connection (drop=True).
        A held request whose client goes away meanwhile is dropped, never served."""
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

    # ---- controllers

    def _controller_loop(self):
        ctl = Controllers(self)
        while not self._stop.wait(0.05):
            try:
                with self.lock:
                    ctl.reconcile()
            except Exception:  # a bug in the fake: show it, keep serving
                import traceback
                traceback.print_exc()

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
            if fault.delay and not self._hold(h, fault.delay):
                # The client went away (killed, or it gave up) while its request was
                # held: a real API server cancels the request of a closed connection,
                # so it must not land later, behind the back of whoever killed it.
                rec["status"] = CLIENT_CLOSED_REQUEST
                h.close_connection = True
                return
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
    def _hold(h, seconds):
        """Holds the request SECONDS, as a slow server would: False as soon as the client
        has closed its connection (or died), True when it is still waiting."""
        poller = select.poll()
        poller.register(h.connection, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        return not poller.poll(int(seconds * 1000))

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
        if res.kind == "Pod":
            refused = pod_security_refusal(self._store.get(("namespaces", None, ns)), obj, self.pod_security_default)
            if refused:
                raise refused
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
        removable = {p for p in prev - applied
                     if not (p in owned_by_others or any(q[:len(p)] == p for q in owned_by_others))}
        for p in sorted(removable, key=len, reverse=True):
            # A list item that goes takes its fields with it (its key fields too:
            # removing those first would leave an item that cannot be found).
            if any(len(q) < len(p) and p[:len(q)] == q for q in removable):
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
        if not spec.get("clusterIP") and self.cluster_ip:
            spec["clusterIP"] = self.cluster_ip
        elif not spec.get("clusterIP"):
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
