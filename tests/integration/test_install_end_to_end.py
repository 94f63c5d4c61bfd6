"""The whole of `dind-cache install` on one storage node, as an operator runs it: a
blank disk formatted and mounted by a unit, the cluster objects applied, the checker's
timer installed and its first check passing against the real daemon on that disk; a
second run changes nothing; uninstall takes it all back but the data.

Real parts: the disk (a loop device), systemd and journald (booted in namespaces on an
overlay of /), dockerd (started inside systemd's mount namespace, on the disk install
mounted). The Kubernetes API is the fake one; it hands out a loopback address as the
Service's ClusterIP, standing in for kube-proxy, and dockerd listens there on port 2376 with
mutual TLS from the server Secret install applied, as the pod does behind the Service
(dockerd-entrypoint.sh: --tlsverify --tlscacert --tlscert --tlskey)."""

import base64

import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import free_loopback_ip, sh, unix_ping, wait_for
from kube_fixtures import ready_cluster

pytestmark = pytest.mark.udev

NODE = "node1"
DATA_DIR = "/mnt/k8s/docker"
MOUNT_UNIT = "mnt-k8s-docker.mount"
INSTALLED = "/usr/local/sbin/dind-cache"
DAEMON_PORT = 2376
CERTS = "/var/lib/dind-e2e/certs/server"
SOCKET = "/var/lib/dind-e2e/docker.sock"
PLUGIN = "dind-cache-authz"
PLUGIN_MOUNT = """mkdir -p /run/docker/plugins
mount --bind /run/dind-cache/plugins /run/docker/plugins
exec "$@"
"""


class Node:
    """One storage node as an operator meets it: a booted systemd (with udev), a blank
    1G disk, the binary where `make install` puts it, and the fake cluster with the Node
    and a kubeconfig where install looks last (key material inline, as kubeadm writes
    it). INSTALL and UNINSTALL are the commands the operator types."""

    def __init__(self, systemd, cluster, dev):
        self.systemd, self.cluster, self.dev = systemd, cluster, dev
        self.install = (INSTALLED, "install", "--device", dev, "--format", "--node", NODE,
                        "--timeout", "60s", "--check-interval", "2m")
        self.uninstall = (INSTALLED, "uninstall", "--delete-cluster-objects")
        self.daemon = None

    def run(self, *args, timeout=240):
        """ARGS inside the node; the CompletedProcess, whatever its exit status."""
        return self.systemd.run(*args, check=False, timeout=timeout)

    def uuid(self):
        return sh("blkid", "-p", "-s", "UUID", "-o", "value", self.dev, check=False).stdout.strip()

    def start_daemon(self):
        """dockerd on the cache disk inside the node, started as the image's entrypoint
        starts it from the server Secret install applied: mutual TLS on the ClusterIP's
        port 2376, judged by the authorization plugin install started."""
        certs = self.systemd.path(CERTS)
        certs.mkdir(parents=True, exist_ok=True)
        for key, value in self.cluster.object("secrets", "docker-dind-server", "kube-ops")["data"].items():
            (certs / key).write_bytes(base64.b64decode(value))
        log = self.systemd.base / "dockerd.log"
        with open(log, "w") as out:
            # The authorization plugin's directory where dockerd looks for plugins, in a
            # mount namespace of the daemon's own, as the pod's hostPath volume shows it;
            # daemon.json's authorization-plugins as a flag.
            self.daemon = subprocess.Popen(
                ["nsenter", "-t", str(self.systemd.pid), "-m", "-p", "--", "unshare", "-m", "--propagation",
                 "private", "sh", "-ec", PLUGIN_MOUNT, "sh", "dockerd", "--authorization-plugin", PLUGIN,
                 "--data-root", DATA_DIR, "-H", f"tcp://{self.cluster.cluster_ip}:{DAEMON_PORT}",
                 "-H", f"unix://{SOCKET}", "--tlsverify",
                 "--tlscacert", f"{CERTS}/ca.pem", "--tlscert", f"{CERTS}/cert.pem", "--tlskey", f"{CERTS}/key.pem",
                 "--pidfile", "/run/dind-e2e/docker.pid", "--exec-root", "/run/dind-e2e/exec",
                 "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=overlay2"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

        def answers():
            if self.daemon.poll() is not None:
                raise RuntimeError("dockerd exited: " + log.read_text()[-2000:])
            return unix_ping(self.systemd.path(SOCKET))
        wait_for(answers, timeout=60, what="dockerd on the cache disk")

    def tear_down(self):
        """Stops the node's dockerd and the mount unit (the systemd fixture then removes
        the /dev/disk links that its udev made on the host's /dev)."""
        if self.daemon:
            self.run("sh", "-c", "kill $(cat /run/dind-e2e/docker.pid)")
            try:
                self.daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
        self.run("systemctl", "stop", MOUNT_UNIT)


@pytest.fixture
def node(loops, systemd, kube_api):
    cluster = ready_cluster(kube_api, NODE, cluster_ip=free_loopback_ip(DAEMON_PORT))
    dev = loops.device(size="1G")
    systemd.install_binary(INSTALLED)
    cluster.kubeconfig(systemd.path("/etc/kubernetes/admin.conf"), auth="cert-data", ca="data")
    systemd.settle_udev()
    n = Node(systemd, cluster, dev)
    try:
        yield n
    finally:
        n.tear_down()


def test_install_prepares_disk_cluster_and_checker_and_uninstall_takes_them_back(node):
    systemd, cluster, install = node.systemd, node.cluster, node.install
    # The disk first: the daemon that the first check talks to lives on it.
    disk = node.run(*install, "--skip-apply", "--skip-timer")
    assert disk.returncode == 0, disk.stdout + disk.stderr
    uuid = node.uuid()
    # The cluster next, without the checker: the daemon's certificates exist only
    # once install has made them and applied the server Secret.
    objects = node.run(*install, "--skip-timer")
    assert objects.returncode == 0, objects.stdout + objects.stderr
    node.start_daemon()

    first = node.run(*install)
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    assert "DOCKER_HOST: tcp://docker-dind.kube-ops.svc:2376" in first.stdout
    assert "dind-cache check OK" in out
    assert f"[OK]      tls: mutual TLS with the daemon at tcp://{cluster.cluster_ip}:2376" in out, out

    pv = cluster.object("persistentvolumes", "docker-pv")
    assert pv["spec"]["local"]["path"] == DATA_DIR
    # The filesystem's size, rounded down to MiB (under 1Gi): a 1G disk less xfs's log.
    storage = pv["spec"]["capacity"]["storage"]
    assert storage.endswith("Mi") and 900 < int(storage[:-2]) < 1024, storage
    pvc = cluster.object("persistentvolumeclaims", "docker-dind-data", "kube-ops")
    assert pvc["spec"]["resources"]["requests"]["storage"] == storage
    dep = cluster.object("deployments", "docker-dind", "kube-ops")
    assert dep["spec"]["strategy"]["type"] == "Recreate"
    env = systemd.path("/etc/dind-cache/dind-cache.env").read_text()
    assert f"DOCKER_HOST=tcp://{cluster.cluster_ip}:{DAEMON_PORT}" in env.replace('"', "")
    assert "DOCKER_TLS_VERIFY=1" in env and "DOCKER_CERT_PATH=/etc/dind-cache/pki/checker" in env
    assert node.run("systemctl", "is-enabled", "dind-cache-check.timer").stdout.strip() == "enabled"
    assert node.run("systemctl", "is-active", MOUNT_UNIT).stdout.strip() == "active"
    summary = systemd.journal("-o", "cat", "-u", "dind-cache-check", "DIND_CHECK=summary")
    assert "dind-cache check OK" in summary, summary

    # The same command again: nothing to do anywhere.
    cluster.clear_requests()
    second = node.run(*install)
    out2 = second.stdout + second.stderr
    assert second.returncode == 0, out2
    assert "Disk: nothing changed" in out2, out2
    assert " created" not in second.stdout and " configured" not in second.stdout, second.stdout
    assert node.uuid() == uuid

    gone = node.run(*node.uninstall)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not systemd.path("/etc/systemd/system/dind-cache-check.timer").exists()
    assert cluster.object("deployments", "docker-dind", "kube-ops") is None
    assert cluster.object("persistentvolumes", "docker-pv") is None
    # The disk and its data stay: only --wipe-data touches them.
    assert node.run("systemctl", "is-active", MOUNT_UNIT).stdout.strip() == "active"
    assert node.run("test", "-d", f"{DATA_DIR}/overlay2").returncode == 0


# ---- interrupted runs: install killed (SIGKILL) at each step, then run again

CHECKER_UNITS = ("dind-cache-check.service", "dind-cache-check.timer")
CATALOG_ID = "0522cdb6e63240c9803c794bb18905ea"   # "not mounted", in units/dind-cache.catalog
STATE_DIRS = ("/etc/systemd/system", "/etc/dind-cache", "/usr/local/lib/systemd/catalog")
# The objects install applies (the Namespace stays on uninstall, by design).
APPLIED = (("storageclasses", None), ("persistentvolumes", None),
           ("persistentvolumeclaims", "kube-ops"), ("networkpolicies", "kube-ops"),
           ("deployments", "kube-ops"), ("services", "kube-ops"), ("cronjobs", "kube-ops"),
           ("secrets", "kube-ops"))
# Kept by uninstall on purpose: the node's PKI goes only with --wipe-data.
PKI_DIR = "etc/dind-cache/pki/"


def node_state(systemd):
    """What install leaves on the node: every file under the directories it writes
    (names and contents: a leftover temporary file shows), and the units' states."""
    files = {}
    for top in STATE_DIRS:
        root = systemd.path(top)
        for dirpath, _, names in os.walk(root):
            for name in names:
                p = os.path.join(dirpath, name)
                rel = os.path.relpath(p, systemd.root)
                files[rel] = os.readlink(p) if os.path.islink(p) else open(p, "rb").read()
    units = {}
    for u in (MOUNT_UNIT, *CHECKER_UNITS):
        props = systemd.run("systemctl", "show", "-P", "LoadState,UnitFileState,NeedDaemonReload", u,
                            check=False).stdout.split()
        units[u] = props
    units["timer-active"] = systemd.run("systemctl", "is-active", CHECKER_UNITS[1], check=False).stdout.strip()
    units["mount-active"] = systemd.run("systemctl", "is-active", MOUNT_UNIT, check=False).stdout.strip()
    return {"files": files, "units": units}


def cluster_state(cluster):
    """The objects install applied, without what the server sets on each write."""
    out = {}
    for resource, ns in APPLIED:
        for obj in cluster.objects(resource, ns):
            meta = obj.get("metadata", {})
            key = (resource, meta.get("namespace"), meta.get("name"))
            out[key] = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
            # The binding names the claim of the day (uid, version): the controller's.
            claim = out[key].get("spec", {}).get("claimRef")
            if claim:
                out[key]["spec"] = dict(out[key]["spec"], claimRef={
                    k: v for k, v in claim.items() if k not in ("uid", "resourceVersion")})
            out[key]["labels"] = meta.get("labels")
            out[key]["annotations"] = meta.get("annotations")
    return out


def installed_nothing(systemd, cluster):
    """After uninstall: none of the checker's files (nor their temporary files), the
    checker's units unknown to systemd, no applied object left; the mount stays."""
    state = node_state(systemd)
    ours = [f for f in state["files"] if "dind-cache" in f and not f.startswith(PKI_DIR)]
    assert ours == [], ours
    for u in CHECKER_UNITS:
        assert state["units"][u][0] == "not-found", state["units"]
    assert cluster_state(cluster) == {}
    assert state["units"]["mount-active"] == "active"


def spawn_in(systemd, *args):
    return subprocess.Popen(["nsenter", "-t", str(systemd.pid), "-m", "-p", "--", *[str(a) for a in args]],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def kill_inside(proc):
    """SIGKILL to the process nsenter started (its only child)."""
    children = sh("pgrep", "-P", str(proc.pid), check=False).stdout.split()
    assert len(children) == 1, children
    os.kill(int(children[0]), signal.SIGKILL)
    out = proc.communicate(timeout=60)[0]
    return out


def killed_while_requesting(systemd, cluster, cmd, method, path_re):
    """Runs CMD; the fake API server holds the first METHOD request for PATH_RE, and
    while it is held (the install waiting for the answer) the install is killed."""
    cluster.clear_requests()
    cluster.inject(method, path_re, delay=30)
    proc = spawn_in(systemd, *cmd)
    try:
        wait_for(lambda: proc.poll() is not None or any(
            r["method"] == method and re.search(path_re, r["path"]) for r in list(cluster.requests)),
            timeout=120, what=f"{method} {path_re}")
    finally:
        if proc.poll() is not None:
            raise AssertionError("install ended before the held request: " + proc.communicate()[0])
    out = kill_inside(proc)
    with cluster.lock:
        cluster._faults.clear()
    return out


def killed_at(systemd, cmd, breakpoint):
    """Runs CMD under gdb, which kills it (SIGKILL) at BREAKPOINT."""
    proc = spawn_in(systemd, "gdb", "-q", "-batch", "-nx", "-ex", f"break {breakpoint}",
                    "-ex", "run", "-ex", "kill", "--args", *cmd)
    out = proc.communicate(timeout=240)[0]
    assert "killed]" in out, out
    return out


def killed_while_writing(systemd, cmd, path):
    """Kills CMD when it is about to rename its temporary file over PATH: the file
    written and synced, not yet in place."""
    return killed_at(systemd, cmd, f'rename if $_streq((char *) $rsi, "{path}")')


def test_install_killed_at_any_step_converges_when_run_again_and_uninstall_removes_what_exists(node):
    if os.uname().machine != "x86_64" or not shutil.which("gdb"):
        pytest.skip("the kill while writing needs gdb on x86_64 (the breakpoint reads rename's $rsi)")
    systemd, cluster, install, uninstall = node.systemd, node.cluster, node.install, node.uninstall
    # Killed after the mount unit: the disk is formatted and mounted, the
    # cluster not yet asked anything but the Node.
    killed_while_requesting(systemd, cluster, install, "GET", r"^/api/v1/nodes/node1$")
    uuid = node.uuid()
    assert systemd.run("systemctl", "is-active", MOUNT_UNIT).stdout.strip() == "active"
    assert cluster_state(cluster) == {}
    gone = node.run(*uninstall)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    installed_nothing(systemd, cluster)

    # The daemon serves mutual TLS with the certificates install makes: apply once
    # without the checker, start it from the server Secret as the image would,
    # then take everything back but the node's PKI (kept until --wipe-data).
    objects = node.run(*install, "--skip-timer")
    assert objects.returncode == 0, objects.stdout + objects.stderr
    node.start_daemon()
    gone = node.run(*uninstall)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    installed_nothing(systemd, cluster)

    # The reference: an install that ran through.
    whole = node.run(*install)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    reference = (node_state(systemd), cluster_state(cluster))
    assert {key[0] for key in reference[1]} == {resource for resource, _ in APPLIED}, reference[1].keys()

    steps = {
        "in the middle of applying": lambda: killed_while_requesting(
            systemd, cluster, install, "PATCH", r"/deployments/docker-dind$"),
        "before the env file": lambda: killed_while_requesting(
            systemd, cluster, install, "GET", r"/endpointslices$"),
        "while writing the units": lambda: killed_while_writing(
            systemd, install, "/etc/systemd/system/dind-cache-check.timer"),
        "before the catalog database": lambda: killed_at(systemd, install, "catalog_update_database"),
    }
    for step, kill in steps.items():
        gone = node.run(*uninstall)
        assert gone.returncode == 0, f"{step}: {gone.stdout + gone.stderr}"
        installed_nothing(systemd, cluster)

        # Killed, then uninstall: what the killed run made goes.
        kill()
        gone = node.run(*uninstall)
        assert gone.returncode == 0, f"{step}: {gone.stdout + gone.stderr}"
        installed_nothing(systemd, cluster)

        # Killed, then install again: the same as the install that ran through.
        out = kill()
        if step == "while writing the units":
            # What the kill left: the service in place, the timer's temporary file.
            names = os.listdir(systemd.path("/etc/systemd/system"))
            assert "dind-cache-check.service" in names and "dind-cache-check.timer" not in names, names
            assert any(n.startswith("dind-cache-check.timer.tmp-") for n in names), (names, out)
        again = node.run(*install)
        assert again.returncode == 0, f"{step}: {again.stdout + again.stderr}"
        assert node_state(systemd) == reference[0], step
        now = cluster_state(cluster)
        assert now == reference[1], step
        # journalctl -x explains the findings: the catalog database has them.
        assert CATALOG_ID in systemd.run("journalctl", "--list-catalog").stdout, step
    assert node.uuid() == uuid

    # Killed between writing changed units and reloading systemd: the files are
    # new, systemd still runs the old ones. The next run finds the files as it
    # would write them, and must reload all the same.
    changed = tuple("3m" if a == "2m" else a for a in install)
    out = spawn_in(systemd, "gdb", "-q", "-batch", "-nx", "-ex", "break systemd_daemon_reload",
                   "-ex", "run", "-ex", "kill", "--args", *changed).communicate(timeout=240)[0]
    assert "killed]" in out and "OnUnitActiveSec=3min" in systemd.path(
        "/etc/systemd/system/dind-cache-check.timer").read_text(), out
    timer = CHECKER_UNITS[1]
    assert systemd.run("systemctl", "show", "-P", "NeedDaemonReload", timer).stdout.strip() == "yes"
    again = node.run(*changed)
    assert again.returncode == 0, again.stdout + again.stderr
    assert systemd.run("systemctl", "show", "-P", "NeedDaemonReload", timer).stdout.strip() == "no"
    assert "3min" in systemd.run("systemctl", "show", "-P", "TimersMonotonic", timer).stdout
