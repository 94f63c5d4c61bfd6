"""dind-cache install, the cluster step, against the fake API server (kube_api).

Each run gets a real XFS filesystem on a loop device as --data-dir (the disk step
passes on it) and --skip-timer (the timer step is tested with a booted systemd
elsewhere). The binary runs in a private mount namespace with an overlay over /etc, so
the env file it writes (/etc/dind-cache/dind-cache.env) lands in the test's directory
and never on this machine's /etc."""

import json
import re
import subprocess

import pytest

from conftest import BINARY, PrivateDirs
from kube_fixtures import ready_cluster

NODE = "node1"
ENV_REL = "dind-cache/dind-cache.env"
OBJECTS = [  # resource, name, namespace: what install applies, in order
    ("namespaces", "kube-ops", None),
    ("storageclasses", "local-volume", None),
    ("persistentvolumes", "docker-pv", None),
    ("persistentvolumeclaims", "docker-dind-data", "kube-ops"),
    ("networkpolicies", "docker-dind", "kube-ops"),
    ("services", "docker-dind", "kube-ops"),
    ("configmaps", "docker-dind-daemon", "kube-ops"),
    ("secrets", "docker-dind-server", "kube-ops"),
    ("secrets", "docker-dind-prune-client", "kube-ops"),
    ("deployments", "docker-dind", "kube-ops"),
    ("cronjobs", "docker-dind-clear-cache", "kube-ops"),
]


class Node:
    """One storage node: a data directory on XFS and a private /etc and /var/lib
    (PrivateDirs: the host's, without what the host installed of dind-cache, under the
    test's own)."""

    def __init__(self, tmp_path, loops):
        _, self.data_dir = loops.mounted("xfs")
        self.dirs = PrivateDirs(tmp_path / "node")
        self.etc_upper = self.dirs.upper("/etc")
        self.tmp = tmp_path

    @property
    def env_file(self):
        return self.etc_upper / ENV_REL

    def env(self):
        text = self.env_file.read_text()
        return dict(line.split("=", 1) for line in text.splitlines()
                    if line and not line.startswith("#"))

    def run(self, *args, timeout=180, env=None):
        """ARGS (a command line) with the node's /etc."""
        return subprocess.run(self.dirs.command(*args), text=True, capture_output=True, timeout=timeout, env=env)

    def tool(self, *args):
        """dind-cache ARGS with this node's private /etc (as install runs)."""
        return self.run(BINARY, *args)

    def install_args(self, api, *extra, kubeconfig=None, timeout="30s", node=NODE):
        """KUBECONFIG "": no --kubeconfig, the file is found from the environment (KUBECONFIG, HOME)."""
        if kubeconfig is None:
            kubeconfig = api.kubeconfig(self.tmp / "kubeconfig")
        return ("install", *(["--kubeconfig", kubeconfig] if kubeconfig else []), "--node", node,
                "--data-dir", self.data_dir, "--skip-timer", "--timeout", timeout, *extra)

    def install(self, api, *extra, kubeconfig=None, timeout="30s", node=NODE, faketime=None, env=None):
        return self.run(*(["faketime", "-f", faketime] if faketime else []), BINARY,
                        *self.install_args(api, *extra, kubeconfig=kubeconfig, timeout=timeout, node=node), env=env)


@pytest.fixture
def node(tmp_path, loops):
    return Node(tmp_path, loops)


@pytest.fixture
def api(kube_api):
    return ready_cluster(kube_api, NODE)


def patches(api):
    return [r for r in api.requests if r["method"] == "PATCH"]


def applied_lines(stdout):
    """{"Deployment kube-ops/docker-dind": "created", ...} from install's output."""
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"^  (\S+ \S+) (created|configured|unchanged)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def assert_nothing_applied(api, node):
    assert patches(api) == []
    for res, name, ns in OBJECTS[1:]:
        assert api.object(res, name, ns) is None
    assert not node.env_file.exists()


# ---- the happy paths

def test_clean_install_applies_every_object_and_writes_the_env_file(api, node):
    p = node.install(api)
    assert p.returncode == 0, p.stderr
    for res, name, ns in OBJECTS:
        obj = api.object(res, name, ns)
        assert obj is not None, (res, name)
        managers = [e["manager"] for e in obj["metadata"].get("managedFields", [])
                    if e.get("operation") == "Apply"]
        assert managers == ["dind-cache"], (res, managers)
    assert set(applied_lines(p.stdout).values()) == {"created"}
    assert len(applied_lines(p.stdout)) == len(OBJECTS)

    pv = api.object("persistentvolumes", "docker-pv")
    assert pv["spec"]["local"]["path"] == str(node.data_dir)
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"] == [NODE]
    svc = api.object("services", "docker-dind", "kube-ops")
    env = node.env()
    assert env["DOCKER_HOST"] == f"tcp://{svc['spec']['clusterIP']}:2376"
    assert env["DOCKER_TLS_VERIFY"] == "1"
    assert env["DOCKER_CERT_PATH"] == "/etc/dind-cache/pki/checker"
    assert env["DIND_CACHE_DATA_DIR"] == str(node.data_dir)
    assert env["DIND_CACHE_NODE"] == NODE
    assert node.env_file.stat().st_mode & 0o777 == 0o644
    assert "DOCKER_HOST: tcp://docker-dind.kube-ops.svc:2376" in p.stdout
    # every apply carried our field manager, none forced; the members ConfigMap's key
    # its own (test_instances.py)
    for r in patches(api):
        member = "/configmaps/dind-cache-members" in r["path"]
        assert r["query"]["fieldManager"] == ["dind-cache/default" if member else "dind-cache"]
        assert "force" not in r["query"] and "dryRun" not in r["query"]
        assert r["headers"]["Content-Type"] == "application/apply-patch+yaml"


def test_rerun_changes_nothing(api, node):
    assert node.install(api).returncode == 0
    before = {(res, name): api.object(res, name, ns)["metadata"]["resourceVersion"]
              for res, name, ns in OBJECTS}
    env_before = node.env_file.read_text()
    p = node.install(api)
    assert p.returncode == 0, p.stderr
    lines = applied_lines(p.stdout)
    assert len(lines) == len(OBJECTS) and set(lines.values()) == {"unchanged"}, p.stdout
    after = {(res, name): api.object(res, name, ns)["metadata"]["resourceVersion"]
             for res, name, ns in OBJECTS}
    assert after == before
    assert node.env_file.read_text() == env_before


def test_dry_run_persists_nothing(api, node):
    p = node.install(api, "--dry-run")
    assert p.returncode == 0, p.stderr
    assert patches(api), "a dry run still sends the applies, with dryRun=All"
    for r in patches(api):
        assert r["query"].get("dryRun") == ["All"], r
    for res, name, ns in OBJECTS:
        assert api.object(res, name, ns) is None, (res, name)
    assert not node.env_file.exists()
    assert "dry run" in p.stdout
    assert "Would wait" in p.stdout


def test_dry_run_after_install_reports_unchanged_and_configured(api, node):
    assert node.install(api).returncode == 0
    rv = api.object("deployments", "docker-dind", "kube-ops")["metadata"]["resourceVersion"]
    p = node.install(api, "--dry-run", "--registry-mirror", "https://mirror.example")
    assert p.returncode == 0, p.stderr
    lines = applied_lines(p.stdout)
    assert lines["Deployment kube-ops/docker-dind"] == "configured"
    assert lines["Service kube-ops/docker-dind"] == "unchanged"
    dep = api.object("deployments", "docker-dind", "kube-ops")
    assert dep["metadata"]["resourceVersion"] == rv
    assert "mirror.example" not in json.dumps(dep)


def test_skip_apply_talks_to_no_cluster_and_keeps_docker_host(api, node):
    node.env_file.parent.mkdir(parents=True, exist_ok=True)
    node.env_file.write_text("DOCKER_HOST=tcp://10.96.0.99:2375\nDIND_CACHE_DISK_WARN=70\n")
    api.clear_requests()
    p = node.install(api, "--skip-apply")
    assert p.returncode == 0, p.stderr
    assert api.requests == []
    assert f"dind-cache render --node {NODE} --data-dir {node.data_dir}" in p.stdout
    assert "kubectl apply --server-side" in p.stdout
    env = node.env()
    assert env["DOCKER_HOST"] == "tcp://10.96.0.99:2375"
    assert env["DIND_CACHE_DISK_WARN"] == "70"
    assert env["DIND_CACHE_DATA_DIR"] == str(node.data_dir)
    assert env["DIND_CACHE_NODE"] == NODE


def test_an_env_file_systemd_versions_read_differently_stops_install_naming_the_line(api, node):
    # systemd 252 reads line 2 as part of the comment, 254 and later as DOCKER_HOST:
    # written back by either's rules, the other's service would change. Nothing is applied.
    text = "DIND_CACHE_DISK_WARN=70\n# old address \\\nDOCKER_HOST=tcp://10.96.0.99:2375\n"
    node.env_file.parent.mkdir(parents=True, exist_ok=True)
    node.env_file.write_text(text)
    api.clear_requests()
    p = node.install(api)
    assert p.returncode != 0
    assert ("cannot read '/etc/dind-cache/dind-cache.env': line 2: a comment that ends in a backslash runs on, "
            "for systemd 252 (Debian 12), over line 3, which systemd 254 and later (Debian 13) read as a "
            "setting") in p.stderr, p.stderr
    assert node.env_file.read_text() == text
    assert patches(api) == []


# ---- kubeconfig forms

@pytest.mark.parametrize("auth,ca", [("cert", "file"), ("cert-data", "data"), ("token", "file"),
                                     ("token-file", "data")])
def test_kubeconfig_forms_authenticate(api, node, tmp_path, auth, ca):
    kc = api.kubeconfig(tmp_path / "kc" / "config", auth=auth, ca=ca)
    p = node.install(api, kubeconfig=kc)
    assert p.returncode == 0, p.stderr
    assert api.object("deployments", "docker-dind", "kube-ops") is not None


def test_tls_server_name_is_the_name_verified(api, node, tmp_path):
    good = api.kubeconfig(tmp_path / "good", tls_server_name="kubernetes.default.svc")
    p = node.install(api, "--dry-run", kubeconfig=good)
    assert p.returncode == 0, p.stderr
    assert any(r["headers"].get("Host", "").startswith("kubernetes.default.svc")
               for r in api.requests)
    api.clear_requests()
    bad = api.kubeconfig(tmp_path / "bad", tls_server_name="not-the-api.example")
    p = node.install(api, "--dry-run", kubeconfig=bad)
    assert p.returncode == 1
    assert "no reply from the API server" in p.stderr
    assert api.requests == []


def test_wrong_ca_fails_closed(api, node, tmp_path):
    kc = api.kubeconfig(tmp_path / "kc", ca="wrong")
    p = node.install(api, kubeconfig=kc)
    assert p.returncode == 1
    assert "certificate" in p.stderr
    assert "not trusted" in p.stderr
    assert api.requests == []
    assert not node.env_file.exists()


def test_exec_plugin_is_refused_naming_the_context(api, node, tmp_path):
    kc = api.kubeconfig(tmp_path / "kc", auth="exec", context="prod-admin")
    p = node.install(api, kubeconfig=kc)
    assert p.returncode == 1
    assert "exec credential plugin" in p.stderr and "not supported" in p.stderr
    assert "'prod-admin'" in p.stderr
    assert api.requests == []


def test_insecure_with_a_ca_is_refused_and_without_warns(api, node, tmp_path):
    kc = api.kubeconfig(tmp_path / "kc", insecure=True)  # with the CA file
    p = node.install(api, "--dry-run", kubeconfig=kc)
    assert p.returncode == 1
    assert "with the insecure flag is not allowed" in p.stderr
    kc = api.kubeconfig(tmp_path / "kc2", insecure=True, ca="none")
    p = node.install(api, "--dry-run", kubeconfig=kc)
    assert p.returncode == 0, p.stderr
    assert "NOT verified" in p.stderr


def test_context_flag_picks_another_context(api, node, tmp_path):
    kc = api.kubeconfig(tmp_path / "kc", auth="none",
                        extra_contexts=[("good", {"auth": "token"})])
    assert node.install(api, "--dry-run", kubeconfig=kc).returncode == 1
    p = node.install(api, "--dry-run", "--context", "good", kubeconfig=kc)
    assert p.returncode == 0, p.stderr
    assert "context 'good'" in p.stdout


# ---- errors in the API's words

def test_401_says_unauthorized_and_names_the_user(api, node, tmp_path):
    kc = api.kubeconfig(tmp_path / "kc", auth="none")
    p = node.install(api, kubeconfig=kc)
    assert p.returncode == 1
    assert "Unauthorized (HTTP 401)" in p.stderr
    assert "did not accept the credentials" in p.stderr
    assert patches(api) == []


def test_403_names_the_verb_and_resource(api, node):
    api.forbid("patch", "deployments")
    p = node.install(api)
    assert p.returncode == 1
    assert "Forbidden (HTTP 403)" in p.stderr
    assert 'cannot patch resource "deployments"' in p.stderr
    assert "may not patch deployments.apps" in p.stderr
    assert not node.env_file.exists()


def test_missing_node_is_caught_before_any_change(api, node):
    p = node.install(api, node="node7")
    assert p.returncode == 1
    assert "the node 'node7' does not exist" in p.stderr
    assert_nothing_applied(api, node)


def test_404_on_apply_shows_the_status(api, node):
    api.inject(method="PATCH", path_re="deployments", status=404)
    p = node.install(api)
    assert p.returncode == 1
    assert "cannot apply Deployment kube-ops/docker-dind: NotFound (HTTP 404)" in p.stderr
    assert not node.env_file.exists()


def test_409_lists_the_conflicts_and_force_conflicts_takes_over(api, node):
    assert node.install(api).returncode == 0
    dep = api.object("deployments", "docker-dind", "kube-ops")
    dep["spec"]["replicas"] = 2
    api.put_object(dep, manager="kubectl")
    p = node.install(api)
    assert p.returncode == 1
    assert "Conflict (HTTP 409)" in p.stderr
    assert ".spec.replicas" in p.stderr and '"kubectl"' in p.stderr
    assert "--force-conflicts" in p.stderr
    assert api.object("deployments", "docker-dind", "kube-ops")["spec"]["replicas"] == 2
    p = node.install(api, "--force-conflicts")
    assert p.returncode == 0, p.stderr
    assert api.object("deployments", "docker-dind", "kube-ops")["spec"]["replicas"] == 1
    assert all(r["query"].get("force") == ["true"] for r in patches(api)[-8:])


def test_422_lists_the_field_causes(api, node):
    # A StorageClass of our name made by someone else, with another provisioner: taking
    # it over (--force-conflicts) would change an immutable field.
    api.put_object({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                    "metadata": {"name": "local-volume"},
                    "provisioner": "example.com/other",
                    "volumeBindingMode": "WaitForFirstConsumer"}, manager="kubectl")
    p = node.install(api, "--force-conflicts")
    assert p.returncode == 1
    assert "cannot apply StorageClass local-volume: Invalid (HTTP 422)" in p.stderr
    assert re.search(r"^  provisioner: .*forbidden", p.stderr, re.M), p.stderr
    assert api.object("storageclasses", "local-volume")["provisioner"] == "example.com/other"
    assert not node.env_file.exists()


def test_seed_rolling_update_deployment_gets_the_patch_that_unblocks_it(api, node):
    # The original write-up's Deployment: no strategy, so the API defaults
    # RollingUpdate with rollingUpdate settings, owned by kubectl.
    api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-ops"}})
    api.put_object({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "docker-dind", "namespace": "kube-ops",
                                 "labels": {"app": "docker-dind"}},
                    "spec": {"selector": {"matchLabels": {"app": "docker-dind"}},
                             "template": {"metadata": {"labels": {"app": "docker-dind"}},
                                          "spec": {"containers": [{"name": "docker-dind",
                                                                   "image": "docker:dind"}]}}}},
                   manager="kubectl-client-side-apply")
    p = node.install(api)
    assert p.returncode == 1
    assert "Conflict (HTTP 409)" in p.stderr  # image and strategy type are kubectl's
    p = node.install(api, "--force-conflicts")
    assert p.returncode == 1
    assert "Invalid (HTTP 422)" in p.stderr
    assert "kubectl -n kube-ops patch deployment docker-dind --type=json" in p.stderr, p.stderr
    assert '"path":"/spec/strategy/rollingUpdate"' in p.stderr
    dep = api.object("deployments", "docker-dind", "kube-ops")
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"
    assert not node.env_file.exists()


def test_existing_volume_pointing_elsewhere_is_reported_not_overwritten(api, node):
    assert node.install(api).returncode == 0
    api.clear_requests()
    p = node.install(api, "--capacity", "100Mi")
    assert p.returncode == 1
    assert "PersistentVolume 'docker-pv' exists and points elsewhere" in p.stderr
    assert re.search(r"capacity is '\d+Mi' \(install would use '100Mi'\)", p.stderr), p.stderr
    assert patches(api) == []


# ---- transport faults

def test_429_is_retried_after_retry_after(api, node):
    api.inject(method="PATCH", path_re="deployments", status=429, retry_after=1, times=2)
    p = node.install(api)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("answered HTTP 429; retrying in 1s") == 2
    dep_patches = [r for r in patches(api) if "deployments" in r["path"]]
    assert [r["status"] for r in dep_patches] == [429, 429, 201]


def test_500_and_a_dropped_connection_are_retried(api, node):
    api.inject(method="PATCH", path_re="services", status=500, times=2)
    api.inject(method="GET", path_re="nodes", drop=True, times=1)
    p = node.install(api)
    assert p.returncode == 0, p.stderr
    assert "answered HTTP 500" in p.stderr
    assert "connection to the API server failed" in p.stderr
    assert api.object("services", "docker-dind", "kube-ops") is not None


def test_endless_500_gives_up(api, node):
    api.inject(method="PATCH", path_re="storageclasses", status=500, times=100)
    p = node.install(api)
    assert p.returncode == 1
    assert "(HTTP 500)" in p.stderr
    assert not node.env_file.exists()


# ---- preflight and waiting

def test_wrong_node_label_is_caught_before_any_change(kube_api, node):
    kube_api.add_node(NODE, labels={"kubernetes.io/hostname": "node1.example.com"})
    p = node.install(kube_api)
    assert p.returncode == 1
    assert "'node1.example.com'" in p.stderr and "would use 'node1'" in p.stderr
    assert_nothing_applied(kube_api, node)


def test_timeout_names_the_stuck_condition_and_the_scheduler_event(api, node):
    api.schedule_pods = False
    p = node.install(api, timeout="3s")
    assert p.returncode == 1
    assert "timed out after 3s" in p.stderr
    assert "is not scheduled to a node yet" in p.stderr
    assert "FailedScheduling" in p.stderr
    assert not node.env_file.exists()


# ---- the daemon's namespace and Pod Security Admission

ENFORCE = "pod-security.kubernetes.io/enforce"
MARK = "dind-cache.io/pod-security-label"


def label_owners(api, name):
    """The field managers that own the namespace's enforce label."""
    ns = api.object("namespaces", name)
    return sorted(e["manager"] for e in ns["metadata"].get("managedFields", [])
                  if f"f:{ENFORCE}" in e.get("fieldsV1", {}).get("f:metadata", {}).get("f:labels", {}))


def test_a_namespace_install_makes_is_labelled_privileged_and_uninstall_takes_the_label_away(api, node, tmp_path):
    p = node.install(api)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"Namespace kube-ops: install creates it, labelled {ENFORCE}=privileged" in p.stdout
    meta = api.object("namespaces", "kube-ops")["metadata"]
    assert meta["labels"][ENFORCE] == "privileged" and MARK in meta["annotations"]
    again = node.install(api)
    assert again.returncode == 0 and f"labelled {ENFORCE}=privileged by install (kept" in again.stdout
    assert applied_lines(again.stdout)["Namespace kube-ops"] == "unchanged"

    gone = node.tool("uninstall", "--delete-cluster-objects", "--kubeconfig", api.kubeconfig(tmp_path / "kc"))
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert f"Namespace kube-ops: the label {ENFORCE} install set removed" in gone.stderr
    meta = api.object("namespaces", "kube-ops")["metadata"]         # the namespace stays
    assert ENFORCE not in (meta.get("labels") or {}) and MARK not in (meta.get("annotations") or {})


@pytest.mark.parametrize("level", ["baseline", "restricted", "Privileged"])
def test_an_existing_namespace_that_would_refuse_the_daemon_stops_install_naming_its_label(api, node, level):
    api.put_object({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "kube-ops", "labels": {ENFORCE: level}}})
    p = node.install(api)
    assert p.returncode == 1
    assert (f"the namespace 'kube-ops' enforces the pod-security level '{level}' (label {ENFORCE}={level}), "
            "which refuses the daemon's privileged pod; nothing was applied") in p.stderr, p.stderr
    assert f"kubectl label namespace kube-ops {ENFORCE}=privileged --overwrite" in p.stderr
    assert "--namespace NAME" in p.stderr
    assert_nothing_applied(api, node)
    assert api.object("namespaces", "kube-ops")["metadata"]["labels"][ENFORCE] == level


def test_an_existing_namespace_keeps_its_own_label_and_install_never_sets_one(api, node, tmp_path):
    api.put_object({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "kube-ops", "labels": {ENFORCE: "privileged", "team": "ci"}}})
    p = node.install(api)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Namespace kube-ops: not made by install, enforces the pod-security level privileged" in p.stdout
    assert label_owners(api, "kube-ops") == ["kubectl"]
    assert MARK not in (api.object("namespaces", "kube-ops")["metadata"].get("annotations") or {})
    gone = node.tool("uninstall", "--delete-cluster-objects", "--kubeconfig", api.kubeconfig(tmp_path / "kc"))
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert api.object("namespaces", "kube-ops")["metadata"]["labels"][ENFORCE] == "privileged"


def test_an_unlabelled_namespace_under_a_baseline_cluster_default_shows_podsecuritys_refusal(api, node):
    """No enforce label: the cluster's default applies, which install cannot read. It
    says so and goes on; the daemon's pod is then refused, and the wait names why."""
    api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-ops"}})
    api.pod_security_default = "baseline"
    p = node.install(api, timeout="4s")
    assert "Namespace kube-ops: not made by install, no pod-security.kubernetes.io/enforce label: the cluster's " \
           "default level applies" in p.stdout, p.stdout
    assert ENFORCE not in (api.object("namespaces", "kube-ops")["metadata"].get("labels") or {})
    assert p.returncode == 1
    assert "FailedCreate" in p.stderr and 'violates PodSecurity "baseline:latest": privileged (container "dind" ' \
        "must not set securityContext.privileged=true)" in p.stderr, p.stderr


def test_memory_and_cpu_limits_reach_the_daemon(api, node):
    p = node.install(api, "--memory", "12Gi", "--cpus", "2500m")
    assert p.returncode == 0, p.stdout + p.stderr
    [c] = api.object("deployments", "docker-dind", "kube-ops")["spec"]["template"]["spec"]["containers"]
    assert c["resources"]["limits"] == {"cpu": "2500m", "memory": "12Gi"}
    assert c["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
