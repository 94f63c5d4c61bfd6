"""The env file against the real thing: a real systemd (booted in namespaces on an
overlay of /) reads tricky files as a unit's EnvironmentFile=, and the library's reader
must agree with it on every one; the file install writes must give systemd our
DOCKER_HOST and leave every other assignment as systemd read it before."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, Systemd

TOOL = ROOT / "build" / "tests" / "helpers" / "envfile-tool"
KEYS = ("DOCKER_HOST", "DIND_CACHE_DATA_DIR", "DIND_CACHE_NODE")

# Files whose meaning for systemd is not what a line-by-line reading suggests.
TRICKY = {
    "plain": b"DOCKER_HOST=tcp://10.0.0.1:2375\nDIND_CACHE_NODE=n1\n",
    "continued_line_swallows_the_next": b"X=a\\\nDOCKER_HOST=tcp://evil:2375\nDIND_CACHE_NODE=n\n",
    "multi_line_double_quotes": b'X="one\nDOCKER_HOST=tcp://evil:2375\n"\nDIND_CACHE_NODE=n\n',
    "multi_line_single_quotes": b"X='one\nDOCKER_HOST=tcp://evil:2375'\nDIND_CACHE_NODE=n\n",
    "open_quote_at_the_end": b'DIND_CACHE_NODE=n\nX="never closed\n',
    "comment_continued": b"# note \\\nDOCKER_HOST=tcp://hidden:2375\nDIND_CACHE_NODE=c\n",
    "crlf": b"DOCKER_HOST=tcp://10.0.0.2:2375\r\nDIND_CACHE_NODE=n2 \r\n",
    "cr_ends_a_comment": b"# comment\rDOCKER_HOST=tcp://after-cr:2375\n",
    "backslashes_in_double_quotes": b'DIND_CACHE_DATA_DIR="/a\\b\\\\c\\$d\\"e\\`f"\n',
    "backslashes_unquoted": b"DIND_CACHE_DATA_DIR=/a\\ b\\\\c\\$d  \n",
    "quotes_mid_value": b"DIND_CACHE_NODE=a\"b\"c\nDIND_CACHE_DATA_DIR=\"/x\" '/y'  z \n",
    "blanks_around_key_and_value": b"  DOCKER_HOST \t=  tcp://h:1  \t\n",
    "empty_values": b"DOCKER_HOST=\nDIND_CACHE_NODE=''\nDIND_CACHE_DATA_DIR=\"\"\n",
    "semicolon_comment_and_garbage": b"; DOCKER_HOST=tcp://no:1\ngarbage line\nDIND_CACHE_NODE=g\n",
    "last_assignment_wins": b"DIND_CACHE_NODE=first\nDIND_CACHE_NODE=second\n",
    "no_final_newline_in_escape": b"DIND_CACHE_NODE=\"x\\",
    "invalid_utf8_refuses_the_file": b"DIND_CACHE_NODE=\xff\n",
    "nul_refuses_the_file": b"DIND_CACHE_NODE=n\n\0DOCKER_HOST=tcp://after-nul:2375\n",
}


@pytest.fixture(scope="module")
def sd():
    base = Path(tempfile.mkdtemp(prefix="dind-cache-envfile-", dir="/var/tmp"))
    s = Systemd(base)
    try:
        s.boot()
        yield s
    finally:
        s.shutdown()
        shutil.rmtree(base, ignore_errors=True)


VOLATILE = {"INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID"}


def systemd_env(sd, content):
    """The whole environment systemd gives a unit with EnvironmentFile= of CONTENT (but
    the variables that change from run to run), or None when systemd refuses the file."""
    host = sd.path("/root/envtest/f.env")
    host.parent.mkdir(parents=True, exist_ok=True)
    host.write_bytes(content)
    p = sd.run("systemd-run", "--wait", "--pipe", "--quiet", "-p", "EnvironmentFile=/root/envtest/f.env",
               "/usr/bin/env", "-0", check=False, timeout=60)
    if p.returncode != 0:
        return None
    env = dict(kv.split("=", 1) for kv in p.stdout.split("\0") if "=" in kv)
    return {k: v for k, v in env.items() if k not in VOLATILE}


def systemd_reads(sd, content):
    """Our keys as systemd sets them for a unit with EnvironmentFile= of CONTENT, or
    None when systemd refuses the file."""
    env = systemd_env(sd, content)
    return None if env is None else {k: env.get(k) for k in KEYS}


def we_read(path):
    p = subprocess.run([str(TOOL), "read", str(path)], capture_output=True, text=True)
    if p.returncode == 2:
        return None
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_our_reader_agrees_with_systemd_on_tricky_files(sd, tmp_path):
    assert TOOL.exists(), "make build/tests/helpers/envfile-tool first"
    disagree = {}
    for name, content in TRICKY.items():
        f = tmp_path / name
        f.write_bytes(content)
        theirs, ours = systemd_reads(sd, content), we_read(f)
        # systemd passes an empty value on as set and empty; so do we.
        if theirs != ours:
            disagree[name] = {"systemd": theirs, "ours": ours}
    assert not disagree, disagree


def test_systemd_reads_the_docker_host_install_writes_whatever_the_file_held(sd, tmp_path):
    ours = "tcp://10.96.0.12:2375"
    wrong = {}
    for name, content in TRICKY.items():
        before = systemd_env(sd, content)
        if before is None:
            continue        # systemd refuses the file: so does the writer (below)
        f = tmp_path / name
        f.write_bytes(content)
        subprocess.run([str(TOOL), "write", str(f), ours], check=True, capture_output=True)
        after = systemd_env(sd, f.read_bytes())     # every other variable as it was
        expected = dict(before, DOCKER_HOST=ours)
        if after != expected:
            wrong[name] = {"written": f.read_text(), "systemd": after, "expected": expected}
    assert not wrong, wrong


def test_a_file_systemd_refuses_is_not_rewritten(tmp_path):
    f = tmp_path / "bad.env"
    f.write_bytes(TRICKY["invalid_utf8_refuses_the_file"])
    p = subprocess.run([str(TOOL), "write", str(f), "tcp://h:1"], capture_output=True, text=True)
    assert p.returncode == 2 and "Bad message" in p.stderr
    assert f.read_bytes() == TRICKY["invalid_utf8_refuses_the_file"]


def random_files(count, seed=11):
    """Deterministic random files over the characters systemd's parser treats specially."""
    import random
    rng = random.Random(seed)
    pieces = ["DIND_CACHE_NODE", "DOCKER_HOST", "=", "\"", "'", "\\", "\n", "\r", "\r\n", " ", "\t",
              "#", ";", "$", "`", "x", "y z", "\\\n", "\"\n", "é"]
    for _ in range(count):
        yield "".join(rng.choice(pieces) for _ in range(rng.randint(1, 24))).encode()


def test_our_reader_agrees_with_systemd_on_random_files(sd, tmp_path):
    disagree = []
    for i, content in enumerate(random_files(int(os.environ.get("DIND_CACHE_ENVFILE_CASES", "25")))):
        f = tmp_path / f"r{i}"
        f.write_bytes(content)
        theirs, ours = systemd_reads(sd, content), we_read(f)
        if theirs != ours:
            disagree.append({"file": content, "systemd": theirs, "ours": ours})
    assert not disagree, disagree[:5]


def test_systemd_reads_what_we_write_over_random_files(sd, tmp_path):
    ours = "tcp://10.96.0.12:2375"
    wrong = []
    for i, content in enumerate(random_files(int(os.environ.get("DIND_CACHE_ENVFILE_CASES", "25")), seed=12)):
        before = systemd_env(sd, content)
        f = tmp_path / f"w{i}"
        f.write_bytes(content)
        p = subprocess.run([str(TOOL), "write", str(f), ours], capture_output=True)
        if before is None:
            if p.returncode != 2:       # systemd refuses it: so must we, untouched
                wrong.append({"file": content, "written although systemd refuses it": f.read_bytes()})
            continue
        after = systemd_env(sd, f.read_bytes())
        if after != dict(before, DOCKER_HOST=ours):     # every other variable as it was
            wrong.append({"file": content, "written": f.read_bytes(), "before": before, "after": after})
    assert not wrong, wrong[:5]
