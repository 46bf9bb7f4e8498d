#!/usr/bin/env bash
# Ruby, Bundler and the headers for native extensions, for the bundle integration
# tests (gem build / gem generate_index make their local gem source).
set -euo pipefail
need=()
for p in ruby ruby-bundler ruby-dev; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
((${#need[@]})) || exit 0
if [[ $(id -u) -ne 0 ]]; then
	echo "hack/install-deps.d/ruby.sh: missing ${need[*]}; run as root: apt-get install ${need[*]}" >&2
	exit 1
fi
echo "hack/install-deps.d/ruby.sh: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
