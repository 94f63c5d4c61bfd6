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
         "NetworkPolicy", "ConfigMap", "Deployment", "Service", "CronJob"]
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
    np = by_kind(docs, "NetworkPolicy")
    (rule,) = np["spec"]["ingress"]
    (peer,) = rule["from"]
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
        "--prune-schedule", "30 2 * * *", "--prune-after", "72h")

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

    values, ports = allowed_namespaces(docs)
    assert values == ["ci-cache", "gitlab-runner", "builds"]
    assert ports == [{"protocol": "TCP", "port": 2375}]

    cron = by_kind(docs, "CronJob")
    assert cron["spec"]["schedule"] == "30 2 * * *"
    prune = prune_container(docs)
    assert env(prune, "PRUNE_AFTER") == "72h"
    assert env(prune, "DOCKER_HOST") == "tcp://docker-dind.ci-cache.svc:2375"


def test_render_fixes_the_seeds_faults(dind_cache):
    docs, _ = render(dind_cache, "--node", "node1", "--capacity", "5Gi")
    dep = by_kind(docs, "Deployment")
    assert dep["spec"]["strategy"]["type"] == "Recreate"
    assert dep["spec"]["replicas"] == 1
    spec = dep["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] >= 60

    dind = dind_container(docs)
    assert "--tls=false" in dind["args"]
    assert "--storage-driver=overlay2" in dind["args"]
    assert env(dind, "DOCKER_TLS_CERTDIR") == ""
    assert dind["securityContext"]["privileged"] is True
    assert dind["volumeMounts"] == [{"name": "docker-data", "mountPath": "/var/lib/docker"},
                                    {"name": "daemon-config", "mountPath": "/etc/docker/daemon.json",
                                     "subPath": "daemon.json", "readOnly": True}]
    assert {"name": "daemon-config", "configMap": {"name": "docker-dind-daemon"}} in spec["volumes"]
    assert dind["startupProbe"]["httpGet"]["path"] == "/_ping"
    assert dind["readinessProbe"]["httpGet"]["path"] == "/_ping"
    assert "cpu" in dind["resources"]["requests"] and "memory" in dind["resources"]["requests"]

    # Pinned images, the CLI of the daemon's version, before 29 (containerd store).
    cli = prune_container(docs)["image"]
    for image in (dind["image"], cli):
        assert ":latest" not in image and not image.endswith(":dind") and ":" in image
    assert dind["image"].startswith("docker:") and dind["image"].endswith("-dind")
    version = dind["image"][len("docker:"):-len("-dind")]
    assert int(version.split(".")[0]) < 29
    assert cli == f"docker:{version}-cli"

    # Only the namespace itself reaches port 2375 by default.
    values, _ = allowed_namespaces(docs)
    assert values == ["kube-ops"]
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
    assert env(prune_container(docs), "DOCKER_HOST") == "tcp://docker-dind.kube-ops.svc:2375"

    pv = by_kind(docs, "PersistentVolume")
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert by_kind(docs, "PersistentVolumeClaim")["spec"]["volumeName"] == "docker-pv"


def test_allow_namespace_repeated_keeps_each_once(dind_cache):
    docs, _ = render(dind_cache, "--node", "node1", "--allow-namespace", "a",
                     "--allow-namespace", "b", "--allow-namespace", "a",
                     "--allow-namespace", "kube-ops")
    assert allowed_namespaces(docs)[0] == ["kube-ops", "a", "b"]


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
    prefixes = [int(f.name[:2]) for f in files]
    assert len(files) == len(KINDS) and prefixes == sorted(set(prefixes))   # NN-: the apply order
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
