#!/bin/bash
# What the build cache's figures cost one `dind-cache check`: the checker's own CPU time
# per run (user + system, from the kernel's rusage of each run) with a build cache of
# 10,000 records against one of none. Not a test: it prints numbers. Needs root.
#
# Making 10,000 real records takes hours, so the daemon here is a canned one: a unix
# socket serving /_ping, /info, /version and the image list as dockerd 28.5.2 answers
# them, and a /system/df?type=build-cache body shaped like 28.5.2's (its " Parents" key
# included): projects of a pulled base (2 layers), 8 build steps in a chain, the
# context's and the Dockerfile's records and a cache mount each, random sizes, times
# and usage counts; 10,000 records are 3.6 MiB. What is measured is the checker's CPU,
# not the daemon's. The data directory is a loop-mounted xfs, as deployed.
#
# The timer runs the checker every 5 minutes, and a big answer is read only once per
# 5 minutes for each 256 KiB of it: each run here moves the kept state's read time 5
# minutes back, as if the timer's interval had passed, so RUNS runs stand for RUNS
# timer runs (the default 30: two and a half hours).
#
#     tests/bench/cache-cost.sh               (RUNS=30 RECORDS=10000 BINARY=... to change)
set -euo pipefail
export BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 - "$@" <<'PYTHON'
import json, os, random, resource, socketserver, string, subprocess, sys, threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

sys.path.insert(0, os.environ["BENCH_DIR"])
import benchlib as bl
from benchlib import BINARY

RUNS = int(os.environ.get("RUNS", "30"))
RECORDS = int(os.environ.get("RECORDS", "10000"))
INTERVAL = 300
rng = random.Random(17)


def rid():
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(25))


def when():
    return "2026-%02d-%02dT%02d:%02d:%02d.%09dZ" % (rng.randint(1, 11), rng.randint(1, 28), rng.randint(0, 23),
                                                     rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 10**9 - 1))


STEPS = ["[stage-0 2/9] WORKDIR /app", "[stage-0 3/9] COPY package.json package-lock.json ./",
         "mount / from exec /bin/sh -c npm ci --prefer-offline --no-audit",
         "[stage-0 5/9] COPY . .", "mount / from exec /bin/sh -c npm run build -- --mode=production",
         "mount / from exec /bin/sh -c npm prune --omit=dev", "[stage-0 8/9] COPY entrypoint.sh /usr/local/bin/",
         "mount / from exec /bin/sh -c chmod +x /usr/local/bin/entrypoint.sh"]


def record(typ, desc, parent=None, shared=False):
    r = {"ID": rid()}
    if parent:
        r[" Parents"] = [parent]
    r.update({"Type": typ, "Description": desc, "InUse": False, "Shared": shared,
              "Size": rng.randint(0, 300 << 20), "CreatedAt": when(), "LastUsedAt": when(),
              "UsageCount": rng.choice([1, 1, 1, 2, 3, 5, 8, 13, 40])})
    return r


def build_cache(n):
    out, project = [], 0
    while len(out) < n:
        project += 1
        base = f"pulled from docker.io/library/node:20-bookworm@sha256:{project:064x}"
        layer = record("regular", base, shared=True)
        top = record("regular", base, layer["ID"], shared=True)
        out += [layer, top, record("source.local", "local source for context"),
                record("source.local", "local source for dockerfile"),
                record("exec.cachemount", f"cached mount /root/.npm from exec /bin/sh -c npm ci with id \"p{project}\"")]
        parent = top["ID"]
        for step in STEPS:
            r = record("regular", step, parent, shared=rng.random() < 0.7)
            out.append(r)
            parent = r["ID"]
    return {"LayersSize": 0, "Images": None, "Containers": None, "Volumes": None, "BuildCache": out[:n]}


IMAGES = [{"Id": "sha256:%064x" % i, "ParentId": "", "RepoTags": [f"project{i}:latest"], "RepoDigests": [],
           "Created": 1764400000 + i, "Size": rng.randint(50 << 20, 900 << 20), "SharedSize": -1, "Labels": None,
           "Containers": -1} for i in range(40)]


class Daemon(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies = {}

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/v1."):
            path = "/" + path.split("/", 2)[2]
        body = self.bodies.get(path) if path != "/system/df" else self.server.df
        if body is None:
            self.send_response(404)
            body = b'{"message":"page not found"}'
        else:
            self.send_response(200)
        self.send_header("Content-Type", "text/plain" if path == "/_ping" else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


Daemon.bodies = {
    "/_ping": b"OK",
    "/info": json.dumps({"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "xfs"],
                        ["Supports d_type", "true"], ["Using metacopy", "false"], ["Native Overlay Diff", "true"],
                        ["userxattr", "false"]], "DockerRootDir": "/var/lib/docker",
                        "ServerVersion": "28.5.2+dfsg4"}).encode(),
    "/version": json.dumps({"Version": "28.5.2+dfsg4", "ApiVersion": "1.51", "MinAPIVersion": "1.24",
                           "Os": "linux", "Arch": "amd64"}).encode(),
    "/images/json": json.dumps(IMAGES).encode(),
}


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("local", 0)


def age_state(state):
    """As if the timer's interval passed: the kept read time goes back 5 minutes."""
    path = state / "cache.json"
    if path.exists():
        doc = json.loads(path.read_text())
        if doc.get("read_at", 0) > 0:
            doc["read_at"] -= INTERVAL
            path.write_text(json.dumps(doc, separators=(",", ":")))  # as the checker writes it


def measure(label, sock, df, mnt, runs, keep_state=True):
    srv = Server(str(sock), Daemon)
    srv.df = json.dumps(df).encode()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    state = bl.W / f"state-{label}"
    state.mkdir()
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DIND_CACHE_DATA_DIR=str(mnt), DIND_CACHE_TEXTFILE_DIR="",
               DIND_CACHE_TIMEOUT="30s")
    if keep_state:
        env["STATE_DIRECTORY"] = str(state)
    p = subprocess.run([BINARY, "check", "--no-journal"], env=env, capture_output=True, text=True)
    line = next((l for l in p.stdout.splitlines() if "build_cache:" in l), p.stdout)
    cpu, reads = [], 0
    for _ in range(runs):
        if keep_state:
            age_state(state)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run([BINARY, "check", "--no-journal"], env=env, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
        reads += "as read" not in p.stdout
    srv.shutdown()
    srv.server_close()
    mean = sum(cpu) / len(cpu)
    print(f"{label:<34} {runs:3d} runs: CPU {mean:6.1f} ms/run (max {max(cpu):6.1f}), "
          f"{reads} read the build cache, body {len(srv.df) / 1048576:.2f} MiB")
    print(f"{'':<34} {line.strip()[:110]}")
    return mean


def main():
    disk = bl.Disk("data", 512)
    print(f"binary: {BINARY}; runs as the timer's every {INTERVAL} s; {RECORDS} records")
    none = measure("no build cache", bl.W / "a.sock", build_cache(0), disk.mnt, RUNS)
    big = build_cache(RECORDS)
    many = measure(f"{RECORDS} records", bl.W / "b.sock", big, disk.mnt, RUNS)
    full = measure(f"{RECORDS} records, read every run", bl.W / "c.sock", big, disk.mnt, 5, keep_state=False)
    print(f"ratio, {RECORDS} records / none: {many / none:.2f}x (each full read: {full / none:.2f}x)")


bl.setup("cache-cost.sh", "dc-cache-cost-")
bl.run(main)
PYTHON
