"""The metrics file Prometheus scrapes through node_exporter's textfile collector:
what `dind-cache check` leaves in DIND_CACHE_TEXTFILE_DIR after an OK run, a CRITICAL
run and a run with bad settings, checked by the real `promtool check metrics`; and
README's alert rules, checked and unit-tested by `promtool` against series like the
file's."""

import calendar
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, make_pki, run_tool

FILE = "dind_cache.prom"
SAMPLE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')


def check(data_dir, docker_host, textfile_dir, env=None, daemon=None):
    full = {"DIND_CACHE_TIMEOUT": "2s", "DIND_CACHE_DATA_DIR": str(data_dir),
            "DOCKER_HOST": docker_host or "", "DIND_CACHE_TEXTFILE_DIR": str(textfile_dir)}
    if daemon is not None:
        full.update(daemon.client_env)
    full.update(env or {})
    return run_tool("check", "--no-journal", env=full, timeout=60)


def samples(path):
    """{'name' or 'name{labels}': value} of the file; asserts every line is well formed
    and carries no timestamp."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) dind_cache_[a-z_]+ ", line), line
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample without timestamp: {line!r}"
        key = m.group(1) + (m.group(2) or "")
        assert key not in out, f"duplicate series {key}"
        out[key] = float(m.group(3))
    return out


def promtool_ok(path):
    p = subprocess.run(["promtool", "check", "metrics"], stdin=open(path), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip() == "" and p.stderr.strip() == "", p.stdout + p.stderr


@pytest.fixture
def xfs_cache(loops):
    _, mnt = loops.mounted("xfs", size="512M")
    return mnt


def tls_daemon(dockerd_factory, data_root, tmp_path):
    """A real dockerd serving mutual TLS, as the default install runs it, on its own
    loopback address (127.0.0.1:2375 may be another test's plaintext daemon)."""
    ip = "127.0.0.46"
    return dockerd_factory(data_root, tls_dir=make_pki(tmp_path / "pki", server_names=("localhost", ip)), ip=ip)


@pytest.fixture
def textfile_dir(tmp_path):
    d = tmp_path / "node-exporter"
    d.mkdir()
    return d


def test_ok_run_writes_states_disk_and_daemon_figures(xfs_cache, textfile_dir, dockerd_factory, tmp_path):
    daemon = tls_daemon(dockerd_factory, xfs_cache, tmp_path)
    p = check(xfs_cache, daemon.host, textfile_dir, daemon=daemon)
    assert p.returncode == 0, p.stdout + p.stderr

    path = textfile_dir / FILE
    assert (path.stat().st_mode & 0o7777) == 0o644
    assert sorted(os.listdir(textfile_dir)) == [FILE]  # no temporary file left behind
    promtool_ok(path)
    s = samples(path)
    for name in ("mount", "fs_type", "d_type", "write_probe", "disk_usage", "daemon", "storage_driver"):
        assert s[f'dind_cache_check_state{{check="{name}"}}'] == 0, name
    assert s["dind_cache_state"] == 0
    assert s["dind_cache_daemon_up"] == 1
    assert 0 < s["dind_cache_daemon_round_trip_seconds"] < 5
    st = os.statvfs(xfs_cache)
    assert s["dind_cache_disk_size_bytes"] == st.f_blocks * st.f_frsize
    assert s["dind_cache_disk_available_bytes"] == pytest.approx(st.f_bavail * st.f_frsize, rel=0.05)
    assert 0 < s["dind_cache_disk_used_bytes"] < s["dind_cache_disk_size_bytes"]
    assert s["dind_cache_disk_inodes"] == st.f_files
    assert s["dind_cache_disk_usage_critical_ratio"] == 0.9
    assert s[f'dind_cache_info{{data_dir="{xfs_cache}"}}'] == 1
    assert abs(s["dind_cache_last_run_timestamp_seconds"] - time.time()) < 60
    # Each certificate's notAfter, as openssl reads it: an alert can fire weeks ahead.
    # "client": the jobs' certificate that expires first (the prune job's and the tenants').
    for name, folders in (("ca", ["ca"]), ("server", ["server"]), ("client", ["prune-job", "tenants/ci"]),
                          ("checker", ["checker"])):
        ends = []
        for folder in folders:
            end = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", daemon.tls_dir / folder / "cert.pem"],
                                 check=True, capture_output=True, text=True).stdout.strip().split("=", 1)[1]
            ends.append(calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y GMT")))
        assert s[f'dind_cache_certificate_expiry_timestamp_seconds{{certificate="{name}"}}'] == min(ends), name


def test_critical_run_replaces_the_file_with_the_daemon_down(xfs_cache, textfile_dir, dockerd_factory, tmp_path):
    daemon = tls_daemon(dockerd_factory, xfs_cache, tmp_path)
    assert check(xfs_cache, daemon.host, textfile_dir, daemon=daemon).returncode == 0
    first = samples(textfile_dir / FILE)["dind_cache_last_run_timestamp_seconds"]

    daemon.proc.terminate()
    daemon.proc.wait(timeout=30)
    p = check(xfs_cache, daemon.host, textfile_dir, env={"DIND_CACHE_DISK_CRIT": "95"}, daemon=daemon)
    assert p.returncode == 2, p.stdout + p.stderr

    promtool_ok(textfile_dir / FILE)
    s = samples(textfile_dir / FILE)
    assert s['dind_cache_check_state{check="daemon"}'] == 2
    assert s["dind_cache_state"] == 2
    assert s["dind_cache_daemon_up"] == 0
    assert "dind_cache_daemon_round_trip_seconds" not in s
    assert s['dind_cache_check_state{check="disk_usage"}'] == 0  # the disk is still measured
    assert s["dind_cache_disk_usage_critical_ratio"] == 0.95
    assert s["dind_cache_last_run_timestamp_seconds"] >= first
    assert sorted(os.listdir(textfile_dir)) == [FILE]


def test_bad_settings_give_unknown_and_no_figures(xfs_cache, textfile_dir):
    p = check(xfs_cache, None, textfile_dir, env={"DIND_CACHE_DISK_WARN": "lots", "DIND_CACHE_TIMEOUT": "-1"})
    assert p.returncode == 3, p.stdout + p.stderr

    promtool_ok(textfile_dir / FILE)
    s = samples(textfile_dir / FILE)
    assert s['dind_cache_check_state{check="settings"}'] == 3
    assert s["dind_cache_state"] == 3
    assert not [k for k in s if k.startswith(("dind_cache_disk_", "dind_cache_daemon_"))], s
    assert "dind_cache_last_run_timestamp_seconds" in s


def test_a_label_from_outside_cannot_break_the_file(textfile_dir, tmp_path):
    odd = tmp_path / 'cache "dir" \\ x'
    odd.mkdir()
    p = check(odd, None, textfile_dir)
    assert p.returncode == 2, p.stdout + p.stderr  # not a mount point
    promtool_ok(textfile_dir / FILE)
    assert 'dind_cache_info{data_dir="' + str(tmp_path) + '/cache \\"dir\\" \\\\ x"} 1' in \
        (textfile_dir / FILE).read_text()


HELPER = ROOT / "build" / "tests" / "helpers" / "metrics-text"


@pytest.mark.parametrize("label", [
    b"/mnt/a\xe0\x80\xafb",          # an overlong '/'
    b"/mnt/a\xed\xa0\x80b",          # a surrogate (U+D800)
    b"/mnt/a\xf4\x90\x80\x80b",      # above U+10FFFF
    b"/mnt/a\xc0\xafb\xff",          # bytes that start no character
], ids=["overlong", "surrogate", "above-max", "stray-bytes"])
def test_promtool_accepts_the_file_whatever_bytes_a_label_holds(tmp_path, label):
    # The library, not the command: the command refuses such arguments before metrics
    # are written, but the file must stay one Prometheus reads whatever it is given.
    assert HELPER.exists(), "make build/tests/helpers/metrics-text first"
    path = tmp_path / FILE
    with open(path, "wb") as f:
        subprocess.run([HELPER, label, label], stdout=f, check=True, timeout=60)
    promtool_ok(path)
    text = path.read_text()     # strict UTF-8, or this raises
    assert 'dind_cache_info{data_dir="/mnt/a?' in text
    assert 'dind_instance="/mnt/a?' in text


def test_bad_textfile_dir_warns_and_keeps_the_check_status(xfs_cache, tmp_path):
    p = check(xfs_cache, None, tmp_path / "missing")
    assert p.returncode == 1, p.stdout + p.stderr  # WARNING: DOCKER_HOST not set, as without metrics
    assert "no metrics written: DIND_CACHE_TEXTFILE_DIR=" in p.stderr
    assert not (tmp_path / "missing").exists()  # never created


def readme_rules():
    text = (ROOT / "README.md").read_text()
    m = re.search(r"```yaml\n(groups:\n.*?)```", text, re.S)
    assert m, "README has no alert rules block"
    return m.group(1)


def test_readme_alert_rules_pass_promtool_and_fire(tmp_path):
    rules = tmp_path / "dind-cache.rules.yml"
    rules.write_text(readme_rules())
    p = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr

    # The series as node_exporter exposes the file: the daemon goes down at minute 5;
    # the disk crosses 90% at minute 5.
    tests = tmp_path / "test.yml"
    tests.write_text(f"""
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'dind_cache_daemon_up{{instance="node1"}}'
        values: '1 1 1 1 1 0x20'
      - series: 'dind_cache_disk_used_bytes{{instance="node1"}}'
        values: '80 80 80 80 80 95x20'
      - series: 'dind_cache_disk_available_bytes{{instance="node1"}}'
        values: '20 20 20 20 20 5x20'
      - series: 'dind_cache_disk_usage_critical_ratio{{instance="node1"}}'
        values: '0.9x25'
    alert_rule_test:
      - eval_time: 10m
        alertname: DindCacheDaemonDown
        exp_alerts: []
      - eval_time: 16m
        alertname: DindCacheDaemonDown
        exp_alerts:
          - exp_labels: {{instance: node1, severity: critical}}
            exp_annotations:
              summary: The shared Docker cache daemon on node1 has not answered for 10 minutes
      - eval_time: 4m
        alertname: DindCacheDiskFull
        exp_alerts: []
      - eval_time: 20m
        alertname: DindCacheDiskFull
        exp_alerts:
          - exp_labels: {{instance: node1, severity: critical}}
            exp_annotations:
              summary: The Docker cache disk on node1 is over its CRIT watermark

  # The cache: node1's builds stop reusing at minute 60 while they go on making
  # records (6 hours without a reuse from minute 420, firing 30 minutes later); node2
  # is idle (no reuse, no new record: no alert).
  - interval: 1m
    input_series:
      - series: 'dind_cache_build_cache_reuses_total{{instance="node1"}}'
        values: '0+5x60 300x600'
      - series: 'dind_cache_build_cache_records{{instance="node1"}}'
        values: '10+1x660'
      - series: 'dind_cache_build_cache_reuses_total{{instance="node2"}}'
        values: '7x660'
      - series: 'dind_cache_build_cache_records{{instance="node2"}}'
        values: '40x660'
    alert_rule_test:
      - eval_time: 430m
        alertname: DindCacheNotReused
        exp_alerts: []
      - eval_time: 460m
        alertname: DindCacheNotReused
        exp_alerts:
          - exp_labels: {{instance: node1, severity: warning}}
            exp_annotations:
              summary: Builds on the Docker cache on node1 reused no cached step for 6 hours

  # Tenants: team-a builds through the first day, then stops; team-b goes on.
  - interval: 10m
    input_series:
      - series: 'dind_cache_tenant_builds_total{{instance="node1",tenant="team-a"}}'
        values: '0+1x144 144x180'
      - series: 'dind_cache_tenant_builds_total{{instance="node1",tenant="team-b"}}'
        values: '0+1x324'
    alert_rule_test:
      - eval_time: 30h
        alertname: DindCacheTenantBuildsStopped
        exp_alerts: []
      - eval_time: 50h
        alertname: DindCacheTenantBuildsStopped
        exp_alerts:
          - exp_labels: {{instance: node1, tenant: team-a, severity: warning}}
            exp_annotations:
              summary: Tenant team-a built on the Docker cache on node1 the day before and not once since

  # The plugin: node1's stops answering at minute 5; node2 runs without it (--plaintext,
  # a WARNING every run: no alert).
  - interval: 1m
    input_series:
      - series: 'dind_cache_check_state{{instance="node1",check="authz"}}'
        values: '0 0 0 0 0 2x20'
      - series: 'dind_cache_check_state{{instance="node2",check="authz"}}'
        values: '1x25'
    alert_rule_test:
      - eval_time: 9m
        alertname: DindCacheAuthzFailing
        exp_alerts: []
      - eval_time: 12m
        alertname: DindCacheAuthzFailing
        exp_alerts:
          - exp_labels: {{instance: node1, check: authz, severity: critical}}
            exp_annotations:
              summary: "The authorization plugin of the Docker cache on node1 is not judging: see journalctl -u dind-cache-check"
""")
    p = subprocess.run(["promtool", "test", "rules", str(tests)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


PRUNE_FILE = "dind_cache_prune.prom"


def prune(data_dir, docker_host, textfile_dir, tmp_path, *args, env=None):
    full = {"DIND_CACHE_TIMEOUT": "10s", "DIND_CACHE_DATA_DIR": str(data_dir),
            "DOCKER_HOST": docker_host, "DIND_CACHE_TEXTFILE_DIR": str(textfile_dir),
            "DIND_CACHE_PRUNE_STATE": str(tmp_path / "prune-state.json")}
    full.update(env or {})
    return run_tool("prune", "--no-journal", *args, env=full, timeout=120)


def test_a_prune_run_writes_its_own_file_beside_the_checkers(xfs_cache, textfile_dir, dockerd_factory, tmp_path):
    daemon = dockerd_factory(xfs_cache)
    (textfile_dir / FILE).write_text("# the checker's file, which prune must not touch\n")
    p = prune(xfs_cache, daemon.host, textfile_dir, tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr

    path = textfile_dir / PRUNE_FILE
    assert (path.stat().st_mode & 0o7777) == 0o644
    assert sorted(os.listdir(textfile_dir)) == sorted([FILE, PRUNE_FILE])
    assert (textfile_dir / FILE).read_text().startswith("# the checker's file")
    promtool_ok(path)
    s = samples(path)
    assert s["dind_cache_prune_exit_status"] == 0
    used = percent_used_df(xfs_cache)
    assert s['dind_cache_prune_disk_usage_ratio{at="end"}'] == pytest.approx(used / 100, abs=0.02)
    assert s['dind_cache_prune_watermark_ratio{level="high"}'] == 0.8
    assert s['dind_cache_prune_watermark_ratio{level="low"}'] == 0.7
    assert s['dind_cache_prune_watermark_ratio{level="crit"}'] == 0.9
    assert s["dind_cache_prune_images_removed"] == 0
    assert abs(s["dind_cache_prune_last_run_timestamp_seconds"] - time.time()) < 60

    # A dry run changes nothing, the metrics file included.
    before = path.read_bytes()
    time.sleep(1.1)
    assert prune(xfs_cache, daemon.host, textfile_dir, tmp_path, "--dry-run").returncode == 0
    assert path.read_bytes() == before


def test_a_failing_prune_run_says_why_in_its_exit_status(xfs_cache, textfile_dir, tmp_path):
    p = prune(xfs_cache, "tcp://127.0.0.1:1", textfile_dir, tmp_path)
    assert p.returncode == 2, p.stdout + p.stderr
    promtool_ok(textfile_dir / PRUNE_FILE)
    s = samples(textfile_dir / PRUNE_FILE)
    assert s["dind_cache_prune_exit_status"] == 2
    assert 'dind_cache_prune_disk_usage_ratio{at="start"}' in s  # measured before the daemon was asked
    assert "dind_cache_prune_images_removed" not in s             # never reached

    p = prune(xfs_cache, "tcp://127.0.0.1:1", textfile_dir, tmp_path, env={"DIND_CACHE_PRUNE_LOW": "95"})
    assert p.returncode == 3, p.stdout + p.stderr
    promtool_ok(textfile_dir / PRUNE_FILE)
    s = samples(textfile_dir / PRUNE_FILE)
    assert s["dind_cache_prune_exit_status"] == 3
    assert not [k for k in s if "ratio" in k or "images" in k], s


def percent_used_df(path):
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    return -(-used * 100 // (used + st.f_bavail * st.f_frsize))
