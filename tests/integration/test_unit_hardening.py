"""Each hardening directive of the checker's unit (units/dind-cache-check.service, the
template install writes) is asserted on its own, by what systemd makes of it: the
per-directive checks of `systemd-analyze security --offline=yes --json=short`. An
overall exposure score hides a lost directive (2.0 or less still passed with
ProtectSystem=strict removed); here removing any one directive fails its own case.
The few directives that security does not score are asserted on the unit a real
systemd loaded, in test_checker_systemd.py."""

import json
import subprocess

import pytest

from conftest import ROOT

UNIT = ROOT / "units" / "dind-cache-check.service"

CAPS = ["BPF", "SYS_PTRACE", "SYS_(NICE|RESOURCE)", "NET_ADMIN", "NET_(BIND_SERVICE|BROADCAST|RAW)",
        "AUDIT_*", "SYS_ADMIN", "SYS_PACCT", "KILL", "(DAC_*|FOWNER|IPC_OWNER)", "LINUX_IMMUTABLE",
        "IPC_LOCK", "SYS_TTY_CONFIG", "SYS_BOOT", "SYS_CHROOT", "BLOCK_SUSPEND", "LEASE",
        "(CHOWN|FSETID|SETFCAP)", "SET(UID|GID|PCAP)", "MAC_*"]
SYSCALL_SETS = ["swap", "resources", "reboot", "raw-io", "privileged", "obsolete", "mount", "module",
                "debug", "cpu-emulation", "clock"]

# directive line in the unit -> the security checks it alone makes pass
DIRECTIVES = {
    "ProtectSystem=strict": ["ProtectSystem="],
    "PrivateTmp=yes": ["PrivateTmp="],
    "PrivateDevices=yes": ["PrivateDevices="],
    "ProtectHome=yes": ["ProtectHome="],
    "ProtectHostname=yes": ["ProtectHostname="],
    "ProtectClock=yes": ["ProtectClock="],
    "ProtectKernelTunables=yes": ["ProtectKernelTunables="],
    "ProtectKernelModules=yes": ["ProtectKernelModules="],
    "ProtectKernelLogs=yes": ["ProtectKernelLogs="],
    "ProtectControlGroups=yes": ["ProtectControlGroups="],
    "ProtectProc=invisible": ["ProtectProc="],
    "ProcSubset=pid": ["ProcSubset="],
    "PrivateUsers=yes": ["PrivateUsers="],
    "NoNewPrivileges=yes": ["NoNewPrivileges="],
    "CapabilityBoundingSet=": [f"CapabilityBoundingSet=~CAP_{c}" for c in CAPS],
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6": [
        "RestrictAddressFamilies=~AF_PACKET", "RestrictAddressFamilies=~AF_NETLINK",
        "RestrictAddressFamilies=~\u2026"],
    "RestrictNamespaces=yes": [f"RestrictNamespaces=~{n}" for n in
                               ("user", "pid", "net", "uts", "mnt", "cgroup", "ipc")],
    "RestrictRealtime=yes": ["RestrictRealtime="],
    "RestrictSUIDSGID=yes": ["RestrictSUIDSGID="],
    "LockPersonality=yes": ["LockPersonality="],
    "MemoryDenyWriteExecute=yes": ["MemoryDenyWriteExecute="],
    "SystemCallArchitectures=native": ["SystemCallArchitectures="],
    "SystemCallFilter=@system-service": [f"SystemCallFilter=~@{s}" for s in SYSCALL_SETS],
    "SystemCallFilter=~@privileged @resources": ["SystemCallFilter=~@privileged",
                                                 "SystemCallFilter=~@resources"],
    "UMask=0077": ["UMask="],
}


def security(tmp_path, text):
    """{check name: passed} for a unit file with TEXT."""
    unit = tmp_path / "dind-cache-check.service"
    unit.write_text(text)
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--json=short", str(unit)],
                       capture_output=True, text=True, timeout=60)
    assert p.stdout, p.stderr
    return {c["name"]: c["set"] is True for c in json.loads(p.stdout)}


@pytest.mark.parametrize("directive", list(DIRECTIVES))
def test_each_hardening_directive_holds_on_its_own(directive, tmp_path):
    text = UNIT.read_text()
    lines = text.splitlines()
    assert lines.count(directive) == 1, f"{directive} is not in {UNIT.name}"
    shipped = security(tmp_path, text)
    failing = [c for c in DIRECTIVES[directive] if not shipped.get(c)]
    assert not failing, f"with {directive}, these checks fail: {failing}"
    # The checks above are this directive's: without it they no longer pass.
    without = security(tmp_path, "\n".join(ln for ln in lines if ln != directive) + "\n")
    assert not all(without.get(c) for c in DIRECTIVES[directive]), \
        f"removing {directive} changes none of {DIRECTIVES[directive]}"


def test_the_unit_has_no_hardening_directive_left_unasserted():
    """A directive added to the sandbox gets its own case above (or in
    test_checker_systemd.py, when security does not score it)."""
    unscored = {"ReadWritePaths", "PrivateIPC", "AmbientCapabilities", "SystemCallErrorNumber",
                    "InaccessiblePaths"}
    text = UNIT.read_text()
    sandbox = text[text.index("# Sandbox."):]
    for line in sandbox.splitlines():
        if not line or line.startswith("#"):
            continue
        assert line in DIRECTIVES or line.split("=", 1)[0] in unscored, f"{line} is not asserted"


# The authorization plugin's unit: the checker's sandbox and no network at all (it
# serves the socket systemd passes), judged by the same offline analysis.
AUTHZ_UNIT = ROOT / "units" / "dind-cache-authz.service"
AUTHZ_CHECKS = [c for checks in DIRECTIVES.values() for c in checks] + [
    "PrivateNetwork=", "IPAddressDeny=", "RestrictAddressFamilies=~AF_(INET|INET6)"]


def test_the_authz_plugin_unit_is_sandboxed_and_has_no_network(tmp_path):
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--json=short", str(AUTHZ_UNIT)],
                       capture_output=True, text=True, timeout=60)
    assert p.stdout, p.stderr
    got = {c["name"]: c["set"] is True for c in json.loads(p.stdout)}
    assert not [c for c in AUTHZ_CHECKS if not got.get(c)]
