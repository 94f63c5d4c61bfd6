#!/bin/bash
# What the authorization plugin adds to each Docker API call: the latency of a few
# hundred calls of each kind against one real dockerd 28.5.2 (mutual TLS, data root on
# a loop-mounted xfs), first without the plugin, then with it (daemon.json's
# authorization-plugins, reloaded with SIGHUP: the same daemon, one run), and the
# plugin's CPU per request and resident memory. Not a test: it prints numbers. Needs
# root and the pinned packages (../shared/debs, or DIND_CACHE_TEST_DEBS).
#
#     tests/bench/authz.sh [CALLS]          (default 300 of each kind)
#     PROFILE=FILE tests/bench/authz.sh     (also `perf record` the plugin into FILE)
set -euo pipefail

CALLS=${1:-300}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BINARY=${BINARY:-$ROOT/build/dind-cache}
DEBS=${DIND_CACHE_TEST_DEBS:-$ROOT/../shared/debs}
W=$(mktemp -d /tmp/dc-authz-bench.XXXXXX)
IP=127.0.0.49
PORT=$((30000 + RANDOM % 20000))
LOOP= PLUGIN=

cleanup() {
	if [ -f "$W/run/docker.pid" ]; then
		kill "$(cat "$W/run/docker.pid")" 2>/dev/null || true
		for _ in $(seq 150); do [ -f "$W/run/docker.pid" ] || break; sleep 0.1; done
	fi
	[ -n "$PLUGIN" ] && kill "$PLUGIN" 2>/dev/null && wait "$PLUGIN" 2>/dev/null || true
	grep -o " $W/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

# The pinned daemon and CLI, unpacked.
mkdir -p "$W/pkg"
for deb in "$DEBS"/*.deb; do dpkg-deb -x "$deb" "$W/pkg"; done
DOCKERD=$W/pkg/usr/sbin/dockerd DOCKER=$W/pkg/usr/bin/docker
"$DOCKERD" --version

# Certificates: a CA, the daemon's, a tenant's.
pki() { # NAME CN USAGE [SAN]
	mkdir -p "$W/pki/$1"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/pki/$1/key.pem" 2>/dev/null
	printf 'extendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n%s\n' "$3" "${4:-}" >"$W/pki/$1/ext.cnf"
	openssl req -new -key "$W/pki/$1/key.pem" -subj "/CN=$2" -out "$W/pki/$1/csr.pem"
	openssl x509 -req -in "$W/pki/$1/csr.pem" -CA "$W/pki/ca.pem" -CAkey "$W/pki/ca-key.pem" -CAcreateserial \
		-days 2 -extfile "$W/pki/$1/ext.cnf" -out "$W/pki/$1/cert.pem" 2>/dev/null
	cp "$W/pki/ca.pem" "$W/pki/$1/ca.pem"
}
mkdir -p "$W/pki"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/pki/ca-key.pem" 2>/dev/null
openssl req -x509 -new -key "$W/pki/ca-key.pem" -subj "/CN=bench CA" -days 2 -out "$W/pki/ca.pem"
pki server server serverAuth "subjectAltName=IP:$IP"
pki tenant bench-a clientAuth

# The plugin, on a socket of its own; dockerd in its own mount namespace with that
# directory at /run/docker/plugins (a tmpfs hides the host's /run/docker there).
mkdir -p "$W/plugins" "$W/state" "$W/run" "$W/mnt"
"$BINARY" authz --socket "$W/plugins/dind-cache-authz.sock" --state-dir "$W/state" 2>"$W/plugin.log" &
PLUGIN=$!
for _ in $(seq 50); do [ -S "$W/plugins/dind-cache-authz.sock" ] && break; sleep 0.1; done
truncate -s 2G "$W/xfs.img"
mkfs.xfs -q -f "$W/xfs.img"
LOOP=$(losetup --find --show "$W/xfs.img")
mount "$LOOP" "$W/mnt"
echo '{"authorization-plugins": ["dind-cache-authz"]}' >"$W/daemon.json"
unshare -m sh -ec '
	mount --make-rprivate /
	if [ -d /run/docker ]; then mount -t tmpfs tmpfs /run/docker; else mount -t tmpfs tmpfs /run; fi
	mkdir -p /run/docker/plugins
	mount --bind "$0" /run/docker/plugins
	shift; exec "$@"' "$W/plugins" x "$DOCKERD" --config-file "$W/daemon.json" \
	--tlsverify --tlscacert "$W/pki/ca.pem" --tlscert "$W/pki/server/cert.pem" --tlskey "$W/pki/server/key.pem" \
	-H "tcp://$IP:$PORT" --data-root "$W/mnt" --pidfile "$W/run/docker.pid" --exec-root "$W/run/exec" \
	--iptables=false --ip6tables=false --bridge=none --storage-driver overlay2 >"$W/dockerd.log" 2>&1 &
export DOCKER_HOST=tcp://$IP:$PORT DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$W/pki/tenant DOCKER_CONFIG=$W/cli
for _ in $(seq 300); do "$DOCKER" version >/dev/null 2>&1 && break; sleep 0.1; done

# An image and a container of the tenant's, made with the plugin on (so it knows them).
mkdir -p "$W/rootfs/bin"
cp /bin/busybox "$W/rootfs/bin/"
ln -s busybox "$W/rootfs/bin/sh"
tar -C "$W/rootfs" -c . | "$DOCKER" import - bb >/dev/null
"$DOCKER" create --name bench bb sleep 1 >/dev/null

# /info keeps listing the plugins dockerd started with; a refusal shows the truth.
plugin_on() {
	! "$DOCKER" plugin ls >/dev/null 2>&1
}
reload() { # the daemon.json text, then "on" or "off": waits until the daemon agrees
	echo "$1" >"$W/daemon.json"
	kill -HUP "$(cat "$W/run/docker.pid")"
	for _ in $(seq 100); do
		if plugin_on; then [ "$2" = on ] && return; else [ "$2" = off ] && return; fi
		sleep 0.1
	done
	echo "dockerd did not turn the plugin $2" >&2
	exit 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PLUGIN/stat"; }

measure() { # LABEL
	/usr/bin/python3 - "$1" "$CALLS" "$IP" "$PORT" "$W/pki/tenant" >"$W/lat.$1" <<'PY'
import http.client, json, ssl, sys, time
label, calls, ip, port, certs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
ctx = ssl.create_default_context(cafile=f"{certs}/ca.pem")
ctx.load_cert_chain(f"{certs}/cert.pem", f"{certs}/key.pem")
ctx.check_hostname = False
conn = http.client.HTTPSConnection(ip, port, context=ctx)
def call(method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    t = time.perf_counter_ns()
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    dt = time.perf_counter_ns() - t
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]}")
    return dt, data
kinds = {"GET /_ping": [], "GET /version": [], "GET /containers/json": [], "GET /containers/ID/json": [],
         "GET /images/json": [], "POST /containers/create": [], "DELETE /containers/ID": []}
for i in range(calls):
    kinds["GET /_ping"].append(call("GET", "/v1.51/_ping")[0])
    kinds["GET /version"].append(call("GET", "/v1.51/version")[0])
    kinds["GET /containers/json"].append(call("GET", "/v1.51/containers/json?all=1")[0])
    kinds["GET /containers/ID/json"].append(call("GET", "/v1.51/containers/bench/json")[0])
    kinds["GET /images/json"].append(call("GET", "/v1.51/images/json")[0])
    dt, data = call("POST", "/v1.51/containers/create", json.dumps({"Image": "bb", "Cmd": ["true"]}))
    kinds["POST /containers/create"].append(dt)
    kinds["DELETE /containers/ID"].append(call("DELETE", "/v1.51/containers/" + json.loads(data)["Id"])[0])
for k, v in kinds.items():
    v.sort()
    print(f"{k}\t{v[len(v) // 2] / 1e6:.3f}\t{v[int(len(v) * 0.99) - 1] / 1e6:.3f}")
PY
}

# An absent key leaves the plugins as they are: an empty list takes them off.
reload '{"authorization-plugins": []}' off
measure without
reload '{"authorization-plugins": ["dind-cache-authz"]}' on
"$DOCKER" version >/dev/null   # the plugin activated
before=$(cpu_ticks)
[ -n "${PROFILE:-}" ] && { perf record -q -g -p "$PLUGIN" -o "$PROFILE" & PERF=$!; sleep 1; }
measure with
after=$(cpu_ticks)
[ -n "${PROFILE:-}" ] && { kill -INT "$PERF"; wait "$PERF" || true; }
requests=$((CALLS * 7))
hz=$(getconf CLK_TCK)

echo
echo "dockerd $("$DOCKERD" --version | awk '{ print $3 }' | tr -d ,) with and without the plugin, $CALLS calls of each kind, ms"
printf '%-26s %9s %9s %9s %9s %10s %10s\n' call "p50 w/o" "p99 w/o" "p50 with" "p99 with" "added p50" "added p99"
join -t "$(printf '\t')" <(sort "$W/lat.without") <(sort "$W/lat.with") | sort -t "$(printf '\t')" -k1,1 |
	awk -F '\t' '{ printf "%-26s %9.3f %9.3f %9.3f %9.3f %10.3f %10.3f\n", $1, $2, $3, $4, $5, $4 - $2, $5 - $3 }'
echo
awk -v t=$((after - before)) -v n=$requests -v hz="$hz" 'BEGIN {
	printf "plugin CPU: %.1f us per API request (two plugin calls each; %d requests)\n", t / hz * 1e6 / n, n }'
grep -E '^(VmHWM|VmRSS|RssAnon|RssFile)' "/proc/$PLUGIN/status" |
	awk '{ printf "plugin %-9s %5.1f MiB\n", $1, $2 / 1024 }'
echo "(RssFile: pages of the binary and shared libraries, shared with every other process using them)"
