"""Routing CI jobs to the same cache daemon: scripts/dind-cache-route.sh under Debian's
busybox sh, with a PATH that holds busybox applets and the real docker CLI only (no
bash, no dash, no python), probing real listeners: a real dockerd that answers, a
closed port, and a socket that accepts connections but never answers."""

import collections
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, free_port, pinned_dockerd, sh, wait_for

SCRIPT = ROOT / "scripts" / "dind-cache-route.sh"
DOCKER_CLI = Path("/usr/bin/docker")
THREE = ["docker-dind-a.kube-ops.svc:2375", "docker-dind-b.kube-ops.svc:2375",
         "docker-dind-c.kube-ops.svc:2375"]


def busybox_path():
    for p in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(p):
            return p
    pytest.skip("busybox is not installed (scripts/install-deps installs it)")


@pytest.fixture(scope="module")
def bb(tmp_path_factory):
    """Runs a script under busybox sh with the route file sourced, in an environment
    with nothing on PATH but busybox's applets and the docker CLI."""
    busybox = busybox_path()
    tmp = tmp_path_factory.mktemp("route")
    bindir = tmp / "bin"
    bindir.mkdir()
    for applet in sh(busybox, "--list").stdout.split():
        (bindir / applet).symlink_to(busybox)
    for shell in ("bash", "dash"):
        assert not (bindir / shell).exists()
    if DOCKER_CLI.exists():
        (bindir / "docker").symlink_to(DOCKER_CLI)
    home = tmp / "home"
    home.mkdir()

    def run(script, env=None, timeout=120, source=True):
        full_env = {"PATH": str(bindir), "HOME": str(home),
                    "DOCKER_CONFIG": str(home / ".docker")}
        full_env.update(env or {})
        if source:
            script = f". '{SCRIPT}'\n{script}"
        return subprocess.run([busybox, "sh", "-c", script],
                              text=True, capture_output=True, env=full_env, timeout=timeout)

    return run


def rank_all(bb, members, ids):
    """{id: ranking} for each project id, all ranked in one busybox shell."""
    script = ('for i in ' + " ".join(str(i) for i in ids) + '; do echo "= $i"; '
              'dind_cache_rank "$i" ' + " ".join(members) + ' || exit 9; done')
    r = bb(script)
    assert r.returncode == 0, r.stderr
    ranks = {}
    for block in r.stdout.split("= ")[1:]:
        lines = block.strip().split("\n")
        ranks[int(lines[0])] = lines[1:]
    assert sorted(ranks) == sorted(ids)
    return ranks


_ranked = {}


def first_choices(bb, members, ids):
    """rank_all, computed once per module for the same members and ids (each run
    ranks 1,000 ids: a few seconds of busybox sh)."""
    k = (tuple(members), tuple(ids))
    if k not in _ranked:
        _ranked[k] = rank_all(bb, members, ids)
    return _ranked[k]


IDS = range(1, 1001)


def test_thousand_projects_spread_over_three_members(bb):
    ranks = first_choices(bb, THREE, IDS)
    for ranking in ranks.values():
        assert sorted(ranking) == sorted(THREE)
    counts = collections.Counter(r[0] for r in ranks.values())
    assert set(counts) == set(THREE)
    for member, n in counts.items():
        assert 250 <= n <= 420, counts


def test_a_project_always_gets_the_same_member_whatever_the_order(bb):
    first = first_choices(bb, THREE, IDS)
    again = rank_all(bb, THREE, IDS)  # a second, separate run
    reordered = first_choices(bb, [THREE[2], THREE[0], THREE[1]], IDS)
    assert again == first
    assert reordered == first


def test_removing_a_member_moves_only_its_projects(bb):
    before = first_choices(bb, THREE, IDS)
    gone = THREE[1]
    after = first_choices(bb, [THREE[0], THREE[2]], IDS)
    moved = [i for i in IDS if after[i][0] != before[i][0]]
    assert moved, "the removed member had no projects"
    for i in IDS:
        if before[i][0] == gone:
            # Its projects go to their second choice; nobody else moves.
            assert after[i][0] == before[i][1]
        else:
            assert after[i][0] == before[i][0]
    assert sorted(moved) == sorted(i for i in IDS if before[i][0] == gone)


def test_adding_a_member_takes_projects_only_for_itself(bb):
    before = first_choices(bb, THREE, IDS)
    new = "docker-dind-d.kube-ops.svc:2375"
    after = first_choices(bb, THREE + [new], IDS)
    for i in IDS:
        assert after[i][0] in (before[i][0], new)
    assert 150 <= sum(after[i][0] == new for i in IDS) <= 350


@pytest.mark.parametrize("shell", ["dash", "bash", "mksh"])
def test_other_shells_rank_the_same(bb, shell):
    # mksh computes in 32 bits: the hash never needs more.
    path = shutil.which(shell)
    if not path:
        pytest.skip(f"{shell} is not installed (scripts/install-deps installs it)")
    ids = range(1, 101)
    want = first_choices(bb, THREE, ids)
    script = (f". '{SCRIPT}'; for i in " + " ".join(map(str, ids)) +
              '; do echo "= $i"; dind_cache_rank "$i" ' + " ".join(THREE) + '; done')
    out = sh(path, "-c", script).stdout
    got = {int(b.split("\n")[0]): b.strip().split("\n")[1:] for b in out.split("= ")[1:]}
    assert got == want


# The weights as the script's header defines them, to find members whose weights tie.
M31 = 2**31 - 1


def _mix(h):
    for _ in range(4):
        h = 48271 * h % M31
        h = (h ^ (h >> 15)) % (M31 - 1) + 1
    return h


def _hash(text):
    h = 5381 + len(text)
    for c in text.encode():
        h = 48271 * ((h ^ c) % (M31 - 1) + 1) % M31
    return _mix(h)


def weight(key, member):
    return _mix((_hash(member) ^ _hash(key)) % (M31 - 1) + 1)


def test_equal_weights_go_to_the_smaller_member_string(bb):
    # The definition above ranks as the script does.
    ids = range(1, 101)
    for i, ranking in first_choices(bb, THREE, ids).items():
        assert ranking == sorted(THREE, key=lambda m: (-weight(str(i), m), m))
    # Two members that tie for key 7 (found by searching 400,000 names).
    a = "docker-dind-169517.kube-ops.svc:2375"
    b = "docker-dind-401810.kube-ops.svc:2375"
    assert weight("7", a) == weight("7", b)
    for members in ([a, b], [b, a]):
        r = bb(f"dind_cache_rank 7 {members[0]} {members[1]}")
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [a, b]


def test_bad_input_is_refused_without_leaving_the_shell(bb):
    # Each call's return status, then the caller's IFS and -f, and no _dc_ variables left.
    r = bb(r"""
set -u
IFS=':'
try() { "$@" >/dev/null && echo "ok $1" || echo "rc=$?"; }
try dind_cache_rank
try dind_cache_rank '' a:1
try dind_cache_rank 42 a:1 nohost
try dind_cache_rank 42 a:1 'a b:1'
try dind_cache_rank 42 a:0
try dind_cache_rank 42 a:65536
try dind_cache_rank 42 'a:1*'
try dind_cache_rank "$(printf 'x\033[2J')" a:1
try dind_cache_rank 42 '[::1]:2375' 127.0.0.1:2375 a.b-c:1
try dind_cache_route
try dind_cache_route extra
CI_PROJECT_ID=7 DIND_CACHE_HOSTS=' , ' try dind_cache_route
CI_PROJECT_ID=7 DIND_CACHE_HOSTS='a:1 *' try dind_cache_route
CI_PROJECT_ID=7 DIND_CACHE_HOSTS=a:1 DIND_CACHE_PROBE_TIMEOUT=0 try dind_cache_route
CI_PROJECT_ID=7 DIND_CACHE_HOSTS=a:1 DIND_CACHE_PROBE_TIMEOUT=5s try dind_cache_route
echo "still here IFS=[$IFS] opts=$-"
set | grep '^_dc_' | grep -v '^_dc_ascii=' || echo "no leftovers"
""", env={"CI_PROJECT_ID": ""})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:15] == [
        "rc=2", "rc=2", "rc=2", "rc=2", "rc=2", "rc=2", "rc=2", "rc=2", "ok dind_cache_rank",
        "rc=2", "rc=2", "rc=2", "rc=2", "rc=2", "rc=2"], r.stdout
    assert "still here IFS=[:]" in r.stdout
    assert "f" not in r.stdout.split("opts=")[1].split("\n")[0]
    assert "no leftovers" in r.stdout
    err = r.stderr
    assert "dind_cache_rank: usage: dind_cache_rank KEY HOST:PORT..." in err
    assert "dind_cache_rank: the key is empty" in err
    assert "dind_cache_rank: member 'nohost' is not HOST:PORT" in err
    assert "member 'a b:1' is not HOST:PORT" in err
    assert "member 'a:0' is not HOST:PORT" in err
    assert "member 'a:65536' is not HOST:PORT" in err
    assert "member 'a:1*' is not HOST:PORT" in err
    # The escape character never reaches the terminal.
    assert "key 'x?[2J' holds characters other than printable ASCII" in err
    assert "\033" not in err
    assert "dind_cache_route: neither DIND_CACHE_KEY nor CI_PROJECT_ID is set" in err
    assert "dind_cache_route: takes no arguments" in err
    assert "dind_cache_route: DIND_CACHE_HOSTS is empty" in err
    assert "member '*' is not HOST:PORT" in err
    assert "DIND_CACHE_PROBE_TIMEOUT '0' is not a number of seconds from 1 to 300" in err
    assert "DIND_CACHE_PROBE_TIMEOUT '5s' is not" in err


def test_help_says_how_to_call_them(bb):
    r = bb("dind_cache_rank --help && dind_cache_route --help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: dind_cache_rank KEY HOST:PORT...\n")
    assert "usage: dind_cache_route\n" in r.stdout
    assert "DIND_CACHE_HOSTS" in r.stdout and "DOCKER_CERT_PATH" in r.stdout
    assert r.stderr == ""


class BlackHole:
    """A loopback socket that completes TCP handshakes (the kernel's backlog) and
    never reads or answers."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        return self

    def __exit__(self, *exc):
        self.sock.close()


def closed_port():
    return free_port()


def key_ranking(bb, members, want):
    """A project id whose ranking over MEMBERS is WANT (a list of members, best first)."""
    ranks = first_choices(bb, members, range(1, 301))
    for i, ranking in ranks.items():
        if ranking == want:
            return i
    raise AssertionError(f"no id in 1..300 ranks {want}")


@pytest.fixture
def live_daemon(tmp_path, dockerd_factory):
    if not DOCKER_CLI.exists():
        pytest.skip("the docker CLI (/usr/bin/docker, Debian's docker.io) is missing")
    return dockerd_factory(tmp_path / "docker-data")


def test_members_that_do_not_answer_are_skipped_for_a_real_daemon(bb, live_daemon):
    # Ranked for the id chosen: the closed port, the silent one, then the daemon.
    closed = f"127.0.0.1:{closed_port()}"
    live = f"127.0.0.1:{live_daemon.port}"
    with BlackHole() as hole:
        silent = f"127.0.0.1:{hole.port}"
        members = [closed, silent, live]
        key = key_ranking(bb, members, [closed, silent, live])
        r = bb("""
set -eu
dind_cache_route
echo "DOCKER_HOST=$DOCKER_HOST MEMBER=$DIND_CACHE_MEMBER CERTS=${DOCKER_CERT_PATH-unset}"
docker version --format 'server {{.Server.Version}}'
""", env={"CI_PROJECT_ID": str(key), "DIND_CACHE_HOSTS": f"{live},{silent} {closed}",
          "DIND_CACHE_PROBE_TIMEOUT": "2", "DOCKER_TLS_VERIFY": ""})
    assert r.returncode == 0, r.stderr
    assert f"DOCKER_HOST=tcp://{live} MEMBER={live} CERTS=unset" in r.stdout
    server = live_daemon.info()["ServerVersion"]
    assert f"server {server}" in r.stdout
    err = r.stderr
    assert f"dind_cache_route: skipping {closed} (rank 1 of 3): docker version failed" in err
    assert f"dind_cache_route: skipping {silent} (rank 2 of 3): no answer within 2s" in err
    assert (f"dind_cache_route: key '{key}' -> {live} (rank 3 of 3, docker {server}); "
            f"skipped {closed} (docker version failed") in err


def test_no_member_answering_fails_with_what_was_tried(bb):
    closed = f"127.0.0.1:{closed_port()}"
    with BlackHole() as hole:
        silent = f"127.0.0.1:{hole.port}"
        r = bb("""
dind_cache_route || echo "rc=$?"
echo "DOCKER_HOST=${DOCKER_HOST-unset}"
""", env={"CI_PROJECT_ID": "42", "DIND_CACHE_HOSTS": f"{closed} {silent}",
          "DIND_CACHE_PROBE_TIMEOUT": "1", "DOCKER_HOST": "tcp://before:2375"})
    assert r.returncode == 0, r.stderr
    assert "rc=1" in r.stdout
    assert "DOCKER_HOST=tcp://before:2375" in r.stdout
    last = r.stderr.strip().split("\n")[-1]
    assert last.startswith("dind_cache_route: no member answered for key '42'; tried: ")
    assert f"{closed} (docker version failed" in last
    assert f"{silent} (no answer within 1s)" in last


ODD_CERT_DIR = "certs \033[31mred\033]0;title\a\nforged: line \xe9"


@pytest.mark.parametrize("shell", ["busybox", "dash", "bash", "mksh"])
def test_the_certificate_directory_reaches_the_log_cleaned(bb, tmp_path, shell):
    # DIND_CACHE_CERT_DIR comes from the job's settings like every other value the
    # script prints: no escape sequence and no line break of it reaches the job log.
    certs = tmp_path / ODD_CERT_DIR
    certs.mkdir()
    member = f"127.0.0.1:{closed_port()}"
    script = "dind_cache_route || echo rc=$?"
    env = {"CI_PROJECT_ID": "7", "DIND_CACHE_HOSTS": member, "DOCKER_TLS_VERIFY": "1",
           "DIND_CACHE_CERT_DIR": str(certs), "DIND_CACHE_PROBE_TIMEOUT": "1"}
    if shell == "busybox":
        r = bb(script, env=env)
    else:
        path = shutil.which(shell)
        if not path:
            pytest.skip(f"{shell} is not installed (scripts/install-deps installs it)")
        r = subprocess.run([path, "-c", f". '{SCRIPT}'\n{script}"], capture_output=True, text=True,
                           env=dict(env, PATH="/usr/bin:/bin"), timeout=60)
    assert "rc=1" in r.stdout, r.stderr
    shown = str(tmp_path) + "/certs ?[31mred?]0;title? forged: line ??"
    want = f"dind_cache_route: skipping {member} (rank 1 of 1): TLS is on but '{shown}/127.0.0.1/ca.pem' is missing"
    assert want in r.stderr.split("\n"), r.stderr
    assert "\033" not in r.stderr and "\a" not in r.stderr and "\xe9" not in r.stderr
    assert all(line.startswith("dind_cache_route: ") for line in r.stderr.strip().split("\n")), r.stderr


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as
    docker's DOCKER_CERT_PATH wants them (ca.pem, cert.pem, key.pem)."""
    d.mkdir(parents=True)

    def ssl(*args):
        sh("openssl", *args, cwd=d)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test ca",
        "-keyout", "ca-key.pem", "-out", "ca.pem")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        (d / f"{name}.ext").write_text(ext + "\n")
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}-key.pem", "-out", f"{name}.csr")
        ssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem")
    return d


@pytest.fixture
def tls_daemon(tmp_path):
    """A real dockerd that speaks only mutual TLS on a loopback port."""
    if not DOCKER_CLI.exists():
        pytest.skip("the docker CLI (/usr/bin/docker, Debian's docker.io) is missing")
    pki = make_certs(tmp_path / "pki")
    # Short, under /tmp: containerd's socket path must fit in a unix socket address.
    run = Path(tempfile.mkdtemp(prefix="dc-tls-", dir="/tmp"))
    port = free_port()
    dockerd = pinned_dockerd() or "dockerd"
    log = open(run / "dockerd.log", "w")
    proc = subprocess.Popen(
        [str(dockerd), "--tlsverify", f"--tlscacert={pki / 'ca.pem'}",
         f"--tlscert={pki / 'server.pem'}", f"--tlskey={pki / 'server-key.pem'}",
         "-H", f"tcp://127.0.0.1:{port}", "-H", f"unix://{run / 'docker.sock'}",
         "--data-root", str(tmp_path / "data"), "--pidfile", str(run / "docker.pid"),
         "--exec-root", str(run / "exec"), "--iptables=false", "--ip6tables=false",
         "--bridge=none", "--storage-driver=vfs"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def up():
        if proc.poll() is not None:
            raise RuntimeError((run / "dockerd.log").read_text()[-2000:])
        return (run / "docker.sock").exists() and subprocess.run(
            [str(DOCKER_CLI), "-H", f"unix://{run / 'docker.sock'}", "version"],
            capture_output=True).returncode == 0

    try:
        wait_for(up, timeout=60, what="the TLS dockerd")
        yield port, pki
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(run, ignore_errors=True)


def test_mutual_tls_uses_the_chosen_members_certificates(bb, tmp_path, tls_daemon):
    port, pki = tls_daemon
    certs = tmp_path / ODD_CERT_DIR    # shown cleaned in the log, used as it is
    # The member's own directory, named by its host: the client certificate of this CA.
    mine = certs / "127.0.0.1"
    mine.mkdir(parents=True)
    shutil.copy(pki / "ca.pem", mine / "ca.pem")
    shutil.copy(pki / "client.pem", mine / "cert.pem")
    shutil.copy(pki / "client-key.pem", mine / "key.pem")
    # Another member (the same daemon under the name localhost) has no certificates.
    live = f"127.0.0.1:{port}"
    other = f"localhost:{port}"
    key = key_ranking(bb, [other, live], [other, live])
    r = bb("""
set -eu
dind_cache_route
echo "DOCKER_HOST=$DOCKER_HOST CERTS=$DOCKER_CERT_PATH"
docker version --format 'server {{.Server.Version}}'
""", env={"CI_PROJECT_ID": str(key), "DIND_CACHE_HOSTS": f"{other} {live}",
          "DOCKER_TLS_VERIFY": "1", "DIND_CACHE_CERT_DIR": str(certs),
          "DIND_CACHE_PROBE_TIMEOUT": "5"})
    assert r.returncode == 0, r.stderr
    assert f"DOCKER_HOST=tcp://{live} CERTS={mine}" in r.stdout
    assert "server " in r.stdout
    shown = str(tmp_path) + "/certs ?[31mred?]0;title? forged: line ??"
    assert (f"skipping {other} (rank 1 of 2): TLS is on but "
            f"'{shown}/localhost/ca.pem' is missing") in r.stderr
    assert f"certificates in {shown}/127.0.0.1)" in r.stderr
    assert "\033" not in r.stderr and "\xe9" not in r.stderr and len(r.stderr.strip().split("\n")) == 2

    # Without TLS settings the same daemon refuses the plain-TCP probe: skipped, rc 1.
    r = bb("dind_cache_route || echo rc=$?",
           env={"CI_PROJECT_ID": str(key), "DIND_CACHE_HOSTS": live,
                "DIND_CACHE_PROBE_TIMEOUT": "5"})
    assert "rc=1" in r.stdout, r.stderr
    assert f"skipping {live} (rank 1 of 1): docker version failed" in r.stderr


def test_the_script_survives_a_gitlab_include_template(bb, tmp_path):
    # README: the file's text indented into a literal block of a template's before_script.
    yaml = pytest.importorskip("yaml")
    body = sh("sed", "s/^/      /", SCRIPT).stdout
    template = (".dind-cache:\n  image: docker:28.5.2-cli\n  before_script:\n    - |\n"
                + body + "    - dind_cache_route\n")
    doc = yaml.safe_load(template)
    steps = doc[".dind-cache"]["before_script"]
    assert steps[0] == SCRIPT.read_text()
    assert steps[1] == "dind_cache_route"
    r = bb(steps[0] + "\ndind_cache_rank 42 " + " ".join(THREE), source=False)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == sorted(THREE)
