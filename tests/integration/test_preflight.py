"""dind-cache preflight on real filesystems: what a user sees for each kind of disk.

Each filesystem is made on a loop device by the `loops` fixture and mounted where the
data directory would be; preflight must judge it and change nothing."""

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import BINARY, file_hash, sh

LINE = re.compile(r"^\[(OK|SKIP|WARN|UNKNOWN|FAIL)\]\s+(\w+): (.*)$")


def checks(stdout):
    """{name: (state, text after the name)} from the text report."""
    out = {}
    for line in stdout.splitlines():
        m = LINE.match(line)
        assert m, f"not a report line: {line!r}"
        out[m.group(2)] = (m.group(1), m.group(3))
    return out


def preflight(dind_cache, data_dir, *args):
    res = dind_cache("preflight", "--data-dir", data_dir, *args)
    return res, checks(res.stdout)


def entries(path):
    return sorted(os.listdir(path))


def test_xfs_with_ftype_passes(dind_cache, loops):
    dev, mnt = loops.mounted("xfs", mkfs_args=("-n", "ftype=1"))
    res, c = preflight(dind_cache, mnt)
    assert res.returncode == 0, res.stdout + res.stderr
    assert c["fs_type"] == ("OK", f"xfs on {dev} mounted at {mnt}")
    assert c["d_type"][0] == "OK"
    assert c["overlay_mount"][0] == "OK"
    assert c["fs_features"][0] == "OK" and c["fs_features"][1].startswith(f"xfs V5 with ftype=1 on {dev}")
    assert c["read_only"][0] == "OK"
    assert c["dedicated_fs"] == ("OK", f"{mnt} is its own filesystem ({dev})")
    # Nothing on this test machine mounts the loop device at boot.
    assert c["boot_mount"][0] == "WARN"
    assert "after a reboot the pod would write into the bare directory" in c["boot_mount"][1]
    assert entries(mnt) == [], "the probes left something behind"


def test_ext4_passes_with_the_filetype_feature(dind_cache, loops):
    dev, mnt = loops.mounted("ext4")
    res, c = preflight(dind_cache, mnt)
    assert res.returncode == 0, res.stdout + res.stderr
    assert c["fs_type"][0] == "OK" and c["fs_type"][1].startswith("ext4 on ")
    assert c["fs_features"][0] == "OK" and c["fs_features"][1].startswith(f"ext4 with the filetype feature on {dev}")
    assert c["d_type"][0] == "OK" and c["overlay_mount"][0] == "OK"
    assert entries(mnt) == ["lost+found"]


def test_ext4_without_filetype_fails_d_type_and_its_remedy_works(dind_cache, loops):
    dev, mnt = loops.mounted("ext4", mkfs_args=("-O", "^filetype"))
    res, c = preflight(dind_cache, mnt)
    assert res.returncode == 1
    remedy = f"while unmounted: tune2fs -O filetype {dev} && e2fsck -f {dev}, or reformat with mkfs.ext4"
    assert c["d_type"] == ("FAIL", "ext4 returns DT_UNKNOWN in directory entries: overlay2 needs d_type -> " + remedy)
    assert c["fs_features"][0] == "FAIL"
    assert c["fs_features"][1].startswith(f"ext4 without the filetype feature on {dev}")

    sh("umount", mnt)
    sh("tune2fs", "-O", "filetype", dev)
    sh("e2fsck", "-f", "-y", dev, check=False)  # 1: "errors corrected" is expected
    sh("mount", dev, mnt)
    res, c = preflight(dind_cache, mnt)
    assert res.returncode == 0, res.stdout
    assert c["d_type"][0] == "OK" and c["fs_features"][0] == "OK"


def test_btrfs_warns_but_passes(dind_cache, loops):
    _, mnt = loops.mounted("btrfs")
    res, c = preflight(dind_cache, mnt)
    assert res.returncode == 0, res.stdout + res.stderr
    state, text = c["fs_type"]
    assert state == "WARN" and text.startswith("btrfs on ")
    assert "Docker would rather use its btrfs driver" in text
    assert "-> prefer xfs (ftype=1) or ext4" in text
    assert c["fs_features"] == ("SKIP", "no superblock check for btrfs")
    assert c["free_inodes"][0] == "OK"


def test_tmpfs_fails_as_not_persistent(dind_cache, loops, tmp_path):
    mnt = loops.mount("tmpfs", tmp_path / "tmpfs", fstype="tmpfs", options="size=64m")
    res, c = preflight(dind_cache, mnt)
    assert res.returncode == 1
    state, text = c["fs_type"]
    assert state == "FAIL" and text.startswith(f"tmpfs on tmpfs mounted at {mnt}")
    assert "not persistent" in text
    assert "-> put the data directory on an xfs (ftype=1) or ext4 filesystem" in text
    # The other probes still ran and say what they found.
    assert c["d_type"][0] == "OK"
    assert "preflight failed" in res.stderr


def test_directory_on_overlayfs_fails(dind_cache, loops, tmp_path):
    for d in ("lower", "upper", "work"):
        (tmp_path / d).mkdir()
    merged = loops.mount("overlay", tmp_path / "merged", fstype="overlay",
                         options=f"lowerdir={tmp_path}/lower,upperdir={tmp_path}/upper,workdir={tmp_path}/work")
    res, c = preflight(dind_cache, merged)
    assert res.returncode == 1
    assert c["fs_type"][0] == "FAIL"
    assert c["fs_type"][1].startswith(f"overlay on overlay mounted at {merged}")
    assert "overlay2 cannot use an overlayfs as its upper layer" in c["fs_type"][1]
    assert c["overlay_mount"][0] == "FAIL"
    assert entries(merged) == []


def vfat_supported():
    return any(line.split()[-1] == "vfat" for line in Path("/proc/filesystems").read_text().splitlines())


@pytest.mark.skipif(not vfat_supported(), reason="this kernel has no vfat (and no module to load)")
def test_vfat_fails(dind_cache, loops):
    _, mnt = loops.mounted("vfat", size="64M")
    res, c = preflight(dind_cache, mnt)
    assert res.returncode == 1
    assert c["fs_type"][0] == "FAIL" and c["fs_type"][1].startswith("vfat on ")
    assert "FAT has no owners, permissions" in c["fs_type"][1]


def test_read_only_xfs_fails(dind_cache, loops):
    _, mnt = loops.mounted("xfs", options="ro")
    res, c = preflight(dind_cache, mnt)
    assert res.returncode == 1
    assert c["read_only"][0] == "FAIL"
    assert c["read_only"][1].startswith(f"{mnt} is mounted read-only -> ")
    assert c["d_type"] == ("SKIP", "the filesystem is read-only: nothing can be written to probe it")
    assert c["overlay_mount"][0] == "SKIP"
    assert c["fs_features"][0] == "OK"


def test_filesystem_smaller_than_capacity_fails(dind_cache, loops):
    _, mnt = loops.mounted("xfs", size="512M")
    res, c = preflight(dind_cache, mnt, "--capacity", "1Gi")
    assert res.returncode == 1
    assert c["capacity"][0] == "FAIL"
    assert "less than --capacity 1Gi" in c["capacity"][1]
    res, c = preflight(dind_cache, mnt, "--capacity", "100Mi")
    assert res.returncode == 0
    assert c["capacity"][0] == "OK" and "enough for --capacity 100Mi" in c["capacity"][1]


def test_data_dir_that_is_not_a_mount_point_warns(dind_cache, loops):
    _, mnt = loops.mounted("xfs")
    (mnt / "docker").mkdir()
    res, c = preflight(dind_cache, mnt / "docker")
    assert res.returncode == 0
    assert c["dedicated_fs"][0] == "WARN"
    assert f"{mnt}/docker is not a mount point: it shares the filesystem of {mnt}" in c["dedicated_fs"][1]


def test_xfs_v4_without_ftype_is_refused_from_its_superblock(dind_cache, loops, tmp_path):
    """This kernel will not mount XFS V4: only the superblock tells what it is."""
    dev = loops.device("xfs", mkfs_args=("-m", "crc=0", "-n", "ftype=0"))
    before = file_hash(dev)
    data_dir = tmp_path / "data"
    res, c = preflight(dind_cache, data_dir, "--device", dev)
    assert res.returncode == 1, res.stdout + res.stderr
    failed = [text for state, text in c.values() if state == "FAIL"]
    assert any("xfs V4 without ftype" in text for text in failed), res.stdout
    # The bare directory is not judged in the device's stead.
    assert c["fs_type"] == ("SKIP", f"checked once {dev} is mounted at {data_dir}")
    assert file_hash(dev) == before
    assert not data_dir.exists()


def test_device_already_mounted_at_the_data_dir_is_judged_by_its_filesystem(dind_cache, loops):
    """A re-run after install: the device is in use, by the data directory itself."""
    dev, mnt = loops.mounted("xfs")
    res, c = preflight(dind_cache, mnt, "--device", dev)
    assert res.returncode == 0, res.stdout + res.stderr
    assert c["device"] == ("OK", f"{dev} is mounted at {mnt}")
    assert c["fs_features"][0] == "OK" and c["overlay_mount"][0] == "OK"


def test_json_report_matches_the_text_one(dind_cache, loops):
    _, mnt = loops.mounted("xfs")
    text, c = preflight(dind_cache, mnt, "--capacity", "100Mi")
    res = dind_cache("preflight", "--data-dir", mnt, "--capacity", "100Mi", "--json")
    assert res.returncode == text.returncode == 0
    doc = json.loads(res.stdout)
    assert doc["result"] == "WARN"  # boot_mount
    assert [x["name"] for x in doc["checks"]] == list(c)
    for x in doc["checks"]:
        state, line = c[x["name"]]
        assert x["state"] == state
        assert line.startswith(x["message"])
        if state != "OK" and x.get("remedy"):
            assert line == f"{x['message']} -> {x['remedy']}"
    cap = next(x for x in doc["checks"] if x["name"] == "capacity")
    assert cap["threshold"] == str(100 * 1024 * 1024)


def test_preflight_creates_nothing(dind_cache, loops):
    _, mnt = loops.mounted("xfs")
    data_dir = mnt / "k8s" / "docker"
    res, c = preflight(dind_cache, data_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    assert c["data_dir"][0] == "OK"
    assert "does not exist: install would create it (mode 0711, owner root)" in c["data_dir"][1]
    assert c["fs_type"][0] == "OK"  # the filesystem it would be created on
    assert c["d_type"][0] == "SKIP"
    assert entries(mnt) == []


def test_without_root_what_needs_root_is_skipped(loops):
    # pytest's tmp_path is private to root: mount where anyone may look.
    base = Path(tempfile.mkdtemp(prefix="dind-cache-test-", dir="/var/tmp"))
    try:
        base.chmod(0o755)
        dev = loops.device("xfs")
        mnt = loops.mount(dev, base / "mnt")
        res = sh("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                 BINARY, "preflight", "--data-dir", mnt, check=False)
        c = checks(res.stdout)
        assert c["privileges"][0] == "WARN"
        assert "the checks that need root are skipped" in c["privileges"][1]
        assert c["fs_type"][0] == "OK"
        for name in ("d_type", "overlay_mount", "fs_features"):
            assert c[name][0] == "SKIP", (name, c[name])
        assert res.returncode == 0
    finally:
        loops.cleanup()
        loops.mounts.clear()
        loops.devices.clear()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("args, flag", [
    (["--capacity", "lots"], "--capacity"),
    (["--capacity", "5GB"], "--capacity"),
    (["--data-dir", "relative/path"], "--data-dir"),
    (["--device", "vdb"], "--device"),
    (["--bogus"], "--bogus"),
    (["--device", "/dev/null", "--format"], "--format"),
    (["--namespace", "x"], "--namespace"),
])
def test_bad_flags_exit_2_naming_the_flag(dind_cache, args, flag):
    res = dind_cache("preflight", *args)
    assert res.returncode == 2
    assert res.stdout == ""
    first, hint = res.stderr.splitlines()
    assert flag in first
    assert hint == "Try 'dind-cache preflight --help'."
