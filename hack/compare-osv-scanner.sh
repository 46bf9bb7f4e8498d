#!/usr/bin/env bash
# Compare phylum-box's offline OSV lookup with osv-scanner v2's offline mode on the
# same synthetic npm export (hack/gen-osv-npm.go) and the corpus's vite lockfile:
# same findings expected, times and peak RSS printed side by side.
#
#   bash hack/compare-osv-scanner.sh [WORKDIR]
#
# osv-scanner v2.6.0 needs Go 1.27; v2.5.0 builds with Go 1.26.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
lock=../shared/corpus/lockfiles/real/vite.pnpm-lock.yaml
mkdir -p "$work/bin" "$work/cache/osv-scalibr/npm" "$work/proj"

[ -x "$work/bin/osv-scanner" ] || GOBIN="$work/bin" go install github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.5.0
[ -x "$work/bin/phylum-box" ] || go build -tags seccomp -o "$work/bin/phylum-box" ./cmd/phylum-box
[ -f "$work/npm-all.zip" ] || go run hack/gen-osv-npm.go -o "$work/npm-all.zip"
ln -f "$work/npm-all.zip" "$work/cache/osv-scalibr/npm/all.zip"
cp "$lock" "$work/proj/pnpm-lock.yaml"

t() { /usr/bin/time -f "  %e s wall, %U+%S s CPU, %M KB peak RSS" "$@"; }
echo "phylum-box db import:"
t "$work/bin/phylum-box" -q db import --db "$work/osv.db" "$work/npm-all.zip"
echo "phylum-box check (fresh process):"
t "$work/bin/phylum-box" -q check --db "$work/osv.db" --format json "$work/proj/pnpm-lock.yaml" >"$work/pb.json" || true
echo "osv-scanner scan --offline-vulnerabilities:"
OSV_SCALIBR_LOCAL_DB_CACHE_DIRECTORY="$work/cache" t "$work/bin/osv-scanner" scan source --offline \
  --offline-vulnerabilities --format json -L "pnpm-lock.yaml:$work/proj/pnpm-lock.yaml" >"$work/osvs.json" 2>"$work/osvs.err" || true
tail -1 "$work/osvs.err"

python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
theirs = {f"{p['package']['name']}@{p['package']['version']} {v['id']}"
          for r in json.load(open(f"{w}/osvs.json"))["results"] for p in r["packages"]
          for v in p.get("vulnerabilities", [])}
ours = {f"{p['name']}@{p['version']} {f['id']}"
        for p in json.load(open(f"{w}/pb.json"))["packages"] for f in p.get("findings", [])}
only = theirs - ours
local = {x for x in only if "@file:" in x or "@link:" in x}
print(f"findings: phylum-box {len(ours)}, osv-scanner {len(theirs)}, only phylum-box {len(ours - theirs)}, "
      f"only osv-scanner {len(only)} ({len(local)} on file:/link: workspace packages, which phylum-box reports as uncheckable)")
for x in sorted(only - local)[:20]:
    print("  only osv-scanner:", x)
PY
