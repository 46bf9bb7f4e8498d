#!/usr/bin/env bash
# Debian's cargo in /usr/bin, for the cargo integration tests. A rustup toolchain in
# /root/.cargo is no substitute: the sandbox replaces $HOME with an empty tmpfs and
# the rootless test users cannot traverse /root. git provides git-http-backend, which
# serves the tests' registry index (Debian's cargo predates stable sparse indexes).
set -euo pipefail
need=()
for p in cargo git; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
((${#need[@]})) || exit 0
if [[ $(id -u) -ne 0 ]]; then
	echo "hack/install-deps.d/rust.sh: missing ${need[*]}; run as root: apt-get install ${need[*]}" >&2
	exit 1
fi
echo "hack/install-deps.d/rust.sh: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
