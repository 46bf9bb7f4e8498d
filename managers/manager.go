package managers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/registry"
)

// Manager is one package manager's knowledge: which of its command lines install or
// run package code, and how to do that in the five steps. Plan only reads files (the
// manifest, .npmrc, …) and never touches the network; it runs no tool (a project
// file is attacker input: nothing on the host may run with it).
type Manager interface {
	// Name is the command the user types ("npm", "npx", "pnpm", "yarn").
	Name() string
	// Ecosystem is the OSV ecosystem of the packages it installs (precheck.NPM, …).
	Ecosystem() string
	// Plan classifies argv (without the tool name) run from env.Dir. It returns a
	// *Refusal for command lines phylum-box will not run (global installs, …).
	Plan(args []string, env Env) (*Plan, error)
}

// Env is what a Plan may look at: the working directory, the home directory and the
// process environment. Tests build it by hand; FromProcess builds the real one.
type Env struct {
	Dir     string   // absolute working directory of the command
	Home    string   // the user's home directory
	Environ []string // KEY=VALUE, like os.Environ()
}

// FromProcess returns the Env of the running process.
func FromProcess() (Env, error) {
	dir, err := os.Getwd()
	if err != nil {
		return Env{}, fmt.Errorf("reading the working directory: %w", err)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return Env{}, fmt.Errorf("finding the home directory (set HOME): %w", err)
	}
	return Env{Dir: dir, Home: home, Environ: os.Environ()}, nil
}

// Getenv returns the last value of key in e.Environ, like os.Getenv.
func (e Env) Getenv(key string) string {
	v, _ := e.LookupEnv(key)
	return v
}

// LookupEnv is os.LookupEnv over e.Environ; the last assignment wins, as in execve.
func (e Env) LookupEnv(key string) (string, bool) {
	val, found := "", false
	for _, kv := range e.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

// ConfigHome is $XDG_CONFIG_HOME, or ~/.config when it is unset.
func (e Env) ConfigHome() string {
	if d := e.Getenv("XDG_CONFIG_HOME"); d != "" {
		return d
	}
	return filepath.Join(e.Home, ".config")
}

// LookPath finds an executable in e's PATH (not the process's).
func (e Env) LookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(e.Getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH", name)
}

// PassEnv names the variables the orchestration carries from the user's environment
// into every step: without the TLS trust settings a machine behind an intercepting
// proxy cannot reach its registry (measured: yarn 4 fails with "self-signed
// certificate in certificate chain" when NODE_EXTRA_CA_CERTS is dropped).
var PassEnv = []string{
	"PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "COLORTERM", "NO_COLOR",
	"FORCE_COLOR", "CI", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR",
}

// NetworkEnv names the variables carried into network steps only: proxy URLs may
// hold credentials ("http://user:pass@proxy:3128").
var NetworkEnv = []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

// Phase names one of the sandboxed steps, for caches and credentials.
type Phase string

const (
	PhaseEvaluate Phase = "evaluate"
	PhaseResolve  Phase = "resolve"
	PhaseDownload Phase = "download"
	PhaseBuild    Phase = "build"
	PhaseRun      Phase = "run"
	// PhaseHooks runs the project's own resolution hooks (a pnpmfile) offline.
	PhaseHooks Phase = "hooks"
)

// Plan is what one command line needs. A Passthrough plan only has Manager, Args and
// Subcommand set: the orchestration runs the real tool with Args untouched.
type Plan struct {
	Manager    string   // "npm"
	Ecosystem  string   // precheck.NPM
	Subcommand string   // canonical subcommand ("install" for "npm isntall")
	Args       []string // the user's argv after the tool name, unchanged

	// Passthrough: the command installs nothing and runs no registry code.
	Passthrough bool

	// Project is the tree the steps work on and what may come back from it.
	Project Project
	// Steps are the sandboxed commands and the host callbacks between them.
	Steps Steps
	// TryFirst, when set, is an attempt run before this plan (pip's one-run
	// install, piponerun.go; yarn berry's install over the committed lockfile,
	// berryfirst.go): if its resolve step fails, its ResolveOutput returns
	// ErrFallback or its Retry says so, nothing is synced, its output is not
	// shown, and this plan runs (internal/install/piponerun.go).
	TryFirst *Plan `json:"-"`
	// Retry, set on a TryFirst plan, says whether an attempt that did not succeed,
	// its output still held back, is thrown away all the same and the plan runs:
	// failed is the phase of the step that failed ("" when none ran: the precheck
	// blocked) (yarn berry's install over the committed lockfile, berryfirst.go).
	// Nil: only a failed resolve step is (or ErrFallback).
	Retry func(failed Phase) bool `json:"-"`
	// ShowAfter, set on a TryFirst plan, are words of its output from which the
	// attempt's output is shown as it comes instead of held back to its end (a
	// long fetch shows its progress); from then on it can no longer be thrown
	// away.
	ShowAfter []string `json:"-"`
	// Scratch, when set, makes the plan install into a fresh empty project (npx,
	// dlx, create); nothing of it is synced back but what Run writes.
	Scratch *ScratchProject
	// Sandbox is what the steps see of the host besides the project.
	Sandbox Sandbox
	// Registries is the npm-ecosystem metadata client: the default registry, the
	// "@scope" registries and their credentials, named once. The orchestration
	// reads publish times and install-script facts through it and sets its
	// CacheDir (registry.DefaultCacheDir). It prints itself redacted. Nil for the
	// other ecosystems.
	Registries *registry.Client `json:"-"`

	// Then runs on the host after a successful sync back, like a passthrough
	// ("npm install-test" = install, then "npm test").
	Then []string
	// Notes are one-line explanations printed with -v (why copy instead of hard
	// links, which yarn flavour was detected, …).
	Notes []string
}

// Project is the user's project as a plan sees it.
type Project struct {
	// Root is the project root (absolute): the tree that gets overlaid during the steps
	// and synced back after. Cwd is where the steps run, relative to Root (npm finds
	// the project by walking up, so a user in a subdirectory installs at the root).
	Root string
	Cwd  string
	// Name and Version are the project's package.json name and version, for
	// scripts: allowlist and allow_scripts.
	Name, Version string
	// Lockfiles are the files (relative to Root) to precheck, in order of preference:
	// the first one that exists is read (rebuild prefers npm's hidden lockfile,
	// node_modules/.package-lock.json, which describes what is installed). After
	// Download the orchestration re-reads it and refuses the install if it names a
	// package that was not prechecked.
	Lockfiles []string
	// Outputs are the paths (relative to Root; a trailing "/" means a directory tree)
	// that may be synced back. Every other write is refused and reported.
	Outputs []string
	// Sealed are outputs (relative to Root) that Build must leave exactly as Download
	// left them (manifests, lockfiles): lifecycle scripts have no business there, and
	// a change would smuggle an unchecked dependency past the precheck. The
	// orchestration compares them after Build and treats a change as a forbidden write.
	Sealed []string
	// Freshen are files (relative to Root) the manager writes last to say the tree
	// is as they describe (npm's hidden lockfile); after a sync back that wrote one,
	// its modification time is set to the sync's end, as the manager's own run would
	// have left it — the sync's new entries would otherwise make it look stale.
	Freshen []string
	// Bookkeeping names output files (relative to Root) the manager rewrites on
	// every run, with whether the run's content says nothing new over the host's
	// (pnpm's node_modules/.pnpm-workspace-state-v1.json differs only in when it was
	// written): such a file is left as the host has it and not counted as synced.
	Bookkeeping map[string]func(run, host []byte) bool `json:"-"`
}

// Steps are the commands run in the sandbox, in this order, and the host
// callbacks that read what they left. Every callback's input is untrusted data.
type Steps struct {
	// Evaluate runs before Resolve with no network, no credentials and the project
	// read-only: project code a manager must run to know what to resolve (Ruby in a
	// Gemfile) runs there, never in a networked step. Its standard output (at most
	// 4 MiB, not shown) goes to Evaluated on the host, which treats it as untrusted
	// data (read returns a project file as the steps see it) and may change the plan
	// for the later steps (Sandbox.Credentials.Files, Step.Env); an error stops the
	// install, a *Refusal with exit 2.
	Evaluate  *Step
	Evaluated func(stdout []byte, read func(rel string) ([]byte, error)) error `json:"-"`
	// Resolve runs on a throwaway copy of the project with the network on and no
	// package code; afterwards the orchestration parses Project.Lockfiles from that
	// copy. A nil Resolve means the committed lockfile is the resolution (npm ci,
	// rebuild).
	Resolve *Step
	// Hooks, when set, runs after Resolve with no network and no credentials: the
	// project's own resolution code (a pnpmfile), which may change only the lockfile
	// (any other change stops the install). Its standard output goes to Hooked,
	// which returns the package specs whose metadata the hooks needed and no
	// networked step has fetched yet; HooksFetch(specs) is then run (network and
	// credentials, no project code) and Hooks again, a bounded number of times.
	Hooks      *Step
	Hooked     func(stdout []byte) (missing []string, err error) `json:"-"`
	HooksFetch func(missing []string) *Step                      `json:"-"`
	// Resolved, when set, runs on the host after Resolve (and Hooks), before the
	// precheck. changed lists the paths (relative to Root) the steps so far wrote;
	// read returns a file of the run's view. Both are untrusted data: a resolve may
	// run package code (an sdist's metadata hook). It returns the lockfile entries
	// that are not what would be fetched (Mismatch and Source set: blocked with
	// exit 3 before anything is fetched) or an error (a *Refusal exits 2, an
	// *UnusableOutput 5, a *ForbiddenWrite 4), and may set what the later steps are
	// given (Sandbox.Credentials.Files: the validated fetch list, in place of the
	// lockfile).
	Resolved func(changed []string, read func(rel string) ([]byte, error)) ([]precheck.Package, error) `json:"-"`
	// ResolveOutput, when set, replaces Project.Lockfiles for a Resolve that may run
	// package code (pip's builds sdist metadata): the step's standard output (capped,
	// not shown) is handed to it on the host, and everything the step wrote is thrown
	// away before the next step. It parses and validates that untrusted output and
	// returns the packages to precheck (Mismatch set on an entry that is not what
	// the configured index serves: blocked, exit 3); it may set what the later
	// steps are given (Sandbox.Credentials.Files: the validated fetch list). An
	// error stops the install (exit codes as for Resolved).
	ResolveOutput func(ctx context.Context, stdout []byte) ([]precheck.Package, error) `json:"-"`
	// UpToDate, when set, tells from the project as it is (read as data, before any
	// step) that the command has nothing to do: the lockfile is prechecked and no
	// step runs. A manager answers true only when it is sure.
	UpToDate func() (upToDate bool, why string) `json:"-"`
	// Download fetches and unpacks with the network on and scripts off.
	Download *Step
	// Fetched, when set, is the directory (relative to Root) where Download leaves
	// the archives Build installs (pip's and Poetry's wheels and sdists, Bundler's
	// .gem files): the static analysis reads them there, before Build runs any.
	Fetched string
	// Build runs lifecycle scripts with the network off. Nil when there is nothing
	// to build (uninstall-only plans still rebuild: bin links may change).
	Build *Step
	// BuildNeeded, when set, tells from the tree Download left (read returns a file
	// of the scratch project, relative to Root) whether Build has anything to run;
	// why says what was found. Nil means always run Build. A manager answers false
	// only when it is sure: an unreadable or unfamiliar file means true.
	BuildNeeded func(read func(rel string) ([]byte, error)) (needed bool, why string) `json:"-"`
	// BuildChanged, when set with Build.AppendChanged, limits Build to the packages
	// this install added or changed: dirs are the package dirs (relative to Root)
	// whose manifest Download wrote, read a file of the scratch project. It returns
	// the names to append to Build (none: nothing to build); ok false means it
	// cannot tell, and Build covers the whole tree (BuildNeeded still applies).
	BuildChanged func(read func(rel string) ([]byte, error), dirs []string) (names []string, why string, ok bool) `json:"-"`
	// BuildFirst, when set, lets the orchestration try Build alone over the
	// committed lockfile first (prechecked as always, offline, in a session of its
	// own): an everyday build with nothing to resolve or fetch needs no other step.
	// If that build fails and BuildFirst says from its output that it needed the
	// lockfile completed or packages fetched, the attempt is thrown away and every
	// step runs.
	BuildFirst func(output string) (resolve bool) `json:"-"`
	// BuildOptionalFailed, when set, reads a failed Build's output (its last lines)
	// and the scratch project: ok when the package whose script failed is an
	// optional dependency, which the manager itself would drop and go on without;
	// remove are the lockfile paths (relative to Root) it would drop with it, gone
	// the package names no longer in the tree (managers/npmoptional.go).
	BuildOptionalFailed func(output, root string, read func(rel string) ([]byte, error)) (failed string, remove, gone []string, ok bool) `json:"-"`
	// ProjectScripts, when set, runs the project's own lifecycle scripts (the root
	// package's preinstall … prepare, its workspace packages') after Build, as the
	// manager runs them after installing: no network, no credentials, under the
	// policy's scripts mode by Project.Name. What it writes in the project beyond
	// Outputs is synced back too, except .git/ and Sealed files
	// (internal/install/rootscripts.go).
	ProjectScripts *Step
	// Run is registry code executed after Build (npx, dlx): network off, project
	// read-only unless the orchestration decides otherwise (Scratch.WriteBack).
	Run *Step
	// Notices, when set, runs on the host after the last step with read (a file of
	// the scratch project: untrusted, package code may have written it) and returns
	// what the bare manager would have told the user but its steps do not show
	// (pnpm's "Ignored build scripts"); they are printed as warnings.
	Notices func(read func(rel string) ([]byte, error)) []string `json:"-"`
}

// ScratchProject is the fresh empty project a scratch plan (npx, dlx, create)
// installs into: the orchestration creates it from Files (relative path →
// content), and Run then executes with Project.Root/Cwd as working directory, the
// scratch project's node_modules/.bin first in PATH.
type ScratchProject struct {
	Files map[string]string
	// RunBinOf, when set, names the package whose bin the orchestration resolves
	// (BinFromManifest) and puts in front of Steps.Run.Args.
	RunBinOf string
	// WriteBack, set for every scratch plan with a Run, says what Run may write to
	// the project and how it is synced back (writeback.go); nil: thrown away.
	WriteBack *WriteBack
}

// Sandbox is what the steps see of the host besides the project.
type Sandbox struct {
	// Caches are host directories mounted into the steps.
	Caches []Cache
	// Credentials are secrets for the steps with Step.Credentials; nil if none.
	Credentials *Credentials
	// HostPaths are host files and directories the steps need read-only to find the
	// tools (node's prefix, the package manager's own package), for the rootfs to
	// bind when they are outside its default read-only binds.
	HostPaths []string
}

// RegistryURLs returns the default registry URL and the "@scope" registry URLs of
// p.Registries: none for a plan without one (the other ecosystems).
func (p *Plan) RegistryURLs() (def string, scopes map[string]string) {
	if p.Registries == nil {
		return "", nil
	}
	scopes = map[string]string{}
	for s, ep := range p.Registries.Scopes {
		scopes[s] = ep.URL
	}
	return p.Registries.Registry, scopes
}

// Step is one command run in the sandbox, with Plan.Project.Root/Cwd as working
// directory (the scratch project for Scratch plans).
type Step struct {
	Args    []string // argv; Args[0] is looked up in the sandbox's PATH
	Env     []string // KEY=VALUE added to the sandbox environment
	Network bool     // the network is reachable
	// Credentials: Plan.Sandbox.Credentials are mounted for this step.
	Credentials bool
	// Installs: a resolve step that also fetches and installs, scripts off (npm's
	// `npm install PKG` in one run, npmfetch.go); the plan has no Download step, and
	// what it installed is checked as a download's, after the precheck of the
	// lockfile it wrote (install.go).
	Installs bool
	// AppendChanged: the orchestration may append the names of the packages the
	// Download step added or changed, to limit the step to them. Without names the
	// step covers the whole tree, which is always correct but slower.
	AppendChanged bool
	// Dir, when set, is the working directory (absolute) instead of
	// Plan.Project.Root/Cwd: a networked step that needs nothing of the project runs
	// outside it.
	Dir string
	// Name is how messages name the step's command ("poetry lock"); its Args are
	// then logged only with -v. Empty: Args.
	Name string
	// Egress, when not empty, replaces Network for a step that may run package code
	// but still needs its package index (pip's and poetry's resolve build an sdist's
	// metadata), or, set by the orchestration, for the build of the packages the
	// policy's script_network names: the step gets a network namespace of its own, and an HTTP proxy
	// (the proxy variables are set for it) that reaches exactly these "host:port"
	// pairs and nothing else — not the internet, not the host's loopback services.
	Egress []string
}

// Cache is a host directory shared between runs to keep installs fast.
type Cache struct {
	Path string // absolute host path, mounted at the same path in the sandbox
	// Env points the tool at Path in every step (the sandbox's $HOME is empty).
	Env []string
	// Mount lists the phases that see the cache; Writable those that may change it.
	// Package code (Build, Run) never gets a writable cache: a script could poison
	// what the next install trusts.
	Mount    []Phase
	Writable []Phase
	// Throwaway lists the read-only phases whose manager writes to its cache all
	// the same (yarn 1 copies a file: dependency into it on every install, even
	// --offline): the cache is seen through an overlay whose upper dir is thrown
	// away with the step, so the write succeeds and reaches nothing. Where the
	// project's scratch is a copy (no overlay on this machine), the cache stays
	// plain read-only.
	Throwaway []Phase
}

// ThrowawayIn reports whether, in phase p, the cache is a throwaway writable view
// of a read-only cache.
func (c Cache) ThrowawayIn(p Phase) bool {
	mounted, writable := c.MountedIn(p)
	return mounted && !writable && slices.Contains(c.Throwaway, p)
}

// MountedIn reports whether the cache is visible in phase p, and writable.
func (c Cache) MountedIn(p Phase) (mounted, writable bool) {
	for _, q := range c.Mount {
		if q == p {
			mounted = true
		}
	}
	for _, q := range c.Writable {
		if q == p {
			writable = true
		}
	}
	return mounted, writable && mounted
}

// Refusal is a command line phylum-box will not run, with what to do instead. Plan
// returns it as it is; cmd maps it to the usage exit code (2).
type Refusal struct {
	Manager string
	Reason  string
	Advice  string
}

func (r *Refusal) Error() string {
	msg := fmt.Sprintf("phylum-box %s: %s", r.Manager, r.Reason)
	if r.Advice != "" {
		msg += "; " + r.Advice
	}
	return msg
}

var (
	regMu    sync.RWMutex
	managers = map[string]Manager{}
)

// Register makes m available under m.Name(). Each manager file calls it from init;
// the name must have its settingsEnv in managerSettings (finish.go).
func Register(m Manager) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := managers[m.Name()]; dup {
		panic("managers: duplicate manager " + m.Name())
	}
	if _, ok := managerSettings[m.Name()]; !ok {
		panic("managers: no settingsEnv for " + m.Name())
	}
	managers[m.Name()] = m
}

// Lookup returns the manager for a command name ("npm", "npx", …).
func Lookup(name string) (Manager, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	m, ok := managers[name]
	return m, ok
}

// Names lists the registered command names, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(managers))
	for n := range managers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func passthrough(m Manager, sub string, args []string) *Plan {
	return &Plan{Manager: m.Name(), Ecosystem: m.Ecosystem(), Subcommand: sub, Args: args, Passthrough: true}
}
