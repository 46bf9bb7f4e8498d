package managers

import (
	"errors"
	"strings"
)

// settingsEnv is how one package manager reads its settings from the environment.
// The user's variables with its prefixes reach its steps as they reach the real
// tool (secret-looking ones only the steps with credentials, through
// Sandbox.Credentials.Env); another manager's variables do not.
type settingsEnv struct {
	prefixes []string
	// anyCase: the prefixes match in any case (npm reads NPM_CONFIG_X as
	// npm_config_x); controlled keys are then lower case.
	anyCase bool
	// controlled are set by the plans themselves (caches, the user config the
	// sandbox gets in its $HOME), so the user's values are not carried.
	controlled map[string]bool
	// secret says the variable travels as a credential.
	secret func(key, value string) bool
	// carriedElsewhere: a matched variable another part of the plan carries
	// (bundler's per-host credentials, bundleCredentials).
	carriedElsewhere func(key string) bool
	// offScripts are added to the steps with the network (Resolve, Download).
	offScripts []string
	// hostPaths are where the tools live, for the rootfs to show read-only.
	hostPaths func(env Env) []string
}

// nodeEnvControlled are the npm family's variables the plans set themselves.
var nodeEnvControlled = map[string]bool{
	"npm_config_userconfig": true, "npm_config_cache": true, "npm_config_store_dir": true,
	"npm_config_cache_dir": true, "npm_config_nodedir": true, "yarn_cache_folder": true,
	"yarn_global_folder": true, "npm_config_offline": true, "yarn_enable_network": true,
}

// pythonEnvControlled are the other managers' variables the plans set themselves.
var pythonEnvControlled = map[string]bool{
	"PIP_CACHE_DIR": true, "PIP_NO_CACHE_DIR": true, "PIP_NO_INDEX": true, "PIP_FIND_LINKS": true,
	"PIP_TARGET": true, "PIP_PREFIX": true, "PIP_USER": true, "PIP_REPORT": true, "PIP_DRY_RUN": true,
	"POETRY_CACHE_DIR": true, "POETRY_VIRTUALENVS_IN_PROJECT": true, "POETRY_VIRTUALENVS_CREATE": true,
	"BUNDLE_PATH": true, "BUNDLE_CACHE_PATH": true, "BUNDLE_FROZEN": true, "BUNDLE_USER_HOME": true,
	"BUNDLE_APP_CONFIG": true, "BUNDLE_DEPLOYMENT": true, "BUNDLE_SYSTEM": true,
	"CARGO_HOME": true, "CARGO_TARGET_DIR": true, "CARGO_NET_OFFLINE": true, "CARGO_INSTALL_ROOT": true,
	"GEM_HOME": true, "GEM_PATH": true,
}

func nodeSettings(tool string, prefixes ...string) settingsEnv {
	return settingsEnv{
		prefixes: prefixes, anyCase: true, controlled: nodeEnvControlled,
		secret:     func(k, _ string) bool { return isSecretEnv(k) || npmEnvCredential(k) }, // npm_config_key, _cert, … (npmsettings.go)
		offScripts: noScriptsEnv,
		hostPaths:  func(env Env) []string { return toolPaths(env, "node", tool) },
	}
}

func toolSettings(prefixes ...string) settingsEnv {
	return settingsEnv{
		prefixes: prefixes, controlled: pythonEnvControlled,
		secret: func(k, v string) bool { return isSecretEnv(k) || urlUserinfoRE().MatchString(v) },
	}
}

// managerSettings is each registered command's settingsEnv: Register refuses a
// manager without one. yarn 1 and pnpm read npm's variables too; poetry's builds
// run pip.
var managerSettings = func() map[string]settingsEnv {
	npm := nodeSettings("npm", "npm_config_")
	pnpm := nodeSettings("pnpm", "npm_config_", "pnpm_config_")
	pip := toolSettings("PIP_")
	bundle := toolSettings("BUNDLE_", "GEM_")
	bundle.carriedElsewhere = bundleIsCredentialKey
	cargo := toolSettings("CARGO_", "RUSTUP_")
	cargo.hostPaths = cargoToolPaths
	return map[string]settingsEnv{
		"npm": npm, "npx": npm, "pnpm": pnpm, "pnpx": pnpm,
		"yarn":   nodeSettings("yarn", "yarn_", "npm_config_"),
		"pip":    pip,
		"pip3":   pip,
		"poetry": toolSettings("POETRY_", "PIP_"),
		"bundle": bundle, "bundler": bundle,
		"cargo": cargo,
	}
}()

// matches reports whether the variable key is one of s's, and the key as the
// controlled set spells it.
func (s settingsEnv) matches(key string) (string, bool) {
	k := key
	if s.anyCase {
		k = strings.ToLower(key)
	}
	for _, pre := range s.prefixes {
		if strings.HasPrefix(k, pre) {
			return k, true
		}
	}
	return k, false
}

// finish is the one pass every manager's Plan ends with: a refusal or error goes
// back as it is; a planned (not passthrough) command's steps get the user's
// settings for this manager from env, the networked steps the scripts-off
// variables, the sandbox the host paths of the tools, and a scratch plan its
// write-back rules.
func finish(name string, p *Plan, err error, env Env) (*Plan, error) {
	if err != nil {
		if ref := (*Refusal)(nil); errors.As(err, &ref) {
			return nil, err
		}
		return p, err
	}
	if p == nil || p.Passthrough {
		return p, nil
	}
	s, ok := managerSettings[name]
	if !ok {
		panic("managers: no settingsEnv for " + name)
	}
	var public []string
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		ck, matched := s.matches(k)
		if !matched || s.controlled[ck] || s.carriedElsewhere != nil && s.carriedElsewhere(k) {
			continue
		}
		if s.secret(k, v) {
			if p.Sandbox.Credentials == nil {
				p.Sandbox.Credentials = &Credentials{}
			}
			p.Sandbox.Credentials.Env = append(p.Sandbox.Credentials.Env, kv)
			continue
		}
		public = append(public, kv)
	}
	for _, st := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build, p.Steps.Run} {
		if st != nil {
			st.Env = mergeEnv(public, st.Env)
		}
	}
	if len(s.offScripts) > 0 {
		for _, st := range []*Step{p.Steps.Resolve, p.Steps.Download} {
			if st != nil {
				st.Env = mergeEnv(st.Env, s.offScripts)
			}
		}
	}
	if s.hostPaths != nil {
		// The tools first, then what the plan found itself (a yarn release, an
		// interpreter under $HOME).
		p.Sandbox.HostPaths = append(s.hostPaths(env), p.Sandbox.HostPaths...)
	}
	planWriteBack(p, env) // npx, exec, dlx, create: what Run writes is synced back
	return p, nil
}
