#!/usr/bin/env bash
# make bench-npm: bare npm against phylum-box npm on a committed real-world project
# (integration/testdata/bench-npm, ~300 packages, esbuild's install script among
# them), runs alternated, the median of each and the ratio of the medians, for the
# commands a developer runs every day:
#
#   ci     `npm ci` from an empty node_modules, warm npm cache
#   cold   `npm ci` from an empty node_modules, a fresh npm cache each run (COLD_RUNS
#          runs, alternated; the network's time included, so more variable)
#   noop   `npm install` in the installed, up-to-date project (nothing to do)
#   add    `npm install is-odd@3.0.1` (add one small package) in the installed
#          project, which is put back before each run
#
#   RUNS=7 COLD_RUNS=3 hack/bench-npm.sh
#   CASES="noop add" hack/bench-npm.sh                   (some of ci, cold, noop, add)
#   BOX_CACHE=cold hack/bench-npm.sh                     (the cold case with phylum-box's
#        own caches cold too — its analysis results and registry metadata, emptied
#        before each wrapped cold run, as on a fresh machine or CI runner; the default,
#        warm, keeps them from the warm-up: the npm cache alone is cold)
#   PHYLUM_BOX=/path/to/phylum-box hack/bench-npm.sh     (skip the build)
#   BENCH_OWNER=uid:gid hack/bench-npm.sh                (as root: chown the project,
#        so it is not root-owned and phylum-box uses the overlay, not a staging copy)
#   MEASURE=cpu hack/bench-npm.sh                        (CPU seconds of the whole process
#        tree, the containers' processes included — perf stat's task-clock — instead of wall
#        seconds: on a machine others load, wall time measures the scheduler more than the
#        command, and a sandboxed run, with more processes, waits longer for its turns)
#   PROFILE=DIR hack/bench-npm.sh                        (after each case one more, untimed
#        `phylum-box -v CMD`, its output kept in DIR/npm-CASE.log: where the time goes, and
#        a Go CPU profile of phylum-box's own process in DIR/npm-CASE.pprof, the log's last
#        line its own CPU seconds)
#   MONITOR=off hack/bench-npm.sh                        (phylum-box without the behaviour
#        monitor and the static analysis: `behaviour: {monitor: false}`, `analysis: {block:
#        none}` in a user policy; MONITOR=on, the default, uses the default policy. Both
#        read an XDG_CONFIG_HOME of the bench's own, never your ~/.config/phylum-box)
#
# phylum-box's caches (analysis results per tarball, registry metadata) are the
# bench's own too (XDG_CACHE_HOME in its work dir), filled by the warm-up.
#
# Goals (issue 12): ci <= 1.03x warm, <= 1.10x cold; noop <= 1.0x; add <= 1.3x.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
runs=${RUNS:-7}
cold_runs=${COLD_RUNS:-3}
cases=${CASES:-ci cold noop add}
box_cache=${BOX_CACHE:-warm}
case $box_cache in
warm | cold) ;;
*) echo "bench-npm: BOX_CACHE is warm or cold, not ${box_cache}" >&2; exit 2 ;;
esac

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
export XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache
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
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}' | tee "$work/wall"
}
# run_line NAME I B BW P PW: one run's line, CPU and wall seconds with MEASURE=cpu.
run_line() {
	if [[ $measure == cpu ]]; then
		echo "  $1 run $2: bare ${3}s CPU (${4}s wall), phylum-box ${5}s CPU (${6}s wall)"
	else
		echo "  $1 run $2: bare ${3}s, phylum-box ${5}s"
	fi
}
# row NAME COMMAND GOAL BARE BOX: a line of the closing table.
row() {
	results+=("$(printf '| %-11s | %-34s | %7ss | %7ss | %5sx | <= %sx | %s | %s |' "$1" "$2" "$4" "$5" "$(ratio "$5" "$4")" "$3" "$measure" "$(cut -d' ' -f1 /proc/loadavg)")")
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
		bw=$(cat "$work/wall")
		p=$(timed "$prep" "$bin" "$@")
		pw=$(cat "$work/wall")
		echo "$b" >>"$work/bare"
		echo "$p" >>"$work/box"
		run_line "$name" "$i" "$b" "$bw" "$p" "$pw"
	done
	local mb mp
	mb=$(median <"$work/bare")
	mp=$(median <"$work/box")
	echo "bench-npm: $name: $* — bare ${mb}s, phylum-box ${mp}s, ratio $(ratio "$mp" "$mb")x (goal <= ${goal}x); load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "bench-npm: $name: phylum-box's own timing of its last run: $(grep -E 'done:' "$work/last.log" | tail -1)"
	row "$name" "$*" "$goal" "$mb" "$mp"
	profile "$name" "$prep" "$@"
}
# profile NAME PREP CMD...: with PROFILE=DIR, one `phylum-box -v CMD` after PREP, its
# output in DIR/npm-NAME.log.
profile() {
	[[ -n ${PROFILE:-} ]] || return 0
	local log
	log=$PROFILE/npm-$(echo "$1" | tr -c 'a-zA-Z0-9\n' -).log
	mkdir -p "$PROFILE"
	"$2"
	shift 2
	rm -f "${log%.log}.pprof"
	PHYLUM_BOX_CPUPROFILE=${log%.log}.pprof "$bin" -v "$@" >"$log" 2>&1 || echo "bench-npm: the -v run failed, see $log" >&2
	echo "bench-npm: phylum-box -v $* in $log"
}
# trash PATH...: what a run left is moved out of the way (a rename into $work/trash),
# not deleted, until the bench ends. Both sides start every run from the same state (no
# node_modules; npm ci would delete one, untimed here for both), but a deletion between
# runs is not neutral: ext4 without a journal (the file system these figures were taken
# on) will not reuse an inode freed in the last minute (six while its inode table block
# is dirty), and checks every free inode of a block group for that on each file it
# creates, so deleting one side's 5,800-file node_modules right before the other side's
# run made that run pay for it, up to a fifth of its CPU, by where the trees happened to
# lie. (PROFILE's and the cold case's npm caches go the same way.)
trash() {
	local p t
	for p in "$@"; do
		[[ -e $p ]] || continue
		t=$(mktemp -d "$work/trash/XXXXXX")
		mv "$p" "$t/"
	done
}
mkdir -p "$work/trash"
no_cache() { trash node_modules "$npm_config_cache"; }
results=()

no_modules() { trash node_modules; }
nothing() { :; }
# The installed project, kept once and put back (times included: npm trusts its
# hidden lockfile only while nothing in node_modules is newer).
snapshot() {
	rm -rf "$work/installed" && mkdir "$work/installed"
	cp -a package.json package-lock.json node_modules "$work/installed/"
}
installed() {
	trash node_modules
	cp -a "$work/installed/package.json" "$work/installed/package-lock.json" "$work/installed/node_modules" .
}

pkgs=$(node -e 'const l=require("./package-lock.json");console.log(Object.keys(l.packages).length-1)')
echo "bench-npm: $pkgs packages, $runs runs each (alternated), cases: $cases; npm $(npm --version), node $(node --version)"
echo "bench-npm: monitor ${MONITOR:-on}; phylum-box caches (analysis, registry metadata) ${box_cache} in the cold case, warm elsewhere; phylum-box $bin (tree at $tree) as uid $(id -u), project owned by $(stat -c %u:%g "$proj"); measuring $measure seconds; load $(cut -d' ' -f1-3 /proc/loadavg)"

# Warm-up: fill the npm cache (and phylum-box's own caches) once.
timed no_modules npm ci "${npm_flags[@]}" >/dev/null
timed no_modules "$bin" npm ci "${npm_flags[@]}" >/dev/null

for c in $cases; do
	case $c in
	ci)
		bench "ci (warm)" 1.03 no_modules npm ci "${npm_flags[@]}"
		;;
	cold)
		# A fresh npm cache for each run, bare and wrapped; phylum-box's caches as
		# BOX_CACHE says.
		: >"$work/cbare" && : >"$work/cbox"
		for ((i = 1; i <= cold_runs; i++)); do
			c1=$work/cache-bare-$i c2=$work/cache-box-$i
			b=$(npm_config_cache=$c1 timed no_modules npm ci "${npm_flags[@]}")
			bw=$(cat "$work/wall")
			[[ $box_cache == cold ]] && trash "$XDG_CACHE_HOME/phylum-box/analysis" "$XDG_CACHE_HOME/phylum-box/npm-metadata"
			p=$(npm_config_cache=$c2 timed no_modules "$bin" npm ci "${npm_flags[@]}")
			pw=$(cat "$work/wall")
			trash "$c1" "$c2"
			echo "$b" >>"$work/cbare"
			echo "$p" >>"$work/cbox"
			run_line "ci (cold)" "$i" "$b" "$bw" "$p" "$pw"
		done
		cb=$(median <"$work/cbare")
		cp_=$(median <"$work/cbox")
		echo "bench-npm: ci (cold npm cache, phylum-box caches $box_cache): bare ${cb}s, phylum-box ${cp_}s, ratio $(ratio "$cp_" "$cb")x (goal <= 1.10x); load $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "bench-npm: ci (cold): phylum-box's own timing of its last run: $(grep -E 'done:' "$work/last.log" | tail -1)"
		row "ci (cold)" "npm ci (cold npm cache, box $box_cache)" 1.10 "$cb" "$cp_"
		[[ $box_cache == cold ]] && trash "$XDG_CACHE_HOME/phylum-box/analysis" "$XDG_CACHE_HOME/phylum-box/npm-metadata"
		npm_config_cache=$work/cache-profile profile "ci cold" no_cache npm ci "${npm_flags[@]}"
		trash "$work/cache-profile"
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
		echo "bench-npm: unknown case $c (ci, cold, noop, add)" >&2
		exit 2
		;;
	esac
done

echo
echo "| case | command | bare npm | phylum-box | ratio | goal | seconds | load |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
