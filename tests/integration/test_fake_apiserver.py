"""The fake Kubernetes API server behaves like the real one where the installer uses it.

Each test talks HTTPS to it with urllib, as an outside client would."""

import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.request

import pytest

NS = "kube-ops"
DEPLOY_URL = "/apis/apps/v1/namespaces/kube-ops/deployments/docker-dind"
APPLY = "application/apply-patch+yaml"


def client(api, auth="cert", ca=None):
    ctx = ssl.create_default_context(cafile=str(ca or api.ca_file))
    if auth == "cert":
        ctx.load_cert_chain(str(api.client_cert_file), str(api.client_key_file))
    return ctx


def call(api, method, path, body=None, ctype="application/json", auth="cert", headers=None):
    """-> (status, parsed JSON body, response headers)."""
    data = None if body is None else (body if isinstance(body, bytes) else
                                      json.dumps(body).encode())
    req = urllib.request.Request(api.url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    if auth == "token":
        req.add_header("Authorization", f"Bearer {api.token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, context=client(api, auth), timeout=10) as r:
            return r.status, json.loads(r.read() or b"null"), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers


def apply(api, path, obj, manager="dind-cache", extra=""):
    return call(api, "PATCH", f"{path}?fieldManager={manager}{extra}", obj, APPLY)


def namespace(api, name=NS):
    status, body, _ = apply(api, f"/api/v1/namespaces/{name}",
                            {"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": name}})
    assert status in (200, 201), body


def deployment(replicas=1, image="docker:24.0.7-dind", labels=None, claim=None):
    labels = labels or {"app": "docker-dind"}
    spec = {"containers": [{"name": "dind", "image": image,
                            "ports": [{"containerPort": 2375}]}]}
    if claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
        spec["containers"][0]["volumeMounts"] = [{"name": "data",
                                                  "mountPath": "/var/lib/docker"}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "docker-dind", "namespace": NS},
            "spec": {"replicas": replicas, "strategy": {"type": "Recreate"},
                     "selector": {"matchLabels": {"app": "docker-dind"}},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def wait_until(predicate, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_no_credentials_is_401_unauthorized(kube_api):
    status, body, _ = call(kube_api, "GET", "/api/v1/namespaces", auth="none")
    assert status == 401
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized",
                    "code": 401}


def test_wrong_token_is_401(kube_api):
    status, body, _ = call(kube_api, "GET", "/version", auth="none",
                           headers={"Authorization": "Bearer not-the-token"})
    assert (status, body["reason"]) == (401, "Unauthorized")


def test_client_certificate_and_token_both_authenticate(kube_api):
    for auth in ("cert", "token"):
        status, body, _ = call(kube_api, "GET", "/api/v1/namespaces", auth=auth)
        assert status == 200
        assert body["kind"] == "NamespaceList"
        assert "default" in [i["metadata"]["name"] for i in body["items"]]


def test_a_client_trusting_another_ca_fails_the_handshake(kube_api):
    ctx = client(kube_api, auth="none", ca=kube_api.other_ca_file)
    with pytest.raises(urllib.error.URLError) as e:
        urllib.request.urlopen(kube_api.url + "/version", context=ctx, timeout=5)
    assert isinstance(e.value.reason, ssl.SSLCertVerificationError)


def test_apply_creates_201_then_identical_reapply_is_200_and_changes_nothing(kube_api):
    namespace(kube_api)
    status, created, _ = apply(kube_api, DEPLOY_URL, deployment())
    assert status == 201
    assert created["metadata"]["generation"] == 1
    [entry] = created["metadata"]["managedFields"]
    assert entry["manager"] == "dind-cache"
    assert entry["operation"] == "Apply"
    assert entry["fieldsType"] == "FieldsV1"
    assert "f:replicas" in entry["fieldsV1"]["f:spec"]
    containers = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert '.' in containers['k:{"name":"dind"}']

    status, again, _ = apply(kube_api, DEPLOY_URL, deployment())
    assert status == 200
    assert again["metadata"]["generation"] == 1
    assert again["metadata"]["managedFields"][0] == entry


def test_identical_reapply_keeps_the_resource_version(kube_api):
    namespace(kube_api)
    path = "/api/v1/namespaces/kube-ops/services/docker-dind"
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "docker-dind", "namespace": NS},
           "spec": {"selector": {"app": "docker-dind"}, "ports": [{"port": 2375}]}}
    _, created, _ = apply(kube_api, path, svc)
    assert created["spec"]["clusterIP"].startswith("10.96.")
    status, again, _ = apply(kube_api, path, svc)
    assert status == 200
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_a_spec_change_bumps_generation(kube_api):
    namespace(kube_api)
    apply(kube_api, DEPLOY_URL, deployment())
    status, changed, _ = apply(kube_api, DEPLOY_URL, deployment(image="docker:25.0.3-dind"))
    assert status == 200
    assert changed["metadata"]["generation"] == 2


def test_apply_without_field_manager_is_refused(kube_api):
    namespace(kube_api)
    status, body, _ = call(kube_api, "PATCH", DEPLOY_URL, deployment(), APPLY)
    assert status == 422
    assert body["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                               "Required value: is required for apply patch")
    assert kube_api.object("deployments", "docker-dind", NS) is None


def test_conflicting_apply_is_409_with_field_manager_causes(kube_api):
    namespace(kube_api)
    seeded = deployment()
    kube_api.put_object(seeded, manager="kubectl")
    status, body, _ = apply(kube_api, DEPLOY_URL, deployment(replicas=3))
    assert status == 409
    assert body["reason"] == "Conflict"
    assert body["message"] == ('Apply failed with 1 conflict: conflict with "kubectl" using '
                               "apps/v1: .spec.replicas")
    assert body["details"]["causes"] == [{"reason": "FieldManagerConflict",
                                          "message": 'conflict with "kubectl" using apps/v1',
                                          "field": ".spec.replicas"}]
    assert kube_api.object("deployments", "docker-dind", NS)["spec"]["replicas"] == 1


def test_applying_the_same_value_shares_ownership(kube_api):
    namespace(kube_api)
    kube_api.put_object(deployment(), manager="kubectl")
    status, body, _ = apply(kube_api, DEPLOY_URL, deployment())
    assert status == 200
    owners = [e["manager"] for e in body["metadata"]["managedFields"]
              if "f:replicas" in e["fieldsV1"].get("f:spec", {})]
    assert sorted(owners) == ["dind-cache", "kubectl"]


def test_force_takes_ownership(kube_api):
    namespace(kube_api)
    kube_api.put_object(deployment(), manager="kubectl")
    status, body, _ = apply(kube_api, DEPLOY_URL, deployment(replicas=3), extra="&force=true")
    assert status == 200
    assert body["spec"]["replicas"] == 3
    kubectl = [e for e in body["metadata"]["managedFields"] if e["manager"] == "kubectl"]
    assert "f:replicas" not in kubectl[0]["fieldsV1"]["f:spec"]


def test_dry_run_all_persists_nothing(kube_api):
    namespace(kube_api)
    status, body, _ = apply(kube_api, DEPLOY_URL, deployment(), extra="&dryRun=All")
    assert status == 201
    assert body["metadata"]["name"] == "docker-dind"
    time.sleep(0.2)  # let the controllers run: they must see nothing
    assert kube_api.object("deployments", "docker-dind", NS) is None
    assert kube_api.objects("pods", NS) == []


def test_unknown_dry_run_value_is_refused(kube_api):
    namespace(kube_api)
    status, body, _ = apply(kube_api, DEPLOY_URL, deployment(), extra="&dryRun=Yes")
    assert status == 422
    assert "dryRun: Unsupported value" in body["message"]


def test_missing_namespace_is_404_namespace_not_found(kube_api):
    status, body, _ = apply(kube_api, DEPLOY_URL, deployment())
    assert status == 404
    assert body["message"] == 'namespaces "kube-ops" not found'
    assert body["details"] == {"name": "kube-ops", "kind": "namespaces"}


def test_invalid_deployment_is_422_with_field_causes(kube_api):
    namespace(kube_api)
    bad = deployment(labels={"app": "something-else"})
    bad["spec"]["template"]["spec"]["containers"][0].pop("image")
    status, body, _ = apply(kube_api, DEPLOY_URL, bad)
    assert status == 422
    assert body["reason"] == "Invalid"
    assert body["message"].startswith('Deployment.apps "docker-dind" is invalid: [')
    causes = {(c["reason"], c["field"]) for c in body["details"]["causes"]}
    assert ("FieldValueInvalid", "spec.template.metadata.labels") in causes
    assert ("FieldValueRequired", "spec.template.spec.containers[0].image") in causes
    assert body["details"]["group"] == "apps" and body["details"]["kind"] == "Deployment"


def test_immutable_selector_is_422(kube_api):
    namespace(kube_api)
    apply(kube_api, DEPLOY_URL, deployment())
    changed = deployment(labels={"app": "docker-dind", "tier": "x"})
    changed["spec"]["selector"]["matchLabels"]["tier"] = "x"
    status, body, _ = apply(kube_api, DEPLOY_URL, changed)
    assert status == 422
    assert "spec.selector: Invalid value" in body["message"]
    assert body["message"].endswith("field is immutable")


def test_name_in_body_must_match_the_url(kube_api):
    namespace(kube_api)
    status, body, _ = apply(kube_api, DEPLOY_URL.replace("docker-dind", "other"), deployment())
    assert status == 400
    assert body["message"] == ("the name of the object (docker-dind) does not match the name "
                               "on the URL (other)")


def test_forbid_gives_403_with_verb_and_resource(kube_api):
    namespace(kube_api)
    kube_api.forbid("patch", "deployments")
    status, body, _ = apply(kube_api, DEPLOY_URL, deployment())
    assert status == 403
    assert body["message"] == ('deployments.apps "docker-dind" is forbidden: User "admin" '
                               'cannot patch resource "deployments" in API group "apps" in '
                               'the namespace "kube-ops"')
    assert body["details"] == {"name": "docker-dind", "group": "apps", "kind": "deployments"}


def test_injected_429_carries_retry_after_then_the_request_succeeds(kube_api):
    kube_api.inject("GET", r"^/version$", status=429, retry_after=2)
    status, body, headers = call(kube_api, "GET", "/version")
    assert status == 429
    assert headers["Retry-After"] == "2"
    assert body["reason"] == "TooManyRequests"
    assert body["details"]["retryAfterSeconds"] == 2
    status, body, _ = call(kube_api, "GET", "/version")
    assert status == 200 and body["major"] == "1"
    assert [r["status"] for r in kube_api.requests] == [429, 200]


def test_injected_drop_closes_the_connection_without_a_reply(kube_api):
    kube_api.inject(path_re="/version", drop=True)
    conn = http.client.HTTPSConnection("127.0.0.1", kube_api.port,
                                       context=client(kube_api), timeout=5)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError,
                        socket.timeout)):
        conn.request("GET", "/version")
        conn.getresponse()
    conn.close()
    assert call(kube_api, "GET", "/version")[0] == 200


def test_a_held_request_whose_client_went_away_never_lands(kube_api):
    """A client killed while its apply is held (as test_install_end_to_end kills install)
    is gone: as a real API server cancels the request of a closed connection, the apply
    is dropped, never served later behind the test's back."""
    namespace(kube_api)
    kube_api.inject("PATCH", r"/deployments/docker-dind$", delay=10)
    conn = http.client.HTTPSConnection("127.0.0.1", kube_api.port, context=client(kube_api), timeout=5)
    conn.request("PATCH", DEPLOY_URL + "?fieldManager=dind-cache", json.dumps(deployment()).encode(),
                 {"Content-Type": APPLY})
    held = wait_until(lambda: next((r for r in list(kube_api.requests) if r["path"] == DEPLOY_URL), None),
                      what="the held apply")
    conn.close()
    wait_until(lambda: held["status"] is not None, timeout=30, what="the held apply to end")
    assert held["status"] == 499, held["status"]    # "client closed request", as nginx logs it
    assert call(kube_api, "GET", DEPLOY_URL)[0] == 404


def test_lists_filter_by_label_and_field_selectors(kube_api):
    kube_api.add_node("node-a")
    namespace(kube_api)
    kube_api.ready_delay = 0.0
    apply(kube_api, DEPLOY_URL, deployment())
    wait_until(lambda: kube_api.objects("pods", NS) and
               kube_api.objects("pods", NS)[0]["spec"].get("nodeName"), what="a pod")
    _, pods, _ = call(kube_api, "GET", "/api/v1/namespaces/kube-ops/pods"
                      "?labelSelector=app%3Ddocker-dind&fieldSelector=spec.nodeName%3Dnode-a")
    assert pods["kind"] == "PodList" and len(pods["items"]) == 1
    _, none, _ = call(kube_api, "GET", "/api/v1/namespaces/kube-ops/pods"
                      "?fieldSelector=spec.nodeName%3Dnode-b")
    assert none["items"] == []


def storage(api, node="node-a"):
    api.add_node(node)
    namespace(api)
    for path, obj in [
        ("/apis/storage.k8s.io/v1/storageclasses/local-volume",
         {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
          "metadata": {"name": "local-volume"},
          "provisioner": "kubernetes.io/no-provisioner",
          "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Retain"}),
        ("/api/v1/persistentvolumes/docker-pv",
         {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "docker-pv"},
          "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                   "storageClassName": "local-volume",
                   "local": {"path": "/mnt/k8s/docker"},
                   "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                       {"key": "kubernetes.io/hostname", "operator": "In",
                        "values": [node]}]}]}}}}),
        ("/api/v1/namespaces/kube-ops/persistentvolumeclaims/docker-dind-data",
         {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
          "metadata": {"name": "docker-dind-data", "namespace": NS},
          "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local-volume",
                   "resources": {"requests": {"storage": "10Gi"}}}}),
        ("/api/v1/namespaces/kube-ops/services/docker-dind",
         {"apiVersion": "v1", "kind": "Service",
          "metadata": {"name": "docker-dind", "namespace": NS},
          "spec": {"selector": {"app": "docker-dind"},
                   "ports": [{"name": "docker", "port": 2375}]}}),
    ]:
        status, body, _ = apply(api, path, obj)
        assert status == 201, body


def test_controllers_bind_the_claim_and_make_the_deployment_available(kube_api):
    kube_api.ready_delay = 0.2
    storage(kube_api)
    assert kube_api.object("persistentvolumeclaims", "docker-dind-data",
                           NS)["status"]["phase"] == "Pending"
    apply(kube_api, DEPLOY_URL, deployment(claim="docker-dind-data"))

    def available():
        d = kube_api.object("deployments", "docker-dind", NS)
        st = d.get("status") or {}
        conds = {c["type"]: c for c in st.get("conditions") or []}
        return (st.get("observedGeneration") == d["metadata"]["generation"]
                and st.get("availableReplicas") == 1 and st.get("updatedReplicas") == 1
                and conds.get("Available", {}).get("status") == "True"
                and conds["Progressing"]["reason"] == "NewReplicaSetAvailable")
    wait_until(available, what="the deployment to be available")
    pvc = kube_api.object("persistentvolumeclaims", "docker-dind-data", NS)
    assert pvc["status"]["phase"] == "Bound" and pvc["spec"]["volumeName"] == "docker-pv"
    pv = kube_api.object("persistentvolumes", "docker-pv")
    assert pv["status"]["phase"] == "Bound"
    assert pv["spec"]["claimRef"]["name"] == "docker-dind-data"
    [pod] = kube_api.objects("pods", NS)
    assert pod["spec"]["nodeName"] == "node-a" and pod["status"]["phase"] == "Running"
    ep = wait_until(lambda: (kube_api.object("endpoints", "docker-dind", NS) or {})
                    .get("subsets"), what="endpoints")
    assert ep[0]["addresses"][0]["ip"] == pod["status"]["podIP"]
    _, slices, _ = call(kube_api, "GET", "/apis/discovery.k8s.io/v1/namespaces/kube-ops/"
                        "endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D"
                        "docker-dind")
    [sl] = slices["items"]
    assert sl["endpoints"][0]["conditions"]["ready"] is True


def test_unschedulable_pod_stays_pending_with_a_failed_scheduling_event(kube_api):
    kube_api.schedule_pods = False
    storage(kube_api)
    apply(kube_api, DEPLOY_URL, deployment(claim="docker-dind-data"))
    events = wait_until(lambda: call(kube_api, "GET", "/api/v1/namespaces/kube-ops/events"
                                     "?fieldSelector=involvedObject.kind%3DPod")[1]["items"],
                        what="an event")
    assert events[0]["reason"] == "FailedScheduling"
    assert events[0]["message"].startswith("0/1 nodes are available: 1 node(s) didn't match "
                                           "Node affinity/selector")
    [pod] = kube_api.objects("pods", NS)
    assert pod["status"]["phase"] == "Pending" and "containerStatuses" not in pod["status"]
    assert pod["status"]["conditions"][0]["reason"] == "Unschedulable"
    assert kube_api.object("persistentvolumeclaims", "docker-dind-data",
                           NS)["status"]["phase"] == "Pending"
    assert "availableReplicas" not in kube_api.object("deployments", "docker-dind",
                                                      NS)["status"]


def labelled_namespace(api, name, level):
    status, body, _ = apply(api, f"/api/v1/namespaces/{name}",
                            {"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": level}}},
                            manager="kubectl")
    assert status in (200, 201), body


def privileged_pod(name, ns):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "dind", "image": "docker:28.5.2-dind",
                                     "securityContext": {"privileged": True}}]}}


def test_a_namespaces_pod_security_level_refuses_a_privileged_pod_as_podsecurity_does(kube_api):
    labelled_namespace(kube_api, "strict", "restricted")
    labelled_namespace(kube_api, "base", "baseline")
    labelled_namespace(kube_api, "open", "privileged")
    status, body, _ = call(kube_api, "POST", "/api/v1/namespaces/base/pods", privileged_pod("p", "base"))
    assert status == 403 and body["reason"] == "Forbidden" and body["details"] == {"name": "p", "kind": "pods"}
    assert body["message"] == ('pods "p" is forbidden: violates PodSecurity "baseline:latest": privileged '
                               '(container "dind" must not set securityContext.privileged=true)')
    status, body, _ = call(kube_api, "POST", "/api/v1/namespaces/strict/pods", privileged_pod("p", "strict"))
    assert status == 403
    assert body["message"] == (
        'pods "p" is forbidden: violates PodSecurity "restricted:latest": privileged (container "dind" must not '
        'set securityContext.privileged=true), allowPrivilegeEscalation != false (container "dind" must set '
        'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "dind" must set '
        'securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "dind" must set '
        'securityContext.runAsNonRoot=true), seccompProfile (pod or container "dind" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')
    assert kube_api.objects("pods", "strict") == []
    status, body, _ = call(kube_api, "POST", "/api/v1/namespaces/open/pods", privileged_pod("p", "open"))
    assert status == 201, body


def test_the_deployment_controller_reports_a_pod_podsecurity_refused(kube_api):
    """Its pods are refused the same way: no pod, and a FailedCreate event of the
    ReplicaSet, as the replicaset-controller reports it."""
    labelled_namespace(kube_api, NS, "baseline")
    dep = deployment()
    dep["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    apply(kube_api, DEPLOY_URL, dep)
    events = wait_until(lambda: call(kube_api, "GET", "/api/v1/namespaces/kube-ops/events"
                                     "?fieldSelector=involvedObject.kind%3DReplicaSet")[1]["items"],
                        what="an event")
    assert events[0]["reason"] == "FailedCreate" and events[0]["type"] == "Warning"
    assert events[0]["source"]["component"] == "replicaset-controller"
    assert events[0]["involvedObject"]["name"].startswith("docker-dind-")
    assert events[0]["message"].startswith('Error creating: pods "docker-dind-')
    assert events[0]["message"].endswith('is forbidden: violates PodSecurity "baseline:latest": privileged '
                                         '(container "dind" must not set securityContext.privileged=true)')
    assert kube_api.objects("pods", NS) == []


def test_pv_source_and_node_affinity_are_immutable(kube_api):
    storage(kube_api)
    _, pv, _ = call(kube_api, "GET", "/api/v1/persistentvolumes/docker-pv")
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "docker-pv"},
          "spec": dict(pv["spec"], local={"path": "/elsewhere"})}
    pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0][
        "values"] = ["node-b"]
    pv["spec"].pop("claimRef", None)
    status, body, _ = apply(kube_api, "/api/v1/persistentvolumes/docker-pv", pv,
                            extra="&force=true")
    assert status == 422
    fields = [c["field"] for c in body["details"]["causes"]]
    assert fields == ["spec.persistentvolumesource", "nodeAffinity"]
    assert "field is immutable" in body["message"]


def test_kubeconfig_names_server_ca_and_credentials(kube_api, tmp_path):
    yaml = pytest.importorskip("yaml")
    path = kube_api.kubeconfig(tmp_path / "config", auth="token-file", ca="data",
                               extra_contexts=("other",))
    conf = yaml.safe_load(path.read_text())
    assert conf["current-context"] == "test"
    cluster = conf["clusters"][0]["cluster"]
    assert cluster["server"] == kube_api.url
    import base64
    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == kube_api.ca_pem
    token_file = conf["users"][0]["user"]["tokenFile"]
    assert open(token_file).read().strip() == kube_api.token
    assert [c["name"] for c in conf["contexts"]] == ["test", "other"]
    exec_conf = yaml.safe_load(kube_api.kubeconfig(tmp_path / "e", auth="exec").read_text())
    assert "exec" in exec_conf["users"][0]["user"]


def test_configmap_keys_are_owned_each_by_the_manager_that_applied_it(kube_api):
    # Server-side apply of a map: each manager owns the keys it applied, so two
    # managers each applying only their own key keep both; one that applies again
    # without its key removes that key and no other; a value another owns conflicts.
    namespace(kube_api)
    path = f"/api/v1/namespaces/{NS}/configmaps/members"

    def cm(data=None):
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "members", "namespace": NS}}
        if data is not None:
            obj["data"] = data
        return obj

    def owners(body):
        return {e["manager"]: sorted(k[2:] for k in e["fieldsV1"].get("f:data", {}) if k.startswith("f:"))
                for e in body["metadata"].get("managedFields", []) if e["operation"] == "Apply"}

    assert apply(kube_api, path, cm({"a": "1"}), manager="dind-cache%2Fa")[0] == 201
    status, body, _ = apply(kube_api, path, cm({"b": "2"}), manager="dind-cache%2Fb")
    assert status == 200 and body["data"] == {"a": "1", "b": "2"}
    assert owners(body) == {"dind-cache/a": ["a"], "dind-cache/b": ["b"]}

    status, body, _ = apply(kube_api, path, cm({"b": "3"}), manager="dind-cache%2Fa")
    assert status == 409, body
    assert body["details"]["causes"][0]["field"] == ".data.b"

    status, body, _ = apply(kube_api, path, cm(), manager="dind-cache%2Fa")
    assert status == 200 and body["data"] == {"b": "2"}
    assert owners(body) == {"dind-cache/b": ["b"]}
