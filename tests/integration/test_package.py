"""The Debian package as an operator meets it: `make deb` on a clean checkout (a git
clone of the committed tree) makes a lintian-clean .deb; `apt-get install ./...deb`
inside a real booted systemd (on an overlay of /, see conftest.Systemd) gives the
binary, `man 8 dind-cache`, the bash completion and the checker's units in the vendor
directory, none of them enabled; `dind-cache install` then writes only this node's
settings and enables the timer, whose check runs inside the sandbox (and writes the
metrics file); `apt-get remove` leaves the node's configuration and data.

The package is made once for the run; the tests of the node run in file order on one
booted node."""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, made_once, make_env
from test_checker_systemd import DATA_DIR, ENV_FILE, Node

PACKAGED = "/usr/sbin/dind-cache"
VENDOR = Path("/usr/lib/systemd/system")
ETC = Path("/etc/systemd/system")
SERVICE = "dind-cache-check.service"
TIMER = "dind-cache-check.timer"
PRUNE_SERVICE = "dind-cache-prune.service"
PRUNE_TIMER = "dind-cache-prune.timer"
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"


def version():
    return (ROOT / "VERSION").read_text().strip()


def make_deb(base):
    """make deb in BASE/src, a fresh clone of the committed tree."""
    src = base / "src"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(src)], check=True, capture_output=True)
    p = subprocess.run(["make", "deb"], cwd=src, capture_output=True, text=True, timeout=900,
                       env=make_env(DEB_BUILD_OPTIONS="parallel=2"))
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    assert not list(base.glob("*.deb")), "make deb leaves nothing beside the source tree"


@pytest.fixture(scope="session")
def deb(run_dir):
    """(.changes, .deb) of make deb in a fresh clone of the committed tree, made once
    for the run: the lintian test and the node's apt-get may run on two workers."""
    build = made_once(run_dir, "deb", make_deb) / "src" / "build"
    v = version()
    changes, package = build / f"dind-cache_{v}_amd64.changes", build / f"dind-cache_{v}_amd64.deb"
    assert changes.exists() and package.exists(), sorted(p.name for p in build.iterdir())
    return changes, package


@pytest.fixture(scope="module")
def node():
    base = Path(tempfile.mkdtemp(prefix="dind-cache-package-", dir="/var/tmp"))
    n = Node(base)
    try:
        n.up()
        # node_exporter's textfile directory, as prometheus-node-exporter makes it.
        n.run("mkdir", "-p", TEXTFILE_DIR, check=True)
        yield n
    finally:
        n.down()
        shutil.rmtree(base, ignore_errors=True)


def test_changelog_version_is_the_trees_version():
    first = (ROOT / "debian" / "changelog").read_text().splitlines()[0]
    assert first.startswith(f"dind-cache ({version()}) ")


def test_make_deb_is_lintian_clean(deb):
    changes, _ = deb
    p = subprocess.run(["lintian", "--fail-on", "error,warning", "--pedantic", str(changes)],
                       capture_output=True, text=True, timeout=600)
    tags = [l for l in p.stdout.splitlines() if l[:2] in ("E:", "W:")]
    assert p.returncode == 0 and not tags, p.stdout + p.stderr


@pytest.mark.module_node
def test_apt_installs_binary_man_page_completion_and_disabled_units(deb, node):
    _, package = deb
    inside = Path("/var/tmp") / package.name
    shutil.copy2(package, node.systemd.path(inside))
    p = node.systemd.run("apt-get", "install", "-y", "-q", "--no-install-recommends", f"{inside}",
                         check=False, timeout=600, env={"DEBIAN_FRONTEND": "noninteractive"})
    assert p.returncode == 0, p.stdout + p.stderr

    assert node.run(PACKAGED, "--version").stdout.strip() == f"dind-cache {version()}"
    man = node.run("man", "-w", "8", "dind-cache")
    assert man.returncode == 0 and man.stdout.strip() == "/usr/share/man/man8/dind-cache.8.gz", man.stderr
    comp = node.run("bash", "--norc", "--noprofile", "-c",
                    "source /usr/share/bash-completion/completions/dind-cache && complete -p dind-cache")
    assert comp.stdout.strip() == "complete -F _dind_cache dind-cache", comp.stderr

    for unit in (SERVICE, TIMER):
        text = node.systemd.path(VENDOR / unit).read_text()
        assert not node.systemd.path(ETC / unit).exists()
        state = node.run("systemctl", "is-enabled", unit).stdout.strip()
        assert state in ("disabled", "static"), f"{unit} is {state} before dind-cache install"
        assert node.run("systemctl", "is-active", unit).stdout.strip() == "inactive"
    assert f"\nExecStart={PACKAGED} check\n" in node.systemd.path(VENDOR / SERVICE).read_text()
    assert node.systemd.path("/usr/lib/systemd/catalog/dind-cache.catalog").exists()
    timers = node.run("systemctl", "list-timers", "--all", "--no-legend").stdout
    assert "dind-cache" not in timers


@pytest.mark.module_node
def test_install_writes_only_the_nodes_settings_and_the_timer_runs(node):
    r = node.run(PACKAGED, "install", "--skip-apply", "--data-dir", DATA_DIR, "--check-interval", "2m",
                 timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "dind-cache check OK" in r.stdout
    assert f"the packaged {SERVICE}, {TIMER}, {PRUNE_SERVICE} and {PRUNE_TIMER} in {VENDOR}" in r.stderr

    # No complete unit in /etc: the package's, with a drop-in for what differs.
    for unit in (SERVICE, TIMER, PRUNE_SERVICE, PRUNE_TIMER):
        assert not node.systemd.path(ETC / unit).exists(), unit
    # The pruner's defaults are the node's too: no drop-in, and its timer runs.
    assert not node.systemd.path(ETC / f"{PRUNE_SERVICE}.d").exists()
    assert node.run("systemctl", "is-active", PRUNE_TIMER).stdout.strip() == "active"
    dropin = node.systemd.path(ETC / f"{TIMER}.d" / "dind-cache.conf").read_text()
    assert "\nOnUnitActiveSec=2min\n" in dropin
    # The service's defaults (binary, data directory, metrics directory) are the node's.
    assert not node.systemd.path(ETC / f"{SERVICE}.d").exists()
    assert not node.systemd.path("/usr/local/lib/systemd/catalog/dind-cache.catalog").exists()

    show = node.run("systemctl", "show", TIMER, "-p", "FragmentPath", "-p", "DropInPaths",
                    "-p", "UnitFileState", "-p", "ActiveState").stdout
    # Merged /usr: systemd may name the vendor file by its /lib path.
    assert re.search(f"^FragmentPath=(/usr)?/lib/systemd/system/{TIMER}$", show, re.M), show
    assert "dind-cache.conf" in show
    assert "UnitFileState=enabled" in show and "ActiveState=active" in show
    timers = node.run("systemctl", "list-timers", "--all", "--no-legend", TIMER).stdout
    assert TIMER in timers and not timers.strip().startswith("n/a"), timers  # a next run

    # The check ran as the packaged service, in its sandbox, and wrote the metrics.
    svc = node.run("systemctl", "show", SERVICE, "-p", "Result", "-p", "ExecMainStatus",
                   "-p", "FragmentPath").stdout
    assert "Result=success" in svc and "ExecMainStatus=0" in svc, svc
    assert re.search(f"^FragmentPath=(/usr)?/lib/systemd/system/{SERVICE}$", svc, re.M), svc
    prom = node.systemd.path(f"{TEXTFILE_DIR}/dind_cache.prom").read_text()
    assert "\ndind_cache_state 0\n" in prom and "\ndind_cache_daemon_up 1\n" in prom


@pytest.mark.module_node
def test_install_again_changes_nothing(node):
    dropin = node.systemd.path(ETC / f"{TIMER}.d" / "dind-cache.conf")
    before = dropin.stat().st_mtime_ns
    r = node.run(PACKAGED, "install", "--skip-apply", "--data-dir", DATA_DIR, "--check-interval", "2m",
                 timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "this node's settings unchanged" in r.stderr
    assert dropin.stat().st_mtime_ns == before


@pytest.mark.module_node
def test_another_metrics_directory_is_the_only_one_the_sandbox_opens(node):
    node.run("mkdir", "-p", "/srv/metrics", "/srv/other", check=True)
    node.write_env(node.dockerd.host, "DIND_CACHE_TEXTFILE_DIR=/srv/metrics\n")
    r = node.run(PACKAGED, "install", "--skip-apply", "--data-dir", DATA_DIR, "--check-interval", "2m",
                 timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    dropin = node.systemd.path(ETC / f"{SERVICE}.d" / "dind-cache.conf").read_text()
    assert "\nReadWritePaths=\nReadWritePaths=-/mnt/k8s/docker -/srv/metrics\n" in dropin
    assert "dind_cache_state 0" in node.systemd.path("/srv/metrics/dind_cache.prom").read_text()

    # Pointed elsewhere without install: the sandbox refuses, the check still passes.
    node.write_env(node.dockerd.host, "DIND_CACHE_TEXTFILE_DIR=/srv/other\n")
    r = node.run("systemctl", "start", SERVICE)
    assert r.returncode == 0, r.stderr
    assert not node.systemd.path("/srv/other/dind_cache.prom").exists()
    log = node.systemd.journal("-u", SERVICE, "-n", "30")
    assert "cannot write the metrics file '/srv/other/dind_cache.prom': Read-only file system" in log


@pytest.mark.module_node
def test_uninstall_removes_the_dropins_and_disables_the_packaged_timer(node):
    r = node.run(PACKAGED, "uninstall", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not node.systemd.path(ETC / f"{TIMER}.d").exists()
    assert not node.systemd.path(ETC / f"{SERVICE}.d").exists()
    assert not node.systemd.path(ENV_FILE).exists()
    assert node.run("systemctl", "is-enabled", TIMER).stdout.strip() == "disabled"
    assert node.run("systemctl", "is-active", TIMER).stdout.strip() == "inactive"
    assert node.systemd.path(VENDOR / TIMER).exists()  # the package's own file stays

    # Back to installed, for the removal below.
    node.write_env(node.dockerd.host)
    r = node.run(PACKAGED, "install", "--skip-apply", "--data-dir", DATA_DIR, "--check-interval", "2m",
                 timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.module_node
def test_apt_remove_says_so_and_leaves_configuration_and_data(node):
    node.run("sh", "-c", f"echo layer > {DATA_DIR}/kept", check=True)
    p = node.systemd.run("apt-get", "remove", "-y", "-q", "dind-cache", check=False, timeout=600,
                         env={"DEBIAN_FRONTEND": "noninteractive"})
    assert p.returncode == 0, p.stdout + p.stderr
    assert 'removing the package does not undo "dind-cache install"' in p.stdout + p.stderr
    assert not node.systemd.path(PACKAGED).exists()
    assert not node.systemd.path(VENDOR / SERVICE).exists()

    assert node.systemd.path(ENV_FILE).exists()
    assert node.systemd.path(ETC / f"{TIMER}.d" / "dind-cache.conf").exists()
    assert node.run("cat", f"{DATA_DIR}/kept").stdout == "layer\n"
