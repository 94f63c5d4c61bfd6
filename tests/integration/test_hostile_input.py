"""Hostile input at the edges (issue 11): what comes from stdin, the API server, the
daemon, files and the environment is never trusted. Each test is named for the fault it
guards against and fails without its fix."""

import os
import subprocess
import time

import pytest
import yaml

from conftest import BINARY, run_tool

NODE = "node1"


@pytest.fixture
def api(kube_api):
    kube_api.ready_delay = 0.2
    kube_api.add_node(NODE)
    return kube_api


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
    p = subprocess.Popen([str(BINARY), "uninstall", "--delete-cluster-objects", "--dry-run",
                          "--kubeconfig", str(kubeconfig)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
