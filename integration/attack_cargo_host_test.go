package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rustupCargo is root's rustup cargo, when this machine has one.
func rustupCargo() string {
	if _, err := os.Stat("/root/.rustup/toolchains"); err != nil {
		return ""
	}
	if _, err := os.Stat("/root/.cargo/bin/cargo"); err != nil {
		return ""
	}
	return "/root/.cargo/bin/cargo"
}

// Commands that pass through to cargo on the host are checked against the
// project's config too. cargo clean, info and vendor run `rustc -vV` through the
// project's rustc-wrapper (measured with cargo 1.95: the wrapper ran on the host
// as the user), and cargo clean deletes the target dir the project names — a
// symlink in the project led it to a directory of the user's.

// TestCargoCleanProjectWrapperRefused: cargo clean with a project rustc-wrapper
// is refused and the wrapper never runs; with a data-only config it passes
// through and cleans.
func TestCargoCleanProjectWrapperRefused(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() {}\n")
		writeFile(t, filepath.Join(b.Project, "target", "debug", "stale"), "x", 0o644)
		chownTree(t, m, b.Project)
		r := b.cargo(db, "clean")
		wantCode(t, r, 0, "cargo clean with a data-only project config")
		if _, err := os.Stat(filepath.Join(b.Project, "target")); err == nil {
			t.Errorf("cargo clean left target/\n%s", r)
		}

		writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), reg.ConfigToml()+"\n[build]\nrustc-wrapper = \"./evil.sh\"\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "evil.sh"), cargoEvilScript(canary, "WRAPPER"), 0o755)
		writeFile(t, filepath.Join(b.Project, "target", "debug", "stale"), "x", 0o644)
		chownTree(t, m, b.Project)
		for _, args := range [][]string{{"clean"}, {"info", "pbox_greet"}, {"vendor"}} {
			r = b.cargo(db, args...)
			if !m.rootless() && rustupCargo() != "" {
				// The system cargo (1.65) runs no rustc for these; rustup's 1.95 did.
				r = invocation{Mode: b.Mode, Args: append([]string{"cargo"}, args...), Dir: b.Project, Home: b.Home,
					Env:     []string{"PHYLUM_BOX_DB=" + db, "PATH=" + filepath.Dir(rustupCargo()) + ":/usr/local/bin:/usr/bin:/bin", "RUSTUP_HOME=/root/.rustup"},
					Timeout: 5 * time.Minute}.exec(t)
			}
			if got := canary.Got(); len(got) > 0 || strings.Contains(r.Stderr, "PBOX-WRAPPER") {
				t.Errorf("the project's wrapper ran on the host: %q\n%s", got, r)
			}
			wantCode(t, r, 2, "cargo "+args[0]+" would run the project's wrapper on the host")
			wantStderr(t, r, "cargo "+args[0]+" runs outside the sandbox")
		}
		if _, err := os.Stat(filepath.Join(b.Project, "target", "debug", "stale")); err != nil {
			t.Errorf("a refused cargo clean removed target/: %v", err)
		}
	})
}

// TestCargoCleanTargetDirThroughSymlink: a project target-dir that a symlink in
// the project leads to a directory of the user's is refused, and cargo clean
// deletes nothing there; one inside the project is cleaned.
func TestCargoCleanTargetDirThroughSymlink(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		db := regMalDB(t, m, "crates.io")
		b := cargoProject(t, m, reg, "fn main() {}\n")
		precious := filepath.Join(b.Home, "Documents", "thesis", "chapter1.tex")
		writeFile(t, precious, "precious", 0o644)
		if err := os.Symlink(filepath.Join(b.Home, "Documents"), filepath.Join(b.Project, "docs")); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), reg.ConfigToml()+"\n[build]\ntarget-dir = \"docs/thesis\"\n", 0o644)
		chownTree(t, m, b.Home)
		r := b.cargo(db, "clean")
		if got, err := os.ReadFile(precious); err != nil || string(got) != "precious" {
			t.Errorf("cargo clean deleted the user's files: %v\n%s", err, r)
		}
		wantCode(t, r, 2, "a target-dir outside the project through a symlink")
		wantStderr(t, r, "through a symlink")

		writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), reg.ConfigToml()+"\n[build]\ntarget-dir = \"out/t\"\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "out", "t", "debug", "stale"), "x", 0o644)
		chownTree(t, m, b.Home)
		r = b.cargo(db, "clean")
		wantCode(t, r, 0, "a target-dir inside the project")
		if _, err := os.Stat(filepath.Join(b.Project, "out", "t")); err == nil {
			t.Errorf("cargo clean left out/t\n%s", r)
		}
	})
}

// TestCargoXtaskHelpSandboxed: with the common xtask alias (`xtask = "run --"`),
// `cargo xtask --help` passed through as help, and cargo compiled and ran the
// project on the host with the user's environment and network. It is planned like
// `cargo run -- --help`: the program runs, in the offline build.
func TestCargoXtaskHelpSandboxed(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		reg := cargoGreetRegistry(t)
		canary := regStartCanary(t)
		db := regMalDB(t, m, "crates.io")
		main := `use std::io::Write;
fn main() {
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default();
    let reached = std::net::TcpStream::connect("127.0.0.1:` + strconv.Itoa(canary.Port) + `").map(|mut s| s.write_all(b"xtask-connect")).is_ok();
    let home = std::env::var("HOME").unwrap_or_default();
    let _ = std::fs::write(format!("{}/pbox-xtask-marker", home), "ran");
    println!("PBOX-XTASK args={:?} secret={} reached={}", std::env::args().skip(1).collect::<Vec<_>>(), secret, reached);
}
`
		b := cargoProject(t, m, reg, main)
		writeFile(t, filepath.Join(b.Project, ".cargo", "config.toml"), reg.ConfigToml()+"\n[alias]\nxtask = \"run --\"\n", 0o644)
		chownTree(t, m, b.Home)
		r := b.cargo(db, "xtask", "--help")
		if got := canary.Got(); len(got) > 0 {
			t.Errorf("the project's program reached a loopback listener: %q\n%s", got, r)
		}
		if _, err := os.Stat(filepath.Join(b.Home, "pbox-xtask-marker")); err == nil {
			t.Errorf("the project's program wrote into the user's home\n%s", r)
		}
		wantCode(t, r, 0, "cargo xtask --help runs the xtask, in the sandbox")
		if !strings.Contains(r.Stdout, `PBOX-XTASK args=["--help"] secret= reached=false`) {
			t.Errorf("the xtask must run offline, without secrets\n%s", r)
		}
	})
}
