#!/usr/bin/env bash
# Run every fuzz target in the repository for a while: `make fuzz FUZZTIME=30s`, or
# `hack/fuzz.sh 30s [PACKAGE...]`. `go test` alone (make unit) runs only the seed corpora.
#
# Targets are discovered with `go test -list 'Fuzz.*'`, so a new Fuzz* function is picked up
# without editing this script. Go can fuzz only one target per invocation, so they run one
# after another; a failure stops the run and leaves the crashing input under the package's
# testdata/fuzz/<Target>/ to be committed as a regression seed once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${1:-30s}
shift || true
# Expand patterns (./..., ./precheck/...) to single packages: -fuzz takes one at a time.
[ $# -gt 0 ] || set -- ./...
mapfile -t pkgs < <(go list -tags "${TAGS:-seccomp}" "$@")

ran=0
for pkg in "${pkgs[@]}"; do
	# -list prints matching names, then "ok <pkg> <time>"; keep only the names.
	mapfile -t targets < <(go test -tags "${TAGS:-seccomp}" -run '^$' -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in "${targets[@]}"; do
		echo "=== fuzz $pkg $t for $fuzztime"
		go test -tags "${TAGS:-seccomp}" -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg"
		ran=$((ran + 1))
	done
done
echo "fuzzed $ran targets for $fuzztime each"
