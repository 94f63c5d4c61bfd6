"""Mutual TLS end to end: install makes the node's PKI and the Secrets (against the fake
API server), a real dockerd runs from the server Secret's files exactly as the image's
entrypoint starts it, and the real docker CLI with the client Secret's files gets in by
the Service's name and by its ClusterIP, while everything else is refused. A re-run
changes no byte and no pod; a re-run with the clock past the renewal point re-issues
and rolls the pod."""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BINARY, free_loopback_ip, make_pki, sh
from kube_fixtures import ready_cluster
from test_install_cluster import NODE, Node, applied_lines

NS = "kube-ops"
PKI_REL = "dind-cache/pki"
PKI_DIR = "/etc/" + PKI_REL


@pytest.fixture
def api(kube_api):
    # A loopback address stands in for kube-proxy's ClusterIP (the first test serves 2376 there).
    return ready_cluster(kube_api, NODE, cluster_ip=free_loopback_ip(2376))


@pytest.fixture
def node(tmp_path, loops):
    return Node(tmp_path, loops)


def secret_files(api, name, namespace, dest):
    """The Secret's data, decoded into DEST/{ca,cert,key}.pem as a volume mount shows it."""
    secret = api.object("secrets", name, namespace)
    assert secret is not None, (name, namespace)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for key, value in secret["data"].items():
        (dest / key).write_bytes(base64.b64decode(value))
        os.chmod(dest / key, 0o600)
    assert sorted(p.name for p in dest.iterdir()) == ["ca.pem", "cert.pem", "key.pem"]
    return dest


def pki_bytes(node):
    root = node.etc_upper / PKI_REL
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.pem"))}


def pod_names(api):
    return sorted(p["metadata"]["name"] for p in api.objects("pods", NS))


def docker(cert_dir, host, *args, hosts=None):
    """The real docker CLI with DOCKER_TLS_VERIFY=1 and CERT_DIR, its /etc/hosts
    replaced by HOSTS (a file) in a private mount namespace when given."""
    env = dict(os.environ, DOCKER_HOST=host, DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(cert_dir))
    cmd = ["docker", *args]
    if hosts:
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts), *cmd]
    return subprocess.run(cmd, text=True, capture_output=True, env=env, timeout=60)


def openssl_verify(ca, cert, *args):
    return subprocess.run(["openssl", "verify", "-CAfile", str(ca), *args, str(cert)], text=True,
                          capture_output=True)


def test_install_makes_the_pki_and_the_jobs_get_in_only_with_its_client_certificate(
        api, node, tmp_path, dockerd_factory):
    p = node.install(api, "--allow-namespace", "gitlab-runner")
    # The runner's namespace must exist for its Secret: make it as an operator would.
    assert p.returncode != 0 and "gitlab-runner" in p.stderr, p.stderr
    api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gitlab-runner"}})
    p = node.install(api, "--allow-namespace", "gitlab-runner")
    assert p.returncode == 0, p.stdout + p.stderr
    lines = applied_lines(p.stdout)
    assert lines["Secret kube-ops/docker-dind-server"] == "unchanged"   # made by the first run
    assert lines["Secret gitlab-runner/docker-dind-client"] == "created"

    # The CA key is on the node only: 0700 directory, 0600 keys, in no Secret.
    pki = node.etc_upper / PKI_REL
    assert pki.stat().st_mode & 0o777 == 0o700
    for key in pki.rglob("key.pem"):
        assert key.stat().st_mode & 0o777 == 0o600, key
    ca_key = (pki / "ca" / "key.pem").read_bytes()
    for s in api.objects("secrets", NS) + api.objects("secrets", "gitlab-runner"):
        for value in s.get("data", {}).values():
            assert base64.b64decode(value) != ca_key
    env_text = node.env_file.read_text()
    assert "PRIVATE KEY" not in env_text and "PRIVATE KEY" not in p.stdout + p.stderr
    env = node.env()
    assert env["DOCKER_HOST"] == f"tcp://{api.cluster_ip}:2376"
    assert env["DOCKER_TLS_VERIFY"] == "1"
    assert "[[runners.kubernetes.volumes.secret]]" in p.stdout and 'name = "docker-dind-client"' in p.stdout
    assert "DOCKER_TLS_VERIFY: \"1\"" in p.stdout and "DOCKER_CERT_PATH: /certs/client" in p.stdout

    # The pod template carries the server certificate's hash.
    server = secret_files(api, "docker-dind-server", NS, tmp_path / "certs" / "server")
    dep = api.object("deployments", "docker-dind", NS)
    fingerprint = sh("openssl", "x509", "-in", server / "cert.pem", "-noout", "-fingerprint",
                     "-sha256").stdout.split("=", 1)[1].strip().replace(":", "").lower()
    assert dep["spec"]["template"]["metadata"]["annotations"]["dind-cache.io/server-cert-sha256"] == fingerprint

    # openssl agrees: a server for each of the Service's names and its IP, clients for clientAuth.
    for name in ("docker-dind", "docker-dind.kube-ops", "docker-dind.kube-ops.svc",
                 "docker-dind.kube-ops.svc.cluster.local", "localhost"):
        r = openssl_verify(server / "ca.pem", server / "cert.pem", "-purpose", "sslserver", "-verify_hostname", name)
        assert r.returncode == 0, (name, r.stdout + r.stderr)
    for ip in (api.cluster_ip, "127.0.0.1"):
        r = openssl_verify(server / "ca.pem", server / "cert.pem", "-purpose", "sslserver", "-verify_ip", ip)
        assert r.returncode == 0, (ip, r.stdout + r.stderr)
    r = openssl_verify(server / "ca.pem", server / "cert.pem", "-purpose", "sslserver", "-verify_hostname",
                       "evil.example.com")
    assert r.returncode != 0
    client = secret_files(api, "docker-dind-client", "gitlab-runner", tmp_path / "certs" / "client")
    for cert in (client / "cert.pem", pki / "checker" / "cert.pem"):
        assert openssl_verify(client / "ca.pem", cert, "-purpose", "sslclient").returncode == 0
        assert openssl_verify(client / "ca.pem", cert, "-purpose", "sslserver").returncode != 0

    # The daemon, exactly as dockerd-entrypoint.sh starts it from /certs/server.
    d = dockerd_factory(tmp_path / "data-root", tls_dir=tmp_path / "certs", ip=api.cluster_ip, port=2376)
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{api.cluster_ip} docker-dind.kube-ops.svc "
                     f"docker-dind.kube-ops.svc.cluster.local not-the-daemon.example.com\n")

    ok = docker(client, f"tcp://{api.cluster_ip}:2376", "version", "--format", "{{.Server.Version}}")
    assert ok.returncode == 0, ok.stderr
    by_name = docker(client, "tcp://docker-dind.kube-ops.svc:2376", "info", "--format", "{{.Driver}}", hosts=hosts)
    assert by_name.returncode == 0 and by_name.stdout.strip() == "overlay2", by_name.stderr

    # Refused: a name the certificate does not carry, a client of another CA, no client certificate.
    wrong_name = docker(client, "tcp://not-the-daemon.example.com:2376", "version", hosts=hosts)
    assert wrong_name.returncode != 0 and "not-the-daemon.example.com" in wrong_name.stderr
    other = make_pki(tmp_path / "other", cn="another CA")
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "ca.pem").write_bytes((client / "ca.pem").read_bytes())
    (stranger / "cert.pem").write_bytes((other / "tenants" / "ci" / "cert.pem").read_bytes())
    (stranger / "key.pem").write_bytes((other / "tenants" / "ci" / "key.pem").read_bytes())
    refused = docker(stranger, f"tcp://{api.cluster_ip}:2376", "version")
    assert refused.returncode != 0
    anonymous = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", str(client / "ca.pem"),
                                f"https://{api.cluster_ip}:2376/_ping"], text=True, capture_output=True)
    assert anonymous.returncode != 0 and anonymous.stdout != "OK", anonymous.stdout + anonymous.stderr
    plain = subprocess.run(["curl", "-sS", "--max-time", "10", f"http://{api.cluster_ip}:2375/_ping"],
                           text=True, capture_output=True)
    assert plain.returncode != 0

    # The node's checker files work with the Docker CLI's own conventions.
    checker = docker(pki / "checker", env["DOCKER_HOST"], "version", "--format", "{{.Server.APIVersion}}")
    assert checker.returncode == 0, checker.stderr


def test_rerun_keeps_every_byte_and_the_pod_and_a_later_clock_renews_and_rolls_it(api, node):
    assert node.install(api).returncode == 0
    before, pods = pki_bytes(node), pod_names(api)
    secret = api.object("secrets", "docker-dind-server", NS)

    again = node.install(api)
    assert again.returncode == 0, again.stderr
    assert set(applied_lines(again.stdout).values()) == {"unchanged"}, again.stdout
    assert pki_bytes(node) == before
    assert pod_names(api) == pods
    assert api.object("secrets", "docker-dind-server", NS)["metadata"]["resourceVersion"] == \
        secret["metadata"]["resourceVersion"]

    # 800 days on, the 825-day leaves have 25 left: under 30, so they are re-issued; the CA stays.
    later = node.install(api, faketime="+800d")
    assert later.returncode == 0, later.stdout + later.stderr
    lines = applied_lines(later.stdout)
    assert lines["Secret kube-ops/docker-dind-server"] == "configured", later.stdout
    assert lines["Deployment kube-ops/docker-dind"] == "configured"
    assert "renewed: 25 days left" in later.stdout or "renewed: 24 days left" in later.stdout, later.stdout
    after = pki_bytes(node)
    assert after["ca/cert.pem"] == before["ca/cert.pem"] and after["ca/key.pem"] == before["ca/key.pem"]
    for leaf in ("server", "prune-job", "checker", "pruner"):
        assert after[f"{leaf}/cert.pem"] != before[f"{leaf}/cert.pem"], leaf
    new_pods = pod_names(api)
    assert new_pods and not set(new_pods) & set(pods)


def test_a_new_cluster_ip_reissues_the_server_certificate(api, node):
    assert node.install(api).returncode == 0
    before = pki_bytes(node)
    assert api.object("services", "docker-dind", NS)["spec"]["clusterIP"] == api.cluster_ip
    # The Service deleted and made again (kubectl delete service): a new ClusterIP.
    api.cluster_ip = "127.0.0.42"
    sh("curl", "-sSf", "-X", "DELETE", "--cacert", api.ca_file, "--cert", api.client_cert_file,
       "--key", api.client_key_file, f"{api.url}/api/v1/namespaces/{NS}/services/docker-dind")
    p = node.install(api)
    assert p.returncode == 0, p.stderr
    assert "server   renewed: its names (SANs) differ" in p.stdout, p.stdout
    after = pki_bytes(node)
    assert after["server/cert.pem"] != before["server/cert.pem"]
    assert after["prune-job/cert.pem"] == before["prune-job/cert.pem"]
    assert node.env()["DOCKER_HOST"] == "tcp://127.0.0.42:2376"


def test_plaintext_then_tls_says_what_jobs_must_change(api, node):
    p = node.install(api, "--plaintext")
    assert p.returncode == 0, p.stderr
    assert "WITHOUT TLS" in p.stderr
    assert node.env()["DOCKER_HOST"].endswith(":2375")
    assert api.object("secrets", "docker-dind-server", NS) is None
    assert not (node.etc_upper / PKI_REL).exists()

    p = node.install(api)
    assert p.returncode == 0, p.stderr
    assert "switched the daemon from plaintext port 2375 to mutual TLS on 2376" in p.stdout
    assert node.env()["DOCKER_HOST"].endswith(":2376")
    assert api.object("secrets", "docker-dind-server", NS) is not None


def tool(node, *args):
    """dind-cache ARGS with the node's private /etc (as Node.install runs install)."""
    return node.run(BINARY, *args)


def test_uninstall_deletes_the_secrets_everywhere_and_the_pki_only_with_the_data(api, node, tmp_path):
    api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gitlab-runner"}})
    assert node.install(api, "--allow-namespace", "gitlab-runner").returncode == 0
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    dry = tool(node, "uninstall", "--delete-cluster-objects", "--kubeconfig", kubeconfig, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Would delete Secret gitlab-runner/docker-dind-client" in dry.stdout
    assert api.object("secrets", "docker-dind-client", "gitlab-runner") is not None

    gone = tool(node, "uninstall", "--delete-cluster-objects", "--kubeconfig", kubeconfig)
    assert gone.returncode == 0, gone.stderr
    for name, ns in (("docker-dind-server", NS), ("docker-dind-client", NS), ("docker-dind-client", "gitlab-runner")):
        assert api.object("secrets", name, ns) is None, (name, ns)
    assert (node.etc_upper / PKI_REL / "ca" / "key.pem").exists()     # the CA stays for a re-install

    wiped = tool(node, "uninstall", "--wipe-data", "--data-dir", node.data_dir)
    assert wiped.returncode == 0, wiped.stderr
    assert not (node.etc_upper / PKI_REL).exists()


def subject_serial(pem_path):
    """("CN=NAME", SERIAL) of a certificate, as openssl prints them."""
    out = sh("openssl", "x509", "-in", pem_path, "-noout", "-subject", "-serial", "-nameopt", "RFC2253").stdout
    fields = dict(line.split("=", 1) for line in out.splitlines())
    cn = next(part for part in fields["subject"].split(",") if part.startswith("CN="))
    return cn, fields["serial"]


def server_side_apply(api, path, obj, manager="dind-cache"):
    """An apply as install makes it (server-side apply under MANAGER)."""
    sh("curl", "-sSf", "-X", "PATCH", "--cacert", api.ca_file, "--cert", api.client_cert_file,
       "--key", api.client_key_file, "-H", "Content-Type: application/apply-patch+yaml",
       "--data-binary", json.dumps(obj), f"{api.url}{path}?fieldManager={manager}&force=true")


def make_namespaces(api, *names):
    for name in names:
        api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def test_each_allowed_namespace_gets_its_own_identity_and_a_dropped_one_loses_it(api, node, tmp_path):
    make_namespaces(api, "team-a", "team-b")
    p = node.install(api, "--allow-namespace", "team-a", "--allow-namespace", "team-b")
    assert p.returncode == 0, p.stdout + p.stderr
    pki = node.etc_upper / PKI_REL
    a = secret_files(api, "docker-dind-client", "team-a", tmp_path / "a")
    b = secret_files(api, "docker-dind-client", "team-b", tmp_path / "b")
    (subject_a, serial_a), (subject_b, serial_b) = subject_serial(a / "cert.pem"), subject_serial(b / "cert.pem")
    assert (subject_a, subject_b) == ("CN=team-a", "CN=team-b")
    assert serial_a != serial_b
    assert public_key((a / "key.pem").read_bytes(), "key") != public_key((b / "key.pem").read_bytes(), "key")
    for ns, files in (("team-a", a), ("team-b", b)):
        # The node's copy is the Secret's, and nobody else's key is in it.
        assert (pki / "tenants" / ns / "cert.pem").read_bytes() == (files / "cert.pem").read_bytes()
        assert (pki / "tenants" / ns / "key.pem").stat().st_mode & 0o777 == 0o600
        assert public_key((files / "key.pem").read_bytes(), "key") == public_key((files / "cert.pem").read_bytes(),
                                                                                  "cert")
    # The node's identities: a ':' in the CN, which no namespace can have.
    for folder, cn in (("checker", "dind-cache:checker"), ("pruner", "dind-cache:pruner"),
                       ("prune-job", "dind-cache:prune-job")):
        assert subject_serial(pki / folder / "cert.pem")[0] == f"CN={cn}", folder
    job = secret_files(api, "docker-dind-prune-client", NS, tmp_path / "job")
    assert subject_serial(job / "cert.pem")[0] == "CN=dind-cache:prune-job"
    assert api.object("secrets", "docker-dind-client", NS) is None       # the daemon's namespace is no tenant
    env = node.env()
    assert env["DIND_CACHE_PRUNE_CERT_PATH"] == "/etc/dind-cache/pki/pruner"
    assert env["DOCKER_CERT_PATH"] == "/etc/dind-cache/pki/checker"
    # Only the allowed namespaces' pods, and the prune job's, reach the daemon.
    rule = api.object("networkpolicies", "docker-dind", NS)["spec"]["ingress"][0]
    assert rule["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["team-a", "team-b"]
    assert rule["from"][1] == {"podSelector": {"matchLabels": {"app": "docker-dind",
                                                               "app.kubernetes.io/component": "prune"}}}

    # A dry run says what dropping team-b would do, and does none of it.
    revoked = node.dirs.upper("/var/lib") / "dind-cache/authz/revoked"
    assert not revoked.exists()
    dry = node.install(api, "--allow-namespace", "team-a", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"tenant team-b: certificate {serial_b} (CN team-b) would be revoked" in dry.stdout, dry.stdout
    assert not revoked.exists() and api.object("secrets", "docker-dind-client", "team-b") is not None
    # team-b dropped: its Secret and its node folder go; team-a keeps its certificate.
    dropped = node.install(api, "--allow-namespace", "team-a")
    assert dropped.returncode == 0, dropped.stdout + dropped.stderr
    assert api.object("secrets", "docker-dind-client", "team-b") is None
    assert not (pki / "tenants" / "team-b").exists()
    assert f"tenant team-b: certificate {serial_b} (CN team-b) revoked" in dropped.stdout, dropped.stdout
    assert revoked.read_text().startswith(f"{serial_b}\tteam-b\t")
    assert "Secret team-b/docker-dind-client deleted (dropped from --allow-namespace)" in dropped.stdout
    assert api.object("secrets", "docker-dind-client", "team-a")["data"]["cert.pem"] == \
        base64.b64encode((a / "cert.pem").read_bytes()).decode()
    assert "team-b" not in json.dumps(api.object("networkpolicies", "docker-dind", NS)["spec"])
    again = node.install(api, "--allow-namespace", "team-a")
    assert again.returncode == 0 and set(applied_lines(again.stdout).values()) == {"unchanged"}, again.stdout
    assert "deleted" not in again.stdout


def test_a_client_secret_of_another_install_is_never_deleted(api, node, tmp_path):
    """A Secret of the same name and label in a namespace that is no tenant here, but
    whose certificate another CA issued (an unnamed cache of another namespace): not
    this install's to delete."""
    make_namespaces(api, "team-x")
    other = make_pki(tmp_path / "other", cn="another install's CA")
    data = {k: base64.b64encode((other / "tenants" / "ci" / k).read_bytes()).decode()
            for k in ("ca.pem", "cert.pem", "key.pem")}
    server_side_apply(api, "/api/v1/namespaces/team-x/secrets/docker-dind-client",
                      {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": data,
                       "metadata": {"name": "docker-dind-client", "namespace": "team-x",
                                    "labels": {"app": "docker-dind"}}}, manager="dind-cache")
    for _ in range(2):
        p = node.install(api)
        assert p.returncode == 0, p.stdout + p.stderr
        assert api.object("secrets", "docker-dind-client", "team-x")["data"] == data
        assert "team-x" not in p.stdout


def openssl_client(pki, folder, cn):
    """A client certificate of the node's CA made with openssl, as an earlier version
    made it, into PKI/FOLDER."""
    d = pki / folder
    d.mkdir(mode=0o700, exist_ok=True)
    ext = d / "ext.cnf"
    ext.write_text("extendedKeyUsage=clientAuth\nbasicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\n")
    sh("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", d / "key.pem", "-subj", f"/CN={cn}", "-out", d / "csr.pem")
    sh("openssl", "x509", "-req", "-in", d / "csr.pem", "-CA", pki / "ca" / "cert.pem", "-CAkey", pki / "ca" / "key.pem",
       "-set_serial", "0x" + os.urandom(16).hex(), "-days", "825", "-sha256", "-extfile", ext, "-out", d / "cert.pem")
    shutil.copy(pki / "ca" / "cert.pem", d / "ca.pem")
    os.chmod(d / "key.pem", 0o600)
    (d / "csr.pem").unlink()
    ext.unlink()


def test_an_install_before_per_tenant_identities_converges_on_the_next_run(api, node, tmp_path):
    """The layout of an install made before this: one client certificate (CN dind-cache-ci)
    in pki/client/ and in a docker-dind-client Secret in the daemon's namespace and in
    every allowed one, the checker named dind-cache-checker. The next install gives each
    allowed namespace its own certificate in the same Secret (updated in place, so the
    jobs' volumes follow), the prune job its own, and removes pki/client/."""
    make_namespaces(api, "gitlab-runner")
    assert node.install(api, "--allow-namespace", "gitlab-runner").returncode == 0
    pki = node.etc_upper / PKI_REL
    for folder in ("pruner", "prune-job", "tenants/gitlab-runner"):
        shutil.rmtree(pki / folder)
    shutil.rmtree(pki / "tenants")
    (pki / "client-certs.pem").unlink()
    openssl_client(pki, "client", "dind-cache-ci")
    openssl_client(pki, "checker", "dind-cache-checker")
    env_text = node.env_file.read_text().replace("DIND_CACHE_PRUNE_CERT_PATH=/etc/dind-cache/pki/pruner\n", "")
    node.env_file.write_text(env_text)
    legacy = {k: base64.b64encode((pki / "client" / f).read_bytes()).decode()
              for k, f in (("ca.pem", "ca.pem"), ("cert.pem", "cert.pem"), ("key.pem", "key.pem"))}
    for ns in (NS, "gitlab-runner"):
        server_side_apply(api, f"/api/v1/namespaces/{ns}/secrets/docker-dind-client",
                          {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": legacy,
                           "metadata": {"name": "docker-dind-client", "namespace": ns,
                                        "labels": {"app": "docker-dind"}}})
    sh("curl", "-sSf", "-X", "DELETE", "--cacert", api.ca_file, "--cert", api.client_cert_file,
       "--key", api.client_key_file, f"{api.url}/api/v1/namespaces/{NS}/secrets/docker-dind-prune-client")
    runner_secret = api.object("secrets", "docker-dind-client", "gitlab-runner")["metadata"]
    _, legacy_serial = subject_serial(pki / "client" / "cert.pem")

    p = node.install(api, "--allow-namespace", "gitlab-runner")
    assert p.returncode == 0, p.stdout + p.stderr
    lines = applied_lines(p.stdout)
    assert lines["Secret gitlab-runner/docker-dind-client"] == "configured"
    assert lines["Secret kube-ops/docker-dind-prune-client"] == "created"
    assert "checker  renewed: it names 'dind-cache-checker', not 'dind-cache:checker'" in p.stdout, p.stdout
    assert "Secret kube-ops/docker-dind-client deleted (no tenant of this daemon)" in p.stdout
    # Revoked, as it still verifies under the CA: the daemon refuses it from now on.
    assert f"the client certificate every job shared: certificate {legacy_serial} (CN dind-cache-ci) revoked" \
        in p.stdout, p.stdout
    assert f"{PKI_DIR}/client removed: each allowed namespace has its own certificate now" in p.stdout, p.stdout
    revoked = (node.dirs.upper("/var/lib") / "dind-cache/authz/revoked").read_text()
    assert revoked.startswith(f"{legacy_serial}\tdind-cache-ci\t"), revoked
    assert not (pki / "client").exists()
    assert api.object("secrets", "docker-dind-client", NS) is None
    # The same Secret, updated in place (its uid stays): the jobs' volumes follow it.
    now = api.object("secrets", "docker-dind-client", "gitlab-runner")
    assert now["metadata"]["uid"] == runner_secret["uid"]
    mine = secret_files(api, "docker-dind-client", "gitlab-runner", tmp_path / "runner")
    assert subject_serial(mine / "cert.pem")[0] == "CN=gitlab-runner"
    assert subject_serial(pki / "checker" / "cert.pem")[0] == "CN=dind-cache:checker"
    assert node.env()["DIND_CACHE_PRUNE_CERT_PATH"] == "/etc/dind-cache/pki/pruner"
    quiet = node.install(api, "--allow-namespace", "gitlab-runner")
    assert quiet.returncode == 0 and set(applied_lines(quiet.stdout).values()) == {"unchanged"}, quiet.stdout


def generation(api):
    return api.object("deployments", "docker-dind", NS)["metadata"]["generation"]


def test_rotate_ca_trusts_old_and_new_until_the_settling_run_which_rolls_the_daemon_once(
        api, node, tmp_path, dockerd_factory):
    """--rotate-ca, then the run that settles it: the old CA leaves the trust bundle and
    the daemon's pod template changes once more (the bundle's hash), so the daemon no
    longer trusts the old CA: a real dockerd 28.5.2 serving the settled server Secret
    refuses a job's certificate of the old CA and takes the new one."""
    api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gitlab-runner"}})
    tenant = ("--allow-namespace", "gitlab-runner")
    assert node.install(api, *tenant).returncode == 0
    old_ca = (node.etc_upper / PKI_REL / "ca" / "cert.pem").read_text()
    old_job = secret_files(api, "docker-dind-client", "gitlab-runner", tmp_path / "old-job")
    pods = pod_names(api)

    def bundle(name="docker-dind-prune-client", ns=NS):
        return base64.b64decode(api.object("secrets", name, ns)["data"]["ca.pem"]).decode()

    def annotations():
        return api.object("deployments", "docker-dind", NS)["spec"]["template"]["metadata"]["annotations"]

    rotated = node.install(api, *tenant, "--rotate-ca")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "CA       renewed: --rotate-ca" in rotated.stdout
    both = bundle()
    assert both.count("BEGIN CERTIFICATE") == 2 and old_ca in both
    assert bundle("docker-dind-server") == both == bundle("docker-dind-client", "gitlab-runner")
    rotated_pods, rotated_generation = pod_names(api), generation(api)
    assert rotated_pods and not set(rotated_pods) & set(pods)     # the daemon restarted with the bundle

    # Meanwhile the daemon trusts both CAs: a client certificate of the old CA is still
    # taken (the job verifying the new server certificate by the bundle it now has).
    certs = tmp_path / "certs"
    secret_files(api, "docker-dind-server", NS, certs / "server")
    daemon = dockerd_factory(tmp_path / "data-root", tls_dir=certs, ip=api.cluster_ip, port=2376, which="pinned")
    host = f"tcp://{api.cluster_ip}:2376"
    old_cert_new_bundle = tmp_path / "old-cert-new-bundle"
    shutil.copytree(old_job, old_cert_new_bundle)
    (old_cert_new_bundle / "ca.pem").write_text(both)
    during = docker(old_cert_new_bundle, host, "version", "--format", "{{.Server.Version}}")
    assert during.returncode == 0 and during.stdout.startswith("28.5.2"), during.stderr
    daemon.stop()

    settled = node.install(api, *tenant)
    assert settled.returncode == 0, settled.stderr
    assert "the previous CA left the trust bundle" in settled.stdout
    assert bundle().count("BEGIN CERTIFICATE") == 1 and old_ca not in bundle()
    assert old_ca not in bundle("docker-dind-server")
    # The trust bundle's hash is in the pod template: it changed once, and the pod with it.
    assert generation(api) == rotated_generation + 1
    assert annotations()["dind-cache.io/trust-bundle-sha256"] == \
        hashlib.sha256(bundle("docker-dind-server").encode()).hexdigest()
    settled_pods = pod_names(api)
    assert settled_pods and not set(settled_pods) & set(rotated_pods)
    quiet = node.install(api, *tenant)
    assert quiet.returncode == 0 and set(applied_lines(quiet.stdout).values()) == {"unchanged"}, quiet.stdout
    assert generation(api) == rotated_generation + 1 and pod_names(api) == settled_pods

    # The settled daemon, as the restarted pod runs it: the old CA's job is refused.
    for f in (certs / "server").iterdir():
        f.unlink()
    secret_files(api, "docker-dind-server", NS, certs / "server")
    new_job = secret_files(api, "docker-dind-client", "gitlab-runner", tmp_path / "new-job")
    dockerd_factory(tmp_path / "data-root", tls_dir=certs, ip=api.cluster_ip, port=2376, which="pinned")
    refused = docker(old_cert_new_bundle, host, "version", "--format", "{{.Server.Version}}")
    assert refused.returncode != 0 and not refused.stdout.startswith("28.5.2"), refused.stdout
    # The daemon asks for a certificate of the CAs it trusts: the Go client has none to offer.
    assert "certificate required" in refused.stderr or "bad certificate" in refused.stderr, refused.stderr
    ok = docker(new_job, host, "version", "--format", "{{.Server.Version}}")
    assert ok.returncode == 0 and ok.stdout.startswith("28.5.2"), ok.stderr


PRIVATE_KEY = re.compile(rb"-----BEGIN ([A-Z0-9 ]+ )?PRIVATE KEY-----")


def public_key(pem, kind):
    """The DER of the public key of a certificate or private key (PEM bytes), by openssl."""
    args = ["x509", "-pubkey", "-noout"] if kind == "cert" else ["pkey", "-pubout"]
    pub = subprocess.run(["openssl", *args], input=pem, capture_output=True, check=True).stdout
    return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, capture_output=True,
                          check=True).stdout


def private_keys_out_of_place(api, pki):
    """Where a private key is where none belongs: in a Secret's ca.pem or cert.pem, more
    than one in its key.pem or one that is not its certificate's (the CA's, say); in a
    node folder's ca.pem (the trust bundle) or cert.pem, or in any file of the PKI but
    a key.pem."""
    wrong = []
    ca_key = public_key((pki / "ca" / "key.pem").read_bytes(), "key")
    secrets = api.objects("secrets")
    assert len(secrets) >= 3, [s["metadata"]["name"] for s in secrets]
    for s in secrets:
        where = f"Secret {s['metadata']['namespace']}/{s['metadata']['name']}"
        data = {k: base64.b64decode(v) for k, v in (s.get("data") or {}).items()}
        for key, value in data.items():
            found = len(PRIVATE_KEY.findall(value))
            if key != "key.pem" and found:
                wrong.append(f"{where}: {key} holds {found} private key(s)")
            if key == "key.pem" and found != 1:
                wrong.append(f"{where}: key.pem holds {found} private keys")
        if "key.pem" in data and len(PRIVATE_KEY.findall(data["key.pem"])) == 1:
            mine = public_key(data["key.pem"], "key")
            if mine == ca_key or mine != public_key(data["cert.pem"], "cert"):
                wrong.append(f"{where}: key.pem is not its certificate's key")
    for f in sorted(pki.rglob("*")):
        if f.is_file() and f.name != "key.pem" and PRIVATE_KEY.search(f.read_bytes()):
            wrong.append(f"node {f.relative_to(pki)} holds a private key")
    return wrong


def test_no_secret_and_no_trust_bundle_ever_carries_a_private_key(api, node):
    # A guard no other test held: the CA's key appended to the trust bundle passed every
    # one. Checked after a first install, a re-run, and a CA rotation (two CAs in the
    # bundle), in every Secret the fake API server holds and every file of the node's PKI.
    api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gitlab-runner"}})
    pki = node.etc_upper / PKI_REL
    for extra in ((), (), ("--rotate-ca",), ()):
        p = node.install(api, "--allow-namespace", "gitlab-runner", *extra)
        assert p.returncode == 0, p.stdout + p.stderr
        assert private_keys_out_of_place(api, pki) == [], extra


def dry_run_bodies_hold_no_key(api):
    """Every request a dry run sent: no private key, in plain text or in a Secret's base64."""
    sent = [r for r in api.requests if r["method"] in ("POST", "PUT", "PATCH")]
    assert sent, "the dry run sent nothing"
    secrets = 0
    for r in sent:
        assert r["query"].get("dryRun") == ["All"], (r["method"], r["path"])
        assert b"PRIVATE KEY" not in r["body"], r["path"]
        obj = json.loads(r["body"])
        if obj.get("kind") == "Secret":
            secrets += 1
            for field in ("data", "stringData"):
                for value in (obj.get(field) or {}).values():
                    text = base64.b64decode(value) if field == "data" else value.encode()
                    assert b"PRIVATE KEY" not in text, (r["path"], field)
    return secrets


def test_a_dry_run_makes_no_key_and_sends_none(api, node):
    # A plaintext install first: the Service has its ClusterIP, so a dry run reaches the
    # certificates' step and the Secrets are sent to the API server (dryRun=All).
    assert node.install(api, "--plaintext").returncode == 0
    api.requests.clear()
    p = node.install(api, "--dry-run")
    assert p.returncode == 0, p.stdout + p.stderr
    assert dry_run_bodies_hold_no_key(api) == 2
    assert "would be created" in p.stdout
    assert "Secret kube-ops/docker-dind-server created (dry run, sent without its data)" in p.stdout, p.stdout
    assert not (node.etc_upper / PKI_REL).exists()
    assert api.object("secrets", "docker-dind-server", NS) is None

    # On a TLS install, a dry run that would renew every certificate sends no key either,
    # and leaves every byte on the node as it was.
    assert node.install(api).returncode == 0
    before = pki_bytes(node)
    api.requests.clear()
    p = node.install(api, "--dry-run", "--renew-certs")
    assert p.returncode == 0, p.stdout + p.stderr
    assert dry_run_bodies_hold_no_key(api) == 2
    assert "would be renewed: --renew-certs" in p.stdout
    assert pki_bytes(node) == before
    assert sorted(p.name for p in (node.etc_upper / PKI_REL / "server").iterdir()) == \
        ["ca.pem", "cert.pem", "key.pem"]


def test_a_ca_rotation_killed_between_key_and_certificate_converges(api, node):
    if os.uname().machine != "x86_64" or not shutil.which("gdb"):
        pytest.skip("the kill needs gdb on x86_64 (the breakpoint reads rename's $rsi)")
    assert node.install(api).returncode == 0
    ca = node.etc_upper / PKI_REL / "ca"
    old_ca = (ca / "cert.pem").read_text()

    # install --rotate-ca under gdb, killed (SIGKILL) when it is about to put the new
    # CA certificate in place: its new key is already there.
    kubeconfig = api.kubeconfig(node.tmp / "kubeconfig")
    target = "/etc/" + PKI_REL + "/ca/cert.pem"
    killed = node.run("gdb", "-q", "-batch", "-nx", "-ex", f'break rename if $_streq((char *) $rsi, "{target}")',
                      "-ex", "run", "-ex", "kill", "--args", BINARY,
                      *node.install_args(api, "--rotate-ca", kubeconfig=kubeconfig), timeout=240)
    assert "killed]" in killed.stdout, killed.stdout + killed.stderr
    assert (ca / "cert.pem").read_text() == old_ca
    assert (ca / "cert.pem.new").exists()

    again = node.install(api)
    assert again.returncode == 0, again.stdout + again.stderr
    new_ca = (ca / "cert.pem").read_text()
    assert new_ca != old_ca and not (ca / "cert.pem.new").exists()
    # The key on disk is the new certificate's, the leaves are the new CA's, and the
    # old CA stays trusted while the jobs still hold its client certificate.
    pki = node.etc_upper / PKI_REL
    assert openssl_verify(ca / "cert.pem", pki / "server" / "cert.pem", "-purpose", "sslserver").returncode == 0
    bundle = (pki / "prune-job" / "ca.pem").read_text()
    assert old_ca in bundle and new_ca in bundle
    assert sh("openssl", "x509", "-in", ca / "cert.pem", "-noout", "-pubkey").stdout == \
        sh("openssl", "pkey", "-in", ca / "key.pem", "-pubout").stdout
    assert node.install(api).returncode == 0
