#!/usr/bin/env bash
# debootstrap builds the Debian root that integration/devcontainer_test.go installs
# the Dev Container Feature into.
set -euo pipefail
command -v debootstrap >/dev/null 2>&1 && exit 0
if [[ $(id -u) -ne 0 ]]; then
	echo "hack/install-deps.d/devcontainer.sh: missing debootstrap; run as root: apt-get install debootstrap" >&2
	exit 1
fi
echo "hack/install-deps.d/devcontainer.sh: installing debootstrap"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
