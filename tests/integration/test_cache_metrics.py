"""The build cache's figures after real BuildKit builds on the pinned dockerd 28.5.2:
what `dind-cache check` writes to the metrics file and `--json`, and the reuse counter
it keeps in its state directory, which must grow by exactly the number of CACHED steps
the builds printed (`--progress=plain`), across a prune that evicts records."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run_tool, sh

FILE = "dind_cache.prom"
FIGURES = ("dind_cache_build_cache_records", "dind_cache_build_cache_bytes",
           "dind_cache_build_cache_reclaimable_bytes", "dind_cache_build_cache_reuses_total",
           "dind_cache_images", "dind_cache_image_bytes")


@pytest.fixture
def node(loops, dockerd_factory, tmp_path):
    """A pinned dockerd on a loop-mounted xfs, the checker's state and metrics
    directories, and bb:latest (busybox, imported: no registry)."""
    _, mnt = loops.mounted("xfs", size="1G")
    daemon = dockerd_factory(mnt, which="pinned")
    for d in ("state", "metrics"):
        (tmp_path / d).mkdir()
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
    (rootfs / "bin" / "sh").symlink_to("busybox")
    tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=True).stdout
    subprocess.run(["docker", "import", "-", "bb:latest"], input=tar, capture_output=True, check=True,
                   env=dict(os.environ, DOCKER_HOST=daemon.unix_host))
    daemon.mnt = mnt
    daemon.tmp = tmp_path
    return daemon


def check(node):
    p = run_tool("check", "--no-journal", "--json", env={
        "DOCKER_HOST": node.unix_host, "DIND_CACHE_DATA_DIR": str(node.mnt), "DIND_CACHE_TIMEOUT": "20s",
        "STATE_DIRECTORY": str(node.tmp / "state"), "DIND_CACHE_TEXTFILE_DIR": str(node.tmp / "metrics")},
        timeout=120)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    doc = json.loads(p.stdout)
    result = next(c for c in doc["checks"] if c["name"] == "build_cache")
    assert result["state"] == "OK", result
    return doc


def samples(node):
    out = {}
    for line in (node.tmp / "metrics" / FILE).read_text().splitlines():
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def build(node, project, **files):
    """One BuildKit build of PROJECT (its files written first); the CACHED steps it printed."""
    ctx = node.tmp / project
    ctx.mkdir(exist_ok=True)
    for name, text in files.items():
        (ctx / name).write_text(text)
    env = dict(os.environ, DOCKER_HOST=node.unix_host, DOCKER_BUILDKIT="1")
    p = subprocess.run(["/usr/bin/docker", "build", "--network", "none", "--progress=plain", "-t", project,
                        str(ctx)], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return len(re.findall(r"^#\d+ CACHED$", p.stderr + p.stdout, re.M))


DOCKERFILE = """FROM bb:latest
RUN echo deps > /deps && /bin/busybox dd if=/dev/zero of=/big bs=64k count=16 2>/dev/null
RUN --mount=type=cache,target=/cache echo warm >> /cache/log && cp /cache/log /log
WORKDIR /app
COPY app.txt /app/app.txt
RUN cat /app/app.txt > /app/built
"""


def test_reuses_grow_by_the_cached_steps_the_builds_printed_across_a_prune(node):
    first = check(node)
    assert first["cache"]["build_cache_reuses_total"] == 0
    assert first["cache"]["images"] == 1

    cached = build(node, "proj", Dockerfile=DOCKERFILE, **{"app.txt": "v1\n"})
    cached += build(node, "proj")                              # every step CACHED
    cached += build(node, "proj", **{"app.txt": "v2\n"})      # the steps before COPY
    assert cached >= 6, cached
    second = check(node)
    assert second["cache"]["build_cache_reuses_total"] == cached

    s = samples(node)
    for name in FIGURES:
        assert name in s, name
    assert s["dind_cache_build_cache_reuses_total"] == cached
    assert s["dind_cache_build_cache_records"] == second["cache"]["build_cache_records"] > 5
    assert s["dind_cache_images"] == 3      # bb, proj, and the proj of v1 it replaced (untagged)
    assert s["dind_cache_image_bytes"] > 1 << 20
    p = subprocess.run(["promtool", "check", "metrics"], stdin=open(node.tmp / "metrics" / FILE),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and not (p.stdout + p.stderr).strip(), p.stdout + p.stderr

    # status reads it back for people: the steps most often CACHED first.
    st = run_tool("status", "--state-dir", node.tmp / "state", "--data-dir", node.mnt, "--kubeconfig",
                  node.tmp / "none")
    assert re.search(rf"^Reuses: .* {cached} in all$", st.stdout, re.M), st.stdout
    steps = [line.split(None, 1) for line in st.stdout.split("Most reused steps:\n", 1)[1].splitlines()[:5]]
    # The build after the COPY changed had the three steps before it CACHED, and
    # the fully cached one all five; a long step is cut for the terminal.
    assert [n for n, _ in steps] == ["2", "2", "2", "1", "1"], steps
    assert "RUN echo deps > /deps && /bin/busybox dd if=/dev/zero of=..." in [d for _, d in steps[:3]]
    assert "WORKDIR /app" in [d for _, d in steps[:3]]
    assert sorted(d for _, d in steps[3:]) == ["COPY app.txt /app/app.txt", "RUN cat /app/app.txt > /app/built"]
    doc = json.loads(run_tool("status", "--json", "--state-dir", node.tmp / "state", "--kubeconfig",
                              node.tmp / "none").stdout)
    assert doc["cache"]["reuses_total"] == cached
    assert doc["cache"]["records"] == second["cache"]["build_cache_records"]
    assert doc["cache"]["top"][0]["reuses"] == 2

    # Evict every record: the counter keeps what they counted.
    sh("docker", "builder", "prune", "-af", env=dict(os.environ, DOCKER_HOST=node.unix_host))
    third = check(node)
    assert third["cache"]["build_cache_records"] < second["cache"]["build_cache_records"]
    assert third["cache"]["build_cache_reuses_total"] == cached

    more = build(node, "proj", **{"app.txt": "v3\n"})        # the cache is cold again
    more += build(node, "proj")
    assert more >= 4, more
    fourth = check(node)
    assert fourth["cache"]["build_cache_reuses_total"] == cached + more
    # A run with nothing new adds nothing.
    assert check(node)["cache"]["build_cache_reuses_total"] == cached + more


def test_without_a_state_directory_the_counter_is_left_out(node):
    build(node, "proj", Dockerfile="FROM bb:latest\nRUN echo one > /one\n")
    p = run_tool("check", "--no-journal", "--json", env={
        "DOCKER_HOST": node.unix_host, "DIND_CACHE_DATA_DIR": str(node.mnt),
        "DIND_CACHE_TEXTFILE_DIR": str(node.tmp / "metrics")}, timeout=120)
    doc = json.loads(p.stdout)
    assert "build_cache_reuses_total" not in doc["cache"]
    assert doc["cache"]["build_cache_records"] > 0
    s = samples(node)
    assert "dind_cache_build_cache_reuses_total" not in s and "dind_cache_build_cache_records" in s
    assert os.listdir(node.tmp / "state") == []


def test_a_daemon_older_than_api_1_42_is_not_asked_for_its_build_cache(loops, dockerd_factory, tmp_path):
    """20.10 (API 1.41) has no /system/df?type=: asked, it would size every image,
    container and volume on each run. The images are still counted."""
    _, mnt = loops.mounted("xfs", size="512M")
    daemon = dockerd_factory(mnt, which="system")
    (tmp_path / "state").mkdir()
    p = run_tool("check", "--no-journal", "--json", env={
        "DOCKER_HOST": daemon.unix_host, "DIND_CACHE_DATA_DIR": str(mnt), "STATE_DIRECTORY": str(tmp_path / "state"),
        "DIND_CACHE_TEXTFILE_DIR": ""}, timeout=120)
    doc = json.loads(p.stdout)
    result = next(c for c in doc["checks"] if c["name"] == "build_cache")
    assert result["state"] == "SKIP", result
    assert "API 1.41 is older than 1.42" in result["message"]
    assert "build_cache_records" not in doc["cache"] and doc["cache"]["images"] == 0
