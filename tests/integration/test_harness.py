"""The test harness itself works: a real systemd boots, a real dockerd answers."""

from conftest import sh


def test_systemd_boots_in_namespaces_and_answers_systemctl(systemd):
    out = systemd.run("systemctl", "list-units", "--type=target", "--no-legend").stdout
    assert "multi-user.target" in out


def test_loop_xfs_mounts(loops):
    dev, mnt = loops.mounted("xfs")
    assert sh("stat", "-f", "-c", "%T", mnt).stdout.strip() == "xfs"
