"""`dind-cache prune` as the prune timer runs it: a real dockerd whose --data-root is a
small loop-mounted xfs, real images with large dependency layers, the filesystem pushed
above the high watermark with a plain file, and the pruner judged by what a user sees:
which images are left, what statfs says, the exit status and the journal.

Exit status: 0 under HIGH, 1 still above HIGH, 2 daemon unreachable or API error,
3 bad settings. Runs against the pinned dockerd 28.5.2 (API 1.51) by default and the
system's 20.10 (API 1.41) with DIND_CACHE_TEST_DOCKERD=system; the API-generation test
runs both in one go."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BINARY, ROOT, Dockerd, run_tool, sh

DEP_MIB = 24


def prune(daemon, data_dir, *args, env=None, state=None):
    full = {"DOCKER_HOST": daemon.host if daemon else "tcp://127.0.0.1:1",
            "DIND_CACHE_DATA_DIR": str(data_dir),
            "DIND_CACHE_PRUNE_STATE": str(state or Path(data_dir).parent / "prune-state.json"),
            "DIND_CACHE_TIMEOUT": "30s"}
    full.update(env or {})
    return run_tool("prune", "--no-journal", *args, env=full, timeout=180)


def prune_json(daemon, data_dir, *args, env=None, state=None):
    p = prune(daemon, data_dir, "--json", *args, env=env, state=state)
    assert p.stdout.strip(), p.stderr
    return p.returncode, json.loads(p.stdout), p


def percent_used(path):
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    return -(-used * 100 // (used + avail))


def fill_to(mnt, percent, name="filler"):
    """A plain file (not Docker's) that brings the filesystem at MNT to about PERCENT%."""
    st = os.statvfs(mnt)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    size = used + st.f_bavail * st.f_frsize
    want = int(size * percent / 100) - used
    assert want > 0, f"already {used * 100 // size}%"
    path = Path(mnt) / name
    sh("fallocate", "-l", str(want), path)
    return path


def images(daemon):
    out = daemon.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    return {i for i in out if not i.startswith("<none>")}


def make_base(daemon, tmp):
    """bb:latest from busybox (docker import: no registry needed)."""
    rootfs = Path(tmp) / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
    (rootfs / "bin" / "sh").symlink_to("busybox")
    # busybox-static needs nothing more; a dynamic busybox needs its libraries.
    for line in sh("ldd", "/bin/busybox", check=False).stdout.splitlines():
        lib = next((w for w in line.split() if w.startswith("/")), None)
        if lib:
            dest = rootfs / lib.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(lib, dest)
    tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=True).stdout
    subprocess.run(["docker", "import", "-", "bb:latest"], input=tar, capture_output=True, check=True,
                   env=dict(os.environ, DOCKER_HOST=daemon.host))


def make_project(daemon, tmp, name):
    """A project image: the base, a large dependency layer, a small app layer."""
    ctx = Path(tmp) / name
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM bb:latest\n"
        f"RUN /bin/busybox dd if=/dev/urandom of=/deps-{name} bs=1M count={DEP_MIB} 2>/dev/null\n"
        f"RUN echo {name} > /app\n")
    daemon.docker("build", "--network", "none", "-q", "-t", f"{name}:latest", str(ctx))


def use(daemon, name):
    """What a CI job does with an image: a container made from it, then removed."""
    cid = daemon.docker("create", f"{name}:latest", "true").stdout.strip()
    daemon.docker("rm", cid)


@pytest.fixture
def cache(loops):
    _, mnt = loops.mounted("xfs", size="512M")
    return mnt


@pytest.fixture
def daemon(cache, dockerd_factory):
    return dockerd_factory(cache)


@pytest.fixture
def projects(daemon, cache, tmp_path):
    """Three cold projects built first, three hot ones built too but used afterwards."""
    make_base(daemon, tmp_path)
    cold = [f"cold{i}" for i in range(3)]
    hot = [f"hot{i}" for i in range(3)]
    for name in cold + hot:
        make_project(daemon, tmp_path, name)
    time.sleep(1.1)  # event times are in seconds: uses must come later than the builds
    for name in hot:
        use(daemon, name)
    return cold, hot


def watermarks(cache, over):
    """HIGH just under the use now, LOW enough below it that all three cold projects
    must go but no hot one: each project frees DEP_MIB MiB of the 512 MiB filesystem."""
    now = percent_used(cache)
    st = os.statvfs(cache)
    size_mib = (st.f_blocks - st.f_bfree + st.f_bavail) * st.f_frsize / 2**20
    one = DEP_MIB * 100 / size_mib
    low = int(now - 2.5 * one)
    return {"DIND_CACHE_PRUNE_HIGH": str(now - over), "DIND_CACHE_PRUNE_LOW": str(low),
            "DIND_CACHE_PRUNE_CRIT": "99", "DIND_CACHE_PRUNE_MIN_AGE": "0s",
            "DIND_CACHE_PRUNE_RESERVE": "0"}


def test_hot_projects_survive_while_cold_ones_go(cache, daemon, projects):
    cold, hot = projects
    fill_to(cache, 88)
    env = watermarks(cache, 3)
    status, doc, p = prune_json(daemon, cache, env=env)
    assert status == 0, p.stdout + p.stderr
    left = images(daemon)
    assert all(f"{h}:latest" in left for h in hot), p.stdout + p.stderr
    assert not any(f"{c}:latest" in left for c in cold), left
    assert percent_used(cache) < int(env["DIND_CACHE_PRUNE_LOW"])
    assert doc["use_after"] < int(env["DIND_CACHE_PRUNE_LOW"]) < doc["use_before"]
    removed = [i["tags"][0] for i in doc["images"] if i["action"] == "removed"]
    assert set(removed) == {f"{c}:latest" for c in cold}
    assert [s["step"] for s in doc["steps"]] == ["containers", "dangling", "build-cache", "images"]
    # The base every project builds on stays: the hot projects' images need it.
    assert "bb:latest" in left


def test_a_running_containers_image_is_never_removed(cache, daemon, projects):
    cold, hot = projects
    daemon.docker("run", "-d", "--name", "job", "--network", "none", f"{cold[0]}:latest", "sleep", "600")
    fill_to(cache, 88)
    status, doc, p = prune_json(daemon, cache, env=watermarks(cache, 3))
    left = images(daemon)
    assert f"{cold[0]}:latest" in left, p.stdout
    assert not any(f"{c}:latest" in left for c in cold[1:])
    assert daemon.docker("inspect", "-f", "{{.State.Running}}", "job").stdout.strip() == "true"
    # With one cold project held, a hot one had to go to reach LOW: the least recent.
    assert status == 0, p.stdout + p.stderr


def test_recently_used_images_are_kept_and_the_warning_says_why(cache, daemon, projects):
    fill_to(cache, 88)
    env = dict(watermarks(cache, 3), DIND_CACHE_PRUNE_MIN_AGE="1h")
    before = images(daemon)
    status, doc, p = prune_json(daemon, cache, env=env)
    assert status == 1, p.stdout + p.stderr
    assert doc["status"] == "WARNING"
    assert images(daemon) == before
    assert "used within MIN_AGE" in doc["summary"] and "7 used within" in doc["summary"]


def test_dry_run_lists_in_order_and_changes_nothing(cache, daemon, projects):
    cold, hot = projects
    fill_to(cache, 88)
    df = daemon.docker("system", "df", "-v").stdout
    st = os.statvfs(cache)
    p = prune(daemon, cache, "--dry-run", env=watermarks(cache, 3))
    assert p.returncode == 0, p.stdout + p.stderr
    would = [l.split()[3] for l in p.stdout.splitlines() if l.startswith("images: would remove")]
    assert would[:3] == [f"{c}:latest" for c in cold], p.stdout
    assert daemon.docker("system", "df", "-v").stdout == df
    assert os.statvfs(cache).f_bfree == st.f_bfree
    assert not (cache.parent / "prune-state.json").exists()
    assert "dry run: nothing was changed" in p.stdout


def test_under_high_only_the_cheap_tidy_runs(cache, daemon, projects):
    cold, hot = projects
    daemon.docker("create", "--name", "old", f"{cold[0]}:latest", "true")
    before = images(daemon)
    status, doc, p = prune_json(daemon, cache, env={"DIND_CACHE_PRUNE_MIN_AGE": "0s"})
    assert status == 0, p.stdout + p.stderr
    assert [s["step"] for s in doc["steps"]] == ["containers", "dangling"]
    assert doc["steps"][0]["count"] == 1
    assert images(daemon) == before
    assert daemon.docker("ps", "-aq").stdout.strip() == ""
    state = json.loads((cache.parent / "prune-state.json").read_text())
    assert state["version"] == 1 and len(state["images"]) >= 6


@pytest.mark.parametrize("var,value", [
    ("DIND_CACHE_PRUNE_LOW", "80"),      # LOW >= HIGH (80)
    ("DIND_CACHE_PRUNE_HIGH", "0"),
    ("DIND_CACHE_PRUNE_CRIT", "101"),
    ("DIND_CACHE_PRUNE_HIGH", "lots"),
    ("DIND_CACHE_PRUNE_MIN_AGE", "soon"),
])
def test_bad_watermarks_give_3_naming_the_variable(tmp_path, var, value):
    p = prune(None, tmp_path, env={var: value})
    assert p.returncode == 3, p.stderr
    assert var in p.stderr and p.stdout == ""


def test_daemon_down_gives_2(tmp_path):
    p = prune(None, tmp_path)
    assert p.returncode == 2
    assert "cannot reach the daemon" in p.stderr and "127.0.0.1" in p.stderr


def test_daemon_down_is_logged_to_the_journal(systemd):
    binary = systemd.path("/usr/local/sbin/dind-cache")
    binary.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(BINARY, binary)
    shutil.copy(ROOT / "units" / "dind-cache.catalog", systemd.path("/usr/lib/systemd/catalog/dind-cache.catalog"))
    systemd.run("journalctl", "--update-catalog")
    p = systemd.run("/usr/local/sbin/dind-cache", "prune", check=False,
                    env={"DOCKER_HOST": "tcp://127.0.0.1:1", "DIND_CACHE_DATA_DIR": "/var/tmp"})
    assert p.returncode == 2, p.stdout + p.stderr
    systemd.run("journalctl", "--sync")
    out = systemd.run("journalctl", "-o", "json", "SYSLOG_IDENTIFIER=dind-cache").stdout
    entries = [json.loads(l) for l in out.splitlines() if l.strip()]
    assert len(entries) == 1, entries
    e = entries[0]
    assert e["DIND_PRUNE_STEP"] == "daemon" and e["PRIORITY"] == "3"
    assert e["DIND_DOCKER_HOST"] == "tcp://127.0.0.1:1" and "cannot reach the daemon" in e["MESSAGE"]
    explained = systemd.run("journalctl", "-x", "--no-pager", "DIND_PRUNE_STEP=daemon").stdout
    assert "cannot talk to the Docker daemon" in explained
