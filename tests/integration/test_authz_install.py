"""The authorization plugin as `dind-cache install` wires it, end to end on one node:
install writes and starts dind-cache-authz.socket in a booted systemd, writes the
tenant list, and hands each allowed namespace its own certificate in a Secret; the
pinned dockerd 28.5.2 runs with the daemon.json install applied (which names the
plugin) and finds the socket at /run/docker/plugins, as the pod's hostPath volume
shows it. Jobs are the real CLIs with the certificates from the tenants' Secrets.
Then what an operator does: revoke a tenant (refused from its next request, the other
works), install again (a fresh certificate, which works), drop a tenant, prune through
the plugin (the pruner's timer and the prune CronJob's own commands), stop the socket
(the checker says CRITICAL, naming it), uninstall.

The daemon runs in the host's network namespace on the ClusterIP the fake API server
hands out (standing in for kube-proxy), without a bridge: daemon.json's "icc": false
needs iptables, which a daemon sharing the host's network must not touch, so the test
leaves that one key out (test_daemon_config.py runs it, in a namespace of its own)."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import Dockerd, Systemd, free_loopback_ip, sh
from fake_apiserver import FakeAPIServer
from kube_fixtures import ready_cluster
from test_authz import DENIED, MOUNT_INTO, WRAPPER, job_cli, mounted_disk, ok, pinned_clis, refused
from test_install_tls import secret_files

pytestmark = pytest.mark.module_node

INSTALLED = "/usr/local/sbin/dind-cache"
NODE = "node1"
NS = "kube-ops"
A, B = "team-a", "team-b"
DATA_DIR = "/mnt/k8s/docker"
PLUGIN_DIR = "/run/dind-cache/plugins"
SOCKET_UNIT = "dind-cache-authz.socket"
SERVICE = "dind-cache-authz.service"
STATE = "/var/lib/dind-cache/authz"


class Node:
    def __init__(self, base):
        self.base = base
        self.api = None
        self.systemd = Systemd(base / "systemd")
        self.device = None
        self.dockerd = None
        self.mnt = base / "data"

    def up(self):
        self.cli28, self.buildx = pinned_clis()
        self.api = FakeAPIServer(self.base / "kube-api").start()
        self.cluster_ip = free_loopback_ip(2376)
        ready_cluster(self.api, NODE, cluster_ip=self.cluster_ip)
        for name in (A, B):
            self.api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        self.device = mounted_disk(self.base, self.mnt)
        self.systemd.boot()
        self.systemd.install_binary(INSTALLED)
        # The node mounted its cache disk itself (install without --device).
        self.run("mkdir", "-p", DATA_DIR, check=True)
        self.run("mount", self.device, DATA_DIR, check=True)
        self.api.kubeconfig(self.systemd.path("/etc/kubernetes/admin.conf"), auth="cert-data", ca="data")
        # A directory of the host at the plugin's directory in the node, as the
        # hostPath volume shares it with the pod: install's socket unit makes the
        # socket in it.
        self.plugins = self.base / "plugins"
        self.plugins.mkdir(mode=0o700)
        sh("/usr/bin/python3", "-c", MOUNT_INTO, self.plugins, self.systemd.pid, PLUGIN_DIR)
        return self

    def run(self, *args, check=False, timeout=240):
        return self.systemd.run(*args, check=check, timeout=timeout)

    def install(self, *tenants, timer=False):
        args = [INSTALLED, "install", "--node", NODE, "--timeout", "60s", "--check-interval", "2m"]
        for t in tenants:
            args += ["--allow-namespace", t]
        if not timer:
            args.append("--skip-timer")
        # One stream, as the operator's terminal shows it (progress goes to both).
        return self.run("sh", "-c", 'exec "$@" 2>&1', "sh", *args)

    def start_dockerd(self):
        """The daemon as its pod runs it: the server Secret's files, the ConfigMap's
        daemon.json, the plugin's directory at /run/docker/plugins."""
        tls = self.base / "tls"
        self.secret_files("docker-dind-server", NS, tls / "server")
        config = json.loads(self.api.object("configmaps", "docker-dind-daemon", NS)["data"]["daemon.json"])
        assert config["authorization-plugins"] == ["dind-cache-authz"]
        del config["icc"]            # see the module's docstring
        (self.base / "daemon.json").write_text(json.dumps(config))
        d = Dockerd(self.mnt, self.base / "dockerd", tls_dir=tls, ip=self.cluster_ip, port=2376, which="pinned")
        d.extra_args = ["--config-file", str(self.base / "daemon.json")]
        d.wrapper = ["unshare", "-m", "sh", "-ec", WRAPPER, str(self.plugins)]
        self.dockerd = d.start()

    def secret_files(self, name, namespace, dest):
        """The Secret's data as its volume shows it: DEST/{ca,cert,key}.pem."""
        return secret_files(self.api, name, namespace, dest)

    def job(self, certs, *args, cli="28", env=None, input=None):
        """The docker CLI of a job holding the client certificate in CERTS."""
        conf = certs.parent / (certs.name + "-config")
        if not conf.exists():
            (conf / "cli-plugins").mkdir(parents=True)
            (conf / "cli-plugins" / "docker-buildx").symlink_to(self.buildx)
        return job_cli(self.cli28 if cli == "28" else None, f"tcp://{self.cluster_ip}:2376", certs, conf, args,
                       timeout=240, input=input, env=env)

    def down(self):
        if self.dockerd:
            self.dockerd.stop()
        if self.systemd.pid:
            self.run("umount", DATA_DIR)
        self.systemd.shutdown()
        subprocess.run(["umount", "-l", str(self.mnt)], capture_output=True)
        if self.device:
            subprocess.run(["losetup", "-d", self.device], capture_output=True)
        if self.api:
            self.api.stop()


@pytest.fixture(scope="module")
def node():
    base = Path(tempfile.mkdtemp(prefix="dind-cache-authz-install-", dir="/var/tmp"))
    n = Node(base)
    try:
        yield n.up()
    finally:
        n.down()
        shutil.rmtree(base, ignore_errors=True)


def build(node, certs, tag, cli):
    ctx = node.base / f"ctx-{tag}"
    ctx.mkdir(exist_ok=True)
    (ctx / "hello").write_text(tag + "\n")
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY hello /hello\n")
    if cli == "28":
        return node.job(certs, "buildx", "build", "--load", "-t", tag, ctx)
    return node.job(certs, "build", "-t", tag, ctx, cli="20")


def test_install_starts_the_plugin_before_the_cluster_and_names_it_in_daemon_json(node):
    out = ok(node.install(A, B))
    assert f"Authorization plugin: /etc/systemd/system/{SOCKET_UNIT} and {SERVICE} written" in out, out
    assert out.index("Authorization plugin:") < out.index("Cluster:"), out
    assert (node.plugins / "dind-cache-authz.sock").is_socket()
    assert node.run("systemctl", "is-enabled", SOCKET_UNIT).stdout.strip() == "enabled"
    assert node.run("cat", f"{STATE}/tenants").stdout == f"{A}\n{B}\n"
    dep = node.api.object("deployments", "docker-dind", NS)
    spec = dep["spec"]["template"]["spec"]
    volume = next(v for v in spec["volumes"] if v["name"] == "authz-plugins")
    assert volume["hostPath"] == {"path": PLUGIN_DIR, "type": "Directory"}
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "authz-plugins")
    assert mount["mountPath"] == "/run/docker/plugins" and mount["readOnly"] is True
    env = node.run("cat", "/etc/dind-cache/dind-cache.env").stdout
    assert f"DIND_CACHE_AUTHZ_SOCKET={PLUGIN_DIR}/dind-cache-authz.sock" in env.replace('"', ""), env
    # The same command again: the units and the list stay as they are, and a dry run
    # says so.
    again = ok(node.install(A, B))
    assert f"{SOCKET_UNIT} and {SERVICE} unchanged" in again, again
    assert f"tenant list {STATE}/tenants unchanged" in again, again
    dry = ok(node.run(INSTALLED, "install", "--node", NODE, "--allow-namespace", A, "--allow-namespace", B,
                      "--skip-timer", "--dry-run"))
    assert f"would leave unchanged the tenant list {STATE}/tenants" in dry, dry


def test_the_daemon_runs_with_the_plugin_and_the_checker_passes_through_it(node):
    node.start_dockerd()
    info = json.loads(ok(node.job(node.secret_files("docker-dind-client", A, node.base / "a1"), "info",
                                  "--format", "{{json .}}")))
    assert info["Plugins"]["Authorization"] == ["dind-cache-authz"]
    out = ok(node.install(A, B, timer=True))
    assert "dind-cache check OK" in out, out


@pytest.mark.parametrize("cli", ["28", "20"])
def test_each_tenant_builds_with_its_own_secret_and_is_refused_the_node(node, cli):
    for tenant in (A, B):
        certs = node.secret_files("docker-dind-client", tenant, node.base / f"{tenant}-1")
        ok(build(node, certs, f"{tenant}-{cli}", cli))
        refused(node.job(certs, "run", "--rm", "--privileged", f"{tenant}-{cli}", "/hello", cli=cli), "privileged")


def test_a_revoked_tenant_is_refused_at_once_and_install_gives_it_a_new_certificate(node):
    old_a = node.base / f"{A}-1"
    b = node.base / f"{B}-1"
    out = ok(node.run(INSTALLED, "revoke", "--namespace", A))
    assert "revoked certificate" in out and f"({A})" in out, out
    refused(node.job(old_a, "version"), "revoked")
    ok(node.job(b, "version"))
    listed = ok(node.run(INSTALLED, "revoke", "--list"))
    assert A in listed

    again = ok(node.install(A, B))
    assert "it is revoked" in again, again
    new_a = node.secret_files("docker-dind-client", A, node.base / f"{A}-2")
    assert (new_a / "cert.pem").read_bytes() != (old_a / "cert.pem").read_bytes()
    ok(node.job(new_a, "version"))
    ok(build(node, new_a, "after-revoke", "28"))
    ok(node.job(new_a, "volume", "create", "a-cache"))
    refused(node.job(old_a, "version"), "revoked")
    # Issued once: the next run leaves the new certificate alone.
    third = ok(node.install(A, B))
    assert "it is revoked" not in third, third
    assert node.api.object("secrets", "docker-dind-client", A)["data"]["cert.pem"] == \
        base64.b64encode((new_a / "cert.pem").read_bytes()).decode()


def test_a_dropped_tenant_is_refused_though_its_certificate_still_verifies(node):
    b = node.base / f"{B}-1"
    out = ok(node.install(A))
    assert f"tenant {B}: certificate" in out and "revoked" in out, out
    assert node.run("cat", f"{STATE}/tenants").stdout == f"{A}\n"
    refused(node.job(b, "version"), "revoked")
    ok(node.job(node.base / f"{A}-2", "version"))


def test_the_pruner_and_the_prune_job_prune_through_the_plugin(node):
    ok(node.run("systemctl", "start", "dind-cache-prune.service"))
    shown = node.run("systemctl", "show", "-p", "Result", "dind-cache-prune.service").stdout.strip()
    assert shown == "Result=success", shown
    # The CronJob's own commands, with the prune job's Secret.
    cron = node.api.object("cronjobs", "docker-dind-clear-cache", NS)
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    script = container["args"][-1] if container.get("args") else container["command"][-1]
    assert "DOCKER_BUILDKIT=0 docker builder prune" in script
    certs = node.secret_files("docker-dind-prune-client", NS, node.base / "prune-job")
    bindir = node.base / "prune-bin"
    bindir.mkdir(exist_ok=True)
    if not (bindir / "docker").exists():
        (bindir / "docker").symlink_to(node.cli28)
    p = node.job(certs, "version")    # the same CLI, its identity
    ok(p)
    full = dict(os.environ)
    full.update(env)
    full.update(PATH=f"{bindir}:/usr/bin:/bin", DOCKER_HOST=f"tcp://{node.cluster_ip}:2376",
                DOCKER_CERT_PATH=str(certs), DOCKER_CONFIG=str(node.base / "prune-job-config"))
    run = subprocess.run(["sh", "-ec", script], text=True, capture_output=True, timeout=240, env=full)
    assert run.returncode == 0, run.stdout + run.stderr
    # buildx's way, all of BuildKit's API, is not the prune job's.
    p = node.job(certs, "buildx", "prune", "-af")
    assert p.returncode != 0 and DENIED in p.stderr, p.stdout + p.stderr


def test_with_the_socket_stopped_the_checker_is_critical_naming_it(node):
    ok(node.run("systemctl", "stop", SOCKET_UNIT, SERVICE))
    try:
        # The timer's settings, as install wrote them.
        p = node.run("sh", "-c", f"set -a; . /etc/dind-cache/dind-cache.env; exec {INSTALLED} check --json",
                     timeout=300)
        assert p.returncode == 2, p.stdout + p.stderr
        authz = next(c for c in json.loads(p.stdout)["checks"] if c["name"] == "authz")
        assert authz["state"] == "FAIL" and SOCKET_UNIT in authz["message"], authz
    finally:
        ok(node.run("systemctl", "start", SOCKET_UNIT))


def test_a_socket_file_removed_by_hand_is_listened_on_anew_by_install(node):
    ok(node.run("rm", f"{PLUGIN_DIR}/dind-cache-authz.sock"))
    out = ok(node.install(A))
    assert f"{SOCKET_UNIT} stopped, to listen anew" in out, out
    assert (node.plugins / "dind-cache-authz.sock").is_socket()
    ok(node.job(node.base / f"{A}-2", "version"))


def test_uninstall_removes_the_plugin_and_keeps_its_state(node):
    out = node.run(INSTALLED, "uninstall")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "answers nothing until the plugin is back" in out.stdout + out.stderr
    assert node.run("systemctl", "is-enabled", SOCKET_UNIT).returncode != 0
    assert not node.systemd.path(f"/etc/systemd/system/{SOCKET_UNIT}").exists()
    assert not (node.plugins / "dind-cache-authz.sock").exists()    # RemoveOnStop=
    # Ownership, the deny list and the tenant list stay with the daemon's data: another
    # tenant must not take over team-a's volumes after a re-install.
    assert A in node.run("cat", f"{STATE}/revoked").stdout
    assert node.run("cat", f"{STATE}/tenants").stdout == f"{A}\n"
    assert "a-cache" in node.run("cat", f"{STATE}/owners").stdout
