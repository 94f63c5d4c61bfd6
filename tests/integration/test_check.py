"""`dind-cache check` as the timer runs it: a real dockerd whose --data-root is the
mount point of a loop-mounted filesystem (as in the real deployment), and the disk
broken in the ways operators meet: full, out of inodes, read-only, not mounted, hung.

Exit status is the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import BINARY, ROOT, make_pki, run_tool, sh

# Short per-call timeouts keep the failure cases fast; the deadline stays the default.
FAST = {"DIND_CACHE_TIMEOUT": "2s"}
# DOCKER_HOST -> the checker's TLS variables for the daemons that serve mutual TLS.
TLS_ENV = {}


def check(data_dir, docker_host=None, *args, env=None, timeout=60):
    """Runs `dind-cache check --no-journal ARGS` with settings in the environment only
    (with the TLS variables of a mutual-TLS daemon at DOCKER_HOST, as install writes them)."""
    full = dict(FAST, DIND_CACHE_DATA_DIR=str(data_dir), DOCKER_HOST=docker_host or "")
    full.update(TLS_ENV.get(docker_host, {}))
    full.update(env or {})
    return run_tool("check", "--no-journal", *args, env=full, timeout=timeout)


def check_json(data_dir, docker_host=None, env=None, timeout=60):
    """Runs check --json; returns (exit status, {name: result}, whole document)."""
    p = check(data_dir, docker_host, "--json", env=env, timeout=timeout)
    doc = json.loads(p.stdout)
    return p.returncode, {c["name"]: c for c in doc["checks"]}, doc


def fill_to(mnt, percent, name="filler"):
    """Allocates a file so that the filesystem at MNT is about PERCENT% used (as df counts)."""
    st = os.statvfs(mnt)
    total = st.f_blocks * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    want = int((used + avail) * percent / 100) - used
    assert want > 0
    path = Path(mnt) / name
    sh("fallocate", "-l", str(want), path)
    return path


@pytest.fixture
def xfs_cache(loops):
    """A fresh xfs (ftype=1) mounted at the data directory."""
    _, mnt = loops.mounted("xfs", size="512M")
    return mnt


@pytest.fixture
def daemon(xfs_cache, dockerd_factory, tmp_path):
    """A real dockerd on overlay2 whose data root is the xfs mount point itself, serving
    mutual TLS (the default install) with certificates of a CA made for the test."""
    # Its own loopback address: 127.0.0.1 may serve other tests' daemons.
    ip = "127.0.0.45"
    d = dockerd_factory(xfs_cache, tls_dir=make_pki(tmp_path / "pki", server_names=("localhost", ip)), ip=ip)
    TLS_ENV[d.host] = d.client_env
    return d


def test_healthy_cache_and_daemon_is_ok_over_tcp(xfs_cache, daemon):
    status, results, doc = check_json(xfs_cache, daemon.host)
    assert status == 0, doc["summary"]
    assert doc["status"] == "OK"
    for name in ("mount", "fs_type", "read_only", "d_type", "write_probe", "disk_usage",
                 "inode_usage", "fs_errors", "daemon", "storage_driver", "daemon_version",
                 "tls", "cert_ca", "cert_server", "cert_client", "cert_checker"):
        assert results[name]["state"] == "OK", results[name]
    # No probe of a plaintext port: it could not fail from the node (README, "check").
    assert "plaintext_port" not in results
    assert results["storage_driver"]["value"] == "overlay2"
    assert "on xfs" in results["storage_driver"]["message"]
    assert re.fullmatch(r"[0-9.]+m?s", results["daemon"]["value"])        # round trip
    assert re.fullmatch(r"1\.\d+", results["daemon_version"]["value"])      # API version
    assert daemon.info()["ServerVersion"] in results["daemon_version"]["message"]
    assert re.fullmatch(r"[0-9a-f]{32}", doc["run_id"])


def test_healthy_over_unix_socket_prints_the_summary_last(xfs_cache, daemon):
    p = check(xfs_cache, daemon.unix_host)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[-1].startswith("dind-cache check OK: ")
    assert any(l.startswith("[OK]") and "storage_driver: overlay2" in l for l in lines)


def test_stopped_daemon_is_critical(xfs_cache, daemon):
    # Only the daemon: the fixture's stop() also unmounts what is under its data root.
    daemon.proc.terminate()
    daemon.proc.wait(timeout=30)
    status, results, doc = check_json(xfs_cache, daemon.host)
    assert status == 2
    assert results["daemon"]["state"] == "FAIL"
    assert doc["summary"].startswith("dind-cache check CRITICAL: daemon at " + daemon.host)
    # the disk is still checked
    assert results["disk_usage"]["state"] == "OK"

    status, results, _ = check_json(xfs_cache, daemon.unix_host)
    assert status == 2 and results["daemon"]["state"] == "FAIL"


def test_listener_that_never_answers_is_critical_within_the_deadline(xfs_cache):
    # The kernel accepts connections into the backlog; nothing ever answers.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        host = "tcp://127.0.0.1:%d" % s.getsockname()[1]
        # The subprocess timeout is the assertion that the run returns at all.
        status, results, _ = check_json(xfs_cache, host, env={"DIND_CACHE_TIMEOUT": "1s",
                                                              "DIND_CACHE_DEADLINE": "10s"},
                                        timeout=30)
    assert status == 2
    assert results["daemon"]["state"] == "FAIL"
    assert "no answer within 1s" in results["daemon"]["message"]


def test_daemon_on_vfs_is_critical(xfs_cache, dockerd_factory):
    d = dockerd_factory(xfs_cache, storage_driver="vfs")
    status, results, _ = check_json(xfs_cache, d.host)
    assert status == 2
    assert results["storage_driver"]["state"] == "FAIL"
    assert results["storage_driver"]["value"] == "vfs"
    assert results["daemon"]["state"] == "OK"


def test_daemon_not_on_the_cache_disk_is_critical(xfs_cache, tmp_path, dockerd_factory):
    # The pod started before the disk was mounted: its data root is on another filesystem.
    elsewhere = tmp_path / "root-fs-docker"
    d = dockerd_factory(elsewhere)
    status, results, _ = check_json(xfs_cache, d.host)
    backing = d.info()["DriverStatus"][0][1]
    if backing == "xfs":
        pytest.skip("the root filesystem is xfs too: cannot tell the two apart by type")
    assert status == 2
    assert results["storage_driver"]["state"] == "FAIL"
    assert "not by the cache disk's xfs" in results["storage_driver"]["message"]


def test_filling_disk_warns_then_goes_critical(xfs_cache, daemon):
    env = {"DIND_CACHE_DISK_WARN": "50", "DIND_CACHE_DISK_CRIT": "70"}
    status, results, _ = check_json(xfs_cache, daemon.host, env=env)
    assert status == 0, results["disk_usage"]

    fill_to(xfs_cache, 60, "first")
    status, results, doc = check_json(xfs_cache, daemon.host, env=env)
    assert status == 1, doc["summary"]
    usage = results["disk_usage"]
    assert usage["state"] == "WARN" and usage["threshold"] == "50%"
    assert 55 <= int(usage["value"].rstrip("%")) <= 65
    assert re.search(r"disk \S+ \d+% used \(warn 50%\)", usage["message"])

    fill_to(xfs_cache, 80, "second")
    status, results, doc = check_json(xfs_cache, daemon.host, env=env)
    assert status == 2, doc["summary"]
    assert results["disk_usage"]["state"] == "FAIL"
    assert results["disk_usage"]["threshold"] == "70%"
    assert "% used (crit 70%)" in doc["summary"]


def test_exhausted_inodes_on_small_ext4_are_not_ok(loops):
    _, mnt = loops.mounted("ext4", size="32M", mkfs_args=("-N", "64"))
    made = 0
    with pytest.raises(OSError):
        for made in range(100000):
            (mnt / f"f{made}").touch()
    status, results, doc = check_json(mnt)
    assert status != 0
    assert results["inode_usage"]["state"] == "FAIL"
    assert results["inode_usage"]["value"] == "100%"
    # the write probe sees it too: nothing can be created
    assert results["write_probe"]["state"] == "FAIL"


def test_read_only_remount_is_critical(xfs_cache):
    sh("mount", "-o", "remount,ro", xfs_cache)
    status, results, doc = check_json(xfs_cache)
    assert status == 2
    assert results["read_only"]["state"] == "FAIL"
    assert "read-only" in doc["summary"]


def test_unmounted_data_dir_is_critical(tmp_path):
    bare = tmp_path / "mnt-k8s-docker"
    bare.mkdir()
    status, results, doc = check_json(bare)
    assert status == 2
    assert results["mount"]["state"] == "FAIL"
    assert "pods would write the cache onto" in results["mount"]["message"]


def test_plain_directory_on_another_filesystem_is_critical(loops):
    # The disk is not mounted, and the data directory is an ordinary directory of
    # some other filesystem (not the root one): the cache would land there.
    _, other = loops.mounted("ext4", size="64M")
    data_dir = other / "docker"
    data_dir.mkdir()
    status, results, doc = check_json(data_dir)
    assert status == 2
    assert results["mount"]["state"] == "FAIL", results["mount"]
    assert (f"'{data_dir}' is not a mount point: pods would write the cache onto the filesystem mounted at "
            f"'{other}'") in results["mount"]["message"]
    assert "CRITICAL" in doc["summary"]


def test_a_bind_of_the_data_directory_onto_itself_changes_nothing(loops):
    # What a unit's ReadWritePaths= does in its sandbox, made from a shell: the check
    # looks at the mount itself and says what it says without the bind.
    _, other = loops.mounted("ext4", size="64M")
    data_dir = other / "docker"
    data_dir.mkdir()
    _, _, before = check_json(data_dir)
    loops.mount(data_dir, data_dir, options="bind")
    status, results, after = check_json(data_dir)
    assert status == 2
    assert results["mount"]["state"] == "FAIL"
    assert [c for c in after["checks"] if c["name"] == "mount"] == \
        [c for c in before["checks"] if c["name"] == "mount"]


def test_a_bind_mount_of_another_directory_is_not_the_cache_disk(loops, xfs_cache):
    # Something is mounted there, but it shows a directory of a filesystem, not one
    # of its own: not the cache disk.
    (xfs_cache / "elsewhere").mkdir()
    data_dir = loops.mount(xfs_cache / "elsewhere", xfs_cache.parent / "bound", options="bind")
    status, results, _ = check_json(data_dir)
    assert status == 2
    assert results["mount"]["state"] == "FAIL", results["mount"]
    assert (f"'{data_dir}' is not mounted: only a bind mount of the directory '/elsewhere' of "
            in results["mount"]["message"]), results["mount"]
    # preflight says so too, as it judges the dedicated filesystem.
    p = run_tool("preflight", "--data-dir", data_dir)
    assert "[WARN]    dedicated_fs: " in p.stdout and "is a bind mount of the directory /elsewhere" in p.stdout, \
        p.stdout


def test_a_btrfs_subvolume_mounted_there_is_a_mount_and_a_subdirectory_of_it_is_not(loops, tmp_path):
    # A subvolume's mount has the subvolume as its root ("/@cache"), not "/": it is
    # a filesystem of its own all the same. A directory inside it is not.
    dev, top = loops.mounted("btrfs", size="256M")
    sh("btrfs", "-q", "subvolume", "create", top / "@cache")
    data_dir = loops.mount(dev, tmp_path / "cache", options="subvol=@cache")
    status, results, _ = check_json(data_dir)
    assert results["mount"]["state"] == "OK", results["mount"]
    assert results["fs_type"]["state"] == "WARN"          # btrfs: works, not ideal
    (data_dir / "docker").mkdir()
    status, results, _ = check_json(data_dir / "docker")
    assert status == 2
    assert results["mount"]["state"] == "FAIL", results["mount"]


def test_missing_data_dir_is_critical(tmp_path):
    status, results, _ = check_json(tmp_path / "absent")
    assert status == 2
    assert results["data_dir"]["state"] == "FAIL"


def test_frozen_disk_never_hangs_the_run(xfs_cache, daemon):
    sh("fsfreeze", "-f", xfs_cache)
    try:
        status, results, _ = check_json(xfs_cache, daemon.host, env={"DIND_CACHE_TIMEOUT": "1s"},
                                        timeout=30)
    finally:
        sh("fsfreeze", "-u", xfs_cache)
    assert status == 2
    assert results["write_probe"]["state"] == "FAIL"
    assert "did not finish" in results["write_probe"]["message"]


@pytest.mark.parametrize("env", [
    {"DIND_CACHE_DISK_WARN": "95"},           # not below the default crit of 90
    {"DIND_CACHE_DISK_CRIT": "abc"},
    {"DIND_CACHE_INODE_WARN": "0"},
    {"DIND_CACHE_TIMEOUT": "soon"},
    {"DOCKER_HOST": "ssh://node1"},
])
def test_bad_setting_is_unknown_and_names_the_variable(xfs_cache, env):
    p = check(xfs_cache, env=env)
    assert p.returncode == 3, p.stdout
    variable = next(iter(env))
    last = p.stdout.strip().splitlines()[-1]
    assert last.startswith("dind-cache check UNKNOWN: ") and variable in last


def test_unknown_option_is_unknown():
    p = run_tool("check", "--frobnicate")
    assert p.returncode == 3
    assert len(p.stderr.strip().splitlines()) == 1 and "--frobnicate" in p.stderr


def test_no_docker_host_is_a_warning_naming_the_env_file(xfs_cache):
    status, results, _ = check_json(xfs_cache)
    assert status == 1
    assert results["daemon"]["state"] == "WARN"
    assert "/etc/dind-cache/dind-cache.env" in results["daemon"]["message"]


def test_results_reach_the_journal_with_their_fields(systemd):
    """A real journald (in the test systemd): one entry per result and a summary, with
    the fields `status` reads back, and the catalog explains every MESSAGE_ID."""
    binary = systemd.install_binary()
    catalog = systemd.path("/usr/lib/systemd/catalog/dind-cache.catalog")
    shutil.copy(ROOT / "units" / "dind-cache.catalog", catalog)
    systemd.run("journalctl", "--update-catalog")

    p = systemd.run(binary, "check", check=False,
                    env={"DIND_CACHE_DATA_DIR": "/var/tmp", "DOCKER_HOST": "",
                         "DIND_CACHE_DISK_WARN": "1", "DIND_CACHE_DISK_CRIT": "2"})
    assert p.returncode == 2, p.stdout + p.stderr
    out = systemd.journal("-o", "json", "SYSLOG_IDENTIFIER=dind-cache")
    entries = [json.loads(l) for l in out.splitlines() if l.strip()]
    summary = [e for e in entries if e.get("DIND_CHECK") == "summary"]
    assert len(summary) == 1
    s = summary[0]
    assert s["DIND_STATE"] == "CRITICAL" and s["PRIORITY"] == "2"
    assert s["MESSAGE"] == p.stdout.strip().splitlines()[-1]
    run_id = s["DIND_RUN_ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", run_id)

    usage = next(e for e in entries if e.get("DIND_CHECK") == "disk_usage")
    assert usage["DIND_STATE"] == "CRITICAL"
    assert usage["DIND_THRESHOLD"] == "2%" and usage["DIND_VALUE"].endswith("%")
    assert usage["DIND_DATA_DIR"] == "/var/tmp" and usage["DIND_RUN_ID"] == run_id
    assert usage["MESSAGE"].startswith("disk /var/tmp ") and "(crit 2%)" in usage["MESSAGE"]

    checks = [e for e in entries if e.get("DIND_CHECK") != "summary"]
    assert len(checks) == len(p.stdout.strip().splitlines()) - 1
    assert len({e["MESSAGE_ID"] for e in entries}) >= 5      # one id per kind of finding
    assert all(re.fullmatch(r"[0-9a-f]{32}", e["MESSAGE_ID"]) for e in entries)

    explained = systemd.run("journalctl", "-x", "--no-pager", "DIND_CHECK=disk_usage").stdout
    assert "The dind-cache disk is filling up" in explained


def probe_leftovers(data_dir):
    return sorted(p.name for p in Path(data_dir).iterdir() if p.name.startswith(".dind-cache-probe-"))


def test_probe_killed_at_its_deadline_leaves_nothing_in_the_data_dir(xfs_cache):
    # strace stops the probe (SIGSTOP) right after the d_type probe made its scratch
    # directory: it is still there when the deadline (1 s) kills the probe.
    p = subprocess.run(
        ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=mkdir",
         "-e", "inject=mkdir:signal=SIGSTOP",
         str(BINARY), "check", "--no-journal", "--json"],
        env=dict(os.environ, DIND_CACHE_DATA_DIR=str(xfs_cache), DOCKER_HOST="", DIND_CACHE_TIMEOUT="1s"),
        text=True, capture_output=True, timeout=60)
    results = {c["name"]: c for c in json.loads(p.stdout)["checks"]}
    assert p.returncode == 2, p.stdout + p.stderr
    assert "did not finish" in results["d_type"]["message"], results["d_type"]
    assert probe_leftovers(xfs_cache) == []


def test_probe_leftover_of_a_dead_process_is_removed_by_the_next_run(xfs_cache):
    # What a probe stuck on a hung disk leaves when it finally dies: a scratch
    # directory named for a process that is gone.
    child = subprocess.Popen(["true"])
    child.wait()
    stale = Path(xfs_cache) / f".dind-cache-probe-{child.pid}-AbC123"
    (stale / "dir").mkdir(parents=True)
    (stale / "file").write_text("x")
    # A live process's scratch directory is its own: left alone.
    live = Path(xfs_cache) / f".dind-cache-probe-{os.getpid()}-XyZ789"
    live.mkdir()
    status, results, _ = check_json(xfs_cache)
    assert results["write_probe"]["state"] == "OK", results["write_probe"]
    assert probe_leftovers(xfs_cache) == [live.name]
