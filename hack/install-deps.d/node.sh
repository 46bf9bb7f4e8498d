#!/usr/bin/env bash
# Node.js, its headers (native addons are built offline with node-gyp against the
# machine's headers), python3/make/g++ for node-gyp, and the package managers the
# npm/yarn/pnpm integration tests drive: yarn classic and pnpm installed globally
# from the npm registry, yarn berry (@yarnpkg/cli-dist) unpacked under
# /usr/local/lib/yarn-berry (tests copy its yarn.js into a project's yarnPath, the
# way berry projects commit their release).
set -euo pipefail
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
headers_ok() {
	local node prefix
	node=$(readlink -f "$(command -v node)") || return 1
	prefix=$(dirname "$(dirname "$node")")
	[[ -e $prefix/include/node/common.gypi && -e $prefix/include/node/node.h ]]
}
if ((${#need[@]})) || ! headers_ok; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "hack/install-deps.d/node.sh: missing ${need[*]:-node headers}; run as root: apt-get install ${need[*]} libnode-dev" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	if ((${#need[@]})); then
		echo "hack/install-deps.d/node.sh: installing ${need[*]}"
		apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	fi
	if ! headers_ok; then
		# Debian ships the headers in nodejs (bookworm: libnode-dev for some versions).
		echo "hack/install-deps.d/node.sh: installing the node headers (libnode-dev)"
		apt-get install -y -qq --no-install-recommends libnode-dev >/dev/null || true
		headers_ok || { echo "hack/install-deps.d/node.sh: no headers for $(node --version) under its prefix; native addon tests will be skipped" >&2; }
	fi
fi

[[ $(id -u) -eq 0 ]] || { echo "hack/install-deps.d/node.sh: not root: not installing yarn/pnpm globally" >&2; exit 0; }
global=()
command -v yarn >/dev/null 2>&1 || global+=(yarn@1)
command -v pnpm >/dev/null 2>&1 || global+=(pnpm@10)
if ((${#global[@]})); then
	echo "hack/install-deps.d/node.sh: npm install -g ${global[*]}"
	npm install -g --no-audit --no-fund "${global[@]}" >/dev/null
fi
berry=/usr/local/lib/yarn-berry
if [[ ! -e $berry/node_modules/@yarnpkg/cli-dist/bin/yarn.js ]]; then
	echo "hack/install-deps.d/node.sh: installing yarn berry (@yarnpkg/cli-dist@4) under $berry"
	mkdir -p "$berry"
	npm install --prefix "$berry" --no-audit --no-fund --no-save @yarnpkg/cli-dist@4 >/dev/null
fi
