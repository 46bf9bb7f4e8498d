package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAllowBinsParse(t *testing.T) {
	p, err := Parse("p.yaml", []byte("allow_bins: [\"node@20.1.0\", \"@yarnpkg/cli-dist\", corepack]\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, version string
		want          bool
	}{
		{"node", "20.1.0", true},
		{"node", "20.2.0", false}, // pinned to a version
		{"@yarnpkg/cli-dist", "4.5.0", true},
		{"corepack", "0.30.0", true},
		{"npm", "10.9.0", false},
	}
	for _, tt := range tests {
		if got := p.BinsAllowed("npm", tt.name, tt.version); got != tt.want {
			t.Errorf("BinsAllowed(%s@%s) = %v, want %v", tt.name, tt.version, got, tt.want)
		}
	}
	if Default().BinsAllowed("npm", "node", "20.1.0") {
		t.Error("the default policy lets a package shadow node")
	}
}

func TestAllowBinsErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"allow_bins: node\n", "p.yaml:1:13: want a list"},
		{"allow_bins:\n  - \"node@\"\n", `p.yaml:2:5: allow_bins entry "node@"`},
		{"allow_bins:\n  - \"\"\n", `p.yaml:2:5: allow_bins entry ""`},
		{"allow_bins:\n  - {package: node}\n", "p.yaml:2:5: want a single value"},
		{"allow_bin: [node]\n", `unknown key "allow_bin"`},
	}
	for _, tt := range tests {
		_, err := Parse("p.yaml", []byte(tt.doc))
		var pe *Error
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one containing %q", tt.doc, err, tt.want)
		}
	}
}

// Entries concatenate across layers, and a project file adding one is reported:
// it lets a dependency replace `node` or `git` for the next `npm test`.
func TestAllowBinsProjectWeakens(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "user.yaml")
	if err := os.WriteFile(user, []byte("allow_bins: [corepack]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	proj := filepath.Join(dir, "proj")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, ProjectFile), []byte("allow_bins: [\"node@20.1.0\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(Sources{UserFile: user, ProjectDir: proj})
	if err != nil {
		t.Fatal(err)
	}
	if !p.BinsAllowed("npm", "corepack", "1.0.0") || !p.BinsAllowed("npm", "node", "20.1.0") {
		t.Errorf("allow_bins = %v, want both layers' entries", p.AllowBins)
	}
	if len(p.Weakened) != 1 || !strings.Contains(p.Weakened[0], "allow_bins") || !strings.Contains(p.Weakened[0], "node@20.1.0") {
		t.Errorf("weakened = %q, want the project's allow_bins entry", p.Weakened)
	}
	// The user's own entry is not a weakening.
	p, err = Load(Sources{UserFile: user})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Weakened) != 0 {
		t.Errorf("the user's allow_bins reported as weakening: %q", p.Weakened)
	}
}
