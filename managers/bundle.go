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

// bundleDocHow says what phylum-box does with each command of bundleIntercepted.
var bundleDocHow = map[string]string{
	"install": "resolved (bundle lock), prechecked; the .gem files are fetched, then installed in the sandbox with the network off",
	"add":     "resolved (bundle add --skip-install), prechecked, then installed as install",
	"update":  "resolved (bundle lock --update), prechecked, then installed as install",
	"lock":    "resolved and prechecked; nothing is installed",
}

// Doc describes Bundler from bundleIntercepted.
func (m bundleManager) Doc() ManagerDoc {
	var d ManagerDoc
	for _, cmd := range sortedKeys(bundleIntercepted) {
		if bundleIntercepted[cmd] != cmd {
			continue // an alias
		}
		d.Intercepted = append(d.Intercepted, DocCommand{Name: cmd, Aliases: aliasesOf(bundleIntercepted, cmd), How: bundleDocHow[cmd]})
	}
	d.Refused = []DocRefusal{
		{Form: "--system, with any command", Example: []string{"install", "--system"}, Advice: bundlePathRefusal("--system").Advice},
		{Form: "--path DIR, with any command", Example: []string{"install", "--path", "DIR"}, Advice: bundlePathRefusal("--path").Advice},
	}
	d.PassThrough = []string{"exec rake", "list", "outdated", "install --help"}
	d.Notes = []string{
		"Bare `" + m.name + "` is `" + m.name + " install`.",
		"Gems go to BUNDLE_PATH (the environment or .bundle/config), which must be inside the project; without one, to vendor/bundle, recorded in .bundle/config.",
		"Intercepted commands need a Gemfile in the working directory or above (or BUNDLE_GEMFILE).",
	}
	return d
}

func (m bundleManager) Plan(args []string, env Env) (*Plan, error) {
	p, err := m.plan(args, env)
	if p != nil && !p.Passthrough {
		bundleCredentials(p, env)
	}
	return finishTool(p, err, env, nil)
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
	canon, ok := bundleIntercepted[cmd]
	if !ok {
		return passthrough(m, cmd, args), nil
	}
	cmd = canon
	root := findUp(env.Dir, "Gemfile")
	if env.Getenv("BUNDLE_GEMFILE") != "" {
		g := env.Getenv("BUNDLE_GEMFILE")
		if !filepath.IsAbs(g) {
			g = filepath.Join(env.Dir, g)
		}
		root = filepath.Dir(g)
	}
	if root == "" {
		return nil, &Refusal{Manager: "bundle", Reason: "no Gemfile in " + env.Dir + " or above", Advice: "run it in a Ruby project (bundle init)"}
	}
	cwd, _ := filepath.Rel(root, env.Dir)
	if !within(root, env.Dir) {
		cwd = "."
	}
	lock := "Gemfile.lock"
	if exists(root, "gems.rb") && !exists(root, "Gemfile") {
		lock = "gems.locked"
	}
	gemfile := "Gemfile"
	if lock == "gems.locked" {
		gemfile = "gems.rb"
	}

	// Where the gems go: the project's .bundle/config or BUNDLE_PATH, else vendor/bundle.
	path := env.Getenv("BUNDLE_PATH")
	if path == "" {
		path = bundleConfigValue(filepath.Join(root, ".bundle", "config"), "BUNDLE_PATH")
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
	stepEnv := []string{
		"BUNDLE_PATH=" + absPath,
		"BUNDLE_CACHE_PATH=" + filepath.Join(bundleWork, "cache"),
		"BUNDLE_GEMFILE=" + filepath.Join(root, gemfile),
		"BUNDLE_SILENCE_ROOT_WARNING=1", "BUNDLE_DISABLE_VERSION_CHECK=1",
	}
	p := &Plan{
		Manager: m.name, Ecosystem: precheck.RubyGems, Subcommand: cmd, Args: args,
		Root: root, Cwd: cwd,
		Lockfiles: []string{lock},
		CarryOver: []string{gemfile, lock},
		Outputs:   []string{lock, filepath.ToSlash(relPath) + "/"},
		Sealed:    []string{gemfile, lock},
	}
	resolveCmd := concat([]string{"bundle", "lock"}, rest)
	switch cmd {
	case "add":
		// Writes the Gemfile and resolves; installing is the later steps' job.
		resolveCmd = concat([]string{"bundle", "add"}, rest, []string{"--skip-install"})
		p.Outputs = append(p.Outputs, gemfile)
	case "update":
		resolveCmd = concat([]string{"bundle", "lock", "--update"}, rest)
	case "install":
		resolveCmd = []string{"bundle", "lock"}
		if len(rest) > 0 {
			resolveCmd = concat(resolveCmd, bundleLockOpts(rest))
		}
	}
	pre := ""
	if setPath {
		// Record the path so that `bundle exec` finds the gems later.
		pre = "bundle config set --local path " + bundleDefaultPath + " && "
		p.Outputs = append(p.Outputs, ".bundle/config")
		// A native extension's build must not change what the next bundler run on
		// the host reads (paths, build flags, plugin settings).
		p.Sealed = append(p.Sealed, ".bundle/config")
	}
	p.Resolve = &Step{Args: concat([]string{"sh", "-c", pre + `exec "$@"`, "sh"}, resolveCmd), Env: stepEnv, Network: true, Credentials: true}
	if cmd == "lock" {
		// Resolves only: nothing to fetch or build.
		p.Download, p.Build = nil, nil
		p.Outputs, p.Sealed = []string{lock}, nil
		p.Resolve.Args = concat([]string{"bundle", "lock"}, rest)
		return p, nil
	}
	p.Download = &Step{Args: []string{"bundle", "cache", "--no-install"}, Env: stepEnv, Network: true, Credentials: true}
	p.Build = &Step{
		Args:    []string{"sh", "-c", `bundle install --local; rc=$?; rm -rf "$0"; exit $rc`, work},
		Env:     stepEnv,
		Scripts: true,
	}
	p.Notes = append(p.Notes, "bundle: gems go to "+relPath+"; .gem files are fetched into "+bundleWork+" and installed from there with the network off")
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

// bundleConfigValue reads one key from a Bundler config file (flat YAML).
func bundleConfigValue(file, key string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
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
		if p.Credentials == nil {
			p.Credentials = &Credentials{}
		}
		p.Credentials.Files = append(p.Credentials.Files, ConfigFile{Home: filepath.ToSlash(rel), Secret: data, Public: []byte(pub.String())})
	}
	for _, kv := range env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if bundleIsCredentialKey(k) {
			if p.Credentials == nil {
				p.Credentials = &Credentials{}
			}
			p.Credentials.Env = append(p.Credentials.Env, kv)
		}
	}
}

// bundleIsCredentialKey: Bundler keeps a source's credentials under the host's
// name (BUNDLE_GEMS__EXAMPLE__COM: "user:pass"); mirrors are BUNDLE_MIRROR__….
func bundleIsCredentialKey(k string) bool {
	return strings.HasPrefix(k, "BUNDLE_") && strings.Contains(k, "__") && !strings.HasPrefix(k, "BUNDLE_MIRROR__")
}
