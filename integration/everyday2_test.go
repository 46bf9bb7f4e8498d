package integration

// Everyday workflows, part two (issue 16): the loops a developer runs many times a
// day must work wrapped as they do bare — cargo's edit → build → run, a build script
// edited the same way, pnpm telling which build scripts it skipped, Bundler leaving the
// project's .bundle/config as the user had it.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cargoNew makes a binary crate named app with `phylum-box cargo new` (a pass-through)
// below the box's project and returns its dir.
func cargoNew(t *testing.T, b *box) string {
	t.Helper()
	r := invocation{Mode: b.Mode, Args: []string{"cargo", "new", "--vcs", "none", "app"}, Dir: b.Project, Home: b.Home}.exec(t)
	wantCode(t, r, 0, "cargo new")
	dir := filepath.Join(b.Project, "app")
	if !pathExists(filepath.Join(dir, "src", "main.rs")) {
		t.Fatalf("cargo new made no src/main.rs\n%s", r)
	}
	return dir
}

func cargoIn(t *testing.T, b *box, dir string, args ...string) result {
	t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"cargo"}, args...), Dir: dir, Home: b.Home,
		Env: []string{"PHYLUM_BOX_DB=" + regMalDB(t, b.Mode, "crates.io")}, Timeout: 5 * time.Minute}.exec(t)
}

// editAsUser rewrites a project file the way the user's editor does (as the user).
func editAsUser(t *testing.T, b *box, path, content string) {
	t.Helper()
	writeFile(t, path, content, 0o644)
	chownTree(t, b.Mode, path)
}

// wantBinaryPrints runs the built program on the host.
func wantBinaryPrints(t *testing.T, bin, want string, r result) {
	t.Helper()
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("%s printed %q (%v), want %q\n%s", bin, out, err, want, r)
	}
}

// wantSameInode: cargo keeps these two names as one file; the sync must too.
func wantSameInode(t *testing.T, a, b string) {
	t.Helper()
	var sa, sb syscall.Stat_t
	if err := syscall.Lstat(a, &sa); err != nil {
		t.Errorf("%s: %v", a, err)
		return
	}
	if err := syscall.Lstat(b, &sb); err != nil {
		t.Errorf("%s: %v", b, err)
		return
	}
	if sa.Ino != sb.Ino {
		t.Errorf("%s and %s are no longer one file (hard link lost)", a, b)
	}
}

// depsBinary is target/debug/deps/app-HASH, the other name of target/debug/app.
func depsBinary(t *testing.T, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "target", "debug", "deps", "app-*"))
	for _, p := range m {
		if !strings.HasSuffix(p, ".d") {
			return p
		}
	}
	t.Fatalf("no target/debug/deps/app-* in %v", m)
	return ""
}

// TestEveryday2CargoEditBuildRun: cargo new, build, edit, build, edit, run — every
// build after the first failed with exit 4 ("target/debug/app: changed on the host
// while the run went on") although nothing touched the host.
func TestEveryday2CargoEditBuildRun(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		b := regNewBox(t, m)
		dir := cargoNew(t, b)
		bin := filepath.Join(dir, "target", "debug", "app")

		r := cargoIn(t, b, dir, "build")
		wantCode(t, r, 0, "the first cargo build")
		wantBinaryPrints(t, bin, "Hello, world!", r)

		editAsUser(t, b, filepath.Join(dir, "src", "main.rs"), "fn main() {\n    println!(\"Hello, edited!\");\n}\n")
		r = cargoIn(t, b, dir, "build")
		wantCode(t, r, 0, "cargo build after an edit")
		wantBinaryPrints(t, bin, "Hello, edited!", r)
		wantSameInode(t, bin, depsBinary(t, dir))

		editAsUser(t, b, filepath.Join(dir, "src", "main.rs"), "fn main() {\n    println!(\"Hello, run!\");\n}\n")
		r = cargoIn(t, b, dir, "run")
		wantCode(t, r, 0, "cargo run after an edit")
		if !strings.Contains(r.Stdout, "Hello, run!") {
			t.Errorf("cargo run did not print the edited program's output\n%s", r)
		}
		wantBinaryPrints(t, bin, "Hello, run!", r)
		wantSameInode(t, bin, depsBinary(t, dir))
	})
}

// TestEveryday2CargoBuildScriptEdited: a crate with a build script (build.rs sets an
// environment variable the program prints); editing build.rs rebuilds and reruns the
// script, whose two names (build-script-build, build_script_build-HASH) are one file.
func TestEveryday2CargoBuildScriptEdited(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		b := regNewBox(t, m)
		dir := cargoNew(t, b)
		bin := filepath.Join(dir, "target", "debug", "app")
		buildRs := func(greeting string) string {
			return "fn main() {\n    println!(\"cargo:rerun-if-changed=build.rs\");\n    println!(\"cargo:rustc-env=PB_GREETING=" + greeting + "\");\n}\n"
		}
		editAsUser(t, b, filepath.Join(dir, "build.rs"), buildRs("from build.rs"))
		editAsUser(t, b, filepath.Join(dir, "src", "main.rs"), "fn main() {\n    println!(\"{}\", env!(\"PB_GREETING\"));\n}\n")

		r := cargoIn(t, b, dir, "build")
		wantCode(t, r, 0, "the first cargo build with a build script")
		wantBinaryPrints(t, bin, "from build.rs", r)

		editAsUser(t, b, filepath.Join(dir, "build.rs"), buildRs("edited build.rs"))
		r = cargoIn(t, b, dir, "build")
		wantCode(t, r, 0, "cargo build after editing build.rs")
		wantBinaryPrints(t, bin, "edited build.rs", r)
		wantSameInode(t, bin, depsBinary(t, dir))
		scripts, _ := filepath.Glob(filepath.Join(dir, "target", "debug", "build", "app-*", "build-script-build"))
		if len(scripts) == 0 {
			t.Fatalf("no build-script-build under target/debug/build\n%s", r)
		}
		for _, s := range scripts {
			twins, _ := filepath.Glob(filepath.Join(filepath.Dir(s), "build_script_build-*"))
			for _, tw := range twins {
				if !strings.HasSuffix(tw, ".d") {
					wantSameInode(t, s, tw)
				}
			}
		}

		editAsUser(t, b, filepath.Join(dir, "build.rs"), buildRs("run after an edit"))
		r = cargoIn(t, b, dir, "run")
		wantCode(t, r, 0, "cargo run after editing build.rs")
		if !strings.Contains(r.Stdout, "run after an edit") {
			t.Errorf("cargo run did not print the rebuilt program's output\n%s", r)
		}
	})
}

// bundleConfigKeys lists the keys of a .bundle/config.
func bundleConfigKeys(t *testing.T, project string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(project, ".bundle", "config"))
	if err != nil {
		t.Fatalf(".bundle/config: %v", err)
	}
	var keys []string
	for _, l := range strings.Split(string(data), "\n") {
		if k, _, ok := strings.Cut(l, ":"); ok && strings.HasPrefix(k, "BUNDLE_") {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestEveryday2BundleConfigAsTheUserHadIt: the settings the user made with `bundle
// config set --local` (through phylum-box, a pass-through) are what .bundle/config
// holds after installs — none of the steps' own settings (BUNDLE_NO_INSTALL,
// BUNDLE_CACHE_ALL, BUNDLE_FROZEN, BUNDLE_CACHE_PATH, …) left behind. Its twin: with
// no config, the install records only where the gems went (BUNDLE_PATH), which
// `bundle exec` needs.
func TestEveryday2BundleConfigAsTheUserHadIt(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		db := regMalDB(t, m, "RubyGems")

		b := bundleProject(t, m, gs, "pbox_greet")
		for _, set := range [][]string{{"path", "vendor/bundle"}, {"jobs", "2"}, {"without", "production"}} {
			r := b.bundle(db, append([]string{"config", "set", "--local"}, set...)...)
			wantCode(t, r, 0, "bundle config set --local "+strings.Join(set, " "))
		}
		cfg := filepath.Join(b.Project, ".bundle", "config")
		before, err := os.ReadFile(cfg)
		if err != nil || !strings.Contains(string(before), `BUNDLE_PATH: "vendor/bundle"`) {
			t.Fatalf("bundle config set did not write the project's config: %q %v", before, err)
		}
		for _, cmd := range []string{"install", "update", "install"} {
			r := b.bundle(db, cmd)
			wantCode(t, r, 0, "bundle "+cmd)
			if after, err := os.ReadFile(cfg); err != nil || string(after) != string(before) {
				t.Errorf("after bundle %s, .bundle/config is %q (%v), the user had %q\n%s", cmd, after, err, before, r)
			}
		}
		if gemDir(t, b.Project, "pbox_greet-1.0.0") == "" {
			t.Error("pbox_greet is not in vendor/bundle")
		}

		fresh := bundleProject(t, m, gs, "pbox_greet")
		for _, cmd := range []string{"install", "install"} {
			r := fresh.bundle(db, cmd)
			wantCode(t, r, 0, "bundle "+cmd+" without a .bundle/config")
			if keys := bundleConfigKeys(t, fresh.Project); strings.Join(keys, ",") != "BUNDLE_PATH" {
				t.Errorf("after bundle %s, .bundle/config holds %q, want only BUNDLE_PATH\n%s", cmd, keys, r)
			}
		}
	})
}

// TestEveryday2BundleFailureNamesBundle: a failing step names Bundler, not the shell
// phylum-box starts it with ("sh exited with status N").
func TestEveryday2BundleFailureNamesBundle(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_not_there")
		r := b.bundle(db, "install")
		if r.Code == 0 {
			t.Fatalf("a Gemfile naming a gem the source lacks must fail\n%s", r)
		}
		wantStderr(t, r, "bundle lock exited with status")
		if strings.Contains(r.Stderr, "sh exited") {
			t.Errorf("the failure names the shell\n%s", r)
		}
		// Its twin installs.
		ok := bundleProject(t, m, gs, "pbox_greet")
		wantCode(t, ok.bundle(db, "install"), 0, "bundle install of a gem the source has")
	})
}

// TestEveryday2PnpmSkippedBuildNotice: pnpm 10 runs only the build scripts the
// project allows and says which it skipped ("Ignored build scripts: … Run "pnpm
// approve-builds" …"); wrapped, that notice was swallowed (the download runs with
// --ignore-scripts, the build is pnpm rebuild). Its twin: an allowed package is
// built and no notice is printed. Then an install with nothing to do syncs nothing
// (pnpm's workspace state file, rewritten with a new time stamp every run, was
// "1 change(s) synced").
func TestEveryday2PnpmSkippedBuildNotice(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	for _, allowed := range []bool{false, true} {
		name := "not allowed"
		if allowed {
			name = "allowed"
		}
		t.Run(name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				b := newPMBox(t, m)
				manifest := map[string]any{"name": "pbox-it", "version": "1.0.0"}
				if allowed {
					manifest["pnpm"] = map[string]any{"onlyBuiltDependencies": []string{"pbox-build-marker@file:vendor/pbox-build-marker-1.0.0.tgz"}}
				}
				setManifest(t, b, manifest)
				tgz := packFixture(t, b, "build-marker", nil)
				r := b.tool("", "pnpm", "add", tgz)
				wantCode(t, r, 0, "pnpm add of a package with an install script")
				built := pathExists(filepath.Join(b.Project, "node_modules", "pbox-build-marker", "built.txt"))
				notice := strings.Contains(r.Stderr, "Ignored build scripts: pbox-build-marker@file:vendor/pbox-build-marker-1.0.0.tgz") &&
					strings.Contains(r.Stderr, `Run "pnpm approve-builds"`)
				if allowed && (!built || notice) {
					t.Errorf("an allowed build script must run without a notice (built %v, notice %v)\n%s", built, notice, r)
				}
				if !allowed && (built || !notice) {
					t.Errorf("a build script the project does not allow must be skipped and said so (built %v, notice %v)\n%s", built, notice, r)
				}

				rep := b.reportPath("noop.json")
				r = b.tool(rep, "pnpm", "install")
				wantCode(t, r, 0, "pnpm install with nothing to do")
				var pr struct {
					Synced *int `json:"synced"`
				}
				if data, err := os.ReadFile(rep); err != nil || json.Unmarshal(data, &pr) != nil || pr.Synced == nil {
					t.Fatalf("report %s: %v %s", rep, err, data)
				}
				if *pr.Synced != 0 {
					t.Errorf("pnpm install with nothing to do synced %d change(s)\n%s", *pr.Synced, r)
				}
			})
		})
	}
}

// TestEveryday2CargoFailureNamesCargo: cargo's resolve runs through a shell line of
// phylum-box's (update or generate-lockfile); its failure names cargo, not sh. The
// twin resolves a crate the registry has.
func TestEveryday2CargoFailureNamesCargo(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() {}\n", "pbox_not_there")
		r := b.cargo(db, "build")
		if r.Code == 0 {
			t.Fatalf("a dependency the registry lacks must fail\n%s", r)
		}
		wantStderr(t, r, "resolve step failed (cargo build exited with status")
		if strings.Contains(r.Stderr, "sh exited") {
			t.Errorf("the failure names the shell\n%s", r)
		}
		ok := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		wantCode(t, ok.cargo(db, "build"), 0, "cargo build of a crate the registry has")
	})
}

// TestBundleCacheIsNotRunOnTheHost: `bundle cache` fetches and installs gems (a
// native extension's extconf.rb runs as it installs); it used to pass straight
// through to the host's bundler, with the network. It is refused (exit 2, nothing
// fetched, the project unchanged); the twin, bundle install, installs the same gems.
func TestBundleCacheIsNotRunOnTheHost(t *testing.T) {
	t.Parallel()
	bundleNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		gs := bundleGreetSource(t)
		db := regMalDB(t, m, "RubyGems")
		b := bundleProject(t, m, gs, "pbox_greet")
		before := treeHash(t, b.Project, true)
		for _, args := range [][]string{{"cache"}, {"cache", "--no-install"}, {"package"}} {
			r := b.bundle(db, args...)
			wantCode(t, r, 2, "bundle "+strings.Join(args, " "))
			wantStderr(t, r, "phylum-box bundle install")
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused bundle cache")
		if hits := gs.Hits(); len(hits) > 0 {
			t.Errorf("a refused bundle cache reached the gem source: %q", hits)
		}
		wantCode(t, b.bundle(db, "install"), 0, "bundle install")
		if gemDir(t, b.Project, "pbox_greet-1.0.0") == "" {
			t.Error("bundle install did not install pbox_greet")
		}
	})
}
