package analysis

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// h9RbPayload is system('id') in base64.
const h9RbPayload = "c3lzdGVtKCdpZCcp"

// gemRaw is a .gem of the given outer members, in order.
func gemRaw(t *testing.T, members ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		tw.WriteHeader(&tar.Header{Name: m[0], Mode: 0o444, Size: int64(len(m[1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(m[1]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzOf(parts ...[]byte) []byte {
	var buf bytes.Buffer
	for _, p := range parts { // one gzip member each
		zw := gzip.NewWriter(&buf)
		zw.Write(p)
		zw.Close()
	}
	return buf.Bytes()
}

// tarNoEnd is a tar of the entries without its end-of-archive blocks.
func tarNoEnd(t *testing.T, entries map[string]string, end bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, b := range entries {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write([]byte(b))
	}
	tw.Flush()
	if end {
		tw.Close()
	}
	return buf.Bytes()
}

func gemFindings(t *testing.T, data []byte) []Finding {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x-1.0.0.gem"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := archiveIn(context.Background(), Package{"RubyGems", "x", "1.0.0"}, dir, "x-1.0.0.gem")
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func hasFinding(fs []Finding, rule, evidence string) bool {
	for _, f := range fs {
		if f.Rule == rule && f.Severity == High {
			for _, e := range f.Evidence {
				if strings.Contains(e, evidence) {
					return true
				}
			}
		}
	}
	return false
}

// RubyGems reads data.tar.gz with Zlib::GzipReader, which stops at the end of the
// first gzip member: a second member whose clean extconf.rb replaces the first's
// must not hide the payload RubyGems installs. The twin: the same layout, clean
// in both members, has no finding.
func TestArchiveGemSecondGzipMember(t *testing.T) {
	evil := "require 'base64'\nbegin\n  eval(Base64.decode64('" + h9RbPayload + "'))\nrescue StandardError\nend\n"
	clean := "require 'mkmf'\ncreate_makefile('x/x')\n"
	meta := gzOf([]byte("extensions:\n- ext/x/extconf.rb\n"))
	attack := gemRaw(t, [2]string{"metadata.gz", string(meta)}, [2]string{"data.tar.gz", string(gzOf(
		tarNoEnd(t, map[string]string{"ext/x/extconf.rb": evil}, false),
		tarNoEnd(t, map[string]string{"ext/x/extconf.rb": clean}, true)))})
	if fs := gemFindings(t, attack); !hasFinding(fs, RuleEvalDecode, "ext/x/extconf.rb:3:") {
		t.Errorf("the payload in data.tar.gz's first gzip member was not found: %s", dump(fs))
	}
	twin := gemRaw(t, [2]string{"metadata.gz", string(meta)}, [2]string{"data.tar.gz", string(gzOf(
		tarNoEnd(t, map[string]string{"ext/x/extconf.rb": clean}, false),
		tarNoEnd(t, map[string]string{"ext/x/extconf.rb": clean}, true)))})
	if fs := gemFindings(t, twin); hasFinding(fs, RuleEvalDecode, "") {
		t.Errorf("legitimate: %s", dump(fs))
	}
}

// RubyGems loads the specification from metadata.gz and then from metadata (the
// later replacing the earlier): an extension named only in the later one, whose
// name no rule knows, is still read as install-time code. The twin: the same
// extension file, clean, has no finding.
func TestArchiveGemSecondSpecification(t *testing.T) {
	evil := "require 'base64'\nbegin\n  eval(Base64.decode64('" + h9RbPayload + "'))\nrescue StandardError\nend\n"
	for _, c := range []struct {
		body string
		want bool
	}{{evil, true}, {"require 'mkmf'\ncreate_makefile('x/x')\n", false}} {
		g := gemRaw(t,
			[2]string{"metadata.gz", string(gzOf([]byte("extensions: []\n")))},
			[2]string{"metadata", "extensions:\n- ext/x/build_extconf_x.rb\n"},
			[2]string{"data.tar.gz", string(gzOf(tarNoEnd(t, map[string]string{"ext/x/build_extconf_x.rb": c.body, "lib/x.rb": "module X; end\n"}, true)))})
		fs := gemFindings(t, g)
		if got := hasFinding(fs, RuleEvalDecode, "ext/x/build_extconf_x.rb:3:"); got != c.want {
			t.Errorf("want finding %v, got %s", c.want, dump(fs))
		}
	}
}

// pip splits an sdist member's name at its first "/" or "\" after stripping
// leading "/" and "\" (split_leading_dir): `x-1.0\setup.py` and `/x-1.0/setup.py`
// are its setup.py, read as such; without a shared top, pip refuses a member named
// from the root, and the analysis drops it. The twins: the same layouts, plain.
func TestArchiveSdistPipNames(t *testing.T) {
	evil := "import base64\nfrom setuptools import setup\ntry:\n    exec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk='))\nexcept Exception:\n    pass\nsetup(name='x')\n"
	plain := "from setuptools import setup\nsetup(name='x')\n"
	for _, top := range []string{`x-1.0\`, "/x-1.0/", `\x-1.0/`, "//x-1.0//"} {
		for _, c := range []struct {
			body string
			want bool
		}{{evil, true}, {plain, false}} {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			tw := tar.NewWriter(zw)
			for n, b := range map[string]string{"setup.py": c.body, "PKG-INFO": "Name: x\n", "x.py": "V = 1\n"} {
				tw.WriteHeader(&tar.Header{Name: top + n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
				tw.Write([]byte(b))
			}
			tw.Close()
			zw.Close()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "x-1.0.tar.gz"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			fs, err := archiveIn(context.Background(), Package{"PyPI", "x", "1.0"}, dir, "x-1.0.tar.gz")
			if err != nil {
				t.Fatal(err)
			}
			if got := hasFinding(fs, RuleEvalDecode, "setup.py:4:"); got != c.want {
				t.Errorf("members %q…: want a finding %v, got %s", top, c.want, dump(fs))
			}
		}
	}
}

// pip unpacks an sdist named .tbz as a bzip2 tar: the analysis reads it too (it
// was an error, a warning in the log, and the build ran unread). The twin: the
// same sdist, plain, has no finding.
func TestArchiveSdistTbz(t *testing.T) {
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("no bzip2 to write the test archive")
	}
	evil := "import base64\nfrom setuptools import setup\ntry:\n    exec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk='))\nexcept Exception:\n    pass\nsetup(name='x')\n"
	for _, c := range []struct {
		body string
		want bool
	}{{evil, true}, {"from setuptools import setup\nsetup(name='x')\n", false}} {
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(tarNoEnd(t, map[string]string{"x-1.0/setup.py": c.body, "x-1.0/PKG-INFO": "Name: x\n"}, true))
		data, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x-1.0.tbz"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		fs, err := archiveIn(context.Background(), Package{"PyPI", "x", "1.0"}, dir, "x-1.0.tbz")
		if err != nil {
			t.Fatal(err)
		}
		if got := hasFinding(fs, RuleEvalDecode, "setup.py:4:"); got != c.want {
			t.Errorf("want a finding %v, got %s", c.want, dump(fs))
		}
	}
}
