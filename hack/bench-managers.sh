#!/usr/bin/env bash
# make bench-managers: the other package managers' everyday commands (issue 12),
# bare against phylum-box, runs alternated, the median of each and the ratio of
# the medians — the same measure as hack/bench-npm.sh:
#
#   pnpm         `pnpm install` in a project phylum-box installed (integration/testdata/
#                bench-npm's package.json, ~300 packages, resolved by pnpm; esbuild
#                allowed to build, pnpm.onlyBuiltDependencies, as a pnpm 10 project has it)
#   pnpm-add     `pnpm add is-odd@3.0.1` (add one small package) in that installed
#                project, which is put back before each run
#   pnpm-frozen  `pnpm install --frozen-lockfile` from an empty node_modules, warm store
#   yarn         `yarn install` (classic) in the same kind of project, nothing to do
#   yarn-add     `yarn add is-odd@3.0.1` (classic) in the installed project, put back
#                before each run
#   yarn-frozen  `yarn install --frozen-lockfile` (classic) from an empty node_modules,
#                warm yarn cache
#   berry        yarn berry's `yarn install` with nothing to do, in the same project
#                committed the berry way (.yarn/releases + yarnPath, packageManager;
#                PHYLUM_BOX_YARN_BERRY names the trusted release), once with
#                nodeLinker: node-modules and once with the default pnp
#                (BERRY_LINKERS="node-modules pnp" to choose); yarn 4's default
#                enableScripts: false (no build), BERRY_SCRIPTS=1 for enableScripts:
#                true (esbuild's build, and no nothing-to-do check)
#   pip          `pip install -r requirements.txt` in a venv that already satisfies
#                every pinned requirement (wheels served by a local index on 127.0.0.1)
#   poetry       `poetry install` with nothing to change (the same local index; the
#                project itself installed too)
#   cargo        `cargo build` with nothing changed in a `cargo new` crate (no registry
#                here: no dependency); phylum-box runs the build step alone, offline,
#                on the committed lockfile (no resolve, no fetch), in its container
#
# bundle is not measured here: it needs a gem server. BenchmarkOthers in
# integration/bench_others_test.go measures pip, poetry, bundle and cargo against
# the integration tests' local registries, nothing to do and add one / from the
# lockfile, root and rootless (CPU seconds the same way: perf task-clock):
#   PHYLUM_BOX_BIN=bin/phylum-box CI=true go test -tags seccomp -run '^$' -bench BenchmarkOthers -benchtime=5x ./integration/
#
#   RUNS=7 hack/bench-managers.sh
#   CASES="pnpm-add yarn-add" hack/bench-managers.sh     (some of the cases above)
#   PHYLUM_BOX=/path/to/phylum-box hack/bench-managers.sh (skip the build)
#   BENCH_OWNER=uid:gid hack/bench-managers.sh           (as root: chown the projects,
#        so they are not root-owned and phylum-box uses the overlay, not a staging copy)
#   PROFILE=DIR hack/bench-managers.sh                   (after each case one more, untimed
#        `phylum-box -v CMD`, its output kept in DIR/CASE.log: where the time goes,
#        and a Go CPU profile of phylum-box's own process in DIR/CASE.pprof:
#        go tool pprof -top PHYLUM_BOX DIR/CASE.pprof; the log's last line is
#        that process's own CPU seconds, the containers not counted)
#   MEASURE=cpu hack/bench-managers.sh                   (CPU seconds of the whole process
#        tree, the containers' processes included — perf stat's task-clock — instead of
#        wall seconds; run lines show both. On a machine others load, wall time measures
#        the scheduler more than the command)
#   PNPM_BUILDS=none hack/bench-managers.sh              (the pnpm projects without their
#        onlyBuiltDependencies allowlist: pnpm 10 then builds nothing)
#
# The node cases share one pnpm store, one yarn cache and one berry cache of the
# bench's own (XDG_DATA_HOME, YARN_CACHE_FOLDER, YARN_GLOBAL_FOLDER under its work
# dir), filled by each case's first, untimed install: bare and wrapped runs see the
# same warm caches. phylum-box's own caches (the analysis results, the registry
# metadata) are under the bench's XDG_CACHE_HOME, warm after that first install too.
#
# Goals (issue 12): nothing to do <= 1.0x bare; add one <= 1.3x; pnpm install
# --frozen-lockfile / yarn --frozen-lockfile <= 1.03x warm; cargo build with
# nothing changed <= 1.1x.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
cases=${CASES:-pnpm pnpm-add pnpm-frozen yarn yarn-add yarn-frozen berry pip poetry cargo}
berry_linkers=${BERRY_LINKERS:-node-modules pnp}
repo=$PWD

work=$(mktemp -d /tmp/pbox-bench-managers.XXXXXX)
chmod 755 "$work"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

bin=${PHYLUM_BOX:-}
if [[ -z $bin ]]; then
	bin=$work/phylum-box
	go build -tags seccomp -o "$bin" ./cmd/phylum-box
fi
export PHYLUM_BOX_DB=$work/osv.db
# Configuration and caches of the bench's own (see above): never your
# ~/.config/phylum-box policy, never another user's or tool's files in ~/.cache.
export XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache XDG_DATA_HOME=$work/data
export YARN_CACHE_FOLDER=$work/yarn-cache YARN_GLOBAL_FOLDER=$work/berry
mkdir -p "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME"
"$bin" db import ../shared/corpus/osv >/dev/null 2>&1 || "$bin" db update >/dev/null

own() { if [[ -n ${BENCH_OWNER:-} ]]; then chown -R "$BENCH_OWNER" "$@"; fi; }
now() { date +%s.%N; }
measure=${MEASURE:-wall}
case $measure in
wall) ;;
cpu) command -v perf >/dev/null || { echo "bench-managers: MEASURE=cpu needs perf (linux-perf)" >&2; exit 1; } ;;
*) echo "bench-managers: MEASURE is wall or cpu, not ${measure}" >&2; exit 2 ;;
esac
# timed PREP CMD...: runs the shell function PREP untimed, then CMD timed; prints
# seconds (wall, or with MEASURE=cpu the CPU time of CMD and all it started; the
# wall seconds of that run are left in $work/wall).
timed() {
	local prep=$1 t0 t1
	shift
	"$prep"
	t0=$(now)
	if [[ $measure == cpu ]]; then
		perf stat -x, -e task-clock -o "$work/cpu" "$@" >"$work/last.log" 2>&1 || { echo "bench-managers: $* failed:" >&2; tail -20 "$work/last.log" >&2; exit 1; }
	else
		"$@" >"$work/last.log" 2>&1 || { echo "bench-managers: $* failed:" >&2; tail -20 "$work/last.log" >&2; exit 1; }
	fi
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}' >"$work/wall"
	if [[ $measure == cpu ]]; then
		awk -F, '/task-clock/{printf "%.3f\n", $1/1000}' "$work/cpu"
	else
		cat "$work/wall"
	fi
}
median() { sort -n | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
nothing() { :; }

# bench NAME GOAL PREP CMD...: RUNS runs of `CMD` and of `phylum-box CMD`, alternated,
# in the current directory, each after the shell function PREP (untimed). A name
# ending in "noop" checks that phylum-box's last run found nothing to do.
bench() {
	local name=$1 goal=$2 prep=$3 b p bw pw
	shift 3
	: >"$work/bare" && : >"$work/box"
	for ((i = 1; i <= runs; i++)); do
		b=$(timed "$prep" "$@")
		bw=$(cat "$work/wall")
		p=$(timed "$prep" "$bin" "$@")
		pw=$(cat "$work/wall")
		echo "$b" >>"$work/bare"
		echo "$p" >>"$work/box"
		if [[ $measure == cpu ]]; then
			echo "  $name run $i: bare ${b}s CPU (${bw}s wall), phylum-box ${p}s CPU (${pw}s wall)"
		else
			echo "  $name run $i: bare ${b}s, phylum-box ${p}s"
		fi
	done
	if [[ $name == *noop ]] && ! grep -q "up to date" "$work/last.log"; then
		echo "bench-managers: $name: phylum-box did not find the project up to date:" >&2
		tail -5 "$work/last.log" >&2
	fi
	local mb mp
	mb=$(median <"$work/bare")
	mp=$(median <"$work/box")
	echo "bench-managers: $name: $* — bare ${mb}s, phylum-box ${mp}s, ratio $(ratio "$mp" "$mb")x (goal <= ${goal}x); load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "bench-managers: $name: phylum-box's own timing of its last run: $(grep -E 'done:' "$work/last.log" | tail -1)"
	profile "$name" "$prep" "$@"
	results+=("$(printf '| %-19s | %-44s | %7ss | %7ss | %5sx | <= %sx | %s | %s |' "$name" "$*" "$mb" "$mp" "$(ratio "$mp" "$mb")" "$goal" "$measure" "$(cut -d' ' -f1 /proc/loadavg)")")
}
results=()
# profile NAME PREP CMD...: with PROFILE=DIR, one `phylum-box -v CMD` after PREP, its
# output in DIR/NAME.log.
profile() {
	[[ -n ${PROFILE:-} ]] || return 0
	local log
	log=$PROFILE/$(echo "$1" | tr -c 'a-zA-Z0-9\n' -).log
	mkdir -p "$PROFILE"
	"$2"
	shift 2
	rm -f "${log%.log}.pprof"
	PHYLUM_BOX_CPUPROFILE=${log%.log}.pprof "$bin" -v "$@" >"$log" 2>&1 || echo "bench-managers: the -v run failed, see $log" >&2
	echo "bench-managers: phylum-box -v $* in $log"
}

# pyindex: a few small pure-Python wheels made here (no PyPI) and a local index
# serving them on 127.0.0.1:$port; reqs are their hash-pinned requirements.
pyindex() {
	[[ -n ${port:-} ]] && return
	mkdir -p "$work/py/wheels/simple"
	reqs=()
	for n in alpha beta gamma delta epsilon zeta eta theta; do
		pkg=pboxbench_$n
		h=$(python3 - "$pkg" "$work/py/wheels/simple" <<'PY'
import base64, hashlib, os, sys, zipfile
pkg, out = sys.argv[1:]
d = os.path.join(out, pkg.replace("_", "-"))
os.makedirs(d, exist_ok=True)
whl = f"{pkg}-1.0.0-py3-none-any.whl"
files = {f"{pkg}/__init__.py": b"X = 1\n",
         f"{pkg}-1.0.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {pkg}\nVersion: 1.0.0\n".encode(),
         f"{pkg}-1.0.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
def rec(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
record = "".join(f"{n},{rec(b)},{len(b)}\n" for n, b in files.items()) + f"{pkg}-1.0.0.dist-info/RECORD,,\n"
with zipfile.ZipFile(os.path.join(d, whl), "w") as z:
    for n, b in files.items():
        z.writestr(n, b)
    z.writestr(f"{pkg}-1.0.0.dist-info/RECORD", record)
h = hashlib.sha256(open(os.path.join(d, whl), "rb").read()).hexdigest()
with open(os.path.join(d, "index.html"), "w") as f:
    f.write(f'<a href="{whl}#sha256={h}">{whl}</a>\n')
print(h)
PY
		)
		# Hash-pinned, as pip-compile --generate-hashes writes them.
		reqs+=("$pkg==1.0.0 --hash=sha256:$h")
	done
	port=$((20000 + RANDOM % 20000))
	(cd "$work/py/wheels" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
	sleep 1
}

# node_project NAME: a copy of the bench project in $work/NAME, the current
# directory. pnpm 10 builds no dependency unless allowed: esbuild is, as in a
# pnpm project that uses it (yarn ignores the field); PNPM_BUILDS=none leaves the
# allowlist out (pnpm then builds nothing, and phylum-box's pnpm add takes one run).
node_project() {
	local dir=$work/$1
	mkdir -p "$dir"
	node -e '
		const p = require(process.argv[1]);
		if (process.env.PNPM_BUILDS !== "none") p.pnpm = {onlyBuiltDependencies: ["esbuild"]};
		require("fs").writeFileSync(process.argv[2], JSON.stringify(p, null, 2) + "\n");
	' "$repo/integration/testdata/bench-npm/package.json" "$dir/package.json"
	own "$dir"
	cd "$dir"
}
no_modules() { rm -rf node_modules; }
# snapshot FILES...: keeps the installed project's FILES (node_modules among them)
# once; installed puts them back before each run (times included: a manager may
# trust its record of the tree only while nothing in it is newer).
snapshot() {
	snap=("$@")
	rm -rf "$work/installed" && mkdir "$work/installed"
	cp -a "$@" "$work/installed/"
}
installed() {
	rm -rf "${snap[@]}"
	local f
	for f in "${snap[@]}"; do cp -a "$work/installed/$f" .; done
}
# berry_project LINKER: the bench project committed the berry way: its release in
# .yarn/releases, yarnPath and packageManager naming it; the yarn on PATH (classic)
# hands over to it, phylum-box runs the release PHYLUM_BOX_YARN_BERRY names.
berry_project() {
	local linker=$1 rel=/usr/local/lib/yarn-berry/node_modules/@yarnpkg/cli-dist
	node_project "berry-$linker"
	mkdir -p .yarn/releases
	cp "$rel/bin/yarn.js" .yarn/releases/yarn-berry.cjs
	{
		printf 'yarnPath: .yarn/releases/yarn-berry.cjs\nenableTelemetry: false\n'
		[[ $linker == node-modules ]] && printf 'nodeLinker: node-modules\n'
		[[ -n ${BERRY_SCRIPTS:-} ]] && printf 'enableScripts: true\n'
		true
	} >.yarnrc.yml
	node -e '
		const fs = require("fs"), p = JSON.parse(fs.readFileSync("package.json"));
		p.packageManager = "yarn@" + require(process.argv[1] + "/package.json").version;
		fs.writeFileSync("package.json", JSON.stringify(p, null, 2) + "\n");
	' "$rel"
	own "$PWD"
	export PHYLUM_BOX_YARN_BERRY=$rel/bin/yarn.js
}
yarn_classic() { command -v yarn >/dev/null && [[ $(yarn --version) == 1.* ]]; }

echo "bench-managers: $runs runs each (alternated), cases: $cases; node $(node --version 2>/dev/null || echo none)"
echo "bench-managers: phylum-box $bin (tree at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')) as uid $(id -u), projects owned by ${BENCH_OWNER:-$(id -u):$(id -g)}; measuring $measure seconds; load $(cut -d' ' -f1-3 /proc/loadavg)"

for c in $cases; do
	case $c in
	pnpm | pnpm-add | pnpm-frozen)
		command -v pnpm >/dev/null || { echo "bench-managers: pnpm is not installed, skipped" >&2; continue; }
		node_project "$c"
		timed nothing "$bin" pnpm install >/dev/null # installed by phylum-box, as a wrapped user's project is
		own "$PWD"
		echo "bench-managers: $c: pnpm $(pnpm --version), $(grep -c '^  [^ ].*:$' pnpm-lock.yaml) lockfile lines of packages"
		case $c in
		pnpm) bench "pnpm noop" 1.0 nothing pnpm install ;;
		pnpm-add)
			snapshot package.json pnpm-lock.yaml node_modules
			bench "pnpm add" 1.3 installed pnpm add is-odd@3.0.1
			;;
		pnpm-frozen) bench "pnpm frozen" 1.03 no_modules pnpm install --frozen-lockfile ;;
		esac
		;;
	yarn | yarn-add | yarn-frozen)
		yarn_classic || { echo "bench-managers: yarn classic is not installed, skipped" >&2; continue; }
		node_project "$c"
		timed nothing "$bin" yarn install --non-interactive >/dev/null
		own "$PWD"
		echo "bench-managers: $c: yarn $(yarn --version), $(grep -c '^  resolved ' yarn.lock) lockfile entries"
		case $c in
		yarn) bench "yarn noop" 1.0 nothing yarn install --non-interactive ;;
		yarn-add)
			snapshot package.json yarn.lock node_modules
			# As typed: an option outside the few that only say how package.json
			# records the spec (--non-interactive among them) keeps phylum-box's two
			# steps, resolve then download.
			bench "yarn add" 1.3 installed yarn add is-odd@3.0.1
			;;
		yarn-frozen) bench "yarn frozen" 1.03 no_modules yarn install --frozen-lockfile --non-interactive ;;
		esac
		;;
	berry)
		{ yarn_classic && [[ -e /usr/local/lib/yarn-berry/node_modules/@yarnpkg/cli-dist/bin/yarn.js ]]; } ||
			{ echo "bench-managers: yarn classic or yarn berry is not installed (hack/install-deps.d/node.sh), skipped" >&2; continue; }
		for l in $berry_linkers; do
			berry_project "$l"
			timed nothing "$bin" yarn install >/dev/null
			own "$PWD"
			echo "bench-managers: berry ($l): yarn $(yarn --version), $(grep -c '^  resolution: ' yarn.lock) lockfile entries"
			bench "berry $l noop" 1.0 nothing yarn install
		done
		unset PHYLUM_BOX_YARN_BERRY
		;;
	pip)
		command -v python3 >/dev/null || { echo "bench-managers: python3 is not installed, skipped" >&2; continue; }
		pyindex
		mkdir -p "$work/pip" && cd "$work/pip"
		printf '%s\n' "${reqs[@]}" >requirements.txt
		python3 -m venv .venv
		# The venv activated: `pip` is its pip, bare and under phylum-box.
		(
			export PIP_INDEX_URL=http://127.0.0.1:$port/simple/ PIP_DISABLE_PIP_VERSION_CHECK=1 VIRTUAL_ENV=$PWD/.venv PATH=$PWD/.venv/bin:$PATH
			own "$PWD"
			timed nothing "$bin" pip install -r requirements.txt >/dev/null
			own "$PWD"
			bench "pip noop" 1.0 nothing pip install -r requirements.txt
			printf '%s\n' "${results[@]}" >"$work/results.pip"
		)
		mapfile -t results <"$work/results.pip"
		;;
	poetry)
		command -v poetry >/dev/null || { echo "bench-managers: poetry is not installed, skipped" >&2; continue; }
		pyindex
		mkdir -p "$work/poetry/pboxbench_app" && cd "$work/poetry"
		: >pboxbench_app/__init__.py
		{
			printf '[tool.poetry]\nname = "pboxbench-app"\nversion = "0.1.0"\ndescription = ""\nauthors = ["bench <bench@example.invalid>"]\n\n'
			printf '[tool.poetry.dependencies]\npython = "^3.9"\n'
			for n in alpha beta gamma delta epsilon zeta eta theta; do printf 'pboxbench-%s = "1.0.0"\n' "$n"; done
			printf '\n[[tool.poetry.source]]\nname = "bench"\nurl = "http://127.0.0.1:%s/simple/"\ndefault = true\n\n' "$port"
			printf '[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n'
		} >pyproject.toml
		own "$PWD"
		timed nothing "$bin" poetry install >/dev/null
		own "$PWD"
		bench "poetry noop" 1.0 nothing poetry install
		;;
	cargo)
		command -v cargo >/dev/null || { echo "bench-managers: cargo is not installed, skipped" >&2; continue; }
		cd "$work" && cargo new --vcs none --quiet pbox-bench && cd pbox-bench
		own "$PWD"
		timed nothing "$bin" cargo build >/dev/null
		own "$PWD"
		bench "cargo build, nothing changed" 1.1 nothing cargo build
		;;
	*)
		echo "bench-managers: unknown case $c (pnpm, pnpm-add, pnpm-frozen, yarn, yarn-add, yarn-frozen, berry, pip, poetry, cargo)" >&2
		exit 2
		;;
	esac
done

echo
echo "| case | command | bare | phylum-box | ratio | goal | seconds | load |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
