"""Shared fixtures for the integration tests: the binary, loop devices with real
filesystems, mounts, a real dockerd, and a real systemd booted in namespaces on an
overlay of /. Everything a fixture makes is undone at teardown, even when a test fails.

These tests need root (loop devices, mounts, namespaces)."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("DIND_CACHE_BINARY", ROOT / "build" / "dind-cache"))


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="integration tests need root")
        for item in items:
            item.add_marker(skip)


def sh(*args, check=True, **kw):
    """Runs a command, capturing text output."""
    return subprocess.run([str(a) for a in args], check=check, text=True,
                          capture_output=True, **kw)


def run_tool(*args, env=None, timeout=300, input=None):
    """Runs dind-cache with ARGS; returns the CompletedProcess (never raises on exit)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run([str(BINARY), *[str(a) for a in args]], text=True,
                          capture_output=True, env=full_env, timeout=timeout, input=input)


@pytest.fixture
def dind_cache():
    """Calls the binary: dind_cache("preflight", "--data-dir", d) -> CompletedProcess."""
    assert BINARY.exists(), f"{BINARY} is missing: run make first"
    return run_tool


def file_hash(path):
    """sha256 of a file or block device's whole content."""
    return sh("sha256sum", path).stdout.split()[0]


class Loops:
    """Makes image files, attaches them as loop devices, formats and mounts them."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.devices = []
        self.mounts = []
        self.count = 0

    def image(self, size="512M"):
        self.count += 1
        img = self.tmp / f"disk{self.count}.img"
        sh("truncate", "-s", size, img)
        return img

    def attach(self, img, read_only=False):
        args = ["losetup", "--find", "--show"]
        if read_only:
            args.append("--read-only")
        dev = sh(*args, img).stdout.strip()
        self.devices.append(dev)
        return dev

    def device(self, fs=None, size="512M", mkfs_args=(), read_only=False):
        """A loop device, blank or with filesystem FS ("xfs", "ext4", "btrfs", "vfat")."""
        img = self.image(size)
        if fs:
            mkfs(fs, img, mkfs_args)
        return self.attach(img, read_only=read_only)

    def mount(self, dev, target, options=None, fstype=None):
        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        args = ["mount"]
        if fstype:
            args += ["-t", fstype]
        if options:
            args += ["-o", options]
        sh(*args, dev, target)
        self.mounts.append(target)
        return target

    def mounted(self, fs, size="512M", mkfs_args=(), options=None):
        """A fresh filesystem FS, mounted at a new directory; returns (device, mountpoint)."""
        dev = self.device(fs, size=size, mkfs_args=mkfs_args)
        self.count += 1
        target = self.mount(dev, self.tmp / f"mnt{self.count}", options=options)
        return dev, target

    def cleanup(self):
        for target in reversed(self.mounts):
            subprocess.run(["umount", "-R", "-l", str(target)], capture_output=True)
        for dev in reversed(self.devices):
            subprocess.run(["losetup", "-d", dev], capture_output=True)


def mkfs(fs, target, extra=()):
    if fs == "xfs":
        sh("mkfs.xfs", "-q", "-f", *extra, target)
    elif fs == "ext4":
        sh("mkfs.ext4", "-q", "-F", *extra, target)
    elif fs == "btrfs":
        sh("mkfs.btrfs", "-q", "-f", *extra, target)
    elif fs == "vfat":
        sh("mkfs.vfat", *extra, target)
    else:
        raise ValueError(fs)


@pytest.fixture
def loops(tmp_path):
    """Loop devices and mounts that vanish after the test."""
    made = Loops(tmp_path)
    try:
        yield made
    finally:
        made.cleanup()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=30, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


REPO = Path(__file__).resolve().parents[2]
# DIND_CACHE_TEST_DEBS names the folder elsewhere (a git worktree's ../shared differs).
PINNED_DEBS = Path(os.environ.get("DIND_CACHE_TEST_DEBS") or REPO.parent / "shared" / "debs")


def pinned_dockerd(which=None):
    """The dockerd the manifests pin (28.5.2, from ../shared/debs), unpacked once under
    build/; None where that folder is absent (the system's dockerd runs instead).
    DIND_CACHE_TEST_DOCKERD=system forces the system's (older API) daemon; WHICH
    ("system" or "pinned") overrides that for one daemon."""
    if which == "system" or (which is None and os.environ.get("DIND_CACHE_TEST_DOCKERD") == "system"):
        return None
    debs = sorted(PINNED_DEBS.glob("*.deb")) if PINNED_DEBS.is_dir() else []
    if not debs:
        return None
    dest = REPO / "build" / "docker-pinned"
    dockerd = dest / "usr" / "sbin" / "dockerd"
    if not dockerd.exists():
        tmp = Path(tempfile.mkdtemp(prefix="docker-pinned-", dir=REPO / "build"))
        for deb in debs:
            sh("dpkg-deb", "-x", str(deb), str(tmp))
        try:
            tmp.rename(dest)
        except OSError:  # another test process unpacked it first
            shutil.rmtree(tmp, ignore_errors=True)
    return dockerd


# make_pki's leaves: folder, extended key usage, subject CN (install's identities).
PKI_LEAVES = (("server", "serverAuth", "server"), ("checker", "clientAuth", "dind-cache:checker"),
              ("pruner", "clientAuth", "dind-cache:pruner"), ("prune-job", "clientAuth", "dind-cache:prune-job"),
              ("tenants/ci", "clientAuth", "ci"))


def make_pki(base, server_names=("localhost", "127.0.0.1"), cn="test CA", days=825):
    """A PKI made with the openssl CLI, in the layout install writes to
    /etc/dind-cache/pki: ca/{cert,key}.pem and server/, checker/, pruner/, prune-job/
    and tenants/ci/ (one tenant, the namespace ci) each with ca.pem cert.pem key.pem,
    and client-certs.pem (the prune job's and the tenant's certificates). SERVER_NAMES
    are DNS names or IP addresses."""
    base = Path(base)
    for d in ["ca"] + [leaf for leaf, _, _ in PKI_LEAVES]:
        (base / d).mkdir(parents=True, exist_ok=True)

    def key(path):
        sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
        os.chmod(path, 0o600)

    key(base / "ca/key.pem")
    sh("openssl", "req", "-x509", "-new", "-key", base / "ca/key.pem", "-subj", f"/CN={cn}", "-days", "3650",
       "-sha256", "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", base / "ca/cert.pem")
    for leaf, usage, leaf_cn in PKI_LEAVES:
        d = base / leaf
        key(d / "key.pem")
        ext = d / "ext.cnf"
        lines = [f"extendedKeyUsage={usage}", "basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature"]
        if leaf == "server":
            sans = [("IP:" if all(c in "0123456789.:" for c in n) else "DNS:") + n for n in server_names]
            lines.append("subjectAltName=" + ",".join(sans))
        ext.write_text("\n".join(lines) + "\n")
        sh("openssl", "req", "-new", "-key", d / "key.pem", "-subj", f"/CN={leaf_cn}", "-out", d / "csr.pem")
        sh("openssl", "x509", "-req", "-in", d / "csr.pem", "-CA", base / "ca/cert.pem", "-CAkey",
           base / "ca/key.pem", "-CAcreateserial", "-days", str(days), "-sha256", "-extfile", ext,
           "-out", d / "cert.pem")
        shutil.copy(base / "ca/cert.pem", d / "ca.pem")
        (d / "csr.pem").unlink()
        ext.unlink()
    (base / "client-certs.pem").write_bytes((base / "prune-job/cert.pem").read_bytes() +
                                            (base / "tenants/ci/cert.pem").read_bytes())
    for f in base.glob("ca/*.srl"):
        f.unlink()
    return base


def unix_ping(path, timeout=1):
    """GET /_ping on a unix socket: True when the daemon answered OK."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        return data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n", 1)[0] and data.endswith(b"OK")
    except OSError:
        return False


def dockerd_version(path):
    out = sh(path or "dockerd", "--version").stdout.strip()
    return out


def pytest_report_header(config):
    d = pinned_dockerd()
    return f"dockerd under test: {dockerd_version(d)} ({d or 'the system one'})"


class Dockerd:
    """A real dockerd on DATA_ROOT, listening on a loopback port and a unix socket:
    the pinned 28.5.2 where ../shared/debs has it, else the system's."""

    def __init__(self, data_root, run_dir, storage_driver="overlay2", tls_dir=None, ip="127.0.0.1", port=None,
                 which=None):
        self.which = which
        self.data_root = Path(data_root)
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.socket = self.run_dir / "docker.sock"
        self.ip = ip
        self.host = f"tcp://{ip}:{self.port}"
        self.unix_host = f"unix://{self.socket}"
        self.storage_driver = storage_driver
        # With TLS_DIR (make_pki's layout): mutual TLS as the image's entrypoint runs
        # it, from TLS_DIR/server; the checker's files are TLS_DIR/checker.
        self.tls_dir = Path(tls_dir) if tls_dir else None
        self.client_env = ({"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(self.tls_dir / "checker")}
                           if self.tls_dir else {})
        self.extra_args = []   # more dockerd flags, e.g. ["--config-file", PATH]
        self.wrapper = []      # a command that execs dockerd, e.g. one that makes mounts first
        self.proc = None

    def start(self):
        log = open(self.run_dir / "dockerd.log", "w")
        pinned = pinned_dockerd(self.which)
        if self.which == "pinned" and not pinned:
            pytest.skip(f"the pinned dockerd is not in {PINNED_DEBS}")
        if self.tls_dir:
            srv = self.tls_dir / "server"
            extra = ["--tlsverify", "--tlscacert", str(srv / "ca.pem"), "--tlscert", str(srv / "cert.pem"),
                     "--tlskey", str(srv / "key.pem")]
        else:
            # 28.x stalls 15 s on a plain TCP listener unless told --tls=false.
            extra = ["--tls=false"] if pinned else []
        self.proc = subprocess.Popen(
            [*self.wrapper, str(pinned or "dockerd"), *extra, "--data-root", str(self.data_root),
             "-H", self.host, "-H", self.unix_host,
             "--pidfile", str(self.run_dir / "docker.pid"),
             "--exec-root", str(self.run_dir / "exec"),
             "--iptables=false", "--ip6tables=false", "--bridge=none",
             "--storage-driver", self.storage_driver, *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.ping, timeout=60, what="dockerd to answer /_ping")
        return self

    def ping(self):
        if self.proc.poll() is not None:
            raise RuntimeError("dockerd exited: " + (self.run_dir / "dockerd.log").read_text()[-2000:])
        if self.tls_dir:
            return unix_ping(self.socket)
        try:
            with urllib.request.urlopen(f"http://{self.ip}:{self.port}/_ping", timeout=1) as r:
                return r.read() == b"OK"
        except OSError:
            return False

    def info(self):
        if self.tls_dir:
            return json.loads(self.docker("info", "--format", "{{json .}}").stdout)
        with urllib.request.urlopen(f"http://{self.ip}:{self.port}/info", timeout=5) as r:
            return json.load(r)

    def docker(self, *args, check=True, **kw):
        env = dict(os.environ, DOCKER_HOST=self.host, DOCKER_BUILDKIT="0", **self.client_env)
        return subprocess.run(["docker", *args], check=check, text=True,
                               capture_output=True, env=env, **kw)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # dockerd leaves its own mounts under the data root and exec root.
        for d in (self.data_root, self.run_dir / "exec"):
            subprocess.run(["sh", "-c", f"grep -o ' {d}[^ ]*' /proc/self/mounts | sort -r | "
                            "xargs -r -n1 umount -l"], capture_output=True)


@pytest.fixture
def dockerd_factory():
    """Starts real dockerd daemons: dockerd_factory(data_root) -> Dockerd (running).
    The run directory is short (under /tmp, not tmp_path): containerd's socket path
    inside it must stay within the 107 bytes a unix socket path may have."""
    started = []
    base = Path(tempfile.mkdtemp(prefix="dc-", dir="/tmp"))

    def start(data_root, storage_driver="overlay2", tls_dir=None, ip="127.0.0.1", port=None, which=None):
        d = Dockerd(data_root, base / str(len(started)), storage_driver, tls_dir=tls_dir, ip=ip, port=port,
                    which=which)
        started.append(d)
        return d.start()

    try:
        yield start
    finally:
        for d in started:
            d.stop()
        shutil.rmtree(base, ignore_errors=True)


BOOT_SCRIPT = r"""#!/bin/bash
set -e
R="$1"
mount --make-rprivate /
mount --rbind /dev "$R/dev"
mount -t sysfs sysfs "$R/sys" || mount --rbind /sys "$R/sys"
mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup" 2>/dev/null || true
cd "$R"; mkdir -p oldroot; pivot_root . oldroot
mount -t proc proc /proc; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
umount -l /oldroot
export container=dind-cache-test
exec /lib/systemd/systemd --system --unit=multi-user.target
"""

# Host units that fail or get in the way inside the test systemd.
MASKED_UNITS = ["docker.service", "docker.socket", "containerd.service",
                "systemd-networkd.service", "getty@tty1.service", "console-getty.service",
                "serial-getty@ttyS0.service", "apt-daily.timer", "apt-daily-upgrade.timer",
                "man-db.timer", "e2scrub_all.timer", "fstrim.timer", "logrotate.timer",
                "dpkg-db-backup.timer", "systemd-tmpfiles-clean.timer",
                # Shares the host's network: a second postgres waits for port 5432.
                "postgresql.service", "postgresql@.service"]


class Systemd:
    """A real systemd (PID 1 in its own PID and mount namespaces) booted on an overlay
    of the host's root, so nothing it does touches the live root filesystem."""

    def __init__(self, base):
        self.base = Path(base)
        self.root = self.base / "root"
        self.upper = self.base / "upper"
        self.pid = None
        self.proc = None

    def boot(self):
        self.booted_at = time.time()
        for d in ("upper", "work", "root"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        sh("mount", "-t", "overlay", "overlay", "-o",
           f"lowerdir=/,upperdir={self.upper},workdir={self.base / 'work'}", self.root)
        for unit in MASKED_UNITS:
            link = self.root / "etc/systemd/system" / unit
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.exists() or link.is_symlink():
                link.unlink()
            link.symlink_to("/dev/null")
        script = self.base / "boot.sh"
        script.write_text(BOOT_SCRIPT)
        script.chmod(0o755)
        log = open(self.base / "boot.log", "w")
        self.proc = subprocess.Popen(["unshare", "--pid", "--mount", "--fork", str(script), str(self.root)],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def systemd_pid():
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
            for pid in out:
                try:
                    if os.readlink(f"/proc/{pid}/exe").endswith("/systemd"):
                        return int(pid)
                except OSError:
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError("boot failed: " + (self.base / "boot.log").read_text())
            return None

        self.pid = wait_for(systemd_pid, timeout=30, what="systemd to start")
        # systemctl fails at once ("Failed to connect to bus") until PID 1 has made
        # its private socket: wait for that before asking it anything.
        wait_for(lambda: os.path.exists(f"/proc/{self.pid}/root/run/systemd/private"),
                 timeout=30, what="systemd's private socket")
        state = self.run("systemctl", "is-system-running", "--wait", check=False, timeout=120)
        if state.stdout.strip() not in ("running", "degraded"):
            raise RuntimeError(f"systemd did not boot: {state.stdout} {state.stderr}")
        return self

    def run(self, *args, check=True, timeout=120, env=None, input=None):
        """Runs a command inside systemd's namespaces (its /, its /run, its bus)."""
        cmd = ["nsenter", "-t", str(self.pid), "-m", "-p", "--"]
        if env:
            cmd += ["env"] + [f"{k}={v}" for k, v in env.items()]
        return subprocess.run(cmd + [str(a) for a in args], check=check, text=True,
                              capture_output=True, timeout=timeout, input=input)

    def path(self, inside):
        """The host path of a path inside the booted system."""
        return self.root / str(inside).lstrip("/")

    def shutdown(self):
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self.proc:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        subprocess.run(["umount", "-R", "-l", str(self.root)], capture_output=True)
        self.remove_udev_links()

    def remove_udev_links(self):
        """udev inside shares the host's /dev: drop the /dev/disk links it made."""
        booted_at = getattr(self, "booted_at", None)
        if booted_at is None:
            return
        for link in Path("/dev/disk").glob("*/*"):
            with contextlib.suppress(OSError):
                if link.is_symlink() and link.lstat().st_mtime >= booted_at - 1:
                    link.unlink()


@pytest.fixture
def systemd(tmp_path_factory):
    """A freshly booted real systemd; see Systemd. Killed and unmounted at teardown."""
    base = Path(tempfile.mkdtemp(prefix="dind-cache-systemd-", dir="/var/tmp"))
    s = Systemd(base)
    try:
        s.boot()
        yield s
    finally:
        s.shutdown()
        shutil.rmtree(base, ignore_errors=True)
from kube_fixtures import kube_api  # noqa: F401
