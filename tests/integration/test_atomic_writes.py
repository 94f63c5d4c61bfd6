"""Files are written atomically and durably: the temporary file is fsync()ed before
it is renamed over the target, the directory is fsync()ed after the rename, and the
target itself is never opened for writing (a reader would see it half written).
Watched with strace on real commands: install --skip-apply writing the env file, with
/etc overlaid in a private mount namespace so the host's /etc is untouched; prune
replacing its last-use state file."""

import os
import re
import subprocess

from conftest import BINARY, PrivateDirs, mkfs

ENV_FILE = "/etc/dind-cache/dind-cache.env"
TRACE = "fsync,fdatasync,rename,renameat,renameat2,open,openat,creat,truncate"


def traced_install(loops, tmp_path):
    img = loops.image("300M")
    mkfs("ext4", img)
    data = tmp_path / "data"
    data.mkdir()
    node = PrivateDirs(tmp_path / "node")
    trace = tmp_path / "trace"
    script = (f"set -e; mount -o loop {img} {data}; chmod 0711 {data}; "
              f"strace -f -y -qq -o {trace} -e trace={TRACE} {BINARY} install --skip-apply --skip-timer "
              f"--data-dir {data} --capacity 100Mi")
    p = subprocess.run(node.command("sh", "-c", script), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (node.upper("/etc") / "dind-cache" / "dind-cache.env").exists()
    return trace.read_text().splitlines()


def assert_replaced_atomically(lines, target):
    """TARGET was written as a temporary file beside it, fsync()ed, renamed over it,
    and its directory fsync()ed; TARGET itself was never opened for writing."""
    def index(pattern, start=0):
        for i in range(start, len(lines)):
            if re.search(pattern, lines[i]):
                return i
        raise AssertionError(f"no {pattern!r} after line {start} in:\n" + "\n".join(lines[start:]))

    in_place = [l for l in lines if re.search(rf'(open(at)?|creat|truncate)\(.*"{re.escape(target)}"', l)
                and re.search(r"O_WRONLY|O_RDWR|O_TRUNC|O_CREAT|creat\(|truncate\(", l)]
    assert not in_place, f"{target} is written in place:\n" + "\n".join(in_place)
    tmp_re = re.escape(target) + r"\.tmp-\w+"
    created = index(rf'openat\(.*"({tmp_re})".*O_CREAT.*= \d+')
    tmp = re.search(rf'"({tmp_re})"', lines[created]).group(1)
    synced = index(rf"f(data)?sync\(\d+<{re.escape(tmp)}>\)\s*= 0", created)
    renamed = index(rf'rename(at2?)?\(.*"{re.escape(tmp)}".*"{re.escape(target)}".*=\s*0', created)
    assert synced < renamed, "the temporary file is renamed before it is fsync()ed"
    dir_synced = index(rf"fsync\(\d+<{re.escape(os.path.dirname(target))}>\)\s*= 0", renamed)
    assert dir_synced > renamed


def test_env_file_is_fsynced_before_rename_and_its_directory_after(loops, tmp_path):
    assert_replaced_atomically(traced_install(loops, tmp_path), ENV_FILE)


def test_prune_replaces_its_state_file_atomically(loops, dockerd_factory, tmp_path):
    """The state file is replaced on every run (its last_run moves): the second run
    replaces the first one's file, never writing into it."""
    _, mnt = loops.mounted("xfs", size="300M")
    daemon = dockerd_factory(mnt)
    state = tmp_path / "prune-state.json"
    env = dict(os.environ, DOCKER_HOST=daemon.host, DIND_CACHE_DATA_DIR=str(mnt), DIND_CACHE_PRUNE_STATE=str(state),
               DIND_CACHE_TIMEOUT="30s")
    for run in (1, 2):
        trace = tmp_path / f"trace{run}"
        p = subprocess.run(["strace", "-f", "-y", "-qq", "-o", str(trace), "-e", f"trace={TRACE}", str(BINARY),
                            "prune", "--no-journal"], env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        assert state.exists()
        assert_replaced_atomically(trace.read_text().splitlines(), str(state))
