#!/usr/bin/env bash
# make bench-npm: bare `npm ci` against `phylum-box npm ci` on a committed
# real-world project (integration/testdata/bench-npm, ~280 packages), runs
# alternated, median of each and the median ratio. Warm: the npm cache is filled
# first and shared by both. Cold: a fresh npm cache per run.
#
#   RUNS=7 COLD_RUNS=2 hack/bench-npm.sh
#   PHYLUM_BOX=/path/to/phylum-box hack/bench-npm.sh   (skip the build)
#   BENCH_OWNER=uid:gid hack/bench-npm.sh               (as root: chown the project,
#        so it is not root-owned and phylum-box uses the overlay, not a staging copy)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${RUNS:-7}
cold_runs=${COLD_RUNS:-2}

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
"$bin" db import ../shared/corpus/osv >/dev/null 2>&1 || "$bin" db update >/dev/null

proj=$work/proj
mkdir -p "$proj"
cp integration/testdata/bench-npm/package.json integration/testdata/bench-npm/package-lock.json "$proj/"
if [[ -n ${BENCH_OWNER:-} ]]; then
	chown -R "$BENCH_OWNER" "$proj"
fi
cd "$proj"
npm_flags=(--no-audit --no-fund --loglevel=error)

now() { date +%s.%N; }
# run LABEL CMD...: one timed run from an empty node_modules; prints seconds.
timed() {
	rm -rf node_modules
	local t0 t1
	t0=$(now)
	"$@" >"$work/last.log" 2>&1 || { echo "bench-npm: $* failed:" >&2; tail -20 "$work/last.log" >&2; exit 1; }
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}'
}
median() { sort -n | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }

pkgs=$(node -e 'const l=require("./package-lock.json");console.log(Object.keys(l.packages).length-1)')
echo "bench-npm: $pkgs packages, $runs warm runs each (alternated), $cold_runs cold; $(npm --version) npm, $(node --version)"
echo "bench-npm: phylum-box as uid $(id -u), project owned by $(stat -c %u:%g "$proj")"

# Warm-up: fill the npm cache (and phylum-box's own caches) once.
timed npm ci "${npm_flags[@]}" >/dev/null
timed "$bin" npm ci "${npm_flags[@]}" >/dev/null

: >"$work/bare" && : >"$work/box"
for ((i = 1; i <= runs; i++)); do
	b=$(timed npm ci "${npm_flags[@]}")
	p=$(timed "$bin" npm ci "${npm_flags[@]}")
	echo "$b" >>"$work/bare"
	echo "$p" >>"$work/box"
	echo "  warm run $i: npm ci ${b}s, phylum-box npm ci ${p}s"
done
mb=$(median <"$work/bare")
mp=$(median <"$work/box")
echo "bench-npm: warm median: npm ci ${mb}s, phylum-box npm ci ${mp}s, ratio $(awk -v a="$mp" -v b="$mb" 'BEGIN{printf "%.2f", a/b}')x (goal <= 1.10x)"
echo "bench-npm: phylum-box's own timing of the last run: $(grep -E 'done:' "$work/last.log" | tail -1)"

if ((cold_runs > 0)); then
	: >"$work/cbare" && : >"$work/cbox"
	for ((i = 1; i <= cold_runs; i++)); do
		c1=$work/cache-bare-$i c2=$work/cache-box-$i
		b=$(npm_config_cache=$c1 timed npm ci "${npm_flags[@]}")
		p=$(npm_config_cache=$c2 timed "$bin" npm ci "${npm_flags[@]}")
		rm -rf "$c1" "$c2"
		echo "$b" >>"$work/cbare"
		echo "$p" >>"$work/cbox"
		echo "  cold run $i: npm ci ${b}s, phylum-box npm ci ${p}s"
	done
	cb=$(median <"$work/cbare")
	cp_=$(median <"$work/cbox")
	echo "bench-npm: cold median: npm ci ${cb}s, phylum-box npm ci ${cp_}s, ratio $(awk -v a="$cp_" -v b="$cb" 'BEGIN{printf "%.2f", a/b}')x"
fi
