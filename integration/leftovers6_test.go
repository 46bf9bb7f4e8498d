package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// What a new user's trial found (session 6): pnpm's nothing-to-do check with sharp
// in the tree, the counts of the up-to-date line, pnpm's ignored-builds notice with
// peers, and yarn 1's detached script start read as a package detaching.

// checkedCount is N of the install's "checking N package(s)" line.
func checkedCount(t testing.TB, stderr string) string {
	t.Helper()
	m := regexp.MustCompile(`checking (\d+) package\(s\)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no \"checking N package(s)\" line:\n%s", stderr)
	}
	return m[1]
}

// A project with sharp (the real registry) is up to date after a wrapped install:
// pnpm skips @img/sharp-wasm32 (cpu wasm32) and, with it, @emnapi/runtime and
// tslib, which only it depends on, though their own platform fits. The up-to-date
// line counts the lockfile's packages as the precheck does and says how many were
// skipped. The twins: a package of the tree missing, and a checkout whose
// .modules.yaml claims sharp's package for this machine was skipped (and it is not
// there), both get every step, and the package is installed again.
func TestLeftoversPnpmSharpUpToDate(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0"})
		wantCode(t, b.tool("", "pnpm", "add", "sharp@0.34.5"), 0, "pnpm add sharp")

		var mods struct {
			Skipped []string `json:"skipped"`
		}
		modules := filepath.Join(b.Project, "node_modules", ".modules.yaml")
		data, err := os.ReadFile(modules)
		if err != nil || json.Unmarshal(data, &mods) != nil {
			t.Fatalf(".modules.yaml: %v\n%s", err, data)
		}
		var runtime string
		for _, s := range mods.Skipped {
			if strings.HasPrefix(s, "@emnapi/runtime@") {
				runtime = s
			}
		}
		if runtime == "" {
			t.Fatalf("pnpm did not skip @emnapi/runtime (the case this is about): %q", mods.Skipped)
		}

		before := projectState(t, b.Project)
		rep := b.reportPath("noop.json")
		r := b.tool(rep, "-v", "pnpm", "install")
		wantCode(t, r, 0, "pnpm install with sharp installed")
		if pr := readSpeedReport(t, rep); pr.UpToDate == "" || len(pr.Steps) != 0 {
			t.Errorf("second pnpm install ran %v (up_to_date %q)\n%s", pr.phases(), pr.UpToDate, r.Stderr)
		}
		n := checkedCount(t, r.Stderr)
		wantStderr(t, r, "up to date: node_modules holds the ", "("+n+" in the lockfile, ", " skipped for this platform)")
		assertSameTree(t, before, projectState(t, b.Project), "an install with nothing to do")

		// Twin: a package of the tree is gone.
		dirs, _ := filepath.Glob(filepath.Join(b.Project, "node_modules", ".pnpm", "detect-libc@*"))
		if len(dirs) != 1 {
			t.Fatalf("detect-libc in the virtual store: %q", dirs)
		}
		if err := os.RemoveAll(dirs[0]); err != nil {
			t.Fatal(err)
		}
		rep = b.reportPath("missing.json")
		wantCode(t, b.tool(rep, "pnpm", "install"), 0, "pnpm install with detect-libc missing")
		if pr := readSpeedReport(t, rep); pr.UpToDate != "" || len(pr.Steps) == 0 {
			t.Errorf("a missing package must get every step, ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		wantFile(t, filepath.Join(dirs[0], "node_modules", "detect-libc", "package.json"), "detect-libc installed again")

		// Twin: the checkout's record says a package for this machine was skipped.
		linux, _ := filepath.Glob(filepath.Join(b.Project, "node_modules", ".pnpm", "@img+sharp-linux-x64@*"))
		if len(linux) != 1 {
			skipf(t, "no @img/sharp-linux-x64 installed here (another platform): %q", linux)
		}
		var raw map[string]any
		data, _ = os.ReadFile(modules)
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		id := strings.Replace(filepath.Base(linux[0]), "+", "/", 1)
		raw["skipped"] = append(raw["skipped"].([]any), id)
		out, _ := json.MarshalIndent(raw, "", "  ")
		writeFile(t, modules, string(out), 0o644)
		if err := os.RemoveAll(linux[0]); err != nil {
			t.Fatal(err)
		}
		chownTree(t, m, filepath.Join(b.Project, "node_modules"))
		rep = b.reportPath("lie.json")
		r = b.tool(rep, "-v", "pnpm", "install")
		wantCode(t, r, 0, "pnpm install with a record that skipped sharp's own package")
		if pr := readSpeedReport(t, rep); pr.UpToDate != "" || len(pr.Steps) == 0 {
			t.Errorf("a record skipping a package this machine needs must get every step, ran %v (up_to_date %q)", pr.phases(), pr.UpToDate)
		}
		wantStderr(t, r, id+" was skipped but fits this machine")
		wantFile(t, filepath.Join(linux[0], "node_modules", "@img", "sharp-linux-x64", "package.json"), "sharp's package installed again")
	})
}

// npm's up-to-date line says the same of its lockfile: sharp's packages for other
// platforms are counted, and said to be skipped.
func TestLeftoversNpmSharpCounts(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		wantCode(t, b.tool("", "npm", "install", "--no-audit", "--no-fund", "sharp@0.34.5"), 0, "npm install sharp")
		r := b.tool("", "-v", "npm", "install")
		wantCode(t, r, 0, "npm install with sharp installed")
		wantStderr(t, r, "up to date: node_modules holds the ", " more skipped for this platform)")
		// The two counts add up to the precheck's.
		n := checkedCount(t, r.Stderr)
		mm := regexp.MustCompile(`holds the (\d+) package\(s\) of package-lock.json that npm installs here \((\d+) more skipped`).FindStringSubmatch(r.Stderr)
		if mm == nil {
			t.Fatalf("no counts in the up-to-date line:\n%s", r.Stderr)
		}
		if a, s := atoi(mm[1]), atoi(mm[2]); a+s != atoi(n) {
			t.Errorf("up to date with %s + %s package(s), checking %s", mm[1], mm[2], n)
		}
	})
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// pnpm's notice of the builds it left out names packages as bare pnpm does:
// pbox-peerbuild has a peer, so pnpm records it as
// pbox-peerbuild@file:…tgz(is-odd@3.0.1) and prints it without the suffix. The
// twin: bare pnpm's own notice for the same project names the same.
func TestLeftoversPnpmIgnoredBuildsPeers(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		npmTarball(t, filepath.Join(b.Project, "vendor", "pbox-peerbuild-1.0.0.tgz"), map[string]string{
			"package.json": `{"name":"pbox-peerbuild","version":"1.0.0","peerDependencies":{"is-odd":"*"},"scripts":{"postinstall":"node -e \"require('fs').writeFileSync('built.txt','')\""}}`,
		})
		setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0",
			"dependencies": map[string]any{"is-odd": "3.0.1", "pbox-peerbuild": "file:vendor/pbox-peerbuild-1.0.0.tgz"}})
		chownTree(t, m, b.Project)
		r := b.tool("", "pnpm", "install")
		wantCode(t, r, 0, "pnpm install of a package with a peer and a build")
		const want = "Ignored build scripts: pbox-peerbuild@file:vendor/pbox-peerbuild-1.0.0.tgz. Run"
		wantStderr(t, r, want)
		if strings.Contains(r.Stderr, "(is-odd@") {
			t.Errorf("the notice shows the peers' suffix:\n%s", r.Stderr)
		}
		data, err := os.ReadFile(filepath.Join(b.Project, "node_modules", ".modules.yaml"))
		if err != nil || !strings.Contains(string(data), "pbox-peerbuild-1.0.0.tgz(is-odd@3.0.1)") {
			t.Errorf("pnpm's record lacks the peer suffix this is about (%v):\n%s", err, data)
		}

		// Bare pnpm on a copy of the project prints the same name.
		bare := filepath.Join(filepath.Dir(b.DB), "bare")
		if err := os.MkdirAll(bare, 0o755); err != nil {
			t.Fatal(err)
		}
		copyTree(t, filepath.Join(b.Project, "vendor"), filepath.Join(bare, "vendor"))
		writeFile(t, filepath.Join(bare, "package.json"), `{"name":"pbox-it","version":"1.0.0","dependencies":{"is-odd":"3.0.1","pbox-peerbuild":"file:vendor/pbox-peerbuild-1.0.0.tgz"}}`, 0o644)
		out := hostTool(t, bare, b.Home, "pnpm", "install", "--config.store-dir="+filepath.Join(filepath.Dir(b.DB), "bare-store"))
		flat := strings.Join(strings.Fields(strings.NewReplacer("│", " ", "╭", " ", "╰", " ", "─", " ", "╮", " ", "╯", " ").Replace(out)), " ")
		if !strings.Contains(flat, "Ignored build scripts: pbox-peerbuild@file:vendor/pbox-peerbuild-1.0.0.tgz.") {
			t.Errorf("bare pnpm names it otherwise:\n%s", out)
		}
	})
}

// yarn 1 starts each install script in a session of its own (a detached spawn:
// setsid in its fork, then the exec of the script). That is not the package
// detaching: a postinstall that only builds gets no PB-BEHAVIOUR-DETACH. The twin:
// a postinstall that really detaches (setsid in a process of its own, as
// `setsid cmd` or a daemonizing double fork does) still gets it, named for the
// package.
func TestLeftoversYarnScriptStartIsNotDetach(t *testing.T) {
	t.Parallel()
	var yarnSetup func(t testing.TB, b *pmBox)
	for _, fl := range pmFlavours() {
		if fl.name == "yarn-classic" {
			yarnSetup = fl.setup
		}
	}
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tc := range []struct {
			name, script string
			detach       bool
		}{
			{"builds", `node -e "require('fs').writeFileSync('built.txt','ok')"`, false},
			{"detaches", `perl -e 'use POSIX; my $p = fork; if (!$p) { POSIX::setsid(); POSIX::_exit(0) } waitpid($p, 0)' && node -e "require('fs').writeFileSync('built.txt','ok')"`, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := newPMBox(t, m)
				yarnSetup(t, b)
				pj, _ := json.Marshal(map[string]any{"name": "pbox-yscript", "version": "1.0.0", "scripts": map[string]string{"postinstall": tc.script}})
				npmTarball(t, filepath.Join(b.Project, "vendor", "pbox-yscript-1.0.0.tgz"), map[string]string{"package.json": string(pj)})
				setManifest(t, b, map[string]any{"name": "pbox-it", "version": "1.0.0", "license": "MIT",
					"dependencies": map[string]any{"pbox-yscript": "file:vendor/pbox-yscript-1.0.0.tgz"}})
				chownTree(t, m, b.Project)
				r := b.tool("", "yarn", "install")
				wantCode(t, r, 0, "yarn install of a package with a postinstall")
				wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-yscript", "built.txt"), "the postinstall ran")
				got := strings.Contains(r.Stderr, "PB-BEHAVIOUR-DETACH")
				if got != tc.detach {
					t.Errorf("PB-BEHAVIOUR-DETACH reported = %v, want %v\n%s", got, tc.detach, r.Stderr)
				}
				if tc.detach {
					wantStderr(t, r, "PB-BEHAVIOUR-DETACH  behaviour medium  pbox-yscript@1.0.0")
				}
			})
		}
	})
}

// hostTool runs a package manager bare on the host, as root, in dir with home,
// and returns its combined output.
func hostTool(t testing.TB, dir, home string, tool string, args ...string) string {
	t.Helper()
	c := exec.Command(tool, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), "HOME="+home, "npm_config_update_notifier=false")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("bare %s %v: %v\n%s", tool, args, err, out)
	}
	return string(out)
}
