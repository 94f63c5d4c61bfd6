# dind-cache-route.sh: send every CI job of a project to the same dind-cache daemon.
#
# Source it in a job (it defines functions and the one variable _dc_ascii, and changes
# nothing else), then call dind_cache_route:
#
#     . ./dind-cache-route.sh
#     dind_cache_route            # exports DOCKER_HOST (and DOCKER_CERT_PATH with TLS)
#
# It is plain POSIX sh with no external command but `timeout` and `docker` for the
# probe, so it runs in the docker:cli image (busybox ash), in dash and in bash alike.
#
# dind_cache_rank KEY HOST:PORT...
#     Prints the members best first for KEY, one per line, by rendezvous (highest random
#     weight) hashing: every member gets a weight hash(KEY, member) and the heaviest
#     wins, so removing a member moves only the keys that ranked it first, and adding
#     one takes keys only for itself. Equal weights are ordered by the member string.
#     Returns 2 on bad input (message on stderr), 0 otherwise.
#
# dind_cache_route
#     Ranks the members in DIND_CACHE_HOSTS (separated by spaces or commas) for
#     DIND_CACHE_KEY (default: CI_PROJECT_ID), then probes them in that order with
#     `docker version` (so the job's TLS settings apply) under `timeout`, and exports
#     DOCKER_HOST=tcp://MEMBER and DIND_CACHE_MEMBER=MEMBER for the first that answers.
#     With DOCKER_TLS_VERIFY non-empty, a member's client certificates (ca.pem,
#     cert.pem, key.pem) are in DIND_CACHE_CERT_DIR/HOST (default /certs/dind-cache/HOST,
#     HOST being MEMBER without its port and brackets), and DOCKER_CERT_PATH is exported
#     pointing there. Which member was chosen, at which rank, and why others were
#     skipped goes to stderr. Returns 0 when a member answered, 1 when none did (the
#     environment is then unchanged), 2 on bad settings.
#
#     DIND_CACHE_PROBE_TIMEOUT  seconds each probe may take (default 5, 1 to 300)
#
# Neither function ever exits the shell that sourced this file, and both work under
# `set -eu`. Shell variables they use start with _dc_ and are unset afterwards.
#
# The weights, with M = 2^31 - 1 and lehmer(h) = 48271 * h mod M:
#     mix(h):       4 times: h = lehmer(h); h = (h xor (h >> 15)) mod (M - 1) + 1
#     hash(s):      h = 5381 + length(s); for each byte c of s:
#                   h = lehmer((h xor c) mod (M - 1) + 1); then mix(h)
#     weight(k, m): mix((hash(m) xor hash(k)) mod (M - 1) + 1)
# lehmer goes by Schrage's method, so every intermediate value stays below 2^31 and
# any POSIX shell computes the same weights, whatever its arithmetic width. Keys and
# members must be printable ASCII.

# Printable ASCII in code order, from 32 (space): a character's code is 32 plus the
# length of what precedes it here.
_dc_ascii=' !"#$%&'"'"'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~'

# _dc_code CHAR: sets _dc_n to its code; fails for anything but printable ASCII.
_dc_code() {
	_dc_pre=${_dc_ascii%%"$1"*}
	if [ "${#_dc_pre}" -eq "${#_dc_ascii}" ]; then
		return 1
	fi
	_dc_n=$((${#_dc_pre} + 32))
}

# _dc_lehmer: _dc_h = 48271 * _dc_h mod (2^31 - 1), by Schrage's method so that no
# product reaches 2^31. _dc_h must be in [1, 2^31 - 2] and stays there.
_dc_lehmer() {
	_dc_h=$((48271 * (_dc_h % 44488) - 3399 * (_dc_h / 44488)))
	_dc_h=$((_dc_h < 0 ? _dc_h + 2147483647 : _dc_h))
}

# _dc_hash STRING: sets _dc_h to STRING's hash in [1, 2^31 - 2]; fails when STRING
# holds anything but printable ASCII.
_dc_hash() {
	_dc_s=$1
	_dc_h=$((5381 + ${#1}))
	# _dc_code and _dc_lehmer, inlined: this loop is the hot path.
	while [ -n "$_dc_s" ]; do
		_dc_rest=${_dc_s#?}
		_dc_pre=${_dc_ascii%%"${_dc_s%"$_dc_rest"}"*}
		if [ "${#_dc_pre}" -eq 95 ]; then
			return 1
		fi
		_dc_s=$_dc_rest
		_dc_h=$(((_dc_h ^ (${#_dc_pre} + 32)) % 2147483646 + 1))
		_dc_h=$((48271 * (_dc_h % 44488) - 3399 * (_dc_h / 44488)))
		_dc_h=$((_dc_h < 0 ? _dc_h + 2147483647 : _dc_h))
	done
	_dc_mix
}

# _dc_mix: scrambles _dc_h (in [1, 2^31 - 2]) so that nearby inputs land far apart.
_dc_mix() {
	for _dc_round in 1 2 3 4; do
		_dc_lehmer
		_dc_h=$(((_dc_h ^ (_dc_h >> 15)) % 2147483646 + 1))
	done
}

# _dc_before A B: true when A sorts before B byte by byte (both printable ASCII).
_dc_before() {
	_dc_a=$1
	_dc_b=$2
	while [ -n "$_dc_a" ] && [ -n "$_dc_b" ]; do
		_dc_rest=${_dc_a#?}
		_dc_code "${_dc_a%"$_dc_rest"}"
		_dc_na=$_dc_n
		_dc_a=$_dc_rest
		_dc_rest=${_dc_b#?}
		_dc_code "${_dc_b%"$_dc_rest"}"
		_dc_b=$_dc_rest
		if [ "$_dc_na" -lt "$_dc_n" ]; then
			return 0
		fi
		if [ "$_dc_na" -gt "$_dc_n" ]; then
			return 1
		fi
	done
	if [ -n "$_dc_b" ]; then
		return 0
	fi
	return 1
}

# _dc_show TEXT: sets _dc_shown to TEXT fit for a terminal: at most 200 characters,
# anything but printable ASCII replaced by '?', line breaks by spaces.
_dc_show() {
	_dc_s=$1
	_dc_shown=
	_dc_len=0
	while [ -n "$_dc_s" ] && [ "$_dc_len" -lt 200 ]; do
		_dc_rest=${_dc_s#?}
		_dc_c=${_dc_s%"$_dc_rest"}
		_dc_s=$_dc_rest
		if [ "$_dc_c" = '
' ]; then
			_dc_c=' '
		elif ! _dc_code "$_dc_c"; then
			_dc_c='?'
		fi
		_dc_shown=$_dc_shown$_dc_c
		_dc_len=$((_dc_len + 1))
	done
	if [ -n "$_dc_s" ]; then
		_dc_shown="$_dc_shown..."
	fi
}

# _dc_err FUNCTION MESSAGE: one line on stderr.
_dc_err() {
	printf '%s: %s\n' "$1" "$2" >&2
}

# _dc_split_member MEMBER: checks MEMBER is HOST:PORT (HOST a DNS name, an IPv4
# address or a bracketed IPv6 address; PORT 1 to 65535) and sets _dc_host to HOST
# without brackets.
_dc_split_member() {
	case $1 in
	\[*\]:*)
		_dc_host=${1%\]:*}
		_dc_host=${_dc_host#\[}
		_dc_port=${1##*\]:}
		case $_dc_host in
		'' | *[!0123456789abcdefABCDEF:.]*) return 1 ;;
		esac
		;;
	*:*:*) return 1 ;;
	*:*)
		_dc_host=${1%:*}
		_dc_port=${1##*:}
		case $_dc_host in
		'' | -* | .* | *[!0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-]*)
			return 1
			;;
		esac
		[ "${#_dc_host}" -le 253 ] || return 1
		;;
	*) return 1 ;;
	esac
	case $_dc_port in
	'' | 0* | *[!0123456789]*) return 1 ;;
	esac
	[ "${#_dc_port}" -le 5 ] && [ "$_dc_port" -le 65535 ]
}

# Field splitting on our own terms, without globbing ("[::1]:2375" is a pattern), and
# the caller's IFS and -f restored afterwards.
_dc_enter() {
	if [ -n "${IFS+x}" ]; then
		_dc_ifs_was_set=1
		_dc_ifs=$IFS
	else
		_dc_ifs_was_set=
	fi
	case $- in
	*f*) _dc_noglob=1 ;;
	*) _dc_noglob= ;;
	esac
	set -f
	IFS=' 	
,'
}

_dc_leave() {
	if [ -n "$_dc_ifs_was_set" ]; then
		IFS=$_dc_ifs
	else
		unset IFS
	fi
	if [ -z "$_dc_noglob" ]; then
		set +f
	fi
	unset _dc_ifs _dc_ifs_was_set _dc_noglob _dc_pre _dc_n _dc_h _dc_s _dc_rest \
		_dc_round _dc_a _dc_b _dc_na _dc_c _dc_len _dc_shown _dc_host _dc_port \
		_dc_key _dc_hk _dc_m _dc_pairs _dc_p _dc_w _dc_best _dc_bestw _dc_left \
		_dc_ranked _dc_count _dc_seen _dc_timeout _dc_rank _dc_tried _dc_skipped \
		_dc_certs _dc_certs_shown _dc_out _dc_rc _dc_why _dc_fn _dc_total _dc_hosts
}

# _dc_rank_into FUNCTION KEY MEMBER... (one member at least): sets _dc_ranked to the members best first,
# separated by spaces, duplicates dropped; _dc_count to their number. Messages name
# FUNCTION. Runs between _dc_enter and _dc_leave.
_dc_rank_into() {
	_dc_fn=$1
	_dc_key=$2
	shift 2
	if [ -z "$_dc_key" ]; then
		_dc_err "$_dc_fn" "the key is empty"
		return 2
	fi
	if [ "${#_dc_key}" -gt 256 ]; then
		_dc_show "$_dc_key"
		_dc_err "$_dc_fn" "key '$_dc_shown' is longer than 256 characters"
		return 2
	fi
	if ! _dc_hash "$_dc_key"; then
		_dc_show "$_dc_key"
		_dc_err "$_dc_fn" "key '$_dc_shown' holds characters other than printable ASCII"
		return 2
	fi
	_dc_hk=$_dc_h
	if [ "$#" -gt 100 ]; then
		_dc_err "$_dc_fn" "$# members, more than the 100 supported"
		return 2
	fi
	# Weigh each member once: "WEIGHT/MEMBER" pairs.
	_dc_pairs=
	_dc_seen=' '
	for _dc_m in "$@"; do
		if [ -z "$_dc_m" ]; then
			_dc_err "$_dc_fn" "a member is empty"
			return 2
		fi
		if ! _dc_split_member "$_dc_m"; then
			_dc_show "$_dc_m"
			_dc_err "$_dc_fn" "member '$_dc_shown' is not HOST:PORT"
			return 2
		fi
		case $_dc_seen in
		*" $_dc_m "*) continue ;;
		esac
		_dc_seen="$_dc_seen$_dc_m "
		_dc_hash "$_dc_m"
		_dc_h=$(((_dc_h ^ _dc_hk) % 2147483646 + 1))
		_dc_mix
		_dc_pairs="$_dc_pairs $_dc_h/$_dc_m"
	done
	# Selection by weight, heaviest first; a tie goes to the smaller member string.
	_dc_ranked=
	_dc_count=0
	_dc_left=$_dc_pairs
	while [ -n "$_dc_left" ]; do
		_dc_bestw=-1
		_dc_best=
		for _dc_p in $_dc_left; do
			_dc_w=${_dc_p%%/*}
			_dc_m=${_dc_p#*/}
			if [ "$_dc_w" -gt "$_dc_bestw" ] ||
				{ [ "$_dc_w" -eq "$_dc_bestw" ] && _dc_before "$_dc_m" "$_dc_best"; }; then
				_dc_bestw=$_dc_w
				_dc_best=$_dc_m
			fi
		done
		_dc_ranked="$_dc_ranked${_dc_ranked:+ }$_dc_best"
		_dc_count=$((_dc_count + 1))
		_dc_p=$_dc_left
		_dc_left=
		for _dc_p in $_dc_p; do
			if [ "$_dc_p" != "$_dc_bestw/$_dc_best" ]; then
				_dc_left="$_dc_left $_dc_p"
			fi
		done
	done
	return 0
}

dind_cache_rank() {
	if [ "${1-}" = --help ]; then
		printf '%s\n' "usage: dind_cache_rank KEY HOST:PORT..." \
			"Prints the members best first for KEY (rendezvous hashing), one per line."
		return 0
	fi
	if [ "$#" -lt 2 ]; then
		_dc_err dind_cache_rank "usage: dind_cache_rank KEY HOST:PORT..."
		return 2
	fi
	_dc_enter
	if _dc_rank_into dind_cache_rank "$@"; then
		for _dc_m in $_dc_ranked; do
			printf '%s\n' "$_dc_m"
		done
		_dc_rc=0
	else
		_dc_rc=$?
	fi
	set -- "$_dc_rc"
	_dc_leave
	return "$1"
}

# _dc_probe MEMBER: true when the daemon at MEMBER answers `docker version` within
# _dc_timeout seconds; sets _dc_why to what went wrong (or the server's version),
# _dc_certs to the member's certificate directory when TLS is on, and _dc_certs_shown
# to it fit for the job log (DIND_CACHE_CERT_DIR comes from outside, as every value
# printed does).
_dc_probe() {
	_dc_split_member "$1"
	_dc_certs=
	_dc_certs_shown=
	if [ -n "${DOCKER_TLS_VERIFY-}" ]; then
		_dc_certs=${DIND_CACHE_CERT_DIR:-/certs/dind-cache}/$_dc_host
		_dc_show "$_dc_certs"
		_dc_certs_shown=$_dc_shown
		for _dc_p in ca.pem cert.pem key.pem; do
			if [ ! -r "$_dc_certs/$_dc_p" ]; then
				_dc_show "$_dc_certs/$_dc_p"
				_dc_why="TLS is on but '$_dc_shown' is missing"
				return 1
			fi
		done
		_dc_out=$(DOCKER_HOST="tcp://$1" DOCKER_CERT_PATH=$_dc_certs \
			timeout "$_dc_timeout" docker version --format '{{.Server.Version}}' 2>&1) &&
			_dc_rc=0 || _dc_rc=$?
	else
		_dc_out=$(DOCKER_HOST="tcp://$1" \
			timeout "$_dc_timeout" docker version --format '{{.Server.Version}}' 2>&1) &&
			_dc_rc=0 || _dc_rc=$?
	fi
	if [ "$_dc_rc" -eq 0 ]; then
		_dc_show "$_dc_out"
		_dc_why="docker $_dc_shown"
		return 0
	fi
	# timeout(1) ends with 124 (coreutils) or 143 (busybox, SIGTERM).
	if [ "$_dc_rc" -eq 124 ] || [ "$_dc_rc" -eq 143 ] || [ "$_dc_rc" -eq 137 ]; then
		_dc_why="no answer within ${_dc_timeout}s"
		return 1
	fi
	_dc_show "$_dc_out"
	_dc_why="docker version failed ($_dc_rc): $_dc_shown"
	return 1
}

_dc_route() {
	_dc_timeout=${DIND_CACHE_PROBE_TIMEOUT:-5}
	case $_dc_timeout in
	'' | 0* | *[!0123456789]*) _dc_timeout=0 ;;
	esac
	if [ "${#_dc_timeout}" -gt 3 ] || [ "$_dc_timeout" -lt 1 ] || [ "$_dc_timeout" -gt 300 ]; then
		_dc_show "${DIND_CACHE_PROBE_TIMEOUT-}"
		_dc_err dind_cache_route "DIND_CACHE_PROBE_TIMEOUT '$_dc_shown' is not a number of seconds from 1 to 300"
		return 2
	fi
	_dc_key=${DIND_CACHE_KEY:-${CI_PROJECT_ID-}}
	if [ -z "$_dc_key" ]; then
		_dc_err dind_cache_route "neither DIND_CACHE_KEY nor CI_PROJECT_ID is set: nothing to route by"
		return 2
	fi
	_dc_hosts=${DIND_CACHE_HOSTS-}
	if [ "${#_dc_hosts}" -gt 8192 ]; then
		_dc_err dind_cache_route "DIND_CACHE_HOSTS is longer than 8192 characters"
		return 2
	fi
	# Split on spaces and commas, globbing off; "a:1,,b:2" has an empty field: drop it.
	# shellcheck disable=SC2086
	set -- $_dc_hosts
	for _dc_m in "$@"; do
		shift
		if [ -n "$_dc_m" ]; then
			set -- "$@" "$_dc_m"
		fi
	done
	if [ "$#" -eq 0 ]; then
		_dc_err dind_cache_route "DIND_CACHE_HOSTS is empty: set it to the members, HOST:PORT separated by spaces or commas"
		return 2
	fi
	_dc_rank_into dind_cache_route "$_dc_key" "$@" || return
	for _dc_p in docker timeout; do
		if ! command -v "$_dc_p" >/dev/null 2>&1; then
			_dc_err dind_cache_route "'$_dc_p' not found in PATH: cannot probe the members"
			return 2
		fi
	done
	_dc_show "$_dc_key"
	_dc_key=$_dc_shown
	_dc_rank=0
	_dc_total=$_dc_count
	_dc_tried=
	for _dc_m in $_dc_ranked; do
		_dc_rank=$((_dc_rank + 1))
		if _dc_probe "$_dc_m"; then
			export DOCKER_HOST="tcp://$_dc_m"
			export DIND_CACHE_MEMBER="$_dc_m"
			if [ -n "$_dc_certs" ]; then
				export DOCKER_CERT_PATH="$_dc_certs"
			fi
			_dc_skipped=
			if [ -n "$_dc_tried" ]; then
				_dc_skipped="; skipped$_dc_tried"
			fi
			_dc_err dind_cache_route "key '$_dc_key' -> $_dc_m (rank $_dc_rank of $_dc_total, $_dc_why${_dc_certs:+, certificates in $_dc_certs_shown})$_dc_skipped"
			return 0
		fi
		_dc_err dind_cache_route "skipping $_dc_m (rank $_dc_rank of $_dc_total): $_dc_why"
		_dc_tried="$_dc_tried${_dc_tried:+,} $_dc_m ($_dc_why)"
	done
	_dc_err dind_cache_route "no member answered for key '$_dc_key'; tried:$_dc_tried"
	return 1
}

dind_cache_route() {
	if [ "${1-}" = --help ]; then
		printf '%s\n' "usage: dind_cache_route" \
			"Exports DOCKER_HOST=tcp://MEMBER for the first member of DIND_CACHE_HOSTS, ranked" \
			"for DIND_CACHE_KEY (default CI_PROJECT_ID), that answers 'docker version' within" \
			"DIND_CACHE_PROBE_TIMEOUT seconds (default 5). With DOCKER_TLS_VERIFY set, also" \
			"DOCKER_CERT_PATH=DIND_CACHE_CERT_DIR/HOST (default /certs/dind-cache/HOST)."
		return 0
	fi
	if [ "$#" -ne 0 ]; then
		_dc_err dind_cache_route "takes no arguments: it reads DIND_CACHE_HOSTS and CI_PROJECT_ID"
		return 2
	fi
	_dc_enter
	if _dc_route; then
		_dc_rc=0
	else
		_dc_rc=$?
	fi
	set -- "$_dc_rc"
	_dc_leave
	return "$1"
}
