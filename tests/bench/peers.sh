#!/bin/bash
# What the shared cache is worth next to the usual ways to build in CI: one fixed-seed
# trace of builds of a few synthetic projects, each build done
#   (a) on a per-job daemon without cache: a fresh dockerd with an empty data root for
#       each build (GitLab's documented default, a docker:dind service per job); the
#       base image is pulled every time;
#   (b) on a per-job daemon with a registry cache, GitLab's "Docker layer caching"
#       recipe: `docker pull IMAGE:latest || true`, `docker build --build-arg
#       BUILDKIT_INLINE_CACHE=1 --cache-from IMAGE:latest -t IMAGE:SHA -t IMAGE:latest`,
#       `docker push` of both tags; with the containerd image store, which the page
#       requires of Docker 27.0.1 and later;
#   (d) the recipe of (b) on the classic image store, what docker:28-dind runs unless
#       told otherwise (there BuildKit's inline cache hits only every other build:
#       moby/buildkit#1981, #3730);
#   (c) on one long-lived daemon for the whole trace, as dind-cache serves it (its
#       rendered daemon.json, an xfs data root).
# Every daemon is the pinned 28.5.2 (../shared/debs), driven by the pinned 28.5.2 CLI and
# buildx (what docker:28.5.2-cli jobs run). A project is a base image pulled from a local
# docker-registry (FROM 127.0.0.1:PORT/baseK:1, 6 MiB), a dependency layer of 20-40 MiB
# (one RUN that writes it, the same bytes every time, incompressible) and an app layer
# that changes every build (COPY of a file + RUN). Builds run with --network none.
#
# Build time is the wall time of the job's docker commands (pull, build, push where the
# way has them); a per-job daemon's start (from exec to its first /_ping answer) is
# counted apart, and shown both apart and added. Bytes pulled from and pushed to the
# registry are counted at a TCP proxy on 127.0.0.1 in front of it: every byte of the
# HTTP exchanges, headers included (pulled: registry to daemon; pushed: the other way).
# Then K concurrent pipelines of one new project (K commits at once), twice (cold, then
# the next K warm), on the shared daemon against K per-job daemons: wall time until all K
# are done (daemon starts included) and bytes.
# Not a test: it prints tables. Needs root, docker-registry, xfsprogs; gnuplot for --plot.
#
#     tests/bench/peers.sh [--plot FILE.svg]   (SEED=.. PROJECTS=.. BUILDS=.. K=.. to vary,
#                                               WAYS=abdc for some, DEPS_SECONDS=S to add
#                                               S s of install work to the dependency step,
#                                               BUILD_LOG=FILE for each build as JSON)
set -euo pipefail
export BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 - "$@" <<'PYTHON'
import concurrent.futures, json, os, random, re, selectors, shutil, socket, statistics, subprocess, sys
import threading, time
from pathlib import Path

sys.path.insert(0, os.environ["BENCH_DIR"])
import benchlib as bl
from benchlib import BINARY

USAGE = """usage: tests/bench/peers.sh [--plot FILE.svg]
  SEED=17 PROJECTS=4 BUILDS=20 K=4 WAYS=abdc DEPS_SECONDS=0 BUILD_LOG=FILE (environment)"""
SEED = int(os.environ.get("SEED", "17"))
PROJECTS = int(os.environ.get("PROJECTS", "4"))
BUILDS = int(os.environ.get("BUILDS", "20"))
K = int(os.environ.get("K", "4"))
WAYS = os.environ.get("WAYS", "abdc")
DEPS_SECONDS = float(os.environ.get("DEPS_SECONDS", "0"))
NAMES = {"a": "(a) per-job dind, no cache",
         "b": "(b) per-job dind, registry cache",
         "d": "(d) = (b) on the classic store",
         "c": "(c) shared dind-cache daemon"}
PER_JOB = "abd"
JOBS_MIB, SHARED_MIB = 4096, 4096


def parse_argv(argv):
    plot = None
    while argv:
        a = argv.pop(0)
        if a in ("-h", "--help"):
            print(USAGE)
            sys.exit(0)
        elif a == "--plot" and argv:
            plot = argv.pop(0)
        elif a.startswith("--plot="):
            plot = a.split("=", 1)[1]
        else:
            sys.exit(f"peers.sh: unknown argument '{a}'\n{USAGE}")
    if set(WAYS) - set(NAMES) or "c" not in WAYS:
        sys.exit("peers.sh: WAYS is letters of abdc and has c (the ratios are to it)")
    if plot and not shutil.which("gnuplot"):
        sys.exit("peers.sh: --plot needs gnuplot (scripts/install-deps installs gnuplot-nox)")
    return plot


class Proxy:
    """A TCP relay on 127.0.0.1 in front of the registry that counts every byte each way."""

    def __init__(self, upstream):
        host, port = upstream.split(":")
        self.upstream = (host, int(port))
        self.pulled = self.pushed = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()
        bl.cleanups.append(self.sock.close)

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.relay, args=(c,), daemon=True).start()

    def relay(self, client):
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, (server, "pushed"))
        sel.register(server, selectors.EVENT_READ, (client, "pulled"))
        try:
            left = 2
            while left:
                for key, _ in sel.select():
                    peer, way = key.data
                    data = key.fileobj.recv(1 << 16)
                    if not data:
                        sel.unregister(key.fileobj)
                        left -= 1
                        peer.shutdown(socket.SHUT_WR)
                        continue
                    peer.sendall(data)
                    with self.lock:
                        setattr(self, way, getattr(self, way) + len(data))
        except OSError:
            pass
        finally:
            sel.close()
            client.close()
            server.close()

    def counts(self):
        with self.lock:
            return self.pulled, self.pushed


def trace():
    rng = random.Random(SEED)
    projects = [{"name": f"proj{i}", "base": i % 2, "deps_mib": rng.randint(20, 40), "step": rng.choice([1, 5])}
                for i in range(PROJECTS)]
    return projects, [rng.randrange(PROJECTS) for _ in range(BUILDS)]


def context(project, n, bases):
    """The project's build context, its app file changed for build N."""
    ctx = bl.W / "ctx" / project["name"]
    ctx.mkdir(parents=True, exist_ok=True)
    # The dependency layer: DEPS_MIB MiB cut from the base's 6 MiB of random bytes, in an
    # order of the project's own; the same bytes every build, and gzip (whose window is
    # 32 KiB) cannot shrink them, so they cost on the wire what they weigh.
    work = f" && sleep {DEPS_SECONDS:g}" if DEPS_SECONDS else ""
    (ctx / "Dockerfile").write_text(
        f"FROM {bases[project['base']]}\n"
        f"RUN for i in $(seq {project['deps_mib']}); do dd if=/pad bs=1M count=1 "
        f"skip=$(( i * {project['step']} % 6 )) 2>/dev/null; done > /deps-{project['name']}{work}\n"
        "COPY app.txt /app/app.txt\n"
        "RUN wc -c /app/app.txt\n")
    (ctx / "app.txt").write_text(f"{project['name']} build {n}\n")
    return ctx


def build(d, ctx, tags, *extra):
    """One `docker build`: (seconds, ok, the dependency step CACHED)."""
    t = time.monotonic()
    p = d.docker("build", "--network", "none", "--progress=plain", *extra,
                 *[a for tag in tags for a in ("-t", tag)], ctx, check=False)
    took = time.monotonic() - t
    out = p.stdout + p.stderr
    if p.returncode != 0:
        tail = [l for l in out.splitlines() if "error" in l.lower()][-1:] or out.splitlines()[-1:]
        print(f"  build failed: {tail[0][:300] if tail else '?'}", file=sys.stderr)
    deps = re.findall(r"^#(\d+) \[2/4\] RUN ", out, re.M)
    hit = bool(deps) and re.search(rf"^#{deps[0]} CACHED$", out, re.M) is not None
    return took, p.returncode == 0, hit


def timed(d, *args):
    t = time.monotonic()
    p = d.docker(*args, check=False)
    return time.monotonic() - t, p.returncode == 0


def script(way, d, ctx, image, n):
    """The job's docker commands: {"pull": s, "build": s, "push": s, "ok", "hit"}."""
    r = {"pull": 0.0, "push": 0.0}
    if way in "bd":
        r["pull"], _ = timed(d, "pull", f"{image}:latest")        # `|| true`: the first has none
        r["build"], r["ok"], r["hit"] = build(d, ctx, [f"{image}:c{n}", f"{image}:latest"],
                                              "--build-arg", "BUILDKIT_INLINE_CACHE=1",
                                              "--cache-from", f"{image}:latest")
        for tag in (f"c{n}", "latest"):
            took, ok = timed(d, "push", f"{image}:{tag}")
            r["push"] += took
            r["ok"] = r["ok"] and ok
    else:
        r["build"], r["ok"], r["hit"] = build(d, ctx, [f"{image}:latest"])
    r["job"] = r["pull"] + r["build"] + r["push"]
    return r


class Env:
    """What every way builds against: the registry behind its proxy, the bases, the
    per-job daemons' disk, the shared daemon."""

    def __init__(self):
        reg, _ = bl.registry()
        seeder = bl.Daemon("seed", 1024, client="pinned")
        self.version = seeder.version
        self.client = "docker %s, buildx %s" % (
            seeder.docker("version", "-f", "{{.Client.Version}}").stdout.strip(),
            (seeder.docker("buildx", "version", check=False).stdout.split() or ["?", "none"])[1])
        self.proxy = Proxy(reg)
        self.bases = bl.make_bases(seeder, self.proxy.addr, 2)
        seeder.stop()
        self.jobs = bl.Disk("jobs", JOBS_MIB)
        self.containerd_json = bl.W / "containerd-store.json"
        self.containerd_json.write_text('{"features": {"containerd-snapshotter": true}}\n')
        self.shared_json, self.shared = None, None
        self.seq = 0
        self.seq_lock = threading.Lock()

    def start_shared(self):
        cfg = None
        if os.access(BINARY, os.X_OK):
            import yaml
            render = bl.sh(BINARY, "render", "--node", "bench", "--capacity", f"{SHARED_MIB}Mi").stdout
            cm = next(d for d in yaml.safe_load_all(render) if d and d["kind"] == "ConfigMap")
            cfg = bl.W / "daemon.json"
            cfg.write_text(cm["data"]["daemon.json"])
        else:
            print(f"peers.sh: no {BINARY} (make): the shared daemon runs without dind-cache's daemon.json",
                  file=sys.stderr)
        self.shared_json = "dind-cache render's daemon.json" if cfg else "no daemon.json"
        self.shared = bl.Daemon("shared", SHARED_MIB, config=cfg, client="pinned")
        return self.shared

    def per_job(self, way, project, ctx, n):
        """A fresh daemon on an empty data root, the job's script, the daemon stopped and
        its data root removed."""
        with self.seq_lock:
            self.seq += 1
            name = f"job{self.seq}"
        root = self.jobs.mnt / name
        store = {"config": self.containerd_json, "storage_driver": None} if way == "b" else {}
        d = bl.Daemon(name, data_root=root, client="pinned", **store)
        try:
            r = script(way, d, ctx, f"{self.proxy.addr}/{way}/{project['name']}", n)
            r["start"] = d.started
        finally:
            d.stop()
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(d.dir, ignore_errors=True)
        return r

    def job(self, way, project, ctx, n):
        if way in PER_JOB:
            return self.per_job(way, project, ctx, n)
        r = script(way, self.shared, ctx, project["name"], n)
        r["start"] = 0.0
        return r


def replay(env, projects, order, log):
    """The trace, each build done every way in turn (so that the other work on the machine
    weighs on every way alike): {way: [one row a build]}."""
    results, seen = {way: [] for way in WAYS}, set()
    for n, i in enumerate(order, 1):
        p = projects[i]
        cold = p["name"] not in seen
        seen.add(p["name"])
        ctx = context(p, n, env.bases)
        for way in WAYS:
            before = env.proxy.counts()
            r = env.job(way, p, ctx, n)
            after = env.proxy.counts()
            r.update(way=way, n=n, project=p["name"], cold=cold,
                     pulled=after[0] - before[0], pushed=after[1] - before[1])
            results[way].append(r)
            if log:
                log.write(json.dumps(r) + "\n")
            print(f"  {way} {n:3d}/{len(order)} {p['name']}{' (cold)' if cold else ''}: start {r['start']:4.1f}s "
                  f"pull {r['pull']:4.1f}s build {r['build']:4.1f}s push {r['push']:4.1f}s "
                  f"deps {'CACHED' if r['hit'] else 'built'} pulled {r['pulled'] / 2**20:5.1f} MiB "
                  f"pushed {r['pushed'] / 2**20:5.1f} MiB{'' if r['ok'] else ' FAILED'}", file=sys.stderr, flush=True)
    return results


def fan_out(env, way, project, first, log):
    """K pipelines of PROJECT at once (builds FIRST..FIRST+K-1): (wall, rows, pulled, pushed)."""
    ctxs = []
    for j in range(K):   # K commits: each its own copy of the context, its own app file
        src = context(project, first + j, env.bases)
        ctx = bl.W / "ctx" / f"{project['name']}-{way}-{first + j}"
        shutil.copytree(src, ctx)
        ctxs.append(ctx)
    before = env.proxy.counts()
    t = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(K) as pool:
        rows = list(pool.map(lambda j: env.job(way, project, ctxs[j], first + j), range(K)))
    wall = time.monotonic() - t
    after = env.proxy.counts()
    for ctx in ctxs:
        shutil.rmtree(ctx)
    if log:
        log.write(json.dumps({"way": way, "fan_out": K, "first": first, "wall": wall, "jobs": rows}) + "\n")
    return wall, rows, after[0] - before[0], after[1] - before[1]


def p50(xs):
    return statistics.median(xs) if xs else float("nan")


def p95(xs):
    if len(xs) < 2:
        return xs[0] if xs else float("nan")
    return statistics.quantiles(xs, n=20, method="inclusive")[18]


def mib(b):
    return f"{b / 2**20:.0f} MiB" if b >= 10 * 2**20 else f"{b / 2**20:.1f} MiB" if b >= 2**20 else f"{b / 1024:.0f} KiB"


def summary(rows):
    warm = [r for r in rows if not r["cold"]]
    return {"start": p50([r["start"] for r in rows]),
            "cold": p50([r["job"] for r in rows if r["cold"]]),
            "p50": p50([r["job"] for r in warm]), "p95": p95([r["job"] for r in warm]),
            "p50s": p50([r["job"] + r["start"] for r in warm]),
            "hits": sum(r["hit"] for r in warm), "warm": len(warm),
            "pulled": sum(r["pulled"] for r in rows), "pushed": sum(r["pushed"] for r in rows),
            "failed": sum(not r["ok"] for r in rows)}


def print_trace_table(env, results, shared_start):
    c = summary(results["c"])
    print("| way | daemon start p50 | cold builds p50 | warm build p50 | warm build p95 "
          "| warm p50 + daemon start | deps step CACHED (warm) | pulled | pushed | warm p50 / (c) "
          "| with daemon start / (c) | pulled / (c) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for way in WAYS:
        s = summary(results[way])
        start = f"{s['start']:.2f} s" if way in PER_JOB else f"{shared_start:.2f} s once"
        ratio = f"{s['p50'] / c['p50']:.1f}x" if way != "c" else "1x"
        ratio_s = f"{s['p50s'] / c['p50s']:.1f}x" if way != "c" else "1x"
        print(f"| {NAMES[way]} | {start} | {s['cold']:.2f} s | {s['p50']:.2f} s | {s['p95']:.2f} s "
              f"| {s['p50s']:.2f} s | {s['hits']}/{s['warm']} | {mib(s['pulled'])} | {mib(s['pushed'])} "
              f"| {ratio} | {ratio_s} | {s['pulled'] / c['pulled']:.1f}x |" if c["pulled"] else f"| {ratio} | {ratio_s} | - |"
              + (f" {s['failed']} failed" if s["failed"] else ""))


def print_fan_table(fans):
    print("| way | pipelines | wall until all done | daemon start p50 | pulled | pushed | wall / (c) |")
    print("|---|---|---|---|---|---|---|")
    for rnd in ("cold", "warm"):
        c = fans[("c", rnd)]
        for way in WAYS:
            if (way, rnd) not in fans:
                continue
            wall, rows, pulled, pushed = fans[(way, rnd)]
            start = f"{p50([r['start'] for r in rows]):.2f} s" if way in PER_JOB else "-"
            failed = sum(not r["ok"] for r in rows)
            print(f"| {NAMES[way]} | {K} {rnd} | {wall:.1f} s | {start} | {mib(pulled)} | {mib(pushed)} "
                  f"| {wall / c[0]:.1f}x |" + (f" {failed} failed" if failed else ""))


PLOT = r"""
set terminal svg size 1000,560 dynamic noenhanced font "sans,13" background "white"
set output "{out}"
set title "{title}"
set xlabel "build in the trace (n)"
set ylabel "build wall time, s ({scale}; per-job daemon start not included)"
{log}
set grid ytics mytics xtics lc rgb "#dddddd"
set key below center horizontal maxcols 2 Left reverse samplen 2 width 2 spacing 1.2
set xrange [0.5:{n}.5]
set xtics {xstep}
set border 3
set xtics nomirror
set ytics nomirror
"""


def plot(path, env, results, projects, order):
    data = bl.W / "plot.dat"
    colours = {"a": "#d62728", "b": "#1f77b4", "d": "#9467bd", "c": "#2ca02c"}
    with open(data, "w") as f:
        for way in WAYS:   # one block a way (two blank lines between): n, seconds, cold, missed
            for r in results[way]:
                f.write(f"{r['n']} {r['job']:.4f} {int(r['cold'])} {int(way in 'bd' and not r['cold'] and not r['hit'])}\n")
            f.write("\n\n")
    times = [r["job"] for way in WAYS for r in results[way]]
    # A log scale where the ways' medians are an order of magnitude apart, with ticks at
    # 1, 2 and 5 of each decade (a narrow log range would show one labelled tick).
    medians = [p50([r["job"] for r in results[way]]) for way in WAYS]
    log = max(medians) / max(min(medians), 1e-3) > 10
    ticks = ", ".join(f"{m * 10.0 ** e:g}" for e in range(-2, 4) for m in (1, 2, 5))
    yrange = (f"set yrange [{min(times) / 1.5:g}:{max(times) * 1.5:g}]\nset ytics ({ticks})"
              if log else "set yrange [0:*]")
    title = (f"{len(order)} builds of {len(projects)} project{'s' if len(projects) > 1 else ''}, dockerd {env.version}, "
             f"{time.strftime('%Y-%m-%d')}")
    script = PLOT.format(out=path, title=title, n=len(order), xstep=1 if len(order) <= 30 else 5, scale="log scale" if log else "linear",
                         log=("set logscale y\n" if log else "") + yrange)
    plots = []
    for k, way in enumerate(WAYS):
        s = summary(results[way])
        extra = f" (+{s['start']:.1f} s daemon start)" if way in PER_JOB else ""
        plots.append(f"'{data}' index {k} using 1:2 with linespoints lw 2 pt 7 ps 0.6 "
                     f"lc rgb '{colours[way]}' title '{NAMES[way]}{extra}'")
    plots.append(f"'{data}' using 1:($3 == 1 ? $2 : 1/0) with points pt 6 ps 1.6 lc rgb 'black' "
                 "title \"a project's first (cold) build\"")
    if any(not r["cold"] and not r["hit"] for way in "bd" if way in results for r in results[way]):
        plots.append(f"'{data}' using 1:($4 == 1 ? $2 : 1/0) with points pt 2 ps 1.4 lw 2 lc rgb 'black' "
                     "title 'a warm build whose dependency step missed the registry cache'")
    script += "plot " + ", \\\n     ".join(plots) + "\n"
    (bl.W / "plot.gp").write_text(script)
    bl.sh("gnuplot", bl.W / "plot.gp")
    print(f"plot: {path}", file=sys.stderr)


def main():
    out = parse_argv(sys.argv[1:])
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    t0 = time.monotonic()
    log = open(os.environ["BUILD_LOG"], "w") if os.environ.get("BUILD_LOG") else None
    env = Env()
    projects, order = trace()
    print(f"trace: seed {SEED}, {BUILDS} builds of {PROJECTS} projects: " + ", ".join(
        f"{p['name']} x{order.count(i)} (base{p['base']}, deps {p['deps_mib']} MiB)" for i, p in enumerate(projects)),
          file=sys.stderr)
    shared = env.start_shared()
    results = replay(env, projects, order, log)
    fan = {"name": "fan", "base": 0, "deps_mib": 30, "step": 5}
    fans = {}
    for rnd, first in (("cold", 1001), ("warm", 1001 + K)):
        for way in WAYS:
            if way == "a" and rnd == "warm":
                continue    # no cache: its warm round is its cold round
            fans[(way, rnd)] = fan_out(env, way, fan, first, log)
            w, rows, pulled, _ = fans[(way, rnd)]
            print(f"  {way} {K} pipelines {rnd}: {w:.1f} s, pulled {pulled / 2**20:.1f} MiB", file=sys.stderr)
    shared.stop()
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\nPeers benchmark, {time.strftime('%Y-%m-%d')}, dockerd {env.version} (every daemon), "
          f"client {env.client}, shared daemon: xfs {SHARED_MIB} MiB, {env.shared_json}; "
          f"seed {SEED}, {BUILDS} builds of {PROJECTS} projects, deps "
          + "/".join(str(p["deps_mib"]) for p in projects) + " MiB"
          + (f" + {DEPS_SECONDS:g} s of work" if DEPS_SECONDS else "")
          + f"; {time.monotonic() - t0:.0f} s in all, load average {' '.join(load_before)} before, "
          f"{' '.join(load_after)} after\n")
    print("Build wall time: the job's docker commands (pull, build, push where the way has them); "
          "daemon start apart. Warm: not the project's first build in the trace. Bytes: at a proxy "
          "in front of the registry, all of the trace.\n")
    print_trace_table(env, results, shared.started)
    print(f"\n{K} concurrent pipelines of one new project (base0, deps 30 MiB), {K} commits at once, "
          "then the next {K}:\n".replace("{K}", str(K)))
    print_fan_table(fans)
    if out:
        plot(out, env, results, projects, order)


bl.setup("peers.sh", "dc-peers-")
bl.run(main)
PYTHON
