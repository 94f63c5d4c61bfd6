"""install --device: a device is formatted only when blank by every measure, never
otherwise (its bytes are hashed before and after), and a blank one ends up as xfs with
ftype=1, mounted at the data directory by an enabled systemd mount unit in a real
systemd; running install again changes nothing."""

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import file_hash, sh

# The node-side disk step only: no cluster, no checker timer.
DISK_ONLY = ("--skip-apply", "--skip-timer")


def held_exclusively(dev):
    """A process holding DEV open with O_EXCL, as a mounted filesystem or md would."""
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)\n"
         "print('held', flush=True)\n"
         "time.sleep(600)\n", dev],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def make_ext4(loops, tmp_path):
    return loops.device("ext4", size="64M"), "ext4 signature", ()


def make_gpt(loops, tmp_path):
    img = loops.image("64M")
    sh("sfdisk", "-q", img, input="label: gpt\n,32M\n")
    # -P: where the kernel scans partitions, they show too.
    dev = sh("losetup", "--find", "--show", "-P", img).stdout.strip()
    loops.devices.append(dev)
    return dev, "gpt signature", ()


def make_swap(loops, tmp_path):
    img = loops.image("64M")
    sh("mkswap", "-q", img)
    return loops.attach(img), "swap signature", ()


def make_mounted(loops, tmp_path):
    # Read-only, so the kernel's own writes (ext4's lazy inode-table init) cannot
    # change the bytes the test compares; mounted is mounted either way.
    dev, mnt = loops.mounted("ext4", size="64M", options="ro")
    return dev, f"is mounted at {mnt}", ()


def make_read_only(loops, tmp_path):
    return loops.device(size="64M", read_only=True), "is read-only", ()


def make_small(loops, tmp_path):
    return loops.device(size="64M"), "less than --capacity", ("--capacity", "1Gi")


def make_unknown_data(loops, tmp_path):
    # No signature libblkid knows (as plain dm-crypt), but not blank either.
    img = loops.image("64M")
    with open(img, "r+b") as f:
        f.seek(8192)
        f.write(os.urandom(4096))
    return loops.attach(img), "not blank", ()


def make_partition_without_table(loops, tmp_path):
    # The kernel still has the partition (loopNp1), but the table's signatures are
    # gone: nothing for libblkid to see. They are zeroed in the image file, not
    # through the device, whose close after a write would have udev (in any booted
    # test systemd, on the shared /dev) ask the kernel to read the table again.
    img = loops.image("64M")
    sh("sfdisk", "-q", img, input="label: gpt\n,32M\n")
    dev = sh("losetup", "--find", "--show", "-P", img).stdout.strip()
    loops.devices.append(dev)
    # Where the kernel has no GPT parser, partx reads the table and adds the
    # partition (BLKPG); where it has one, the partition is there already.
    part = os.path.basename(dev) + "p1"
    sysfs = f"/sys/block/{os.path.basename(dev)}/{part}"
    tries = []
    for _ in range(10):
        if os.path.exists(sysfs):
            break
        tries.append(sh("partx", "-a", dev, check=False).stderr)
        time.sleep(0.2)
    assert os.path.exists(sysfs), tries
    size = os.path.getsize(img)
    with open(img, "r+b") as f:
        f.write(bytes(34 * 512))                 # protective MBR, GPT header and entries
        f.seek(size - 33 * 512)
        f.write(bytes(33 * 512))                 # the backup GPT
        f.flush()
        os.fsync(f.fileno())
    sh("blockdev", "--flushbufs", dev)           # what the device cached of the table
    assert sh("blkid", "-p", dev, check=False).stdout == ""
    assert os.path.exists(sysfs)
    return dev, f"has 1 partition: {part}", ()


def make_data_in_last_mib(loops, tmp_path):
    # The first MiB all zeros, no signature anywhere; random data near the end.
    img = loops.image("64M")
    with open(img, "r+b") as f:
        f.seek(64 * 1024 * 1024 - 512 * 1024)
        f.write(os.urandom(4096))
    return loops.attach(img), "not blank", ()


def make_xfs_v4(loops, tmp_path):
    # Made fine by mkfs, refused by this kernel on mount: caught from the superblock.
    return (loops.device("xfs", size="512M", mkfs_args=("-m", "crc=0", "-n", "ftype=0")),
            "xfs V4 without ftype=1", ())


CASES = {
    "ext4": make_ext4,
    "gpt": make_gpt,
    "swap": make_swap,
    "mounted": make_mounted,
    "read-only": make_read_only,
    "smaller-than-capacity": make_small,
    "unknown-data": make_unknown_data,
    "data-in-last-mib": make_data_in_last_mib,
    "partition-without-table": make_partition_without_table,
    "xfs-v4-ftype0": make_xfs_v4,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unsafe_device_is_refused_and_left_untouched(case, loops, tmp_path, dind_cache):
    dev, found, extra = CASES[case](loops, tmp_path)
    data_dir = tmp_path / "data"
    before = file_hash(dev)

    r = dind_cache("install", "--device", dev, "--format", "--data-dir", data_dir, *extra, *DISK_ONLY)
    assert r.returncode == 1, r.stdout + r.stderr
    assert found in r.stdout, r.stdout
    assert f"refusing to use '{dev}'" in r.stderr
    if case not in ("read-only", "smaller-than-capacity"):
        # The user is told how to wipe it, if they are sure.
        assert ("wipefs -a " + dev in r.stdout or "dd if=/dev/zero of=" + dev in r.stdout), r.stdout

    p = dind_cache("preflight", "--device", dev, "--data-dir", data_dir, *extra)
    assert p.returncode == 1, p.stdout + p.stderr
    assert found in p.stdout

    assert file_hash(dev) == before
    assert not data_dir.exists()


def test_device_held_open_exclusively_is_refused_and_left_untouched(loops, tmp_path, dind_cache):
    dev = loops.device(size="64M")
    before = file_hash(dev)
    holder = held_exclusively(dev)
    try:
        r = dind_cache("install", "--device", dev, "--format", "--data-dir", tmp_path / "data", *DISK_ONLY)
        p = dind_cache("preflight", "--device", dev, "--data-dir", tmp_path / "data")
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "held open exclusively" in r.stdout
    assert p.returncode == 1
    assert "held open exclusively" in p.stdout
    assert file_hash(dev) == before


def test_blank_device_without_format_is_not_formatted(loops, tmp_path, dind_cache):
    dev = loops.device(size="64M")
    before = file_hash(dev)
    r = dind_cache("install", "--device", dev, "--data-dir", tmp_path / "data", *DISK_ONLY)
    assert r.returncode == 1
    assert "is blank: add --format" in r.stderr
    assert file_hash(dev) == before


def test_dry_run_says_it_would_format_and_writes_nothing(loops, tmp_path, dind_cache):
    dev = loops.device(size="512M")
    before = file_hash(dev)
    r = dind_cache("install", "--device", dev, "--format", "--dry-run", "--data-dir", tmp_path / "data",
                   *DISK_ONLY)
    assert f"Would format {dev} with mkfs.xfs -n ftype=1" in r.stdout, r.stdout + r.stderr
    assert "Would write /etc/systemd/system/" in r.stdout
    assert file_hash(dev) == before
    assert not (tmp_path / "data").exists()


def test_data_dir_that_is_already_a_mount_point_is_refused(loops, tmp_path, dind_cache):
    dev = loops.device(size="64M")
    data_dir = loops.mount("tmpfs", tmp_path / "data", fstype="tmpfs")
    before = file_hash(dev)
    r = dind_cache("install", "--device", dev, "--format", "--data-dir", data_dir, *DISK_ONLY)
    assert r.returncode == 1
    assert f"'{data_dir}' is already a mount point (tmpfs" in r.stderr, r.stderr
    assert file_hash(dev) == before


def test_nonexistent_device_is_refused(tmp_path, dind_cache):
    r = dind_cache("install", "--device", "/dev/dind-cache-no-such-disk", "--format",
                   "--data-dir", tmp_path / "data", *DISK_ONLY)
    assert r.returncode == 1
    assert "/dev/dind-cache-no-such-disk does not exist" in r.stdout


def xfs_ftype(dev):
    out = sh("xfs_db", "-r", "-c", "version", dev).stdout
    return "FTYPE" in out


def mount_table_reads(trace):
    """How often the dind-cache processes of an `strace -f -e trace=openat,execve` log
    opened /proc/self/mountinfo (a child that became another program, mkfs.xfs, is not
    dind-cache)."""
    others, reads = set(), 0
    for line in trace.splitlines():
        pid, _, call = line.partition(" ")
        call = call.lstrip()
        if call.startswith("execve(") and not call.split(",", 1)[0].endswith('dind-cache"'):
            others.add(pid)
        elif call.startswith("openat(") and '"/proc/self/mountinfo"' in call and pid not in others:
            reads += 1
    return reads


def traced(systemd, *args, timeout=180):
    """Runs ARGS inside SYSTEMD under strace; returns (CompletedProcess, mount table reads)."""
    log = "/var/tmp/dind-cache-openat.trace"
    r = systemd.run("strace", "-f", "-qq", "-e", "trace=openat,execve", "-o", log, *args, check=False,
                    timeout=timeout)
    trace = systemd.run("cat", log).stdout
    systemd.run("rm", "-f", log)
    return r, mount_table_reads(trace)


@pytest.mark.udev
def test_blank_device_is_formatted_and_mounted_by_a_unit_and_a_second_run_changes_nothing(loops, systemd):
    dev = loops.device(size="512M")
    data_dir = "/mnt/k8s/docker"
    unit = "mnt-k8s-docker.mount"
    unit_file = systemd.path(f"/etc/systemd/system/{unit}")
    binary = systemd.install_binary()
    systemd.settle_udev()
    args = (binary, "install", "--device", dev, "--format", "--data-dir", data_dir, *DISK_ONLY)
    uuid = None
    try:
        # The mount table is read once for the facts; a real run reads it again only
        # for its last check before mkfs.xfs and after its own mount.
        dry, reads = traced(systemd, *args, "--dry-run")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert reads == 1, f"the dry run read the mount table {reads} times"
        first, reads = traced(systemd, *args)
        assert reads == 3, f"the first run read the mount table {reads} times"
        out = first.stdout + first.stderr
        assert "formatted: xfs with ftype=1" in out, out
        # The disk step succeeded (the steps after it are the cluster's and the timer's).
        assert f"{dev} is mounted at {data_dir} by {unit}" in out, out

        info = sh("blkid", "-p", "-o", "export", dev).stdout
        assert "TYPE=xfs" in info
        uuid = [l.split("=", 1)[1] for l in info.splitlines() if l.startswith("UUID=")][0]
        assert xfs_ftype(dev)

        assert systemd.run("systemctl", "is-active", unit, check=False).stdout.strip() == "active"
        assert systemd.run("systemctl", "is-enabled", unit, check=False).stdout.strip() == "enabled"
        source = systemd.run("findmnt", "-n", "-o", "SOURCE,FSTYPE", "--mountpoint", data_dir).stdout.split()
        assert source == [dev, "xfs"]
        text = unit_file.read_text()
        assert f"What=/dev/disk/by-uuid/{uuid}\n" in text
        assert f"Where={data_dir}\n" in text
        mode = systemd.run("stat", "-c", "%a %U", data_dir).stdout.split()
        assert mode == ["711", "root"]
        assert "[OK]      d_type:" in first.stdout, first.stdout
        assert "[FAIL]" not in first.stdout, first.stdout

        mtime = unit_file.stat().st_mtime_ns
        second, reads = traced(systemd, *args)
        assert reads == 1, f"the second run read the mount table {reads} times"
        out2 = second.stdout + second.stderr
        assert second.returncode == first.returncode, out2
        assert "nothing changed" in out2, out2
        assert "Disk: formatting" not in out2
        assert f"/etc/systemd/system/{unit} unchanged" in out2
        assert unit_file.stat().st_mtime_ns == mtime
        assert systemd.run("systemctl", "is-active", unit, check=False).stdout.strip() == "active"
        assert sh("blkid", "-p", "-s", "UUID", "-o", "value", dev).stdout.strip() == uuid

        assert f"Disk: sealed {data_dir}" in first.stderr, out

        # Unmounted (after a failure, by hand): nothing can be written at the data
        # directory; the xfs on the device is used as it is, even without --format,
        # and mounted again.
        systemd.run("systemctl", "stop", unit)
        bare = systemd.run("mkdir", f"{data_dir}/x", check=False)
        assert bare.returncode != 0 and "Operation not permitted" in bare.stderr, bare.stderr
        third = systemd.run(*[a for a in args if a != "--format"], check=False, timeout=180)
        out3 = third.stdout + third.stderr
        assert f"already holds xfs with ftype=1 (UUID {uuid})" in out3, out3
        assert "Disk: formatting" not in out3
        assert systemd.run("systemctl", "is-active", unit, check=False).stdout.strip() == "active"
        assert sh("blkid", "-p", "-s", "UUID", "-o", "value", dev).stdout.strip() == uuid
        systemd.run("mkdir", f"{data_dir}/x")

        # uninstall --wipe-data: the mount unit goes, and the bare directory is an
        # ordinary one again.
        wipe = systemd.run(binary, "uninstall", "--wipe-data", "--data-dir", data_dir,
                           check=False, timeout=120)
        assert wipe.returncode == 0, wipe.stdout + wipe.stderr
        assert f"Unsealed {data_dir}" in wipe.stdout + wipe.stderr
        assert not unit_file.exists()
        assert systemd.run("mountpoint", "-q", data_dir, check=False).returncode != 0
        systemd.run("mkdir", f"{data_dir}/x")
        systemd.run("rm", "-r", data_dir)
    finally:
        # (The systemd fixture removes the /dev/disk links its udev made.)
        systemd.run("systemctl", "stop", unit, check=False)


def test_existing_mount_is_sealed_on_request_and_refuses_writes_while_unmounted(loops, systemd):
    # Inside the test's systemd (install writes /etc/dind-cache there, not on the
    # host). A real ext4 stands for the node's root filesystem; the cache disk (xfs)
    # was mounted on it by hand, before install ever ran.
    rootfs_dev = loops.device("ext4", size="64M")
    cache_dev = loops.device("xfs", size="512M")
    rootfs, data_dir = "/srv/rootfs", "/srv/rootfs/docker"
    binary = systemd.install_binary()
    run = lambda *a, **kw: systemd.run(*a, check=False, **kw)  # noqa: E731
    tool = lambda *a, **kw: run(binary, *a, **kw)  # noqa: E731
    systemd.run("mkdir", "-p", rootfs)
    systemd.run("mount", rootfs_dev, rootfs)
    systemd.run("mkdir", data_dir)
    systemd.run("mount", cache_dev, data_dir)
    systemd.run("sh", "-c", f"echo cached > {data_dir}/layer")

    p = tool("preflight", "--data-dir", data_dir)
    assert f"[WARN]    sealed: the directory beneath the mount at {data_dir} is writable" in p.stdout, p.stdout
    assert "dind-cache install --seal-mount-point" in p.stdout

    # Without the flag, install leaves it as it is (and says so).
    args = ("install", "--data-dir", data_dir, "--skip-apply", "--skip-timer")
    r = tool(*args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[WARN]    sealed: the directory beneath the mount" in r.stdout, r.stdout

    r = tool(*args, "--seal-mount-point")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Disk: sealed {data_dir}" in r.stderr, r.stderr
    assert "[OK]      sealed:" in r.stdout, r.stdout
    # Nothing was unmounted, and the mounted filesystem is writable as before.
    assert run("cat", f"{data_dir}/layer").stdout == "cached\n"
    systemd.run("mkdir", f"{data_dir}/new")

    again = tool(*args, "--seal-mount-point")
    assert again.returncode == 0
    assert f"Disk: {data_dir} is sealed beneath the mount" in again.stderr, again.stderr

    # The disk goes away: nothing can be written where the cache was.
    systemd.run("umount", data_dir)
    for attempt in (("mkdir", f"{data_dir}/x"), ("sh", "-c", f"echo x > {data_dir}/f")):
        w = run(*attempt)
        assert w.returncode != 0 and "Operation not permitted" in w.stderr, w.stderr
    assert run("ls", "-A", data_dir).stdout == ""
    status = tool("check", "--no-journal", "--json",
                  env={"DIND_CACHE_DATA_DIR": data_dir, "DOCKER_HOST": "", "DIND_CACHE_TIMEOUT": "2s"})
    assert status.returncode == 2, status.stdout + status.stderr
    mount = [c for c in json.loads(status.stdout)["checks"] if c["name"] == "mount"][0]
    assert mount["state"] == "FAIL"
    assert "sealed" in mount["message"] and "recovers by itself" in mount["remedy"], mount

    # Mounted again: everything is back, with no other step.
    systemd.run("mount", cache_dev, data_dir)
    assert run("cat", f"{data_dir}/layer").stdout == "cached\n"
    systemd.run("mkdir", f"{data_dir}/after")
    systemd.run("umount", data_dir)
    systemd.run("umount", rootfs)


def test_seal_mount_point_refuses_a_directory_that_is_not_a_mount_point(loops, dind_cache):
    # Refused in the disk step, before anything is written (so it may run on the host).
    _, rootfs = loops.mounted("ext4", size="64M")
    data_dir = rootfs / "docker"
    data_dir.mkdir()
    r = dind_cache("install", "--data-dir", data_dir, "--seal-mount-point", "--skip-apply", "--skip-timer")
    assert r.returncode == 1
    assert f"cannot seal '{data_dir}': it is not a mount point" in r.stderr, r.stderr
    (data_dir / "still-writable").mkdir()
