package root

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdtest"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/docs"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/shellinit"
	"github.com/phylum-box/phylum-box/managers"
)

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
	cmdtest.KeepEnvironment(t)
	// Machine-specific settings must not leak into the pages.
	os.Setenv("CI", "true")
	os.Setenv("PHYLUM_BOX_MEMORY", "123MiB")
	os.Setenv("XDG_CACHE_HOME", "/somewhere/else")

	tmp := t.TempDir()
	app, _, stderr := cmdutil.TestApp()
	if code := Main(context.Background(), app, "test", []string{"docs", "--dir", tmp}); code != 0 {
		t.Fatalf("phylum-box docs: exit %d\n%s", code, stderr)
	}
	want := readPages(t, tmp)
	got := readPages(t, filepath.Join("..", "..", "..", "..", "docs", "reference"))

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
			strings.Join(problems, "; "), docs.Regenerate)
	}
}

func TestDocsCommand(t *testing.T) {
	cmdtest.KeepEnvironment(t)
	dir := t.TempDir()
	stale := filepath.Join(dir, "removed-command.md")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	app, _, stderr := cmdutil.TestApp()
	if code := Main(context.Background(), app, "test", []string{"docs", "--dir", dir}); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a page for a command that no longer exists was kept")
	}
	pages := readPages(t, dir)
	index := pages["README.md"]
	for _, c := range cmdutil.CommandInfos(newTestRoot(), false) {
		page, ok := pages[docs.PageName(c.Name)]
		if !ok {
			t.Errorf("no page for %s", c.Name)
			continue
		}
		if !strings.Contains(index, "("+docs.PageName(c.Name)+")") {
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

// plannedCommands are named in the docs before they exist (issue 6: doctor).
var plannedCommands = map[string]bool{"doctor": true}

var (
	fencedBlock = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	inlineCode  = regexp.MustCompile("`([^`\n]+)`")
	invocation  = regexp.MustCompile(`phylum-box((?:[ \t][^` + "`" + `')|;#>\n]*)?)(?:$|[` + "`" + `')|;#>\n])`)
	lineComment = regexp.MustCompile(`(^|\s)//\s.*$`)
)

// docInvocations returns every `phylum-box …` command line in the code of a
// markdown text: fenced blocks, indented blocks and inline code.
func docInvocations(md string) [][]string {
	var code []string
	for _, m := range fencedBlock.FindAllStringSubmatch(md, -1) {
		code = append(code, m[1])
	}
	rest := fencedBlock.ReplaceAllString(md, "")
	for _, l := range strings.Split(rest, "\n") {
		if strings.HasPrefix(l, "    ") {
			code = append(code, l)
		}
	}
	for _, m := range inlineCode.FindAllStringSubmatch(rest, -1) {
		code = append(code, m[1])
	}
	var out [][]string
	for _, c := range code {
		for _, line := range strings.Split(c, "\n") {
			line = lineComment.ReplaceAllString(line, "") // jsonc comments are prose
			for _, m := range invocation.FindAllStringSubmatch(line, -1) {
				var args []string
				for _, f := range strings.Fields(m[1]) {
					if f == `\` {
						continue
					}
					if f = strings.Trim(f, `"'`); f != "" {
						args = append(args, f)
					}
				}
				out = append(out, args)
			}
		}
	}
	return out
}

// TestDocsExamplesUseRealFlags: every phylum-box command line shown in the docs
// names a real command and only flags that command accepts.
func TestDocsExamplesUseRealFlags(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "docs", "*.md"))
	more, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "docs", "devcontainer-feature", "*", "*.md"))
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("no docs")
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range docInvocations(string(b)) {
			// As Main parses: a package manager's arguments are its own.
			root := newTestRoot()
			if i, raw := cmdutil.RawCommandAt(root, args); raw != nil {
				if err := root.ParseFlags(args[:i]); err != nil {
					t.Errorf("%s: phylum-box %s: %v", f, strings.Join(args, " "), err)
				}
				continue
			}
			c, rest, err := root.Find(args)
			if err == nil && c == root {
				if err := root.ParseFlags(args); err != nil {
					t.Errorf("%s: phylum-box %s: %v", f, strings.Join(args, " "), err)
					continue
				}
				// A bare invocation, a package manager or a command another change adds.
				if words := root.Flags().Args(); len(words) > 0 &&
					!slices.Contains(shellinit.WrappedManagers, words[0]) && !plannedCommands[words[0]] {
					t.Errorf("%s: phylum-box %s: no command %q", f, strings.Join(args, " "), words[0])
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: phylum-box %s: %v", f, strings.Join(args, " "), err)
				continue
			}
			if err := c.ParseFlags(rest); err != nil {
				t.Errorf("%s: phylum-box %s: %v", f, strings.Join(args, " "), err)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("found no phylum-box command lines in the docs; is the extraction broken?")
	}
	t.Logf("checked %d command lines", checked)
}

func TestDocInvocations(t *testing.T) {
	md := "Run `phylum-box db update` daily; see `~/.cache/phylum-box`.\n\n" +
		"    eval \"$(phylum-box shell-init bash)\"\n\n" +
		"```yaml\n- run: sudo phylum-box setup --user \"$USER\"\n  path: ~/.local/share/phylum-box\n" +
		"// call phylum-box explicitly\n\"cmd\": \"phylum-box npm ci\" // note\n```\n"
	got := docInvocations(md)
	// Paths ending in phylum-box read as bare invocations, which check nothing.
	want := [][]string{{"setup", "--user", "$USER"}, nil, {"npm", "ci"}, {"shell-init", "bash"}, {"db", "update"}, nil}
	if len(got) != len(want) {
		t.Fatalf("docInvocations = %q, want %q", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("invocation %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// TestDocsYAMLBlocksParse: a workflow or config file shown in the docs must at
// least be valid YAML (copying it is how people use it).
func TestDocsYAMLBlocksParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "docs", "*.md"))
	yamlBlock := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range yamlBlock.FindAllStringSubmatch(string(b), -1) {
			var v any
			if err := yaml.Unmarshal([]byte(m[1]), &v); err != nil {
				t.Errorf("%s: a yaml block does not parse: %v", f, err)
			}
			n++
		}
	}
	t.Logf("parsed %d yaml blocks", n)
}

// TestManagerPagesListCommands: each manager's description (its reference page)
// lists what its managers.Doc says is intercepted and refused.
func TestManagerPagesListCommands(t *testing.T) {
	for _, name := range managers.Names() {
		m, _ := managers.Lookup(name)
		d, ok := m.(managers.Documented)
		if !ok {
			t.Errorf("%s: no managers.Documented", name)
			continue
		}
		doc := d.Doc()
		c, _, err := newTestRoot().Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		long := cmdutil.CommandLong(c)
		flat := strings.Join(strings.Fields(long), " ")
		for _, c := range doc.Intercepted {
			if !strings.Contains(flat, strings.Join(strings.Fields(c.How), " ")) {
				t.Errorf("%s: the description lacks %q", name, c.How)
			}
		}
		for _, r := range doc.Refused {
			if !strings.Contains(flat, strings.Join(strings.Fields(r.Form), " ")) || !strings.Contains(flat, strings.Join(strings.Fields(r.Advice), " ")) {
				t.Errorf("%s: the description lacks the refusal %q", name, r.Form)
			}
		}
		for _, l := range strings.Split(long, "\n") {
			if len(l) > cmdutil.DocWidth && !strings.Contains(strings.TrimSpace(l), " ") {
				continue // one long word
			}
			if len(l) > cmdutil.DocWidth {
				t.Errorf("%s: line longer than %d: %q", name, cmdutil.DocWidth, l)
			}
		}
	}
}
