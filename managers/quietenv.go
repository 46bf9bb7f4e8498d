package managers

// Quiet by default (issue 11 item 9): what the bare manager does not print on
// the user's machine, its steps in the sandbox must not print either. The
// sandbox's $HOME is an empty tmpfs, so a manager's "checked for updates
// today" state and its global folder are never there.

import "path/filepath"

// pnpmQuietEnv: pnpm checks the registry for a newer pnpm after install and add
// whenever its state file (under $HOME) says it has not today — every run in
// the sandbox — and prints an "Update available … curl | sh" banner per step.
var pnpmQuietEnv = []string{"npm_config_update_notifier=false"}

// npmQuietEnv: npm's "New minor version of npm available!" notice, which the
// resolve and the download step each printed (the bare npm prints it once);
// phylum-box runs your npm and leaves updating it to you. The build already
// had it off.
var npmQuietEnv = []string{"npm_config_update_notifier=false"}

// yarnClassicQuietEnv: yarn 1, as root (the sandbox's root), looks for its
// global folder in /usr/local and /usr/local/share/.yarn, read-only here, and
// warns "Cannot find a suitable global folder" before every lifecycle script;
// a prefix in the sandbox's $HOME (empty, and gone after the step) is where it
// would find one. YARN_PREFIX is read by yarn only (npm_config_prefix would
// move npm's project root too).
func yarnClassicQuietEnv(home string) []string {
	return []string{"YARN_PREFIX=" + filepath.Join(home, ".yarn")}
}

// quietSteps adds env to every step of p.
func quietSteps(p *Plan, env []string) {
	if p == nil || p.Passthrough {
		return
	}
	for _, s := range []*Step{p.Steps.Evaluate, p.Steps.Resolve, p.Steps.Hooks, p.Steps.Download, p.Steps.Build, p.Steps.ProjectScripts, p.Steps.Run} {
		if s != nil {
			s.Env = append(s.Env, env...)
		}
	}
}

// npmQuietFlags quiets npm's warnings in a step whose warnings another step
// prints, or phylum-box answers, unless the user chose a log level: the resolve
// step's EBADENGINE and deprecation warnings come again from the download step,
// which installs the same tree; the build's "install scripts not yet covered by
// allowScripts" follows scripts that ran because phylum-box's policy (scripts:
// sandbox|allowlist) said so, shut in. npm's errors are still printed.
func npmQuietFlags(a *npmArgv, cfg *NpmConfig) []string {
	if _, ok := a.last("loglevel"); ok || cfg.get("loglevel") != "" {
		return nil // -d, --silent, --verbose, … are --loglevel to npm
	}
	return []string{"--loglevel=error"}
}
