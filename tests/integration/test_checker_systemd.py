"""The checker under a real systemd and journald: install writes and starts its units,
the timer runs it, systemctl and journalctl show its results, status reads them back,
uninstall removes it all.

One systemd is booted for the whole module (booting takes seconds): the tests run in
file order and each leaves the node as the next one expects. The data directory is a
real xfs on a loop device, mounted inside systemd's mount namespace at
/mnt/k8s/docker (the overlay of / does not carry the host's mounts), and a real
dockerd on the host keeps its data root on the same filesystem; systemd shares the
host's network namespace, so the checker reaches that dockerd on a loopback address,
over mutual TLS with certificates in install's layout under /etc/dind-cache/pki."""

import contextlib
import json
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from conftest import BINARY, Dockerd, Systemd, make_pki, sh, wait_for
from kube_fixtures import kube_api  # noqa: F401 (a fixture)

pytestmark = pytest.mark.module_node

DATA_DIR = "/mnt/k8s/docker"
INSTALLED = "/usr/local/sbin/dind-cache"
SERVICE = "dind-cache-check.service"
TIMER = "dind-cache-check.timer"
PRUNE_SERVICE = "dind-cache-prune.service"
PRUNE_TIMER = "dind-cache-prune.timer"
PRUNE_STATE = "/var/lib/dind-cache/prune-state.json"
CACHE_STATE = "/var/lib/dind-cache/cache.json"
UNIT_DIR = Path("/etc/systemd/system")
ENV_FILE = "/etc/dind-cache/dind-cache.env"
CATALOG = "/usr/local/lib/systemd/catalog/dind-cache.catalog"
PKI = "/etc/dind-cache/pki"
DAEMON_IP = "127.0.0.47"
# What each unit's InaccessiblePaths= hides of the node's PKI (the legacy client/key.pem
# of installs before per-tenant identities too).
CHECKER_HIDDEN = ("ca/key.pem", "server/key.pem", "pruner/key.pem", "prune-job/key.pem", "tenants",
                  "client/key.pem")
PRUNER_HIDDEN = ("ca/key.pem", "server/key.pem", "checker/key.pem", "prune-job/key.pem", "tenants",
                 "client/key.pem")     # not 127.0.0.1, where another test may serve plaintext 2375


class Node:
    """A storage node: booted systemd, the cache disk mounted inside it, a dockerd."""

    def __init__(self, base):
        self.base = base
        self.systemd = Systemd(base / "systemd")
        self.dockerd = None
        self.device = None
        self.host_mount = base / "hostmnt"

    def up(self):
        img = self.base / "cache.img"
        sh("truncate", "-s", "1G", img)
        sh("mkfs.xfs", "-q", "-f", img)
        self.device = sh("losetup", "--find", "--show", img).stdout.strip()
        self.host_mount.mkdir()
        sh("mount", self.device, self.host_mount)
        self.pki = make_pki(self.base / "pki", server_names=("localhost", DAEMON_IP))
        self.dockerd = Dockerd(self.host_mount, self.base / "dockerd", tls_dir=self.pki, ip=DAEMON_IP).start()

        self.systemd.boot()
        self.run("mkdir", "-p", DATA_DIR)
        self.run("mount", self.device, DATA_DIR)
        self.systemd.install_binary(INSTALLED)
        shutil.copytree(self.pki, self.systemd.path(PKI))
        self.write_env(self.dockerd.host)
        return self

    def write_env(self, docker_host, extra=""):
        env = self.systemd.path(ENV_FILE)
        env.parent.mkdir(parents=True, exist_ok=True)
        env.write_text(f"DOCKER_HOST={docker_host}\nDIND_CACHE_DATA_DIR={DATA_DIR}\n"
                       f"DOCKER_TLS_VERIFY=1\nDOCKER_CERT_PATH={PKI}/checker\n{extra}")

    def run(self, *args, check=False, timeout=120):
        return self.systemd.run(*args, check=check, timeout=timeout)

    def tool(self, *args, timeout=180):
        return self.run(INSTALLED, *args, timeout=timeout)

    def down(self):
        with contextlib.suppress(Exception):
            self.systemd.shutdown()
        if self.dockerd:
            self.dockerd.stop()
        subprocess.run(["umount", "-l", str(self.host_mount)], capture_output=True)
        if self.device:
            subprocess.run(["losetup", "-d", self.device], capture_output=True)


@pytest.fixture(scope="module")
def node():
    assert BINARY.exists(), f"{BINARY} is missing: run make first"
    base = Path(tempfile.mkdtemp(prefix="dind-cache-checker-", dir="/var/tmp"))
    n = Node(base)
    try:
        yield n.up()
    finally:
        n.down()
        shutil.rmtree(base, ignore_errors=True)


def install(node, *extra):
    # The disk is already mounted and the manifests are applied elsewhere: the steps
    # that matter here are the env file (pre-written) and the checker.
    return node.tool("install", "--skip-apply", "--data-dir", DATA_DIR, "--check-interval", "2m",
                     "--prune-interval", "3m", *extra)


def journal(node, *args):
    return node.systemd.journal("-u", SERVICE, *args)


def summaries(node, after_usec=0):
    """The summary entries of the checker's runs logged after AFTER_USEC, oldest first."""
    out = node.systemd.journal("-o", "json", "SYSLOG_IDENTIFIER=dind-cache", "DIND_CHECK=summary")
    entries = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [e for e in entries if int(e["__REALTIME_TIMESTAMP"]) > after_usec]


def journal_now(node):
    """The realtime timestamp of the journal's newest entry."""
    out = node.systemd.journal("-n", "1", "-o", "json").strip()
    return int(json.loads(out.splitlines()[-1])["__REALTIME_TIMESTAMP"])


def test_install_writes_and_starts_the_checker(node):
    r = install(node)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "dind-cache check OK" in r.stdout

    service = node.systemd.path(UNIT_DIR / SERVICE).read_text()
    assert f"\nExecStart={INSTALLED} check\n" in service
    assert f"\nReadWritePaths=-{DATA_DIR} -/var/lib/prometheus/node-exporter\n" in service
    assert "\nOnUnitActiveSec=2min\n" in node.systemd.path(UNIT_DIR / TIMER).read_text()
    assert node.systemd.path(CATALOG).exists()

    timers = node.run("systemctl", "list-timers", "--all", TIMER, check=True).stdout
    line = next(l for l in timers.splitlines() if TIMER in l)
    assert not line.startswith("n/a"), timers  # it has a next run
    assert node.run("systemctl", "is-enabled", TIMER).stdout.strip() == "enabled"


def test_install_writes_and_enables_the_pruner(node):
    service = node.systemd.path(UNIT_DIR / PRUNE_SERVICE).read_text()
    assert f"\nExecStart={INSTALLED} prune\n" in service
    # The data directory stays read-only to it; the metrics directory is writable.
    assert "\nReadWritePaths=-/var/lib/prometheus/node-exporter\n" in service
    assert DATA_DIR not in service
    assert "\nOnUnitActiveSec=3min\n" in node.systemd.path(UNIT_DIR / PRUNE_TIMER).read_text()
    assert node.run("systemctl", "is-enabled", PRUNE_TIMER).stdout.strip() == "enabled"
    assert node.run("systemctl", "is-active", PRUNE_TIMER).stdout.strip() == "active"


def test_install_again_changes_nothing(node):
    files = [node.systemd.path(UNIT_DIR / SERVICE), node.systemd.path(UNIT_DIR / TIMER),
             node.systemd.path(UNIT_DIR / PRUNE_SERVICE), node.systemd.path(UNIT_DIR / PRUNE_TIMER),
             node.systemd.path(CATALOG)]
    before = [f.stat().st_mtime_ns for f in files]
    r = install(node)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "unchanged" in r.stderr
    assert [f.stat().st_mtime_ns for f in files] == before


def test_dry_run_says_what_it_would_write_and_writes_nothing(node):
    timer = node.systemd.path(UNIT_DIR / TIMER)
    before = timer.read_text()
    r = node.tool("install", "--skip-apply", "--dry-run", "--data-dir", DATA_DIR, "--check-interval", "7m")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Would write {UNIT_DIR / TIMER}" in r.stdout
    assert "OnUnitActiveSec=7min" in r.stdout
    assert timer.read_text() == before


def test_units_are_clean_for_systemd_analyze(node):
    r = node.run("systemd-analyze", "verify", str(UNIT_DIR / SERVICE), str(UNIT_DIR / TIMER))
    assert r.returncode == 0 and r.stderr.strip() == "" and r.stdout.strip() == "", r.stdout + r.stderr

    r = node.run("systemd-analyze", "security", SERVICE)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0, r.stdout



def test_unscored_hardening_directives_are_in_force(node):
    """The sandbox directives systemd-analyze security does not score (the others:
    test_unit_hardening.py), each as the loaded unit has it."""
    want = {"PrivateIPC": "yes", "AmbientCapabilities": "", "SystemCallErrorNumber": "1",
            # Its state (the build cache's reuse counter), beside the pruner's.
            "StateDirectory": "dind-cache", "StateDirectoryMode": "0755",
            "ReadWritePaths": f"-{DATA_DIR} -/var/lib/prometheus/node-exporter",
            # The private keys the checker has no use for: all but its own.
            "InaccessiblePaths": " ".join(f"-{PKI}/{k}" for k in CHECKER_HIDDEN)}
    out = node.run("systemctl", "show", SERVICE, *[f"--property={k}" for k in want], check=True).stdout
    got = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    for key, value in want.items():
        assert got.get(key) == value, f"{key}: {got.get(key)!r}, want {value!r}"


def test_pruner_units_are_clean_for_systemd_analyze(node):
    r = node.run("systemd-analyze", "verify", str(UNIT_DIR / PRUNE_SERVICE), str(UNIT_DIR / PRUNE_TIMER))
    assert r.returncode == 0 and r.stderr.strip() == "" and r.stdout.strip() == "", r.stdout + r.stderr
    r = node.run("systemd-analyze", "security", PRUNE_SERVICE)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0, r.stdout


def test_the_pruner_runs_in_its_sandbox_and_status_shows_its_last_run(node):
    r = node.run("systemctl", "start", PRUNE_SERVICE)
    assert r.returncode == 0, r.stderr + node.systemd.journal("-u", PRUNE_SERVICE)
    state = json.loads(node.systemd.path(PRUNE_STATE).read_text())
    assert state["version"] == 1 and state["last_run"] > 0
    out = node.systemd.journal("-o", "json", "SYSLOG_IDENTIFIER=dind-cache", "DIND_PRUNE_STEP=summary")
    summary = json.loads(out.splitlines()[-1])
    assert summary["MESSAGE"].startswith("dind-cache prune OK") and summary["_SYSTEMD_UNIT"] == PRUNE_SERVICE
    steps = node.systemd.journal("-o", "json", "DIND_PRUNE_STEP=containers")
    assert json.loads(steps.splitlines()[-1])["DIND_COUNT"] == "0"

    st = node.tool("status")
    assert f"Pruner:   {PRUNE_TIMER} active (waiting), next run " in st.stdout, st.stdout
    assert re.search(r"Last prune: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ dind-cache prune OK", st.stdout), st.stdout
    doc = json.loads(node.tool("status", "--json").stdout)
    assert doc["prune"]["last_run"].startswith("dind-cache prune OK") and doc["prune"]["next_run_usec"] > 0


def reads_in_sandbox(node, service, own, hidden):
    """A shell run in SERVICE's sandbox (its unit, ExecStart= alone replaced by a runtime
    drop-in) reads the key OWN and none of HIDDEN (each of which exists on the node, as
    seen from outside the sandbox): the journal says Permission denied for each."""
    probe = f"cat {PKI}/{own} >/dev/null || exit 5; " + "".join(
        f"if cat {PKI}/{k} >/dev/null; then exit 4; fi; " for k in hidden)
    for k in hidden:
        assert node.systemd.path(f"{PKI}/{k}").exists(), k
    dropin = f"/run/systemd/system/{service}.d/zz-probe.conf"
    node.systemd.run("sh", "-c", f"mkdir -p {dropin.rsplit('/', 1)[0]} && cat > {dropin}",
                     input=f"[Service]\nExecStart=\nExecStart=/bin/sh -c '{probe}'\n")
    try:
        node.run("systemctl", "daemon-reload", check=True)
        since = journal_now(node)
        r = node.run("systemctl", "start", service)
        log = node.run("journalctl", "--no-pager", "-o", "cat", "-u", service,
                       f"--since=@{since / 1e6:.6f}").stdout
        assert r.returncode == 0, log
        assert all(f"{PKI}/{k}: Permission denied" in log for k in hidden), log
    finally:
        node.run("rm", "-f", dropin)
        node.run("systemctl", "daemon-reload", check=True)


def test_the_checker_reads_its_own_key_and_no_other(node):
    """Its own identity only: not the CA's, the daemon's, the pruner's, the prune job's,
    nor any tenant's (tenants/ is hidden whole; the checker reads the jobs' certificates'
    days left from client-certs.pem)."""
    reads_in_sandbox(node, SERVICE, "checker/key.pem",
                     ["ca/key.pem", "server/key.pem", "pruner/key.pem", "prune-job/key.pem", "tenants/ci/key.pem",
                      "tenants/ci/cert.pem"])


def test_the_pruner_reads_its_own_key_and_no_other(node):
    """As the checker's: the loaded unit lists them, and a shell run in the pruner's
    sandbox reads the key the pruner presents (DIND_CACHE_PRUNE_CERT_PATH) but none of
    the others, the checker's included."""
    out = node.run("systemctl", "show", PRUNE_SERVICE, "--property=InaccessiblePaths", check=True).stdout
    assert out.strip() == "InaccessiblePaths=" + " ".join(f"-{PKI}/{k}" for k in PRUNER_HIDDEN), out
    reads_in_sandbox(node, PRUNE_SERVICE, "pruner/key.pem",
                     ["ca/key.pem", "server/key.pem", "checker/key.pem", "prune-job/key.pem", "tenants/ci/key.pem"])


def test_a_started_check_shows_its_summary_in_systemctl_status(node):
    r = node.run("systemctl", "start", SERVICE)
    assert r.returncode == 0, r.stderr
    node.run("journalctl", "--sync")     # status shows the unit's last lines from the journal
    status = node.run("systemctl", "status", "--no-pager", "-n", "30", SERVICE).stdout
    assert "dind-cache check OK" in status


def test_the_checker_keeps_its_cache_state_and_status_shows_it(node):
    """In its sandbox, the checker writes its StateDirectory (the build cache's figures
    and reuse counter, 0600) and status reads it back in its Cache section."""
    path = node.systemd.path(CACHE_STATE)
    doc = json.loads(path.read_text())
    assert doc["version"] == 1 and doc["records"] >= 0 and doc["reuses_total"] == 0, doc
    assert path.stat().st_mode & 0o777 == 0o600
    st = node.tool("status")
    assert re.search(r"^Cache:    \d+ build cache records, .* not used for a week$", st.stdout, re.M), st.stdout
    assert re.search(r"^Reuses:   0 .*, 0 in all$", st.stdout, re.M), st.stdout
    assert json.loads(node.tool("status", "--json").stdout)["cache"]["records"] == doc["records"]


def test_journal_holds_the_fields_and_the_catalog_explains_them(node):
    entries = [json.loads(l) for l in journal(node, "-o", "json").splitlines() if l.strip()]
    checks = [e for e in entries if "DIND_CHECK" in e]
    last_run = checks[-1]["DIND_RUN_ID"]
    run = [e for e in checks if e["DIND_RUN_ID"] == last_run]
    assert re.fullmatch(r"[0-9a-f]{32}", last_run)
    assert {e["DIND_CHECK"] for e in run} >= {"summary", "mount", "daemon", "disk_usage"}
    for e in run:
        assert e["DIND_STATE"] in ("OK", "WARNING", "CRITICAL", "UNKNOWN")
        assert re.fullmatch(r"[0-9a-f]{32}", e["MESSAGE_ID"])
        assert e["DIND_DATA_DIR"] == DATA_DIR
    # One id per kind of finding; the four certificates share theirs (DIND_CHECK names which).
    others = [e for e in run if not e["DIND_CHECK"].startswith("cert_")]
    assert len({e["MESSAGE_ID"] for e in others}) == len(others)
    certs = [e for e in run if e["DIND_CHECK"].startswith("cert_")]
    assert {e["DIND_CHECK"] for e in certs} == {"cert_ca", "cert_server", "cert_client", "cert_checker"}
    assert len({e["MESSAGE_ID"] for e in certs}) == 1 and not {e["MESSAGE_ID"] for e in certs} & \
        {e["MESSAGE_ID"] for e in others}
    usage = next(e for e in run if e["DIND_CHECK"] == "disk_usage")
    assert "DIND_VALUE" in usage and "DIND_THRESHOLD" in usage

    # journalctl -x shows the catalog's explanation of an id the run logged.
    catalog = node.systemd.path(CATALOG).read_text()
    mid = next(e["MESSAGE_ID"] for e in run if e["DIND_CHECK"] == "mount")
    subject = re.search(rf"^-- {mid}\nSubject: (.+)$", catalog, re.M).group(1)
    assert subject in journal(node, "-x")


def test_status_prints_the_timer_and_the_last_results(node):
    r = node.tool("status")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Timer:    {TIMER} active (waiting), enabled" in r.stdout
    assert re.search(r"Next run: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r.stdout), r.stdout
    assert "dind-cache check OK" in r.stdout
    assert re.search(rf"Disk:     {DATA_DIR} \d+% used .* xfs on {node.device}", r.stdout), r.stdout

    doc = json.loads(node.tool("status", "--json").stdout)
    assert doc["result"] == "OK"
    assert doc["timer"]["active"] and doc["timer"]["next_run_usec"] > 0
    assert any(c["name"] == "daemon" and c["state"] == "OK" for c in doc["last_run"]["checks"])
    assert doc["disk"]["fs_type"] == "xfs" and doc["disk"]["data_dir"] == DATA_DIR


def mount_result_of_the_units_last_run(node, after_usec):
    """The mount check's journal entry from the unit's last run logged after AFTER_USEC."""
    out = node.run("journalctl", "--no-pager", "-o", "json", "-u", SERVICE, "DIND_CHECK=mount", check=True).stdout
    entries = [json.loads(line) for line in out.splitlines() if line.strip()]
    entries = [e for e in entries if int(e["__REALTIME_TIMESTAMP"]) > after_usec]
    assert entries, "no run of the unit logged its mount check"
    return entries[-1]


def mount_result_from_a_shell(node):
    """The mount check of `dind-cache check` from a shell that reads the env file, as
    README says an administrator does (and the unit's EnvironmentFile= does)."""
    r = node.run("sh", "-c", f"set -a; . {ENV_FILE}; exec {INSTALLED} check --json --no-journal")
    return next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "mount")


def test_the_checker_in_its_unit_and_from_a_shell_agree_on_the_mount(node, loops):
    """Inside the unit, ReadWritePaths= bind-mounts the data directory onto itself, so
    that every data directory looks like a mount point there. The check reads the
    mount itself: a data directory that is only a subdirectory of another filesystem
    is CRITICAL in the unit as from a shell, with the same words; the cache disk's own
    mount is OK in both."""
    other = loops.device("ext4", size="64M")
    node.run("mkdir", "-p", "/srv/otherfs", check=True)
    node.run("mount", other, "/srv/otherfs", check=True)
    node.run("mkdir", "-p", "/srv/otherfs/docker", check=True)
    try:
        for data_dir, state, plugin_state in (("/srv/otherfs/docker", "FAIL", "CRITICAL"), (DATA_DIR, "OK", "OK")):
            after = journal_now(node)
            r = node.tool("install", "--skip-apply", "--data-dir", data_dir, "--check-interval", "2m",
                          "--prune-interval", "3m")
            assert r.returncode == (1 if state == "FAIL" else 0), r.stdout + r.stderr
            in_unit = mount_result_of_the_units_last_run(node, after)
            from_shell = mount_result_from_a_shell(node)
            assert from_shell["state"] == state, from_shell
            assert in_unit["DIND_STATE"] == plugin_state, in_unit
            assert in_unit["MESSAGE"] == from_shell["message"], (in_unit["MESSAGE"], from_shell)
            if state == "FAIL":
                assert (f"'{data_dir}' is not a mount point: pods would write the cache onto the filesystem "
                        "mounted at '/srv/otherfs'") in from_shell["message"]
    finally:
        install(node)
        node.write_env(node.dockerd.host)
        node.run("umount", "/srv/otherfs")


def test_a_hung_daemon_fails_the_unit_once_without_stacked_runs(node):
    # A listener that accepts connections and never answers: each run waits out
    # its per-call timeout, long enough for the starts below to land while it runs.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        node.write_env(f"tcp://127.0.0.1:{hung.getsockname()[1]}", "DIND_CACHE_TIMEOUT=3s\n")
        after = journal_now(node)
        for _ in range(3):
            node.run("systemctl", "start", "--no-block", SERVICE, check=True)
        r = node.run("systemctl", "start", SERVICE)  # joins the run under way
        assert r.returncode != 0

        runs = wait_for(lambda: summaries(node, after), timeout=10, what="the run's summary")
        assert len(runs) == 1, runs  # four starts, one run: no stacking
        assert runs[0]["DIND_STATE"] == "CRITICAL"
        assert SERVICE in node.run("systemctl", "--failed", "--no-legend", check=True).stdout
        st = node.tool("status")
        assert st.returncode == 2, st.stdout + st.stderr
        assert "CRITICAL" in st.stdout
        # install's own first check is CRITICAL too: install fails and says so.
        inst = install(node)
        assert inst.returncode == 1, inst.stdout + inst.stderr
        assert "CRITICAL" in inst.stdout + inst.stderr

    node.write_env(node.dockerd.host)
    node.run("systemctl", "reset-failed", SERVICE)
    assert node.run("systemctl", "start", SERVICE).returncode == 0


def test_uninstall_removes_everything_and_twice_is_a_no_op(node):
    r = node.tool("uninstall")
    assert r.returncode == 0, r.stdout + r.stderr
    for f in (UNIT_DIR / SERVICE, UNIT_DIR / TIMER, UNIT_DIR / PRUNE_SERVICE, UNIT_DIR / PRUNE_TIMER,
              ENV_FILE, CATALOG, PRUNE_STATE, CACHE_STATE):
        assert not node.systemd.path(f).exists(), f
    assert PRUNE_TIMER not in node.run("systemctl", "list-timers", "--all", check=True).stdout
    assert TIMER not in node.run("systemctl", "list-timers", "--all", check=True).stdout
    assert node.run("systemctl", "show", "-P", "LoadState", SERVICE).stdout.strip() == "not-found"
    # The data and its mount stay.
    assert node.run("mountpoint", "-q", DATA_DIR).returncode == 0

    again = node.tool("uninstall")
    assert again.returncode == 0, again.stderr
    assert "Nothing to remove" in again.stderr


def test_uninstall_deletes_the_cluster_objects_but_the_namespace(node, kube_api):
    # What install would have applied, as the field manager dind-cache.
    rendered = node.tool("render")
    assert rendered.returncode == 0, rendered.stderr
    objects = [o for o in yaml.safe_load_all(rendered.stdout) if o]
    for obj in objects:
        kube_api.put_object(obj, manager="dind-cache")
    kubeconfig = kube_api.kubeconfig(node.systemd.path("/root/kubeconfig"), auth="cert-data", ca="data")
    kube_api.clear_requests()

    r = node.tool("uninstall", "--delete-cluster-objects", "--kubeconfig", "/root/kubeconfig")
    assert r.returncode == 0, r.stdout + r.stderr
    deletes = [q["path"] for q in kube_api.requests if q["method"] == "DELETE"]
    expected = [o for o in reversed(objects) if o["kind"] != "Namespace"]
    assert [d.rsplit("/", 1)[1] for d in deletes] == [o["metadata"]["name"] for o in expected]
    assert kube_api.object("deployments", "docker-dind", "kube-ops") is None
    assert kube_api.object("persistentvolumes", "docker-pv") is None
    assert kube_api.object("namespaces", "kube-ops") is not None
    assert "stays" in r.stderr

    again = node.tool("uninstall", "--delete-cluster-objects", "--kubeconfig", str(kubeconfig).replace(
        str(node.systemd.root), ""))
    assert again.returncode == 0 and "Nothing to remove" in again.stderr, again.stderr


def test_wipe_data_empties_the_data_directory_and_removes_its_mount_unit(node):
    node.dockerd.stop()
    # The data directory mounted by a mount unit of install's (a bind mount of the
    # cache filesystem, so no device unit is involved).
    node.run("umount", DATA_DIR, check=True)
    node.run("mkdir", "-p", "/srv/cache-fs", check=True)
    node.run("mount", node.device, "/srv/cache-fs", check=True)
    unit = node.systemd.path(UNIT_DIR / "mnt-k8s-docker.mount")
    unit.write_text(f"[Mount]\nWhat=/srv/cache-fs\nWhere={DATA_DIR}\nType=none\nOptions=bind\n")
    node.run("systemctl", "daemon-reload", check=True)
    node.run("systemctl", "start", "mnt-k8s-docker.mount", check=True)
    assert node.run("ls", "-A", DATA_DIR, check=True).stdout.strip() != ""  # dockerd's data root

    # The data also mounted elsewhere (as the kubelet mounts a local volume into the
    # daemon's pod): in use, refused.
    r = node.tool("uninstall", "--wipe-data")
    assert r.returncode == 1 and "in use" in r.stderr, r.stderr
    node.run("umount", "/srv/cache-fs", check=True)

    outside = node.systemd.path("/srv/keep")
    outside.write_text("not the cache's")
    node.run("ln", "-s", "/srv/keep", f"{DATA_DIR}/link-out", check=True)

    # Something mounted beneath (a daemon still running): refused, nothing removed.
    node.run("mkdir", "-p", f"{DATA_DIR}/overlay2/busy", check=True)
    node.run("mount", "-t", "tmpfs", "tmpfs", f"{DATA_DIR}/overlay2/busy", check=True)
    r = node.tool("uninstall", "--wipe-data")
    assert r.returncode == 1 and "in use" in r.stderr, r.stderr
    assert node.run("test", "-L", f"{DATA_DIR}/link-out").returncode == 0
    node.run("umount", f"{DATA_DIR}/overlay2/busy", check=True)

    # An abbreviation of the flag is not the flag.
    assert node.tool("uninstall", "--wipe").returncode == 2

    r = node.tool("uninstall", "--wipe-data")
    assert r.returncode == 0, r.stdout + r.stderr
    assert node.run("mountpoint", "-q", DATA_DIR).returncode != 0
    node.run("mount", node.device, "/srv/cache-fs", check=True)
    assert node.run("ls", "-A", "/srv/cache-fs", check=True).stdout.strip() == ""
    node.run("umount", "/srv/cache-fs", check=True)
    assert not unit.exists()
    assert node.run("systemctl", "show", "-P", "LoadState", "mnt-k8s-docker.mount").stdout.strip() == "not-found"
    assert outside.read_text() == "not the cache's"
    # The filesystem itself is untouched: still an xfs, as blkid sees it.
    assert sh("blkid", "-p", "-o", "value", "-s", "TYPE", node.device).stdout.strip() == "xfs"

    again = node.tool("uninstall", "--wipe-data")
    assert again.returncode == 0 and "Nothing to remove" in again.stderr, again.stderr
