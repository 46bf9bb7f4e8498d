package behaviour

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/internal/sandbox"
)

func TestDecoyContent(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDecoys(dir, "/home/u", os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Canary) != 16 {
		t.Fatalf("canary %q", d.Canary)
	}
	d2, err := NewDecoys(t.TempDir(), "/home/u", os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	if d2.Canary == d.Canary {
		t.Errorf("two runs share the canary %s", d.Canary)
	}
	targets := map[string]string{}
	for _, b := range d.Secrets {
		data, err := os.ReadFile(b.Source)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(b.Source, dir+"/") || !strings.HasPrefix(b.Target, "/home/u/") {
			t.Errorf("bind %+v is not from %s to $HOME", b, dir)
		}
		targets[strings.TrimPrefix(b.Target, "/home/u/")] = string(data)
	}
	// The files a build's tools read themselves are never decoyed.
	for _, never := range []string{".npmrc", ".yarnrc", ".yarnrc.yml", ".gitconfig", ".config/pip/pip.conf", ".cargo/config.toml", ".gemrc"} {
		if _, ok := targets[never]; ok {
			t.Errorf("%s is decoyed: the manager reads it in every build", never)
		}
	}
	for rel, want := range map[string]string{
		".ssh/id_rsa":            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE",
		".ssh/id_ed25519.pub":    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI",
		".aws/credentials":       "[default]\naws_access_key_id = AKIA",
		".config/gh/hosts.yml":   "github.com:\n",
		".docker/config.json":    `"auths"`,
		".kube/config":           "apiVersion: v1\n",
		".git-credentials":       "https://dev:ghp_",
		".pypirc":                "[distutils]",
		".netrc":                 "machine github.com",
		".config/solana/id.json": "[",
		".config/google-chrome/Default/Login Data": "SQLite format 3\x00",
		".bash_history": "git status\n",
		".zsh_history":  ": 1717000000:0;",
	} {
		got, ok := targets[rel]
		if !ok {
			t.Errorf("no decoy at ~/%s", rel)
			continue
		}
		if !strings.HasPrefix(got, want) && !(rel == ".docker/config.json" && strings.Contains(got, want)) {
			t.Errorf("~/%s starts %q, want %q", rel, clip(got, 60), want)
		}
	}
	// Every token carries the canary, so content that leaves is recognised.
	for _, rel := range []string{".ssh/id_rsa", ".ssh/id_ed25519", ".aws/credentials", ".config/gh/hosts.yml", ".git-credentials", ".pypirc", ".netrc", ".kube/config", ".bash_history"} {
		if !strings.Contains(strings.ToLower(targets[rel]), d.Canary) {
			t.Errorf("~/%s does not carry the canary", rel)
		}
	}
	keystores := 0
	for rel := range targets {
		if strings.HasPrefix(rel, ".ethereum/keystore/UTC--") {
			keystores++
		}
	}
	if keystores != 1 {
		t.Errorf("%d ethereum keystore decoys", keystores)
	}
	// Persistence decoys: shell startup files, git's and ssh's user config, the
	// autostart/systemd dirs and ~/.local/bin (written, never read, is reported).
	var rw []string
	for _, b := range d.Persistence {
		rw = append(rw, strings.TrimPrefix(b.Target, "/home/u/"))
	}
	if got := strings.Join(rw, " "); got != ".bashrc .profile .zshrc .bash_profile .bash_login .zprofile .gitconfig .ssh/authorized_keys .ssh/config .config/fish .local/bin .config/autostart .config/systemd/user" {
		t.Errorf("persistence decoys: %s", got)
	}
	if st, err := os.Stat(filepath.Join(dir, "home", ".config", "systemd", "user")); err != nil || !st.IsDir() {
		t.Errorf("systemd user dir decoy: %v", err)
	}
}

func TestBindsLeaveRealFilesAlone(t *testing.T) {
	d, err := NewDecoys(t.TempDir(), "/home/u", os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	all, _ := d.Binds(nil)
	ro, rw := d.Binds([]sandbox.FileBind{{Source: "/real/.netrc", Target: "/home/u/.netrc"}, {Source: "/real/bashrc", Target: "/home/u/.bashrc"}})
	if len(ro) != len(all)-1 || len(rw) != len(d.Persistence)-1 {
		t.Fatalf("Binds kept %d of %d secrets, %d of %d persistence", len(ro), len(all), len(rw), len(d.Persistence))
	}
	for _, b := range append(ro, rw...) {
		if b.Target == "/home/u/.netrc" || b.Target == "/home/u/.bashrc" {
			t.Errorf("a decoy replaces the step's own %s", b.Target)
		}
	}
}

func TestBindsSkipWhatTheManagerReads(t *testing.T) {
	d, err := NewDecoys(t.TempDir(), "/home/u", os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	has := func(bs []sandbox.FileBind, target string) bool {
		for _, b := range bs {
			if b.Target == target {
				return true
			}
		}
		return false
	}
	d.Ecosystem = "npm"
	npm, _ := d.Binds(nil)
	r0, err := NewRecorder("PyPI", d) // a Recorder leaves a set ecosystem alone
	if err != nil {
		t.Fatal(err)
	}
	r0.Close()
	if d.Ecosystem != "npm" {
		t.Fatalf("NewRecorder changed the decoys' ecosystem to %s", d.Ecosystem)
	}
	d.Ecosystem = ""
	r, err := NewRecorder("PyPI", d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	py, _ := d.Binds(nil)
	if !has(npm, "/home/u/.netrc") || has(py, "/home/u/.netrc") {
		t.Errorf("~/.netrc decoyed for npm %v, for PyPI %v; want npm only (poetry and pip read it)", has(npm, "/home/u/.netrc"), has(py, "/home/u/.netrc"))
	}
	if !has(py, "/home/u/.ssh/id_rsa") || len(py) != len(npm)-1 {
		t.Errorf("PyPI decoys: %d, npm: %d", len(py), len(npm))
	}
}
