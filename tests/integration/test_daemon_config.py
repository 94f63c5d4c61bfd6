"""The daemon.json the manifests carry (ConfigMap docker-dind-daemon, mounted at
/etc/docker/daemon.json) run by the pinned dockerd 28.5.2 itself: the daemon starts
with it and applies its settings.

No field of GET /info (API 1.51) reports the builder's GC policy (buildx reads it over
BuildKit's own gRPC API), and BuildKit runs its GC at most once a minute after builds,
too slow for a test: the tests show instead that the daemon parses the policy at
start-up (a bad size stops it, named) and accepts the rendered one."""

import json
import urllib.request

import pytest
import yaml

from conftest import pinned_dockerd

MI = 1 << 20


def render_daemon_json(dind_cache, *args):
    p = dind_cache("render", "--node", "node1", *args)
    assert p.returncode == 0, p.stderr
    docs = [d for d in yaml.safe_load_all(p.stdout) if d]
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    dep = next(d for d in docs if d["kind"] == "Deployment")
    return cm["data"]["daemon.json"], dep


def get(daemon, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}{path}", timeout=30) as r:
        return json.load(r)


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


@pytest.fixture
def pinned():
    if not pinned_dockerd("pinned"):
        pytest.skip("the pinned dockerd 28.5.2 is not available (../shared/debs or DIND_CACHE_TEST_DEBS)")


def test_dockerd_28_runs_with_the_rendered_daemon_json(
        pinned, dind_cache, loops, tmp_path, dockerd_factory):
    text, dep = render_daemon_json(dind_cache, "--capacity", "100Mi", "--registry-mirror",
                                   "https://mirror.example.com", "--mtu", "1400")
    config = tmp_path / "daemon.json"
    config.write_text(text)
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert annotations["dind-cache.io/daemon-json-hash"] == f"fnv1a64:{fnv1a64(text.encode()):016x}"
    gc = json.loads(text)["builder"]["gc"]
    cap = int(gc["policy"][-1]["maxUsedSpace"])
    assert cap == 60 * MI

    _, mnt = loops.mounted("xfs", size="512M")
    d = dockerd_factory(mnt, which="pinned", extra_args=["--config-file", str(config)])
    info = get(d, "/info")
    assert info["ServerVersion"].startswith("28.5.2")
    assert info["Driver"] == "overlay2"                      # not the containerd store
    assert info["RegistryConfig"]["Mirrors"] == ["https://mirror.example.com/"]


def test_dockerd_28_reads_the_gc_policy_a_bad_size_stops_it(pinned, dind_cache, loops, tmp_path, dockerd_factory):
    """The daemon parses builder.gc at start-up: the rendered sizes passed above, and a
    size it cannot read is refused by name, so the policy is not silently ignored."""
    text, _ = render_daemon_json(dind_cache, "--capacity", "100Mi")
    doc = json.loads(text)
    doc["builder"]["gc"]["policy"][1]["maxUsedSpace"] = "lots"
    config = tmp_path / "daemon.json"
    config.write_text(json.dumps(doc))
    _, mnt = loops.mounted("xfs", size="512M")
    with pytest.raises(RuntimeError, match="maxUsedSpace"):
        dockerd_factory(mnt, which="pinned", extra_args=["--config-file", str(config)])
