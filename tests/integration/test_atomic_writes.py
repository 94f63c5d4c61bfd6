"""Files are written atomically and durably: the temporary file is fsync()ed before
it is renamed over the target, and the directory is fsync()ed after the rename.
Watched with strace on a real command: install --skip-apply writing the env file,
with /etc overlaid in a private mount namespace so the host's /etc is untouched."""

import re
import subprocess

from conftest import BINARY, mkfs

ENV_FILE = "/etc/dind-cache/dind-cache.env"
TRACE = "fsync,fdatasync,rename,renameat,renameat2,openat"


def traced_install(loops, tmp_path):
    img = loops.image("300M")
    mkfs("ext4", img)
    data, upper, work = tmp_path / "data", tmp_path / "upper", tmp_path / "work"
    for d in (data, upper, work):
        d.mkdir()
    trace = tmp_path / "trace"
    script = (f"set -e; mount --make-rprivate /; mount -o loop {img} {data}; chmod 0711 {data}; "
              f"mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} /etc; "
              f"strace -f -y -qq -o {trace} -e trace={TRACE} {BINARY} install --skip-apply --skip-timer "
              f"--data-dir {data} --capacity 100Mi")
    p = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (upper / "dind-cache" / "dind-cache.env").exists()
    return trace.read_text().splitlines()


def test_env_file_is_fsynced_before_rename_and_its_directory_after(loops, tmp_path):
    lines = traced_install(loops, tmp_path)

    def index(pattern, start=0):
        for i in range(start, len(lines)):
            if re.search(pattern, lines[i]):
                return i
        raise AssertionError(f"no {pattern!r} after line {start} in:\n" + "\n".join(lines[start:]))

    tmp_re = re.escape(ENV_FILE) + r"\.tmp-\w+"
    created = index(rf'openat\(.*"({tmp_re})".*O_CREAT.*= \d+')
    tmp = re.search(rf'"({tmp_re})"', lines[created]).group(1)
    synced = index(rf"f(data)?sync\(\d+<{re.escape(tmp)}>\)\s*= 0", created)
    renamed = index(rf'rename(at2?)?\(.*"{re.escape(tmp)}".*"{re.escape(ENV_FILE)}".*=\s*0', created)
    assert synced < renamed, "the temporary file is renamed before it is fsync()ed"
    dir_synced = index(r"fsync\(\d+</etc/dind-cache>\)\s*= 0", renamed)
    assert dir_synced > renamed
