"""What the benchmarks in tests/bench/ share: a work directory under /tmp that is removed,
with every daemon, mount, loop device and registry started in it, on any exit (failure,
Ctrl-C, SIGTERM); the pinned dockerd (../shared/debs) on a loop-mounted xfs or on a data
root given; a local docker-registry on 127.0.0.1; busybox base images pushed to it.

    import benchlib as bl
    bl.setup("eviction.sh", "dc-evict-")
    bl.run(main)          # main() runs, then every cleanup, also on failure
"""
import http.client, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("BINARY") or str(ROOT / "build/dind-cache")   # dind-cache, BINARY=.. to pick
NAME = "bench"          # the benchmark's name, for its messages
W = None                # the work directory
cleanups = []           # run in reverse order at exit
_lock = threading.Lock()  # daemons start from several threads; none once the cleanups began
_stopping = False
DOCKER = "/usr/bin/docker"   # the 20.10 CLI: it has BuildKit (DOCKER_BUILDKIT=1)
_pinned = None


def setup(name, prefix):
    global NAME, W
    NAME = name
    W = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    # SIGTERM and SIGHUP end the run through the cleanups, as Ctrl-C (KeyboardInterrupt) does.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    return W


def run(main):
    global _stopping
    try:
        main()
    finally:
        # A second Ctrl-C must not cut the cleanups short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with _lock:
            _stopping = True
        for c in reversed(list(cleanups)):
            try:
                c()
            except Exception:
                pass
        shutil.rmtree(W, ignore_errors=True)


def sh(*args, **kw):
    return subprocess.run([str(a) for a in args], check=kw.pop("check", True), text=True,
                          capture_output=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(pred, what, timeout=60, step=0.2):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(step)
    raise SystemExit(f"{NAME}: timed out waiting for {what}")


def debs_dir():
    """The pinned packages: $DEBS, else ../shared/debs of the main checkout or of the
    worktrees' parent."""
    if os.environ.get("DEBS"):
        return Path(os.environ["DEBS"])
    d = ROOT / "../shared/debs"
    return d if d.is_dir() else ROOT / "../../shared/debs"


def pinned():
    """The pinned packages unpacked once: {"dockerd": path, "args": [...], "cli": path or
    None, "config": a DOCKER_CONFIG whose cli-plugins has buildx, or None}. Without
    them, the system's dockerd and no pinned CLI."""
    global _pinned
    if _pinned is None:
        debs = debs_dir()
        debs = sorted(debs.glob("*.deb")) if debs.is_dir() else []
        if not debs:
            _pinned = {"dockerd": "dockerd", "args": [], "cli": None, "config": None}
            return _pinned
        dest = W / "pinned"
        for d in debs:
            sh("dpkg-deb", "-x", d, dest)
        cli, plugin = dest / "usr/bin/docker", dest / "usr/libexec/docker/cli-plugins/docker-buildx"
        config = None
        if cli.exists() and plugin.exists():
            config = W / "docker-config"
            (config / "cli-plugins").mkdir(parents=True)
            (config / "cli-plugins/docker-buildx").symlink_to(plugin)
        _pinned = {"dockerd": str(dest / "usr/sbin/dockerd"), "args": ["--tls=false"],
                   "cli": str(cli) if config else None, "config": config}
    return _pinned


def _unmount_under(path):
    """Unmount PATH and everything mounted below it, deepest first."""
    path = str(path)
    with open("/proc/self/mounts") as f:
        mounts = [line.split()[1] for line in f]
    for m in sorted((m for m in mounts if m == path or m.startswith(path + "/")), reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)


class Disk:
    """A fresh xfs of MIB MiB on a loop device, mounted at W/NAME/mnt."""

    def __init__(self, name, mib):
        self.dir = W / name
        self.mnt = self.dir / "mnt"
        self.mnt.mkdir(parents=True)
        img = self.dir / "xfs.img"
        sh("truncate", "-s", f"{mib}M", img)
        sh("mkfs.xfs", "-q", "-f", "-n", "ftype=1", img)
        self.loop = sh("losetup", "--find", "--show", img).stdout.strip()
        cleanups.append(self.close)
        sh("mount", self.loop, self.mnt)

    def percent(self):
        st = os.statvfs(self.mnt)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        return -(-used * 100 // (used + st.f_bavail * st.f_frsize))

    def close(self):
        if self.loop:
            _unmount_under(self.mnt)
            subprocess.run(["losetup", "-d", self.loop], capture_output=True)
            self.loop = None


def bench_daemon_json(config, where):
    """CONFIG (a daemon.json, render's) for a benchmark daemon: without "icc", which
    needs iptables, and these daemons run without a bridge or iptables rules in the
    host's network namespace. Everything the build cache is measured by is kept."""
    doc = json.loads(Path(config).read_text())
    doc.pop("icc", None)
    out = Path(where) / "daemon.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    return out


class Daemon:
    """A dockerd on tcp://127.0.0.1:PORT: on its own DISK_MIB xfs, or on DATA_ROOT.
    `started` is the seconds from its start to its first answer to /_ping. CLIENT "pinned"
    drives it with the pinned 28.5.2 CLI and buildx (what docker:28.5.2-cli jobs run),
    else with the system's 20.10 CLI and DOCKER_BUILDKIT=1."""

    def __init__(self, name, disk_mib=None, config=None, data_root=None, client="system",
                 storage_driver="overlay2"):
        self.dir = W / name
        self.disk = Disk(name, disk_mib) if disk_mib else None
        self.mnt = self.disk.mnt if self.disk else Path(data_root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.mnt.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = f"tcp://127.0.0.1:{self.port}"
        p = pinned()
        self.env = dict(os.environ, DOCKER_BUILDKIT="1")
        self.cli = DOCKER
        if client == "pinned" and p["cli"]:
            self.cli = p["cli"]
            self.env["DOCKER_CONFIG"] = str(p["config"])
        if config:
            config = bench_daemon_json(config, self.dir)
        extra = p["args"] + (["--config-file", str(config)] if config else [])
        extra += ["--storage-driver", storage_driver] if storage_driver else []
        with _lock:
            if _stopping:
                raise SystemExit(f"{NAME}: stopping")
            t = time.monotonic()
            self.proc = subprocess.Popen(
                [p["dockerd"], *extra, "--data-root", str(self.mnt), "-H", self.host,
                 "--pidfile", str(self.dir / "docker.pid"), "--exec-root", str(self.dir / "exec"),
                 "--iptables=false", "--ip6tables=false", "--bridge=none"],
                stdout=open(self.dir / "dockerd.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
            cleanups.append(self.stop)
        try:
            wait(lambda: self.proc.poll() is not None or self.ping(), "dockerd", step=0.02)
            if self.proc.poll() is not None:
                raise SystemExit(f"{NAME}: dockerd {name} exited with status {self.proc.returncode}")
        except SystemExit:
            print("".join((self.dir / "dockerd.log").read_text().splitlines(True)[-15:]), file=sys.stderr)
            raise
        self.started = time.monotonic() - t
        self.version = self.docker("version", "-f", "{{.Server.Version}}").stdout.strip()

    def ping(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            c.request("GET", "/_ping")
            return c.getresponse().status == 200
        except OSError:
            return False
        finally:
            c.close()

    def docker(self, *args, check=True, **kw):
        return sh(self.cli, "-H", self.host, *args, check=check, env=self.env, **kw)

    def percent(self):
        return self.disk.percent()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _unmount_under(self.dir)
        _unmount_under(self.mnt)
        if self.disk:
            self.disk.close()


def registry():
    """A docker-registry on 127.0.0.1 that logs each request as JSON: (ADDRESS, LOG)."""
    port = free_port()
    store = W / "registry"
    cfg = W / "registry.yml"
    cfg.write_text(f"version: 0.1\nlog:\n  level: info\n  formatter: json\nstorage:\n  filesystem:\n"
                   f"    rootdirectory: {store}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    log = W / "registry.log"
    p = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=open(log, "w"),
                         stderr=subprocess.STDOUT, start_new_session=True)
    cleanups.append(lambda: (p.terminate(), p.wait()))

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait(up, "the registry")
    return f"127.0.0.1:{port}", log


def make_bases(daemon, reg, n=3):
    """N busybox base images, each with its own 6 MiB of random content in /pad (fixed
    seeds), imported into DAEMON and pushed to REG as REG/baseK:1."""
    rootfs = W / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin/busybox")
    (rootfs / "bin/sh").symlink_to("busybox")
    for line in sh("ldd", "/bin/busybox", check=False).stdout.splitlines():
        lib = next((w for w in line.split() if w.startswith("/")), None)
        if lib:
            (rootfs / lib.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(lib, rootfs / lib.lstrip("/"))
    names = []
    for k in range(n):
        with open(rootfs / "pad", "wb") as f:
            f.write(random.Random(k).randbytes(6 << 20))
        tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=True).stdout
        name = f"{reg}/base{k}:1"
        subprocess.run([daemon.cli, "-H", daemon.host, "import", "-", name], input=tar, check=True,
                       capture_output=True)
        daemon.docker("push", name)
        names.append(name)
    shutil.rmtree(rootfs)
    return names
