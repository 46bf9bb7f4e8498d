package managers

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cargoReferenceKeys are the keys documented in cargo's configuration reference
// (rust-lang/cargo doc/book/src/reference/config.md, its "Configuration format"
// overview and every "### `key`" heading, as of 2026-08), with the unstable tables
// phylum-box also knows. Placeholders are filled in with sample names.
var cargoReferenceKeys = []string{
	"include", "paths", "alias.rr",
	"build.warnings", "build.jobs", "build.rustc", "build.rustc-wrapper", "build.rustc-workspace-wrapper",
	"build.rustdoc", "build.target", "build.target-dir", "build.build-dir", "build.rustflags",
	"build.rustdocflags", "build.incremental", "build.dep-info-basedir", "build.pipelining",
	"credential-alias.my-alias", "doc.browser", "cargo-new.name", "cargo-new.email", "cargo-new.vcs",
	"env.ENV_VAR_NAME", "env.ENV_VAR_NAME_2.value", "env.ENV_VAR_NAME_2.force", "env.ENV_VAR_NAME_3.relative",
	"future-incompat-report.frequency", "cache.auto-clean-frequency",
	"http.debug", "http.proxy", "http.timeout", "http.cainfo", "http.proxy-cainfo", "http.check-revoke",
	"http.ssl-version", "http.ssl-version.max", "http.ssl-version.min", "http.low-speed-limit",
	"http.multiplexing", "http.user-agent",
	"install.root",
	"net.retry", "net.git-fetch-with-cli", "net.offline", "net.ssh.known-hosts",
	"patch.crates-io.foo.path", "patch.crates-io.foo.git",
	"profile.dev.inherits", "profile.dev.build-override.opt-level", "profile.dev.package.image.opt-level",
	"profile.release.codegen-units", "profile.release.debug", "profile.release.split-debuginfo",
	"profile.release.debug-assertions", "profile.release.incremental", "profile.release.lto",
	"profile.release.overflow-checks", "profile.release.opt-level", "profile.release.panic",
	"profile.release.rpath", "profile.release.strip",
	"resolver.lockfile-path", "resolver.incompatible-rust-versions",
	"registries.corp.index", "registries.corp.token", "registries.corp.credential-provider",
	"registries.crates-io.protocol",
	"registry.index", "registry.default", "registry.credential-provider", "registry.token",
	"registry.global-credential-providers",
	"source.vendored.replace-with", "source.vendored.directory", "source.mirror.registry",
	"source.local.local-registry", "source.g.git", "source.g.branch", "source.g.tag", "source.g.rev",
	"target.x86_64-unknown-linux-gnu.ar", "target.x86_64-unknown-linux-gnu.linker",
	"target.cfg(unix).linker", "target.x86_64-unknown-linux-gnu.runner", "target.cfg(unix).runner",
	"target.x86_64-unknown-linux-gnu.rustflags", "target.cfg(unix).rustflags",
	"target.x86_64-unknown-linux-gnu.rustdocflags", "target.cfg(unix).rustdocflags",
	"target.x86_64-unknown-linux-gnu.foo.rustc-link-search",
	"term.quiet", "term.verbose", "term.color", "term.hyperlinks", "term.unicode",
	"term.progress.when", "term.progress.width", "term.progress.term-integration",
	// unstable
	"unstable.build-std", "host.linker", "host.x86_64-unknown-linux-gnu.runner", "gc.auto.frequency",
	"doc.extern-map.registries.crates-io", "profile.dev.rustflags",
}

func TestCargoSettingsClassifyEveryReferenceKey(t *testing.T) {
	for _, key := range cargoReferenceKeys {
		// cfg(unix) holds no dot; split the rest on dots.
		if _, ok := classifyCargoKey(strings.Split(key, ".")); !ok {
			t.Errorf("%s is not classified", key)
		}
	}
	seen := map[string]bool{}
	for _, s := range cargoSettings {
		if seen[s.Key] {
			t.Errorf("%s is in the table twice", s.Key)
		}
		seen[s.Key] = true
	}
	for key, want := range map[string]cargoClass{
		"build.rustc-wrapper": cargoExec, "target.x.runner": cargoExec, "target.x.foo.rustc-flags": cargoExec,
		"env.LD_PRELOAD": cargoExec, "env.X.value": cargoExec, "registries.a.token": cargoCredential, "registries.crates-io.index": cargoUserOnly, "registries.corp.index": cargoNetwork,
		"http.proxy": cargoUserOnly, "resolver.lockfile-path": cargoUserOnly, "source.v.directory": cargoPath,
		"profile.dev.opt-level": cargoData, "profile.dev.package.x.rustflags": cargoExec,
		"patch.crates-io.x.path": cargoPath, "patch.crates-io.x.git": cargoNetwork, "net.retry": cargoData,
		"net.git-fetch-with-cli": cargoExec, "unstable.anything": cargoUserOnly,
	} {
		if s, _ := classifyCargoKey(strings.Split(key, ".")); s.Class != want {
			t.Errorf("%s is %s (pattern %s), want %s", key, s.Class, s.Key, want)
		}
	}
}

func TestCargoSettingsPageListsEveryKey(t *testing.T) {
	page := SettingsPages()["cargo-config-settings.md"]
	for _, s := range cargoSettings {
		if !strings.Contains(page, "| `"+s.Key+"` | "+s.Class.String()+" |") {
			t.Errorf("the page lacks %s", s.Key)
		}
	}
}

func TestCargoCheckProjectConfig(t *testing.T) {
	root := t.TempDir()
	user := cargoUserConfig{tokens: map[string]bool{"CORP": true, "MINE": true}, indexes: map[string]bool{"MINE": true}}
	tests := []struct {
		name     string
		config   string
		problems []string // substrings, in order; nil for none
		dropped  []string
		secret   []string // substrings of the networked copy
		notIn    []string // must not be in the networked copy
	}{
		{name: "legitimate source replacement and net settings",
			config: "[source.crates-io]\nreplace-with = \"v\"\n\n[source.v]\ndirectory = \"vendor\"\n\n[net]\nretry = 0\n\n[profile.dev]\nopt-level = 1\n"},
		{name: "rustc-wrapper stays out of the networked steps",
			config:  "[build]\njobs = 2\nrustc-wrapper = \"./evil.sh\"\n\n[env]\nLD_PRELOAD = { value = \"x.so\", relative = true }\n\n[target.x86_64-unknown-linux-gnu]\nlinker = \"clang\"\nrustflags = [\"-C\", \"link-arg=-fuse-ld=lld\"]\n",
			dropped: []string{"build.rustc-wrapper", "env.LD_PRELOAD", "target.x86_64-unknown-linux-gnu.linker", "target.x86_64-unknown-linux-gnu.rustflags"},
			secret:  []string{"jobs = 2"}, notIn: []string{"evil.sh", "x.so", "clang", "lld"}},
		{name: "runner outside the project", config: "[target.'cfg(unix)']\nrunner = \"/home/someone/evil.sh --flag\"\n",
			problems: []string{":2: target.cfg(unix).runner: the program \"/home/someone/evil.sh\" is outside the project"}},
		{name: "a system linker is fine", config: "[target.x86_64-unknown-linux-gnu]\nlinker = \"/usr/bin/clang\"\n",
			dropped: []string{"target.x86_64-unknown-linux-gnu.linker"}},
		{name: "a directory source outside", config: "[source.v]\n# vendored\ndirectory = \"../../etc\"\n",
			problems: []string{":3: source.v.directory: \"../../etc\" is outside the project"}},
		{name: "target-dir outside", config: "build.target-dir = \"/tmp/t\"\n", problems: []string{":1: build.target-dir"}},
		{name: "build-dir template", config: "[build]\nbuild-dir = \"{cargo-cache-home}/b\"\n", problems: []string{"build.build-dir: a template"}},
		{name: "credential provider program", config: "[registry]\nglobal-credential-providers = [\"cargo:token\", \"/bin/steal\"]\n",
			problems: []string{":2: registry.global-credential-providers: the credential provider \"/bin/steal\""}},
		{name: "built-in provider", config: "[registries.mine]\ncredential-provider = \"cargo:token\"\n", secret: []string{"cargo:token"}},
		{name: "token-from-stdout runs a program", config: "[registries.x]\ncredential-provider = [\"cargo:token-from-stdout\", \"sh\", \"-c\", \"x\"]\n",
			problems: []string{"credential-provider"}},
		{name: "a token in the project", config: "[registries.x]\ntoken = \"t\"\n", problems: []string{":2: registries.x.token"}},
		{name: "index of a registry the user has a token for", config: "[registries.corp]\nindex = \"sparse+https://evil.example/\"\n",
			problems: []string{":2: registries.corp.index: you hold a token for registry corp"}},
		{name: "index the user names too", config: "[registries.mine]\nindex = \"sparse+https://mine.example/\"\n", secret: []string{"mine.example"}},
		{name: "crates.io's index", config: "[registries.crates-io]\nindex = \"sparse+https://evil.example/\"\n", problems: []string{":2: registries.crates-io.index: not taken from a project"}},
		{name: "proxy", config: "[http]\nproxy = \"http://evil:3128\"\ncainfo = \"ca.pem\"\n", problems: []string{":3: http.cainfo", ":2: http.proxy"}},
		{name: "unstable", config: "[unstable]\nbuild-std = [\"core\"]\n", problems: []string{":1: unstable: not taken from a project"}},
		{name: "lockfile path", config: "resolver.lockfile-path = \"other/Cargo.lock\"\n", problems: []string{"resolver.lockfile-path"}},
		{name: "git-fetch-with-cli", config: "[net]\ngit-fetch-with-cli = true\n", dropped: []string{"net.git-fetch-with-cli"}},
		{name: "unknown key", config: "[futuristic]\nthing = 1\n", dropped: []string{"futuristic"}},
		{name: "paths", config: "paths = [\"crates/a\", \"/opt/b\"]\n", problems: []string{":1: paths: \"/opt/b\""}},
		{name: "patch path", config: "[patch.crates-io]\nfoo = { path = \"../../foo\" }\n", problems: []string{":2: patch.crates-io.foo.path"}},
		{name: "not toml", config: "[build\n", problems: []string{"not valid TOML"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(root, ".cargo", "config.toml")
			secret, dropped, problems := cargoCheckProjectConfig(path, root, root, []byte(tc.config), user)
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems = %q, want %q", problems, tc.problems)
			}
			for i, want := range tc.problems {
				if !strings.Contains(problems[i], want) || !strings.HasPrefix(problems[i], path) {
					t.Errorf("problem %q, want %q", problems[i], want)
				}
			}
			if len(tc.problems) > 0 {
				return
			}
			if !slices.Equal(dropped, tc.dropped) {
				t.Errorf("dropped = %q, want %q", dropped, tc.dropped)
			}
			if len(tc.dropped) == 0 && string(secret) != tc.config {
				t.Errorf("nothing dropped, yet the copy differs:\n%s", secret)
			}
			for _, s := range tc.secret {
				if !strings.Contains(string(secret), s) {
					t.Errorf("networked copy lacks %q:\n%s", s, secret)
				}
			}
			for _, s := range tc.notIn {
				if strings.Contains(string(secret), s) {
					t.Errorf("networked copy has %q:\n%s", s, secret)
				}
			}
		})
	}
}

func TestCargoPlanProjectConfig(t *testing.T) {
	crate := map[string]string{
		"Cargo.toml":         "[workspace]\nmembers = [\"a\"]\n",
		"a/Cargo.toml":       "[package]\nname = \"a\"\nversion = \"0.1.0\"\n",
		"a/src/lib.rs":       "",
		".cargo/config.toml": "[build]\nrustc-wrapper = \"./evil.sh\"\n\n[net]\nretry = 1\n",
		"a/.cargo/config":    "[term]\nverbose = true\n",
	}
	env := testEnv(t, crate)
	env.Environ = []string{"PATH=/usr/bin:/bin", "RUSTC_WRAPPER=sccache"}
	root := env.Dir
	env.Dir = filepath.Join(root, "a")
	cargo, _ := Lookup("cargo")
	p, err := cargo.Plan([]string{"build"}, env)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range p.Sandbox.Credentials.Files {
		got = append(got, f.Project)
		switch f.Project {
		case ".cargo/config.toml":
			if strings.Contains(string(f.Secret), "evil") || !strings.Contains(string(f.Secret), "retry = 1") {
				t.Errorf("networked copy:\n%s", f.Secret)
			}
			if !strings.Contains(string(f.Public), "evil") {
				t.Errorf("the build's copy is the project's file:\n%s", f.Public)
			}
		case "a/.cargo/config":
			if string(f.Secret) != crate["a/.cargo/config"] || string(f.Public) != crate["a/.cargo/config"] {
				t.Errorf("a data-only file is kept as it is: %q %q", f.Secret, f.Public)
			}
		}
	}
	if !slices.Equal(got, []string{"a/.cargo/config", ".cargo/config.toml"}) {
		t.Errorf("project config files = %q", got)
	}
	// One above the workspace root is not in the sandbox: a note, not a copy.
	above := filepath.Join(filepath.Dir(root), ".cargo", "config.toml")
	writeFile(t, above, "[build]\nrustc-wrapper = \"x\"\n")
	p, err = cargo.Plan([]string{"build"}, env)
	if err != nil || len(p.Sandbox.Credentials.Files) != 2 || !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, above+" is above the workspace root") }) {
		t.Errorf("a config above the root: %v %q", err, p.Notes)
	}
	for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build} {
		if !slices.Contains(s.Env, "RUSTC_WRAPPER=sccache") {
			t.Errorf("the user's RUSTC_WRAPPER is theirs to choose: %q", s.Env)
		}
	}

	// A refused setting names the file and line.
	writeFile(t, filepath.Join(root, ".cargo", "config.toml"), "[net]\nretry = 1\n[http]\nproxy = \"http://127.0.0.1:1\"\n")
	_, err = cargo.Plan([]string{"build"}, env)
	var ref *Refusal
	if !errors.As(err, &ref) || !strings.Contains(ref.Reason, filepath.Join(root, ".cargo", "config.toml")+":4: http.proxy") {
		t.Fatalf("want a refusal naming config.toml:4, got %v", err)
	}
}

func TestCargoPlusToolchain(t *testing.T) {
	env := testEnv(t, map[string]string{"Cargo.toml": "[package]\nname = \"p\"\nversion = \"0.1.0\"\n", "src/main.rs": ""})
	env.Environ = []string{"PATH=/usr/bin:/bin"}
	cargo, _ := Lookup("cargo")
	p, err := cargo.Plan([]string{"+nightly", "build", "--release"}, env)
	if err != nil || p.Passthrough {
		t.Fatalf("cargo +nightly build must be planned: %v %+v", err, p)
	}
	if want := []string{"cargo", "+nightly", "build", "--frozen", "--release"}; !slices.Equal(p.Steps.Build.Args, want) {
		t.Errorf("Build = %q, want %q", p.Steps.Build.Args, want)
	}
}

func TestCargoToolchain(t *testing.T) {
	// A rustup home with stable installed, and a cargo proxy in PATH.
	rhome := t.TempDir()
	for _, d := range []string{"toolchains/stable-x86_64-unknown-linux-gnu", "toolchains/1.95.0-x86_64-unknown-linux-gnu"} {
		if err := os.MkdirAll(filepath.Join(rhome, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := t.TempDir()
	writeFile(t, filepath.Join(bin, "rustup"), "#!/bin/sh\n")
	if err := os.Chmod(filepath.Join(bin, "rustup"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("rustup", filepath.Join(bin, "cargo")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rhome, "settings.toml"), "default_toolchain = \"stable-x86_64-unknown-linux-gnu\"\n")
	tests := []struct {
		name  string
		files map[string]string
		env   []string
		plus  string
		pin   string // or "refused: …"
	}{
		{"no file: the user's default", nil, nil, "", "stable-x86_64-unknown-linux-gnu"},
		{"a channel", map[string]string{"rust-toolchain.toml": "[toolchain]\nchannel = \"stable\"\ncomponents = [\"clippy\"]\n"}, nil, "", "stable"},
		{"a version", map[string]string{"sub/x": "", "rust-toolchain.toml": "[toolchain]\nchannel = \"1.95.0\"\n"}, nil, "", "1.95.0"},
		{"legacy file", map[string]string{"rust-toolchain": "stable\n"}, nil, "", "stable"},
		{"path", map[string]string{"rust-toolchain.toml": "[toolchain]\n# ours\npath = \"./tc\"\n"}, nil, "", "refused: " + "rust-toolchain.toml:3: [toolchain] path = \"./tc\""},
		{"custom name", map[string]string{"rust-toolchain": "my-linked\n"}, nil, "", "refused: " + "rust-toolchain:1: toolchain \"my-linked\" is not a released channel"},
		{"not installed", map[string]string{"rust-toolchain.toml": "[toolchain]\nchannel = \"nightly-2026-01-01\"\n"}, nil, "", "refused: " + "asks for toolchain nightly-2026-01-01, which is not installed"},
		{"+toolchain wins", map[string]string{"rust-toolchain.toml": "[toolchain]\npath = \"./tc\"\n"}, nil, "+stable", ""},
		{"RUSTUP_TOOLCHAIN wins", map[string]string{"rust-toolchain.toml": "[toolchain]\npath = \"./tc\"\n"}, []string{"RUSTUP_TOOLCHAIN=stable"}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, tc.files)
			env.Environ = append([]string{"PATH=" + bin + ":/usr/bin", "RUSTUP_HOME=" + rhome}, tc.env...)
			pin, _, err := cargoToolchain(env, tc.plus)
			got := pin
			var ref *Refusal
			if errors.As(err, &ref) {
				got = "refused: " + ref.Reason
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tc.pin, "refused: ") {
				if !strings.HasPrefix(got, "refused: ") || !strings.Contains(got, strings.TrimPrefix(tc.pin, "refused: ")) {
					t.Errorf("got %q, want %q", got, tc.pin)
				}
				return
			}
			if got != tc.pin {
				t.Errorf("pin = %q, want %q", got, tc.pin)
			}
		})
	}
}

func TestParseToolchainFileChannels(t *testing.T) {
	for ch, ok := range map[string]bool{
		"stable": true, "beta": true, "nightly": true, "1.95.0": true, "1.95": true, "nightly-2026-01-01": true,
		"stable-x86_64-unknown-linux-gnu": true, "1.95.0-beta.2": true,
		"../tc": false, "/opt/tc": false, "my-toolchain": false, "": false, "stable; rm -rf": false,
	} {
		_, _, why := parseToolchainFile("rust-toolchain.toml", []byte("[toolchain]\nchannel = \""+ch+"\"\n"))
		if (why == "") != ok {
			t.Errorf("channel %q: accepted %v, want %v (%s)", ch, why == "", ok, why)
		}
	}
}

// TestCargoHostPassthrough: commands that pass through run on the host; a project
// that would make them run its programs there is refused.
func TestCargoHostPassthrough(t *testing.T) {
	base := map[string]string{"Cargo.toml": "[package]\nname = \"p\"\nversion = \"0.1.0\"\n", "src/main.rs": ""}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	wrapper := map[string]string{".cargo/config.toml": "[build]\nrustc-wrapper = \"./evil.sh\"\n"}
	pathTC := map[string]string{"rust-toolchain.toml": "[toolchain]\npath = \"./tc\"\n"}
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		want  string
	}{
		{"tree in a plain project", base, []string{"tree"}, "passthrough"},
		{"tree runs the wrapper", wrapper, []string{"tree"}, "refused: cargo tree runs outside the sandbox"},
		{"metadata runs the wrapper", wrapper, []string{"metadata", "--format-version", "1"}, "refused: cargo metadata"},
		{"fmt does not", wrapper, []string{"fmt"}, "passthrough"},
		{"clean runs the wrapper", wrapper, []string{"clean"}, "refused: cargo clean"},
		{"info runs the wrapper", wrapper, []string{"info", "serde"}, "refused: cargo info"},
		{"vendor runs the wrapper", wrapper, []string{"vendor"}, "refused: cargo vendor"},
		{"clean in a plain project", base, []string{"clean"}, "passthrough"},
		{"help does not", wrapper, []string{"build", "--help"}, "passthrough"},
		{"a proxy in the project", map[string]string{".cargo/config.toml": "[http]\nproxy = \"x:1\"\n"}, []string{"vendor"}, "refused: the project's cargo configuration"},
		{"a path toolchain runs the project's cargo for anything", pathTC, []string{"fmt"}, "refused: "},
		{"even --version", pathTC, []string{"--version"}, "refused: "},
		{"unless the user chose", pathTC, []string{"+stable", "fmt"}, "passthrough"},
	}
	cargo, _ := Lookup("cargo")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, with(tc.files))
			env.Environ = []string{"PATH=/usr/bin:/bin"}
			got := planOutcome(cargo.Plan(tc.args, env))
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("Plan(%q) = %s, want %s…", tc.args, got, tc.want)
			}
		})
	}
}

// TestCargoAliases: an alias for an intercepted command is planned, not passed
// through to a build on the host; a project alias may not smuggle settings.
func TestCargoAliases(t *testing.T) {
	tests := []struct {
		name, project, user string
		args                []string
		want                string
		build               []string
	}{
		{"project alias", "[alias]\nbb = \"build --release\"\n", "", []string{"bb"}, "plan", []string{"cargo", "build", "--frozen", "--release"}},
		{"user alias, array", "", "[alias]\nbr = [\"b\", \"--release\"]\n", []string{"br", "-v"}, "plan", []string{"cargo", "build", "--frozen", "--release", "-v"}},
		{"alias of an alias", "[alias]\nx = \"y\"\ny = \"check\"\n", "", []string{"x"}, "plan", []string{"cargo", "check", "--frozen"}},
		{"alias to a passthrough", "[alias]\ntr = \"tree -e normal\"\n", "", []string{"tr"}, "passthrough", nil},
		{"loop", "[alias]\nx = \"y\"\ny = \"x\"\n", "", []string{"x"}, "refused: alias", nil},
		{"project alias with --config", "[alias]\nbb = \"build --config build.rustc-wrapper='./e.sh'\"\n", "", []string{"bb"}, "refused: ", nil},
		{"user alias with --config is the user's", "", "[alias]\nbb = \"build --config net.retry=2\"\n", []string{"bb"}, "plan", nil},
		// Help passes through, but not an alias's (xtask = "run --" with
		// --help ran the project on the host) nor a program's after --.
		{"xtask --help runs the program", "[alias]\nxtask = \"run --\"\n", "", []string{"xtask", "--help"}, "plan", []string{"cargo", "run", "--frozen", "--", "--help"}},
		{"run -- --help runs the program", "", "", []string{"run", "--", "--help"}, "plan", []string{"cargo", "run", "--frozen", "--", "--help"}},
		{"test -- -h runs the tests", "", "", []string{"test", "--", "-h"}, "plan", nil},
		{"build --help", "", "", []string{"build", "--help"}, "passthrough", nil},
		{"an alias to help", "[alias]\nbh = \"build --help\"\n", "", []string{"bh"}, "passthrough", nil},
		{"help of a plain command", "[alias]\nxtask = \"run --\"\n", "", []string{"tree", "-h"}, "passthrough", nil},
	}
	cargo, _ := Lookup("cargo")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"Cargo.toml": "[package]\nname = \"p\"\nversion = \"0.1.0\"\n", "src/main.rs": ""}
			if tc.project != "" {
				files[".cargo/config.toml"] = tc.project
			}
			env := testEnv(t, files)
			env.Environ = []string{"PATH=/usr/bin:/bin"}
			if tc.user != "" {
				writeFile(t, filepath.Join(env.Home, ".cargo", "config.toml"), tc.user)
			}
			p, err := cargo.Plan(tc.args, env)
			got := planOutcome(p, err)
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("Plan(%q) = %s, want %s…", tc.args, got, tc.want)
			}
			if tc.build != nil {
				args := slices.DeleteFunc(slices.Clone(p.Steps.Build.Args), func(s string) bool { return s == "--config" || strings.HasSuffix(s, "cargo-config.toml") })
				if !slices.Equal(args, tc.build) {
					t.Errorf("Build = %q, want %q", p.Steps.Build.Args, tc.build)
				}
			}
		})
	}
}

// TestCargoProjectPathsThroughSymlinks: a path setting inside the project that a
// symlink leads outside it is refused (cargo clean passes through and deleted the
// directory it led to), and so is a .cargo that is a symlink (the host's config,
// the user's own included, would be read as the project's); the same paths
// through a symlink that stays inside, and plain ones, are accepted.
func TestCargoProjectPathsThroughSymlinks(t *testing.T) {
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(outside, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	cargo, _ := Lookup("cargo")
	for _, tc := range []struct {
		name   string
		config string
		links  map[string]string // project path → target ("@" is the outside dir)
		want   string
	}{
		{"target-dir through a link outside", "[build]\ntarget-dir = \"tdir/keep\"\n", map[string]string{"tdir": "@"}, "refused: "},
		{"the link itself", "[build]\ntarget-dir = \"tdir\"\n", map[string]string{"tdir": "@"}, "refused: "},
		{"a dangling link", "[build]\ntarget-dir = \"tdir/new\"\n", map[string]string{"tdir": "@/nothing-yet"}, "refused: "},
		{"vendored source through a link", "[source.v]\ndirectory = \"v/keep\"\n", map[string]string{"v": "@"}, "refused: "},
		{"a link inside the project", "[build]\ntarget-dir = \"tdir/keep\"\n", map[string]string{"tdir": "src"}, "passthrough"},
		{"a plain dir", "[build]\ntarget-dir = \"out/keep\"\n", nil, "passthrough"},
		{".cargo a symlink", "", map[string]string{".cargo": "@"}, "refused: "},
		{".cargo a symlink inside", "", map[string]string{"shared": "@", ".cargo": "src"}, "passthrough"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"Cargo.toml": "[package]\nname = \"p\"\nversion = \"0.1.0\"\n", "src/main.rs": ""}
			if tc.config != "" {
				files[".cargo/config.toml"] = tc.config
			}
			env := testEnv(t, files)
			env.Environ = []string{"PATH=/usr/bin:/bin"}
			writeFile(t, filepath.Join(outside, "config.toml"), "[build]\ntarget-dir = \"target\"\n")
			for name, target := range tc.links {
				if err := os.Symlink(strings.Replace(target, "@", outside, 1), filepath.Join(env.Dir, name)); err != nil {
					t.Fatal(err)
				}
				if name == ".cargo" && !strings.Contains(target, "@") {
					writeFile(t, filepath.Join(env.Dir, target, "config.toml"), "[net]\nretry = 1\n")
				}
			}
			for _, args := range [][]string{{"clean"}, {"build"}} {
				got := planOutcome(cargo.Plan(args, env))
				want := tc.want
				if args[0] == "build" && want == "passthrough" {
					want = "plan"
				}
				if !strings.HasPrefix(got, want) {
					t.Errorf("Plan(%q) = %s, want %s…", args, got, want)
				}
			}
		})
	}
}
