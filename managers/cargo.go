package managers

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
)

func init() { Register(cargoManager{}) }

// cargoManager plans cargo command lines: resolve the lockfile, precheck it, fetch
// with the network on, then build (build scripts and proc-macros run there) with
// --frozen and no network.
type cargoManager struct{}

func (cargoManager) Name() string      { return "cargo" }
func (cargoManager) Ecosystem() string { return precheck.CratesIO }

// cargoAliases are cargo's built-in short commands.
var cargoAliases = map[string]string{"b": "build", "c": "check", "t": "test", "r": "run", "d": "doc", "rm": "remove"}

// cargoBuilds are the commands that compile (and so run build scripts).
var cargoBuilds = map[string]bool{"build": true, "check": true, "test": true, "run": true, "bench": true, "doc": true,
	"clippy": true, "rustc": true, "rustdoc": true}

// cargoResolves are the commands that resolve or fetch without compiling.
var cargoResolves = map[string]bool{"add": true, "remove": true, "update": true, "generate-lockfile": true, "fetch": true}

// cargoValueOpts are cargo's options that take a value and may precede the command.
var cargoValueOpts = map[string]bool{"--config": true, "-Z": true, "--color": true, "--manifest-path": true, "-C": true}

func (m cargoManager) Plan(args []string, env Env) (*Plan, error) {
	p, err := env.checkedPlan(m.plan(args, env, 0))
	nameSteps(p, err, "cargo", args)
	return finish("cargo", p, err, env)
}

func (m cargoManager) plan(args []string, env Env, depth int) (*Plan, error) {
	cmd, idx := "", -1
	for i := 0; i < len(args); i++ {
		w := args[i]
		if i == 0 && strings.HasPrefix(w, "+") {
			continue // rustup's +TOOLCHAIN, only valid first
		}
		if cargoValueOpts[w] {
			i++
			continue
		}
		if strings.HasPrefix(w, "-") {
			continue
		}
		cmd, idx = w, i
		break
	}
	if a, ok := cargoAliases[cmd]; ok {
		cmd = a
	}
	rest := []string{}
	if idx >= 0 {
		rest = args[idx+1:]
	}
	if idx >= 0 && !cargoBuilds[cmd] && !cargoResolves[cmd] && cmd != "install" {
		// A user or project alias (`bb = "build"`) would otherwise pass through
		// and build on the host: expand it as cargo does and plan the result.
		exp, from, err := cargoAlias(env, cmd)
		if err != nil {
			return nil, err
		}
		if exp != nil {
			if depth >= 8 {
				return nil, &Refusal{Manager: "cargo", Reason: "alias " + cmd + " expands too deeply (" + from + ")"}
			}
			return m.plan(concat(args[:idx], exp, rest), env, depth+1)
		}
	}
	// Help runs nothing, but only before `--` (cargo run -- --help runs the
	// program) and only once aliases are expanded (with xtask = "run --", cargo
	// xtask --help compiled and ran the project on the host).
	for _, w := range rest {
		if w == "--" {
			break
		}
		if w == "--help" || w == "-h" {
			return m.hostPassthrough(cmd, args, idx, env, false)
		}
	}
	switch {
	case cargoBuilds[cmd], cargoResolves[cmd]:
	case cmd == "install":
		return m.planInstall(args, idx, rest, env)
	default:
		return m.hostPassthrough(cmd, args, idx, env, true)
	}
	for _, w := range args {
		if w == "-Z" || strings.HasPrefix(w, "--manifest-path") || w == "-C" {
			// These move the project or change cargo's behaviour in ways the plan
			// would have to follow; refuse rather than check the wrong lockfile.
			return nil, cargoUnsupportedRefusal(w)
		}
	}
	root := cargoWorkspaceRoot(env.Dir)
	if root == "" {
		return nil, &Refusal{Manager: "cargo", Reason: "no Cargo.toml in " + env.Dir + " or above", Advice: "run it in a cargo project"}
	}
	cwd, _ := filepath.Rel(root, env.Dir)
	home := cargoCache(env)
	pre, stepEnv, creds, notes, err := cargoSetup(args, idx, root, env)
	if err != nil {
		return nil, err
	}
	p := &Plan{
		Manager:    "cargo",
		Ecosystem:  precheck.CratesIO,
		Subcommand: cmd,
		Args:       args,
		Project: Project{
			Root:      root,
			Cwd:       cwd,
			Lockfiles: []string{"Cargo.lock"},
			Outputs:   []string{"Cargo.lock", "target/"},
			Sealed:    []string{"Cargo.lock"},
		},
		Sandbox: Sandbox{
			Caches:      []Cache{home},
			Credentials: creds,
		},
		Notes: notes,
	}
	switch {
	case cmd == "add" || cmd == "remove":
		p.Steps.Resolve = &Step{Args: concat(pre, []string{cmd}, rest), Network: true, Credentials: true}
		p.Project.Outputs = append(p.Project.Outputs, "Cargo.toml")
		p.Project.Sealed = append(p.Project.Sealed, "Cargo.toml")
		cargoMemberManifests(p, root)
	case cmd == "update" || cmd == "generate-lockfile":
		p.Steps.Resolve = &Step{Args: concat(pre, []string{cmd}, rest), Network: true, Credentials: true}
	default:
		// An existing lockfile is kept as it is, only completed for manifest changes
		// (what `cargo build` itself would do); a missing one is generated.
		p.Steps.Resolve = &Step{Args: concat([]string{"sh", "-c", `if [ -e Cargo.lock ]; then exec "$@" update --workspace; else exec "$@" generate-lockfile; fi`, "sh"}, pre), Network: true, Credentials: true}
	}
	if cwd != "." {
		// The lockfile lives at the workspace root; the resolve runs there.
		p.Steps.Resolve.Args = concat([]string{"sh", "-c", `cd "$0" && exec "$@"`, root}, p.Steps.Resolve.Args)
	}
	p.Steps.Download = &Step{Args: concat(pre, []string{"fetch", "--locked"}), Network: true, Credentials: true}
	if cargoBuilds[cmd] {
		p.Steps.Build = &Step{Args: concat(pre, []string{cmd, "--frozen"}, rest), Env: []string{"CARGO_NET_OFFLINE=true"}}
		if st, err := os.Lstat(filepath.Join(root, "Cargo.lock")); err == nil && st.Mode().IsRegular() {
			// Nothing to resolve or fetch is the everyday build: try it alone first —
			// unless Cargo.lock lacks a dependency just added (cargolockstale.go).
			if dep := cargoLockMisses(root); dep == "" {
				p.Steps.BuildFirst = cargoNeedsResolve
			} else {
				p.Notes = append(p.Notes, "cargo: Cargo.lock has no "+dep+" yet: resolving first")
			}
			p.Steps.UpToDate = cargoNoopCheck(cmd, args, idx, rest, env, root, stepEnv) // cargonoop.go
		}
	}
	cargoAddEnv(p, stepEnv)
	return p, nil
}

// cargoNeedsResolve reads the output of a build tried on the committed lockfile
// (Plan.Steps.BuildFirst): --frozen refused to complete the lockfile or to fetch a crate.
func cargoNeedsResolve(output string) bool {
	for _, s := range []string{"--locked was passed", "--frozen", "--offline", "offline mode"} {
		if strings.Contains(output, s) {
			return true
		}
	}
	return false
}

// cargoHostSafe are the commands that consult neither rustc nor a program the
// project's config names; the rest (tree and metadata run `rustc -vV` through the
// configured rustc and wrapper, measured with cargo 1.65 and 1.95; so do clean,
// info and vendor when it resolves, measured with 1.95; package and publish
// compile; external cargo-* commands usually run cargo metadata) may not pass
// through to the host when the project's config names programs.
var cargoHostSafe = map[string]bool{
	"": true, "help": true, "version": true, "new": true, "init": true, "locate-project": true, "pkgid": true,
	"verify-project": true, "read-manifest": true, "fmt": true, "search": true, "login": true, "logout": true,
	"owner": true, "yank": true, "report": true, "config": true,
}

// hostPassthrough lets a command through to the real cargo on the host, which
// runs with the user's environment, home and network. A toolchain file naming a
// path would make rustup's proxy run the project's own cargo there, whatever the
// command; the project's config is checked as for a planned command (a proxy or
// a registry index chosen by the project would see the user's tokens); and a
// config naming programs refuses the commands that would run them. Help runs
// nothing (help only skips the config check).
func (m cargoManager) hostPassthrough(cmd string, args []string, idx int, env Env, checkConfig bool) (*Plan, error) {
	plusTC := ""
	globals := args[:max(idx, 0)]
	if idx < 0 {
		globals = args
	}
	if len(globals) > 0 && strings.HasPrefix(globals[0], "+") {
		plusTC = globals[0]
	}
	if _, _, err := cargoToolchainChoice(env, plusTC, false); err != nil {
		return nil, err
	}
	root := cargoWorkspaceRoot(env.Dir)
	if !checkConfig || root == "" {
		return passthrough(m, cmd, args), nil
	}
	files, _, err := cargoProjectFiles(env, root, cargoUser(env, globals))
	if err != nil {
		return nil, err
	}
	if cargoHostSafe[cmd] {
		return passthrough(m, cmd, args), nil
	}
	for _, f := range files {
		if !bytes.Equal(f.Secret, f.Public) {
			return nil, &Refusal{Manager: "cargo",
				Reason: fmt.Sprintf("cargo %s runs outside the sandbox, and %s names programs (rustc, a wrapper, flags or environment) that it would run on this machine", cmd, filepath.Join(root, f.Project)),
				Advice: "run it in the sandbox (phylum-box run -- cargo " + cmd + "; phylum-box run --network … if it must reach the registry), or remove those settings from the project's config"}
		}
	}
	return passthrough(m, cmd, args), nil
}

// cargoInstallWork is where `cargo install` is prepared inside the project: a probe
// package that depends on the crate (its lockfile names the crate with its registry
// source, so the crate itself is prechecked), the crate's unpacked source with its
// own lockfile, and check/Cargo.lock, both combined for the precheck. The build
// deletes it.
const cargoInstallWork = ".phylum-box-cargo-install"

// cargoInstallResolve runs in the resolve step (network on, no package code): it
// resolves and fetches through the probe, unpacks the crate, and locks it.
const cargoInstallResolve = `set -e
w="$PHYLUM_BOX_WORK"
rm -rf "$w"
mkdir -p "$w/probe/src" "$w/src" "$w/check"
printf '[package]\nname = "phylum-box-probe"\nversion = "0.0.0"\nedition = "2018"\n\n[dependencies]\n%s = { version = "%s"%s }\n\n[workspace]\n' \
	"$PHYLUM_BOX_CRATE" "$PHYLUM_BOX_REQ" "$PHYLUM_BOX_REGISTRY" >"$w/probe/Cargo.toml"
: >"$w/probe/src/lib.rs"
(cd "$w/probe" && "$@" generate-lockfile && "$@" fetch --locked)
ver=$(awk -v n="$PHYLUM_BOX_CRATE" '$1=="name"{name=$3} $1=="version"&&name=="\""n"\""{gsub(/"/,"",$3); print $3; exit}' "$w/probe/Cargo.lock")
crate=$(ls "$CARGO_HOME"/registry/cache/*/"$PHYLUM_BOX_CRATE-$ver.crate" | head -n 1)
tar -xzf "$crate" -C "$w/src" --strip-components=1
# cargo install from a registry reads neither the crate's cargo config nor its
# toolchain file (they are package input): nor does the rest of this step.
rm -rf "$w/src/.cargo" "$w/src/rust-toolchain" "$w/src/rust-toolchain.toml"
# Its own workspace, not a member of the project's.
grep -q '^\[workspace\]' "$w/src/Cargo.toml" || printf '\n[workspace]\n' >>"$w/src/Cargo.toml"
if [ -z "$PHYLUM_BOX_LOCKED" ] || [ ! -e "$w/src/Cargo.lock" ]; then
	rm -f "$w/src/Cargo.lock"
	(cd "$w/src" && "$@" generate-lockfile)
fi
# The crate's lockfile skips the crate itself (a path package there): add the
# probe's entry for it, with its registry source.
{ cat "$w/src/Cargo.lock"; printf '\n'; awk -v n="$PHYLUM_BOX_CRATE" '
	/^\[\[package\]\]/{if (keep) printf "%s", buf; buf=""; keep=0}
	{buf=buf $0 "\n"}
	$1=="name"&&$3=="\""n"\""{keep=1}
	END{if (keep) printf "%s", buf}' "$w/probe/Cargo.lock"; } >"$w/check/Cargo.lock"
`

// planInstall plans `cargo install CRATE --root DIR` with DIR inside the project:
// anything else would write outside it.
func (m cargoManager) planInstall(args []string, idx int, rest []string, env Env) (*Plan, error) {
	var crate, req, root, registry string
	locked := false
	var pass []string
	for i := 0; i < len(rest); i++ {
		w := rest[i]
		val := func() string {
			if _, v, ok := strings.Cut(w, "="); ok && strings.HasPrefix(w, "--") {
				return v
			}
			if i+1 < len(rest) {
				i++
				return rest[i]
			}
			return ""
		}
		name, _, _ := strings.Cut(w, "=")
		switch {
		case name == "--root":
			root = val()
		case name == "--version" || name == "--vers":
			req = val()
		case name == "--registry":
			registry = val()
		case name == "--git" || name == "--path" || name == "--index" || name == "--branch" || name == "--tag" || name == "--rev":
			return nil, cargoInstallSourceRefusal(name)
		case name == "--locked":
			locked = true
			pass = append(pass, w)
		case name == "--list":
			return m.hostPassthrough("install", args, idx, env, false)
		case name == "--features" || name == "-F" || name == "--bin" || name == "--example" || name == "--profile" || name == "--target" || name == "-j" || name == "--jobs" || name == "--color" || name == "--config" || name == "--target-dir":
			if !strings.Contains(w, "=") && i+1 < len(rest) {
				pass = append(pass, w, rest[i+1])
				i++
			} else {
				pass = append(pass, w)
			}
		case strings.HasPrefix(w, "-"):
			pass = append(pass, w)
		case crate == "":
			crate = w
			if c, v, ok := strings.Cut(w, "@"); ok {
				crate, req = c, v
			}
		default:
			return nil, cargoInstallManyRefusal()
		}
	}
	if root == "" {
		return nil, cargoInstallNoRootRefusal()
	}
	absRoot := root
	if !filepath.IsAbs(absRoot) {
		absRoot = filepath.Join(env.Dir, absRoot)
	}
	absRoot = filepath.Clean(absRoot)
	if !within(env.Dir, absRoot) || absRoot == env.Dir {
		return nil, cargoInstallOutsideRefusal(root, env.Dir)
	}
	if crate == "" || strings.ContainsAny(crate, "\"'\\ /") {
		return nil, &Refusal{Manager: "cargo", Reason: "name the crate to install", Advice: "cargo install CRATE --root DIR"}
	}
	if req == "" {
		req = "*"
	}
	if strings.ContainsAny(req, "\"\\") || strings.ContainsAny(registry, "\"\\") {
		return nil, &Refusal{Manager: "cargo", Reason: "unusual characters in --version or --registry"}
	}
	rel, _ := filepath.Rel(env.Dir, absRoot)
	work := filepath.Join(env.Dir, cargoInstallWork)
	home := cargoCache(env)
	pre, stepEnv, creds, notes, err := cargoSetup(args, idx, env.Dir, env)
	if err != nil {
		return nil, err
	}
	reg := ""
	if registry != "" {
		reg = `, registry = "` + registry + `"`
	}
	env0 := []string{"PHYLUM_BOX_WORK=" + work, "PHYLUM_BOX_CRATE=" + crate, "PHYLUM_BOX_REQ=" + req, "PHYLUM_BOX_REGISTRY=" + reg}
	if locked {
		env0 = append(env0, "PHYLUM_BOX_LOCKED=1")
	}
	p := &Plan{
		Manager:    "cargo",
		Ecosystem:  precheck.CratesIO,
		Subcommand: "install",
		Args:       args,
		Project: Project{
			Root:      env.Dir,
			Cwd:       ".",
			Lockfiles: []string{cargoInstallWork + "/check/Cargo.lock"},
			Outputs:   []string{filepath.ToSlash(rel) + "/"},
		},
		Sandbox: Sandbox{
			// Nothing is sealed: the build deletes the work dir, lockfiles included.
			Caches:      []Cache{home},
			Credentials: creds,
		},
	}
	p.Steps.Resolve = &Step{Args: concat([]string{"sh", "-c", `eval "$PHYLUM_BOX_SCRIPT"`, "sh"}, pre),
		Env: append(env0, "PHYLUM_BOX_SCRIPT="+cargoInstallResolve), Network: true, Credentials: true}
	p.Steps.Download = &Step{Args: concat([]string{"sh", "-c", `cd "$0" && exec "$@"`, filepath.Join(work, "src")}, pre, []string{"fetch", "--locked"}), Network: true, Credentials: true}
	p.Steps.Build = &Step{
		Args: concat([]string{"sh", "-c", `"$@"; rc=$?; rm -rf "$PHYLUM_BOX_WORK"; exit $rc`, "sh"}, pre,
			[]string{"install", "--path", filepath.Join(work, "src"), "--root", absRoot, "--frozen"}, pass),
		Env: []string{"CARGO_NET_OFFLINE=true", "PHYLUM_BOX_WORK=" + work, "CARGO_TARGET_DIR=" + filepath.Join(work, "target")},
	}
	p.Notes = append(notes, "cargo install: the crate is resolved through a probe package, unpacked and locked in "+cargoInstallWork+", built offline into "+rel)
	cargoAddEnv(p, stepEnv)
	return p, nil
}

func cargoUnsupportedRefusal(w string) *Refusal {
	return &Refusal{Manager: "cargo", Reason: w + " is not supported by phylum-box yet", Advice: "run cargo from the package's directory, without " + w}
}

func cargoInstallSourceRefusal(name string) *Refusal {
	return &Refusal{Manager: "cargo", Reason: "cargo install " + name + " is not supported by phylum-box yet (only crates from a registry)",
		Advice: "add it as a dependency of a project and build it with `phylum-box cargo build`"}
}

func cargoInstallManyRefusal() *Refusal {
	return &Refusal{Manager: "cargo", Reason: "phylum-box installs one crate per `cargo install`", Advice: "run it once per crate"}
}

func cargoInstallNoRootRefusal() *Refusal {
	return &Refusal{Manager: "cargo", Reason: "cargo install writes into ~/.cargo/bin (or $CARGO_INSTALL_ROOT), outside the project, where phylum-box cannot check, contain or roll it back",
		Advice: "name a directory inside the project with --root DIR (then run DIR/bin/NAME)"}
}

func cargoInstallOutsideRefusal(root, dir string) *Refusal {
	return &Refusal{Manager: "cargo", Reason: "--root " + root + " is outside the project (" + dir + ")",
		Advice: "name a directory below " + dir}
}

// cargoDocHow says what phylum-box does with the commands of cargoBuilds and
// cargoResolves.
var cargoDocHow = map[string]string{
	"build":             "the lockfile is completed as cargo would, prechecked, the crates fetched, then compiled in the sandbox (--frozen, network off)",
	"add":               "resolved, prechecked and fetched; nothing is compiled",
	"remove":            "resolved, prechecked and fetched; nothing is compiled",
	"update":            "resolved, prechecked and fetched; nothing is compiled",
	"generate-lockfile": "resolved, prechecked and fetched; nothing is compiled",
	"fetch":             "the lockfile is completed as cargo would, prechecked, the crates fetched",
}

// Doc describes cargo from cargoBuilds, cargoResolves and cargoAliases.
func (cargoManager) Doc() ManagerDoc {
	var d ManagerDoc
	for _, cmd := range sortedKeys(cargoBuilds) {
		d.Intercepted = append(d.Intercepted, DocCommand{Name: cmd, Aliases: aliasesOf(cargoAliases, cmd), How: cargoDocHow["build"]})
	}
	for _, cmd := range sortedKeys(cargoResolves) {
		d.Intercepted = append(d.Intercepted, DocCommand{Name: cmd, Aliases: aliasesOf(cargoAliases, cmd), How: cargoDocHow[cmd]})
	}
	d.Intercepted = append(d.Intercepted, DocCommand{Name: "install", Args: []string{"--root", "DIR", "CRATE"},
		How: "with DIR inside the working directory: the crate and its dependencies are prechecked, then built into DIR in the sandbox with the network off"})
	d.Refused = []DocRefusal{
		{Form: "cargo install without --root", Example: []string{"install", "CRATE"}, Advice: cargoInstallNoRootRefusal().Advice},
		{Form: "cargo install --root DIR with DIR outside the working directory", Example: []string{"install", "--root", "/usr/local", "CRATE"},
			Advice: cargoInstallOutsideRefusal("DIR", "the working directory").Advice},
		{Form: "cargo install --git, --path, --index, --branch, --tag or --rev", Example: []string{"install", "--root", "DIR", "--git", "URL"}, Advice: cargoInstallSourceRefusal("--git").Advice},
		{Form: "cargo install of several crates", Example: []string{"install", "--root", "DIR", "A", "B"}, Advice: cargoInstallManyRefusal().Advice},
		{Form: "-C DIR, -Z FLAG or --manifest-path PATH with an intercepted command", Example: []string{"build", "--manifest-path", "PATH"},
			Advice: cargoUnsupportedRefusal("-C, -Z or --manifest-path").Advice},
	}
	d.PassThrough = []string{"tree", "fmt", "publish", "install --list", "build --help"}
	d.Notes = []string{
		"Commands other than install need a Cargo.toml in the working directory or above; the lockfile is the workspace's.",
		"In the sandbox CARGO_HOME is phylum-box's own cache, read-only while compiling; the user's ~/.cargo/config.toml is passed with --config.",
		"The project's .cargo/config.toml is read as data (see cargo-config-settings.md): settings that name programs, flags or environment reach only the offline build; paths outside the project, tokens, credential providers, proxies and [unstable] are refused with file:line.",
		"A rust-toolchain.toml or rust-toolchain file may name an installed released channel, pinned with RUSTUP_TOOLCHAIN in every step; a path or any other name is refused. cargo +TOOLCHAIN and RUSTUP_TOOLCHAIN are yours and win.",
		"Aliases (CARGO_ALIAS_NAME, [alias] in your config or the project's) are expanded as cargo does and planned like the command they name; a project alias that passes --config, -Z, +TOOLCHAIN, --manifest-path or -C is refused.",
		"Commands that pass through run on the host: they are refused when a toolchain file names a path, and tree, metadata, clean, info, vendor, package, publish and external commands also when the project's config names programs (run them with phylum-box run -- cargo …).",
		"cargo fix, cargo publish and third-party cargo-* subcommands pass through unprotected although they compile the project: run phylum-box cargo check first, and only on code you trust.",
	}
	return d
}

// cargoWorkspaceRoot is the directory of the nearest Cargo.toml, or of an enclosing
// one that declares a [workspace] (where Cargo.lock lives).
func cargoWorkspaceRoot(dir string) string {
	root := ""
	w := newAncestorWalk(dir) // ancestors.go: not above a directory the user does not control
	for d := dir; d == dir || w.trusted(d); d = filepath.Dir(d) {
		// Read as itself (a Cargo.toml that is a link out of d or a hard link is
		// not read; the plan refuses it, naming it).
		if data, err := readProjectFile(d, filepath.Join(d, "Cargo.toml")); err == nil || errors.As(err, new(*ProjectFileError)) {
			if root == "" {
				root = d
			} else if strings.Contains(string(data), "[workspace]") {
				root = d
			}
		}
		if filepath.Dir(d) == d {
			return root
		}
	}
	return root
}

// cargoMemberManifests adds the workspace members' manifests (cargo add in a member
// changes that one) to the outputs and sealed files.
func cargoMemberManifests(p *Plan, root string) {
	if p.Project.Cwd == "." {
		return
	}
	rel := filepath.ToSlash(filepath.Join(p.Project.Cwd, "Cargo.toml"))
	p.Project.Outputs = append(p.Project.Outputs, rel)
	p.Project.Sealed = append(p.Project.Sealed, rel)
}

// cargoCache is phylum-box's own CARGO_HOME: registry index, .crate files and their
// unpacked sources, written by cargo in Resolve and Download and read-only in Build.
// It is not the user's ~/.cargo, which holds the toolchain and credentials and which
// the sandbox would have to hand to the container's root.
func cargoCache(env Env) Cache {
	base := env.Getenv("XDG_CACHE_HOME")
	if base == "" {
		base = filepath.Join(env.Home, ".cache")
	}
	dir := filepath.Join(base, "phylum-box", "cargo")
	return Cache{
		Path: dir, Env: []string{"CARGO_HOME=" + dir},
		Mount:    []Phase{PhaseResolve, PhaseDownload, PhaseBuild},
		Writable: []Phase{PhaseResolve, PhaseDownload},
	}
}

// cargoToolPaths are the toolchain directories (rustup's ~/.cargo/bin and ~/.rustup)
// the steps need read-only when cargo is not the system's /usr/bin/cargo.
func cargoToolPaths(env Env) []string {
	bin, err := env.LookPath("cargo")
	if err != nil || strings.HasPrefix(bin, "/usr/") {
		return nil
	}
	out := []string{filepath.Dir(bin)}
	rustup := env.Getenv("RUSTUP_HOME")
	if rustup == "" {
		rustup = filepath.Join(env.Home, ".rustup")
	}
	if st, err := os.Stat(rustup); err == nil && st.IsDir() {
		out = append(out, rustup)
	}
	return out
}
