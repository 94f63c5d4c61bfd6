"""`dind-cache check` over mutual TLS, against a real dockerd started as the image's
entrypoint starts it (--tlsverify --tlscacert --tlscert --tlskey): each way the chain
can break gives CRITICAL with its reason, expiry is watched (libfaketime moves the
clock), and a plaintext daemon is never silently OK."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import BINARY, free_loopback_ip, make_pki, run_tool

FAST = {"DIND_CACHE_TIMEOUT": "2s"}


def check_json(data_dir, docker_host, env, faketime=None):
    full = dict(FAST, DIND_CACHE_DATA_DIR=str(data_dir), DOCKER_HOST=docker_host, **env)
    if faketime:
        p = subprocess.run(["faketime", "-f", faketime, str(BINARY), "check", "--no-journal", "--json"],
                           text=True, capture_output=True, env=dict(os.environ, **full), timeout=60)
    else:
        p = run_tool("check", "--no-journal", "--json", env=full, timeout=60)
    doc = json.loads(p.stdout)
    return p.returncode, {c["name"]: c for c in doc["checks"]}, doc


@pytest.fixture
def cache(loops):
    _, mnt = loops.mounted("xfs", size="512M")
    return mnt


# Its own loopback address: 127.0.0.1:2375 may be another test's plaintext daemon.
IP = "127.0.0.46"


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path / "pki", server_names=("localhost", IP))


@pytest.fixture
def daemon(cache, pki, dockerd_factory):
    return dockerd_factory(cache, tls_dir=pki, ip=IP)


def test_a_daemon_with_a_certificate_of_another_ca_is_critical_unknown_ca(cache, tmp_path, dockerd_factory, pki):
    other = make_pki(tmp_path / "other", cn="someone else's CA")
    d = dockerd_factory(cache, tls_dir=other)
    status, results, doc = check_json(cache, d.host, {"DOCKER_TLS_VERIFY": "1",
                                                      "DOCKER_CERT_PATH": str(pki / "checker")})
    assert status == 2, doc["summary"]
    assert results["tls"]["state"] == "FAIL"
    assert results["tls"]["value"] == "unknown CA", results["tls"]
    assert "TLS handshake with the daemon" in doc["summary"]


def test_a_daemon_certificate_without_the_address_is_critical_name_mismatch(cache, tmp_path, dockerd_factory):
    pki = make_pki(tmp_path / "pki", server_names=("docker-dind.kube-ops.svc",))
    d = dockerd_factory(cache, tls_dir=pki)
    status, results, _ = check_json(cache, d.host, d.client_env)
    assert status == 2
    assert results["tls"]["value"] == "name mismatch", results["tls"]


def test_a_client_certificate_of_another_ca_is_refused_by_the_daemon(cache, daemon, pki, tmp_path):
    other = make_pki(tmp_path / "other", cn="someone else's CA")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(pki / "checker" / "ca.pem", mixed / "ca.pem")        # trusts the daemon
    shutil.copy(other / "checker" / "cert.pem", mixed / "cert.pem")   # but presents a stranger
    shutil.copy(other / "checker" / "key.pem", mixed / "key.pem")
    status, results, _ = check_json(cache, daemon.host, {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(mixed)})
    assert status == 2
    assert results["tls"]["value"] == "client certificate refused", results["tls"]


def test_certificates_near_expiry_warn_then_go_critical(cache, daemon):
    # The leaves of make_pki() live 825 days: 800 days on, 25 are left; 820 on, 5.
    status, results, doc = check_json(cache, daemon.host, daemon.client_env, faketime="+800d")
    assert status == 1, doc["summary"]
    for name in ("cert_server", "cert_client", "cert_checker"):
        assert results[name]["state"] == "WARN", results[name]
        assert results[name]["value"] in ("24", "25")
    assert results["cert_ca"]["state"] == "OK"
    assert results["tls"]["state"] == "OK"

    status, results, doc = check_json(cache, daemon.host, daemon.client_env, faketime="+820d")
    assert status == 2, doc["summary"]
    assert results["cert_server"]["state"] == "FAIL"
    assert "expires in" in results["cert_server"]["message"] and "(crit 7)" in results["cert_server"]["message"]

    status, results, doc = check_json(cache, daemon.host, daemon.client_env, faketime="+900d")
    assert status == 2
    assert results["tls"]["value"] == "expired", results["tls"]
    assert "expired" in results["cert_server"]["message"]


def test_thresholds_follow_the_settings(cache, daemon):
    env = dict(daemon.client_env, DIND_CACHE_CERT_WARN_DAYS="900", DIND_CACHE_CERT_CRIT_DAYS="10")
    status, results, _ = check_json(cache, daemon.host, env)
    assert status == 1
    assert results["cert_server"]["state"] == "WARN" and results["cert_server"]["threshold"] == "900"

    env = dict(daemon.client_env, DIND_CACHE_CERT_WARN_DAYS="7", DIND_CACHE_CERT_CRIT_DAYS="7")
    status, results, doc = check_json(cache, daemon.host, env)
    assert status == 3 and "DIND_CACHE_CERT_CRIT_DAYS" in doc["summary"]


def test_tls_without_a_cert_path_is_unknown(cache, daemon):
    status, _, doc = check_json(cache, daemon.host, {"DOCKER_TLS_VERIFY": "1"})
    assert status == 3 and "DOCKER_CERT_PATH" in doc["summary"]


def test_a_plaintext_daemon_is_a_warning_every_time(cache, dockerd_factory):
    d = dockerd_factory(cache)
    status, results, doc = check_json(cache, d.host, {})
    assert status == 1, doc["summary"]
    assert results["tls"]["state"] == "WARN"
    assert "WITHOUT TLS" in doc["summary"]


def test_a_tls_daemon_answers_no_plain_http_on_any_of_its_ports(tmp_path, dockerd_factory):
    """Why the checker has no plaintext_port check: dockerd serves every tcp:// host with
    the one TLS setting, so a daemon that answers mutual TLS on 2376 (the tls check) has
    no plaintext API on 2375 or any other of its ports. A plaintext listener beside it
    would be another process in the pod (a changed Deployment), which the node cannot
    probe: from it only the Service's ClusterIP is known, and that forwards 2376 alone.
    The NetworkPolicy's single port keeps 2375 out of the jobs' reach besides."""
    ip = free_loopback_ip(2375)
    pki = make_pki(tmp_path / "p2", server_names=(ip,))
    tls = dockerd_factory(tmp_path / "root", tls_dir=pki, ip=ip, which="pinned")
    tls.proc.terminate()
    tls.proc.wait(timeout=60)
    tls.extra_args = ["-H", f"tcp://{ip}:2375"]
    tls.start()
    status, results, doc = check_json(tmp_path / "root", tls.host, tls.client_env)
    assert results["tls"]["state"] == "OK", doc["summary"]
    plain = subprocess.run(["curl", "-sS", "--max-time", "10", f"http://{ip}:2375/_ping"], text=True,
                           capture_output=True)
    assert plain.stdout != "OK" and "Client sent an HTTP request to an HTTPS server" in plain.stdout, plain.stdout
    mutual = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", str(pki / "checker" / "ca.pem"),
                             "--cert", str(pki / "checker" / "cert.pem"), "--key", str(pki / "checker" / "key.pem"),
                             f"https://{ip}:2375/_ping"], text=True, capture_output=True)
    assert mutual.stdout == "OK", mutual.stderr


@pytest.mark.parametrize("which", ["key.pem", "cert.pem", "ca.pem"])
def test_a_fifo_in_the_cert_path_is_refused_not_waited_on(cache, pki, daemon, tmp_path, which):
    # The files are read by the checker itself (regular files only, capped), never
    # opened by libcurl: a FIFO would block that open() until the check's timer kills it.
    certs = tmp_path / "certs"
    shutil.copytree(pki / "checker", certs)
    (certs / which).unlink()
    os.mkfifo(certs / which)
    try:
        status, results, doc = check_json(cache, daemon.host,
                                          {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)})
    except subprocess.TimeoutExpired:
        pytest.fail(f"check waited on the FIFO {which}")
    assert status in (2, 3), doc["summary"]
    assert results["tls"]["state"] in ("FAIL", "UNKNOWN")
    assert "not a regular file" in results["tls"]["message"], results["tls"]
    assert str(certs / which) in results["tls"]["message"]
