#!/usr/bin/env bash
# Installs what building and testing phylum-box needs on a Debian machine.
# Idempotent and quick when everything is present. Needs root for apt-get.
set -euo pipefail

need_apt=()
dpkg -s libseccomp-dev >/dev/null 2>&1 || need_apt+=(libseccomp-dev)
command -v newuidmap >/dev/null 2>&1 || need_apt+=(uidmap)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)
command -v make >/dev/null 2>&1 || need_apt+=(make)
# The behaviour monitor's labelled set runs what attackers run (integration/detect_labelled_test.go).
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v wget >/dev/null 2>&1 || need_apt+=(wget)

if ((${#need_apt[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "hack/install-deps.sh: missing ${need_apt[*]}; run as root: apt-get install ${need_apt[*]}" >&2
		exit 1
	fi
	echo "hack/install-deps.sh: installing ${need_apt[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Further ecosystems' tools are added here by the issues that need them.
for f in "$(dirname "$0")"/install-deps.d/*.sh; do
	[[ -e $f ]] || continue
	bash "$f"
done
