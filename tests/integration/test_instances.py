"""Several caches, one per storage node: `install --instance NAME` on three nodes
against one fake API server (three Nodes), each node with its own XFS data directory
on a loop device and its own /etc, /usr/local and /var/lib (overlays in a
private mount namespace), and --skip-timer (the checker is tested with a booted
systemd elsewhere). The members ConfigMap is written by server-side apply, one field
manager per instance; the fake API server keeps managedFields as the real one does."""

import json
import os
import socket
import struct
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import BINARY, PrivateDirs, make_pki
from kube_fixtures import ready_cluster

NODES = {"a": "node1", "b": "node2", "c": "node3"}
NS = "kube-ops"
DATA = Path(__file__).parent / "data"
OVERLAID = ("/etc", "/usr/local", "/var/lib")


def instance_objects(name):
    """What an instance owns alone: resource, object name, namespace."""
    return [("persistentvolumes", f"docker-pv-{name}", None),
            ("persistentvolumeclaims", f"docker-dind-{name}-data", NS),
            ("services", f"docker-dind-{name}", NS),
            ("secrets", f"docker-dind-{name}-server", NS),
            ("secrets", f"docker-dind-{name}-prune-client", NS),
            ("deployments", f"docker-dind-{name}", NS),
            ("cronjobs", f"docker-dind-{name}-clear-cache", NS)]


class Node:
    """One storage node: its data directory and its own /etc (env file, PKI) and unit
    and catalog directories (PrivateDirs)."""

    def __init__(self, base, loops, name):
        self.name = name
        _, self.data_dir = loops.mounted("xfs")
        self.base = base
        self.dirs = PrivateDirs(base, OVERLAID)

    @property
    def env_file(self):
        return self.dirs.upper("/etc") / "dind-cache/dind-cache.env"

    def env(self):
        return dict(line.split("=", 1) for line in self.env_file.read_text().splitlines()
                    if line and not line.startswith("#"))

    def command(self, *args):
        return self.dirs.command(BINARY, *args)

    def run(self, *args, timeout=180):
        return subprocess.run(self.command(*args), text=True, capture_output=True, timeout=timeout)

    def install_args(self, api, instance, *extra):
        return ("install", "--kubeconfig", api.kubeconfig(self.base / "kubeconfig"), "--node", self.name,
                "--data-dir", self.data_dir, "--skip-timer", "--timeout", "60s",
                *(["--instance", instance] if instance else []), *extra)

    def install(self, api, instance, *extra):
        return self.run(*self.install_args(api, instance, *extra))


@pytest.fixture
def api(kube_api):
    return ready_cluster(kube_api, *NODES.values())


@pytest.fixture
def nodes(tmp_path, loops):
    return {inst: Node(tmp_path / node, loops, node) for inst, node in NODES.items()}


def members(api):
    cm = api.object("configmaps", "dind-cache-members", NS)
    return (cm or {}).get("data") or {}


def key_owners(api):
    """{key: [Apply managers whose field set holds data.KEY]}."""
    cm = api.object("configmaps", "dind-cache-members", NS)
    owners = {}
    for e in cm["metadata"].get("managedFields", []):
        if e.get("operation") != "Apply":
            continue
        for f in e["fieldsV1"].get("f:data", {}):
            if f.startswith("f:"):
                owners.setdefault(f[2:], []).append(e["manager"])
    return owners


def install_all_at_once(api, nodes):
    procs = {inst: subprocess.Popen(n.command(*n.install_args(api, inst)), text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for inst, n in nodes.items()}
    out = {}
    for inst, p in procs.items():
        stdout, stderr = p.communicate(timeout=240)
        out[inst] = (p.returncode, stdout, stderr)
    return out


def address(inst):
    return f"docker-dind-{inst}.{NS}.svc:2376"


def test_three_nodes_installing_at_once_each_register_their_own_key(api, nodes):
    results = install_all_at_once(api, nodes)
    for inst, (rc, out, err) in results.items():
        assert rc == 0, (inst, out, err)

    # every key is there, with its Service's address, each owned by its own manager only
    assert members(api) == {inst: address(inst) for inst in NODES}
    assert key_owners(api) == {inst: [f"dind-cache/{inst}"] for inst in NODES}
    applies = [r for r in api.requests if r["method"] == "PATCH" and r["path"].endswith("/configmaps/dind-cache-members")]
    assert sorted(r["query"]["fieldManager"][0] for r in applies) == sorted(
        f"dind-cache/{i}" for i in NODES)
    for r in applies:   # each sent its own key and nothing else
        body = json.loads(r["body"])
        assert list(body["data"]) == [r["query"]["fieldManager"][0].split("/")[1]]

    for inst, node in NODES.items():
        for res, name, ns in instance_objects(inst):
            assert api.object(res, name, ns) is not None, (inst, res, name)
        pv = api.object("persistentvolumes", f"docker-pv-{inst}")
        assert pv["spec"]["local"]["path"] == str(nodes[inst].data_dir)
        assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
            "matchExpressions"][0]["values"] == [node]
        assert api.object("persistentvolumeclaims", f"docker-dind-{inst}-data", NS)[
            "spec"]["volumeName"] == f"docker-pv-{inst}"
        svc = api.object("services", f"docker-dind-{inst}", NS)
        assert svc["spec"]["selector"]["dind-cache.io/instance"] == inst
        pods = [p for p in api.objects("pods", NS)
                if p["metadata"]["labels"].get("dind-cache.io/instance") == inst]
        assert [p["spec"]["nodeName"] for p in pods] == [node]
        env = nodes[inst].env()
        assert env["DIND_CACHE_INSTANCE"] == inst
        assert env["DOCKER_HOST"] == f"tcp://{svc['spec']['clusterIP']}:2376"
        assert env["DIND_CACHE_DATA_DIR"] == str(nodes[inst].data_dir)
    # three distinct daemons behind three distinct Services
    assert len({api.object("services", f"docker-dind-{i}", NS)["spec"]["clusterIP"]
                for i in NODES}) == 3
    # the shared objects: one of each, selecting every instance's daemon
    assert api.object("services", "docker-dind", NS) is None
    policy = api.object("networkpolicies", "docker-dind", NS)
    for p in api.objects("pods", NS):
        labels = p["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in policy["spec"]["podSelector"]["matchLabels"].items())

    # a re-run changes nothing and prints every member, and where each one's client
    # certificate goes for the route script
    again = nodes["a"].install(api, "a")
    assert again.returncode == 0, again.stderr
    assert "key 'a' = docker-dind-a.kube-ops.svc:2376 unchanged (field manager dind-cache/a)" in again.stdout
    hosts = " ".join(address(i) for i in sorted(NODES))
    assert f'DIND_CACHE_HOSTS="{hosts}"' in again.stdout
    for inst in NODES:
        assert (f'name = "docker-dind-{inst}-client"\n'
                f'        mount_path = "/certs/dind-cache/docker-dind-{inst}.kube-ops.svc"') in again.stdout
    assert key_owners(api) == {inst: [f"dind-cache/{inst}"] for inst in NODES}


def test_uninstall_of_one_instance_removes_only_its_objects_and_key(api, nodes):
    for inst, node in nodes.items():
        p = node.install(api, inst)
        assert p.returncode == 0, p.stderr
    before = {i: {(r, n, ns): api.object(r, n, ns)["metadata"]["uid"] for r, n, ns in instance_objects(i)}
              for i in ("a", "c")}

    kubeconfig = api.kubeconfig(nodes["b"].base / "kubeconfig")
    p = nodes["b"].run("uninstall", "--instance", "b", "--delete-cluster-objects", "--kubeconfig", kubeconfig)
    assert p.returncode == 0, p.stderr
    assert "key 'b' of ConfigMap kube-ops/dind-cache-members removed (field manager dind-cache/b)" in p.stderr

    assert members(api) == {"a": address("a"), "c": address("c")}
    assert key_owners(api) == {"a": ["dind-cache/a"], "c": ["dind-cache/c"]}
    for res, name, ns in instance_objects("b"):
        assert api.object(res, name, ns) is None, (res, name)
    for inst, uids in before.items():   # the others' objects untouched (same uids)
        for (res, name, ns), uid in uids.items():
            assert api.object(res, name, ns)["metadata"]["uid"] == uid
    # the shared ones stay while others use them
    assert api.object("networkpolicies", "docker-dind", NS) is not None
    assert api.object("storageclasses", "local-volume") is not None
    assert "NetworkPolicy kube-ops/docker-dind stays: other instances' daemons use it" in p.stderr
    assert not nodes["b"].env_file.exists()
    assert nodes["a"].env()["DIND_CACHE_INSTANCE"] == "a"

    # an uninstall of an instance this node does not hold leaves the node alone
    p = nodes["a"].run("uninstall", "--instance", "c")
    assert p.returncode == 1
    assert "this node holds instance 'a'" in p.stderr and "--instance a" in p.stderr
    assert nodes["a"].env_file.exists()
    p = nodes["a"].run("uninstall", "--instance", "c", "--delete-cluster-objects", "--kubeconfig", kubeconfig,
                       "--wipe-data", "--data-dir", nodes["a"].data_dir)
    assert p.returncode == 1 and "not wiping" in p.stderr, p.stderr
    assert members(api) == {"a": address("a"), "c": address("c")}
    assert nodes["a"].env_file.exists()

    # a second uninstall is harmless
    p = nodes["b"].run("uninstall", "--instance", "b", "--delete-cluster-objects", "--kubeconfig", kubeconfig)
    assert p.returncode == 0, p.stderr
    assert members(api) == {"a": address("a"), "c": address("c")}


def test_status_lists_every_member_with_its_node_and_readiness(api, nodes):
    for inst in ("a", "b"):
        assert nodes[inst].install(api, inst).returncode == 0
    kubeconfig = api.kubeconfig(nodes["c"].base / "kubeconfig")
    p = nodes["a"].run("status", "--json", "--kubeconfig", kubeconfig)
    doc = json.loads(p.stdout)
    got = [(m["name"], m["node"], m["address"], m["ready"], m["this_node"])
           for m in doc["cluster"]["members"]]
    assert got == [("a", "node1", address("a"), True, True), ("b", "node2", address("b"), True, False)]

    text = nodes["a"].run("status", "--kubeconfig", kubeconfig).stdout
    assert "Members:  2 in ConfigMap kube-ops/dind-cache-members" in text
    assert any(line.split() == ["*", "a", "node1", address("a"), "ready"] for line in text.splitlines())

    # without a way to the API server it says so, and the rest of status still works
    p = nodes["a"].run("status", "--kubeconfig", str(nodes["a"].base / "missing"))
    assert "Members:  cannot reach the cluster" in p.stdout


def test_one_instance_per_node_and_never_unnamed_beside_named(api, nodes):
    assert nodes["a"].install(api, "a").returncode == 0
    # another instance on the same node: refused, naming the one there and how to remove it
    p = nodes["a"].install(api, "x")
    assert p.returncode == 1
    assert "already holds the cache instance 'a'" in p.stderr
    assert "dind-cache uninstall --instance a --delete-cluster-objects" in p.stderr
    assert api.object("deployments", "docker-dind-x", NS) is None
    # the unnamed cache's Service would select named daemons: refused before any change
    p = nodes["b"].install(api, None)
    assert p.returncode == 1
    assert "holds the named instance 'a'" in p.stderr
    assert api.object("deployments", "docker-dind", NS) is None
    assert "b" not in members(api) and "default" not in members(api)


def test_bad_instance_names_are_refused_when_typed(nodes, api):
    for bad, why in (("Upper", "a lowercase RFC 1123 label"), ("default", "names the unnamed instance"),
                     ("a" * 29, "no more than 28 characters")):
        p = nodes["a"].install(api, bad)
        assert p.returncode == 2, (bad, p.stderr)
        assert "invalid value for --instance" in p.stderr and why in p.stderr, p.stderr
    assert api.object("configmaps", "dind-cache-members", NS) is None


@pytest.mark.parametrize("golden,args", [
    ("render-unnamed.yaml", ["--allow-namespace", "gitlab-runner"]),
    ("render-unnamed-plaintext.yaml", ["--plaintext", "--mtu", "1400", "--namespace", "ci-cache"]),
])
def test_unnamed_render_is_what_it_was_before_instances(golden, args):
    # The files were written by the binary of the commit before instances existed (then
    # again when prune added its daemon.json ConfigMap, and when issue 15 gave the prune
    # job its own Secret and hardened the daemon and its pod, and when issue 16 wired
    # the authorization plugin in: only those changed).
    p = subprocess.run([str(BINARY), "render", "--node", "node1", "--data-dir", "/mnt/k8s/docker",
                        "--capacity", "50Gi", *args], text=True, capture_output=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout == (DATA / golden).read_text()


def strip_instance(node, inst):
    """NODE without the label dind-cache.io/instance=INST anywhere (a copy)."""
    if isinstance(node, dict):
        return {k: strip_instance(v, inst) for k, v in node.items()
                if not (k == "dind-cache.io/instance" and v == inst)}
    if isinstance(node, list):
        return [strip_instance(v, inst) for v in node]
    return node


def test_named_render_renames_only_the_instance_objects():
    p = subprocess.run([str(BINARY), "render", "--instance", "b", "--node", "node2", "--data-dir",
                        "/mnt/k8s/docker", "--capacity", "50Gi", "--allow-namespace", "gitlab-runner"],
                       text=True, capture_output=True)
    assert p.returncode == 0, p.stderr
    got = list(yaml.safe_load_all(p.stdout))
    unnamed = list(yaml.safe_load_all((DATA / "render-unnamed.yaml").read_text()))
    shared = {"Namespace", "StorageClass", "NetworkPolicy"}
    for doc in got:   # every object of the instance carries its label; shared ones do not
        labelled = doc["metadata"]["labels"].get("dind-cache.io/instance") == "b"
        assert labelled == (doc["kind"] not in shared), doc["kind"]
    # the same documents but for the instance's names, label and node
    text = yaml.safe_dump_all(unnamed)
    for old, new in (("docker-dind-clear-cache", "docker-dind-b-clear-cache"),
                     ("docker-dind-server", "docker-dind-b-server"),
                     ("docker-dind-client", "docker-dind-b-client"), ("docker-dind-daemon", "docker-dind-b-daemon"),
                     ("docker-dind-prune-client", "docker-dind-b-prune-client"),
                     ("docker-dind-data", "docker-dind-b-data"), ("docker-pv", "docker-pv-b"),
                     ("tcp://docker-dind.", "tcp://docker-dind-b."), ("- node1", "- node2")):
        text = text.replace(old, new)
    expected = list(yaml.safe_load_all(text))
    for doc in expected:
        if doc["kind"] in ("Deployment", "Service"):
            doc["metadata"]["name"] = "docker-dind-b"
    assert [strip_instance(d, "b") for d in got] == expected
    assert "docker-dind-b-server, docker-dind-b-prune-client and each allowed namespace's docker-dind-b-client are " \
        "not printed" in p.stderr


def journal_entries(sock):
    """The entries received on SOCK, journald's native protocol: KEY=VALUE lines, or
    KEY, a little-endian 64-bit length and the value for values with newlines."""
    entries = []
    sock.setblocking(False)
    while True:
        try:
            data = sock.recv(1 << 20)
        except BlockingIOError:
            return entries
        fields, i = {}, 0
        while i < len(data):
            nl = data.index(b"\n", i)
            line = data[i:nl]
            if b"=" in line:
                k, v = line.split(b"=", 1)
                i = nl + 1
            else:
                k, n = line, struct.unpack("<Q", data[nl + 1:nl + 9])[0]
                v = data[nl + 9:nl + 9 + n]
                i = nl + 9 + n + 1
            fields[k.decode()] = v.decode()
        entries.append(fields)


def test_the_checker_on_each_node_carries_its_instance(loops, dockerd_factory, tmp_path):
    # Each node's checker against its own daemon (a real dockerd on the node's own
    # disk, on its own loopback address, with mutual TLS), its env file's
    # DIND_CACHE_INSTANCE in every journal entry and in the metrics.
    for n, inst in enumerate(("a", "b", "c")):
        _, data_dir = loops.mounted("xfs")
        ip = f"127.0.0.{61 + n}"
        daemon = dockerd_factory(data_dir, tls_dir=make_pki(tmp_path / f"pki-{inst}", server_names=(
            "localhost", ip)), ip=ip)
        textfiles = tmp_path / f"node-exporter-{inst}"
        journal = tmp_path / f"journal-{inst}"
        textfiles.mkdir()
        journal.mkdir()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(journal / "socket"))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        env = dict(os.environ, DIND_CACHE_TIMEOUT="5s", DIND_CACHE_DATA_DIR=str(data_dir),
                   DOCKER_HOST=daemon.host, DIND_CACHE_TEXTFILE_DIR=str(textfiles),
                   DIND_CACHE_INSTANCE=inst, **daemon.client_env)
        # journald's socket where sd_journal_send looks for it, in this process only
        script = ('mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && '
                  'mount --bind "$1" /run/systemd/journal && shift && exec "$@"')
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                            str(journal), str(BINARY), "check"], env=env, text=True, capture_output=True,
                           timeout=120)
        try:
            entries = journal_entries(sock)
        finally:
            sock.close()
        assert p.returncode == 0, p.stdout + p.stderr
        assert entries, "no journal entry received"
        assert all(e.get("DIND_INSTANCE") == inst for e in entries), entries
        assert any(e.get("DIND_CHECK") == "summary" for e in entries)

        prom = (textfiles / "dind_cache.prom").read_text()
        assert f'dind_cache_info{{data_dir="{data_dir}",dind_instance="{inst}"}} 1\n' in prom
        lint = subprocess.run(["promtool", "check", "metrics"], input=prom, capture_output=True, text=True,
                              timeout=60)
        assert lint.returncode == 0 and not (lint.stdout + lint.stderr).strip(), lint.stdout + lint.stderr
