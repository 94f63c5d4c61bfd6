"""Shared fixtures for the integration tests: the binary, loop devices with real
filesystems, mounts, a real dockerd, and a real systemd booted in namespaces on an
overlay of /. Everything a fixture makes is undone at teardown, even when a test fails.

These tests need root (loop devices, mounts, namespaces)."""

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("DIND_CACHE_BINARY", ROOT / "build" / "dind-cache"))


# `make check` runs the tests in parallel (pytest-xdist, --dist loadgroup), each on its own
# unless it is in a group. Booted systemds run side by side (each has cgroups of its own,
# Systemd.boot), but udev: a systemd's udev writes the host's one /dev/disk and removes
# there, at the end, what it made. So the tests marked udev (their systemd runs one) are
# one group, run one after the other; the others' systemds run none. The tests of a module
# marked module_node share one node booted for the module: a group of their own, run in
# file order on one worker. The longest chains go first: the udev group, the modules'
# nodes, then the tests that make the Debian package (a build another test waits for).
def pytest_configure(config):
    config.addinivalue_line("markers", "udev: the test's systemd runs udev (such tests run one at a time)")
    config.addinivalue_line("markers", "module_node: the module's tests share one node (one worker, file order)")


def _group(item):
    if item.get_closest_marker("udev"):
        return 0, "udev"
    if item.get_closest_marker("module_node"):
        return 1, f"node-{item.module.__name__}"
    return (2 if "deb" in item.fixturenames else 3), None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        group = _group(item)[1]
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: _group(item)[0])
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="integration tests need root")
        for item in items:
            item.add_marker(skip)


def sh(*args, check=True, **kw):
    """Runs a command, capturing text output."""
    return subprocess.run([str(a) for a in args], check=check, text=True,
                          capture_output=True, **kw)


def make_env(**extra):
    """This process's environment but what an enclosing make passes down (MAKEFLAGS with
    its jobs and jobserver, MAKELEVEL): a make a test runs runs as a user's would."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    env.update(extra)
    return env


def run_tool(*args, env=None, timeout=300, input=None, prefix=()):
    """Runs dind-cache with ARGS (after PREFIX, a command line that runs it); returns the
    CompletedProcess (never raises on exit)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run([*[str(a) for a in prefix], str(BINARY), *[str(a) for a in args]], text=True,
                          capture_output=True, env=full_env, timeout=timeout, input=input)


@pytest.fixture
def dind_cache(tmp_path):
    """Calls the binary: dind_cache("preflight", "--data-dir", d) -> CompletedProcess. It
    runs with a private /etc and /usr/local (PrivateDirs): what the host installed is not
    there to be read (install and uninstall read the env file, the units and the vendor
    units), and nothing is written to the host's."""
    assert BINARY.exists(), f"{BINARY} is missing: run make first"
    prefix = PrivateDirs(tmp_path / "dind-cache-node", ("/etc", "/usr/local", "/var/lib")).command()
    return lambda *args, **kw: run_tool(*args, prefix=prefix, **kw)


BLKFLSBUF = 0x1261   # <linux/fs.h>: write a block device's buffers back, then drop them


def file_hash(path):
    """A digest of the content of a file or block device, to compare before and after:
    equal exactly when the content is. A loop device is read through its image file,
    once the device's own buffers are written back, and only where the file holds data
    (a sparse 512M image costs what its written part costs; reading all of it took
    seconds)."""
    path = Path(path)
    sys_loop = Path("/sys/block", path.name, "loop")
    if path.is_block_device() and (sys_loop / "backing_file").exists() and \
            int((sys_loop / "offset").read_text()) == 0:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.ioctl(fd, BLKFLSBUF)
        finally:
            os.close(fd)
        path = Path((sys_loop / "backing_file").read_text().strip())
    return _content_hash(path)


def _content_hash(path, block=1 << 16):
    """sha256 over the size and each BLOCK-sized block that is not all zeros, with its
    number: the holes of a sparse file (zeros) are skipped, never read. Which ranges
    SEEK_DATA calls data varies (a read of an unwritten extent makes it data), so the
    digest depends only on the bytes."""
    h, zero, done = hashlib.sha256(), bytes(block), -1
    with open(path, "rb") as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size if path.is_file() else f.seek(0, os.SEEK_END)
        h.update(b"size %d\n" % size)
        pos = 0
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
                end = os.lseek(fd, start, os.SEEK_HOLE)
            except OSError as e:
                if e.errno == errno.ENXIO:        # no data after POS
                    break
                if e.errno != errno.EINVAL:       # EINVAL: a device, no holes to skip
                    raise
                start, end = pos, size
            for n in range(max(start // block, done + 1), -(-end // block)):
                f.seek(n * block)
                data = f.read(block)
                if data != zero[:len(data)]:
                    h.update(b"%d\n" % n + data)
                done = n
            pos = end
    return h.hexdigest()


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


# What installing dind-cache on this machine leaves: `make install` (the binary, man page
# and completion under /usr/local), `make install-units` (units and catalog under
# /usr/local/lib/systemd), and `dind-cache install` run on the host itself (/etc/dind-cache,
# units, drop-ins and the mount unit in /etc/systemd/system, /var/lib/dind-cache, the
# journal's catalog database). A test's node never sees it: the overlays a test runs the
# binary in (a booted systemd's /, PrivateDirs) show each of these directories empty and
# each file absent, so the node holds only what the test itself put there.
HOST_INSTALL = ("/usr/local", "/etc/systemd/system", "/etc/dind-cache", "/var/lib/dind-cache",
                "/var/lib/systemd/catalog/database")


def _mkdirs_like_lower(upper, lower, rel):
    """UPPER/REL and its parents, each with the mode and owner of LOWER's directory (an
    overlay shows the upper directory's): the merged tree looks like the host's."""
    path = Path(upper)
    for part in rel.parts:
        path = path / part
        lower = Path(lower) / part
        if not path.is_dir():
            path.mkdir()
            with contextlib.suppress(OSError):
                st = os.stat(lower)
                os.chmod(path, stat.S_IMODE(st.st_mode))
                os.chown(path, st.st_uid, st.st_gid)
    return path


def hide_host_install(upper, lower="/"):
    """Prepares UPPER, the upper directory of an overlay over LOWER, so that the overlay
    shows nothing of HOST_INSTALL that the host has: a directory as an empty (opaque) one,
    a file not at all (a whiteout). Returns the lower directory to mount: LOWER, or an
    empty directory beside UPPER when LOWER itself is to show empty (an overlay's own root
    cannot be opaque)."""
    upper, lower = Path(upper), Path(lower)
    if str(lower) in HOST_INSTALL:
        empty = upper.with_name(upper.name + "-empty")
        empty.mkdir(exist_ok=True)
        return empty
    for path in HOST_INSTALL:
        try:
            rel = Path(path).relative_to(lower)
        except ValueError:
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            os.setxattr(_mkdirs_like_lower(upper, lower, rel), "trusted.overlay.opaque", b"y")
        elif os.path.lexists(path):
            target = _mkdirs_like_lower(upper, lower, rel.parent) / rel.name
            if not os.path.lexists(target):
                os.mknod(target, stat.S_IFCHR, os.makedev(0, 0))   # an overlay's whiteout
    return lower


class PrivateDirs:
    """A command's own view of some directories (DIRS, e.g. /etc): run by command() in a
    private mount namespace where each is an overlay, the host's files below (but what
    the host installed of dind-cache: hide_host_install) and the test's above, in
    upper(DIR). The host's directories are never written."""

    def __init__(self, base, dirs=("/etc", "/var/lib")):
        self.base = Path(base)
        self.mounts = []
        for d in dirs:
            upper, work = self.upper(d), self.base / ("work" + d.replace("/", "-"))
            upper.mkdir(parents=True, exist_ok=True)
            work.mkdir(exist_ok=True)
            self.mounts.append((hide_host_install(upper, d), upper, work, d))

    def upper(self, d):
        return self.base / ("upper" + d.replace("/", "-"))

    def command(self, *args):
        """The argv that runs ARGS with the overlays mounted."""
        q = shlex.quote
        mounts = " && ".join(
            f"mount -t overlay overlay -o lowerdir={q(str(lower))},upperdir={q(str(upper))},"
            f"workdir={q(str(work))} {q(d)}" for lower, upper, work, d in self.mounts)
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", mounts + ' && exec "$@"', "sh",
                *[str(a) for a in args]]


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A directory of this test run that every pytest-xdist worker shares (pytest's base
    temporary directory of the run), for what is made once per run (made_once)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(run_dir, name, make):
    """RUN_DIR/NAME, made by MAKE(path) the first time any worker of the run asks for it;
    the others wait for it (a file lock), then use it as it is."""
    path = Path(run_dir) / name
    with open(Path(run_dir) / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (path / ".made").exists():
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir()
            make(path)
            (path / ".made").touch()
    return path


def free_loopback_ip(port):
    """A loopback address (all of 127.0.0.0/8 is this host's) on which PORT is free, drawn
    at random: a daemon on a fixed port needs an address no other test, nor another run
    of these tests on the machine, uses (127.0.0.1:2375 may be a test's plaintext daemon,
    which a checker would rightly report as the plaintext port left open)."""
    for _ in range(100):
        ip = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        with socket.socket() as s:
            # As dockerd binds: connections of an earlier run in TIME-WAIT do not count.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((ip, port))
            except OSError:
                continue
        return ip
    raise RuntimeError(f"no loopback address with port {port} free")


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
                 which=None, extra_args=()):
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
        self.extra_args = list(extra_args)   # more dockerd flags, e.g. ["--config-file", PATH]
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

    def start(data_root, storage_driver="overlay2", tls_dir=None, ip="127.0.0.1", port=None, which=None,
              extra_args=()):
        d = Dockerd(data_root, base / str(len(started)), storage_driver, tls_dir=tls_dir, ip=ip, port=port,
                    which=which, extra_args=extra_args)
        started.append(d)
        return d.start()

    try:
        yield start
    finally:
        for d in started:
            d.stop()
        shutil.rmtree(base, ignore_errors=True)


def own_cgroups(name):
    """Makes NAME below this process's cgroup in every cgroup hierarchy mounted under
    /sys/fs/cgroup (each v1 controller, name=systemd, the unified one); returns them.
    Below this process's own: a resource limit set on it still holds."""
    known = {line.split()[0] for line in open("/proc/cgroups") if not line.startswith("#")}
    mine = {}
    for line in open("/proc/self/cgroup"):
        _, keys, path = line.rstrip("\n").split(":", 2)
        mine[frozenset(keys.split(",")) if keys else frozenset()] = path
    made = []
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        sep = fields.index("-")
        root, point, fstype, options = fields[3], fields[4], fields[sep + 1], fields[sep + 3]
        if fstype == "cgroup2":
            key = frozenset()
        elif fstype == "cgroup":
            key = frozenset(o for o in options.split(",") if o in known or o.startswith("name="))
        else:
            continue
        if "/sys/fs/cgroup" not in (point, os.path.dirname(point)) or key not in mine:
            continue
        d = Path(os.path.normpath(os.path.join(point, os.path.relpath(mine[key], root), name)))
        if d in made:
            continue
        d.mkdir()
        for f in ("cpuset.cpus", "cpuset.mems"):    # v1: empty in a new cpuset, which no one may join
            if (d / f).exists() and not (d / f).read_text().strip():
                (d / f).write_text((d.parent / f).read_text())
        made.append(d)
    return made


def remove_cgroup(d):
    """Removes cgroup D and those below it, once their processes are gone."""
    for _ in range(50):
        for path, _, _ in sorted(os.walk(d), key=lambda t: -t[0].count("/")):
            with contextlib.suppress(OSError):
                os.rmdir(path)
        if not d.exists():
            return
        time.sleep(0.1)


BOOT_SCRIPT = r"""#!/bin/bash
set -e
R="$1"; shift
for procs; do echo 0 > "$procs"; done      # into its own cgroups (Systemd.boot)
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

# udev, masked in a systemd booted without it.
UDEV_UNITS = ["systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
              "systemd-udev-trigger.service", "systemd-udev-settle.service"]

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
    of the host's root, so nothing it does touches the live root filesystem. The node it
    makes holds nothing the host installed of dind-cache (hide_host_install), nor the
    host's own units of /etc/systemd/system: a fresh node, on which a test installs.
    Its udev runs only with UDEV (it shares the host's /dev: see pytest_collection_modifyitems);
    without it, device units never appear, which a mount unit of a device waits for."""

    def __init__(self, base, udev=False):
        self.base = Path(base)
        self.udev = udev
        self.root = self.base / "root"
        self.upper = self.base / "upper"
        self.pid = None
        self.proc = None

    def boot(self):
        self.booted_at = time.time()
        for d in ("upper", "work", "root"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        lower = hide_host_install(self.upper, "/")
        sh("mount", "-t", "overlay", "overlay", "-o",
           f"lowerdir={lower},upperdir={self.upper},workdir={self.base / 'work'}", self.root)
        for unit in MASKED_UNITS + ([] if self.udev else UDEV_UNITS):
            link = self.root / "etc/systemd/system" / unit
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.exists() or link.is_symlink():
                link.unlink()
            link.symlink_to("/dev/null")
        # A cgroup of its own in every hierarchy, where systemd (in a container it roots its
        # tree where it starts) keeps its units: two booted systemds, of this run or another
        # on the machine, never share a unit's cgroup (systemctl kill fails on a process it
        # cannot see there; stopping a unit would kill the other's).
        self.cgroups = own_cgroups(f"dind-cache-test-{uuid.uuid4().hex[:16]}")
        script = self.base / "boot.sh"
        script.write_text(BOOT_SCRIPT)
        script.chmod(0o755)
        log = open(self.base / "boot.log", "w")
        self.proc = subprocess.Popen(["unshare", "--pid", "--mount", "--fork", str(script), str(self.root),
                                      *[str(d / "cgroup.procs") for d in self.cgroups]],
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

    def journal(self, *args):
        """journalctl ARGS, once journald has stored everything logged so far (a unit's
        output reaches it after `systemctl start` has returned): its output."""
        self.run("journalctl", "--sync")
        return self.run("journalctl", "--no-pager", *args).stdout

    def install_binary(self, inside="/usr/local/sbin/dind-cache"):
        """The binary under test, copied to INSIDE (where `make install` puts it): a copy,
        so that a rebuild meanwhile cannot disturb it. Returns INSIDE."""
        target = self.path(inside)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(BINARY, target)
        return inside

    def settle_udev(self):
        """Has the udev inside see every block device, as at boot: the /dev/disk links
        and device units that a mount unit of a device waits for."""
        assert self.udev, "this systemd runs no udev: boot it with udev=True (mark the test udev)"
        self.run("udevadm", "trigger", "--action=add", "--subsystem-match=block")
        self.run("udevadm", "settle", "--timeout=30")

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
        for d in getattr(self, "cgroups", ()):
            remove_cgroup(d)
        if self.udev:
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


@contextlib.contextmanager
def booted_systemd(prefix="dind-cache-systemd-", udev=False):
    """A freshly booted real systemd (see Systemd) in a directory of its own under
    /var/tmp; killed, unmounted and removed on leaving."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    s = Systemd(base, udev=udev)
    try:
        s.boot()
        yield s
    finally:
        s.shutdown()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def systemd(request):
    """A freshly booted real systemd for one test, with udev when the test is marked udev."""
    with booted_systemd(udev=request.node.get_closest_marker("udev") is not None) as s:
        yield s
from kube_fixtures import kube_api  # noqa: F401
