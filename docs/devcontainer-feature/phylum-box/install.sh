#!/bin/sh
# Dev Container Feature "phylum-box" (containers.dev spec): runs as root at image
# build time with the feature's options in the environment (VERSION, BINARYPATH,
# SOURCEDIR, RELEASEURL, ALIASES, DBUPDATE, DBSOURCE) and the users in _REMOTE_USER
# and _CONTAINER_USER. POSIX sh: base images may have no bash.
set -eu

VERSION="${VERSION:-latest}"
BINARYPATH="${BINARYPATH:-}"
SOURCEDIR="${SOURCEDIR:-}"
RELEASEURL="${RELEASEURL:-https://github.com/phylum-box/phylum-box/releases/download/v{version}/phylum-box-linux-{arch}}"
ALIASES="${ALIASES:-true}"
DBUPDATE="${DBUPDATE:-true}"
DBSOURCE="${DBSOURCE:-}"

BIN=/usr/local/bin/phylum-box
PROFILE_SNIPPET=/etc/profile.d/phylum-box.sh
FISH_SNIPPET=/etc/fish/conf.d/phylum-box.fish
MARKER="# phylum-box shell integration"

log() { printf '[phylum-box feature] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

[ "$(id -u)" = 0 ] || die "install.sh must run as root (dev container tools run features as root)"
here=$(cd "$(dirname "$0")" && pwd)

# --- packages -------------------------------------------------------------------

apt_updated=""
pkg_install() {
	if command -v apt-get >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		# Images usually ship without package lists; fetch them once, remove them after.
		if [ -z "$apt_updated" ] && ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
			apt-get update -qq
			apt_updated=yes
		fi
		apt-get install -y -qq --no-install-recommends "$@" >/dev/null
	elif command -v apk >/dev/null 2>&1; then
		apk add --no-cache "$@" >/dev/null
	elif command -v dnf >/dev/null 2>&1; then
		dnf install -y -q "$@" >/dev/null
	elif command -v microdnf >/dev/null 2>&1; then
		microdnf install -y "$@" >/dev/null
	else
		die "no supported package manager (apt-get, apk, dnf) to install $*; install it in the image first"
	fi
}

# runtime_packages installs what the sandbox needs at run time: newuidmap/newgidmap
# for a full uid map, libseccomp, and CA certificates for `db update` over HTTPS.
runtime_packages() {
	need=""
	if command -v apt-get >/dev/null 2>&1; then
		command -v newuidmap >/dev/null 2>&1 || need="$need uidmap"
		[ -e /etc/ssl/certs/ca-certificates.crt ] || need="$need ca-certificates"
		ls /usr/lib/*/libseccomp.so.2 /lib/*/libseccomp.so.2 >/dev/null 2>&1 || need="$need libseccomp2"
	elif command -v apk >/dev/null 2>&1; then
		command -v newuidmap >/dev/null 2>&1 || need="$need shadow-uidmap"
		need="$need ca-certificates libseccomp"
	else
		command -v newuidmap >/dev/null 2>&1 || need="$need shadow-utils"
		need="$need ca-certificates libseccomp"
	fi
	if [ -n "$need" ]; then
		log "installing$need"
		# shellcheck disable=SC2086 # word splitting of the package list is wanted
		pkg_install $need
	fi
}

# --- the binary -----------------------------------------------------------------

arch() {
	case "$(uname -m)" in
	x86_64 | amd64) echo amd64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) die "no phylum-box release for $(uname -m); use the sourceDir or binaryPath option" ;;
	esac
}

fetch() { # fetch URL FILE
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --retry 3 -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1"
	else
		pkg_install curl
		curl -fsSL --retry 3 -o "$2" "$1"
	fi
}

download_release() { # download_release FILE
	a=$(arch)
	url=$(printf '%s' "$RELEASEURL" | sed -e "s|{version}|$VERSION|g" -e "s|{arch}|$a|g")
	if [ "$VERSION" = latest ]; then
		url=$(printf '%s' "$url" | sed -e 's|/download/vlatest/|/latest/download/|')
	fi
	log "downloading $url"
	fetch "$url" "$1" || die "download of $url failed; set binaryPath or sourceDir to install without a release"
	if fetch "$url.sha256" "$1.sha256" 2>/dev/null; then
		want=$(cut -d' ' -f1 <"$1.sha256")
		got=$(sha256sum "$1" | cut -d' ' -f1)
		[ "$want" = "$got" ] || die "checksum mismatch for $url: got $got, want $want"
		rm -f "$1.sha256"
	else
		log "warning: no $url.sha256 published; installed without a checksum check"
	fi
}

build_from_source() { # build_from_source FILE
	[ -f "$SOURCEDIR/go.mod" ] || die "sourceDir $SOURCEDIR is not a phylum-box checkout (no go.mod)"
	command -v go >/dev/null 2>&1 || die "sourceDir needs Go on PATH (add the Go feature before this one)"
	if command -v apt-get >/dev/null 2>&1; then
		command -v gcc >/dev/null 2>&1 || pkg_install gcc libc6-dev
		[ -e /usr/include/seccomp.h ] || pkg_install libseccomp-dev
	fi
	log "building phylum-box from $SOURCEDIR"
	(cd "$SOURCEDIR" && CGO_ENABLED=1 go build -tags seccomp -trimpath -o "$1" ./cmd/phylum-box)
}

install_binary() {
	tmp="$BIN.new.$$"
	mkdir -p "$(dirname "$BIN")"
	if [ -n "$BINARYPATH" ]; then
		[ -f "$BINARYPATH" ] || die "binaryPath $BINARYPATH is not a file"
		cp "$BINARYPATH" "$tmp"
	elif [ -f "$here/phylum-box" ]; then
		cp "$here/phylum-box" "$tmp"
	elif [ -n "$SOURCEDIR" ]; then
		build_from_source "$tmp"
	else
		download_release "$tmp"
	fi
	chmod 0755 "$tmp"
	# Prove it runs here (right architecture, libraries present) before replacing.
	"$tmp" --version >/dev/null || die "the phylum-box binary does not run in this image"
	mv -f "$tmp" "$BIN"
	log "installed $("$BIN" --version)"
}

# --- users ----------------------------------------------------------------------

# container_users prints the distinct non-root users the container will be used as.
container_users() {
	for u in "${_REMOTE_USER:-}" "${_CONTAINER_USER:-}"; do
		[ -n "$u" ] && [ "$u" != root ] && id -u "$u" >/dev/null 2>&1 && echo "$u"
	done | sort -u
}

# add_subid FILE USER gives USER 65536 subordinate ids after the highest range in
# use, so newuidmap can map a full range for rootless sandboxes.
add_subid() {
	touch "$1"
	grep -q "^$2:" "$1" && return 0
	start=$(awk -F: 'BEGIN { m = 100000 } NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print m }' "$1")
	echo "$2:$start:65536" >>"$1"
	log "added $2:$start:65536 to $1"
}

# --- shells ---------------------------------------------------------------------

enable_aliases() {
	mkdir -p "$(dirname "$PROFILE_SNIPPET")"
	cat >"$PROFILE_SNIPPET" <<EOF
$MARKER (Dev Container Feature). Computed at each shell start, so package
# managers installed after this feature are covered too. Bypass: PHYLUM_BOX_DISABLE=1 npm …
if [ -x $BIN ]; then
	if [ -n "\${BASH_VERSION:-}" ]; then
		eval "\$($BIN shell-init bash)"
	elif [ -n "\${ZSH_VERSION:-}" ]; then
		eval "\$($BIN shell-init zsh)"
	else
		eval "\$($BIN shell-init sh)"
	fi
fi
EOF
	chmod 0644 "$PROFILE_SNIPPET"
	# Interactive non-login shells do not read /etc/profile.d.
	for rc in /etc/bash.bashrc /etc/zsh/zshrc; do
		[ -f "$rc" ] || continue
		grep -qF "$MARKER" "$rc" && continue
		printf '\n%s\n[ -r %s ] && . %s\n' "$MARKER" "$PROFILE_SNIPPET" "$PROFILE_SNIPPET" >>"$rc"
	done
	mkdir -p "$(dirname "$FISH_SNIPPET")"
	cat >"$FISH_SNIPPET" <<EOF
$MARKER (Dev Container Feature). Bypass: PHYLUM_BOX_DISABLE=1 npm …
if status is-interactive; and test -x $BIN
    $BIN shell-init fish | source
end
EOF
	chmod 0644 "$FISH_SNIPPET"
	log "package managers go through phylum-box in bash, zsh, fish and sh ($PROFILE_SNIPPET)"
}

# --- database -------------------------------------------------------------------

db_update() {
	users=$(container_users)
	[ -n "$users" ] || users=root
	to=""
	command -v timeout >/dev/null 2>&1 && to="timeout 600"
	# su keeps the environment (it is not a login shell), so the source reaches the user.
	[ -n "$DBSOURCE" ] && export PHYLUM_BOX_DB_SOURCE="$DBSOURCE"
	cmd="$to $BIN db update"
	for u in $users; do
		if [ "$u" = root ]; then
			set -- sh -c "$cmd"
		else
			set -- su "$u" -s /bin/sh -c "$cmd"
		fi
		if ! "$@" >&2; then
			log "note: 'phylum-box db update' did not complete for $u (see above; often no network at build time); run it later in the container"
		fi
	done
}

runtime_packages
install_binary
for u in $(container_users); do
	add_subid /etc/subuid "$u"
	add_subid /etc/subgid "$u"
done
[ "$ALIASES" = true ] && enable_aliases
[ "$DBUPDATE" = true ] && db_update
if [ -n "$apt_updated" ]; then
	rm -rf /var/lib/apt/lists/*
fi
log "done"
