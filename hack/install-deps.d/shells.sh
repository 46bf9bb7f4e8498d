#!/usr/bin/env bash
# Shells the shell-init and completion tests feed their output to (bash and dash are
# always there on Debian), and bash-completion for the hand-over to a manager's
# own completion.
set -euo pipefail
need=()
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
[[ -e /usr/share/bash-completion/bash_completion ]] || need+=(bash-completion)
((${#need[@]})) || exit 0
if [[ $(id -u) -ne 0 ]]; then
	echo "hack/install-deps.d/shells.sh: missing ${need[*]}; run as root: apt-get install ${need[*]}" >&2
	exit 1
fi
echo "hack/install-deps.d/shells.sh: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
