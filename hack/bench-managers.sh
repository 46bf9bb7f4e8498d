#!/usr/bin/env bash
# make bench-managers: the nothing-to-do install of the other package managers
# (issue 12), bare against phylum-box, runs alternated, the median of each and the
# ratio of the medians — the same measure as hack/bench-npm.sh:
#
#   pnpm    `pnpm install` in a project phylum-box installed (integration/testdata/
#           bench-npm's package.json, ~300 packages, resolved by pnpm)
#   yarn    `yarn install` (classic) in the same kind of project
#   pip     `pip install -r requirements.txt` in a venv that already satisfies
#           every pinned requirement (wheels served by a local index on 127.0.0.1)
#   poetry  `poetry install` with nothing to change (the same local index; the
#           project itself installed too)
#   cargo   `cargo build` with nothing changed in a `cargo new` crate (no registry
#           here: no dependency); phylum-box runs the build step alone, offline,
#           on the committed lockfile (no resolve, no fetch), in its container
#
# bundle is not measured here: it needs a gem server (the integration tests have
# one, TestNoopBundleNothingToDo).
#
#   RUNS=7 hack/bench-managers.sh
#   CASES="pnpm yarn" hack/bench-managers.sh             (some of pnpm, yarn, pip, poetry, cargo)
#   PHYLUM_BOX=/path/to/phylum-box hack/bench-managers.sh (skip the build)
#
# Goals (issue 12): nothing to do <= 1.0x bare; cargo build with nothing changed
# <= 1.1x.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
cases=${CASES:-pnpm yarn pip poetry cargo}
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
"$bin" db import ../shared/corpus/osv >/dev/null 2>&1 || "$bin" db update >/dev/null

now() { date +%s.%N; }
# timed CMD...: CMD timed; prints seconds.
timed() {
	local t0 t1
	t0=$(now)
	"$@" >"$work/last.log" 2>&1 || { echo "bench-managers: $* failed:" >&2; tail -20 "$work/last.log" >&2; exit 1; }
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}'
}
median() { sort -n | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

# bench NAME GOAL CMD...: RUNS runs of `CMD` and of `phylum-box CMD`, alternated,
# in the current directory.
bench() {
	local name=$1 goal=$2 b p
	shift 2
	: >"$work/bare" && : >"$work/box"
	for ((i = 1; i <= runs; i++)); do
		b=$(timed "$@")
		p=$(timed "$bin" "$@")
		echo "$b" >>"$work/bare"
		echo "$p" >>"$work/box"
		echo "  $name run $i: bare ${b}s, phylum-box ${p}s"
	done
	if [[ $name != cargo* ]] && ! grep -q "up to date" "$work/last.log"; then
		echo "bench-managers: $name: phylum-box did not find the project up to date:" >&2
		tail -5 "$work/last.log" >&2
	fi
	local mb mp
	mb=$(median <"$work/bare")
	mp=$(median <"$work/box")
	echo "bench-managers: $name: $* — bare ${mb}s, phylum-box ${mp}s, ratio $(ratio "$mp" "$mb")x (goal <= ${goal}x)"
	results+=("$(printf '| %-44s | %7ss | %7ss | %5sx | <= %sx |' "$*" "$mb" "$mp" "$(ratio "$mp" "$mb")" "$goal")")
}
results=()

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

node_project() {
	local dir=$work/$1
	mkdir -p "$dir"
	cp "$repo/integration/testdata/bench-npm/package.json" "$dir/"
	cd "$dir"
}

for c in $cases; do
	case $c in
	pnpm)
		command -v pnpm >/dev/null || { echo "bench-managers: pnpm is not installed, skipped" >&2; continue; }
		node_project pnpm
		timed "$bin" pnpm install >/dev/null # installed by phylum-box, as a wrapped user's project is
		echo "bench-managers: pnpm $(pnpm --version), $(grep -c '^  [^ ].*:$' pnpm-lock.yaml) lockfile lines of packages"
		bench "pnpm noop" 1.0 pnpm install
		;;
	yarn)
		command -v yarn >/dev/null && [[ $(yarn --version) == 1.* ]] || { echo "bench-managers: yarn classic is not installed, skipped" >&2; continue; }
		node_project yarn
		timed "$bin" yarn install --non-interactive >/dev/null
		echo "bench-managers: yarn $(yarn --version), $(grep -c '^  resolved ' yarn.lock) lockfile entries"
		bench "yarn noop" 1.0 yarn install --non-interactive
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
			timed "$bin" pip install -r requirements.txt >/dev/null
			bench "pip noop" 1.0 pip install -r requirements.txt
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
		timed "$bin" poetry install >/dev/null
		bench "poetry noop" 1.0 poetry install
		;;
	cargo)
		command -v cargo >/dev/null || { echo "bench-managers: cargo is not installed, skipped" >&2; continue; }
		cd "$work" && cargo new --vcs none --quiet pbox-bench && cd pbox-bench
		timed "$bin" cargo build >/dev/null
		bench "cargo build, nothing changed" 1.1 cargo build
		;;
	*)
		echo "bench-managers: unknown case $c (pnpm, yarn, pip, poetry, cargo)" >&2
		exit 2
		;;
	esac
done

echo
echo "| command | bare | phylum-box | ratio | goal |"
echo "|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
