package managers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCargoUpToDate(t *testing.T) {
	const fp = "target/debug/.fingerprint/proj-0123456789abcdef/"
	const defaultFP = `{"rustc":1,"features":"[]","declared_features":"[]","target":2,"profile":3,"path":4,"deps":[],"local":[],"rustflags":[],"config":5,"compile_kind":0}`
	tests := []struct {
		name  string
		edit  func(files, links map[string]string)
		newer []string // files written after the build
		set   string   // a variable set in the environment
		want  bool
		why   string
	}{
		{name: "built after every change", want: true},
		{name: "a source edited since", newer: []string{"src/main.rs"}, why: "src/main.rs changed"},
		{name: "Cargo.toml edited since", newer: []string{"Cargo.toml"}, why: "Cargo.toml changed"},
		{name: "a file added since", edit: func(f, _ map[string]string) { f["src/util.rs"] = "" }, newer: []string{"src/util.rs"}, why: "src/util.rs changed"},
		{name: "a project cargo config edited since", edit: func(f, _ map[string]string) { f[".cargo/config.toml"] = "[net]\nretry = 2\n" },
			newer: []string{".cargo/config.toml"}, why: ".cargo/config.toml changed"},
		{name: "no Cargo.lock", edit: func(f, _ map[string]string) { delete(f, "Cargo.lock") }, why: "no Cargo.lock"},
		{name: "not built", edit: func(f, _ map[string]string) { delete(f, "target/debug/proj") }, why: "not built"},
		{name: "built with features", edit: func(f, _ map[string]string) {
			f[fp+"bin-proj.json"] = strings.Replace(defaultFP, `"features":"[]"`, `"features":"[\"x\"]"`, 1)
		}, why: "not the default build's"},
		{name: "built with RUSTFLAGS", edit: func(f, _ map[string]string) {
			f[fp+"bin-proj.json"] = strings.Replace(defaultFP, `"rustflags":[]`, `"rustflags":["-Copt-level=1"]`, 1)
		}, why: "not the default build's"},
		{name: "two builds' fingerprints", edit: func(f, _ map[string]string) {
			f["target/debug/.fingerprint/proj-fedcba9876543210/bin-proj.json"] = defaultFP
		}, why: "2 fingerprints"},
		{name: "features declared", edit: func(f, _ map[string]string) { f["Cargo.toml"] += "\n[features]\nx = []\n" }, why: "features"},
		{name: "a workspace", edit: func(f, _ map[string]string) { f["Cargo.toml"] += "\n[workspace]\n" }, why: "workspace"},
		{name: "a build script that reads a variable set here", edit: func(f, _ map[string]string) {
			f["build.rs"] = "fn main() {}\n"
			f["target/debug/build/proj-1111/output"] = "cargo:rerun-if-env-changed=PBOX_X\n"
		}, set: "PBOX_X", why: "depends on PBOX_X"},
		{name: "a build script that reads a variable not set", edit: func(f, _ map[string]string) {
			f["build.rs"] = "fn main() {}\n"
			f["target/debug/build/proj-1111/output"] = "cargo::rerun-if-env-changed=PBOX_X\ncargo:rerun-if-changed=build.rs\n"
		}, want: true},
		{name: "a build script that reads a file outside the project", edit: func(f, _ map[string]string) {
			f["target/debug/build/dep-2222/output"] = "cargo:rerun-if-changed=/usr/include/zlib.h\n"
		}, why: "outside the project"},
		{name: "the build script removed since", edit: func(f, _ map[string]string) {
			f["target/debug/build/proj-1111/output"] = ""
		}, why: "build script is gone"},
		// A hostile checkout: links that would make other files stand for the
		// project's.
		{name: "hostile: a source that is a link", edit: func(f, l map[string]string) {
			l["src/lib2.rs"] = "/etc/passwd"
		}, why: "symbolic link"},
		{name: "hostile: the artifact is a link", edit: func(f, l map[string]string) {
			delete(f, "target/debug/proj")
			l["target/debug/proj"] = "/bin/true"
		}, why: "not built"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{
				"Cargo.toml":              "[package]\nname = \"proj\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
				"Cargo.lock":              "version = 3\n",
				"src/main.rs":             "fn main() {}\n",
				"target/debug/proj":       "ELF",
				fp + "bin-proj.json":      defaultFP,
				".git/HEAD":               "ref: x\n",
				"target/debug/deps/x.txt": "",
			}
			links := map[string]string{}
			if tt.edit != nil {
				tt.edit(files, links)
			}
			dir := writeNoopTree(t, files, links)
			old, built, later := time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour), time.Now()
			filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
				if err == nil && info.Mode()&os.ModeSymlink == 0 {
					_ = os.Chtimes(p, old, old)
				}
				return nil
			})
			_ = os.Chtimes(filepath.Join(dir, "target/debug/proj"), built, built)
			for _, n := range tt.newer {
				if err := os.Chtimes(filepath.Join(dir, n), later, later); err != nil {
					t.Fatal(err)
				}
			}
			got, why := CargoUpToDate(dir, func(k string) bool { return k == tt.set })
			if got != tt.want || !strings.Contains(why, tt.why) {
				t.Errorf("CargoUpToDate = %v, %q; want %v, containing %q", got, why, tt.want, tt.why)
			}
		})
	}
}

func TestCargoNoopEnv(t *testing.T) {
	for k, want := range map[string]bool{
		"CARGO_HOME": true, "CARGO_TERM_COLOR": true, "CARGO_NET_RETRY": true, "RUSTUP_HOME": true, "RUST_BACKTRACE": true, "PATH": true,
		"RUSTFLAGS": false, "RUSTC_WRAPPER": false, "RUSTDOCFLAGS": false, "CARGO_BUILD_TARGET": false, "CARGO_PROFILE_DEV_OPT_LEVEL": false,
		"CARGO_TARGET_DIR": false, "CARGO_INCREMENTAL": false, "RUSTUP_TOOLCHAIN": false, "CARGO_ENCODED_RUSTFLAGS": false,
	} {
		if got := cargoNoopEnv(k); got != want {
			t.Errorf("cargoNoopEnv(%s) = %v, want %v", k, got, want)
		}
	}
}
