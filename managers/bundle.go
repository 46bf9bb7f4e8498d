package managers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
)

func init() {
	Register(bundleManager{name: "bundle"})
	Register(bundleManager{name: "bundler"})
}

// bundleManager plans Bundler: `bundle lock` resolves, Gemfile.lock is prechecked,
// `bundle cache --no-install` fetches the .gem files with the network on, and
// `bundle install --local` installs them (native extensions' extconf.rb run there)
// with the network off, into vendor/bundle or a BUNDLE_PATH inside the project.
type bundleManager struct{ name string }

func (m bundleManager) Name() string      { return m.name }
func (m bundleManager) Ecosystem() string { return precheck.RubyGems }

// bundleWork is where the .gem files wait between the download and the build; the
// build deletes it (it is not an output).
const bundleWork = ".phylum-box-bundle"

// bundleNetGems and bundleNetConfig are BUNDLE_PATH and BUNDLE_APP_CONFIG of the
// steps before the build: fresh directories of the container's /tmp.
const (
	bundleNetGems   = "/tmp/phylum-box-bundle/gems"
	bundleNetConfig = "/tmp/phylum-box-bundle/app-config"
)

// bundleDefaultPath is where gems go when the project names no path: inside the
// project, never the system gem dir.
const bundleDefaultPath = "vendor/bundle"

// bundleIntercepted maps the commands that resolve or install (and their aliases)
// to the canonical name; the rest pass through.
var bundleIntercepted = map[string]string{"install": "install", "i": "install", "add": "add", "update": "update", "lock": "lock"}

func bundlePathRefusal(w string) *Refusal {
	return &Refusal{Manager: "bundle", Reason: w + " chooses where gems go on the command line",
		Advice: "set it once in the project (`bundle config set --local path vendor/bundle`) and run `phylum-box bundle install`"}
}

// bundleAddRefusal: `bundle add` resolves with the Gemfile it edits, which is Ruby
// the networked step would run.
var bundleAddRefusal = &Refusal{Manager: "bundle", Reason: "`bundle add` edits the Gemfile and evaluates it (Ruby) while it resolves with the network",
	Advice: "add the `gem \"NAME\", \"~> VERSION\"` line to the Gemfile yourself and run `phylum-box bundle install`"}

// bundleCacheRefusal: `bundle cache` (package, pack) fetches the gems and installs
// them, native extensions built as they install; passed through, that would run on
// this host with the network, unchecked.
var bundleCacheRefusal = &Refusal{Manager: "bundle", Reason: "`bundle cache` fetches and installs gems (their native extensions build as they install); it would run on this host, with the network, unchecked",
	Advice: "run `phylum-box bundle install`: the gems are fetched, checked and installed in the sandbox"}

// bundleDocHow says what phylum-box does with each command of bundleIntercepted.
var bundleDocHow = map[string]string{
	"install": "resolved (bundle lock), prechecked; the .gem files are fetched, then installed in the sandbox with the network off",
	"update":  "resolved (bundle lock --update), prechecked, then installed as install",
	"lock":    "resolved and prechecked; nothing is installed",
}

// Doc describes Bundler from bundleIntercepted.
func (m bundleManager) Doc() ManagerDoc {
	var d ManagerDoc
	for _, cmd := range sortedKeys(bundleIntercepted) {
		if bundleIntercepted[cmd] != cmd || cmd == "add" {
			continue // an alias, or refused
		}
		d.Intercepted = append(d.Intercepted, DocCommand{Name: cmd, Aliases: aliasesOf(bundleIntercepted, cmd), How: bundleDocHow[cmd]})
	}
	d.Refused = []DocRefusal{
		{Form: "--system, with any command", Example: []string{"install", "--system"}, Advice: bundlePathRefusal("--system").Advice},
		{Form: "--path DIR, with any command", Example: []string{"install", "--path", "DIR"}, Advice: bundlePathRefusal("--path").Advice},
		{Form: "add", Example: []string{"add", "rack"}, Advice: bundleAddRefusal.Advice},
		{Form: "cache (package, pack)", Example: []string{"cache"}, Advice: bundleCacheRefusal.Advice},
		{Form: "--gemfile or --lockfile, with any command", Example: []string{"install", "--gemfile=other.rb"}, Advice: "set BUNDLE_GEMFILE=FILE for the command instead"},
	}
	d.PassThrough = []string{"exec rake", "list", "outdated", "install --help"}
	d.Notes = []string{
		"Bare `" + m.name + "` is `" + m.name + " install`.",
		"Gems go to BUNDLE_PATH (the environment or .bundle/config), which must be inside the project; without one, to vendor/bundle, recorded in .bundle/config.",
		"Intercepted commands need a Gemfile in the working directory or above (or BUNDLE_GEMFILE).",
		"The Gemfile is Ruby: it is evaluated in a step of its own with no network, no credentials and the project read-only; the resolve and download steps read a plain Gemfile phylum-box writes from what it declares (rubygems sources, gems, requirements, groups, platforms, ruby version). Path gems inside the project (and `gemspec`) are read the same way: every gemspec file a path source loads is evaluated offline and replaced, for those steps, by a declarative one (name, version, platform, dependencies). Git gems are refused (Bundler would load their gemspec, Ruby from the repository, with the network), and so are path gems outside the project. The build checks the lockfile against the project's own Gemfile and gemspecs (frozen).",
		"The project's .bundle/config is checked first: settings that run programs, carry credentials, choose mirrors or TLS, or name paths outside the project are refused with file:line (see bundle-config-settings.md). The steps before the build read neither the project's installed gems (their specifications are Ruby) nor its .bundle/config.",
	}
	return d
}

func (m bundleManager) Plan(args []string, env Env) (*Plan, error) {
	p, err := env.checkedPlan(m.plan(args, env))
	if p != nil && !p.Passthrough {
		bundleCredentials(p, env)
	}
	return finish(m.name, p, err, env)
}

func (m bundleManager) plan(args []string, env Env) (*Plan, error) {
	cmd, idx := "install", -1
	for i, w := range args {
		if !strings.HasPrefix(w, "-") {
			cmd, idx = w, i
			break
		}
	}
	rest := args[idx+1:]
	if idx < 0 {
		rest = args
	}
	for _, w := range rest {
		switch {
		case w == "--help" || w == "-h":
			return passthrough(m, cmd, args), nil
		case w == "--system" || strings.HasPrefix(w, "--path"):
			return nil, bundlePathRefusal(w)
		}
	}
	if cmd == "cache" || cmd == "package" || cmd == "pack" {
		return nil, bundleCacheRefusal
	}
	canon, ok := bundleIntercepted[cmd]
	if !ok {
		return passthrough(m, cmd, args), nil
	}
	cmd = canon
	if cmd == "add" {
		return nil, bundleAddRefusal
	}
	for _, w := range rest {
		if o, _, _ := strings.Cut(w, "="); o == "--gemfile" || o == "--lockfile" {
			return nil, &Refusal{Manager: "bundle", Reason: o + " names another Gemfile or lockfile on the command line",
				Advice: "set BUNDLE_GEMFILE=FILE for the command instead"}
		}
	}
	root := findUp(env.Dir, "Gemfile")
	gemfile := ""
	if env.Getenv("BUNDLE_GEMFILE") != "" {
		g := env.Getenv("BUNDLE_GEMFILE")
		if !filepath.IsAbs(g) {
			g = filepath.Join(env.Dir, g)
		}
		root, gemfile = filepath.Dir(g), filepath.Base(g)
	}
	if root == "" {
		return nil, &Refusal{Manager: "bundle", Reason: "no Gemfile in " + env.Dir + " or above", Advice: "run it in a Ruby project (bundle init)"}
	}
	cwd, _ := filepath.Rel(root, env.Dir)
	if !within(root, env.Dir) {
		cwd = "."
	}
	if gemfile == "" {
		gemfile = "Gemfile"
		if exists(root, "gems.rb") && !exists(root, "Gemfile") {
			gemfile = "gems.rb"
		}
	}
	lock := gemfile + ".lock"
	if gemfile == "gems.rb" {
		lock = "gems.locked"
	}

	// The project's .bundle/config wins over the environment in Bundler: a
	// setting a cloned project may not choose is refused, not overridden.
	appConfig := filepath.Join(root, ".bundle")
	if d := env.Getenv("BUNDLE_APP_CONFIG"); d != "" {
		appConfig = d
		if !filepath.IsAbs(d) {
			appConfig = filepath.Join(root, d)
		}
	}
	cfgRel, _ := filepath.Rel(root, filepath.Join(appConfig, "config"))
	cfgLines, err := checkBundleProjectConfig(root, filepath.Join(appConfig, "config"), filepath.ToSlash(cfgRel))
	if err != nil {
		return nil, err
	}

	// Where the gems go: BUNDLE_PATH or the project's .bundle/config, else vendor/bundle.
	path := env.Getenv("BUNDLE_PATH")
	for _, l := range cfgLines {
		if l.Key == "BUNDLE_PATH" {
			path = l.Value // the app config wins
		}
	}
	setPath := false
	if path == "" {
		path, setPath = bundleDefaultPath, true
	}
	absPath := path
	if !filepath.IsAbs(absPath) {
		absPath = filepath.Join(root, path)
	}
	absPath = filepath.Clean(absPath)
	if !within(root, absPath) || absPath == root {
		return nil, &Refusal{Manager: "bundle", Reason: fmt.Sprintf("BUNDLE_PATH %s is outside the project (%s)", path, root),
			Advice: "install into the project: `bundle config set --local path vendor/bundle`"}
	}
	relPath, _ := filepath.Rel(root, absPath)
	work := filepath.Join(root, bundleWork)
	if _, err := os.Lstat(work); err == nil {
		// The build installs the .gem files in it, and RubyGems fetches no gem
		// whose file is already there: only the download may fill it.
		return nil, &Refusal{Manager: "bundle", Reason: work + " exists in the project (phylum-box's download dir)", Advice: "remove it"}
	}
	stepEnv := []string{
		"BUNDLE_CACHE_PATH=" + filepath.Join(bundleWork, "cache"),
		"BUNDLE_GEMFILE=" + filepath.Join(root, gemfile),
		"BUNDLE_SILENCE_ROOT_WARNING=1", "BUNDLE_DISABLE_VERSION_CHECK=1",
		// Plugins are Ruby Bundler loads from .bundle/plugin; a project cannot set
		// this back (BundleExec).
		"BUNDLE_PLUGINS=false",
		// `bundle cache --no-install` would otherwise record its options in the
		// project's .bundle/config, which is not an output when the project has one.
		"BUNDLE_FORGET_CLI_OPTIONS=true",
	}
	// The steps before the build see neither the project's installed gems nor its
	// app config: a gem specification in vendor/bundle is Ruby that RubyGems loads
	// (and a Bundler there is run when the lockfile's BUNDLED WITH names its
	// version), and the app config would win over this environment. Both are
	// empty directories of the container's own /tmp.
	netEnv := concat(stepEnv, []string{"BUNDLE_PATH=" + bundleNetGems, "BUNDLE_APP_CONFIG=" + bundleNetConfig})
	// The build installs into the project's path, with its (checked) settings;
	// frozen: the project's own Gemfile must accept the lockfile resolved from the
	// generated one as it is.
	buildEnv := concat(stepEnv, []string{"BUNDLE_PATH=" + absPath, "BUNDLE_FROZEN=true"})
	p := &Plan{
		Manager:    m.name,
		Ecosystem:  precheck.RubyGems,
		Subcommand: cmd,
		Args:       args,
		Project: Project{
			Root:      root,
			Cwd:       cwd,
			Lockfiles: []string{lock},
			Outputs:   []string{lock, filepath.ToSlash(relPath) + "/"},
			Sealed:    []string{gemfile, lock},
		},
	}
	resolveCmd := concat([]string{"bundle", "lock"}, rest)
	switch cmd {
	case "update":
		resolveCmd = concat([]string{"bundle", "lock", "--update"}, rest)
	case "install":
		resolveCmd = []string{"bundle", "lock"}
		if len(rest) > 0 {
			resolveCmd = concat(resolveCmd, bundleLockOpts(rest))
		}
	}
	// Name: failures and the log name Bundler, not the shell that starts it (the
	// shell lines are shown with -v).
	p.Steps.Resolve = &Step{Args: concat([]string{"sh", "-c", `exec "$@"`, "sh"}, resolveCmd), Env: netEnv, Network: true, Credentials: true,
		Name: strings.Join(resolveCmd, " ")}
	if cfgRel := filepath.ToSlash(cfgRel); setPath && !strings.HasPrefix(cfgRel, "../") {
		// Record the path so that `bundle exec` finds the gems later. Written by
		// the shell: a Bundler command would read the project's gem dir.
		script := `f="$1"; shift; mkdir -p "${f%/*}" && if [ -s "$f" ]; then printf '\nBUNDLE_PATH: "%s"\n' "$0" >>"$f"; else printf -- '---\nBUNDLE_PATH: "%s"\n' "$0" >"$f"; fi && exec "$@"`
		p.Steps.Resolve.Args = concat([]string{"sh", "-c", script, bundleDefaultPath, filepath.Join(root, filepath.FromSlash(cfgRel))}, resolveCmd)
		p.Project.Outputs = append(p.Project.Outputs, cfgRel)
		// A native extension's build must not change what the next bundler run on
		// the host reads (paths, build flags, plugin settings).
		p.Project.Sealed = append(p.Project.Sealed, cfgRel)
	}
	// The Gemfile is Ruby: it is evaluated offline, without credentials, and the
	// networked steps read the declarative Gemfile phylum-box writes from it.
	p.Steps.Evaluate = &Step{Args: []string{"ruby", "-e", bundleEvaluator}, Env: netEnv}
	p.Steps.Evaluated = func(out []byte, read func(string) ([]byte, error)) error {
		return bundleEvaluated(p, root, gemfile, out, read)
	}
	if cmd == "lock" {
		// Resolves only: nothing to fetch or build.
		p.Steps.Download, p.Steps.Build = nil, nil
		p.Project.Outputs, p.Project.Sealed = []string{lock}, nil
		p.Steps.Resolve.Args = concat([]string{"bundle", "lock"}, rest)
		p.Steps.Resolve.Name = ""
		return p, nil
	}
	p.Steps.Download = &Step{Args: []string{"bundle", "cache", "--no-install"}, Env: netEnv, Network: true, Credentials: true}
	p.Steps.Fetched = bundleWork + "/cache" // BUNDLE_CACHE_PATH; read by the static analysis before the build
	p.Steps.Build = &Step{
		Args: []string{"sh", "-c", `bundle install --local; rc=$?; rm -rf "$0"; exit $rc`, work},
		Name: "bundle install --local",
		Env:  buildEnv,
	}
	p.Notes = append(p.Notes, "bundle: gems go to "+relPath+"; .gem files are fetched into "+bundleWork+" and installed from there with the network off")
	if !setPath { // else the steps record BUNDLE_PATH in .bundle/config
		p.Steps.UpToDate = bundleNoopCheck(cmd, rest, env, root, gemfile, lock, absPath, cfgLines) // bundlenoop.go
		// The same settings allow installing the lockfile as it is (bundlefromlock.go).
		if p.Steps.UpToDate != nil {
			if why := bundleFromLock(p, root, gemfile, lock); why != "" {
				p.Notes = append(p.Notes, "bundle: evaluating and resolving: "+why)
			} else if why := bundleFastFetch(p, env, root, lock); why != "" { // bundlefastfetch.go
				p.Notes = append(p.Notes, "bundle: downloading with Bundler: "+why)
			}
		}
	}
	return p, nil
}

// bundleLockOpts keeps the options of `bundle install` that `bundle lock` also takes.
func bundleLockOpts(rest []string) []string {
	var out []string
	for _, w := range rest {
		if w == "--local" || w == "--prefer-local" || w == "--verbose" || w == "--quiet" {
			out = append(out, w)
		}
	}
	return out
}

// bundleCredentials carries ~/.bundle/config (mirrors, settings; host credentials
// only in the network steps) and the BUNDLE_<HOST> credential variables.
func bundleCredentials(p *Plan, env Env) {
	userCfg := env.Getenv("BUNDLE_USER_CONFIG")
	if userCfg == "" {
		userCfg = filepath.Join(env.Home, ".bundle", "config")
	}
	rel, err := filepath.Rel(env.Home, userCfg)
	if data, rerr := os.ReadFile(userCfg); rerr == nil && err == nil && !strings.HasPrefix(rel, "..") {
		var pub strings.Builder
		for _, line := range strings.SplitAfter(string(data), "\n") {
			k, _, _ := strings.Cut(line, ":")
			if bundleIsCredentialKey(strings.TrimSpace(k)) {
				continue
			}
			pub.WriteString(line)
		}
		if p.Sandbox.Credentials == nil {
			p.Sandbox.Credentials = &Credentials{}
		}
		p.Sandbox.Credentials.Files = append(p.Sandbox.Credentials.Files, ConfigFile{Home: filepath.ToSlash(rel), Secret: data, Public: []byte(pub.String())})
	}
	for _, kv := range env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if bundleIsCredentialKey(k) {
			if p.Sandbox.Credentials == nil {
				p.Sandbox.Credentials = &Credentials{}
			}
			p.Sandbox.Credentials.Env = append(p.Sandbox.Credentials.Env, kv)
		}
	}
}

// bundleIsCredentialKey: Bundler keeps a source's credentials under the host's
// name (BUNDLE_GEMS__EXAMPLE__COM: "user:pass"); mirrors are BUNDLE_MIRROR__….
func bundleIsCredentialKey(k string) bool {
	return strings.HasPrefix(k, "BUNDLE_") && strings.Contains(k, "__") && !strings.HasPrefix(k, "BUNDLE_MIRROR__")
}
