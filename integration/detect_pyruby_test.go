package integration

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
)

// The static analysis of PyPI and RubyGems packages, with the default policy: pip,
// Poetry and Bundler leave the downloaded wheels, sdists and .gem files in a
// directory between the download and the build, and each is read there as an
// archive before the build step runs any of it. Each payload swallows its own
// errors, so nothing but the analysis would notice it; each would also try the
// network if it ran in the build, which the monitor would report
// (PB-BEHAVIOUR-NETWORK) — its absence, and the absence of the build step's line,
// prove the build never started. Each attack has a legitimate twin that installs.

// pyBuildPayload runs only in the build (setup.py bdist_wheel), not in the
// resolve's metadata hook (setup.py dist_info / egg_info): it tries the network
// and ignores the failure.
const pyBuildPayload = "import sys, socket\nif 'bdist_wheel' in sys.argv or 'install' in sys.argv:\n" +
	"    try:\n        socket.create_connection(('" + lbHost + "', 443), timeout=2)\n    except Exception:\n        pass\n"

func TestDetectPyRubyPipSdist(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		enc := base64.StdEncoding.EncodeToString([]byte(pyBuildPayload))
		ix.AddSdist("pbox-pr-evil", "1.0", map[string]string{"setup.py": "import base64\nfrom setuptools import setup\n" +
			"try:\n    exec(base64.b64decode('" + enc + "'))\nexcept Exception:\n    pass\n" +
			"setup(name='pbox-pr-evil', version='1.0', py_modules=['pbox_pr_evil'])\n",
			"pbox_pr_evil.py": "VALUE = 1\n"})
		ix.AddSdist("pbox-pr-plain", "1.0", map[string]string{"setup.py": "from setuptools import setup\nsetup(name='pbox-pr-plain', version='1.0', py_modules=['pbox_pr_plain'])\n",
			"pbox_pr_plain.py": "VALUE = 1\n"})
		db := regMalDB(t, m, "PyPI")

		b := pyProject(t, m)
		before := treeHash(t, b.Project, true)
		r := b.pip(ix, db, "install", "pbox-pr-evil")
		wantCode(t, r, 3, "an sdist whose setup.py execs a base64 payload")
		wantStderr(t, r, "pbox-pr-evil@1.0", "PB-ANALYSIS-EVAL-DECODE", "setup.py:4:", "before their build", "nothing was synced back")
		buildNeverRan(t, r, "pip")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked sdist")

		twin := pyProject(t, m)
		r = twin.pip(ix, db, "install", "pbox-pr-plain")
		wantCode(t, r, 0, "a plain sdist")
		noAnalysisBlock(t, r)
		if !pathExists(filepath.Join(sitePackages(t, filepath.Join(twin.Project, ".venv")), "pbox_pr_plain.py")) {
			t.Errorf("the plain sdist was not installed\n%s", r)
		}
	})
}

func TestDetectPyRubyPipWheelPth(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		ix.AddWheel("pbox-pr-pth", "1.0", nil, map[string]string{"pbox_pr_pth/__init__.py": "VALUE = 1\n",
			"pbox_pr_pth_boot.pth": "import os; os.environ.setdefault('PBOX_PR', '1') or None\n"})
		ix.AddWheel("pbox-pr-paths", "1.0", nil, map[string]string{"pbox_pr_paths/__init__.py": "VALUE = 1\n",
			"pbox_pr_paths.pth": "pbox_pr_paths_extra\n"})
		db := regMalDB(t, m, "PyPI")

		b := pyProject(t, m)
		before := treeHash(t, b.Project, true)
		r := b.pip(ix, db, "install", "pbox-pr-pth")
		wantCode(t, r, 3, "a wheel with a .pth that runs code")
		wantStderr(t, r, "pbox-pr-pth@1.0", "PB-ANALYSIS-PTH-FILE", "pbox_pr_pth_boot.pth:1:", "nothing was synced back")
		buildNeverRan(t, r, "pip")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked wheel")

		twin := pyProject(t, m)
		r = twin.pip(ix, db, "install", "pbox-pr-paths")
		wantCode(t, r, 0, "a wheel with a paths-only .pth")
		noAnalysisBlock(t, r)
		if !pathExists(filepath.Join(sitePackages(t, filepath.Join(twin.Project, ".venv")), "pbox_pr_paths.pth")) {
			t.Errorf("the wheel was not installed\n%s", r)
		}
	})
}

// rbBuildPayload tries the network and ignores the failure.
const rbBuildPayload = "require 'socket'\nbegin\n  Socket.tcp('" + lbHost + "', 443, connect_timeout: 2) { }\nrescue StandardError\nend\n"

const plainExtconf = "File.write(\"Makefile\", \"all:\\n\\ninstall:\\n\\nclean:\\n\")\n"

func TestDetectPyRubyGems(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := regStartGems(t)
		enc := base64.StdEncoding.EncodeToString([]byte(rbBuildPayload))
		gs.AddGem("pbox_pr_ext", "1.0.0", nil, map[string]string{
			"ext/pbox_pr_ext/extconf.rb": "require 'base64'\nbegin\n  eval(Base64.decode64('" + enc + "'))\nrescue StandardError\nend\n" + plainExtconf,
			"lib/pbox_pr_ext.rb":         "module PboxPrExt; end\n"}, "ext/pbox_pr_ext/extconf.rb")
		gs.AddGem("pbox_pr_lib", "1.0.0", nil, map[string]string{
			"lib/pbox_pr_lib.rb": "require 'base64'\nmodule PboxPrLib; end\nbegin\n  eval(Base64.decode64('" + enc + "'))\nrescue StandardError\nend\n"}, "")
		gs.AddGem("pbox_pr_native", "1.0.0", nil, map[string]string{
			"ext/pbox_pr_native/extconf.rb": plainExtconf,
			"lib/pbox_pr_native.rb":         "module PboxPrNative; end\n"}, "ext/pbox_pr_native/extconf.rb")
		db := regMalDB(t, m, "RubyGems")
		for _, c := range []struct{ gem, evidence string }{
			{"pbox_pr_ext", "ext/pbox_pr_ext/extconf.rb:3:"},
			{"pbox_pr_lib", "lib/pbox_pr_lib.rb:4:"},
		} {
			b := bundleProject(t, m, gs, c.gem)
			before := treeHash(t, b.Project, true)
			r := b.bundle(db, "install")
			wantCode(t, r, 3, c.gem+": a gem with an eval(Base64) payload")
			wantStderr(t, r, c.gem+"@1.0.0", "PB-ANALYSIS-EVAL-DECODE", c.evidence, "nothing was synced back")
			buildNeverRan(t, r, "bundle install --local")
			assertSameTree(t, before, treeHash(t, b.Project, true), c.gem+": a blocked gem")
			if gemDir(t, b.Project, c.gem+"-1.0.0") != "" {
				t.Errorf("%s was installed", c.gem)
			}
		}
		twin := bundleProject(t, m, gs, "pbox_pr_native")
		r := twin.bundle(db, "install")
		wantCode(t, r, 0, "a gem with a plain extconf.rb")
		noAnalysisBlock(t, r)
		if gemDir(t, twin.Project, "pbox_pr_native-1.0.0") == "" {
			t.Errorf("pbox_pr_native was not installed\n%s", r)
		}
	})
}

// buildNeverRan: the build step did not start (its line is not in the log) and no
// payload ran there (the monitor saw no network attempt).
func buildNeverRan(t *testing.T, r result, build string) {
	t.Helper()
	if strings.Contains(r.Stderr, "building in the sandbox") || strings.Contains(r.Stderr, "PB-BEHAVIOUR-NETWORK") {
		t.Errorf("the %s build ran before the block\n%s", build, r)
	}
}

// noAnalysisBlock: the twin was not blocked, and its build step ran (so that the
// line buildNeverRan looks for is there when a build runs).
func noAnalysisBlock(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.Stderr, "blocked by the policy") {
		t.Errorf("the legitimate package was blocked\n%s", r)
	}
	if !strings.Contains(r.Stderr, "building in the sandbox") && !strings.Contains(r.Stderr, "(one run: wheels only)") { // pip's one run has no build
		t.Errorf("the legitimate package's build step did not run\n%s", r)
	}
}

// Poetry: a wheel whose package runs a base64 payload when imported (load time:
// no install script at all) is blocked before `poetry install` builds the venv;
// its twin, the plain greeting wheels, installs.
func TestDetectPyRubyPoetryWheel(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		enc := base64.StdEncoding.EncodeToString([]byte(pyBuildPayload))
		ix.AddWheel("pbox-pr-load", "1.0", nil, map[string]string{"pbox_pr_load/__init__.py": "import base64\nVALUE = 1\n" +
			"try:\n    exec(base64.b64decode('" + enc + "'))\nexcept Exception:\n    pass\n"})
		db := regMalDB(t, m, "PyPI")

		b := poetryProject(t, m, ix, "pbox-pr-load")
		before := treeHash(t, b.Project, true)
		r := b.poetry(db, "install", "--no-root")
		wantCode(t, r, 3, "a wheel whose module execs a base64 payload")
		wantStderr(t, r, "pbox-pr-load@1.0", "PB-ANALYSIS-EVAL-DECODE", "pbox_pr_load/__init__.py:4:", "nothing was synced back")
		buildNeverRan(t, r, "poetry install")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked wheel")

		twin := poetryProject(t, m, ix, "pbox-greet")
		r = twin.poetry(db, "install", "--no-root")
		wantCode(t, r, 0, "poetry install of the plain wheels")
		noAnalysisBlock(t, r)
	})
}
