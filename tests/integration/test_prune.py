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
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, run_tool, sh

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


def settle(mnt):
    """Waits until XFS has freed what was deleted (it does so in the background), so
    that the use measured now is the use the pruner will see."""
    sh("sync")
    last = None
    for _ in range(50):
        free = os.statvfs(mnt).f_bfree
        if free == last:
            return
        last = free
        time.sleep(0.2)


def fill_to(mnt, percent, name="filler"):
    """A plain file (not Docker's) that brings the filesystem at MNT to about PERCENT%."""
    settle(mnt)
    st = os.statvfs(mnt)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    size = used + st.f_bavail * st.f_frsize
    want = int(size * percent / 100) - used
    assert want > 0, f"already {used * 100 // size}%"
    path = Path(mnt) / name
    sh("fallocate", "-l", str(want), path)
    settle(mnt)
    return path


def images(daemon):
    out = daemon.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    return {i for i in out if not i.startswith("<none>")}


def system_df(daemon):
    """What `docker system df -v` shows, without its relative times (lists sorted: the
    daemon lists objects in no fixed order)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/system/df", timeout=30) as r:
        df = json.load(r)
    for key, value in df.items():
        if isinstance(value, list):
            df[key] = sorted(value, key=lambda o: o.get("Id") or o.get("ID") or o.get("Name") or "")
    return df


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
    """A project image: the base and a large dependency layer (one RUN: builds are the
    slow part of these tests)."""
    ctx = Path(tmp) / name
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM bb:latest\n"
        f"RUN /bin/busybox dd if=/dev/urandom of=/deps-{name} bs=1M count={DEP_MIB} 2>/dev/null"
        f" && echo {name} > /app\n")
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
def daemon(cache, dockerd_factory, request):
    """The default dockerd, or the one a test names: "pinned" (28.5.2, API 1.51) or
    "system" (20.10, API 1.41), with parametrize(..., indirect=True)."""
    return dockerd_factory(cache, which=getattr(request, "param", None))


BOTH_APIS = pytest.mark.parametrize("daemon", ["pinned", "system"], indirect=True)


@pytest.fixture
def projects(daemon, cache, tmp_path):
    """Two cold projects built first, two hot ones built too but used afterwards."""
    make_base(daemon, tmp_path)
    cold = [f"cold{i}" for i in range(2)]
    hot = [f"hot{i}" for i in range(2)]
    for name in cold + hot:
        make_project(daemon, tmp_path, name)
    time.sleep(1.1)  # event times are in seconds: uses must come later than the builds
    for name in hot:
        use(daemon, name)
    return cold, hot


def watermarks(cache, over):
    """HIGH just under the use now, LOW enough below it that both cold projects must go
    but no hot one: each project frees DEP_MIB MiB of the filesystem."""
    now = percent_used(cache)
    st = os.statvfs(cache)
    size_mib = (st.f_blocks - st.f_bfree + st.f_bavail) * st.f_frsize / 2**20
    one = DEP_MIB * 100 / size_mib
    low = int(now - 1.5 * one)
    return {"DIND_CACHE_PRUNE_HIGH": str(now - over), "DIND_CACHE_PRUNE_LOW": str(low),
            "DIND_CACHE_PRUNE_CRIT": "99", "DIND_CACHE_PRUNE_MIN_AGE": "0s",
            "DIND_CACHE_PRUNE_RESERVE": "0"}


@BOTH_APIS
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


@BOTH_APIS
def test_build_cache_is_trimmed_with_the_parameters_of_the_daemons_api(cache, daemon, tmp_path):
    make_base(daemon, tmp_path)
    for name in ("bk0", "bk1"):
        ctx = tmp_path / name
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(
            f"FROM bb:latest\nRUN /bin/busybox dd if=/dev/urandom of=/d bs=1M count={DEP_MIB}\n")
        subprocess.run(["/usr/bin/docker", "build", "--network", "none", "-q", str(ctx)], check=True, capture_output=True,
                       env=dict(os.environ, DOCKER_HOST=daemon.host, DOCKER_BUILDKIT="1"))
    fill_to(cache, 88)
    env = watermarks(cache, 3)
    env["DIND_CACHE_PRUNE_LOW"] = str(int(env["DIND_CACHE_PRUNE_HIGH"]) - 1)
    status, doc, p = prune_json(daemon, cache, env=env)
    assert status == 0, p.stdout + p.stderr
    step = next(s for s in doc["steps"] if s["step"] == "build-cache")
    assert step["count"] >= 2 and step["use_after"] < step["use_before"], step
    if doc["api_version"] >= "1.48":
        assert doc["api_version"] == "1.51"
        assert "min-free-space=" in step["params"] and "keep-storage" not in step["params"]
    else:
        assert doc["api_version"] == "1.41"
        assert step["params"].startswith("keep-storage=")
    assert "bb:latest" in images(daemon)   # the build cache went first: no image had to


def buildkit(daemon, ctx, *args):
    """A BuildKit build, as CI jobs run them: its output with --progress=plain."""
    return subprocess.run(["/usr/bin/docker", "build", "--network", "none", "--progress=plain", *args, str(ctx)],
                          check=True, capture_output=True, text=True,
                          env=dict(os.environ, DOCKER_HOST=daemon.host, DOCKER_BUILDKIT="1"))


@pytest.fixture
def buildkit_projects(daemon, tmp_path):
    """Two cold projects and two hot ones built with BuildKit (a dependency layer and an
    app layer), the hot ones used afterwards."""
    make_base(daemon, tmp_path)
    cold, hot = [f"cold{i}" for i in range(2)], [f"hot{i}" for i in range(2)]
    for name in cold + hot:
        ctx = tmp_path / name
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(
            f"FROM bb:latest\nRUN /bin/busybox dd if=/dev/urandom of=/deps-{name} bs=1M count={DEP_MIB}\n"
            "COPY app.txt /app.txt\n")
        (ctx / "app.txt").write_text(f"{name} 1\n")
        buildkit(daemon, ctx, "-t", f"{name}:latest")
    time.sleep(1.1)  # event times are in seconds: uses must come later than the builds
    for name in hot:
        use(daemon, name)
    return cold, hot


def assert_dependency_layer_cached(daemon, tmp_path, name):
    """The project's next build (its app changed) finds its dependency layer cached."""
    (tmp_path / name / "app.txt").write_text(f"{name} 2\n")
    out = buildkit(daemon, tmp_path / name, "-t", f"{name}:latest").stderr
    dep = re.search(r"^#(\d+) \[2/3\] RUN ", out, re.M).group(1)
    assert re.search(rf"^#{dep} CACHED$", out, re.M), out


@BOTH_APIS
def test_buildkit_projects_hot_ones_stay_warm_cold_ones_go_in_one_run(cache, daemon, tmp_path, buildkit_projects):
    """BuildKit's cache records and the images built from them share layers: BuildKit
    trims no record an image holds, and removing an image frees nothing while its
    records stay. One run still gets under LOW by removing the cold projects only, and
    the hot projects' next builds find their dependency layer cached."""
    cold, hot = buildkit_projects
    fill_to(cache, 88)
    env = watermarks(cache, 3)
    status, doc, p = prune_json(daemon, cache, env=env)
    assert status == 0, p.stdout + p.stderr
    assert doc["use_after"] < int(env["DIND_CACHE_PRUNE_LOW"]) < doc["use_before"], p.stdout
    left = images(daemon)
    assert all(f"{h}:latest" in left for h in hot), p.stdout + p.stderr
    assert not any(f"{c}:latest" in left for c in cold), left
    step = next(s for s in doc["steps"] if s["step"] == "images")
    assert step["count"] == 2 and "build cache records they had held" in step.get("params", ""), step
    for name in hot:
        assert_dependency_layer_cached(daemon, tmp_path, name)


def test_above_crit_the_hot_projects_keep_their_build_cache(cache, daemon, tmp_path, buildkit_projects):
    """Above CRIT everything was used within MIN_AGE: the grace ends, the cold projects
    go first, and BuildKit's `all` (which also drops the records the images kept still
    hold) is never needed: the hot projects' builds stay warm."""
    cold, hot = buildkit_projects
    fill_to(cache, 95)
    env = dict(watermarks(cache, 3), DIND_CACHE_PRUNE_MIN_AGE="1h")
    env["DIND_CACHE_PRUNE_CRIT"] = str(int(env["DIND_CACHE_PRUNE_HIGH"]) + 1)
    status, doc, p = prune_json(daemon, cache, env=env)
    assert status == 0, p.stdout + p.stderr
    assert doc["use_after"] < int(env["DIND_CACHE_PRUNE_LOW"]), p.stdout
    left = images(daemon)
    assert all(f"{h}:latest" in left for h in hot), p.stdout + p.stderr
    assert not any(f"{c}:latest" in left for c in cold), left
    for name in hot:
        assert_dependency_layer_cached(daemon, tmp_path, name)
    assert "build-cache-all" not in [s["step"] for s in doc["steps"]], doc["steps"]


def test_a_running_containers_image_is_never_removed(cache, daemon, projects):
    cold, hot = projects
    daemon.docker("run", "-d", "--name", "job", "--network", "none", f"{cold[0]}:latest", "/bin/busybox", "sleep", "600")
    fill_to(cache, 88)
    status, doc, p = prune_json(daemon, cache, env=watermarks(cache, 3))
    left = images(daemon)
    assert f"{cold[0]}:latest" in left, p.stdout
    assert not any(f"{c}:latest" in left for c in cold[1:])
    assert daemon.docker("inspect", "-f", "{{.State.Running}}", "job").stdout.strip() == "true"
    # With one cold project held, one hot project had to go to reach LOW (both were
    # used in the same second: either may be the least recent).
    assert status == 0, p.stdout + p.stderr
    assert sum(f"{h}:latest" in left for h in hot) == 1, p.stdout
    daemon.docker("rm", "-f", "job")


def test_a_stopped_containers_image_is_never_removed(cache, daemon, tmp_path):
    """A stopped container holds its image as a running one does. Its image is the least
    recently used one here, and above CRIT nothing is kept for its recent use: the
    container alone holds it. (A stopped container older than MIN_AGE goes in the cheap
    step, and one within it has just used its image: below CRIT the grace holds that
    image too.) The image has a second tag: the daemon refuses to remove an image a
    container uses, but it untags one of several names without a word."""
    make_base(daemon, tmp_path)
    make_project(daemon, tmp_path, "held")
    daemon.docker("tag", "held:latest", "held:v2")
    daemon.docker("create", "--name", "stopped-job", "held:latest", "true")
    time.sleep(1.1)  # event times are in seconds: the others are used later
    for name in ("cold0", "hot0"):
        make_project(daemon, tmp_path, name)
    time.sleep(1.1)
    use(daemon, "hot0")
    fill_to(cache, 95)
    env = dict(watermarks(cache, 3), DIND_CACHE_PRUNE_MIN_AGE="1h")
    env["DIND_CACHE_PRUNE_CRIT"] = str(int(env["DIND_CACHE_PRUNE_HIGH"]) + 1)
    status, doc, p = prune_json(daemon, cache, env=env)
    assert status in (0, 1), p.stdout + p.stderr
    left = images(daemon)
    assert {"held:latest", "held:v2", "bb:latest"} <= left, p.stdout   # bb: the base of an image in use
    assert not [i for i in doc["images"] if set(i["tags"]) & {"held:latest", "held:v2"}], doc["images"]
    assert "cold0:latest" not in left, doc["images"]                    # the next least recently used went
    assert daemon.docker("inspect", "-f", "{{.State.Status}}", "stopped-job").stdout.strip() == "created"


def test_recently_used_images_are_kept_and_the_warning_says_why(cache, daemon, projects):
    fill_to(cache, 88)
    env = dict(watermarks(cache, 3), DIND_CACHE_PRUNE_MIN_AGE="1h")
    before = images(daemon)
    status, doc, p = prune_json(daemon, cache, env=env)
    assert status == 1, p.stdout + p.stderr
    assert doc["status"] == "WARNING"
    assert images(daemon) == before
    assert "used within MIN_AGE" in doc["summary"] and "5 used within" in doc["summary"]


def test_dry_run_lists_in_order_and_changes_nothing(cache, daemon, projects):
    cold, hot = projects
    fill_to(cache, 88)
    df = system_df(daemon)
    st = os.statvfs(cache)
    p = prune(daemon, cache, "--dry-run", env=watermarks(cache, 3))
    assert p.returncode == 0, p.stdout + p.stderr
    would = [l.split()[3] for l in p.stdout.splitlines() if l.startswith("images: would remove") and "(sha256:" in l]
    # Least recently used first: both cold projects (built in the same second, either
    # may come first), and no hot one was needed.
    assert sorted(would) == [f"{c}:latest" for c in cold], p.stdout
    assert system_df(daemon) == df
    assert os.statvfs(cache).f_bfree == st.f_bfree
    assert not (cache.parent / "prune-state.json").exists()
    assert "dry run: nothing was changed" in p.stdout


def test_under_high_only_the_cheap_tidy_runs(cache, daemon, tmp_path):
    make_base(daemon, tmp_path)
    daemon.docker("create", "--name", "old", "bb:latest", "true")
    before = images(daemon)
    status, doc, p = prune_json(daemon, cache, env={"DIND_CACHE_PRUNE_MIN_AGE": "0s"})
    assert status == 0, p.stdout + p.stderr
    assert [s["step"] for s in doc["steps"]] == ["containers", "dangling"]
    assert doc["steps"][0]["count"] == 1
    assert images(daemon) == before
    assert daemon.docker("ps", "-aq").stdout.strip() == ""
    state = json.loads((cache.parent / "prune-state.json").read_text())
    assert state["version"] == 1 and list(state["images"]) == [daemon.docker("image", "inspect", "-f", "{{.Id}}", "bb").stdout.strip()]


@pytest.mark.parametrize("var,value", [
    ("DIND_CACHE_PRUNE_LOW", "80"),      # LOW >= HIGH (80)
    ("DIND_CACHE_PRUNE_HIGH", "0"),
    ("DIND_CACHE_PRUNE_CRIT", "101"),
    ("DIND_CACHE_PRUNE_HIGH", "lots"),
    ("DIND_CACHE_PRUNE_MIN_AGE", "soon"),
    ("DIND_CACHE_DATA_DIR", "/mnt/k8s/docker\n[OK] forged"),   # reaches messages and the journal
    ("DOCKER_HOST", "tcp://[1]:2375"),                       # not an IPv6 address
    ("DOCKER_HOST", "tcp://" + "h" * 300 + ":2375"),          # longer than a host name can be
])
def test_bad_watermarks_give_3_naming_the_variable(tmp_path, var, value):
    p = prune(None, tmp_path, env={var: value})
    assert p.returncode == 3, p.stderr
    assert var in p.stderr and p.stdout == ""
    assert "\n[OK]" not in p.stderr  # a value never forges a line


def test_daemon_down_gives_2(tmp_path):
    p = prune(None, tmp_path)
    assert p.returncode == 2
    assert "cannot reach the daemon" in p.stderr and "127.0.0.1" in p.stderr


def test_daemon_down_is_logged_to_the_journal(systemd):
    binary = systemd.install_binary()
    shutil.copy(ROOT / "units" / "dind-cache.catalog", systemd.path("/usr/lib/systemd/catalog/dind-cache.catalog"))
    systemd.run("journalctl", "--update-catalog")
    p = systemd.run(binary, "prune", check=False,
                    env={"DOCKER_HOST": "tcp://127.0.0.1:1", "DIND_CACHE_DATA_DIR": "/var/tmp"})
    assert p.returncode == 2, p.stdout + p.stderr
    out = systemd.journal("-o", "json", "SYSLOG_IDENTIFIER=dind-cache")
    entries = [json.loads(l) for l in out.splitlines() if l.strip()]
    assert len(entries) == 1, entries
    e = entries[0]
    assert e["DIND_PRUNE_STEP"] == "daemon" and e["PRIORITY"] == "3"
    assert e["DIND_DOCKER_HOST"] == "tcp://127.0.0.1:1" and "cannot reach the daemon" in e["MESSAGE"]
    explained = systemd.run("journalctl", "-x", "--no-pager", "DIND_PRUNE_STEP=daemon").stdout
    assert "cannot talk to the Docker daemon" in explained
