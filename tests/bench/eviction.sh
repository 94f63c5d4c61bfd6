#!/bin/bash
# Which cleanup keeps builds warm: one fixed-seed trace of builds of synthetic
# projects with skewed popularity (a few hot, many cold), each a large dependency
# layer on a base image pulled from a local registry plus a small app layer that
# changes every build, replayed on a real dockerd (the pinned 28.5.2 where
# ../shared/debs has it) with its data root on a small loop-mounted xfs, under:
#   A  the seed's weekly `docker system prune -af`
#   B  the previous CronJob: container, image (-a) and builder prune, until=a week
#   C  this project's policy: dind-cache prune every timer period + daemon.json GC
#   D  no pruning on an unlimited disk (the ceiling)
# A "week" is WEEK builds and the prune timer's period PERIOD builds.
# Reports per policy: cache hit ratio (CACHED steps / all steps, --progress=plain),
# build time p50/p95, bytes pulled from the registry beyond the first pull of each
# base, builds failed for lack of space, peak disk use, and the longest run of builds
# seen above CRIT (90 %). Not a test: it prints a table. Needs root, docker-registry.
# Two hit ratios, side by side so that neither is picked to flatter:
#   all steps   CACHED RUN and COPY steps / all of them (BuildKit never prints CACHED
#               for FROM). Each build's last two steps (the app layer) change on
#               purpose and always miss, so the best possible is 1/3.
#   cacheable   the steps a cache can save: the dependency layer (RUN, CACHED) and the
#               base image (FROM, a hit when nothing was pulled: no "extracting").
# both overall and per popularity class, which the trace fixes by rank: the HOT
# projects (the 3 most popular), WARM (the next 5) and COLD (the other 12).
#
#     tests/bench/eviction.sh            (BUILDS=.. PROJECTS=.. SEED=.. DEBS=.. to vary,
#                                         POLICIES=CD for some, BUILD_LOG=FILE for each build,
#                                         MIN_AGE=12s for the pruner's grace)
set -euo pipefail
export BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 - "$@" <<'PYTHON'
import json, os, random, re, statistics, subprocess, sys, time

sys.path.insert(0, os.environ["BENCH_DIR"])
import benchlib as bl
from benchlib import BINARY, Daemon, make_bases, registry

SEED = int(os.environ.get("SEED", "8"))
PROJECTS = int(os.environ.get("PROJECTS", "20"))
BUILDS = int(os.environ.get("BUILDS", "60"))
WEEK = int(os.environ.get("WEEK", "20"))      # builds per simulated week
PERIOD = int(os.environ.get("PERIOD", "2"))   # builds per prune-timer period
DISK_MIB = int(os.environ.get("DISK_MIB", "320"))
# The pruner's MIN_AGE. A build here takes about half a second, so 1s is about one timer
# period; the default 1h is 12 periods of 5 min: MIN_AGE=12s is about that ratio.
MIN_AGE = os.environ.get("MIN_AGE", "1s")
POLICIES = os.environ.get("POLICIES", "ABCD")  # which of the four to replay
LOG = open(os.environ["BUILD_LOG"], "w") if os.environ.get("BUILD_LOG") else None  # one JSON line a build
W = bl.setup("eviction.sh", "dc-evict-")


def pulled_bytes(log, start):
    """Bytes of blobs the registry served after offset START of its log."""
    total = 0
    with open(log) as f:
        f.seek(start)
        for line in f:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("http.request.method") == "GET" and "/blobs/" in e.get("http.request.uri", ""):
                total += int(e.get("http.response.written", 0))
    return total


HOT, WARM = 3, 5     # popularity classes by rank: the 3 most popular, the next 5, the rest


def popularity(rank):
    return "hot" if rank < HOT else "warm" if rank < HOT + WARM else "cold"


def trace():
    # Zipf-like popularity: project i is the i-th most popular (proj00 ~39 % of the
    # builds, the 3 hot ones ~64 %, each cold one ~1-2 %).
    rng = random.Random(SEED)
    weights = [1 / (r + 1) ** 1.3 for r in range(PROJECTS)]
    projects = [{"name": f"proj{i:02d}", "base": i % 3, "deps_mib": rng.randint(16, 28), "class": popularity(i)}
                for i in range(PROJECTS)]
    return projects, [rng.choices(range(PROJECTS), weights)[0] for _ in range(BUILDS)]


def build(daemon, bases, project, n):
    ctx = W / "ctx" / project["name"]
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(
        f"FROM {bases[project['base']]}\n"
        f"RUN /bin/busybox dd if=/dev/urandom of=/deps-{project['name']} bs=1M count={project['deps_mib']}\n"
        "COPY app.txt /app/app.txt\n"
        "RUN /bin/busybox wc -c /app/app.txt\n")
    (ctx / "app.txt").write_text(f"{project['name']} build {n}\n")
    t = time.time()
    p = daemon.docker("build", "--network", "none", "--progress=plain", "-t", f"{project['name']}:latest",
                      str(ctx), check=False)
    took = time.time() - t
    out = p.stdout + p.stderr
    # BuildKit never prints CACHED for FROM (a base pulled again shows in the bytes
    # re-pulled): the all-steps ratio counts the RUN and COPY steps.
    done = set(re.findall(r"^#(\d+) CACHED$", out, re.M))
    steps = set(re.findall(r"^#(\d+) \[\d+/\d+\] (?:RUN|COPY) ", out, re.M))
    cached = len(steps & done)
    steps = len(steps)
    # The cacheable steps: the dependency layer ([2/4] RUN) and the base (FROM, a hit
    # unless its layers were downloaded and extracted).
    deps = re.findall(r"^#(\d+) \[2/4\] RUN ", out, re.M)
    base = re.findall(r"^#(\d+) \[1/4\] FROM ", out, re.M)
    deps_hit = bool(deps) and deps[0] in done
    base_hit = bool(base) and re.search(rf"^#{base[0]} (?:extracting|sha256:[0-9a-f]+ .*done)", out, re.M) is None
    nospace = p.returncode != 0 and re.search(r"no space left|ENOSPC|disk quota", out, re.I) is not None
    if p.returncode != 0:
        tail = [l for l in out.splitlines() if "error" in l.lower()][-1:] or out.splitlines()[-1:]
        print(f"  build of {project['name']} failed: {tail[0][:300] if tail else '?'}", file=sys.stderr)
    return {"took": took, "steps": steps, "cached": cached, "ok": p.returncode == 0, "nospace": nospace,
            "deps_hit": deps_hit and p.returncode == 0, "base_hit": base_hit and p.returncode == 0}


def prune_a(daemon, state):
    daemon.docker("system", "prune", "-af")


def prune_b(daemon, state):
    until = f"{max(1, int(time.time() - state['week_started']))}s"
    daemon.docker("container", "prune", "-f", "--filter", f"until={until}")
    daemon.docker("image", "prune", "-af", "--filter", f"until={until}")
    daemon.docker("builder", "prune", "-f", "--filter", f"until={until}")


def prune_c(daemon, state):
    env = dict(os.environ, DOCKER_HOST=daemon.host, DIND_CACHE_DATA_DIR=str(daemon.mnt),
               DIND_CACHE_PRUNE_STATE=str(daemon.dir / "prune-state.json"), DIND_CACHE_PRUNE_MIN_AGE=MIN_AGE)
    p = subprocess.run([BINARY, "prune", "--no-journal"], env=env, capture_output=True, text=True)
    if LOG:
        LOG.write(json.dumps({"policy": "C", "prune": p.returncode, "out": p.stdout + p.stderr}) + "\n")
    if p.returncode >= 2:
        print(p.stdout + p.stderr, file=sys.stderr)


def replay(label, daemon, bases, reg_log, projects, order, prune, every):
    start = os.path.getsize(reg_log)
    times, failed, nospace, peak = [], 0, 0, 0
    above, longest = 0, 0
    # per class: [cached steps, steps, cacheable hits, cacheable steps]
    tally = {k: [0, 0, 0, 0] for k in ("hot", "warm", "cold", "all")}
    state = {"week_started": time.time()}
    for n, i in enumerate(order, 1):
        b = build(daemon, bases, projects[i], n)
        took, s, c = b["took"], b["steps"], b["cached"]
        times.append(took)
        for k in (projects[i]["class"], "all"):
            t = tally[k]
            t[0] += c
            t[1] += s
            t[2] += b["deps_hit"] + b["base_hit"]
            t[3] += 2
        failed += not b["ok"]
        nospace += b["nospace"]
        if LOG:
            LOG.write(json.dumps({"policy": label[0], "n": n, "project": projects[i]["name"],
                                  "class": projects[i]["class"], **b}) + "\n")
        pct = daemon.percent()
        peak = max(peak, pct)
        above = above + 1 if pct >= 90 else 0
        longest = max(longest, above)
        if prune and n % every == 0:
            prune(daemon, state)
            state["week_started"] = time.time() if every == WEEK else state["week_started"]
        print(f"  {label} {n:3d}/{len(order)} {projects[i]['name']} ({projects[i]['class']}) {took:5.1f}s "
              f"cached {c}/{s} deps {'hit' if b['deps_hit'] else 'miss'} "
              f"base {'hit' if b['base_hit'] else 'pulled'} disk {pct}%",
              file=sys.stderr, flush=True)
    q = statistics.quantiles(times, n=20)
    ratio = lambda a, b: a / b if b else float("nan")
    return {"policy": label, "p50": statistics.median(times),
            **{f"hit_{k}": ratio(t[0], t[1]) for k, t in tally.items()},
            **{f"cacheable_{k}": ratio(t[2], t[3]) for k, t in tally.items()},
            **{f"builds_{k}": t[3] // 2 for k, t in tally.items()},
            "p95": q[18], "pulled": pulled_bytes(reg_log, start), "nospace": nospace, "failed": failed,
            "peak": peak, "crit_run": longest}


def main():
    reg, reg_log = registry()
    seeder = Daemon("seed", 512)
    bases = make_bases(seeder, reg)
    seeder.stop()
    projects, order = trace()
    hot = sorted(range(PROJECTS), key=lambda i: -order.count(i))[:3]
    hottest = ", ".join("%s x%d" % (projects[i]["name"], order.count(i)) for i in hot)
    print(f"trace: seed {SEED}, {BUILDS} builds of {PROJECTS} projects; hottest {hottest}; "
          f"{len(set(order))} projects built at least once", file=sys.stderr)

    daemon_json = W / "daemon.json"
    render = subprocess.run([BINARY, "render", "--node", "bench", "--capacity", f"{DISK_MIB}Mi"],
                            capture_output=True, text=True, check=True).stdout
    import yaml
    cm = next(d for d in yaml.safe_load_all(render) if d and d["kind"] == "ConfigMap")
    daemon_json.write_text(cm["data"]["daemon.json"])

    rows = []
    for label, disk, prune, every, config in (
            ("A weekly system prune -af", DISK_MIB, prune_a, WEEK, None),
            ("B old CronJob (until=week)", DISK_MIB, prune_b, WEEK, None),
            ("C dind-cache prune + GC", DISK_MIB, prune_c, PERIOD, daemon_json),
            ("D no pruning, big disk", 4096, None, 0, None)):
        if label[0] not in POLICIES:
            continue
        d = Daemon(label[0], disk, config)
        rows.append(replay(label, d, bases, reg_log, projects, order, prune, every))
        version = d.version
        d.stop()
    first = min(r["pulled"] for r in rows)
    print(f"\nEviction benchmark, {time.strftime('%Y-%m-%d')}, dockerd {version}, xfs {DISK_MIB} MiB, "
          f"seed {SEED}, {BUILDS} builds of {PROJECTS} projects, week = {WEEK} builds, timer = {PERIOD} builds, "
          f"MIN_AGE {MIN_AGE}\n")
    n = rows[0]
    print(f"Hit ratios (builds: {n['builds_hot']} hot, {n['builds_warm']} warm, {n['builds_cold']} cold):\n")
    print("| policy | all steps | hot | warm | cold | cacheable steps | hot | warm | cold |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['policy']} | " + " | ".join(f"{r[f'{m}_{k}']:.0%}" for m in ("hit", "cacheable")
                                                 for k in ("all", "hot", "warm", "cold")) + " |")
    print("\nCosts:\n")
    print("| policy | build p50 | build p95 | re-pulled | failed (no space) | peak disk | builds above 90 % in a row |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['policy']} | {r['p50']:.1f} s | {r['p95']:.1f} s | "
              f"{(r['pulled'] - first) / 2**20:.0f} MiB | {r['failed']} ({r['nospace']}) | {r['peak']} % | {r['crit_run']} |")
    ceiling = next((r for r in rows if r["policy"][0] == "D"), None)
    if ceiling:
        print()
        for r in rows:
            if r is not ceiling:
                print(f"{r['policy'][0]} against the ceiling D: " + ", ".join(
                    f"{k} {r[f'cacheable_{k}'] / ceiling[f'cacheable_{k}']:.0%}"
                    for k in ("all", "hot", "warm", "cold") if ceiling[f"cacheable_{k}"]) + " (cacheable steps)")

bl.run(main)
PYTHON
