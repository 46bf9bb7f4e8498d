#!/usr/bin/env bash
# make detect-eval: false alarms of the behaviour monitor and the static analysis
# (issue 13) on real packages from the live npm registry. Each project below is
# installed three ways, in fresh copies sharing one warm npm cache:
#
#   bare    npm install
#   box     phylum-box npm install, default policy
#   nomon   phylum-box npm install, a user policy with `behaviour: {monitor: false}`
#           and `analysis: {block: none}` (what phylum-box does without detection)
#
# and for each it prints the exit codes, which of the listed packages ended in
# node_modules (the sweeps list them as optionalDependencies, so one package's
# failed download does not hide the others), and every PB-BEHAVIOUR-/PB-ANALYSIS-
# finding of the box run (from --report) with its first evidence line.
# A false alarm is a block (exit 3, or a blocking finding) where nomon installs.
#
#   hack/detect-eval.sh                      (all projects)
#   PROJECTS="sweep1 vite" hack/detect-eval.sh
#   PHYLUM_BOX=/path/to/phylum-box hack/detect-eval.sh
#   KEEP=1 hack/detect-eval.sh               (keep the work directory)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
command -v npm >/dev/null || { echo "detect-eval: npm is not installed" >&2; exit 1; }
work=$(mktemp -d /tmp/pbox-detect-eval.XXXXXX)
chmod 755 "$work"
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$work"' EXIT
bin=${PHYLUM_BOX:-}
if [[ -z $bin ]]; then
	bin=$work/phylum-box
	go build -tags seccomp -o "$bin" ./cmd/phylum-box || exit 1
fi
export PHYLUM_BOX_DB=$work/osv.db
"$bin" db import ../shared/corpus/osv >/dev/null 2>&1 || "$bin" db update >/dev/null
# Skip the big binary downloads, as a developer's CI does; phylum-box passes these
# through to the build step by itself.
export PUPPETEER_SKIP_DOWNLOAD=1 CYPRESS_INSTALL_BINARY=0 ELECTRON_SKIP_BINARY_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export npm_config_cache=$work/npm-cache
mkdir -p "$work/home-default" "$work/home-nomon/.config/phylum-box"
printf 'behaviour: {monitor: false}\nanalysis: {block: none}\n' >"$work/home-nomon/.config/phylum-box/policy.yaml"

# project NAME KIND PKG...: KIND is deps (an app's dependencies) or optional.
declare -A kind pkgs
project() { local n=$1 k=$2; shift 2; kind[$n]=$k; pkgs[$n]="$*"; order+=("$n"); }
order=()
project sweep1 optional esbuild @swc/core sharp bcrypt core-js core-js-pure es5-ext protobufjs prisma @prisma/client @parcel/watcher bufferutil utf-8-validate
project sweep2 optional leveldown lmdb msgpackr-extract unrs-resolver sodium-native argon2 deasync @biomejs/biome vue-demi nx @tailwindcss/oxide
project sweep3 optional puppeteer cypress electron ssh2 cpu-features better-sqlite3 sqlite3 node-sass @sentry/cli re2
# canvas alone: offline its prebuild-install and node-gyp fail, and under phylum-box
# the failed optional dependency fails the install (bare npm drops it)
project canvas optional canvas
# lefthook is left out: npm 11 --package-lock-only leaves its optional platform
# packages out of the lockfile ("Missing: lefthook-android-arm64@"), so npm ci refuses
project sweep4 optional grpc-tools keytar nodemon playwright msw @vscode/ripgrep turbo simple-git-hooks @napi-rs/canvas @napi-rs/snappy
project husky husky-app husky
project vite deps react react-dom @types/react @types/react-dom @vitejs/plugin-react typescript vite eslint @eslint/js eslint-plugin-react-hooks eslint-plugin-react-refresh globals typescript-eslint
project next deps next react react-dom typescript @types/node @types/react @types/react-dom tailwindcss @tailwindcss/postcss eslint eslint-config-next

manifest() { # NAME: package.json of the project
	local n=$1 k=${kind[$1]} list="" p
	for p in ${pkgs[$1]}; do list+="${list:+,}\"$p\":\"latest\""; done
	case $k in
	optional) echo "{\"name\":\"eval-$n\",\"version\":\"1.0.0\",\"private\":true,\"optionalDependencies\":{$list}}" ;;
	deps) echo "{\"name\":\"eval-$n\",\"version\":\"1.0.0\",\"private\":true,\"dependencies\":{$list}}" ;;
	husky-app) echo "{\"name\":\"eval-$n\",\"version\":\"1.0.0\",\"private\":true,\"scripts\":{\"prepare\":\"husky\"},\"devDependencies\":{$list}}" ;;
	esac
}

# setup NAME MODE: a fresh project dir, with the lockfile resolved once (shared by all modes).
setup() {
	local d=$work/$1-$2
	rm -rf "$d" && mkdir -p "$d"
	cp "$work/$1.lock/package.json" "$work/$1.lock/package-lock.json" "$d/"
	[[ ${kind[$1]} == husky-app ]] && git -C "$d" init -q
	echo "$d"
}

installed() { # DIR: which listed packages are in node_modules
	local d=$1 n=$2 p ok="" miss=""
	for p in ${pkgs[$n]}; do
		if [[ -f $d/node_modules/$p/package.json ]]; then ok+="$p "; else miss+="$p "; fi
	done
	echo "    installed: ${ok:-none}"
	[[ -z $miss ]] || echo "    missing:   $miss"
}

findings() { # REPORT.json
	[[ -s $1 ]] || { echo "    (no report)"; return; }
	node -e '
const r = require(process.argv[1]); let n = 0;
for (const p of (r.precheck || r).packages || []) for (const k of ["behaviour", "analysis"]) for (const f of p[k] || []) {
  n++; console.log(`    ${f.blocking ? "BLOCK" : "warn "} ${f.id} ${f.severity} ${p.name}@${p.version}: ${f.summary}`);
  for (const e of (f.evidence || []).slice(0, 2)) console.log(`          ${e.slice(0, 220)}`);
}
if (!n) console.log("    no findings");' "$1"
}

flags=(--no-audit --no-fund)
for n in ${PROJECTS:-${order[@]}}; do
	echo "=== $n (${kind[$n]}): ${pkgs[$n]}"
	mkdir -p "$work/$n.lock"
	manifest "$n" >"$work/$n.lock/package.json"
	(cd "$work/$n.lock" && npm install --package-lock-only --ignore-scripts "${flags[@]}" >/dev/null 2>&1) || echo "  (lockfile resolution failed)"
	echo "  packages in the tree: $(node -e 'console.log(Object.keys(require(process.argv[1]).packages).length-1)' "$work/$n.lock/package-lock.json" 2>/dev/null)"
	d=$(setup "$n" bare)
	(cd "$d" && npm ci "${flags[@]}" >"$work/$n-bare.log" 2>&1); echo "  bare npm ci: exit $?"
	installed "$d" "$n"
	for m in default nomon; do
		d=$(setup "$n" "$m")
		(cd "$d" && HOME=$work/home-$m "$bin" --report "$work/$n-$m.json" npm ci "${flags[@]}" >"$work/$n-$m.log" 2>&1)
		echo "  phylum-box ($m): exit $?"
		installed "$d" "$n"
		[[ $m == default ]] && findings "$work/$n-$m.json"
		grep -E '^phylum-box: .*(blocked|refused|exit)' "$work/$n-$m.log" | head -5 | sed 's/^/    /'
	done
done
[[ -z ${KEEP:-} ]] || echo "detect-eval: kept $work"
