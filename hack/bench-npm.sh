#!/usr/bin/env bash
# make bench-npm: bare npm against phylum-box npm on a committed real-world project
# (integration/testdata/bench-npm, ~300 packages, esbuild's install script among
# them), runs alternated, the median of each and the ratio of the medians, for the
# commands a developer runs every day:
#
#   ci     `npm ci` from an empty node_modules, warm npm cache (and COLD_RUNS with
#          a fresh cache each)
#   noop   `npm install` in the installed, up-to-date project (nothing to do)
#   add    `npm install is-odd@3.0.1` (add one small package) in the installed
#          project, which is put back before each run
#
#   RUNS=7 COLD_RUNS=2 hack/bench-npm.sh
#   CASES="noop add" hack/bench-npm.sh                   (some of ci, noop, add)
#   PHYLUM_BOX=/path/to/phylum-box hack/bench-npm.sh     (skip the build)
#   BENCH_OWNER=uid:gid hack/bench-npm.sh                (as root: chown the project,
#        so it is not root-owned and phylum-box uses the overlay, not a staging copy)
#   MEASURE=cpu hack/bench-npm.sh                        (CPU seconds of the whole process
#        tree, the containers' processes included — perf stat's task-clock — instead of wall
#        seconds: on a machine others load, wall time measures the scheduler more than the
#        command, and a sandboxed run, with more processes, waits longer for its turns)
#   MONITOR=off hack/bench-npm.sh                        (phylum-box without the behaviour
#        monitor and the static analysis: `behaviour: {monitor: false}`, `analysis: {block:
#        none}` in a user policy; MONITOR=on, the default, uses the default policy. Both
#        read an XDG_CONFIG_HOME of the bench's own, never your ~/.config/phylum-box)
#
# Goals (issue 12): ci <= 1.03x warm, <= 1.10x cold; noop <= 1.0x; add <= 1.3x.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
cold_runs=${COLD_RUNS:-2}
cases=${CASES:-ci noop add}

command -v npm >/dev/null || { echo "bench-npm: npm is not installed (hack/install-deps.d/node.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/pbox-bench-npm.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

bin=${PHYLUM_BOX:-}
if [[ -z $bin ]]; then
	bin=$work/phylum-box
	go build -tags seccomp -o "$bin" ./cmd/phylum-box
fi
export PHYLUM_BOX_DB=$work/osv.db
export XDG_CONFIG_HOME=$work/config
# A cache of the bench's own, filled by the warm-up below (NPM_CACHE=DIR to use
# another): another user's or tool's files in ~/.npm do not break the runs.
export npm_config_cache=${NPM_CACHE:-$work/npm-cache}
mkdir -p "$XDG_CONFIG_HOME/phylum-box"
case ${MONITOR:-on} in
on) ;;
off) printf 'behaviour: {monitor: false}\nanalysis: {block: none}\n' >"$XDG_CONFIG_HOME/phylum-box/policy.yaml" ;;
*) echo "bench-npm: MONITOR is on or off, not ${MONITOR}" >&2; exit 2 ;;
esac
"$bin" db import ../shared/corpus/osv >/dev/null 2>&1 || "$bin" db update >/dev/null

proj=$work/proj
mkdir -p "$proj"
cp integration/testdata/bench-npm/package.json integration/testdata/bench-npm/package-lock.json "$proj/"
own() { if [[ -n ${BENCH_OWNER:-} ]]; then chown -R "$BENCH_OWNER" "$@"; fi; }
own "$proj"
cd "$proj"
npm_flags=(--no-audit --no-fund --loglevel=error)

now() { date +%s.%N; }
measure=${MEASURE:-wall}
case $measure in
wall) ;;
cpu) command -v perf >/dev/null || { echo "bench-npm: MEASURE=cpu needs perf (linux-perf)" >&2; exit 1; } ;;
*) echo "bench-npm: MEASURE is wall or cpu, not ${measure}" >&2; exit 2 ;;
esac
# timed PREP CMD...: runs the shell function PREP untimed, then CMD timed; prints
# seconds (wall, or with MEASURE=cpu the CPU time of CMD and all it started).
timed() {
	local prep=$1 t0 t1
	shift
	"$prep"
	if [[ $measure == cpu ]]; then
		t0=$(now)
		perf stat -x, -e task-clock -o "$work/cpu" "$@" >"$work/last.log" 2>&1 || { echo "bench-npm: $* failed:" >&2; tail -20 "$work/last.log" >&2; exit 1; }
		t1=$(now)
		# The wall seconds beside the CPU seconds (run lines show both): CPU close
		# to bare but wall not is time spent waiting — for the CPU (a cgroup's
		# weight), the disk or the network.
		awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}' >"$work/wall"
		awk -F, '/task-clock/{printf "%.3f\n", $1/1000}' "$work/cpu"
		return
	fi
	t0=$(now)
	"$@" >"$work/last.log" 2>&1 || { echo "bench-npm: $* failed:" >&2; tail -20 "$work/last.log" >&2; exit 1; }
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}'
}
median() { sort -n | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

# bench NAME GOAL PREP CMD...: RUNS runs of `CMD` and of `phylum-box CMD`, alternated.
bench() {
	local name=$1 goal=$2 prep=$3 b p
	shift 3
	: >"$work/bare" && : >"$work/box"
	for ((i = 1; i <= runs; i++)); do
		b=$(timed "$prep" "$@")
		bw=$(cat "$work/wall" 2>/dev/null || true)
		p=$(timed "$prep" "$bin" "$@")
		pw=$(cat "$work/wall" 2>/dev/null || true)
		echo "$b" >>"$work/bare"
		echo "$p" >>"$work/box"
		if [[ $measure == cpu ]]; then
			echo "  $name run $i: bare ${b}s CPU (${bw}s wall), phylum-box ${p}s CPU (${pw}s wall)"
		else
			echo "  $name run $i: bare ${b}s, phylum-box ${p}s"
		fi
	done
	local mb mp
	mb=$(median <"$work/bare")
	mp=$(median <"$work/box")
	echo "bench-npm: $name: $* — bare ${mb}s, phylum-box ${mp}s, ratio $(ratio "$mp" "$mb")x (goal <= ${goal}x)"
	echo "bench-npm: $name: phylum-box's own timing of its last run: $(grep -E 'done:' "$work/last.log" | tail -1)"
	results+=("$(printf '| %-34s | %7ss | %7ss | %5sx | <= %sx |' "$*" "$mb" "$mp" "$(ratio "$mp" "$mb")" "$goal")")
}
results=()

no_modules() { rm -rf node_modules; }
nothing() { :; }
# The installed project, kept once and put back (times included: npm trusts its
# hidden lockfile only while nothing in node_modules is newer).
snapshot() {
	rm -rf "$work/installed" && mkdir "$work/installed"
	cp -a package.json package-lock.json node_modules "$work/installed/"
}
installed() {
	rm -rf node_modules
	cp -a "$work/installed/package.json" "$work/installed/package-lock.json" "$work/installed/node_modules" .
}

pkgs=$(node -e 'const l=require("./package-lock.json");console.log(Object.keys(l.packages).length-1)')
echo "bench-npm: $pkgs packages, $runs runs each (alternated), cases: $cases; npm $(npm --version), node $(node --version)"
echo "bench-npm: monitor ${MONITOR:-on}; phylum-box as uid $(id -u), project owned by $(stat -c %u:%g "$proj"); measuring $measure seconds; load $(cut -d' ' -f1-3 /proc/loadavg)"

# Warm-up: fill the npm cache (and phylum-box's own caches) once.
timed no_modules npm ci "${npm_flags[@]}" >/dev/null
timed no_modules "$bin" npm ci "${npm_flags[@]}" >/dev/null

for c in $cases; do
	case $c in
	ci)
		bench "ci (warm)" 1.03 no_modules npm ci "${npm_flags[@]}"
		if ((cold_runs > 0)); then
			: >"$work/cbare" && : >"$work/cbox"
			for ((i = 1; i <= cold_runs; i++)); do
				c1=$work/cache-bare-$i c2=$work/cache-box-$i
				b=$(npm_config_cache=$c1 timed no_modules npm ci "${npm_flags[@]}")
				p=$(npm_config_cache=$c2 timed no_modules "$bin" npm ci "${npm_flags[@]}")
				rm -rf "$c1" "$c2"
				echo "$b" >>"$work/cbare"
				echo "$p" >>"$work/cbox"
				echo "  ci (cold) run $i: bare ${b}s, phylum-box ${p}s"
			done
			cb=$(median <"$work/cbare")
			cp_=$(median <"$work/cbox")
			echo "bench-npm: ci (cold): bare ${cb}s, phylum-box ${cp_}s, ratio $(ratio "$cp_" "$cb")x (goal <= 1.10x)"
			results+=("$(printf '| %-34s | %7ss | %7ss | %5sx | <= %sx |' "npm ci (cold cache)" "$cb" "$cp_" "$(ratio "$cp_" "$cb")" 1.10)")
		fi
		;;
	noop)
		# Installed by phylum-box, as a wrapped user's project is.
		timed no_modules "$bin" npm ci "${npm_flags[@]}" >/dev/null
		own "$proj"
		bench "noop" 1.0 nothing npm install "${npm_flags[@]}"
		;;
	add)
		timed no_modules "$bin" npm ci "${npm_flags[@]}" >/dev/null
		own "$proj"
		snapshot
		bench "add" 1.3 installed npm install "${npm_flags[@]}" is-odd@3.0.1
		installed
		;;
	*)
		echo "bench-npm: unknown case $c (ci, noop, add)" >&2
		exit 2
		;;
	esac
done

echo
echo "| command | bare npm | phylum-box | ratio | goal |"
echo "|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
