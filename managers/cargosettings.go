package managers

import (
	"fmt"
	"sort"
	"strings"
)

// A project's .cargo/config.toml is attacker input: cargo reads it from the working
// directory and every parent, and several of its settings name programs cargo runs
// even while resolving and fetching (it runs `rustc -vV` through the configured
// rustc and wrapper to learn the host; measured: cargo 1.65's fetch and 1.95's
// update and fetch ran a project's build.rustc-wrapper). cargoSettings classifies
// every key of cargo's configuration reference (doc/book/src/reference/config.md in
// rust-lang/cargo, plus the unstable [host], [unstable] and [gc] tables); the plan
// reads the project's files as data through it (cargoconfig.go) and the reference
// page docs/reference/cargo-config-settings.md is generated from it.

// cargoClass is what a setting from a project config file may do.
type cargoClass int

const (
	// cargoData changes how cargo behaves, names nothing outside the project and
	// runs nothing: kept in every step.
	cargoData cargoClass = iota
	// cargoPath names a file or directory: kept when it lies inside the project,
	// refused otherwise (the sandbox shows nothing else, and a path outside would
	// read or write where phylum-box cannot check or roll back).
	cargoPath
	// cargoExec names a program cargo runs, compiler flags (which name linkers and
	// plugins), environment for the programs cargo starts, or the target: left out
	// of the copy the networked steps read, kept for the offline build step (where
	// build scripts already run). A program path the sandbox cannot see is refused.
	cargoExec
	// cargoCredential is a token or a credential provider (a program handed the
	// token): refused in a project file; cargo's built-in providers are allowed.
	cargoCredential
	// cargoNetwork names a registry, index or repository the networked steps
	// reach (what is fetched is prechecked). A project may not name the index of
	// a registry the user holds a token for.
	cargoNetwork
	// cargoUserOnly decides where credentials travel or what phylum-box relies on
	// (proxy, CA, lockfile path, unstable features): refused in a project file,
	// honoured from the user's ~/.cargo/config.toml or environment.
	cargoUserOnly
)

func (c cargoClass) String() string {
	return [...]string{"data", "path", "exec", "credential", "network-target", "user-only"}[c]
}

// cargoClassDoc says what each class means in a project file, for the page.
var cargoClassDoc = map[cargoClass]string{
	cargoData:       "kept in every step",
	cargoPath:       "kept when the path lies inside the project; a path outside is refused",
	cargoExec:       "left out of the copy the resolve and download steps (network, credentials) read; honoured in the build step, which has neither; a program path outside the project and the system directories is refused",
	cargoCredential: "refused (tokens belong in ~/.cargo/credentials.toml, providers in ~/.cargo/config.toml); the built-in providers cargo:token, cargo:libsecret, cargo:wincred and cargo:macos-keychain are allowed",
	cargoNetwork:    "kept; what is fetched is prechecked; the index of a registry you hold a token for must come from your own config",
	cargoUserOnly:   "refused; set it in ~/.cargo/config.toml, the environment or with --config",
}

// cargoSetting is one key pattern of cargo's configuration. Segments in angle
// brackets match any one key; a pattern also covers everything below it.
type cargoSetting struct {
	Key   string
	Class cargoClass
	Why   string
}

// cargoSettings is the classification table. The longest matching pattern wins.
var cargoSettings = []cargoSetting{
	{"paths", cargoPath, "path dependency overrides"},
	{"include", cargoUserOnly, "loads further config files; phylum-box reads one file per directory — inline the settings"},
	{"alias.<name>", cargoData, "command aliases"},

	{"build.warnings", cargoData, ""},
	{"build.jobs", cargoData, ""},
	{"build.rustc", cargoExec, "the compiler cargo runs, also for `rustc -vV` while fetching"},
	{"build.rustc-wrapper", cargoExec, "a program run instead of rustc, also while fetching"},
	{"build.rustc-workspace-wrapper", cargoExec, "a program run instead of rustc for workspace members"},
	{"build.rustdoc", cargoExec, ""},
	{"build.target", cargoExec, "may name a target specification file, which names a linker; fetching without it fetches every platform's dependencies"},
	{"build.target-dir", cargoPath, "where the build writes"},
	{"build.build-dir", cargoPath, "intermediate artifacts; {workspace-root} is the only template allowed"},
	{"build.rustflags", cargoExec, "compiler flags name linkers and plugins"},
	{"build.rustdocflags", cargoExec, ""},
	{"build.incremental", cargoData, ""},
	{"build.dep-info-basedir", cargoData, "a prefix stripped from dep-info paths"},
	{"build.pipelining", cargoData, "deprecated, unused"},

	{"credential-alias.<name>", cargoCredential, "a credential provider program"},
	{"doc.browser", cargoExec, "a program run by cargo doc --open"},
	{"doc.extern-map", cargoData, "unstable: documentation link targets"},
	{"cargo-new.name", cargoData, "deprecated"},
	{"cargo-new.email", cargoData, "deprecated"},
	{"cargo-new.vcs", cargoData, ""},
	{"env.<name>", cargoExec, "environment of rustc, build scripts and cargo run (LD_PRELOAD and the like)"},
	{"future-incompat-report.frequency", cargoData, ""},
	{"cache.auto-clean-frequency", cargoData, ""},
	{"gc", cargoData, "unstable: cache cleaning"},

	{"http.debug", cargoData, ""},
	{"http.proxy", cargoUserOnly, "all registry traffic, tokens included, goes through it"},
	{"http.timeout", cargoData, ""},
	{"http.cainfo", cargoUserOnly, "the CA bundle that decides which servers are trusted with tokens"},
	{"http.proxy-cainfo", cargoUserOnly, ""},
	{"http.check-revoke", cargoData, ""},
	{"http.ssl-version", cargoData, ""},
	{"http.low-speed-limit", cargoData, ""},
	{"http.multiplexing", cargoData, ""},
	{"http.user-agent", cargoData, ""},

	{"install.root", cargoPath, "phylum-box passes cargo install --root itself"},

	{"net.retry", cargoData, ""},
	{"net.git-fetch-with-cli", cargoExec, "runs the git program while fetching"},
	{"net.offline", cargoData, ""},
	{"net.ssh.known-hosts", cargoUserOnly, "which SSH servers are trusted"},

	{"patch.<registry>.<crate>", cargoNetwork, "a replacement source for a dependency"},
	{"patch.<registry>.<crate>.path", cargoPath, ""},

	{"profile.<name>", cargoData, "optimisation, debug info, …"},
	{"profile.<name>.rustflags", cargoExec, "unstable: compiler flags"},
	{"profile.<name>.build-override.rustflags", cargoExec, ""},
	{"profile.<name>.package.<pkg>.rustflags", cargoExec, ""},

	{"resolver.lockfile-path", cargoUserOnly, "phylum-box prechecks the workspace's Cargo.lock"},
	{"resolver.incompatible-rust-versions", cargoData, ""},
	{"resolver.feature-unification", cargoData, "unstable"},

	{"registries.crates-io.index", cargoUserOnly, "cargo honours it (measured, 1.95): crates.io names would come from another server, with your crates.io token"},
	{"registries.<name>.index", cargoNetwork, ""},
	{"registries.<name>.token", cargoCredential, ""},
	{"registries.<name>.credential-provider", cargoCredential, ""},
	{"registries.<name>.protocol", cargoData, "git or sparse (crates-io)"},
	{"registry.index", cargoNetwork, "no longer accepted by cargo"},
	{"registry.default", cargoData, "the registry cargo publish uses"},
	{"registry.credential-provider", cargoCredential, ""},
	{"registry.token", cargoCredential, ""},
	{"registry.global-credential-providers", cargoCredential, ""},

	{"source.<name>.replace-with", cargoNetwork, ""},
	{"source.<name>.directory", cargoPath, "a vendored directory source"},
	{"source.<name>.registry", cargoNetwork, ""},
	{"source.<name>.local-registry", cargoPath, ""},
	{"source.<name>.git", cargoNetwork, ""},
	{"source.<name>.branch", cargoData, ""},
	{"source.<name>.tag", cargoData, ""},
	{"source.<name>.rev", cargoData, ""},

	{"target.<triple>.ar", cargoData, "deprecated, unused"},
	{"target.<triple>.linker", cargoExec, ""},
	{"target.<triple>.runner", cargoExec, "wraps cargo run and cargo test"},
	{"target.<triple>.rustflags", cargoExec, ""},
	{"target.<triple>.rustdocflags", cargoExec, ""},
	{"target.<triple>.<links>", cargoExec, "a build script override: link paths and flags"},
	{"host", cargoExec, "unstable: [target]-like settings for the host"},

	{"term", cargoData, "output"},
	{"unstable", cargoUserOnly, "nightly features (-Z); phylum-box refuses -Z on the command line too"},
}

// cargoUnknownClass applies to keys the table does not know (a newer cargo, a
// typo): like exec, they never reach the networked steps.
const cargoUnknownClass = cargoExec

// cargoBuiltinProviders are cargo's own credential providers: code of cargo, not a
// program the project names (cargo:token-from-stdout runs one, so it is not here).
var cargoBuiltinProviders = map[string]bool{
	"cargo:token": true, "cargo:libsecret": true, "cargo:wincred": true, "cargo:macos-keychain": true,
}

// cargoProgramKeys are the exec settings whose value starts with a program path
// (the rest are flags, environment or targets).
var cargoProgramKeys = map[string]bool{
	"build.rustc": true, "build.rustc-wrapper": true, "build.rustc-workspace-wrapper": true, "build.rustdoc": true,
	"doc.browser": true, "target.<triple>.linker": true, "target.<triple>.runner": true,
}

// classifyCargoKey finds the setting for a key path (["target", "x86_64-…", "runner"]):
// the longest pattern that is a prefix of it. ok is false for an unknown key.
func classifyCargoKey(path []string) (s cargoSetting, ok bool) {
	best := -1
	for _, c := range cargoSettings {
		segs := strings.Split(c.Key, ".")
		if len(segs) > len(path) || len(segs) <= best {
			continue
		}
		match := true
		for i, seg := range segs {
			if !strings.HasPrefix(seg, "<") && seg != path[i] {
				match = false
				break
			}
		}
		if match {
			s, best = c, len(segs)
		}
	}
	return s, best >= 0
}

func init() { RegisterSettingsPage("cargo-config-settings.md", cargoSettingsPage) }

// cargoSettingsPage renders docs/reference/cargo-config-settings.md.
func cargoSettingsPage() string {
	var b strings.Builder
	b.WriteString("# cargo: project configuration settings\n\n")
	b.WriteString("A project's `.cargo/config.toml` (and legacy `.cargo/config`) is part of the checkout, and so\n" +
		"attacker input. phylum-box reads the files of the project — from the working directory up to the\n" +
		"workspace root — as data before anything runs, and handles each setting by its class below. A\n" +
		"refusal exits 2 and names the file, the line and the setting. Your own `~/.cargo/config.toml`,\n" +
		"`--config` on the command line and `CARGO_*` variables are yours and are not restricted.\n\n" +
		"Config files above the workspace root are not in the sandbox, so cargo does not read them there\n" +
		"(`-v` lists them); under `/usr`, `/etc` or `/opt` the sandbox shows them as they are, so there they\n" +
		"must hold no exec setting. Commands that pass through to the host (`cargo tree`, `cargo metadata`,\n" +
		"…) are checked the same way, and refused when the project's config names programs they would run.\n\n")
	b.WriteString("| class | in a project file |\n| --- | --- |\n")
	for c := cargoData; c <= cargoUserOnly; c++ {
		fmt.Fprintf(&b, "| %s | %s |\n", c, cargoClassDoc[c])
	}
	fmt.Fprintf(&b, "| (unknown key) | as %s |\n", cargoUnknownClass)
	b.WriteString("\n## Settings\n\n| key | class | note |\n| --- | --- | --- |\n")
	rows := append([]cargoSetting(nil), cargoSettings...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	for _, s := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Key, s.Class, strings.ReplaceAll(s.Why, "|", `\|`))
	}
	b.WriteString("\n## Toolchain files\n\n" +
		"`rust-toolchain.toml` and `rust-toolchain` are read as data (the working directory and its\n" +
		"parents, with rustup's directory overrides from `$RUSTUP_HOME/settings.toml`). A released channel\n" +
		"(`stable`, `beta`, `nightly`, `1.95.0`, `nightly-2026-01-01`, with an optional host) that is\n" +
		"installed is pinned with `RUSTUP_TOOLCHAIN` in every step; `path =` or any other name is refused.\n" +
		"`cargo +TOOLCHAIN` and your own `RUSTUP_TOOLCHAIN` win, as with rustup.\n")
	return b.String()
}
