package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cargoNeed skips unless a cargo the sandbox can see is installed (/usr/bin/cargo:
// rustup's toolchain under /root is invisible inside, and to the test users).
func cargoNeed(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/cargo"); err != nil {
		skipf(t, "/usr/bin/cargo is missing (hack/install-deps.d/rust.sh installs Debian's cargo)")
	}
}

// cargoProject is a box holding a binary crate that depends on deps from reg.
func cargoProject(t testing.TB, m mode, reg *cargoRegistry, main string, deps ...string) *box {
	t.Helper()
	b := regNewBox(t, m)
	manifest := "[package]\nname = \"proj\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"
	for _, d := range deps {
		manifest += d + " = \"1\"\n"
	}
	writeFile(t, filepath.Join(b.Project, "Cargo.toml"), manifest, 0o644)
	writeFile(t, filepath.Join(b.Project, "src", "main.rs"), main, 0o644)
	writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), reg.ConfigToml(), 0o644)
	chownTree(t, m, b.Home)
	return b
}

func (b *box) cargo(db string, args ...string) result {
	b.t.Helper()
	return invocation{Mode: b.Mode, Args: append([]string{"cargo"}, args...), Dir: b.Project, Home: b.Home,
		Env: []string{"PHYLUM_BOX_DB=" + db}, Timeout: 5 * time.Minute}.exec(b.t)
}

func cargoGreetRegistry(t testing.TB) *cargoRegistry {
	reg := regStartCargo(t)
	reg.AddCrate("pbox_dep", "1.0.0", nil, map[string]string{"src/lib.rs": "pub fn value() -> &'static str { \"dep\" }\n"})
	reg.AddCrate("pbox_greet", "1.0.0", []string{"pbox_dep"}, map[string]string{"src/lib.rs": "pub fn greet() -> String { format!(\"hello {}\", pbox_dep::value()) }\n"})
	return reg
}

func TestCargoBuildFromLocalRegistry(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		r := b.cargo(db, "build")
		wantCode(t, r, 0, "cargo build")
		lock, err := os.ReadFile(filepath.Join(b.Project, "Cargo.lock"))
		if err != nil || !strings.Contains(string(lock), "pbox_dep") {
			t.Fatalf("Cargo.lock was not synced back with pbox_dep: %v\n%s", err, r)
		}
		out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the built binary: %v %s\n%s", err, out, r)
		}
	})
}

func TestCargoMaliciousDependencyBlocked(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		db := regMalDB(t, m, "crates.io", "pbox_dep")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		before := treeHash(t, b.Project, true)
		r := b.cargo(db, "build")
		wantCode(t, r, 3, "a malicious dependency must block the build")
		wantStderr(t, r, "pbox_dep", "MAL-2099")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked build")
		for _, h := range reg.Hits() {
			if strings.Contains(h, ".crate") {
				t.Errorf("a blocked build downloaded a crate: %s", h)
			}
		}
	})
}

func TestCargoHostileBuildScriptContained(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := regStartCargo(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() {}\n", "pbox_evil")
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		outside := filepath.Join(filepath.Dir(b.Project), "pbox-evil-escaped.txt")
		tmpl, err := os.ReadFile(filepath.Join("testdata", "cargo", "evil_build.rs"))
		if err != nil {
			t.Fatal(err)
		}
		buildRs := strings.NewReplacer("@OUTSIDE@", outside, "@REGISTRY_PORT@", strconv.Itoa(reg.Port), "@CANARY_PORT@", strconv.Itoa(canary.Port)).Replace(string(tmpl))
		reg.AddCrate("pbox_evil", "1.0.0", nil, map[string]string{"build.rs": buildRs, "src/lib.rs": ""})
		homeBefore := regHomeHash(b)
		before := treeHash(t, b.Project, true)
		r := b.cargo(db, "build")
		if r.Code == 0 {
			t.Fatalf("the hostile build script must fail\n%s", r)
		}
		all := r.Stdout + r.Stderr
		if !strings.Contains(all, "PBOX-EVIL phase=build.rs") {
			t.Fatalf("the build step did not run the hostile build script\n%s", r)
		}
		wantStderr(t, r, "pbox_evil")
		if strings.Contains(all, b.Mark) {
			t.Errorf("the SSH key reached the build script\n%s", r)
		}
		for _, bad := range []string{"ssh=OK", "registry=OK", "canary=OK"} {
			if strings.Contains(all, bad) {
				t.Errorf("the build script could do %s\n%s", bad, r)
			}
		}
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("a loopback listener was reached: %q", got)
		}
		if pathExists(outside) {
			t.Errorf("the build script wrote outside the project: %s", outside)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a failed build")
		assertSameTree(t, homeBefore, regHomeHash(b), "the caller's home")
	})
}

func TestCargoNativeBuildScriptOffline(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := regStartCargo(t)
		db := regMalDB(t, m, "crates.io")
		buildRs, err := os.ReadFile(filepath.Join("testdata", "cargo", "native_build.rs"))
		if err != nil {
			t.Fatal(err)
		}
		hello, err := os.ReadFile(filepath.Join("testdata", "cargo", "hello.c"))
		if err != nil {
			t.Fatal(err)
		}
		reg.AddCrate("pbox_native", "1.0.0", nil, map[string]string{
			"build.rs": string(buildRs), "src/hello.c": string(hello),
			"src/lib.rs": "extern \"C\" { fn pbox_hello() -> i32; }\npub fn hello() -> i32 { unsafe { pbox_hello() } }\n",
		})
		b := cargoProject(t, m, reg, "fn main() { println!(\"native {}\", pbox_native::hello()); }\n", "pbox_native")
		r := b.cargo(db, "build")
		wantCode(t, r, 0, "cargo build with a C-compiling build script")
		out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "native 42" {
			t.Errorf("the built binary: %v %s\n%s", err, out, r)
		}
	})
}

// TestCargoSparseRegistryWithRustup builds against a sparse index with a rustup
// toolchain kept under $HOME (root's /root/.cargo here): the plan's HostPaths make
// it visible, read-only, inside the sandbox, whose $HOME is otherwise empty.
func TestCargoSparseRegistryWithRustup(t *testing.T) {
	t.Parallel()
	m := requireMode(t, "root")
	const rustupCargo = "/root/.cargo/bin/cargo"
	if _, err := os.Stat(rustupCargo); err != nil {
		skipf(t, "no rustup toolchain in /root/.cargo (Debian's cargo 1.65 has no stable sparse protocol)")
	}
	reg := cargoGreetRegistry(t)
	db := regMalDB(t, m, "crates.io")
	b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
	writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), reg.SparseConfigToml(), 0o644)
	r := invocation{Mode: m, Args: []string{"cargo", "build"}, Dir: b.Project, Home: b.Home,
		Env:     []string{"PHYLUM_BOX_DB=" + db, "PATH=/root/.cargo/bin:/usr/local/bin:/usr/bin:/bin", "RUSTUP_HOME=/root/.rustup"},
		Timeout: 5 * time.Minute}.exec(t)
	wantCode(t, r, 0, "cargo build against a sparse index")
	sparse := false
	for _, h := range reg.Hits() {
		sparse = sparse || strings.HasPrefix(h, "GET /sparse/pb/ox/pbox_greet")
	}
	if !sparse {
		t.Errorf("the sparse index was not read: %q", reg.Hits())
	}
	out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
		t.Errorf("the built binary: %v %s\n%s", err, out, r)
	}
}

// TestCargoInstallIntoTheProject: `cargo install CRATE --root DIR` inside the
// project is resolved, prechecked (the crate itself too), fetched, and built
// offline; without --root it is refused.
func TestCargoInstallIntoTheProject(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		reg.AddCrate("pbox_tool", "1.0.0", []string{"pbox_dep"}, map[string]string{"src/main.rs": "fn main() { println!(\"tool {}\", pbox_dep::value()); }\n"})
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() {}\n")
		r := b.cargo(db, "install", "pbox_tool")
		wantCode(t, r, 2, "cargo install without --root")
		r = b.cargo(db, "install", "pbox_tool", "--root", "tools")
		wantCode(t, r, 0, "cargo install --root tools")
		out, err := exec.Command(filepath.Join(b.Project, "tools", "bin", "pbox_tool")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "tool dep" {
			t.Errorf("the installed binary: %v %s\n%s", err, out, r)
		}
		if pathExists(filepath.Join(b.Project, ".phylum-box-cargo-install")) {
			t.Error("the work dir was synced back")
		}

		// The crate itself is checked, not only its dependencies.
		bad := regMalDB(t, m, "crates.io", "pbox_tool")
		before := treeHash(t, b.Project, true)
		r = b.cargo(bad, "install", "pbox_tool", "--root", "tools2")
		wantCode(t, r, 3, "a malicious crate must not be installed")
		wantStderr(t, r, "pbox_tool", "MAL-2099")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked install")
	})
}
