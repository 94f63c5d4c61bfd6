"""The whole of `dind-cache install` on one storage node, as an operator runs it: a
blank disk formatted and mounted by a unit, the cluster objects applied, the checker's
timer installed and its first check passing against the real daemon on that disk; a
second run changes nothing; uninstall takes it all back but the data.

Real parts: the disk (a loop device), systemd and journald (booted in namespaces on an
overlay of /), dockerd (started inside systemd's mount namespace, on the disk install
mounted). The Kubernetes API is the fake one; it hands out 127.0.0.44 as the Service's
ClusterIP, standing in for kube-proxy, and dockerd listens there on port 2376 with
mutual TLS from the server Secret install applied, as the pod does behind the Service
(dockerd-entrypoint.sh: --tlsverify --tlscacert --tlscert --tlskey)."""

import base64

import os
import shutil
import socket
import subprocess

import pytest

from conftest import BINARY, sh, unix_ping, wait_for

NODE = "node1"
DATA_DIR = "/mnt/k8s/docker"
MOUNT_UNIT = "mnt-k8s-docker.mount"
INSTALLED = "/usr/local/sbin/dind-cache"
DAEMON_PORT = 2376
# A loopback address of its own: 127.0.0.1:2375 may be another test's plaintext daemon,
# which the checker would rightly report as the plaintext port left open.
CLUSTER_IP = "127.0.0.44"
CERTS = "/var/lib/dind-e2e/certs/server"
SOCKET = "/var/lib/dind-e2e/docker.sock"


def port_free(port):
    with socket.socket() as s:
        # As dockerd binds: connections of an earlier run in TIME-WAIT do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((CLUSTER_IP, port))
        except OSError:
            return False
    return True


def ping(systemd):
    return unix_ping(systemd.path(SOCKET))


@pytest.fixture
def cluster(kube_api):
    kube_api.ready_delay = 0.2
    kube_api.cluster_ip = CLUSTER_IP
    kube_api.add_node(NODE)
    return kube_api


def test_install_prepares_disk_cluster_and_checker_and_uninstall_takes_them_back(loops, systemd, cluster):
    if not port_free(DAEMON_PORT):
        pytest.skip(f"port {DAEMON_PORT} is taken on this machine")
    dev = loops.device(size="1G")
    binary = systemd.path(INSTALLED)
    binary.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(BINARY, binary)
    # Where install looks last for a kubeconfig; key material inline, as kubeadm writes it.
    cluster.kubeconfig(systemd.path("/etc/kubernetes/admin.conf"), auth="cert-data", ca="data")
    systemd.run("udevadm", "trigger", "--action=add", "--subsystem-match=block")
    systemd.run("udevadm", "settle", "--timeout=30")
    install = (INSTALLED, "install", "--device", dev, "--format", "--node", NODE,
               "--timeout", "60s", "--check-interval", "2m")
    daemon = None
    uuid = None
    try:
        # The disk first: the daemon that the first check talks to lives on it.
        disk = systemd.run(*install, "--skip-apply", "--skip-timer", check=False, timeout=180)
        assert disk.returncode == 0, disk.stdout + disk.stderr
        uuid = sh("blkid", "-p", "-s", "UUID", "-o", "value", dev).stdout.strip()
        # The cluster next, without the checker: the daemon's certificates exist only
        # once install has made them and applied the server Secret.
        objects = systemd.run(*install, "--skip-timer", check=False, timeout=240)
        assert objects.returncode == 0, objects.stdout + objects.stderr
        certs = systemd.path(CERTS)
        certs.mkdir(parents=True)
        for key, value in cluster.object("secrets", "docker-dind-server", "kube-ops")["data"].items():
            (certs / key).write_bytes(base64.b64decode(value))
        daemon = subprocess.Popen(
            ["nsenter", "-t", str(systemd.pid), "-m", "-p", "--", "dockerd",
             "--data-root", DATA_DIR, "-H", f"tcp://{CLUSTER_IP}:{DAEMON_PORT}",
             "-H", f"unix://{SOCKET}", "--tlsverify",
             "--tlscacert", f"{CERTS}/ca.pem", "--tlscert", f"{CERTS}/cert.pem", "--tlskey", f"{CERTS}/key.pem",
             "--pidfile", "/run/dind-e2e/docker.pid", "--exec-root", "/run/dind-e2e/exec",
             "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=overlay2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: ping(systemd), timeout=60, what="dockerd on the cache disk")

        first = systemd.run(*install, check=False, timeout=240)
        out = first.stdout + first.stderr
        assert first.returncode == 0, out
        assert "DOCKER_HOST: tcp://docker-dind.kube-ops.svc:2376" in first.stdout
        assert "dind-cache check OK" in out
        assert f"[OK]      tls: mutual TLS with the daemon at tcp://{CLUSTER_IP}:2376" in out, out

        pv = cluster.object("persistentvolumes", "docker-pv")
        assert pv["spec"]["local"]["path"] == DATA_DIR
        # The filesystem's size, rounded down to MiB (under 1Gi): a 1G disk less xfs's log.
        storage = pv["spec"]["capacity"]["storage"]
        assert storage.endswith("Mi") and 900 < int(storage[:-2]) < 1024, storage
        pvc = cluster.object("persistentvolumeclaims", "docker-dind-data", "kube-ops")
        assert pvc["spec"]["resources"]["requests"]["storage"] == storage
        dep = cluster.object("deployments", "docker-dind", "kube-ops")
        assert dep["spec"]["strategy"]["type"] == "Recreate"
        env = systemd.path("/etc/dind-cache/dind-cache.env").read_text()
        assert f"DOCKER_HOST=tcp://{CLUSTER_IP}:{DAEMON_PORT}" in env.replace('"', "")
        assert "DOCKER_TLS_VERIFY=1" in env and "DOCKER_CERT_PATH=/etc/dind-cache/pki/checker" in env
        assert systemd.run("systemctl", "is-enabled", "dind-cache-check.timer").stdout.strip() == "enabled"
        assert systemd.run("systemctl", "is-active", MOUNT_UNIT).stdout.strip() == "active"
        summary = systemd.run("journalctl", "--no-pager", "-o", "cat", "-u", "dind-cache-check",
                              "DIND_CHECK=summary").stdout
        assert "dind-cache check OK" in summary, summary

        # The same command again: nothing to do anywhere.
        cluster.clear_requests()
        second = systemd.run(*install, check=False, timeout=240)
        out2 = second.stdout + second.stderr
        assert second.returncode == 0, out2
        assert "Disk: nothing changed" in out2, out2
        assert " created" not in second.stdout and " configured" not in second.stdout, second.stdout
        assert sh("blkid", "-p", "-s", "UUID", "-o", "value", dev).stdout.strip() == uuid

        gone = systemd.run(INSTALLED, "uninstall", "--delete-cluster-objects", check=False, timeout=240)
        assert gone.returncode == 0, gone.stdout + gone.stderr
        assert not systemd.path("/etc/systemd/system/dind-cache-check.timer").exists()
        assert cluster.object("deployments", "docker-dind", "kube-ops") is None
        assert cluster.object("persistentvolumes", "docker-pv") is None
        # The disk and its data stay: only --wipe-data touches them.
        assert systemd.run("systemctl", "is-active", MOUNT_UNIT).stdout.strip() == "active"
        assert systemd.run("test", "-d", f"{DATA_DIR}/overlay2").returncode == 0
    finally:
        if daemon:
            systemd.run("sh", "-c", "kill $(cat /run/dind-e2e/docker.pid)", check=False)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
        systemd.run("systemctl", "stop", MOUNT_UNIT, check=False)
        if uuid and os.path.islink(f"/dev/disk/by-uuid/{uuid}"):
            # udev ran inside the test's systemd, on the host's /dev.
            os.unlink(f"/dev/disk/by-uuid/{uuid}")
