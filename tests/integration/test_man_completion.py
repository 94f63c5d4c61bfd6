"""What an operator reads and presses: `man 8 dind-cache` documents every flag that
`--help` of each command prints, and renders without warnings; bash completion
(loaded in a real bash, driven through COMP_WORDS/COMP_CWORD) offers the commands,
their flags and the values it can know."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BINARY, ROOT, run_tool

MAN = ROOT / "build" / "dind-cache.8"
SCD = ROOT / "docs" / "dind-cache.8.scd"
COMPLETION = ROOT / "completion" / "dind-cache.bash"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def commands():
    out = run_tool("--help").stdout
    block = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def help_flags(*args):
    p = run_tool(*args, "--help")
    assert p.returncode == 0, p.stderr
    return sorted(set(FLAG.findall(p.stdout)))


def man_sections():
    """{command: text of its '## command' subsection} of the scdoc source."""
    out, name = {}, None
    for line in SCD.read_text().splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
            out[name] = ""
        elif line.startswith("# "):
            name = None
        elif name:
            out[name] += line + "\n"
    return out


def test_every_flag_of_every_command_is_in_the_man_page():
    sections = man_sections()
    missing = {}
    for cmd in commands():
        text = sections.get(cmd)
        if text is None:
            missing[cmd] = ["(no '## %s' section)" % cmd]
            continue
        lacking = [f for f in help_flags(cmd) if not re.search(r"\*%s\*" % re.escape(f), text)]
        if lacking:
            missing[cmd] = lacking
    top = SCD.read_text()
    lacking = [f for f in help_flags() if f"*{f}*" not in top]
    if lacking:
        missing["dind-cache"] = lacking
    assert not missing, "flags printed by --help but not in docs/dind-cache.8.scd: " + "; ".join(
        f"{cmd}: {' '.join(flags)}" for cmd, flags in sorted(missing.items()))


def test_every_check_setting_is_in_the_man_page():
    text = run_tool("check", "--help").stdout
    names = set(re.findall(r"\b(DOCKER_HOST|DIND_CACHE_[A-Z_]+)", text))
    names = {n.rstrip("_") for n in names}
    # "DIND_CACHE_DISK_WARN/CRIT" in --help names both.
    for n in list(names):
        if n.endswith("_WARN"):
            names.add(n[:-5] + "_CRIT")
    env = SCD.read_text().split("# ENVIRONMENT", 1)[1].split("\n# ", 1)[0]
    assert not [n for n in sorted(names) if f"*{n}*" not in env]


def test_man_page_has_its_sections_and_renders_without_warnings():
    assert MAN.exists(), "make builds build/dind-cache.8"
    src = SCD.read_text()
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "ENVIRONMENT",
                    "FILES", "EXAMPLES", "SEE ALSO"):
        assert f"\n# {section}\n" in src, section
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    p = subprocess.run(["man", "--warnings", "-l", str(MAN)], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr == "", p.stderr
    assert "dind-cache - one persistent, shared Docker layer cache" in p.stdout
    assert "uninstall" in p.stdout.split("EXAMPLES", 1)[1]  # how to undo install


def complete(*words, env=None, cur_index=None):
    """COMPREPLY for the command line WORDS (the last is the word being completed)."""
    words = ["dind-cache", *words]
    cword = len(words) - 1 if cur_index is None else cur_index
    array = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    script = (f"source {COMPLETION}\n"
              f"COMP_WORDS=({array}); COMP_CWORD={cword}; COMP_LINE='{' '.join(words)}'\n"
              "_dind_cache\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    full = dict(os.environ, PATH=f"{BINARY.parent}:{os.environ['PATH']}")
    full.update(env or {})
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                       env=full, timeout=30)
    assert p.returncode == 0, p.stderr
    return [l for l in p.stdout.splitlines() if l]


def test_completion_loads_without_a_shebang_and_registers():
    text = COMPLETION.read_text()
    assert not text.startswith("#!")
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", f"source {COMPLETION}; complete -p dind-cache"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "complete -F _dind_cache dind-cache"


def test_completion_offers_commands_and_each_commands_flags():
    assert complete("") == commands()
    assert complete("in") == ["install"]
    assert complete("install", "--sk") == ["--skip-apply", "--skip-timer"]
    assert sorted(complete("uninstall", "--")) == help_flags("uninstall")
    assert complete("check", "--j") == ["--json"]
    assert complete("--v") == ["--version"]


def test_completion_offers_block_devices_for_device(loops):
    dev = loops.device()
    got = complete("install", "--device", "/dev/lo")
    assert dev in got
    assert all(d.startswith("/dev/lo") for d in got)


def test_completion_offers_the_kubeconfigs_contexts(tmp_path):
    kc = tmp_path / "config"
    kc.write_text("""apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://127.0.0.1:6443
  name: prod-cluster
contexts:
- context:
    cluster: prod-cluster
    user: admin
  name: prod-admin
- name: "staging"
  context:
    cluster: prod-cluster
    user: ci
current-context: prod-admin
users:
- name: admin
  user: {}
""")
    assert complete("install", "--kubeconfig", str(kc), "--context", "") == ["prod-admin", "staging"]
    assert complete("install", "--context", "st", env={"KUBECONFIG": f"{kc}:/nonexistent"}) == ["staging"]
    # No kubeconfig: nothing offered, no error.
    assert complete("install", "--context", "", env={"KUBECONFIG": str(tmp_path / "none")}) == []
