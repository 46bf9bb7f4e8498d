#!/usr/bin/env bash
# The main job: a protected `npm install lodash` in a scratch project.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
proj=$(mktemp -d "${TMPDIR:-/tmp}/phylum-box-demo.XXXXXX")
cd "$proj"
echo '{"name":"demo","version":"1.0.0"}' > package.json
"$root/bin/phylum-box" npm install lodash
ls node_modules
echo "demo project: $proj"
