package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Attacks on this session's new code (issue 13's archive analysis): each attack
// with its legitimate twin, root and rootless.

// gemMultistream rewrites a built .gem so that its data.tar.gz is two gzip
// members: the first holds the gem's files as built (its tar with no end-of-archive
// blocks), the second a tar of the replacement files. RubyGems' Zlib::GzipReader
// reads the first member only, so it installs the files as built; a reader that
// follows every member (Go's gzip by default) also reads the second, whose later
// entries replace the first's. checksums.yaml.gz is dropped (it is optional), and
// the index is rebuilt.
func gemMultistream(t *testing.T, gs *gemSource, nameVersion string, replace map[string]string) {
	t.Helper()
	p := filepath.Join(gs.Dir, "gems", nameVersion+".gem")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	outer := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		switch h.Name {
		case "checksums.yaml.gz":
			continue
		case "data.tar.gz":
			body = gemDataTwoMembers(t, body, replace)
		}
		h.Size = int64(len(body))
		if err := outer.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		outer.Write(body)
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command("gem", "generate_index", "-d", gs.Dir).CombinedOutput(); err != nil {
		t.Fatalf("gem generate_index: %v\n%s", err, o)
	}
}

func gemDataTwoMembers(t *testing.T, data []byte, replace map[string]string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var first bytes.Buffer
	tw := tar.NewWriter(&first)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Flush(); err != nil { // no Close: no end-of-archive blocks
		t.Fatal(err)
	}
	var second bytes.Buffer
	tw = tar.NewWriter(&second)
	for name, content := range replace {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, content)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, member := range [][]byte{first.Bytes(), second.Bytes()} {
		zw := gzip.NewWriter(&out)
		zw.Write(member)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// A gem whose data.tar.gz is two gzip members — the first with an extconf.rb
// that evals a base64 payload, the second with a clean extconf.rb of the same
// name — is read as RubyGems installs it (the first member only) and blocked
// before the build; its twin, the same two-member layout with a clean extconf.rb
// in both, installs.
func TestAttackSession4GemGzipMembers(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := regStartGems(t)
		enc := base64.StdEncoding.EncodeToString([]byte(rbBuildPayload))
		const ext = "ext/pbox_h9_ms/extconf.rb"
		gs.AddGem("pbox_h9_ms", "1.0.0", nil, map[string]string{
			ext:                 "require 'base64'\nbegin\n  eval(Base64.decode64('" + enc + "'))\nrescue StandardError\nend\n" + plainExtconf,
			"lib/pbox_h9_ms.rb": "module PboxH9Ms; end\n"}, ext)
		gemMultistream(t, gs, "pbox_h9_ms-1.0.0", map[string]string{ext: plainExtconf})
		gs.AddGem("pbox_h9_ms_twin", "1.0.0", nil, map[string]string{
			"ext/pbox_h9_ms_twin/extconf.rb": plainExtconf,
			"lib/pbox_h9_ms_twin.rb":         "module PboxH9MsTwin; end\n"}, "ext/pbox_h9_ms_twin/extconf.rb")
		gemMultistream(t, gs, "pbox_h9_ms_twin-1.0.0", map[string]string{"ext/pbox_h9_ms_twin/extconf.rb": plainExtconf})
		db := regMalDB(t, m, "RubyGems")

		b := bundleProject(t, m, gs, "pbox_h9_ms")
		before := treeHash(t, b.Project, true)
		r := b.bundle(db, "install")
		wantCode(t, r, 3, "a gem whose payload is in the first gzip member of data.tar.gz")
		wantStderr(t, r, "pbox_h9_ms@1.0.0", "PB-ANALYSIS-EVAL-DECODE", ext+":3:", "nothing was synced back")
		buildNeverRan(t, r, "bundle install --local")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked two-member gem")

		twin := bundleProject(t, m, gs, "pbox_h9_ms_twin")
		r = twin.bundle(db, "install")
		wantCode(t, r, 0, "a two-member gem with a clean extconf.rb")
		noAnalysisBlock(t, r)
		if gemDir(t, twin.Project, "pbox_h9_ms_twin-1.0.0") == "" {
			t.Errorf("pbox_h9_ms_twin was not installed\n%s", r)
		}
	})
}

// pip unpacks an sdist by splitting each member's name at its first "/" or "\",
// after stripping leading "/" and "\" (split_leading_dir), so members named
// `NAME-1.0\setup.py` or `/NAME-1.0/setup.py` are its setup.py. The analysis must
// read them as pip lays them out: a setup.py that execs a base64 payload under such
// names is blocked before the build; the twins, the same layouts with a plain
// setup.py, install.
func TestAttackSession4SdistMemberNames(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		enc := base64.StdEncoding.EncodeToString([]byte(pyBuildPayload))
		sdist := func(name, top string, evil bool) {
			mod := strings.ReplaceAll(name, "-", "_")
			setup := "from setuptools import setup\nsetup(name='" + name + "', version='1.0', py_modules=['" + mod + "'])\n"
			if evil {
				setup = "import base64\nfrom setuptools import setup\ntry:\n    exec(base64.b64decode('" + enc + "'))\nexcept Exception:\n    pass\n" + setup
			}
			files := map[string]string{
				"PKG-INFO":       "Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0\n",
				"pyproject.toml": "[build-system]\nrequires = [\"setuptools>=40.8.0\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n",
				"setup.py":       setup,
				mod + ".py":      "VALUE = 1\n",
			}
			ix.put(mod+"-1.0.tar.gz", regTarGz(t, strings.ReplaceAll(top, "NAME", mod+"-1.0"), files))
		}
		db := regMalDB(t, m, "PyPI")
		for _, c := range []struct{ name, top string }{
			{"pbox-h9-bslash", `NAME\`},
			{"pbox-h9-abs", "/NAME/"},
		} {
			sdist(c.name, c.top, true)
			sdist(c.name+"-twin", c.top, false)

			b := pyProject(t, m)
			before := treeHash(t, b.Project, true)
			r := b.pip(ix, db, "install", c.name)
			wantCode(t, r, 3, c.name+": an sdist whose setup.py (member "+c.top+"setup.py) execs a base64 payload")
			wantStderr(t, r, c.name+"@1.0", "PB-ANALYSIS-EVAL-DECODE", "setup.py:4:", "nothing was synced back")
			buildNeverRan(t, r, "pip")
			assertSameTree(t, before, treeHash(t, b.Project, true), c.name+": a blocked sdist")

			twin := pyProject(t, m)
			r = twin.pip(ix, db, "install", c.name+"-twin")
			wantCode(t, r, 0, c.name+"-twin: a plain sdist with members "+c.top+"…")
			noAnalysisBlock(t, r)
			mod := strings.ReplaceAll(c.name+"-twin", "-", "_")
			if !pathExists(filepath.Join(sitePackages(t, filepath.Join(twin.Project, ".venv")), mod+".py")) {
				t.Errorf("%s-twin was not installed\n%s", c.name, r)
			}
		}
	})
}

// A project may not bring its own .gem files into the directory the download
// fills and the build installs from (.phylum-box-bundle/cache): RubyGems does not
// download a gem whose file is already there, so a committed
// pbox_h9_cache-1.0.0.gem would be installed by the build without the download
// fetching it or the analysis reading it (the payload reached vendor/bundle). It is
// refused before anything runs, as Poetry's download dir is, and the project is
// unchanged. The twin: the
// same Gemfile without the committed file installs the registry's gem.
func TestAttackSession4BundleCommittedCache(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := regStartGems(t)
		gs.AddGem("pbox_h9_cache", "1.0.0", nil, map[string]string{"lib/pbox_h9_cache.rb": "module PboxH9Cache; CLEAN = 1; end\n"}, "")
		gs.AddGem("pbox_dep", "1.0.0", nil, map[string]string{"lib/pbox_dep.rb": "module PboxDep; end\n"}, "")
		evilSrc := regStartGems(t)
		enc := base64.StdEncoding.EncodeToString([]byte(rbBuildPayload))
		evilSrc.AddGem("pbox_h9_cache", "1.0.0", nil, map[string]string{"lib/pbox_h9_cache.rb": "require 'base64'\nmodule PboxH9Cache; PLANTED = 1; end\nbegin\n  eval(Base64.decode64('" + enc + "'))\nrescue StandardError\nend\n"}, "")
		evil, err := os.ReadFile(filepath.Join(evilSrc.Dir, "gems", "pbox_h9_cache-1.0.0.gem"))
		if err != nil {
			t.Fatal(err)
		}
		db := regMalDB(t, m, "RubyGems")

		b := bundleProject(t, m, gs, "pbox_h9_cache", "pbox_dep")
		writeFile(t, filepath.Join(b.Project, ".phylum-box-bundle", "cache", "pbox_h9_cache-1.0.0.gem"), string(evil), 0o644)
		chownTree(t, m, b.Project)
		before := treeHash(t, b.Project, true)
		r := b.bundle(db, "install")
		wantCode(t, r, 2, "a committed .phylum-box-bundle/cache gem")
		wantStderr(t, r, ".phylum-box-bundle", "exists in the project")
		if d := gemDir(t, b.Project, "pbox_h9_cache-1.0.0"); d != "" {
			if data, _ := os.ReadFile(filepath.Join(d, "lib", "pbox_h9_cache.rb")); strings.Contains(string(data), "PLANTED") {
				t.Errorf("the committed gem's payload was installed\n%s", r)
			}
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused committed gem cache")

		twin := bundleProject(t, m, gs, "pbox_h9_cache", "pbox_dep")
		r = twin.bundle(db, "install")
		wantCode(t, r, 0, "the same gems without a committed cache")
		if gemDir(t, twin.Project, "pbox_h9_cache-1.0.0") == "" {
			t.Errorf("pbox_h9_cache was not installed\n%s", r)
		}
	})
}

// The project's .phylum-box-pip linked to a directory of its own: pip's fetch and
// build follow the link, but the analysis, which reads the download dir with no
// link followed, found no directory and skipped every archive (a debug line only),
// so an sdist's payload reached the build unread. The work dir is refused when the
// project has one, as Poetry's is; the twin, the same install without it, blocks the
// payload (analysis) and installs the plain sdist.
func TestAttackSession4PipWorkDirLink(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		enc := base64.StdEncoding.EncodeToString([]byte(pyBuildPayload))
		ix.AddSdist("pbox-h9-link", "1.0", map[string]string{"setup.py": "import base64\nfrom setuptools import setup\n" +
			"try:\n    exec(base64.b64decode('" + enc + "'))\nexcept Exception:\n    pass\n" +
			"setup(name='pbox-h9-link', version='1.0', py_modules=['pbox_h9_link'])\n",
			"pbox_h9_link.py": "VALUE = 1\n"})
		db := regMalDB(t, m, "PyPI")

		b := pyProject(t, m)
		writeFile(t, filepath.Join(b.Project, "pbox-work", ".keep"), "", 0o644)
		if err := os.Symlink("pbox-work", filepath.Join(b.Project, ".phylum-box-pip")); err != nil {
			t.Fatal(err)
		}
		chownTree(t, m, b.Project)
		before := treeHash(t, b.Project, true)
		r := b.pip(ix, db, "install", "pbox-h9-link")
		wantCode(t, r, 2, "a project whose .phylum-box-pip links to its own directory")
		wantStderr(t, r, ".phylum-box-pip", "exists in the project")
		buildNeverRan(t, r, "pip")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused .phylum-box-pip")

		twin := pyProject(t, m)
		r = twin.pip(ix, db, "install", "pbox-h9-link")
		wantCode(t, r, 3, "the same sdist in a project without .phylum-box-pip")
		wantStderr(t, r, "pbox-h9-link@1.0", "PB-ANALYSIS-EVAL-DECODE")
		buildNeverRan(t, r, "pip")
		r = twin.pip(ix, db, "install", "pbox-greet")
		wantCode(t, r, 0, "a plain install in a project without .phylum-box-pip")
	})
}
