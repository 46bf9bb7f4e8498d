#!/usr/bin/env bash
# Debian's python3 with venv, pip and poetry, and the headers for C extensions: the
# pip/poetry integration tests run them inside the sandbox, which sees /usr (not a
# pyenv under $HOME). python3-pip-whl ships the setuptools and wheel wheels the
# tests' local index serves as the default build backend.
set -euo pipefail
need=()
for p in python3-pip python3-pip-whl python3-venv python3-poetry python3-dev; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
((${#need[@]})) || exit 0
if [[ $(id -u) -ne 0 ]]; then
	echo "hack/install-deps.d/python.sh: missing ${need[*]}; run as root: apt-get install ${need[*]}" >&2
	exit 1
fi
echo "hack/install-deps.d/python.sh: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
