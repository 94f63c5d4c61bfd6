#!/bin/bash
# What one `dind-cache check` costs: CPU time and peak memory per run, against an idle
# real dockerd whose data root is a loop-mounted xfs (as deployed), first with an empty
# cache, then with many files in it (the cost must stay flat: the checker never walks
# the data directory). Not a test: it prints numbers. Needs root.
#
#     tests/bench/check-cost.sh [RUNS]        (default 20; BINARY=... to pick the binary)
set -euo pipefail

RUNS=${1:-20}
BINARY=${BINARY:-$(cd "$(dirname "$0")/../.." && pwd)/build/dind-cache}
FILES=${FILES:-50000}
W=$(mktemp -d /tmp/dc-bench.XXXXXX)
MNT=$W/mnt
PORT=$((30000 + RANDOM % 20000))
LOOP=

cleanup() {
	if [ -f "$W/run/docker.pid" ]; then
		kill "$(cat "$W/run/docker.pid")" 2>/dev/null || true
		for _ in $(seq 100); do [ -f "$W/run/docker.pid" ] || break; sleep 0.1; done
	fi
	grep -o " $W/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

truncate -s 1G "$W/xfs.img"
mkfs.xfs -q -f "$W/xfs.img"
LOOP=$(losetup --find --show "$W/xfs.img")
mkdir -p "$MNT" "$W/run"
mount "$LOOP" "$MNT"
dockerd --data-root "$MNT" -H "tcp://127.0.0.1:$PORT" --pidfile "$W/run/docker.pid" \
	--exec-root "$W/run/exec" --iptables=false --ip6tables=false --bridge=none \
	--storage-driver overlay2 >"$W/dockerd.log" 2>&1 &
for _ in $(seq 300); do
	curl -fs "http://127.0.0.1:$PORT/_ping" >/dev/null 2>&1 && break
	sleep 0.1
done

export DOCKER_HOST=tcp://127.0.0.1:$PORT DIND_CACHE_DATA_DIR=$MNT

measure() {
	local label=$1 out status
	out=$("$BINARY" check --no-journal) && status=0 || status=$?
	[ "$status" -le 1 ] || { echo "check failed ($status):"; echo "$out"; exit 1; }
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f "%U %S %M %e" -a -o "$W/time.$label" "$BINARY" check --no-journal >/dev/null || true
	done
	awk -v label="$label" -v runs="$RUNS" '
		{ cpu += ($1 + $2) * 1000; wall += $4 * 1000; if ($3 > rss) rss = $3 }
		END { printf "%-28s %3d runs: CPU %.1f ms/run (user+sys), wall %.1f ms/run, peak RSS %d KiB\n",
		      label, runs, cpu / runs, wall / runs, rss }' "$W/time.$label"
	if command -v valgrind >/dev/null; then
		valgrind --tool=massif --pages-as-heap=no --massif-out-file="$W/massif.$label" \
			"$BINARY" check --no-journal >/dev/null 2>&1 || true
		printf '%-28s peak heap (massif): %s bytes\n' "$label" \
			"$(grep -o 'mem_heap_B=[0-9]*' "$W/massif.$label" | cut -d= -f2 | sort -n | tail -1)"
	fi
}

echo "binary: $BINARY"
measure "empty cache"
mkdir -p "$MNT/bench-files"
(cd "$MNT/bench-files" && seq "$FILES" | xargs touch)
measure "cache with $FILES files"
