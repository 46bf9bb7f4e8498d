#!/usr/bin/env bash
# debootstrap builds the Debian root that integration/devcontainer_test.go installs
# the Dev Container Feature into; shellcheck lints its POSIX install.sh.
set -euo pipefail
need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
((${#need[@]})) || exit 0
if [[ $(id -u) -ne 0 ]]; then
	echo "hack/install-deps.d/devcontainer.sh: missing ${need[*]}; run as root: apt-get install ${need[*]}" >&2
	exit 1
fi
echo "hack/install-deps.d/devcontainer.sh: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
