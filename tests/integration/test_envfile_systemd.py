"""The env file against the real thing: a real systemd (booted in namespaces on an
overlay of /) reads tricky files as a unit's EnvironmentFile=, and the library's reader
must agree with it on every one; the file install writes must give systemd our
DOCKER_HOST and leave every other assignment as systemd read it before.

The systemd here is 252 (Debian 12). systemd 254 and later (Debian 13) changed one
rule: a line break that a comment's trailing backslash escapes ends the comment. So 254
reads a file F as 252 reads as254(F), F with those backslashes taken out (the states
of 254's parser on F are 252's on as254(F)). Files whose two readings differ, as the
real 252 shows, must be refused by our reader and writer; all others read alike."""

import json
import os
import subprocess

import pytest

from conftest import ROOT, booted_systemd

pytestmark = pytest.mark.module_node

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
    "comment_continued_over_a_comment": b"# note \\\n# DOCKER_HOST=tcp://no:1\nDIND_CACHE_NODE=c\n",
    "comment_continued_into_an_open_quote": b"# a \\\nfoo \\\nX=\"open\nDIND_CACHE_NODE=lost\n",
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
    with booted_systemd("dind-cache-envfile-") as s:
        yield s


# Read differently by systemd 252 and 254: our reader and writer refuse them.
READ_TWO_WAYS = {"comment_continued", "comment_continued_into_an_open_quote"}

VOLATILE = {"INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID"}


def as254(content):
    """CONTENT as systemd 252 must read it to give what systemd 254 reads from CONTENT:
    the backslashes that escape a line break in a comment taken out. The states are
    those of 254's parser (src/basic/env-file.c); a NUL ends the text."""
    out, state = bytearray(), "PRE_KEY"
    for i, c in enumerate(content):
        ch = bytes([c])
        if c == 0:
            out += content[i:]
            break
        nl, ws = ch in b"\n\r", ch in b" \t\n\r"
        if state == "PRE_KEY":
            state = "COMMENT" if ch in b"#;" else "PRE_KEY" if ws else "KEY"
        elif state == "KEY":
            state = "PRE_KEY" if nl else "PRE_VALUE" if ch == b"=" else "KEY"
        elif state in ("PRE_VALUE", "VALUE"):
            if nl:
                state = "PRE_KEY"
            elif state == "PRE_VALUE" and ch in b"'\"":
                state = "SQ" if ch == b"'" else "DQ"
            elif ch == b"\\":
                state = "VALUE_ESCAPE"
            elif not (state == "PRE_VALUE" and ws):
                state = "VALUE"
        elif state == "VALUE_ESCAPE":
            state = "VALUE"
        elif state == "SQ":
            state = "PRE_VALUE" if ch == b"'" else "SQ"
        elif state == "DQ":
            state = "PRE_VALUE" if ch == b'"' else "DQ_ESCAPE" if ch == b"\\" else "DQ"
        elif state == "DQ_ESCAPE":
            state = "DQ"
        elif state == "COMMENT":
            state = "COMMENT_ESCAPE" if ch == b"\\" else "PRE_KEY" if nl else "COMMENT"
        elif state == "COMMENT_ESCAPE":
            if nl:
                out.pop()               # 254: the line break ends the comment
                state = "PRE_KEY"
            else:
                state = "COMMENT"
        out += ch
    return bytes(out)


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
        if name in READ_TWO_WAYS:
            # systemd 252 and (as252 reads as254 of it) 254 really do differ: refused.
            if systemd_env(sd, content) == systemd_env(sd, as254(content)) or ours is not None:
                disagree[name] = {"systemd 252": theirs, "as 254": systemd_reads(sd, as254(content)),
                                  "ours": ours}
        # systemd passes an empty value on as set and empty; so do we.
        elif theirs != ours:
            disagree[name] = {"systemd": theirs, "ours": ours}
    assert not disagree, disagree


def test_systemd_reads_the_docker_host_install_writes_whatever_the_file_held(sd, tmp_path):
    ours = "tcp://10.96.0.12:2375"
    wrong = {}
    for name, content in TRICKY.items():
        before = systemd_env(sd, content)
        if before is None or name in READ_TWO_WAYS:
            continue        # refused by the writer too (below)
        f = tmp_path / name
        f.write_bytes(content)
        subprocess.run([str(TOOL), "write", str(f), ours], check=True, capture_output=True)
        after = systemd_env(sd, f.read_bytes())     # every other variable as it was
        expected = dict(before, DOCKER_HOST=ours)
        if after != expected or as254(f.read_bytes()) != f.read_bytes():   # 254 reads it alike
            wrong[name] = {"written": f.read_text(), "systemd": after, "expected": expected}
    assert not wrong, wrong


def test_a_file_systemd_refuses_is_not_rewritten(tmp_path):
    f = tmp_path / "bad.env"
    f.write_bytes(TRICKY["invalid_utf8_refuses_the_file"])
    p = subprocess.run([str(TOOL), "write", str(f), "tcp://h:1"], capture_output=True, text=True)
    assert p.returncode == 2
    assert "line 1: the assignment of 'DIND_CACHE_NODE' is not valid UTF-8" in p.stderr, p.stderr
    assert f.read_bytes() == TRICKY["invalid_utf8_refuses_the_file"]


def test_a_comment_read_two_ways_is_refused_naming_the_line(sd, tmp_path):
    # Rewritten by 252's rules, the service on 254 lost DOCKER_HOST=tcp://hidden:2375.
    content = TRICKY["comment_continued"]
    assert systemd_reads(sd, content)["DOCKER_HOST"] is None
    assert systemd_reads(sd, as254(content))["DOCKER_HOST"] == "tcp://hidden:2375"
    f = tmp_path / "two-ways.env"
    f.write_bytes(content)
    p = subprocess.run([str(TOOL), "write", str(f), "tcp://h:1"], capture_output=True, text=True)
    assert p.returncode == 2
    assert ("line 1: a comment that ends in a backslash runs on, for systemd 252 (Debian 12), over line 2, "
            "which systemd 254 and later (Debian 13) read as a setting") in p.stderr, p.stderr
    assert f.read_bytes() == content
    # One both read alike is written, and both read the result as before.
    alike = TRICKY["comment_continued_over_a_comment"]
    assert systemd_env(sd, alike) == systemd_env(sd, as254(alike))
    f.write_bytes(alike)
    subprocess.run([str(TOOL), "write", str(f), "tcp://h:1"], check=True, capture_output=True)
    written = f.read_bytes()
    assert as254(written) == written
    assert systemd_env(sd, written) == dict(systemd_env(sd, alike), DOCKER_HOST="tcp://h:1")


def random_files(count, seed=11):
    """Deterministic random files over the characters systemd's parser treats specially."""
    import random
    rng = random.Random(seed)
    pieces = ["DIND_CACHE_NODE", "DOCKER_HOST", "=", "\"", "'", "\\", "\n", "\r", "\r\n", " ", "\t",
              "#", ";", "$", "`", "x", "y z", "\\\n", "\"\n", "é"]
    for _ in range(count):
        yield "".join(rng.choice(pieces) for _ in range(rng.randint(1, 24))).encode()


def read_two_ways(sd, content):
    """systemd 252 and 254 give a unit different variables from CONTENT."""
    return systemd_env(sd, content) != systemd_env(sd, as254(content))


def test_our_reader_agrees_with_systemd_on_random_files(sd, tmp_path):
    disagree = []
    for i, content in enumerate(random_files(int(os.environ.get("DIND_CACHE_ENVFILE_CASES", "25")))):
        f = tmp_path / f"r{i}"
        f.write_bytes(content)
        theirs, ours = systemd_reads(sd, content), we_read(f)
        two_ways = as254(content) != content and read_two_ways(sd, content)
        if (ours is not None) if two_ways else theirs != ours:
            disagree.append({"file": content, "systemd": theirs, "ours": ours, "read two ways": two_ways})
    assert not disagree, disagree[:5]


def test_systemd_reads_what_we_write_over_random_files(sd, tmp_path):
    ours = "tcp://10.96.0.12:2375"
    wrong = []
    for i, content in enumerate(random_files(int(os.environ.get("DIND_CACHE_ENVFILE_CASES", "25")), seed=12)):
        before = systemd_env(sd, content)
        f = tmp_path / f"w{i}"
        f.write_bytes(content)
        p = subprocess.run([str(TOOL), "write", str(f), ours], capture_output=True)
        if before is None or (as254(content) != content and read_two_ways(sd, content)):
            if p.returncode != 2:       # systemd refuses it (or 254 reads it otherwise): so must we
                wrong.append({"file": content, "written although refused": f.read_bytes()})
            elif f.read_bytes() != content:
                wrong.append({"file": content, "refused but changed": f.read_bytes()})
            continue
        after = systemd_env(sd, f.read_bytes())
        if after != dict(before, DOCKER_HOST=ours) or as254(f.read_bytes()) != f.read_bytes():
            wrong.append({"file": content, "written": f.read_bytes(), "before": before, "after": after})
    assert not wrong, wrong[:5]
