"""Hostile input at the edges (issue 11): what comes from stdin, the API server, the
daemon, files and the environment is never trusted. Each test is named for the fault it
guards against and fails without its fix."""

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import BINARY, PrivateDirs, run_tool
from kube_fixtures import ready_cluster

NODE = "node1"


@pytest.fixture
def api(kube_api):
    return ready_cluster(kube_api, NODE)


def put_rendered_objects(api):
    rendered = run_tool("render")
    assert rendered.returncode == 0, rendered.stderr
    objects = [o for o in yaml.safe_load_all(rendered.stdout) if o]
    for obj in objects:
        api.put_object(obj, manager="dind-cache")
    return objects


# ---- 1: a request sends exactly the body it was given, and never reads stdin

def test_uninstall_delete_requests_send_no_body_and_never_read_stdin(api, tmp_path):
    put_rendered_objects(api)
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    api.clear_requests()
    # An interactive shell: stdin is open, holds what the operator typed, never ends.
    # (The node's own /etc: uninstall reads the env file.)
    p = subprocess.Popen(PrivateDirs(tmp_path / "node").command(
                             BINARY, "uninstall", "--delete-cluster-objects", "--dry-run", "--kubeconfig", kubeconfig),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        p.stdin.write("typed by the operator\n")
        p.stdin.flush()
        out, err = _wait_keeping_stdin(p)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, out + err
    deletes = [r for r in api.requests if r["method"] == "DELETE"]
    assert deletes, "no DELETE was sent"
    for r in deletes:
        assert r["body"] == b"", (r["path"], r["body"])
        assert "chunked" not in (r["headers"].get("Transfer-Encoding") or "")


def _wait_keeping_stdin(p, timeout=15):
    """Waits for P to exit while its stdin stays open (as a terminal's would)."""
    deadline = time.monotonic() + timeout
    while p.poll() is None:
        if time.monotonic() > deadline:
            p.kill()
            out, err = p.communicate()
            pytest.fail("the command waited for stdin: " + out + err)
        time.sleep(0.1)
    return p.stdout.read(), p.stderr.read()


# ---- 11, 12: arguments are printable UTF-8, refused at parse time and echoed escaped

def test_newline_in_data_dir_cannot_forge_a_preflight_line(tmp_path):
    forged = f"{tmp_path}/x\n[OK]      dedicated_fs: forged"
    r = run_tool("preflight", "--data-dir", forged)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "[OK]" not in r.stdout
    assert "\n[OK]" not in r.stderr
    assert "argument '" in r.stderr and "x\\n[OK]" in r.stderr and "control character" in r.stderr


@pytest.mark.parametrize("flag", ["--image", "--data-dir", "--registry-mirror"])
def test_value_that_is_not_utf8_is_a_usage_error_naming_it(flag):
    value = b"/srv/docker\xff\xfe" if flag == "--data-dir" else b"https://mirror\xff.example"
    p = subprocess.run([str(BINARY).encode(), b"render", flag.encode(), value],
                       capture_output=True, timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert "Cannot allocate memory" not in err
    assert "is not valid UTF-8" in err and "\\xff" in err
    assert p.stdout == b""


def test_escape_sequences_in_arguments_never_reach_the_terminal():
    r = run_tool("render", "--image", "docker:28\x1b]0;owned\x07")
    assert r.returncode == 2
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert "\\e]0;owned\\x07" in r.stderr
    unknown = run_tool("in\x1b[2Jstall")
    assert unknown.returncode == 2
    assert "\x1b" not in unknown.stderr and "unknown command 'in\\e[2Jstall'" in unknown.stderr


# ---- 11, 12, 13: check's settings: a bad DOCKER_HOST is UNKNOWN, named and capped

def check_with(env, data_dir):
    full = {"DIND_CACHE_DATA_DIR": str(data_dir), **env}
    return run_tool("check", "--no-journal", env=full, timeout=60)


@pytest.mark.parametrize("host", ["tcp://[1]:2375", "tcp://" + "a" * 10000 + ":2375",
                                  "tcp://256.0.0.1:2375", "tcp://host:0", "tcp://host:99999",
                                  "unix://" + "/d" * 60 + "/docker.sock"])
def test_bad_docker_host_is_unknown_naming_the_variable_capped(tmp_path, host):
    r = check_with({"DOCKER_HOST": host}, tmp_path)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "DOCKER_HOST=" in r.stdout and "is not supported" in r.stdout
    assert "does not answer" not in r.stdout
    assert len(r.stdout) < 2000, len(r.stdout)


@pytest.mark.parametrize("name", ["DOCKER_HOST", "DIND_CACHE_DATA_DIR"])
def test_setting_that_is_not_utf8_is_unknown_not_out_of_memory(tmp_path, name):
    env = dict(os.environ, DIND_CACHE_DATA_DIR=str(tmp_path))
    envb = {k.encode(): v.encode() for k, v in env.items()}
    envb[name.encode()] = b"tcp://h\xff:2375" if name == "DOCKER_HOST" else str(tmp_path).encode() + b"/\xff"
    for args in ([b"check", b"--no-journal"], [b"check", b"--no-journal", b"--json"]):
        p = subprocess.run([str(BINARY).encode(), *args], env=envb, capture_output=True, timeout=60)
        out = p.stdout.decode() + p.stderr.decode()
        assert p.returncode == 3, out
        assert "Cannot allocate memory" not in out
        assert name + "=" in out and "\\xff" in out and "is not valid UTF-8" in out


def test_escape_characters_in_docker_host_are_echoed_escaped(tmp_path):
    r = check_with({"DOCKER_HOST": "tcp://h\x1b[2J:2375\n[OK]      daemon: forged"}, tmp_path)
    assert r.returncode == 3
    assert "\x1b" not in r.stdout
    assert not any(line.startswith("[OK]      daemon") for line in r.stdout.splitlines())
    assert "\\e[2J" in r.stdout and "control character" in r.stdout


# ---- 3: a FIFO where a file is expected never blocks install

@pytest.fixture
def node(tmp_path, loops):
    from test_install_cluster import Node
    return Node(tmp_path, loops)


def fifo_instead_of(path):
    path = Path(path)
    if path.exists():
        path.unlink()
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("which", ["kubeconfig", "tokenFile", "client-certificate",
                                   "certificate-authority"])
def test_fifo_named_by_the_kubeconfig_is_refused_not_waited_on(api, node, tmp_path, which):
    auth = "token-file" if which == "tokenFile" else "cert"
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig", auth=auth)
    text = kubeconfig.read_text()
    if which == "kubeconfig":
        fifo = fifo_instead_of(kubeconfig)
    elif which == "tokenFile":
        fifo = fifo_instead_of(str(kubeconfig) + ".token")
    else:
        fifo = fifo_instead_of(tmp_path / "fifo.pem")
        original = str(api.client_cert_file if which == "client-certificate" else api.ca_file)
        assert original in text
        kubeconfig.write_text(text.replace(original, str(fifo)))
    try:
        p = node.install(api, kubeconfig=kubeconfig, timeout="10s")
    except subprocess.TimeoutExpired:
        pytest.fail(f"install waited on the FIFO {fifo}")
    assert p.returncode != 0
    assert "not a regular file" in p.stderr and str(fifo) in p.stderr, p.stderr
    assert [r for r in api.requests if r["method"] == "PATCH"] == []


def test_a_fifo_in_kubeconfig_env_is_named_not_a_regular_file(api, node, tmp_path):
    # Found through $KUBECONFIG, not --kubeconfig: the FIFO is named for what it is, not
    # "no file of $KUBECONFIG exists", and not skipped for the next entry.
    good = api.kubeconfig(tmp_path / "kubeconfig")
    fifo = fifo_instead_of(tmp_path / "fifo-config")
    env = dict(os.environ, KUBECONFIG=f"{tmp_path / 'missing'}:{fifo}:{good}", HOME=str(tmp_path))
    p = node.install(api, kubeconfig="", env=env, timeout="10s")
    assert p.returncode != 0
    assert f"kubeconfig '{fifo}' (in $KUBECONFIG): not a regular file" in p.stderr, p.stderr
    assert "exists" not in p.stderr
    assert [r for r in api.requests if r["method"] == "PATCH"] == []


# ---- 6: the server URL is validated: no query, fragment, user info; a real port

@pytest.mark.parametrize("suffix,words", [("/?x", "no query or fragment"),
                                          ("/#f", "no query or fragment")])
def test_server_url_with_query_or_fragment_is_refused_before_any_request(api, node, tmp_path, suffix,
                                                                        words):
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig", server=api.url + suffix)
    api.clear_requests()
    p = node.install(api, kubeconfig=kubeconfig)
    assert p.returncode != 0
    assert words in p.stderr, p.stderr
    assert api.requests == []


@pytest.mark.parametrize("port", ["0", "99999"])
def test_server_url_port_out_of_range_is_refused(api, node, tmp_path, port):
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig", server=f"https://127.0.0.1:{port}")
    p = node.install(api, kubeconfig=kubeconfig)
    assert p.returncode != 0
    assert "port is not a number from 1 to 65535" in p.stderr, p.stderr


def test_escape_characters_in_context_name_are_echoed_escaped(api, node, tmp_path):
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig", context="ctx\x1b]0;owned\x07")
    p = node.install(api, kubeconfig=kubeconfig)
    assert p.returncode != 0
    assert "\x1b" not in p.stderr + p.stdout and "\x07" not in p.stderr + p.stdout
    assert "ctx\\e]0;owned\\x07" in p.stderr, p.stderr


# ---- the kubeconfig's CA is the only trust

def run_with_system_trusting(ca_file, tmp_path, *args):
    """Runs dind-cache ARGS with the node's own /etc (PrivateDirs), whose system trust
    store (/etc/ssl/certs, the bundle and its hashed links) holds CA_FILE, as if the
    node's administrator had installed it. The live /etc is never touched."""
    store = tmp_path / "system-certs"
    store.mkdir(parents=True)
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    ca = Path(ca_file).read_text()
    (store / "ca-certificates.crt").write_text((bundle.read_text() if bundle.exists() else "") + ca)
    h = subprocess.run(["openssl", "x509", "-noout", "-subject_hash", "-in", str(ca_file)],
                       capture_output=True, text=True, check=True).stdout.strip()
    (store / f"{h}.0").write_text(ca)
    script = 'mount --bind "$1" /etc/ssl/certs && shift && exec "$@"'
    cmd = PrivateDirs(tmp_path / "node").command("sh", "-c", script, "sh", store, BINARY, *args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_system_trusted_ca_is_refused_when_the_kubeconfig_names_another(api, tmp_path):
    # The control: with no CA in the kubeconfig, the system store is what is trusted,
    # and it trusts the API server's CA.
    system = api.kubeconfig(tmp_path / "system-roots", ca="none")
    ok = run_with_system_trusting(api.ca_file, tmp_path / "a", "uninstall", "--delete-cluster-objects",
                                  "--dry-run", "--kubeconfig", system)
    assert ok.returncode == 0, ok.stderr
    assert any(r["method"] == "DELETE" for r in api.requests)

    # A kubeconfig that names its own CA trusts that CA alone: the server's
    # certificate chains to a CA the system trusts, not to the one named.
    api.clear_requests()
    named = api.kubeconfig(tmp_path / "named-ca", ca="wrong")
    p = run_with_system_trusting(api.ca_file, tmp_path / "b", "uninstall", "--delete-cluster-objects",
                                 "--dry-run", "--kubeconfig", named)
    assert p.returncode != 0, p.stderr
    assert "certificate" in p.stderr.lower(), p.stderr
    assert not any(r["method"] == "DELETE" for r in api.requests)
