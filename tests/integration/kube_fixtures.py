"""The `kube_api` fixture: a fake Kubernetes API server (fake_apiserver.py) on 127.0.0.1,
a random port, certificates in a temporary directory; stopped at teardown."""

import pytest

from fake_apiserver import FakeAPIServer


@pytest.fixture
def kube_api(tmp_path):
    server = FakeAPIServer(tmp_path / "kube-api").start()
    try:
        yield server
    finally:
        server.stop()
