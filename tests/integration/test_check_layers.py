"""scripts/check-layers, the checker of the folder DAG that `make check-layers` runs:
it passes on the tree as it is, and refuses each kind of broken rule, naming the file,
the line and the rule."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_env

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "scripts" / "check-layers"


def check(tree):
    return subprocess.run([sys.executable, str(CHECKER), str(tree)], capture_output=True, text=True)


@pytest.fixture
def tree(tmp_path):
    copy = tmp_path / "installer"
    shutil.copytree(ROOT / "installer", copy)
    return copy


def add_line(path, line):
    text = path.read_text()
    path.write_text(line + "\n" + text)


def test_the_tree_as_it_is_keeps_every_rule():
    r = check(ROOT / "installer")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""


def test_an_upward_include_is_refused_naming_file_line_and_rule(tree):
    add_line(tree / "disk" / "disk.c", '#include "check/health.h"')
    r = check(tree)
    assert r.returncode == 1
    assert 'installer/disk/disk.c:1: includes "check/health.h": disk/ may not include check/' in r.stderr


@pytest.mark.parametrize("folder,target", [
    ("base", "cmd/cmd.h"),            # the floor includes the roof
    ("check", "kube/kube.h"),         # the node's timers need no cluster credentials
    ("systemd", "docker/docker.h"),   # a sideways edge on one floor
    ("metrics", "check/health.h"),    # the old edge the figures were moved down for
])
def test_every_edge_outside_the_table_is_refused(tree, folder, target):
    victim = sorted((tree / folder).glob("*.c"))[0]
    add_line(victim, f'#include "{target}"')
    r = check(tree)
    assert r.returncode == 1, r.stderr
    assert f"{folder}/ may not include {target.split('/')[0]}/" in r.stderr


@pytest.mark.parametrize("where,header,library", [
    ("docker/docker.c", "curl/curl.h", "libcurl"),
    ("check/health-tls.c", "openssl/x509.h", "OpenSSL"),
    ("check/health-disk.c", "blkid.h", "libblkid"),
    ("kube/manifest.c", "yaml.h", "libyaml"),
])
def test_an_outside_library_outside_its_home_is_refused(tree, where, header, library):
    add_line(tree / where, f"#include <{header}>")
    r = check(tree)
    assert r.returncode == 1
    assert f"installer/{where}:1: includes <{header}>: {library} belongs only in" in r.stderr


def test_a_folder_the_table_does_not_know_is_refused(tree):
    (tree / "extra").mkdir()
    (tree / "extra" / "x.c").write_text('#include "base/util.h"\n')
    r = check(tree)
    assert r.returncode == 1
    assert "installer/extra/: a folder the table does not know" in r.stderr


def test_make_check_layers_runs_the_checker_on_the_tree(tmp_path):
    # The Makefile target is what CI runs: a broken copy of the tree fails through it too.
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "installer", copy / "installer")
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    shutil.copy(ROOT / "Makefile", copy / "Makefile")
    shutil.copy(ROOT / "VERSION", copy / "VERSION")
    ok = subprocess.run(["make", "-s", "-C", str(copy), "check-layers"], capture_output=True, text=True,
                        env=make_env())
    assert ok.returncode == 0, ok.stderr
    add_line(copy / "installer" / "pki" / "pki.c", '#include "prune/prune-plan.h"')
    bad = subprocess.run(["make", "-s", "-C", str(copy), "check-layers"], capture_output=True, text=True,
                         env=make_env())
    assert bad.returncode != 0
    assert "pki/ may not include prune/" in bad.stderr
