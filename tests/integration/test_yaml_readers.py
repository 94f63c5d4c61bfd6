"""The YAML the program writes (yaml_dump, which render and install use) read back by
other readers: PyYAML's YAML 1.1 resolver, and the integer rule of kubectl's go-yaml
(Go's ParseInt with base 0 after dropping underscores). A string must stay a string."""

import itertools
import json
import re
import subprocess

import yaml

from conftest import ROOT

TOOL = ROOT / "build" / "tests" / "helpers" / "yaml-dump"
# YAML 1.2 core floats, which go-yaml also reads.
CORE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def go_yaml_reads_as_number(s):
    if not s or s[0] not in "+-.0123456789":
        return False         # go-yaml tries numbers only on these first characters
    plain = s.replace("_", "")
    try:
        int(plain, 0)        # Python's base-0 prefixes are Go's: 0b 0o 0x in either case
        return True
    except ValueError:
        pass
    return bool(CORE_FLOAT.match(plain))


def candidates():
    """Short strings over the characters numbers, bools and dates are made of."""
    alphabet = "0 1 7 9 b B o O x X _ + - . : e E f".split()
    for n in (1, 2, 3):
        for t in itertools.product(alphabet, repeat=n):
            yield "".join(t)
    yield from ["0B10", "0O17", "0x1_0", "+0x_1", "1:20", "190:20:30.15", ".inf", "-.Inf",
                ".NaN", "yes", "No", "ON", "off", "y", "N", "~", "null", "NULL", "True",
                "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
                "1_000", "0755", "1e3", "=", "<<", "10.0.0.1", "docker:28.5.2-dind", "5Gi",
                "0b1_0", "-0B1", "+0o1_7", "0X_fF", "1_0.5e+3", "-1:30:00", "+.5", "0x1F"]


def test_what_we_write_other_yaml_readers_read_as_the_same_strings():
    assert TOOL.exists(), "make build/tests/helpers/yaml-dump first"
    strings = sorted(set(candidates()))
    doc = {"values": strings, "keys": {s: i for i, s in enumerate(strings)}}
    p = subprocess.run([str(TOOL)], input=json.dumps(doc), capture_output=True, text=True, check=True)
    back = yaml.safe_load(p.stdout)
    changed = [s for s, b in zip(strings, back["values"]) if b != s]
    assert not changed, f"PyYAML (YAML 1.1) reads these as non-strings: {changed[:20]}"
    assert back["keys"] == doc["keys"]
    # go-yaml: every string Go would read as a number is quoted in the text.
    lines = p.stdout.splitlines()
    items = [ln[2:] for ln in lines if ln.startswith("- ")]
    assert len(items) == len(strings)
    unquoted = [s for s, ln in zip(strings, items) if go_yaml_reads_as_number(s) and not ln.startswith('"')]
    assert not unquoted, f"go-yaml would read these as numbers: {unquoted[:20]}"
