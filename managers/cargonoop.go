package managers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// `cargo build` with nothing changed (issue 12): the crate's artifacts in
// target/debug were written after every file of the project (and after the
// toolchain and the user's cargo config) last changed, so cargo would find every
// unit fresh and build nothing. Cargo.lock is prechecked and no step runs. It is
// cargo's own rule — an output older than an input is dirty — applied to the
// whole project at once, and kept to the cases where it is exact: one package
// with the default targets, no project cargo config, no build script that
// depends on a variable set here or on a file outside the project. Anything else
// gets the build step (alone, on the committed lockfile: Plan.Steps.BuildFirst).
//
// What a hostile checkout can plant: a target/ whose artifacts are newer than
// everything else. That makes phylum-box skip the build and nothing else: no
// step runs, no code of the project or its crates runs, nothing is synced back,
// and Cargo.lock is prechecked as always. The artifacts are whatever the checkout
// brought; phylum-box put nothing unchecked there.

// cargoNoopFlags are `cargo build` options that do not change what it builds.
var cargoNoopFlags = map[string]bool{"-q": true, "--quiet": true, "-v": true, "--verbose": true, "-vv": true}

// cargoNoopConfig are the cargo config tables that do not change what is built.
var cargoNoopConfig = map[string]bool{
	"source": true, "registries": true, "registry": true, "net": true, "http": true, "alias": true,
	"term": true, "cargo-new": true, "credential-alias": true, "install": true,
}

// cargoNoopEnv reports whether a variable leaves what `cargo build` builds alone.
func cargoNoopEnv(k string) bool {
	switch {
	case k == "CARGO_HOME" || k == "RUSTUP_HOME":
		return true
	case strings.HasPrefix(k, "CARGO_TERM_"), strings.HasPrefix(k, "CARGO_NET_"), strings.HasPrefix(k, "CARGO_HTTP_"),
		strings.HasPrefix(k, "CARGO_REGISTRIES_"), strings.HasPrefix(k, "CARGO_REGISTRY_"):
		return true
	case strings.HasPrefix(k, "RUSTUP_") && k != "RUSTUP_TOOLCHAIN":
		return true
	case strings.HasPrefix(k, "CARGO"), strings.HasPrefix(k, "RUSTC"), strings.HasPrefix(k, "RUSTDOC"),
		k == "RUSTFLAGS", k == "RUSTUP_TOOLCHAIN":
		return false
	}
	// Others (RUST_BACKTRACE, RUST_LOG, …) reach a build only through a build
	// script, which says so (rerun-if-env-changed: cargoBuildScriptsFresh).
	return true
}

// cargoNoopCheck returns Plan.Steps.UpToDate for a cargo command line, or nil when the
// build could do something whatever the files say: anything but a bare `cargo
// build`, a variable or user config that changes the build, cargo config in the
// project or above it.
func cargoNoopCheck(cmd string, args []string, idx int, rest []string, env Env, root string, stepEnv []string) func() (bool, string) {
	if cmd != "build" || idx != 0 {
		return nil
	}
	for _, a := range rest {
		if !cargoNoopFlags[a] {
			return nil
		}
	}
	for _, kv := range env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if !cargoNoopEnv(k) {
			return nil
		}
	}
	// Cargo config: the user's, and .cargo/config.toml in the project and every
	// directory above it. Only settings that do not change what is built (where
	// crates come from, how cargo talks, aliases) are left to this check; the files
	// must be older than the artifacts (those in the project are in its walk).
	var hostFiles []string // files outside the project the build depends on
	dirs := []string{cargoUserHome(env)}
	for d := root; ; d = filepath.Dir(d) {
		dirs = append(dirs, filepath.Join(d, ".cargo"))
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, dir := range dirs {
		for _, name := range []string{"config.toml", "config"} {
			f := filepath.Join(dir, name)
			var data []byte
			var err error
			if within(root, f) {
				data, err = readProjectFile(root, f)
			} else {
				data, err = os.ReadFile(f)
			}
			if err != nil {
				if _, serr := os.Lstat(f); serr == nil {
					return nil // there, but not readable as a plain file
				}
				continue
			}
			var cfg map[string]any
			if _, err := toml.Decode(string(data), &cfg); err != nil {
				return nil
			}
			for k := range cfg {
				if !cargoNoopConfig[k] {
					return nil
				}
			}
			if !within(root, f) {
				hostFiles = append(hostFiles, f)
			}
		}
	}
	pin := ""
	for _, kv := range stepEnv {
		if v, ok := strings.CutPrefix(kv, "RUSTUP_TOOLCHAIN="); ok {
			pin = v
		}
	}
	for _, tool := range []string{"rustc", "cargo"} {
		var bin string
		if pin != "" {
			bin = filepath.Join(rustupHome(env), "toolchains", pin, "bin", tool)
		} else if p, err := env.LookPath(tool); err == nil {
			bin, _ = filepath.EvalSymlinks(p)
		}
		if bin == "" {
			return nil
		}
		hostFiles = append(hostFiles, bin)
	}
	return func() (bool, string) {
		ok, why := CargoUpToDate(root, func(k string) bool { _, set := env.LookupEnv(k); return set })
		if !ok {
			return false, why
		}
		// The artifacts' time, against the host files the build depends on.
		at, err := cargoArtifactTime(root)
		if err != nil {
			return false, err.Error()
		}
		for _, f := range hostFiles {
			st, err := os.Stat(f)
			if err != nil || !st.ModTime().Before(at) {
				return false, f + " changed since the last build"
			}
		}
		return true, why
	}
}

// cargoArtifacts are the default targets of the one package at root, as cargo
// writes them to target/debug: the binary of src/main.rs, the rlib of src/lib.rs.
func cargoArtifacts(r *os.Root) ([]string, string) {
	data, err := readNoLink(r, "Cargo.toml")
	if err != nil {
		return nil, err.Error()
	}
	var man map[string]any
	if _, err := toml.Decode(string(data), &man); err != nil {
		return nil, "Cargo.toml: " + err.Error()
	}
	for _, k := range []string{"workspace", "lib", "bin", "example", "test", "bench", "features"} {
		if _, ok := man[k]; ok {
			return nil, "Cargo.toml has " + k + " (targets, features or a workspace)"
		}
	}
	pkg, _ := man["package"].(map[string]any)
	name, _ := pkg["name"].(string)
	if name == "" || !npmRebuildName.MatchString(name) || strings.HasPrefix(name, "@") {
		return nil, "Cargo.toml has no package name"
	}
	for _, k := range []string{"autobins", "autolib", "build"} {
		if _, ok := pkg[k]; ok {
			return nil, "Cargo.toml sets package." + k
		}
	}
	if _, err := r.Lstat("src/bin"); err == nil {
		return nil, "the package has src/bin targets"
	}
	var out []string
	if st, err := r.Lstat("src/main.rs"); err == nil && st.Mode().IsRegular() {
		out = append(out, "target/debug/"+name)
	}
	if st, err := r.Lstat("src/lib.rs"); err == nil && st.Mode().IsRegular() {
		out = append(out, "target/debug/lib"+strings.ReplaceAll(name, "-", "_")+".rlib")
	}
	if len(out) == 0 {
		return nil, "the package has neither src/main.rs nor src/lib.rs"
	}
	return out, ""
}

// cargoArtifactTime is the oldest of the artifacts' modification times.
func cargoArtifactTime(root string) (time.Time, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return time.Time{}, err
	}
	defer r.Close()
	arts, why := cargoArtifacts(r)
	if why != "" {
		return time.Time{}, fmt.Errorf("%s", why)
	}
	var t time.Time
	for i, a := range arts {
		st, err := r.Lstat(a)
		if err != nil || !st.Mode().IsRegular() {
			return time.Time{}, fmt.Errorf("%s is not built", a)
		}
		if i == 0 || st.ModTime().Before(t) {
			t = st.ModTime()
		}
	}
	return t, nil
}

// CargoUpToDate says whether `cargo build` at root would find nothing to build:
// Cargo.lock is there, the default artifacts of the one package are in
// target/debug, every file and directory of the project outside target/ and .git/
// is older than the oldest of them (no symbolic link among them), and no build
// script asked to rerun when a variable that is set here (isSet) or a file
// outside the project changes. Files are read beneath root without following a
// symbolic link.
func CargoUpToDate(root string, isSet func(string) bool) (bool, string) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false, err.Error()
	}
	defer r.Close()
	if st, err := r.Lstat("Cargo.lock"); err != nil || !st.Mode().IsRegular() {
		return false, "no Cargo.lock (cargo build would write one)"
	}
	arts, why := cargoArtifacts(r)
	if why != "" {
		return false, why
	}
	at, err := cargoArtifactTime(root)
	if err != nil {
		return false, err.Error()
	}
	n := 0
	var walk func(dir string) string
	walk = func(dir string) string {
		f, err := r.Open(dir)
		if err != nil {
			return err.Error()
		}
		ents, err := f.ReadDir(-1)
		f.Close()
		if err != nil {
			return dir + ": " + err.Error()
		}
		for _, e := range ents {
			rel := path.Join(dir, e.Name())
			if dir == "." && (e.Name() == "target" || e.Name() == ".git") {
				continue
			}
			if n++; n > maxNoopTree {
				return "the project is too large to check"
			}
			info, err := e.Info()
			if err != nil {
				return err.Error()
			}
			if info.Mode()&fs.ModeSymlink != 0 {
				return rel + " is a symbolic link"
			}
			if !info.ModTime().Before(at) {
				return rel + " changed since the last build"
			}
			if e.IsDir() {
				if why := walk(rel); why != "" {
					return why
				}
			}
		}
		return ""
	}
	// The project's own directory is left out: the sync back of the last build
	// changed it (target/, Cargo.lock). What a removal there could change is a
	// build script gone: its last run is still in target/debug/build.
	if why := walk("."); why != "" {
		return false, why
	}
	if why := cargoBuildScriptGone(r); why != "" {
		return false, why
	}
	if why := cargoBuildScriptsFresh(r, isSet); why != "" {
		return false, why
	}
	if why := cargoFingerprintDefault(r, arts); why != "" {
		return false, why
	}
	return true, fmt.Sprintf("%s built after the last change to the project", strings.Join(arts, ", "))
}

// cargoBuildScriptGone: the last build ran the package's build script, which is
// no longer there (cargo would build without it).
func cargoBuildScriptGone(r *os.Root) string {
	if _, err := r.Lstat("build.rs"); err == nil {
		return ""
	}
	data, err := readNoLink(r, "Cargo.toml")
	if err != nil {
		return err.Error()
	}
	var man struct {
		Package struct {
			Name string `toml:"name"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(data), &man); err != nil {
		return "Cargo.toml: " + err.Error()
	}
	f, err := r.Open("target/debug/build")
	if err != nil {
		return ""
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, n := range names {
		if i := strings.LastIndex(n, "-"); i > 0 && n[:i] == man.Package.Name {
			return "the package's build script is gone"
		}
	}
	return ""
}

// cargoFingerprintDefault: the artifacts' paths are shared by every feature set
// and flag a build may have used, so the one fingerprint cargo keeps for each
// (target/debug/.fingerprint/NAME-HASH/KIND-NAME.json) must be the only one and
// record the default build: no features (Cargo.toml declares none), no
// RUSTFLAGS, the host as target.
func cargoFingerprintDefault(r *os.Root, arts []string) string {
	f, err := r.Open("target/debug/.fingerprint")
	if err != nil {
		return "no fingerprints of the last build"
	}
	dirs, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err.Error()
	}
	for _, a := range arts {
		base := path.Base(a)
		name, kind := base, "bin"
		if rest, ok := strings.CutPrefix(base, "lib"); ok && strings.HasSuffix(base, ".rlib") {
			name, kind = strings.TrimSuffix(rest, ".rlib"), "lib"
		}
		crate := strings.ReplaceAll(name, "_", "-")
		var found []string
		for _, d := range dirs {
			i := strings.LastIndex(d, "-")
			if i <= 0 || strings.ReplaceAll(d[:i], "_", "-") != crate {
				continue
			}
			fp := "target/debug/.fingerprint/" + d + "/" + kind + "-" + name + ".json"
			if _, err := r.Lstat(fp); err == nil {
				found = append(found, fp)
			}
		}
		if len(found) != 1 {
			return fmt.Sprintf("%d fingerprints of %s's %s (builds with other features or flags)", len(found), name, kind)
		}
		data, err := readNoLink(r, found[0])
		if err != nil {
			return err.Error()
		}
		var fp struct {
			Features    *string  `json:"features"`
			Rustflags   []string `json:"rustflags"`
			CompileKind *int     `json:"compile_kind"`
		}
		if json.Unmarshal(data, &fp) != nil || fp.Features == nil || *fp.Features != "[]" || len(fp.Rustflags) > 0 || fp.CompileKind == nil || *fp.CompileKind != 0 {
			return found[0] + " is not the default build's"
		}
	}
	return ""
}

// cargoBuildScriptsFresh reads what the build scripts of the last build asked
// (target/debug/build/*/output): a rerun-if-env-changed of a variable set here, or
// a rerun-if-changed of a path outside the project, is not decided here.
func cargoBuildScriptsFresh(r *os.Root, isSet func(string) bool) string {
	f, err := r.Open("target/debug/build")
	if err != nil {
		return "" // no build script ran
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err.Error()
	}
	for _, n := range names {
		out := "target/debug/build/" + n + "/output"
		data, err := readNoLink(r, out)
		if err != nil {
			continue // a build script's out dir, or one that printed nothing
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			l := strings.TrimSpace(sc.Text())
			l = strings.Replace(l, "cargo::", "cargo:", 1)
			if v, ok := strings.CutPrefix(l, "cargo:rerun-if-env-changed="); ok && isSet(strings.TrimSpace(v)) {
				return fmt.Sprintf("a build script depends on %s, which is set", strings.TrimSpace(v))
			}
			if v, ok := strings.CutPrefix(l, "cargo:rerun-if-changed="); ok && filepath.IsAbs(v) {
				return "a build script depends on " + v + ", outside the project"
			}
		}
	}
	return ""
}
