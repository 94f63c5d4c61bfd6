"""The authorization plugin on the pinned dockerd 28.5.2, set up as the pod runs it:
the plugin's socket comes from the real dind-cache-authz.socket under a booted
systemd, and dockerd (in its own mount namespace) finds it at
/run/docker/plugins/dind-cache-authz.sock through a bind of that systemd's
/run/dind-cache/plugins, as the Deployment's hostPath volume will. The daemon serves
mutual TLS; two tenants (CN = namespace) and the node identities hold certificates
made with openssl; jobs are the real CLIs: the 28.5.2 CLI with buildx 0.29.1 (as
docker:28.5.2-cli jobs run it) and the system's 20.10 CLI with DOCKER_BUILDKIT=1.

One systemd and one dockerd serve the whole module (they take seconds to start): the
tests run in file order and each leaves the node as the next expects; the ones that
stop or kill the plugin come last."""

import contextlib
import functools
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import BINARY, ROOT, Dockerd, Systemd, pinned_dockerd, sh, wait_for

INSTALLED = "/usr/local/sbin/dind-cache"
pytestmark = pytest.mark.module_node

SOCKET_UNIT = "dind-cache-authz.socket"
SERVICE = "dind-cache-authz.service"
PLUGIN_DIR = "/run/dind-cache/plugins"
STATE = "/var/lib/dind-cache/authz"
METRICS = "/var/lib/dind-cache-test-metrics"
UNIT_DIR = Path("/etc/systemd/system")
DAEMON_IP = "127.0.0.48"     # apart from the other tests' daemons
MESSAGE_ID = "3c949671df334ab7af073450d35149ba"
A, B = "team-a", "team-b"
NODE_IDS = ("dind-cache:checker", "dind-cache:pruner", "dind-cache:prune-job")
DENIED = "authorization denied by plugin dind-cache-authz: rule "
PLUGIN_SOCKET = f"{PLUGIN_DIR}/dind-cache-authz.sock"
PROBE = "dind-cache:probe"
CHECK_UNIT = "dind-cache-check.service"
# The checker's identity inside the node: not under /var/tmp, which its unit's
# PrivateTmp= hides.
CHECKER_CERTS = "/etc/dind-cache-test/checker"

# The plugin directory is a directory of the host (what a hostPath volume shares),
# mounted in systemd's namespace at /run/dind-cache/plugins before the socket unit
# makes its socket there: a bind from another mount namespace is refused (EINVAL), a
# detached tree (open_tree, then move_mount after setns) is not.
MOUNT_INTO = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
src, pid, dst = sys.argv[1:]
fd = libc.syscall(428, -100, src.encode(), 1 | 0o2000000)        # open_tree(OPEN_TREE_CLONE)
if fd < 0:
    raise OSError(ctypes.get_errno(), "open_tree " + src)
if libc.setns(os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY), 0x20000) != 0:
    raise OSError(ctypes.get_errno(), "setns")
os.makedirs(dst, exist_ok=True)
if libc.syscall(429, fd, b"", -100, dst.encode(), 4) != 0:     # move_mount(MOVE_MOUNT_F_EMPTY_PATH)
    raise OSError(ctypes.get_errno(), "move_mount " + dst)
"""

# dockerd in a mount namespace of its own, with that directory bound where the daemon
# looks for plugins, as the pod's hostPath volume does: a tmpfs hides the host's
# /run/docker there (the host's is never touched).
WRAPPER = r"""
mount --make-rprivate /
if [ -d /run/docker ]; then mount -t tmpfs -o mode=0700 tmpfs /run/docker
else mount -t tmpfs -o mode=0755 tmpfs /run; fi
mkdir -p /run/docker/plugins
mount --bind "$0" /run/docker/plugins
exec "$@"
"""

DROP_IN = f"""[Service]
# The test's: never the host's env file (the overlay's lower layer is the host's /).
EnvironmentFile=
Environment=DIND_CACHE_TEXTFILE_DIR={METRICS}
ReadWritePaths={METRICS}
"""


def key(path):
    sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)


def pinned_clis():
    """The pinned 28.5.2 CLI and its buildx plugin, as docker:28.5.2-cli jobs run them
    (the test is skipped without ../shared/debs)."""
    dockerd = pinned_dockerd("pinned")
    if not dockerd:
        pytest.skip("the pinned dockerd 28.5.2 is not in ../shared/debs")
    root = dockerd.parent.parent
    return root / "bin" / "docker", root / "libexec" / "docker" / "cli-plugins" / "docker-buildx"


def mounted_disk(base, mnt):
    """A fresh 2G xfs on a loop device (its image in BASE), mounted at MNT: the device."""
    img = base / "data.img"
    sh("truncate", "-s", "2G", img)
    sh("mkfs.xfs", "-q", "-f", img)
    device = sh("losetup", "--find", "--show", img).stdout.strip()
    mnt.mkdir()
    sh("mount", device, mnt)
    return device


def job_cli(cli28, host, certs, config, args, timeout=180, input=None, env=None):
    """A job's docker CLI against HOST with the client certificate in CERTS: CLI28 (the
    28.5.2 CLI, buildx in CONFIG's cli-plugins), or None: the system's 20.10 with BuildKit."""
    full = dict(os.environ, DOCKER_HOST=host, DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(certs),
                DOCKER_CONFIG=str(config))
    full.pop("DOCKER_CONTEXT", None)
    if not cli28:
        full["DOCKER_BUILDKIT"] = "1"
    full.update(env or {})
    return subprocess.run([str(cli28 or "/usr/bin/docker"), *[str(a) for a in args]], text=True,
                          capture_output=True, env=full, timeout=timeout, input=input)


def make_certs(base):
    """A CA, the daemon's server certificate and one client certificate per identity,
    each in a folder with ca.pem cert.pem key.pem (a DOCKER_CERT_PATH)."""
    ca = base / "ca"
    ca.mkdir(parents=True)
    key(ca / "key.pem")
    sh("openssl", "req", "-x509", "-new", "-key", ca / "key.pem", "-subj", "/CN=test CA", "-days", "30",
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
       "-out", ca / "cert.pem")
    leaves = {"server": ("server", "serverAuth")}
    leaves.update({who: (who, "clientAuth") for who in (A, B, *NODE_IDS)})
    dirs = {}
    for who, (cn, usage) in leaves.items():
        d = base / who.replace(":", "_")
        d.mkdir()
        key(d / "key.pem")
        ext = d / "ext.cnf"
        lines = [f"extendedKeyUsage={usage}", "basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature"]
        if who == "server":
            lines.append(f"subjectAltName=DNS:localhost,IP:{DAEMON_IP}")
        ext.write_text("\n".join(lines) + "\n")
        sh("openssl", "req", "-new", "-key", d / "key.pem", "-subj", f"/CN={cn}", "-out", d / "csr.pem")
        sh("openssl", "x509", "-req", "-in", d / "csr.pem", "-CA", ca / "cert.pem", "-CAkey", ca / "key.pem",
           "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", d / "cert.pem")
        shutil.copy(ca / "cert.pem", d / "ca.pem")
        dirs[who] = d
    return dirs


class Node:
    """The storage node: systemd with the plugin's units, a dockerd using the plugin."""

    def __init__(self, base):
        self.base = base
        self.systemd = Systemd(base / "systemd")
        self.dockerd = None
        self.device = None
        self.mnt = base / "data"

    def up(self):
        self.cli28, buildx = pinned_clis()
        self.device = mounted_disk(self.base, self.mnt)
        self.certs = make_certs(self.base / "pki")
        self.configs = {}
        for who in self.certs:
            conf = self.base / "config" / who.replace(":", "_")
            (conf / "cli-plugins").mkdir(parents=True)
            (conf / "cli-plugins" / "docker-buildx").symlink_to(buildx)
            self.configs[who] = conf
        self.boot_plugin()
        self.start_dockerd()
        return self

    def boot_plugin(self):
        self.systemd.boot()
        self.plugins = self.base / "plugins"
        self.plugins.mkdir(mode=0o700)
        sh("/usr/bin/python3", "-c", MOUNT_INTO, self.plugins, self.systemd.pid, PLUGIN_DIR)
        target = self.systemd.path(INSTALLED)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(BINARY, target)
        for unit in (SOCKET_UNIT, SERVICE):
            shutil.copy(ROOT / "units" / unit, self.systemd.path(UNIT_DIR / unit))
        drop_in = self.systemd.path(UNIT_DIR / f"{SERVICE}.d" / "test.conf")
        drop_in.parent.mkdir(parents=True, exist_ok=True)
        drop_in.write_text(DROP_IN)
        self.run("mkdir", "-p", METRICS, check=True)
        self.run("systemctl", "daemon-reload", check=True)
        self.run("systemctl", "start", SOCKET_UNIT, check=True)

    def start_dockerd(self):
        plugins = self.plugins
        assert (plugins / "dind-cache-authz.sock").is_socket()
        # TLS from pki/server, as conftest's make_pki lays it out.
        d = Dockerd(self.mnt, self.base / "dockerd", tls_dir=self.certs["server"].parent, ip=DAEMON_IP,
                    which="pinned")
        d.extra_args = ["--authorization-plugin=dind-cache-authz"]
        d.wrapper = ["unshare", "-m", "sh", "-ec", WRAPPER, str(plugins)]
        self.dockerd = d.start()

    def run(self, *args, check=False, timeout=120):
        return self.systemd.run(*args, check=check, timeout=timeout)

    def docker(self, who, *args, cli="28", timeout=180, input=None, env=None):
        """The docker CLI as WHO (an identity's name): 28.5.2 with buildx, or 20.10 with BuildKit."""
        return job_cli(self.cli28 if cli == "28" else None, self.dockerd.host, self.certs[who], self.configs[who],
                       args, timeout=timeout, input=input, env=env)

    def raw(self, who, method, path, body=b"", headers=()):
        """One HTTP request as WHO over mutual TLS: (status, body text)."""
        d = self.certs[who]
        ctx = ssl.create_default_context(cafile=str(d / "ca.pem"))
        ctx.load_cert_chain(str(d / "cert.pem"), str(d / "key.pem"))
        ctx.check_hostname = False
        with ctx.wrap_socket(socket.create_connection((DAEMON_IP, self.dockerd.port), timeout=120)) as s:
            head = f"{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
            head += "".join(f"{h}\r\n" for h in headers)
            head += f"Content-Length: {len(body)}\r\n\r\n"
            data = b""
            with contextlib.suppress(OSError):    # the daemon may answer and close first
                s.sendall(head.encode() + body)
            with contextlib.suppress(OSError):
                while chunk := s.recv(65536):
                    data += chunk
        if not data:
            return 0, ""
        status = int(data.split(b" ", 2)[1])
        return status, data.split(b"\r\n\r\n", 1)[1].decode(errors="replace")

    def down(self):
        bridges = []
        if self.dockerd:
            # The daemon runs in the host's network namespace: the bridges of the
            # networks the tests made would outlive it, and take address pools from
            # every later daemon on the machine.
            with contextlib.suppress(Exception):
                out = self.docker(A, "network", "ls", "-q", "--no-trunc", "--filter", "driver=bridge", timeout=60)
                bridges = [f"br-{net[:12]}" for net in out.stdout.split()]
            self.dockerd.stop()
        for bridge in bridges:
            subprocess.run(["ip", "link", "delete", bridge], capture_output=True)
        with contextlib.suppress(Exception):
            self.systemd.shutdown()
        subprocess.run(["umount", "-l", str(self.mnt)], capture_output=True)
        if self.device:
            subprocess.run(["losetup", "-d", self.device], capture_output=True)


@pytest.fixture(scope="module")
def node():
    assert BINARY.exists(), f"{BINARY} is missing: run make first"
    base = Path(tempfile.mkdtemp(prefix="dind-cache-authz-", dir="/var/tmp"))
    n = Node(base)
    try:
        yield n.up()
    finally:
        n.down()
        shutil.rmtree(base, ignore_errors=True)


def ok(p):
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def refused(p, rule):
    """P failed with the plugin's refusal by RULE, shown by the CLI."""
    assert p.returncode != 0, f"not refused: {p.stdout}"
    assert DENIED + rule + ":" in p.stderr, p.stderr


IMAGE_DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n'


def context(node, name, dockerfile):
    ctx = node.base / name
    ctx.mkdir(exist_ok=True)
    shutil.copy("/bin/busybox", ctx / "busybox")
    (ctx / "Dockerfile").write_text(dockerfile)
    return ctx


def test_the_daemon_runs_with_the_plugin(node):
    out = ok(node.docker(A, "info", "--format", "{{json .Plugins.Authorization}}"))
    assert json.loads(out) == ["dind-cache-authz"]
    assert node.run("systemctl", "is-active", SERVICE).stdout.strip() == "active"


def test_a_tenant_builds_with_buildkit_from_both_clients(node):
    ctx = context(node, "base", IMAGE_DOCKERFILE)
    # The 28.5.2 CLI builds through buildx: /grpc and /session.
    ok(node.docker(A, "build", "--network", "none", "--progress", "plain", "-t", "bb", ctx))
    # The 20.10 CLI with BuildKit: /session and POST /build?version=2 without a body.
    app = context(node, "app", "FROM bb\nRUN echo built > /built\n")
    out = node.docker(B, "build", "--network", "none", "--progress", "plain", "-t", "app-b", app, cli="20")
    assert out.returncode == 0, out.stderr
    assert ok(node.docker(B, "run", "--rm", "--pull", "never", "app-b", "cat", "/built")).strip() == "built"


def test_a_tenant_runs_execs_logs_stops_and_removes_its_own_containers(node):
    for cli in ("28", "20"):
        name = f"own-{cli}"
        ok(node.docker(A, "run", "-d", "--name", name, "bb", "sh", "-c", "echo hello; sleep 300", cli=cli))
        assert ok(node.docker(A, "exec", name, "echo", "inside", cli=cli)).strip() == "inside"
        wait_for(lambda: "hello" in node.docker(A, "logs", name, cli=cli).stdout, timeout=20, what="logs")
        assert ok(node.docker(A, "inspect", "--format", "{{.State.Running}}", name, cli=cli)).strip() == "true"
        node.base.joinpath("note.txt").write_text("copied\n")
        ok(node.docker(A, "cp", node.base / "note.txt", f"{name}:/note.txt", cli=cli))
        assert ok(node.docker(A, "exec", name, "cat", "/note.txt", cli=cli)) == "copied\n"
        ok(node.docker(A, "stop", "-t", "1", name, cli=cli))
        ok(node.docker(A, "rm", name, cli=cli))
    # docker ps (compose's way to find its containers) works.
    ok(node.docker(A, "ps", "-a"))
    # A container with a name the daemon makes up: known by its ID, then by that name.
    cid = ok(node.docker(A, "run", "-d", "bb", "sleep", "300")).strip()
    made_up = ok(node.docker(A, "inspect", "--format", "{{.Name}}", cid)).strip().lstrip("/")
    ok(node.docker(A, "kill", made_up))
    ok(node.docker(A, "rm", made_up))


def test_a_tenant_tags_and_uses_named_volumes_and_networks(node):
    ok(node.docker(A, "tag", "bb", "registry.example/team-a/bb:1"))
    ok(node.docker(A, "volume", "create", "a-cache"))
    ok(node.docker(A, "network", "create", "a-net"))
    ok(node.docker(A, "run", "--rm", "-v", "a-cache:/cache", "bb", "sh", "-c", "echo kept > /cache/f"))
    # A volume a create names is made by the daemon: it becomes the creator's.
    ok(node.docker(A, "run", "--rm", "--mount", "type=volume,src=a-made,dst=/m", "bb", "true"))
    ok(node.docker(A, "run", "-d", "--name", "a-db", "--network", "a-net", "-v", "a-cache:/cache", "bb",
                   "sleep", "300"))
    assert ok(node.docker(A, "run", "--rm", "--network", "a-net", "bb", "cat", "/dev/null")) == ""
    assert ok(node.docker(A, "exec", "a-db", "cat", "/cache/f")) == "kept\n"
    ok(node.docker(A, "volume", "inspect", "a-made"))
    ok(node.docker(A, "network", "inspect", "a-net"))


# What the first tenant made, and what the second tries on it. Each is refused with the
# rule that names the first tenant's object; inspect included.
OTHERS = [
    (("exec", "a-db", "env"), "not-your-container"),
    (("logs", "a-db"), "not-your-container"),
    (("inspect", "a-db"), "not-your-container"),
    (("cp", "a-db:/etc/hostname", "-"), "not-your-container"),
    (("stop", "a-db"), "not-your-container"),
    (("kill", "a-db"), "not-your-container"),
    (("rm", "-f", "a-db"), "not-your-container"),
    (("commit", "a-db", "stolen"), "not-your-container"),
    (("run", "--rm", "--volumes-from", "a-db", "bb", "true"), "other-container"),
    (("run", "--rm", "--network", "container:a-db", "bb", "true"), "other-container"),
    (("run", "--rm", "-v", "a-cache:/c", "bb", "true"), "not-your-volume"),
    (("run", "--rm", "--network", "a-net", "bb", "true"), "not-your-network"),
    (("volume", "inspect", "a-cache"), "not-your-volume"),
    (("volume", "rm", "a-cache"), "not-your-volume"),
    (("network", "inspect", "a-net"), "not-your-network"),
    (("network", "rm", "a-net"), "not-your-network"),
]


@pytest.mark.parametrize("args,rule", OTHERS, ids=[" ".join(a[:2]) for a, _ in OTHERS])
def test_the_other_tenant_is_refused_the_first_ones_objects(node, args, rule):
    refused(node.docker(B, *args), rule)


def test_another_tenants_anonymous_volume_is_neither_mounted_nor_claimed(node):
    """`docker volume ls` shows every tenant's volumes, the anonymous ones (`-v /path`,
    an image's VOLUME) under the 64 hex digits the daemon made up: the plugin never saw
    them made, and an unknown name must not go to whoever asks first."""
    ok(node.docker(A, "run", "-d", "--name", "a-anon", "-v", "/anon", "bb", "sh", "-c",
                   "echo a-secret > /anon/s; sleep 300"))
    wait_for(lambda: ok(node.docker(A, "exec", "a-anon", "cat", "/anon/s")) == "a-secret\n", what="the write")
    name = ok(node.docker(A, "inspect", "--format", "{{range .Mounts}}{{.Name}}{{end}}", "a-anon")).strip()
    assert name in ok(node.docker(B, "volume", "ls", "-q")).split()
    refused(node.docker(B, "run", "--rm", "-v", f"{name}:/steal", "bb", "cat", "/steal/s"), "not-your-volume")
    refused(node.docker(B, "run", "--rm", "--mount", f"type=volume,src={name},dst=/steal", "bb", "true"),
            "not-your-volume")
    refused(node.docker(B, "volume", "create", name), "not-your-volume")
    # Its owner mounts it again by name once an inspect has shown it (compose does
    # that when it recreates a container: its anonymous volumes go to the new one).
    assert ok(node.docker(A, "run", "--rm", "-v", f"{name}:/again", "bb", "cat", "/again/s")) == "a-secret\n"
    refused(node.docker(B, "volume", "rm", name), "not-your-volume")


def serve_folder(folder):
    """An HTTP server on 127.0.0.1 serving FOLDER (the daemon fetches a build's remote
    context from it); the caller shuts it down."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_container_named_like_an_unknown_containers_id_does_not_stand_in_for_it(node):
    """dockerd resolves a reference as a full ID before a name. The classic builder's
    steps are containers the daemon makes itself (the plugin never sees them created),
    listed by `docker ps`: a tenant naming its own container with one's ID must not
    reach the build step of another tenant (its files, its build arguments)."""
    web = node.base / "web"
    web.mkdir(exist_ok=True)
    (web / "Dockerfile").write_text("FROM bb\nRUN echo TOKEN=t0p > /secret; sleep 12\n")
    server = serve_folder(web)
    url = f"http://127.0.0.1:{server.server_address[1]}/Dockerfile"
    build = threading.Thread(target=node.raw, args=(A, "POST", f"/v1.51/build?remote={url}&networkmode=none"
                                                                f"&version=1&nocache=1&t=a-remote"))
    build.start()
    try:
        def step():
            out = ok(node.docker(B, "ps", "--no-trunc", "--format", "{{.ID}} {{.Command}}"))
            return next((line.split()[0] for line in out.splitlines() if "TOKEN" in line), None)
        cid = wait_for(step, timeout=60, what="the build's step")
        ok(node.docker(B, "create", "--name", cid, "bb", "true"))
        refused(node.docker(B, "exec", cid, "cat", "/secret"), "not-your-container")
        refused(node.docker(B, "cp", f"{cid}:/secret", "-"), "not-your-container")
        refused(node.docker(B, "run", "--rm", "--pid", f"container:{cid}", "bb", "true"), "other-container")
    finally:
        build.join(timeout=120)
        server.shutdown()
    # The classic builder with a remote context and no body is allowed: it built.
    ok(node.docker(A, "image", "inspect", "a-remote"))


def test_a_network_with_chosen_subnets_is_refused(node):
    """A bridge network's subnet becomes a route of the daemon's (the pod's) network
    namespace: 10.96.0.0/12 would take the cluster's service addresses, the DNS server
    of every other job's containers included, into the tenant's network."""
    refused(node.docker(B, "network", "create", "--subnet", "198.51.100.0/24", "b-routes"), "network-options")
    refused(node.docker(B, "network", "create", "--subnet", "198.51.100.0/24", "--ip-range", "198.51.100.0/25",
                        "--gateway", "198.51.100.1", "b-routes"), "network-options")
    status, text = node.raw(B, "POST", "/v1.51/networks/create",
                            json.dumps({"Name": "b-routes", "ipam": {"config": [{"subnet": "198.51.100.0/24"}]}})
                            .encode(), headers=("Content-Type: application/json",))
    assert status == 403 and DENIED + "network-options:" in text, text
    # The daemon's own choice is fine.
    ok(node.docker(B, "network", "create", "b-routes"))
    ok(node.docker(B, "network", "rm", "b-routes"))


def test_the_first_tenants_objects_are_untouched(node):
    assert ok(node.docker(A, "inspect", "--format", "{{.State.Running}}", "a-db")).strip() == "true"
    ok(node.docker(A, "volume", "inspect", "a-cache"))


# Every way onto the node or into another project that issue 16's "Why" lists, and a
# few more of each kind: (CLI, arguments, the rule the refusal names).
ATTACKS = [
    ("28", ("run", "--rm", "--privileged", "bb", "true"), "privileged"),
    ("20", ("run", "--rm", "--privileged", "bb", "true"), "privileged"),
    ("28", ("run", "--rm", "-v", "/:/host", "bb", "true"), "bind-mount"),
    ("20", ("run", "--rm", "-v", "/:/host", "bb", "true"), "bind-mount"),
    ("28", ("run", "--rm", "-v", "/certs/server:/s:ro", "bb", "cat", "/s/key.pem"), "bind-mount"),
    ("28", ("run", "--rm", "--mount", "type=bind,src=/var/run,dst=/r", "bb", "true"), "bind-mount"),
    ("28", ("run", "--rm", "--pid", "host", "bb", "true"), "host-namespace"),
    ("28", ("run", "--rm", "--network", "host", "bb", "true"), "host-namespace"),
    ("28", ("run", "--rm", "--ipc", "host", "bb", "true"), "host-namespace"),
    ("28", ("run", "--rm", "--uts", "host", "bb", "true"), "host-namespace"),
    ("28", ("run", "--rm", "--userns", "host", "bb", "true"), "host-namespace"),
    ("28", ("run", "--rm", "--cgroupns", "host", "bb", "true"), "host-namespace"),
    ("28", ("run", "--rm", "--device", "/dev/fuse", "bb", "true"), "devices"),
    ("28", ("run", "--rm", "--device-cgroup-rule", "b *:* rwm", "bb", "true"), "devices"),
    ("28", ("run", "--rm", "--cap-add", "SYS_ADMIN", "bb", "true"), "cap-add"),
    ("20", ("run", "--rm", "--cap-add", "ALL", "bb", "true"), "cap-add"),
    ("28", ("run", "--rm", "--security-opt", "seccomp=unconfined", "bb", "true"), "security-opt"),
    ("28", ("run", "--rm", "--security-opt", "apparmor=unconfined", "bb", "true"), "security-opt"),
    # The CLI sends systempaths=unconfined as empty MaskedPaths and ReadonlyPaths.
    ("28", ("run", "--rm", "--security-opt", "systempaths=unconfined", "bb", "true"), "masked-paths"),
    ("28", ("run", "--rm", "--cgroup-parent", "/", "bb", "true"), "cgroup-parent"),
    ("28", ("run", "--rm", "--runtime", "io.containerd.runc.v2", "bb", "true"), "runtime"),
    ("28", ("run", "--rm", "--sysctl", "kernel.msgmax=1", "bb", "true"), "sysctls"),
    ("28", ("run", "--rm", "--oom-kill-disable", "bb", "true"), "oom-kill-disable"),
    ("28", ("volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device=/", "root"),
     "volume-options"),
    ("28", ("run", "--rm", "--mount",
            "type=volume,dst=/h,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/", "bb", "true"),
     "volume-options"),
    ("28", ("exec", "--privileged", "b-own", "true"), "privileged"),
    ("28", ("rmi", "bb"), "image-remove"),
    ("20", ("rmi", "-f", "bb"), "image-remove"),
    ("28", ("system", "prune", "-af"), "container-prune"),
    ("28", ("image", "prune", "-af"), "image-prune"),
    ("28", ("container", "prune", "-f"), "container-prune"),
    ("28", ("volume", "prune", "-af"), "volume-prune"),
    ("28", ("network", "prune", "-f"), "network-prune"),
    ("28", ("swarm", "init"), "swarm-and-plugins"),
    ("28", ("plugin", "ls"), "swarm-and-plugins"),
    ("20", ("build", "--network", "host", "-t", "x", "{ctx}"), "build-network"),
    ("20", ("build", "--cgroup-parent", "/", "-t", "x", "{ctx}"), "cgroup-parent"),
]


@pytest.mark.parametrize("cli,args,rule", ATTACKS, ids=[f"{c} {' '.join(a[:3])}" for c, a, _ in ATTACKS])
def test_every_attack_is_refused_with_its_rule(node, cli, args, rule):
    if not node.docker(B, "inspect", "b-own").returncode == 0:
        ok(node.docker(B, "run", "-d", "--name", "b-own", "bb", "sleep", "600"))
    ctx = context(node, "attack", "FROM bb\nRUN true\n")
    hanging_cli = cli == "20" and args[0] == "build"
    try:
        p = node.docker(B, *[str(ctx) if a == "{ctx}" else a for a in args], cli=cli,
                        timeout=90 if hanging_cli else 180)
    except subprocess.TimeoutExpired:
        # Seen once under load: the 20.10 CLI never exits after its BuildKit build was
        # refused (README, limits). The refusal is in the journal all the same.
        assert hanging_cli
        assert any(e["DIND_RULE"] == rule and "/build?" in e["DIND_PATH"] for e in refusals(node, B))
        return
    refused(p, rule)


def test_the_classic_builder_is_refused_its_hidden_body(node):
    """Its tar context is a body the plugin never sees, and dockerd reads the build's
    parameters from a form body too: the query it checks could be overridden."""
    ctx = context(node, "classic", "FROM bb\nRUN true\n")
    refused(node.docker(B, "build", "-t", "classic", ctx, cli="20", env={"DOCKER_BUILDKIT": "0"}), "hidden-body")


def test_a_form_body_hidden_behind_a_second_content_type_is_refused(node):
    # The plugin sees the last Content-Type, Go's ParseForm the first; seen working on
    # 28.5.2 without the plugin: the RUN step ran in the node's network namespace.
    body = b"pad=" + b"a" * 20000 + b"&networkmode=host&remote=http://127.0.0.1:1/ctx.tar&version=1"
    status, text = node.raw(B, "POST", "/v1.51/build?networkmode=none", body,
                            headers=("Content-Type: application/x-www-form-urlencoded",
                                     "Content-Type: application/x-tar"))
    assert status == 403 and DENIED + "hidden-body:" in text, text
    status, text = node.raw(B, "POST", "/v1.51/build?networkmode=none", body,
                            headers=("Content-Type: application/x-www-form-urlencoded",))
    assert status == 403 and DENIED + "form-body:" in text, text


def test_a_create_over_1_mib_asking_for_privileged_is_refused(node):
    """A daemon without the fix of CVE-2026-34040 (docker:28.5.2-dind) forwards such a
    body empty: refused as body-required. Debian's 28.5.2+dfsg4, the one here, carries
    the fix and forwards it up to 4 MiB: refused for what it asks. Over 4 MiB the fixed
    daemon fails the request itself. Either way nothing is created."""
    for pad, rules in ((1 << 20, ("privileged", "body-required")), (5 << 20, None)):
        config = {"Image": "bb", "Cmd": ["true"], "Env": ["PAD=" + "x" * pad], "HostConfig": {"Privileged": True}}
        status, text = node.raw(B, "POST", "/v1.51/containers/create?name=big",
                                json.dumps(config).encode(), headers=("Content-Type: application/json",))
        if rules:
            assert status == 403 and any(DENIED + r + ":" in text for r in rules), text
        else:
            # The fixed daemon answers before reading all of it (or just closes).
            assert status in (0, 403, 500) and ("too large" in text or DENIED + "body-required:" in text
                                                or status == 0), (status, text)
        assert ok(node.docker(B, "ps", "-aq", "--filter", "name=^big$")).strip() == ""


def test_many_large_bodies_at_once_do_not_kill_the_plugin(node):
    """Each create body dockerd forwards may be 4 MiB, 5.3 MiB as the plugin receives
    it, and dockerd sends every request's at once: seen on 28.5.2, one tenant's 60
    parallel creates took the plugin past its MemoryMax and the kernel killed it, with
    every tenant's requests in flight. What no longer fits is refused; the plugin
    stays, and the other tenant's request is answered."""
    pid = node.run("systemctl", "show", "-P", "MainPID", SERVICE).stdout.strip()
    body = json.dumps({"Image": "bb", "Cmd": ["true"], "Env": ["PAD=" + "x" * (3900 << 10)],
                       "HostConfig": {"Privileged": True}}).encode()
    answers = []

    def create():
        answers.append(node.raw(B, "POST", "/v1.51/containers/create", body,
                                headers=("Content-Type: application/json",)))

    threads = [threading.Thread(target=create) for _ in range(60)]
    for t in threads:
        t.start()
    ok(node.docker(A, "ps"))
    for t in threads:
        t.join()
    assert len(answers) == 60 and all(status == 403 for status, _ in answers), {s for s, _ in answers}
    assert any(DENIED + "privileged:" in text for _, text in answers)
    assert node.run("systemctl", "show", "-P", "MainPID", SERVICE).stdout.strip() == pid
    assert node.run("systemctl", "show", "-P", "NRestarts", SERVICE).stdout.strip() == "0"


def test_a_caller_without_a_certificate_gets_ping_and_version_only(node):
    env = {"DOCKER_HOST": node.dockerd.unix_host, "DOCKER_TLS_VERIFY": ""}
    ok(node.docker(A, "version", env=env))
    refused(node.docker(A, "ps", env=env), "container-list")
    refused(node.docker(A, "info", env=env), "info")


def test_node_identities_get_what_they_need(node):
    checker, pruner, job = NODE_IDS
    ok(node.docker(checker, "info"))
    ok(node.docker(checker, "image", "ls"))
    ok(node.docker(checker, "system", "df"))
    refused(node.docker(checker, "run", "--rm", "bb", "true"), "container-create")
    refused(node.docker(checker, "image", "prune", "-f"), "image-prune")
    ok(node.docker(pruner, "image", "prune", "-f"))
    ok(node.docker(pruner, "container", "prune", "-f", "--filter", "until=168h"))
    ok(node.docker(job, "version"))
    # As its CronJob runs it: the classic API's POST /build/prune; buildx would go
    # through /grpc, all of BuildKit's API, which is not the prune job's.
    ok(node.docker(job, "builder", "prune", "-af", "--keep-storage", "1000000000", env={"DOCKER_BUILDKIT": "0"}))
    p = node.docker(job, "buildx", "prune", "-af")
    assert p.returncode != 0 and DENIED in p.stderr, p.stdout + p.stderr
    # What the CronJob never runs is not its to do: a leaked Secret of the daemon's
    # namespace must not wipe every tenant's named volumes (volume prune -a).
    refused(node.docker(job, "volume", "prune", "-af"), "volume-prune")
    refused(node.docker(job, "network", "prune", "-f"), "network-prune")
    refused(node.docker(job, "rmi", "bb"), "image-remove")
    refused(node.docker(job, "exec", "a-db", "env"), "container-inspect")   # the CLI inspects first
    ok(node.docker(A, "tag", "bb", "old-tag"))
    ok(node.docker(pruner, "rmi", "old-tag"))


def refusals(node, tenant):
    out = node.run("journalctl", "--no-pager", "-o", "json", f"MESSAGE_ID={MESSAGE_ID}", f"DIND_TENANT={tenant}",
                   check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_each_refusal_is_a_journal_entry_and_counted(node):
    refused(node.docker(B, "run", "--rm", "--privileged", "--name", "evil\x1b[2J", "bb", "true"), "privileged")
    entries = refusals(node, B)
    assert any(e["DIND_RULE"] == "privileged" and e["DIND_METHOD"] == "POST" and
               e["DIND_PATH"].startswith("/v1.51/containers/create?name=evil") for e in entries), entries
    assert all(e["DIND_PATH"].isprintable() and e["MESSAGE"].isprintable() for e in entries)
    assert all(e["PRIORITY"] == "4" and e["SYSLOG_IDENTIFIER"] == "dind-cache" and e["DIND_SERIAL"]
               for e in entries)
    catalog = node.run("journalctl", "--no-pager", "-x", f"MESSAGE_ID={MESSAGE_ID}", "-n", "1").stdout
    # The catalog is not installed in this systemd: the entry still reads on its own.
    assert "rule" in catalog
    # Counters reach the metrics file at the latest when the plugin stops.
    ok(node.run("systemctl", "restart", SERVICE))
    prom = wait_for(lambda: node.systemd.path(f"{METRICS}/dind_cache_authz.prom").exists() and
                    node.systemd.path(f"{METRICS}/dind_cache_authz.prom").read_text(), timeout=20,
                    what="the metrics file")
    lint = subprocess.run(["promtool", "check", "metrics"], input=prom, capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    deny = [line for line in prom.splitlines() if line.startswith(
        'dind_cache_authz_requests_total{tenant="team-b",verdict="deny"} ')]
    assert deny and int(deny[0].split()[-1]) >= len(ATTACKS), prom
    builds = [line for line in prom.splitlines() if line.startswith('dind_cache_tenant_builds_total{tenant="team-a"} ')]
    assert builds and int(builds[0].split()[-1]) >= 2, prom


def checker_env(node, **extra):
    """The checker's settings as install writes them (the data directory aside: the
    disk checks are not what these tests look at)."""
    certs = node.systemd.path(CHECKER_CERTS)
    if not certs.exists():
        certs.mkdir(parents=True)
        for name in ("ca.pem", "cert.pem", "key.pem"):
            shutil.copy(node.certs[NODE_IDS[0]] / name, certs / name)
    env = {"DOCKER_HOST": node.dockerd.host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": CHECKER_CERTS,
           "DIND_CACHE_AUTHZ_SOCKET": PLUGIN_SOCKET, "DIND_CACHE_DATA_DIR": "/var/tmp",
           "DIND_CACHE_TEXTFILE_DIR": METRICS, "DIND_CACHE_INSTANCE": ""}
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run_check(node, **extra):
    """`dind-cache check --json` as the checker timer runs it: (its authz result, the
    whole document, the process)."""
    p = node.systemd.run(INSTALLED, "check", "--json", env=checker_env(node, **extra), check=False)
    doc = json.loads(p.stdout)
    checks = {c["name"]: c for c in doc["checks"]}
    return checks.get("authz"), doc, p


def plugin_counts(node):
    """The plugin's counters, written when it stops: {series: value}."""
    ok(node.docker(A, "version"))      # something to count: the file is written only on a change
    ok(node.run("systemctl", "restart", SERVICE))
    prom = node.systemd.path(f"{METRICS}/dind_cache_authz.prom").read_text()
    return dict(line.rsplit(" ", 1) for line in prom.splitlines() if line and not line.startswith("#"))


def test_the_checker_finds_the_plugin_judging_and_leaves_no_trace(node):
    before = plugin_counts(node)
    authz, doc, _ = run_check(node)
    assert authz["state"] == "OK", authz
    assert "refused a privileged container create (rule privileged:" in authz["message"], authz
    assert "allowed GET /version" in authz["message"] and "the daemon uses it" in authz["message"], authz
    assert {c["name"]: c["state"] for c in doc["checks"]}["daemon"] == "OK", doc
    prom = node.systemd.path(f"{METRICS}/dind_cache.prom").read_text()
    assert 'dind_cache_check_state{check="authz"} 0' in prom, prom
    # The probe was judged, not counted: no journal refusal, and no series of its own
    # nor a change of another's in the plugin's metrics (but team-a's, which
    # plugin_counts asks as, and the checker's own daemon calls).
    assert refusals(node, PROBE) == []
    after = plugin_counts(node)
    assert not [k for k in after if PROBE in k], after
    moved = {k for k in after if after[k] != before.get(k)}
    assert moved and all("team-a" in k or "dind-cache:checker" in k for k in moved), (before, after)


def test_the_checkers_unit_reaches_the_socket_from_its_sandbox(node):
    unit = node.systemd.path(UNIT_DIR / CHECK_UNIT)
    unit.write_text((ROOT / "units" / CHECK_UNIT).read_text())
    drop_in = node.systemd.path(UNIT_DIR / f"{CHECK_UNIT}.d" / "test.conf")
    drop_in.parent.mkdir(parents=True, exist_ok=True)
    env = " ".join(f'"{k}={v}"' for k, v in checker_env(node).items())
    drop_in.write_text(f"[Service]\nEnvironmentFile=\nEnvironment={env}\nReadWritePaths={METRICS}\n")
    ok(node.run("systemctl", "daemon-reload"))
    since = node.run("date", "+%Y-%m-%d %H:%M:%S", check=True).stdout.strip()
    # The disk checks fail here (/var/tmp is no mount point): the unit fails, its
    # results are in the journal all the same.
    node.run("systemctl", "start", CHECK_UNIT)
    out = node.systemd.journal("-o", "json", "--since", since, "DIND_CHECK=authz")
    entries = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(entries) == 1, out
    assert entries[0]["DIND_STATE"] == "OK", entries[0]["MESSAGE"]
    assert entries[0]["_SYSTEMD_UNIT"] == CHECK_UNIT


def test_the_checker_warns_when_install_left_the_plugin_out(node):
    authz, _, p = run_check(node, DOCKER_HOST="", DIND_CACHE_AUTHZ_SOCKET="")
    assert authz["state"] == "WARN", authz
    assert authz["message"].startswith("no authorization plugin: install --plaintext left it out"), authz
    unset, _, _ = run_check(node, DOCKER_HOST="", DIND_CACHE_AUTHZ_SOCKET=None)
    assert unset is None


def test_ownership_survives_a_restart_of_the_plugin(node):
    pid = node.run("systemctl", "show", "-P", "MainPID", SERVICE).stdout.strip()
    ok(node.run("systemctl", "restart", SERVICE))
    assert node.run("systemctl", "show", "-P", "MainPID", SERVICE).stdout.strip() != pid
    refused(node.docker(B, "inspect", "a-db"), "not-your-container")
    ok(node.docker(A, "exec", "a-db", "true"))
    ok(node.docker(A, "volume", "inspect", "a-cache"))


def test_the_plugin_killed_mid_run_answers_after_the_restart(node):
    ok(node.docker(A, "version"))      # the plugin runs: a request started it
    pid = node.run("systemctl", "show", "-P", "MainPID", SERVICE).stdout.strip()
    assert pid not in ("", "0"), pid
    # SIGKILL to the plugin's process alone, as a crash would end it.
    ok(node.run("kill", "-KILL", pid))
    # The socket stays: the next requests start it again and are answered.
    ok(node.docker(A, "inspect", "a-db"))
    refused(node.docker(B, "inspect", "a-db"), "not-your-container")
    new = wait_for(lambda: node.run("systemctl", "show", "-P", "MainPID", SERVICE).stdout.strip() not in ("0", pid)
                   and node.run("systemctl", "show", "-P", "MainPID", SERVICE).stdout.strip(), timeout=20,
                   what="a new plugin process")
    assert new != pid


def test_a_revoked_certificate_is_refused_while_the_other_tenant_works(node):
    cert = node.systemd.path("/etc/dind-cache-test/team-b.pem")   # /tmp is systemd's own tmpfs
    cert.parent.mkdir(exist_ok=True)
    shutil.copy(node.certs[B] / "cert.pem", cert)
    out = ok(node.run(INSTALLED, "revoke", "--cert", "/etc/dind-cache-test/team-b.pem", "--state-dir", STATE))
    serial = sh("openssl", "x509", "-noout", "-serial", "-in", node.certs[B] / "cert.pem").stdout.split("=")[1].strip()
    assert f"revoked certificate {serial} (team-b)" in out
    refused(node.docker(B, "ps"), "revoked")
    ok(node.docker(A, "ps"))
    # A new certificate (what install will issue) works at once.
    d = node.certs[B]
    sh("openssl", "req", "-new", "-key", d / "key.pem", "-subj", "/CN=team-b", "-out", d / "csr.pem")
    sh("openssl", "x509", "-req", "-in", d / "csr.pem", "-CA", node.base / "pki/ca/cert.pem", "-CAkey",
       node.base / "pki/ca/key.pem", "-CAcreateserial", "-days", "30", "-extfile", d / "ext.cnf",
       "-out", d / "cert.pem")
    ok(node.docker(B, "ps"))


def test_the_checker_is_critical_with_the_socket_stopped(node):
    ok(node.run("systemctl", "stop", SOCKET_UNIT, SERVICE))
    try:
        # Without DOCKER_HOST: the daemon, which waits for the plugin, is not asked.
        authz, doc, p = run_check(node, DOCKER_HOST="")
    finally:
        ok(node.run("systemctl", "start", SOCKET_UNIT))
    assert p.returncode == 2 and doc["status"] == "CRITICAL", doc
    assert authz["state"] == "FAIL", authz
    assert "does not answer" in authz["message"] and SOCKET_UNIT in authz["message"], authz
    assert "daemon answers no request" in authz["message"], authz
    assert f"systemctl status {SOCKET_UNIT}" in authz["remedy"], authz


def test_with_the_socket_stopped_job_requests_fail(node):
    ok(node.run("systemctl", "stop", SOCKET_UNIT, SERVICE))
    try:
        # dockerd retries the plugin for about 15 s, then fails the request: nothing
        # runs without a verdict.
        status, text = node.raw(A, "GET", "/v1.51/containers/json")
        assert status == 500 and "plugin dind-cache-authz failed" in text, (status, text)
        status, text = node.raw(A, "POST", "/v1.51/containers/create?name=unjudged",
                                b'{"Image":"bb","HostConfig":{"Privileged":true}}',
                                headers=("Content-Type: application/json",))
        assert status == 500, (status, text)
    finally:
        ok(node.run("systemctl", "start", SOCKET_UNIT))
    assert ok(node.docker(A, "ps", "-aq", "--filter", "name=^unjudged$")).strip() == ""
