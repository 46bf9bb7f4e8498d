package install

import (
	"fmt"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/managers"
)

// withKeptEnv adds to a step's environment the variables managers.KeptEnv lets
// through (the built-in non-secret switches such as PUPPETEER_SKIP_DOWNLOAD, and
// Options.KeepEnv), where the step does not set the name already: the plan's own
// settings (npm_config_offline, the caches, the credentials) always win.
func (o Options) withKeptEnv(env []string) []string {
	kept, _ := managers.KeptEnv(o.Environ, o.KeepEnv)
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	for _, kv := range kept {
		k, _, _ := strings.Cut(kv, "=")
		if !set[k] {
			env = append(env, kv)
		}
	}
	return env
}

// warnDroppedKeepEnv says once which named variables were left out as credentials
// (keep_env from the config or the policy; the command line refuses them first).
func (o Options) warnDroppedKeepEnv() {
	if _, dropped := managers.KeptEnv(o.Environ, o.KeepEnv); len(dropped) > 0 && o.Log != nil {
		o.Log.Warnf("not passing %s to the sandbox: it looks like a credential (credentials reach only the steps that run no package code)", strings.Join(dropped, ", "))
	}
}

// KeepEnvNames merges what --keep-env (flag), the config's keep_env and the
// policy's keep_env name, for Options.KeepEnv. A name on the command line that
// cannot pass (a credential, a manager setting, HOME) is an error, with why;
// names from the files that cannot pass are left out with a warning at install.
func KeepEnvNames(flag, cfg, pol []string) ([]string, error) {
	var out []string
	for _, k := range flag {
		if why := managers.KeepEnvProblem(k); why != "" {
			return nil, fmt.Errorf("--keep-env %s: %s", k, why)
		}
		out = append(out, k)
	}
	for _, k := range append(slices.Clone(cfg), pol...) {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}
