package main

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// keepEnvironment restores the whole process environment after a test that runs
// neutralEnvironment.
func keepEnvironment(t *testing.T) {
	t.Helper()
	saved := os.Environ()
	t.Cleanup(func() {
		os.Clearenv()
		for _, e := range saved {
			k, v, _ := strings.Cut(e, "=")
			os.Setenv(k, v)
		}
	})
}

func readPages(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	return out
}

// TestReferenceUpToDate regenerates the reference and compares it with the
// committed docs/reference, so flag changes cannot leave the docs behind.
func TestReferenceUpToDate(t *testing.T) {
	keepEnvironment(t)
	// Machine-specific settings must not leak into the pages.
	os.Setenv("CI", "true")
	os.Setenv("PHYLUM_BOX_MEMORY", "123MiB")
	os.Setenv("XDG_CACHE_HOME", "/somewhere/else")

	tmp := t.TempDir()
	app, _, stderr := testApp()
	if code := Main(context.Background(), app, []string{"docs", "--dir", tmp}); code != 0 {
		t.Fatalf("phylum-box docs: exit %d\n%s", code, stderr)
	}
	want := readPages(t, tmp)
	got := readPages(t, filepath.Join("..", "..", "docs", "reference"))

	var problems []string
	for name, body := range want {
		switch old, ok := got[name]; {
		case !ok:
			problems = append(problems, name+" is missing")
		case old != body:
			problems = append(problems, name+" differs")
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			problems = append(problems, name+" documents a command that no longer exists")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Fatalf("docs/reference is out of date (%s).\nRegenerate it from the repository root with:\n  %s",
			strings.Join(problems, "; "), referenceRegenerate)
	}
}

func TestDocsCommand(t *testing.T) {
	keepEnvironment(t)
	dir := t.TempDir()
	stale := filepath.Join(dir, "removed-command.md")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	app, _, stderr := testApp()
	if code := Main(context.Background(), app, []string{"docs", "--dir", dir}); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a page for a command that no longer exists was kept")
	}
	pages := readPages(t, dir)
	index := pages["README.md"]
	for _, c := range commandInfos(false) {
		page, ok := pages[pageName(c.Name)]
		if !ok {
			t.Errorf("no page for %s", c.Name)
			continue
		}
		if !strings.Contains(index, "("+pageName(c.Name)+")") {
			t.Errorf("index does not link %s", c.Name)
		}
		for _, f := range c.Flags {
			if !strings.Contains(page, "`--"+f.Name+"`") {
				t.Errorf("%s page lacks --%s", c.Name, f.Name)
			}
		}
	}
	if _, ok := pages["docs.md"]; ok {
		t.Error("the hidden docs command got a page")
	}
	for _, want := range []string{"`--ci`", "`--config`", "PHYLUM_BOX_MEMORY"} {
		if !strings.Contains(index, want) {
			t.Errorf("index lacks %s", want)
		}
	}
	// Environment-neutral: CI defaults off, paths say $HOME.
	if strings.Contains(index, "| `--ci` | | `true`") {
		t.Error("the --ci default leaked from the environment")
	}
}
