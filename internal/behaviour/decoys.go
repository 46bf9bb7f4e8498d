package behaviour

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/internal/sandbox"
)

// Decoys are fake credential and shell-startup files for one run, kept in a host
// directory and bound into the container's $HOME. A read of a secret decoy or a
// write to a persistence decoy is seen by Watch (the host inode is the one the
// container opens through the bind).
//
// Files the package managers themselves read while building are deliberately not
// decoyed — ~/.npmrc, ~/.yarnrc(.yml), ~/.gitconfig, pip.conf, ~/.cargo/config.toml,
// ~/.gemrc, ~/.bundle/config: npm, yarn, pnpm, pip, cargo and bundler open them on
// every run, so a decoy there would report the manager, not a package, on every
// install. (They also carry settings that change what the manager does.) The real
// ones, sanitised, are bound by the plans where a step needs them.
type Decoys struct {
	// Dir is the host directory holding the files (given to NewDecoys).
	Dir string
	// Home is the container's $HOME the decoys are bound into.
	Home string
	// Ecosystem is the install's (precheck.NPM, …), for Binds to leave out what
	// its manager reads itself; NewRecorder sets it when empty.
	Ecosystem string
	// Canary is this run's marker, a 16-hex-digit string embedded in every token
	// of the secret decoys: seen in an exec's argv, the decoys' content is leaving.
	Canary string
	// Secrets are read-only single-file binds (sandbox.Exec.Files); a read is a
	// secret read.
	Secrets []sandbox.FileBind
	// Persistence are writable binds of files and directories
	// (sandbox.Exec.Writable); a write is persistence.
	Persistence []sandbox.FileBind
}

// Remove deletes the decoys' directory. What is in it was written by package
// code (the persistence decoys are writable): it is only ever removed, never read
// or synced. A directory the container chowned to another of its ids can be left
// behind rootless, as in the scratch dir.
func (d *Decoys) Remove() error {
	if err := os.RemoveAll(d.Dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(d.Dir, func(p string, e os.DirEntry, err error) error {
		if e != nil && e.IsDir() && e.Type()&os.ModeSymlink == 0 {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(d.Dir)
}

// managerReads are decoys a manager of the ecosystem opens itself (ecosystem →
// paths below $HOME): requests, under poetry, reads ~/.netrc for every request
// without credentials, and pip reads it after a 401 — a decoy there would report
// the manager, filed under whichever package's build was running.
var managerReads = map[string][]string{"PyPI": {".netrc"}}

// Binds are the decoy binds for a step whose binds already hold targets (the
// step's own credential files, a bound ~/.netrc): a decoy never replaces a real
// file the step was given, nor sits where the manager of d.Ecosystem reads (set
// it, or let NewRecorder set it, first). ro goes to sandbox.Exec.Files, rw to
// sandbox.Exec.Writable.
func (d *Decoys) Binds(taken []sandbox.FileBind) (ro, rw []sandbox.FileBind) {
	used := map[string]bool{}
	for _, rel := range managerReads[d.Ecosystem] {
		used[filepath.Join(d.Home, rel)] = true
	}
	for _, b := range taken {
		used[filepath.Clean(b.Target)] = true
	}
	keep := func(bs []sandbox.FileBind) []sandbox.FileBind {
		var out []sandbox.FileBind
		for _, b := range bs {
			if !used[filepath.Clean(b.Target)] {
				out = append(out, b)
			}
		}
		return out
	}
	return keep(d.Secrets), keep(d.Persistence)
}

// decoyFile is one decoy: its place under $HOME and its content.
type decoyFile struct {
	rel     string
	mode    os.FileMode
	content string
}

// NewDecoys writes the decoys into dir (an existing, empty directory private to
// the run that the container's root can traverse, discarded after the run) owned
// by uid:gid — the container root's host ids, so the files look like the user's
// own inside and a read or write succeeds (a refused open is not reported by
// inotify). home is the container's $HOME.
func NewDecoys(dir, home string, uid, gid int) (*Decoys, error) {
	if !filepath.IsAbs(dir) || !filepath.IsAbs(home) || filepath.Clean(home) == "/" {
		return nil, fmt.Errorf("decoys: dir %q and home %q must be absolute", dir, home)
	}
	// The container's root must be able to pass through dir to the binds.
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, fmt.Errorf("decoys: %w", err)
	}
	canary := randHex(8)
	d := &Decoys{Dir: dir, Home: filepath.Clean(home), Canary: canary}
	g := gen{canary: canary}
	for _, f := range g.secretFiles() {
		src, err := d.write(f, uid, gid)
		if err != nil {
			return nil, err
		}
		d.Secrets = append(d.Secrets, sandbox.FileBind{Source: src, Target: filepath.Join(d.Home, f.rel)})
	}
	for _, f := range persistenceFiles {
		src, err := d.write(f, uid, gid)
		if err != nil {
			return nil, err
		}
		d.Persistence = append(d.Persistence, sandbox.FileBind{Source: src, Target: filepath.Join(d.Home, f.rel)})
	}
	return d, nil
}

// write puts f below d.Dir/home (a directory when f.rel ends in "/"), returning its
// host path. Each decoy gets its own host path, so the bind sources are distinct.
func (d *Decoys) write(f decoyFile, uid, gid int) (string, error) {
	p := filepath.Join(d.Dir, "home", f.rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("decoys: %w", err)
	}
	if strings.HasSuffix(f.rel, "/") {
		if err := os.Mkdir(p, f.mode); err != nil {
			return "", fmt.Errorf("decoys: %w", err)
		}
	} else if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
		return "", fmt.Errorf("decoys: %w", err)
	}
	// Every directory from Dir down belongs to the container's root, as the
	// user's own home would.
	for q := p; q != d.Dir && strings.HasPrefix(q, d.Dir+"/"); q = filepath.Dir(q) {
		if err := os.Lchown(q, uid, gid); err != nil && !errors.Is(err, os.ErrPermission) {
			return "", fmt.Errorf("decoys: %w", err)
		}
	}
	return p, nil
}

// persistenceFiles are the files and directories a script writes to run again
// later, outside the install: shell startup files and the user's autostart and
// systemd units. Plausible defaults, so they look like a lived-in home.
var persistenceFiles = []decoyFile{
	{".bashrc", 0o644, `# ~/.bashrc: executed by bash(1) for non-login shells.

# If not running interactively, don't do anything
case $- in
    *i*) ;;
      *) return;;
esac

HISTCONTROL=ignoreboth
shopt -s histappend
HISTSIZE=1000
HISTFILESIZE=2000
shopt -s checkwinsize

alias ll='ls -alF'
alias la='ls -A'
alias l='ls -CF'

if [ -f ~/.bash_aliases ]; then
    . ~/.bash_aliases
fi
export PATH="$HOME/.local/bin:$PATH"
`},
	{".profile", 0o644, `# ~/.profile: executed by the command interpreter for login shells.

if [ -n "$BASH_VERSION" ]; then
    if [ -f "$HOME/.bashrc" ]; then
	. "$HOME/.bashrc"
    fi
fi

if [ -d "$HOME/bin" ] ; then
    PATH="$HOME/bin:$PATH"
fi
`},
	{".zshrc", 0o644, `# Lines configured by zsh-newuser-install
HISTFILE=~/.zsh_history
HISTSIZE=10000
SAVEHIST=10000
setopt appendhistory autocd
bindkey -e
autoload -Uz compinit
compinit
export PATH="$HOME/.local/bin:$PATH"
`},
	{".bash_profile", 0o644, `# ~/.bash_profile
[ -f ~/.profile ] && . ~/.profile
`},
	{".bash_login", 0o644, `# ~/.bash_login
[ -f ~/.bashrc ] && . ~/.bashrc
`},
	{".zprofile", 0o644, `# ~/.zprofile
export EDITOR=vim
`},
	// Written, not read, is what counts: git reads ~/.gitconfig in a build (a
	// decoy read would be noise), but a build has no reason to change it (an
	// alias or core.hooksPath there runs code in every repository).
	{".gitconfig", 0o644, `[user]
	name = Dev
	email = dev@example.com
[pull]
	rebase = false
[init]
	defaultBranch = main
`},
	{".ssh/authorized_keys", 0o600, ""},
	{".ssh/config", 0o600, `Host *
    ServerAliveInterval 60
`},
	{".config/fish/", 0o755, ""},
	{".local/bin/", 0o755, ""},
	{".config/autostart/", 0o755, ""},
	{".config/systemd/user/", 0o755, ""},
}

// gen makes the secret decoys' content: right formats, random-looking tokens that
// are fresh per run and carry the canary. None is a real credential.
type gen struct{ canary string }

// tok is n characters of alphabet-free random text around the canary: hex letters
// and digits only, so the canary can sit in any token format.
func (g gen) tok(n int) string {
	if n <= len(g.canary) {
		return randHex((n + 1) / 2)[:n]
	}
	pre := (n - len(g.canary)) / 2
	return randHex((pre + 1) / 2)[:pre] + g.canary + randHex((n - pre - len(g.canary) + 1) / 2)[:n-pre-len(g.canary)]
}

func (g gen) b64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	s := base64.StdEncoding.EncodeToString(b)
	mid := len(s) / 2
	if mid < 2*len(g.canary) {
		return s // too short to carry it unnoticed
	}
	return s[:mid-len(g.canary)] + g.canary + s[mid:]
}

// pemBody is a private key's base64 body — magic, then n random bytes — in lines
// of 70 characters, the canary inside the third line (never split by a break).
func (g gen) pemBody(magic string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	body := []byte(wrap(magic+base64.StdEncoding.EncodeToString(b), 70))
	copy(body[2*71+20:], g.canary)
	return string(body)
}

// wrap breaks s into lines of n characters.
func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

func (g gen) secretFiles() []decoyFile {
	user := "dev"
	ghToken := "gho_" + g.tok(36)
	patToken := "ghp_" + g.tok(36)
	awsID := "AKIA" + strings.ToUpper(g.tok(16))
	awsSecret := g.tok(40)
	ethAddr := randHex(20)
	return []decoyFile{
		{".ssh/id_rsa", 0o600, "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
			g.pemBody("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABlwAAAAdzc2gtcn", 1800) +
			"-----END OPENSSH PRIVATE KEY-----\n"},
		{".ssh/id_rsa.pub", 0o644, "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ" + g.b64(380) + " " + user + "@workstation\n"},
		{".ssh/id_ed25519", 0o600, "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
			g.pemBody("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", 280) +
			"-----END OPENSSH PRIVATE KEY-----\n"},
		{".ssh/id_ed25519.pub", 0o644, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + g.b64(32)[:43] + " " + user + "@workstation\n"},
		{".ssh/known_hosts", 0o644, "|1|" + g.b64(20) + "|" + g.b64(20) + " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + g.b64(32)[:43] + "\n" +
			"|1|" + g.b64(20) + "|" + g.b64(20) + " ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBB" + g.b64(64) + "\n"},
		{".aws/credentials", 0o600, "[default]\naws_access_key_id = " + awsID + "\naws_secret_access_key = " + awsSecret + "\n"},
		{".aws/config", 0o600, "[default]\nregion = us-east-1\noutput = json\n"},
		{".config/gh/hosts.yml", 0o600, "github.com:\n    users:\n        " + user + ":\n            oauth_token: " + ghToken +
			"\n    git_protocol: https\n    oauth_token: " + ghToken + "\n    user: " + user + "\n"},
		{".docker/config.json", 0o600, `{
	"auths": {
		"https://index.docker.io/v1/": {
			"auth": "` + base64.StdEncoding.EncodeToString([]byte(user+":dckr_pat_"+g.tok(27))) + `"
		},
		"ghcr.io": {
			"auth": "` + base64.StdEncoding.EncodeToString([]byte(user+":"+patToken)) + `"
		}
	}
}
`},
		{".kube/config", 0o600, `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ` + g.b64(800) + `
    server: https://10.24.0.1:6443
  name: prod
contexts:
- context:
    cluster: prod
    user: admin
  name: prod
current-context: prod
kind: Config
preferences: {}
users:
- name: admin
  user:
    token: ` + g.tok(64) + `
`},
		{".git-credentials", 0o600, "https://" + user + ":" + patToken + "@github.com\n"},
		{".pypirc", 0o600, "[distutils]\nindex-servers =\n    pypi\n\n[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc" + g.b64(120) + "\n"},
		{".netrc", 0o600, "machine github.com\n  login " + user + "\n  password " + patToken + "\n"},
		{".bash_history", 0o600, "git status\nnpm test\nexport AWS_SECRET_ACCESS_KEY=" + awsSecret +
			"\naws s3 ls\ngh auth status\nssh deploy@10.24.0.7\nnpm publish --otp 481516\ngit push origin main\n"},
		{".zsh_history", 0o600, ": 1717000000:0;git pull\n: 1717000042:0;export GITHUB_TOKEN=" + patToken +
			"\n: 1717000090:0;docker login ghcr.io\n: 1717000120:0;kubectl get pods\n"},
		{".config/solana/id.json", 0o600, solanaKey()},
		{".ethereum/keystore/UTC--2024-03-11T09-41-27.118Z--" + ethAddr, 0o600, `{"address":"` + ethAddr +
			`","crypto":{"cipher":"aes-128-ctr","ciphertext":"` + randHex(16) + g.canary + randHex(8) +
			`","cipherparams":{"iv":"` + randHex(16) + `"},"kdf":"scrypt","kdfparams":{"dklen":32,"n":262144,"p":1,"r":8,"salt":"` +
			randHex(32) + `"},"mac":"` + randHex(32) + `"},"id":"` + uuid() + `","version":3}` + "\n"},
		{".config/google-chrome/Default/Login Data", 0o600, loginData(g)},
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	h := randHex(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// solanaKey is a keypair file: a JSON array of 64 byte values.
func solanaKey() string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	parts := make([]string, len(b))
	for i, v := range b {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// loginData is a browser's saved-passwords database as far as a glance (or file(1))
// tells: an SQLite header and pages holding a logins row.
func loginData(g gen) string {
	const page = 4096
	b := make([]byte, 4*page)
	copy(b, "SQLite format 3\x00")
	b[16], b[17] = page>>8, page&0xff // page size
	b[18], b[19] = 1, 1               // file format versions
	b[21], b[22], b[23] = 64, 32, 32  // payload fractions
	b[31] = 4                         // pages in the database
	b[47] = 4                         // schema format
	b[59] = 1                         // text encoding: UTF-8
	row := "https://accounts.example-bank.com/login\x00dev@example.com\x00v10" + g.tok(48)
	copy(b[3*page+page/2:], row)
	return string(b)
}
