"""`dind-cache render`: the manifests as they would be applied, as YAML on stdout,
with the install flags applied to the parsed objects. No cluster is contacted.

PyYAML reads YAML 1.1, as kubectl does: the output must mean the same there."""

import json
import os
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

MANIFESTS = ROOT / "manifests"
KINDS = ["Namespace", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
         "NetworkPolicy", "Service", "ConfigMap", "Deployment", "CronJob"]
GI = 1 << 30
MI = 1 << 20


def render(dind_cache, *args):
    res = dind_cache("render", *args)
    assert res.returncode == 0, res.stderr
    docs = [d for d in yaml.safe_load_all(res.stdout) if d is not None]
    return docs, res


def by_kind(docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"{len(found)} objects of kind {kind}"
    return found[0]


def dind_container(docs):
    dep = by_kind(docs, "Deployment")
    return next(c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "dind")


def prune_container(docs):
    cron = by_kind(docs, "CronJob")
    return cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]


def env(container, name):
    return next(e["value"] for e in container["env"] if e["name"] == name)


def allowed_namespaces(docs):
    """The namespaces the NetworkPolicy admits whole, and its ports. From the daemon's
    own namespace it always admits the prune CronJob's pods, by a label they carry."""
    np = by_kind(docs, "NetworkPolicy")
    (rule,) = np["spec"]["ingress"]
    *namespaces, prune = rule["from"]
    assert prune == {"podSelector": {"matchLabels": {"app": "docker-dind", "app.kubernetes.io/component": "prune"}}}
    labels = by_kind(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert prune["podSelector"]["matchLabels"].items() <= labels.items()
    if not namespaces:
        return [], rule["ports"]
    (peer,) = namespaces
    assert list(peer) == ["namespaceSelector"]
    (expr,) = peer["namespaceSelector"]["matchExpressions"]
    assert expr["key"] == "kubernetes.io/metadata.name" and expr["operator"] == "In"
    return expr["values"], rule["ports"]


def pv_node(docs):
    pv = by_kind(docs, "PersistentVolume")
    (term,) = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    (expr,) = term["matchExpressions"]
    assert expr["key"] == "kubernetes.io/hostname" and expr["operator"] == "In"
    return expr["values"]


def test_render_prints_every_object_in_apply_order(dind_cache):
    docs, res = render(dind_cache, "--node", "node1", "--capacity", "5Gi")
    assert [d["kind"] for d in docs] == KINDS
    assert res.stdout.startswith("---\n")
    for d in docs:
        assert d["metadata"]["labels"]["app"] == "docker-dind"
        if d["kind"] not in ("Namespace", "StorageClass", "PersistentVolume"):
            assert d["metadata"]["namespace"] == "kube-ops"


def test_render_applies_every_flag_to_its_field(dind_cache, tmp_path):
    docs, _ = render(
        dind_cache,
        "--namespace", "ci-cache", "--node", "storage-1.example.com",
        "--data-dir", "/srv/docker-cache", "--capacity", "50Gi",
        "--image", "registry.example.com/library/docker:28.5.2-dind",
        "--registry-mirror", "https://mirror.example.com",
        "--mtu", "1400",
        "--allow-namespace", "gitlab-runner", "--allow-namespace", "builds",
        "--prune-schedule", "30 2 * * *", "--prune-after", "72h",
        "--memory", "16Gi", "--cpus", "1.5")

    ns = by_kind(docs, "Namespace")
    assert ns["metadata"]["name"] == "ci-cache"
    for d in docs:
        if d["kind"] not in ("Namespace", "StorageClass", "PersistentVolume"):
            assert d["metadata"]["namespace"] == "ci-cache", d["kind"]

    pv = by_kind(docs, "PersistentVolume")
    assert pv["spec"]["local"]["path"] == "/srv/docker-cache"
    assert pv["spec"]["capacity"]["storage"] == "50Gi"
    assert pv_node(docs) == ["storage-1.example.com"]
    pvc = by_kind(docs, "PersistentVolumeClaim")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"

    dind = dind_container(docs)
    assert dind["image"] == "registry.example.com/library/docker:28.5.2-dind"
    # Mirror and MTU live in daemon.json (mounted at /etc/docker/daemon.json), whose
    # builder GC is sized from the capacity; its hash restarts the pod on a change.
    daemon = json.loads(by_kind(docs, "ConfigMap")["data"]["daemon.json"])
    assert daemon["registry-mirrors"] == ["https://mirror.example.com"] and daemon["mtu"] == 1400
    assert daemon["builder"]["gc"]["policy"][-1]["maxUsedSpace"] == str(50 * 2**30 * 60 // 100)
    assert not any(a.startswith(("--registry-mirror", "--mtu")) for a in dind["args"])
    template = by_kind(docs, "Deployment")["spec"]["template"]
    assert template["metadata"]["annotations"]["dind-cache.io/daemon-json-hash"].startswith("fnv1a64:")

    assert dind["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"},
                                 "limits": {"cpu": "1500m", "memory": "16Gi"}}

    values, ports = allowed_namespaces(docs)
    assert values == ["gitlab-runner", "builds"]
    assert ports == [{"protocol": "TCP", "port": 2376}]

    cron = by_kind(docs, "CronJob")
    assert cron["spec"]["schedule"] == "30 2 * * *"
    prune = prune_container(docs)
    assert env(prune, "PRUNE_AFTER") == "72h"
    assert env(prune, "DOCKER_HOST") == "tcp://docker-dind.ci-cache.svc:2376"


def test_render_fixes_the_seeds_faults(dind_cache):
    docs, _ = render(dind_cache, "--node", "node1", "--capacity", "5Gi")
    dep = by_kind(docs, "Deployment")
    assert dep["spec"]["strategy"]["type"] == "Recreate"
    assert dep["spec"]["replicas"] == 1
    spec = dep["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] >= 60

    dind = dind_container(docs)
    # Mutual TLS by the image's own contract: the server Secret at /certs/server.
    assert "--tls=false" not in dind["args"]
    assert "--storage-driver=overlay2" in dind["args"]
    assert env(dind, "DOCKER_TLS_CERTDIR") == "/certs"
    assert dind["securityContext"]["privileged"] is True
    assert dind["volumeMounts"] == [{"name": "docker-data", "mountPath": "/var/lib/docker"},
                                    {"name": "daemon-config", "mountPath": "/etc/docker/daemon.json",
                                     "subPath": "daemon.json", "readOnly": True},
                                    {"name": "server-certs", "mountPath": "/certs/server", "readOnly": True},
                                    {"name": "authz-plugins", "mountPath": "/run/docker/plugins", "readOnly": True}]
    assert {"name": "daemon-config", "configMap": {"name": "docker-dind-daemon"}} in spec["volumes"]
    # The authorization plugin's socket, which install starts on the node first.
    assert {"name": "authz-plugins", "hostPath": {"path": "/run/dind-cache/plugins", "type": "Directory"}} \
        in spec["volumes"]
    secret_vol = next(v for v in spec["volumes"] if v["name"] == "server-certs")
    assert secret_vol["secret"]["secretName"] == "docker-dind-server"
    assert secret_vol["secret"]["defaultMode"] == 0o400
    assert dind["ports"] == [{"name": "docker", "containerPort": 2376, "protocol": "TCP"}]
    # The kubelet has no client certificate: the probes use the unix socket.
    for probe in ("startupProbe", "readinessProbe"):
        assert "httpGet" not in dind[probe]
        assert dind[probe]["exec"]["command"] == ["docker", "--host=unix:///var/run/docker.sock", "version"]
    assert by_kind(docs, "Service")["spec"]["ports"][0]["port"] == 2376
    assert "cpu" in dind["resources"]["requests"] and "memory" in dind["resources"]["requests"]
    # Limits sized for a build daemon: every build's steps run in this pod's cgroup.
    assert dind["resources"]["limits"] == {"cpu": "4", "memory": "8Gi"}
    # The namespace is labelled for the privileged daemon, and marked as install's
    # (install leaves out both on a namespace it did not make).
    ns = by_kind(docs, "Namespace")["metadata"]
    assert ns["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "dind-cache.io/pod-security-label" in ns["annotations"]

    # Pinned images, the CLI of the daemon's version, before 29 (containerd store).
    cli = prune_container(docs)["image"]
    for image in (dind["image"], cli):
        assert ":latest" not in image and not image.endswith(":dind") and ":" in image
    assert dind["image"].startswith("docker:") and dind["image"].endswith("-dind")
    version = dind["image"][len("docker:"):-len("-dind")]
    assert int(version.split(".")[0]) < 29
    assert cli == f"docker:{version}-cli"

    # By default no namespace reaches the daemon, and from its own only the prune job.
    values, _ = allowed_namespaces(docs)
    assert values == []
    np = by_kind(docs, "NetworkPolicy")
    assert np["spec"]["policyTypes"] == ["Ingress"]
    assert np["spec"]["podSelector"]["matchLabels"] == \
        by_kind(docs, "Service")["spec"]["selector"]

    # The prune keeps what was used recently, and reaches the daemon from anywhere.
    cron = by_kind(docs, "CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    script = " ".join(prune_container(docs)["command"])
    assert "system prune" not in script
    # Never a tagged image by its creation date: dangling ones only, no -a.
    assert 'docker image prune -f --filter "until=$PRUNE_AFTER"' in script
    assert 'docker container prune -f --filter "until=$PRUNE_AFTER"' in script
    assert "image prune -a" not in script and "image prune -af" not in script
    assert 'docker builder prune -af --keep-storage "$KEEP_STORAGE"' in script
    assert env(prune_container(docs), "PRUNE_AFTER") == "168h"
    assert env(prune_container(docs), "KEEP_STORAGE") == str(5 * GI // 2)
    assert env(prune_container(docs), "DOCKER_HOST") == "tcp://docker-dind.kube-ops.svc:2376"
    assert env(prune_container(docs), "DOCKER_TLS_VERIFY") == "1"
    assert env(prune_container(docs), "DOCKER_CERT_PATH") == "/certs/client"
    # Its own identity (dind-cache:prune-job), not a tenant's.
    assert pod["volumes"] == [{"name": "client-certs", "secret": {"secretName": "docker-dind-prune-client"}}]
    # Neither pod holds Kubernetes API credentials.
    assert pod["automountServiceAccountToken"] is False
    assert spec["automountServiceAccountToken"] is False

    pv = by_kind(docs, "PersistentVolume")
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert by_kind(docs, "PersistentVolumeClaim")["spec"]["volumeName"] == "docker-pv"


def test_allow_namespace_repeated_keeps_each_once(dind_cache):
    docs, _ = render(dind_cache, "--node", "node1", "--allow-namespace", "a",
                     "--allow-namespace", "b", "--allow-namespace", "a",
                     "--allow-namespace", "kube-ops")
    assert allowed_namespaces(docs)[0] == ["a", "b", "kube-ops"]


def test_capacity_defaults_to_the_filesystem_size_rounded_down(dind_cache, tmp_path):
    st = os.statvfs(tmp_path)
    size = st.f_blocks * st.f_frsize
    want = size // GI * GI if size >= GI else size // MI * MI
    docs, res = render(dind_cache, "--node", "node1", "--data-dir", tmp_path)
    got = by_kind(docs, "PersistentVolume")["spec"]["capacity"]["storage"]
    quantity = f"{want // GI}Gi" if want % GI == 0 else f"{want // MI}Mi"
    assert got == quantity
    assert by_kind(docs, "PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"] == quantity
    assert str(tmp_path) in res.stderr and quantity in res.stderr


def test_capacity_of_a_missing_data_dir_keeps_the_default_and_says_so(dind_cache, tmp_path):
    docs, res = render(dind_cache, "--node", "node1", "--data-dir", tmp_path / "missing")
    assert by_kind(docs, "PersistentVolume")["spec"]["capacity"]["storage"] == "5Gi"
    assert "does not exist" in res.stderr
    assert by_kind(docs, "PersistentVolume")["spec"]["local"]["path"] == str(tmp_path / "missing")


def test_manifest_files_are_the_render_at_defaults(dind_cache):
    files = sorted(MANIFESTS.glob("*.yaml"))
    # NN-kind.yaml, applied in name order (the Service, 45-, before the Deployment
    # whose server certificate names its ClusterIP).
    prefixes = [f.name[:3] for f in files]
    assert all(p[:2].isdigit() and p[2] == "-" for p in prefixes), prefixes
    assert len(files) == len(KINDS) and len(set(prefixes)) == len(prefixes)
    from_files = []
    for f in files:
        docs = [d for d in yaml.safe_load_all(f.read_text()) if d is not None]
        assert len(docs) == 1, f"{f.name}: one object per file"
        from_files.append(docs[0])
    docs, _ = render(dind_cache, "--node", "node1", "--data-dir", "/mnt/k8s/docker",
                     "--capacity", "5Gi")
    assert docs == from_files


@pytest.mark.parametrize("args", [
    ["--namespace", "Not_A_Namespace"],
    ["--allow-namespace", "has space"],
    ["--node", "UPPER"],
    ["--data-dir", "relative/path"],
    ["--capacity", "lots"],
    ["--mtu", "9"],
    ["--registry-mirror", "ftp://mirror"],
    ["--prune-schedule", "every sunday"],
    ["--prune-after", "soon"],
    ["--kubeconfig", "/dev/null"],  # not a render flag: render talks to no cluster
    ["--no-such-flag"],
    ["--mtu"],
    ["--memory", "lots"],
    ["--memory", "0"],
    ["--cpus", "-1"],
    ["--cpus", "two"],
])
def test_bad_flags_exit_2_with_a_hint(dind_cache, args):
    res = dind_cache("render", *args)
    assert res.returncode == 2
    assert res.stdout == ""
    assert "render --help" in res.stderr


def test_write_error_on_stdout_fails(tmp_path):
    from conftest import BINARY
    import subprocess
    with open("/dev/full", "w") as full:
        res = subprocess.run([str(BINARY), "render", "--node", "node1", "--capacity", "5Gi"],
                             stdout=full, stderr=subprocess.PIPE, text=True)
    assert res.returncode == 1
    assert "standard output" in res.stderr


def bytes_of(quantity):
    """A whole-byte quantity as render writes it: digits and an optional binary suffix."""
    s = str(quantity)
    for i, suffix in enumerate(["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"], 1):
        if s.endswith(suffix):
            return int(s[:-2]) << (10 * i)
    return int(s)


def test_render_capacity_fractions_are_exact(dind_cache):
    """`--capacity 0.13M` wrote storage "129999" (floating point, truncated)."""
    for given, want in [("0.13M", 130000), (".001M", 1000), ("8.26P", 8260000000000000),
                        ("0.1Ki", 103), ("1.1Gi", 1181116007)]:
        docs, _ = render(dind_cache, "--node", "node1", "--capacity", given)
        pv = by_kind(docs, "PersistentVolume")
        assert bytes_of(pv["spec"]["capacity"]["storage"]) == want, given
        pvc = by_kind(docs, "PersistentVolumeClaim")
        assert bytes_of(pvc["spec"]["resources"]["requests"]["storage"]) == want, given


def test_render_prune_after_is_kept_exactly_not_rounded(dind_cache):
    """`--prune-after 1500ms` became 1s."""
    docs, _ = render(dind_cache, "--node", "node1", "--prune-after", "1500ms")
    assert env(prune_container(docs), "PRUNE_AFTER") == "1s500ms"
    docs, _ = render(dind_cache, "--node", "node1", "--prune-after", "1.5h")
    assert env(prune_container(docs), "PRUNE_AFTER") == "1h30m"


def test_render_data_dir_is_normalised(dind_cache):
    docs, _ = render(dind_cache, "--node", "node1", "--capacity", "5Gi", "--data-dir", "//mnt/./k8s//docker/")
    assert by_kind(docs, "PersistentVolume")["spec"]["local"]["path"] == "/mnt/k8s/docker"


@pytest.mark.parametrize("args, reason", [
    (["--node", "a..b"], "a dot-separated part is empty"),
    (["--node", "n" * 64], "kubernetes.io/hostname"),
    (["--prune-schedule", "- - - - -"], "minute field: failed to parse int from ''"),
    (["--prune-schedule", "*/0 * * * *"], "step of range should be a positive number"),
    (["--prune-schedule", "0 0 * * 7"], "day of week field: end of range (7) above maximum (6)"),
    (["--prune-schedule", "TZ=UTC 0 3 * * *"], "timeZone"),
    (["--image", "docker:dind\x1b[2J"], "control"),
    (["--image", "Docker:dind"], "repository name must be lowercase"),
    (["--image", "docker@sha256:00"], "invalid checksum digest length"),
    (["--prune-after", "1ns"], "not a whole number of microseconds"),
    (["--prune-after", "1500us"], "at least 1s"),
    (["--data-dir", "/dd/.."], "must not contain '..'"),
    (["--data-dir", "/"], "the root directory"),
    (["--capacity", "0"], "more than zero"),
    (["--capacity", "20E"], "64 bits"),
    (["--namespace", "a.b"], "RFC 1123 label"),
    (["--memory", "20E"], "more than fits in 64 bits"),
    (["--cpus", "0"], "the limit must be more than zero"),
    (["--cpus", "4 cores"], "a quantity such as 4, 1.5 or 1500m is needed"),
])
def test_render_refuses_what_the_api_server_would_with_its_reason(dind_cache, args, reason):
    res = dind_cache("render", "--node", "node1", *args)
    assert res.returncode == 2, res.stdout
    assert res.stdout == ""
    assert reason in res.stderr


def test_plaintext_renders_port_2375_without_tls_and_says_so(dind_cache):
    docs, res = render(dind_cache, "--node", "node1", "--plaintext")
    assert "WITHOUT TLS" in res.stderr
    dind = dind_container(docs)
    assert dind["args"][0] == "--tls=false"
    assert env(dind, "DOCKER_TLS_CERTDIR") == ""
    assert dind["ports"][0]["containerPort"] == 2375
    assert [m["name"] for m in dind["volumeMounts"]] == ["docker-data", "daemon-config"]
    # No identities, no authorization plugin: neither its volume nor its name in daemon.json.
    assert "authz-plugins" not in [v["name"] for v in by_kind(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]]
    assert "authorization-plugins" not in json.loads(by_kind(docs, "ConfigMap")["data"]["daemon.json"])
    assert by_kind(docs, "Service")["spec"]["ports"][0]["port"] == 2375
    _, ports = allowed_namespaces(docs)
    assert ports == [{"protocol": "TCP", "port": 2375}]
    prune = prune_container(docs)
    assert env(prune, "DOCKER_HOST") == "tcp://docker-dind.kube-ops.svc:2375"
    assert all(e["name"] not in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH") for e in prune["env"])
    assert "Secret" not in [d["kind"] for d in docs]


def test_a_limit_below_the_request_lowers_the_request(dind_cache):
    """The API server refuses a request over its limit: a small --memory or --cpus takes
    the request down with it, and a fraction of a millicore rounds up (MilliValue())."""
    docs, _ = render(dind_cache, "--node", "node1", "--memory", "512Mi", "--cpus", "0.0001")
    assert dind_container(docs)["resources"] == {"requests": {"cpu": "1m", "memory": "512Mi"},
                                                 "limits": {"cpu": "1m", "memory": "512Mi"}}
