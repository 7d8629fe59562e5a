#!/usr/bin/env bash
# bench/run.sh measures the performance goals of SPEC section 10 and issue 5
# on this machine, in one run so that the ratios compare like with like:
#
#   (a) one `flux-mirror login --plaintext` of 200 static hosts
#   (b) the same 200 hosts logged in with 200 `crane auth login` calls
#   (c) `flux-mirror version`: the process's start-up, nothing else
#   (d) a stdlib-only binary that prints a line: a bare Go process
#   (e) one `flux-mirror login --plaintext` of 1 static host
#   (f) a credential helper `get` of a provider host from a warm cache
#   (g) `docker-credential-ecr-login get` (v0.13.0) from a warm cache
#   (h) a credential helper `get` of a static host, never cached
#   (s) the small docker-credential-flux-mirror's `get` from a warm cache
#   (m) a cache miss through the small helper's hand-off to flux-mirror,
#       paired with (n), the same miss minted by flux-mirror directly
#
# The small helper (issue 17): (s)/(g) <= 0.8, (s)-(d) <= 3 ms, and
# (m)-(n), the hand-off, <= 5 ms; all from paired rounds, with quartiles,
# peak RSS and sizes.
#
# Goals: (b)/(a) >= 40, our own per-run work, (e)-(c), <= 5 ms, and a
# cached helper get, (f)-(c), <= 5 ms (issue 9); (g)/(f) is printed. The
# differences are also measured as medians of paired runs, (a), (c) and (e)
# interleaved, so that a machine that speeds up or slows down between
# blocks of runs does not move them. (a)-(c) is the work of 200 hosts and
# (c)-(d) the dependencies' package initialisation, which SPEC 10 counts in
# the start-up. It also sums the package initialisation times
# (GODEBUG=inittrace=1) and runs the Go benchmarks. bench/README.md explains
# the numbers.
#
# Usage: bench/run.sh [-o DIR]
#   -o DIR   keep the hyperfine JSON exports (or raw samples), the paired
#            samples, the configs and the inittrace output in DIR.
# Environment: BENCH_RUNS (default 15) runs of (a), (c), (d), (e);
# BENCH_CRANE_RUNS (default 5) runs of (b); BENCH_PAIRS (default 60) rounds
# of the paired runs; BENCH_NO_HYPERFINE=1 times with a bash loop even when
# hyperfine is installed.
set -euo pipefail

hosts=200
runs=${BENCH_RUNS:-15}
crane_runs=${BENCH_CRANE_RUNS:-5}
pairs=${BENCH_PAIRS:-60}
crane_version=v0.22.1
ecr_login_version=v0.13.0

die() {
	echo "bench: $*" >&2
	exit 1
}

keep=
while getopts o: opt; do
	case $opt in
	o) keep=$OPTARG ;;
	*) die "usage: bench/run.sh [-o DIR]" ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || die "usage: bench/run.sh [-o DIR]"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flux-mirror-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/home" "$tmp/out"

# Every timed process gets this environment and nothing else: HOME and
# DOCKER_CONFIG in the temp dir, a PATH holding only crane, so that no
# docker-credential-* helper or `pass` can be auto-detected, and no EC2
# metadata probe. Commands are named by absolute path.
runenv=(
	HOME="$tmp/home"
	DOCKER_CONFIG="$tmp/docker"
	PATH="$tmp/bin"
	AWS_EC2_METADATA_DISABLED=true
)

echo "bench: building flux-mirror, the baseline and crane $crane_version" >&2
(cd "$repo" && go build -trimpath -o "$tmp/flux-mirror" .)

mkdir "$tmp/baseline"
cat >"$tmp/baseline/go.mod" <<'EOF'
module baseline

go 1.26.0
EOF
cat >"$tmp/baseline/main.go" <<'EOF'
// Command baseline does what `flux-mirror version` does with the standard
// library only: it prints its module version.
package main

import (
	"fmt"
	"runtime/debug"
)

func main() {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Println("baseline", v)
}
EOF
(cd "$tmp/baseline" && go build -trimpath -o "$tmp/baseline-bin" .)

GOBIN="$tmp/bin" go install "github.com/google/go-containerregistry/cmd/crane@$crane_version"

# The credential helpers live outside PATH and are named by absolute path:
# (a) and (e) must not find them.
mkdir "$tmp/helpers"
echo "bench: building docker-credential-ecr-login $ecr_login_version (.ci/tools)" >&2
tools=$(bash "$repo/.ci/tools" ecr-login) || die "building docker-credential-ecr-login failed"
ln -s "$tools/docker-credential-ecr-login" "$tmp/helpers/docker-credential-ecr-login"
ln -s "$tmp/flux-mirror" "$tmp/helpers/docker-credential-flux-mirror"
# The small helper, with flux-mirror beside it as in a release archive: it
# hands every mint to that binary.
echo "bench: building the small docker-credential-flux-mirror" >&2
mkdir "$tmp/small"
(cd "$repo" && go build -trimpath -tags smallhelper -o "$tmp/small/docker-credential-flux-mirror" .)
ln -s "$tmp/flux-mirror" "$tmp/small/flux-mirror"

# A stand-in for the GitHub Actions ID token endpoint, stdlib only: it
# answers every request with {"value": <a JWT valid for an hour>}. It only
# serves the get that warms the cache and is stopped before timing, so a
# timed get that minted would fail.
mkdir "$tmp/fake-oidc"
cat >"$tmp/fake-oidc/go.mod" <<'EOF'
module fakeoidc

go 1.26.0
EOF
cat >"$tmp/fake-oidc/main.go" <<'EOF'
// Command fakeoidc serves an Actions-like ID token endpoint on 127.0.0.1
// and prints its URL.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	enc := base64.RawURLEncoding.EncodeToString
	claims := fmt.Sprintf(`{"aud":"reg.example.com","exp":%d}`, time.Now().Add(time.Hour).Unix())
	token := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("bench"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s/idtoken\n", l.Addr())
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"value": token})
	}))
}
EOF
(cd "$tmp/fake-oidc" && go build -trimpath -o "$tmp/fake-oidc-bin" .)

# The config and the equivalent crane calls.
cfg="$tmp/flux-mirror.yaml"
{
	echo "apiVersion: mirror.plugin.fluxcd.io/v1beta1"
	echo "kind: Config"
	echo "hosts:"
	for ((i = 1; i <= hosts; i++)); do
		echo "  - host: reg-$i.example.com"
		echo "    username: u"
		echo "    credential: {value: tok-$i}"
	done
} >"$cfg"

# The same config cut to its first host, for the per-run work.
cfg1="$tmp/flux-mirror-1.yaml"
head -n 6 "$cfg" >"$cfg1"

crane_loop="$tmp/crane-loop.sh"
{
	echo "#!/bin/bash"
	echo "set -e"
	echo "export DOCKER_CONFIG=$(printf %q "$tmp/docker-b")"
	echo "for ((i = 1; i <= $hosts; i++)); do"
	echo "	$(printf %q "$tmp/bin/crane") auth login \"reg-\$i.example.com\" -u u -p \"tok-\$i\""
	echo "done"
} >"$crane_loop"
chmod +x "$crane_loop"

# timeloop RUNS FRESH CMD...: after two warm-up runs, runs CMD RUNS times,
# removing the directory FRESH (unless it is -) before each run, and prints
# each run's wall time in microseconds. EPOCHREALTIME is read by the shell
# itself: forking `date` around each run would add about a millisecond to
# every sample, the size of what (c)-(d) measures.
timeloop() {
	local runs=$1 fresh=$2 i t0 t1
	shift 2
	for ((i = -2; i < runs; i++)); do
		[[ $fresh == - ]] || /bin/rm -rf "$fresh"
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1 || {
			echo "bench: $* failed" >&2
			return 1
		}
		t1=$EPOCHREALTIME
		((i < 0)) || echo $((${t1/./} - ${t0/./}))
	done
}

hyperfine=$(command -v hyperfine || true)
[[ -z ${BENCH_NO_HYPERFINE:-} ]] || hyperfine=

# measure NAME RUNS FRESH CMD...: times CMD in the clean environment and
# writes the median and minimum wall time and, from hyperfine only, the mean
# CPU time (user + system; - otherwise) in milliseconds to $tmp/out/NAME.ms.
# A failing run stops the script: a number from a failed command would be
# meaningless.
measure() {
	local name=$1 runs=$2 fresh=$3
	shift 3
	echo "bench: timing ($name) $*" >&2
	if [[ -n $hyperfine ]]; then
		local prepare=()
		[[ $fresh == - ]] || prepare=(--prepare "/bin/rm -rf $(printf %q "$fresh")")
		# -N runs the command without a shell, so no shell start-up is
		# mixed into (or subtracted from) the start-up being measured.
		env -i "${runenv[@]}" "$hyperfine" -N --style basic --warmup 2 --runs "$runs" \
			"${prepare[@]}" --export-json "$tmp/out/$name.json" -- "$(printf '%q ' "$@")" >&2
		awk -F'[:,]' '$1 ~ /"median"/ { med = $2 } $1 ~ /"min"/ { min = $2 }
			$1 ~ /"user"/ { user = $2 } $1 ~ /"system"/ { sys = $2 }
			END { if (med != "") printf "%.3f %.3f %.3f\n", med * 1000, min * 1000, (user + sys) * 1000 }' \
			"$tmp/out/$name.json" >"$tmp/out/$name.ms"
	else
		env -i "${runenv[@]}" /bin/bash -c "$(declare -f timeloop); timeloop \"\$@\"" timeloop \
			"$runs" "$fresh" "$@" >"$tmp/out/$name.us"
		sort -n "$tmp/out/$name.us" | awk '{ v[NR] = $1 }
			END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f -\n", m / 1000, v[1] / 1000 }' \
			>"$tmp/out/$name.ms"
	fi
	[[ -s $tmp/out/$name.ms ]] || die "($name): no median"
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
measure a "$runs" "$tmp/docker-a" "$tmp/flux-mirror" login -f "$cfg" --docker-config "$tmp/docker-a" --plaintext
measure b "$crane_runs" "$tmp/docker-b" "$crane_loop"
measure c "$runs" - "$tmp/flux-mirror" version
measure d "$runs" - "$tmp/baseline-bin"
measure e "$runs" "$tmp/docker-e" "$tmp/flux-mirror" login -f "$cfg1" --docker-config "$tmp/docker-e" --plaintext

# pairloop ROUNDS FM CFG CFG1 DIR: runs (a), (c) and (e) in turn, ROUNDS times
# after two warm-up rounds, and prints each round's three wall times in
# microseconds. The login folder is removed before each login, outside the
# timed span.
pairloop() {
	local rounds=$1 fm=$2 cfg=$3 cfg1=$4 dir=$5 i t0 t1 t2 t3 t4
	for ((i = -2; i < rounds; i++)); do
		/bin/rm -rf "$dir"
		t0=$EPOCHREALTIME
		"$fm" login -f "$cfg" --docker-config "$dir" --plaintext >/dev/null 2>&1 || return 1
		t1=$EPOCHREALTIME
		"$fm" version >/dev/null 2>&1 || return 1
		t2=$EPOCHREALTIME
		/bin/rm -rf "$dir"
		t3=$EPOCHREALTIME
		"$fm" login -f "$cfg1" --docker-config "$dir" --plaintext >/dev/null 2>&1 || return 1
		t4=$EPOCHREALTIME
		((i < 0)) || echo $((${t1/./} - ${t0/./})) $((${t2/./} - ${t1/./})) $((${t4/./} - ${t3/./}))
	done
}
echo "bench: timing $pairs interleaved rounds of (a), (c) and (e)" >&2
env -i "${runenv[@]}" /bin/bash -c "$(declare -f pairloop); pairloop \"\$@\"" pairloop \
	"$pairs" "$tmp/flux-mirror" "$cfg" "$cfg1" "$tmp/docker-p" >"$tmp/out/pairs.us" ||
	die "the paired runs failed"
# paired COL1 COL2: the median, first and third quartile of column COL1
# minus column COL2 over the rounds, in ms.
paired() {
	awk -v x="$1" -v y="$2" '{ print $x - $y }' "$tmp/out/pairs.us" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)] / 1000, v[int((NR + 3) / 4)] / 1000, v[int((3 * NR + 3) / 4)] / 1000 }'
}
read -r ac ac_q1 ac_q3 <<<"$(paired 1 2)"
read -r ec ec_q1 ec_q3 <<<"$(paired 3 2)"

# The credential helper benchmarks (issue 9). Each get reads its server
# URL from a file on stdin, which hyperfine 1.15 cannot give a command run
# without a shell, so they are timed with the bash loop. The helper's
# environment: a provider host (github) and a static host in one config,
# the Actions variables pointing at the fake, and no cache but the one the
# warm-up get fills.
helper_cfg="$tmp/helper.yaml"
cat >"$helper_cfg" <<'EOF'
apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: reg.example.com
    username: ci
    credential:
      provider: github
  - host: static.example.com
    username: u
    credential:
      value: tok-static
EOF
echo reg.example.com >"$tmp/get-provider"
echo static.example.com >"$tmp/get-static"
echo 123456789012.dkr.ecr.us-east-1.amazonaws.com >"$tmp/get-ecr"
"$tmp/fake-oidc-bin" >"$tmp/fake-oidc.url" &
fake_pid=$!
for _ in {1..50}; do [[ -s $tmp/fake-oidc.url ]] && break; sleep 0.1; done
[[ -s $tmp/fake-oidc.url ]] || die "the fake Actions endpoint did not start"
helperenv=(
	"${runenv[@]}"
	FLUX_MIRROR_CONFIG="$helper_cfg"
	ACTIONS_ID_TOKEN_REQUEST_URL="$(<"$tmp/fake-oidc.url")"
	ACTIONS_ID_TOKEN_REQUEST_TOKEN=bench-request-token
)
env -i "${helperenv[@]}" "$tmp/helpers/docker-credential-flux-mirror" get <"$tmp/get-provider" >/dev/null ||
	die "the warm-up get of the provider host failed"
kill "$fake_pid"
wait "$fake_pid" 2>/dev/null || true

# docker-credential-ecr-login's warm cache, offline: static AWS keys (so
# the cache key's account is empty) and a ~/.ecr/cache.json entry for the
# registry requested just now, valid 12h, which it serves until half its
# life has passed without calling AWS (its api.GetCredentialsByRegistryID).
mkdir -p "$tmp/home/.ecr"
# base64 of the SHA-256 of the empty account ID (its cache.checksum).
ecr_account=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
cat >"$tmp/home/.ecr/cache.json" <<EOF
{"Registries": {"us-east-1-$ecr_account-123456789012": {
	"AuthorizationToken": "$(printf 'AWS:tok-ecr' | base64 -w0)",
	"RequestedAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
	"ExpiresAt": "$(date -u -d '+12 hours' +%Y-%m-%dT%H:%M:%SZ)",
	"ProxyEndpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
	"Service": "ecr"}}, "Version": "1.0"}
EOF
ecrenv=(
	"${runenv[@]}"
	AWS_ACCESS_KEY_ID=AKIDBENCH
	AWS_SECRET_ACCESS_KEY=bench-secret
	AWS_CONFIG_FILE=/dev/null
	AWS_SHARED_CREDENTIALS_FILE=/dev/null
)
# Every get must answer with its credential; a failure would time an error.
env -i "${helperenv[@]}" "$tmp/helpers/docker-credential-flux-mirror" get <"$tmp/get-provider" | grep -q '"Username":"ci"' ||
	die "the cached get of the provider host failed (did it try to mint?)"
env -i "${ecrenv[@]}" "$tmp/helpers/docker-credential-ecr-login" get <"$tmp/get-ecr" | grep -q '"Secret":"tok-ecr"' ||
	die "docker-credential-ecr-login did not answer from its warm cache"
# The fake is down: a small helper that handed off would fail here.
env -i "${helperenv[@]}" "$tmp/small/docker-credential-flux-mirror" get <"$tmp/get-provider" | grep -q '"Username":"ci"' ||
	die "the small helper's cached get failed (did it hand off?)"

# getloop RUNS INPUT CMD...: timeloop for a helper get with INPUT on stdin.
getloop() {
	local runs=$1 input=$2 i t0 t1
	shift 2
	for ((i = -2; i < runs; i++)); do
		t0=$EPOCHREALTIME
		"$@" <"$input" >/dev/null 2>&1 || return 1
		t1=$EPOCHREALTIME
		((i < 0)) || echo $((${t1/./} - ${t0/./}))
	done
}
# measure_get NAME ENV-ARRAY INPUT CMD...: the median and minimum of the
# loop, in $tmp/out/NAME.ms as measure writes them.
measure_get() {
	local name=$1 envname=$2[@] input=$3
	shift 3
	echo "bench: timing ($name) $* <$input" >&2
	env -i "${!envname}" /bin/bash -c "$(declare -f getloop); getloop \"\$@\"" getloop \
		"$runs" "$input" "$@" >"$tmp/out/$name.us" || die "($name) failed"
	sort -n "$tmp/out/$name.us" | awk '{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f -\n", m / 1000, v[1] / 1000 }' \
		>"$tmp/out/$name.ms"
}
measure_get f helperenv "$tmp/get-provider" "$tmp/helpers/docker-credential-flux-mirror" get
measure_get g ecrenv "$tmp/get-ecr" "$tmp/helpers/docker-credential-ecr-login" get
measure_get h helperenv "$tmp/get-static" "$tmp/helpers/docker-credential-flux-mirror" get
measure_get s helperenv "$tmp/get-provider" "$tmp/small/docker-credential-flux-mirror" get

# getpairs ROUNDS FM HELPER INPUT ECR ECRINPUT BASELINE SMALL: (c), (f),
# (g), (d) and (s) in turn, ROUNDS times after two warm-up rounds, each
# round's five wall times in microseconds. The ECR helper's variables are
# set on its command alone.
getpairs() {
	local rounds=$1 fm=$2 helper=$3 input=$4 ecr=$5 ecrinput=$6 baseline=$7 small=$8 i t0 t1 t2 t3 t4 t5
	for ((i = -2; i < rounds; i++)); do
		t0=$EPOCHREALTIME
		"$fm" version >/dev/null 2>&1 || return 1
		t1=$EPOCHREALTIME
		"$helper" get <"$input" >/dev/null 2>&1 || return 1
		t2=$EPOCHREALTIME
		AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret AWS_CONFIG_FILE=/dev/null \
			AWS_SHARED_CREDENTIALS_FILE=/dev/null "$ecr" get <"$ecrinput" >/dev/null 2>&1 || return 1
		t3=$EPOCHREALTIME
		"$baseline" >/dev/null 2>&1 || return 1
		t4=$EPOCHREALTIME
		"$small" get <"$input" >/dev/null 2>&1 || return 1
		t5=$EPOCHREALTIME
		((i < 0)) || echo $((${t1/./} - ${t0/./})) $((${t2/./} - ${t1/./})) $((${t3/./} - ${t2/./})) \
			$((${t4/./} - ${t3/./})) $((${t5/./} - ${t4/./}))
	done
}
echo "bench: timing $pairs interleaved rounds of (c), (f), (g), (d) and (s)" >&2
env -i "${helperenv[@]}" /bin/bash -c "$(declare -f getpairs); getpairs \"\$@\"" getpairs \
	"$pairs" "$tmp/flux-mirror" "$tmp/helpers/docker-credential-flux-mirror" "$tmp/get-provider" \
	"$tmp/helpers/docker-credential-ecr-login" "$tmp/get-ecr" "$tmp/baseline-bin" \
	"$tmp/small/docker-credential-flux-mirror" >"$tmp/out/getpairs.us" ||
	die "the paired helper runs failed"
# getpaired COL1 COL2: as paired, over the helper rounds.
getpaired() {
	awk -v x="$1" -v y="$2" '{ print $x - $y }' "$tmp/out/getpairs.us" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)] / 1000, v[int((NR + 3) / 4)] / 1000, v[int((3 * NR + 3) / 4)] / 1000 }'
}
read -r fc fc_q1 fc_q3 <<<"$(getpaired 2 1)"
read -r sd sd_q1 sd_q3 <<<"$(getpaired 5 4)"
read -r fs fs_q1 fs_q3 <<<"$(getpaired 2 5)"
# The paired medians and quartiles of each column, in ms.
colmedian() {
	awk -v x="$1" '{ print $x }' "$tmp/out/getpairs.us" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.2f\n", v[int((NR + 1) / 2)] / 1000 }'
}
colquartiles() {
	awk -v x="$1" '{ print $x }' "$tmp/out/getpairs.us" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.2f-%.2f\n", v[int((NR + 3) / 4)] / 1000, v[int((3 * NR + 3) / 4)] / 1000 }'
}
# The ratio (s)/(g) of each round, its median and quartiles.
read -r sg sg_q1 sg_q3 <<<"$(awk '{ print $5 / $3 }' "$tmp/out/getpairs.us" | sort -g |
	awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)], v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)] }')"
f_paired=$(colmedian 2)
g_paired=$(colmedian 3)
d_paired=$(colmedian 4)
s_paired=$(colmedian 5)
f_q=$(colquartiles 2) g_q=$(colquartiles 3) d_q=$(colquartiles 4) s_q=$(colquartiles 5)

# A miss: the fake Actions endpoint back up, FLUX_MIRROR_NO_CACHE=1 so that
# every get mints. (m) is the small helper, which hands the get to
# flux-mirror; (n) is flux-mirror's own helper mode minting directly.
"$tmp/fake-oidc-bin" >"$tmp/fake-oidc2.url" &
fake_pid=$!
for _ in {1..50}; do [[ -s $tmp/fake-oidc2.url ]] && break; sleep 0.1; done
[[ -s $tmp/fake-oidc2.url ]] || die "the fake Actions endpoint did not start again"
missenv=("${helperenv[@]}" ACTIONS_ID_TOKEN_REQUEST_URL="$(<"$tmp/fake-oidc2.url")" FLUX_MIRROR_NO_CACHE=1)
# misspairs ROUNDS SMALL FULL INPUT: (m) and (n) in turn, as getpairs.
misspairs() {
	local rounds=$1 small=$2 full=$3 input=$4 i t0 t1 t2
	for ((i = -2; i < rounds; i++)); do
		t0=$EPOCHREALTIME
		"$small" get <"$input" >/dev/null 2>&1 || return 1
		t1=$EPOCHREALTIME
		"$full" get <"$input" >/dev/null 2>&1 || return 1
		t2=$EPOCHREALTIME
		((i < 0)) || echo $((${t1/./} - ${t0/./})) $((${t2/./} - ${t1/./}))
	done
}
echo "bench: timing $pairs interleaved rounds of (m) and (n)" >&2
env -i "${missenv[@]}" /bin/bash -c "$(declare -f misspairs); misspairs \"\$@\"" misspairs \
	"$pairs" "$tmp/small/docker-credential-flux-mirror" "$tmp/helpers/docker-credential-flux-mirror" \
	"$tmp/get-provider" >"$tmp/out/misspairs.us" || die "the paired miss runs failed"
kill "$fake_pid"
wait "$fake_pid" 2>/dev/null || true
missstat() { # COLUMN-EXPRESSION: median and quartiles over the miss rounds, in ms
	awk "{ print $1 }" "$tmp/out/misspairs.us" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)] / 1000, v[int((NR + 3) / 4)] / 1000, v[int((3 * NR + 3) / 4)] / 1000 }'
}
read -r m_med m_q1 m_q3 <<<"$(missstat '$1')"
read -r n_med n_q1 n_q3 <<<"$(missstat '$2')"
read -r mn mn_q1 mn_q3 <<<"$(missstat '$1 - $2')"

# peakrss ENV-ARRAY INPUT CMD...: the largest maximum resident set size of
# five runs (GNU time's %M), in MB.
peakrss() {
	local envname=$1[@] input=$2 i
	shift 2
	for i in 1 2 3 4 5; do
		env -i "${!envname}" /usr/bin/time -f %M -o "$tmp/out/rss" "$@" <"$input" >/dev/null 2>&1 || return 1
		cat "$tmp/out/rss"
	done | sort -n | awk 'END { printf "%.1f MB", $1 / 1024 }'
}
rss_s=$(peakrss helperenv "$tmp/get-provider" "$tmp/small/docker-credential-flux-mirror" get)
rss_f=$(peakrss helperenv "$tmp/get-provider" "$tmp/helpers/docker-credential-flux-mirror" get)
rss_g=$(peakrss ecrenv "$tmp/get-ecr" "$tmp/helpers/docker-credential-ecr-login" get)
rss_d=$(peakrss runenv /dev/null "$tmp/baseline-bin")

# The last runs of (a) and (b) left their config.json behind: both tools
# must have stored the same 200 credentials, or the comparison is void.
for f in "$tmp/docker-a/config.json" "$tmp/docker-b/config.json"; do
	[[ -s $f ]] || die "$f was not written"
done
if cmp -s "$tmp/docker-a/config.json" "$tmp/docker-b/config.json"; then
	same="byte-identical"
elif command -v jq >/dev/null; then
	[[ $(jq -S . "$tmp/docker-a/config.json") == "$(jq -S . "$tmp/docker-b/config.json")" ]] ||
		die "flux-mirror and crane stored different config.json content"
	same="the same JSON (bytes differ)"
else
	die "flux-mirror and crane wrote different bytes and jq is not installed to compare the JSON"
fi

# inittrace NAME CMD...: runs CMD $runs times with GODEBUG=inittrace=1,
# keeping every run's trace in $tmp/out/inittrace-NAME.txt, and prints the
# median over the runs of the summed package init clock times, all and
# outside the standard library (whose first path element has a dot), in ms.
inittrace() {
	local name=$1 i
	shift
	for ((i = 0; i < runs; i++)); do
		echo "run $i"
		env -i "${runenv[@]}" GODEBUG=inittrace=1 "$@" 2>&1 >/dev/null
	done >"$tmp/out/inittrace-$name.txt"
	# Lines read: init <pkg> @<t> ms, <clock> ms clock, <n> bytes, <n> allocs
	awk '$1 == "run" { r = $2 } $1 == "init" { s[r] += $5; if ($2 ~ /^[^\/]*\./) ext[r] += $5 }
		END { for (r in s) printf "%.3f %.3f\n", s[r], ext[r] }' "$tmp/out/inittrace-$name.txt" |
		sort -n | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }'
}
init=$(inittrace c "$tmp/flux-mirror" version)
read -r init_c init_c_ext <<<"$init"
init=$(inittrace d "$tmp/baseline-bin")
read -r init_d _ <<<"$init"
# The mean init time per run of each import path prefix (three elements:
# roughly a module), to show which dependencies the start-up pays for.
top_inits=$(awk -v runs="$runs" '$1 == "init" {
		n = split($2, p, "/"); k = p[1]; for (i = 2; i <= 3 && i <= n; i++) k = k "/" p[i]
		t[k] += $5
	} END { for (k in t) printf "%8.3f ms  %s\n", t[k] / runs, k }' "$tmp/out/inittrace-c.txt" | sort -rn | awk "NR <= 8")

# The Go benchmarks run in the caller's environment, for its Go caches;
# they set HOME, DOCKER_CONFIG and PATH themselves.
echo "bench: running the Go benchmarks" >&2
gobench=$(cd "$repo" && go test -run '^$' -bench 'Login200Hosts|LoadConfig200Hosts' \
	-benchtime 20x -count 5 -benchmem .)
echo "$gobench" >"$tmp/out/gobench.txt"
# gobench_median NAME: median ns/op of the benchmark's -count lines, in ms.
gobench_median() {
	echo "$gobench" | awk -v n="$1" '$1 ~ "^" n "(-[0-9]+)?$" { print $3 }' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.3f\n", v[int((NR + 1) / 2)] / 1e6; else print "n/a" }'
}

read -r a a_min a_cpu <"$tmp/out/a.ms"
read -r b b_min b_cpu <"$tmp/out/b.ms"
read -r c c_min c_cpu <"$tmp/out/c.ms"
read -r d d_min d_cpu <"$tmp/out/d.ms"
read -r e e_min e_cpu <"$tmp/out/e.ms"
read -r f f_min f_cpu <"$tmp/out/f.ms"
read -r g g_min g_cpu <"$tmp/out/g.ms"
read -r h h_min h_cpu <"$tmp/out/h.ms"
read -r s s_min s_cpu <"$tmp/out/s.ms"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b / a }'; }
minus() { awk -v c="$1" -v d="$2" 'BEGIN { printf "%.2f", c - d }'; }
verdict() { awk -v v="$1" -v op="$2" -v goal="$3" \
	'BEGIN { ok = op == ">=" ? v >= goal : v <= goal; print ok ? "met" : "MISSED" }'; }
row() {
	local cpu=$4
	[[ $cpu == - ]] || cpu=$(printf '%.2f ms' "$cpu")
	printf '  %-46s %10.2f ms %10.2f ms %13s %5d\n' "$1" "$2" "$3" "$cpu" "$5"
}
size() { awk -v s="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MB", s / 1e6 }'; }
timer=${hyperfine:+hyperfine $("$hyperfine" --version | awk '{ print $2 }')}
ratio_med=$(ratio "$a" "$b")
# cpu_diff X Y: ", X-Y ms of CPU" when hyperfine measured CPU time. On a
# busy machine CPU time moves less than wall time.
cpu_diff() { [[ $1 == - ]] || echo ", $(minus "$1" "$2") ms of CPU"; }

cat <<EOF

machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -sm), $(go version | awk '{ print $3 }')
load:    $load (1, 5, 15 min averages when timing began)
timer:   ${timer:-bash loop (EPOCHREALTIME)}, two warm-up runs each

$(printf '  %-46s %13s %13s %13s %5s' what median min 'cpu (mean)' runs)
$(row "(a) flux-mirror login, $hosts hosts, --plaintext" "$a" "$a_min" "$a_cpu" "$runs")
$(row "(b) $hosts x crane auth login (bash loop)" "$b" "$b_min" "$b_cpu" "$crane_runs")
$(row "(c) flux-mirror version" "$c" "$c_min" "$c_cpu" "$runs")
$(row "(d) stdlib baseline (prints a line)" "$d" "$d_min" "$d_cpu" "$runs")
$(row "(e) flux-mirror login, 1 host, --plaintext" "$e" "$e_min" "$e_cpu" "$runs")
$(row "(f) helper get, provider host, warm cache" "$f" "$f_min" "$f_cpu" "$runs")
$(row "(g) docker-credential-ecr-login get, warm cache" "$g" "$g_min" "$g_cpu" "$runs")
$(row "(h) helper get, static host (never cached)" "$h" "$h_min" "$h_cpu" "$runs")
$(row "(s) small helper get, provider host, warm cache" "$s" "$s_min" "$s_cpu" "$runs")

  (b) / (a)   ${ratio_med}x of medians, $(ratio "$a_min" "$b_min")x of minimums   goal >= 40x   $(verdict "$ratio_med" ">=" 40)
  (e) - (c)   ${ec} ms, median of $pairs paired rounds (quartiles ${ec_q1}, ${ec_q3}); $(minus "$e" "$c") ms of medians$(cpu_diff "$e_cpu" "$c_cpu")
              our own per-run work above the start-up   goal <= 5 ms   $(verdict "$ec" "<=" 5)
  (a) - (c)   ${ac} ms, median of $pairs paired rounds (quartiles ${ac_q1}, ${ac_q3}); $(minus "$a" "$c") ms of medians$(cpu_diff "$a_cpu" "$c_cpu")
              the work of $hosts hosts: $(awk -v v="$ac" -v n="$hosts" 'BEGIN { printf "%.0f", v * 1000 / n }') us per host
  (f) - (c)   ${fc} ms, median of $pairs paired rounds (quartiles ${fc_q1}, ${fc_q3}); $(minus "$f" "$c") ms of medians
              a cached helper get above the start-up   goal <= 5 ms   $(verdict "$fc" "<=" 5)
  (g) / (f)   $(awk -v f="$f_paired" -v g="$g_paired" 'BEGIN { printf "%.2f", g / f }')x of paired medians (${g_paired} / ${f_paired} ms), $(awk -v f="$f" -v g="$g" 'BEGIN { printf "%.2f", g / f }')x of loop medians
              docker-credential-ecr-login's cached get over ours
  small helper, $pairs paired rounds of (c) (f) (g) (d) (s) and of (m) (n); medians (quartiles), ms:
      (s) small cached get       ${s_paired} (${s_q})   peak RSS ${rss_s}
      (f) full cached get        ${f_paired} (${f_q})   peak RSS ${rss_f}
      (g) ECR helper warm get    ${g_paired} (${g_q})   peak RSS ${rss_g}
      (d) hello-world floor      ${d_paired} (${d_q})   peak RSS ${rss_d}
      (m) miss via hand-off      ${m_med} (${m_q1}-${m_q3})
      (n) miss, full directly    ${n_med} (${n_q1}-${n_q3})
  (s) / (g)   ${sg}x, median of per-round ratios (quartiles ${sg_q1}, ${sg_q3})   goal <= 0.8   $(verdict "$sg" "<=" 0.8)
  (s) - (d)   ${sd} ms, paired (quartiles ${sd_q1}, ${sd_q3})   goal <= 3 ms   $(verdict "$sd" "<=" 3)
  (f) - (s)   ${fs} ms, paired (quartiles ${fs_q1}, ${fs_q3}): what the small helper saves a cached get
  (m) - (n)   ${mn} ms, paired (quartiles ${mn_q1}, ${mn_q3}): the hand-off added to a miss   goal <= 5 ms   $(verdict "$mn" "<=" 5)
  sizes: small helper $(size "$tmp/small/docker-credential-flux-mirror"), flux-mirror $(size "$tmp/flux-mirror"), ECR helper $(size "$(readlink -f "$tools/docker-credential-ecr-login")"), floor $(size "$tmp/baseline-bin")
  (c) - (d)   $(minus "$c" "$d") ms of medians, $(minus "$c_min" "$d_min") ms of minimums$(cpu_diff "$c_cpu" "$d_cpu")
              start-up above a bare Go process: the dependencies' package init

  stored config.json of (a) and (b): $same
  package init, summed (inittrace, median of $runs):
      flux-mirror ${init_c} ms (${init_c_ext} ms outside the standard library), baseline ${init_d} ms
  slowest inits of flux-mirror by import path prefix (mean of $runs runs):
$(sed 's/^/    /' <<<"$top_inits")
  binaries: flux-mirror $(size "$tmp/flux-mirror"), baseline $(size "$tmp/baseline-bin")
  Go benchmark, in process (median ms/op of -count 5 x 20):
      BenchmarkLogin200Hosts       $(gobench_median BenchmarkLogin200Hosts)
      BenchmarkLoadConfig200Hosts  $(gobench_median BenchmarkLoadConfig200Hosts)
EOF

if [[ -n $keep ]]; then
	mkdir -p "$keep"
	cp "$tmp"/out/* "$cfg" "$cfg1" "$keep"/
fi

# ---------------------------------------------------------------------------
# The kubelet credential provider (issue 19), beside the helper's get. The
# kubelet runs `flux-mirror kubelet-credential-provider` at each pull that
# misses its cache, with one CredentialProviderRequest on stdin:
#   (k) the plugin for a static host (the host of (h))
#   (l) the plugin for a jwkPath host (signs an Ed25519 JWT at every run)
# and (c), (h) and (k) interleaved, for the plugin's cost above the
# start-up and above the helper's get of the same host.
kubelet_cfg="$tmp/kubelet.yaml"
env -i "${runenv[@]}" "$tmp/flux-mirror" keygen -o "$tmp/kubelet-keys" >/dev/null ||
	die "keygen for the kubelet provider failed"
cat >"$kubelet_cfg" <<EOF
apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: static.example.com
    username: u
    credential:
      value: tok-static
  - host: signed.example.com
    username: signer
    credential:
      jwkPath: kubelet-keys/privkey.json
      iss: https://bench.example.com
      sub: bench
EOF
kubelet_request() { # IMAGE
	printf '{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"%s"}\n' "$1"
}
kubelet_request static.example.com/team/app:v1 >"$tmp/kubelet-static.json"
kubelet_request signed.example.com/team/app:v1 >"$tmp/kubelet-signed.json"
kubeletenv=("${runenv[@]}")
# Every run must answer with the credential, not time an error.
env -i "${kubeletenv[@]}" "$tmp/flux-mirror" kubelet-credential-provider -f "$kubelet_cfg" <"$tmp/kubelet-static.json" |
	grep -q '"password":"tok-static"' || die "the kubelet provider did not answer for the static host"
env -i "${kubeletenv[@]}" "$tmp/flux-mirror" kubelet-credential-provider -f "$kubelet_cfg" <"$tmp/kubelet-signed.json" |
	grep -q '"username":"signer","password":"ey' || die "the kubelet provider did not answer for the jwkPath host"
measure_get k kubeletenv "$tmp/kubelet-static.json" "$tmp/flux-mirror" kubelet-credential-provider -f "$kubelet_cfg"
measure_get l kubeletenv "$tmp/kubelet-signed.json" "$tmp/flux-mirror" kubelet-credential-provider -f "$kubelet_cfg"

# kubeletpairs ROUNDS FM HELPER GETINPUT CFG REQUEST: (c), (h) and (k) in
# turn, ROUNDS times after two warm-up rounds, in microseconds.
kubeletpairs() {
	local rounds=$1 fm=$2 helper=$3 getinput=$4 cfg=$5 request=$6 i t0 t1 t2 t3
	for ((i = -2; i < rounds; i++)); do
		t0=$EPOCHREALTIME
		"$fm" version >/dev/null 2>&1 || return 1
		t1=$EPOCHREALTIME
		"$helper" get <"$getinput" >/dev/null 2>&1 || return 1
		t2=$EPOCHREALTIME
		"$fm" kubelet-credential-provider -f "$cfg" <"$request" >/dev/null 2>&1 || return 1
		t3=$EPOCHREALTIME
		((i < 0)) || echo $((${t1/./} - ${t0/./})) $((${t2/./} - ${t1/./})) $((${t3/./} - ${t2/./}))
	done
}
echo "bench: timing $pairs interleaved rounds of (c), (h) and (k)" >&2
env -i "${helperenv[@]}" /bin/bash -c "$(declare -f kubeletpairs); kubeletpairs \"\$@\"" kubeletpairs \
	"$pairs" "$tmp/flux-mirror" "$tmp/helpers/docker-credential-flux-mirror" "$tmp/get-static" \
	"$kubelet_cfg" "$tmp/kubelet-static.json" >"$tmp/out/kubeletpairs.us" ||
	die "the paired kubelet provider runs failed"
kubeletpaired() { # COL1 COL2: as paired, over these rounds
	awk -v x="$1" -v y="$2" '{ print $x - $y }' "$tmp/out/kubeletpairs.us" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)] / 1000, v[int((NR + 3) / 4)] / 1000, v[int((3 * NR + 3) / 4)] / 1000 }'
}
read -r kc kc_q1 kc_q3 <<<"$(kubeletpaired 3 1)"
read -r kh kh_q1 kh_q3 <<<"$(kubeletpaired 3 2)"
read -r k k_min _ <"$tmp/out/k.ms"
read -r l l_min _ <"$tmp/out/l.ms"
cat <<EOF

kubelet credential provider (issue 19), bash loop, $runs runs after two warm-up runs
$(printf '  %-46s %13s %13s %13s %5s' what median min 'cpu (mean)' runs)
$(row "(h) helper get, static host (never cached)" "$h" "$h_min" - "$runs")
$(row "(k) kubelet plugin, static host" "$k" "$k_min" - "$runs")
$(row "(l) kubelet plugin, jwkPath host (signs)" "$l" "$l_min" - "$runs")

  (k) - (c)   ${kc} ms, median of $pairs paired rounds (quartiles ${kc_q1}, ${kc_q3})
              the plugin's round trip above the start-up
  (k) - (h)   ${kh} ms, median of $pairs paired rounds (quartiles ${kh_q1}, ${kh_q3})
              the plugin above the helper's get of the same host
EOF
if [[ -n $keep ]]; then
	cp "$tmp"/out/k.* "$tmp"/out/l.* "$tmp/out/kubeletpairs.us" "$kubelet_cfg" "$keep"/
fi
