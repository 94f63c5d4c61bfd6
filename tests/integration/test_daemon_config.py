"""The daemon.json the manifests carry (ConfigMap docker-dind-daemon, mounted at
/etc/docker/daemon.json) run by the pinned dockerd 28.5.2 itself: `dockerd --validate`
accepts it, the daemon starts with it and applies its settings, and a build job gets
no more than it needs: BuildKit refuses the network.host entitlement (the jobs' own
28.5.2 CLI with buildx asking for it), containers cannot reach one another on the
bridge, and none gains privileges.

The daemon runs as in its pod: in a network namespace of its own, where it sets up
its bridge and iptables rules (icc false needs them; they vanish with the namespace),
reached over its unix socket.

No field of GET /info (API 1.51) reports the builder's GC policy (buildx reads it over
BuildKit's own gRPC API), and BuildKit runs its GC at most once a minute after builds,
too slow for a test: the tests show instead that the daemon parses the policy at
start-up (a bad size stops it, named) and accepts the rendered one."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from conftest import Loops, pinned_dockerd, unix_ping, wait_for

MI = 1 << 20


def render_daemon_json(dind_cache, *args):
    p = dind_cache("render", "--node", "node1", *args)
    assert p.returncode == 0, p.stderr
    docs = [d for d in yaml.safe_load_all(p.stdout) if d]
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    dep = next(d for d in docs if d["kind"] == "Deployment")
    return cm["data"]["daemon.json"], dep


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def without_plugin(text):
    """TEXT without "authorization-plugins": the daemons of this module run without the
    node's plugin (test_authz_install.py runs the rendered daemon.json with it), and
    without its socket dockerd does not start (test below)."""
    doc = json.loads(text)
    assert doc.pop("authorization-plugins") == ["dind-cache-authz"]
    return json.dumps(doc)


def pinned_or_skip():
    dockerd = pinned_dockerd("pinned")
    if not dockerd:
        pytest.skip("the pinned dockerd 28.5.2 is not available (../shared/debs or DIND_CACHE_TEST_DEBS)")
    return dockerd


class PodDockerd:
    """The pinned dockerd as its pod runs it: its own network namespace (bridge and
    iptables inside it), CONFIG as /etc/docker/daemon.json, a unix socket; the jobs'
    28.5.2 CLI with buildx 0.29.1 talks to it."""

    def __init__(self, dockerd, data_root, config):
        self.dockerd = Path(dockerd)
        self.root = self.dockerd.parents[2]                   # the unpacked packages
        self.data_root = Path(data_root)
        self.config = Path(config)
        # Short (under /tmp): containerd's socket path inside must fit in 107 bytes.
        self.run_dir = Path(tempfile.mkdtemp(prefix="dc-pod-", dir="/tmp"))
        self.socket = self.run_dir / "docker.sock"
        self.cli_config = self.run_dir / "cli"
        (self.cli_config / "cli-plugins").mkdir(parents=True)
        (self.cli_config / "cli-plugins" / "docker-buildx").symlink_to(
            self.root / "usr/libexec/docker/cli-plugins/docker-buildx")
        self.proc = None

    def start(self):
        log = open(self.run_dir / "dockerd.log", "w")
        self.proc = subprocess.Popen(
            ["unshare", "--net", "--fork", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", str(self.dockerd),
             "--config-file", str(self.config), "--data-root", str(self.data_root),
             "-H", f"unix://{self.socket}", "--pidfile", str(self.run_dir / "docker.pid"),
             "--exec-root", str(self.run_dir / "exec"), "--storage-driver=overlay2"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("dockerd exited: " + (self.run_dir / "dockerd.log").read_text()[-2000:])
            return unix_ping(self.socket)

        wait_for(up, timeout=60, what="dockerd in its network namespace")
        return self

    def docker(self, *args, check=True, timeout=120):
        env = dict(os.environ, DOCKER_HOST=f"unix://{self.socket}", DOCKER_CONFIG=str(self.cli_config))
        env.pop("DOCKER_TLS_VERIFY", None)
        p = subprocess.run([str(self.root / "usr/bin/docker"), *args], text=True, capture_output=True, env=env,
                           timeout=timeout)
        if check:
            assert p.returncode == 0, f"docker {' '.join(args)}: {p.stdout}{p.stderr}"
        return p

    def stop(self):
        if self.proc and self.proc.poll() is None:
            pid = (self.run_dir / "docker.pid").read_text().strip() if (self.run_dir / "docker.pid").exists() else ""
            if pid:
                os.kill(int(pid), signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for d in (self.data_root, self.run_dir / "exec"):
            subprocess.run(["sh", "-c", f"grep -o ' {d}[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l"],
                           capture_output=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def busybox_image(daemon, tmp):
    """An image with a shell, built without a registry (NOTES.md's recipe)."""
    ctx = Path(tmp) / "busybox"
    ctx.mkdir()
    shutil.copy(shutil.which("busybox") or "/bin/busybox", ctx / "busybox")
    (ctx / "Dockerfile").write_text('FROM scratch\nCOPY busybox /bin/busybox\n'
                                    'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
    daemon.docker("build", "--network", "none", "-t", "bb", str(ctx))


@pytest.fixture(scope="module")
def pod(tmp_path_factory):
    """One daemon for the module, started with the daemon.json render writes for 100Mi,
    a registry mirror and an MTU, its data root on a fresh xfs; the busybox image in it."""
    dockerd = pinned_or_skip()
    tmp = tmp_path_factory.mktemp("pod")
    from conftest import run_tool
    text, _ = render_daemon_json(run_tool, "--capacity", "100Mi", "--registry-mirror", "https://mirror.example.com",
                                 "--mtu", "1400")
    config = tmp / "daemon.json"
    config.write_text(without_plugin(text))
    loops = Loops(tmp)
    daemon = None
    try:
        _, mnt = loops.mounted("xfs", size="512M")
        daemon = PodDockerd(dockerd, mnt, config).start()
        busybox_image(daemon, tmp)
        yield daemon
    finally:
        if daemon:
            daemon.stop()
        loops.cleanup()


def test_the_pinned_dockerd_validates_the_rendered_daemon_json(dind_cache, tmp_path):
    dockerd = pinned_or_skip()
    text, dep = render_daemon_json(dind_cache, "--capacity", "50Gi", "--registry-mirror",
                                   "https://mirror.example.com", "--mtu", "1400")
    doc = json.loads(text)
    assert doc["icc"] is False and doc["no-new-privileges"] is True
    assert doc["builder"]["entitlements"] == {"network-host": False, "security-insecure": False}
    assert doc["builder"]["history"] == {"maxAge": "24h", "maxEntries": 50}
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert annotations["dind-cache.io/daemon-json-hash"] == f"fnv1a64:{fnv1a64(text.encode()):016x}"
    config = tmp_path / "daemon.json"
    config.write_text(text)
    ok = subprocess.run([str(dockerd), "--validate", "--config-file", str(config)], text=True, capture_output=True)
    assert ok.returncode == 0 and "configuration OK" in ok.stdout + ok.stderr, ok.stdout + ok.stderr
    # --validate reads the keys it is given: a history age it cannot parse is refused.
    doc["builder"]["history"]["maxAge"] = "a day"
    config.write_text(json.dumps(doc))
    bad = subprocess.run([str(dockerd), "--validate", "--config-file", str(config)], text=True, capture_output=True)
    assert bad.returncode != 0 and "invalid duration a day" in bad.stderr, bad.stdout + bad.stderr


def test_dockerd_28_runs_with_the_rendered_daemon_json(pod):
    info = json.loads(pod.docker("info", "--format", "{{json .}}").stdout)
    assert info["ServerVersion"].startswith("28.5.2")
    assert info["Driver"] == "overlay2"                      # not the containerd store
    assert info["RegistryConfig"]["Mirrors"] == ["https://mirror.example.com/"]
    assert "name=no-new-privileges" in info["SecurityOptions"]
    bridge = json.loads(pod.docker("network", "inspect", "bridge", "--format", "{{json .Options}}").stdout)
    assert bridge["com.docker.network.bridge.enable_icc"] == "false"
    assert bridge["com.docker.network.driver.mtu"] == "1400"
    status = pod.docker("run", "--rm", "--pull", "never", "bb", "grep", "NoNewPrivs", "/proc/self/status").stdout
    assert status.split() == ["NoNewPrivs:", "1"]


def test_a_build_asking_for_the_host_network_is_refused_and_a_plain_one_builds(pod, tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    (host / "Dockerfile").write_text("FROM bb\nRUN --network=host echo on the pod's network\n")
    refused = pod.docker("build", "--allow", "network.host", "--progress=plain", "-t", "wants-host", str(host),
                         check=False)
    assert refused.returncode != 0
    assert "granting entitlement network.host is not allowed by build daemon configuration" in refused.stderr, \
        refused.stderr
    assert pod.docker("image", "inspect", "wants-host", check=False).returncode != 0

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "Dockerfile").write_text("FROM bb\nRUN echo built > /built\n")
    pod.docker("build", "--progress=plain", "-t", "plain", str(plain))
    assert pod.docker("run", "--rm", "--pull", "never", "plain", "cat", "/built").stdout == "built\n"


def test_containers_on_the_bridge_cannot_reach_one_another(pod):
    """One job's service container (a listener on the default bridge) is out of another
    job's reach: icc false. (With icc true the same probe gets "hi".)"""
    pod.docker("run", "-d", "--name", "service", "--pull", "never", "bb", "sh", "-c",
               "while true; do echo hi | nc -l -p 8080; done")
    try:
        ip = pod.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "service").stdout.strip()
        assert ip
        probe = pod.docker("run", "--rm", "--pull", "never", "bb", "sh", "-c", f"nc -w 3 {ip} 8080 </dev/null",
                           check=False)
        assert probe.returncode != 0 and "hi" not in probe.stdout, probe.stdout + probe.stderr
    finally:
        pod.docker("rm", "-f", "service", check=False)


def test_dockerd_28_reads_the_gc_policy_a_bad_size_stops_it(dind_cache, loops, tmp_path):
    """The daemon parses builder.gc at start-up: the rendered sizes passed above, and a
    size it cannot read is refused by name, so the policy is not silently ignored."""
    dockerd = pinned_or_skip()
    text, _ = render_daemon_json(dind_cache, "--capacity", "100Mi")
    doc = json.loads(without_plugin(text))
    doc["builder"]["gc"]["policy"][1]["maxUsedSpace"] = "lots"
    config = tmp_path / "daemon.json"
    config.write_text(json.dumps(doc))
    _, mnt = loops.mounted("xfs", size="512M")
    d = PodDockerd(dockerd, mnt, config)
    try:
        with pytest.raises(RuntimeError, match="maxUsedSpace"):
            d.start()
    finally:
        d.stop()
    cap = int(json.loads(text)["builder"]["gc"]["policy"][-1]["maxUsedSpace"])
    assert cap == 60 * MI


def test_without_the_plugins_socket_the_daemon_does_not_start(dind_cache, loops, tmp_path):
    """Fail closed from the start: the rendered daemon.json names the node's plugin, and
    a daemon whose pod finds no socket at /run/docker/plugins gives up (after about
    15 s of retries) rather than serve unjudged. The pod restarts until install's
    dind-cache-authz.socket is there."""
    dockerd = pinned_or_skip()
    text, _ = render_daemon_json(dind_cache, "--capacity", "100Mi")
    config = tmp_path / "daemon.json"
    config.write_text(text)
    _, mnt = loops.mounted("xfs", size="512M")
    d = PodDockerd(dockerd, mnt, config)
    try:
        with pytest.raises(RuntimeError, match='failed to validate authorization plugin: plugin "dind-cache-authz" '
                                               'not found'):
            d.start()
    finally:
        d.stop()
