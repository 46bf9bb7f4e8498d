#!/usr/bin/env bash
# The main job: a protected `npm install lodash` in a scratch project.
#
# The precheck fails closed without an OSV database, so the demo first makes sure
# one exists: `phylum-box db update` from OSV (or the configured mirror); where
# OSV is unreachable (an air-gapped machine, this project's CI), it imports the
# real OSV records of ../shared/corpus/osv instead and says so.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pb="$root/bin/phylum-box"

if ! "$pb" db status >/dev/null 2>&1; then
	echo "demo: no OSV database yet; running: phylum-box db update"
	if ! "$pb" db update; then
		corpus="$root/../shared/corpus/osv"
		if [[ -d $corpus ]]; then
			echo "demo: OSV is not reachable from here; importing the real records in $corpus instead"
			"$pb" db import "$corpus"
		else
			echo "demo: cannot get an OSV database: point 'phylum-box db update --source' at a mirror" >&2
			exit 5
		fi
	fi
fi

proj=$(mktemp -d "${TMPDIR:-/tmp}/phylum-box-demo.XXXXXX")
cd "$proj"
echo '{"name":"demo","version":"1.0.0","private":true}' > package.json
"$pb" npm install lodash
test -f node_modules/lodash/package.json
echo "demo: lodash $(node -p 'require("./node_modules/lodash/package.json").version') installed in $proj"
