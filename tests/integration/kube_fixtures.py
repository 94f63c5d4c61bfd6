"""The `kube_api` fixture: a fake Kubernetes API server (fake_apiserver.py) on 127.0.0.1,
a random port, certificates in a temporary directory; stopped at teardown. ready_cluster()
makes it the cluster an install runs against."""

import pytest

from fake_apiserver import FakeAPIServer


@pytest.fixture
def kube_api(tmp_path):
    server = FakeAPIServer(tmp_path / "kube-api").start()
    try:
        yield server
    finally:
        server.stop()


def ready_cluster(api, *nodes, cluster_ip=None):
    """API as the cluster of an install: the NODES (Node objects), a daemon ready soon
    after it is applied, and the Services' ClusterIP CLUSTER_IP (a loopback address that
    stands in for kube-proxy) when given. Returns API."""
    api.ready_delay = 0.2
    if cluster_ip:
        api.cluster_ip = cluster_ip
    for name in nodes:
        api.add_node(name)
    return api
