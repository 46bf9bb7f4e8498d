package managers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/rootfs"
)

// The user's side of a cargo plan: their config, tokens, toolchain choice and
// tool variables (trusted), gathered with the project's checked config files
// into what every step gets.

// cargoUserConfig is what the plan knows of the user's own cargo configuration
// (trusted): the files carried into the sandbox, and which registries the user
// holds a token for and names the index of.
type cargoUserConfig struct {
	creds   *Credentials
	cfgPath string          // the user's config.toml inside the sandbox, "" if none
	tokens  map[string]bool // normalised registry name (CORP_REG) → a token exists
	indexes map[string]bool // normalised registry name → the user names its index
}

// cargoRegistryKey normalises a registry name the way cargo's environment
// variables spell it (my-corp → MY_CORP).
func cargoRegistryKey(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// cargoUserHome is $CARGO_HOME, or ~/.cargo.
func cargoUserHome(env Env) string {
	if h := env.Getenv("CARGO_HOME"); h != "" {
		return h
	}
	return filepath.Join(env.Home, ".cargo")
}

// cargoSetup is what every cargo plan needs before its steps: the cargo command
// prefix (rustup's +TOOLCHAIN first, the user's config, the user's global options),
// the environment of every step (the pinned toolchain, the user's RUSTC* choices),
// the credentials and config copies, and notes. It refuses a project whose cargo
// config or toolchain file phylum-box will not honour. root is the tree the steps
// see of the project.
func cargoSetup(args []string, idx int, root string, env Env) (pre, stepEnv []string, creds *Credentials, notes []string, err error) {
	plusTC := ""
	globals := args[:max(idx, 0)]
	if len(globals) > 0 && strings.HasPrefix(globals[0], "+") {
		plusTC, globals = globals[0], globals[1:]
	}
	user := cargoUser(env, globals)
	files, fileNotes, err := cargoProjectFiles(env, root, user)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	pin, tcNote, err := cargoToolchain(env, plusTC)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	pre = []string{"cargo"}
	if plusTC != "" {
		pre = append(pre, plusTC)
	}
	if user.cfgPath != "" {
		// The sandbox's CARGO_HOME is phylum-box's cache: name the user's config.
		pre = append(pre, "--config", user.cfgPath)
	}
	// Global options (--color, -v, --config …) before the command apply to every step.
	pre = append(pre, globals...)
	creds = user.creds
	if len(files) > 0 {
		if creds == nil {
			creds = &Credentials{}
		}
		creds.Files = append(creds.Files, files...)
	}
	if pin != "" {
		stepEnv = append(stepEnv, "RUSTUP_TOOLCHAIN="+pin)
	}
	for _, k := range cargoUserToolEnv {
		if v, ok := env.LookupEnv(k); ok {
			stepEnv = append(stepEnv, k+"="+v)
		}
	}
	notes = append(fileNotes, "cargo: CARGO_HOME is phylum-box's cache "+cargoCache(env).Path+" (read-only while building); the user's ~/.cargo/config.toml is named with --config")
	if tcNote != "" {
		notes = append(notes, tcNote)
	}
	return pre, stepEnv, creds, notes, nil
}

// cargoUserToolEnv are the user's own (trusted) choices of compiler, wrapper and
// flags that cargo reads from the environment; CARGO_* variables are carried by
// finish already.
var cargoUserToolEnv = []string{"RUSTC", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "RUSTDOC", "RUSTFLAGS", "RUSTDOCFLAGS"}

// cargoAddEnv adds env to every step of p.
func cargoAddEnv(p *Plan, env []string) {
	for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build} {
		if s != nil {
			s.Env = mergeEnv(env, s.Env)
		}
	}
}

// cargoUser reads the user's cargo configuration: config.toml is carried into
// every step (without tokens outside the network steps) and named with --config,
// the tokens of credentials.toml become CARGO_REGISTRIES_<NAME>_TOKEN for the
// network steps. It also records which registries the user holds a token for and
// names the index of (config, environment, or --config among globals), so that a
// project cannot point one of them elsewhere.
func cargoUser(env Env, globals []string) cargoUserConfig {
	u := cargoUserConfig{tokens: map[string]bool{}, indexes: map[string]bool{}}
	cargoHome := env.Getenv("CARGO_HOME")
	if cargoHome == "" {
		cargoHome = filepath.Join(env.Home, ".cargo")
	}
	var c Credentials
	type registries struct {
		Registry   struct{ Token string } `toml:"registry"`
		Registries map[string]struct {
			Token string `toml:"token"`
			Index string `toml:"index"`
		} `toml:"registries"`
	}
	note := func(r registries) {
		for n, reg := range r.Registries {
			if reg.Token != "" {
				u.tokens[cargoRegistryKey(n)] = true
			}
			if reg.Index != "" {
				u.indexes[cargoRegistryKey(n)] = true
			}
		}
	}
	for _, name := range []string{"config.toml", "config"} {
		data, err := os.ReadFile(filepath.Join(cargoHome, name))
		if err != nil {
			continue
		}
		// Bound at a fixed place in the sandbox's empty $HOME.
		rel := ".config/phylum-box/cargo-config.toml"
		c.Files = append(c.Files, ConfigFile{Home: rel, Secret: data, Public: []byte(rootfs.SanitizeConfig(string(data)))})
		u.cfgPath = filepath.Join(env.Home, rel)
		var r registries
		if _, err := toml.Decode(string(data), &r); err == nil {
			note(r)
		}
		break
	}
	for _, name := range []string{"credentials.toml", "credentials"} {
		data, err := os.ReadFile(filepath.Join(cargoHome, name))
		if err != nil {
			continue
		}
		var cred registries
		if _, err := toml.Decode(string(data), &cred); err != nil {
			continue
		}
		note(cred)
		if cred.Registry.Token != "" {
			u.tokens["CRATES_IO"] = true
			c.Env = append(c.Env, "CARGO_REGISTRY_TOKEN="+cred.Registry.Token)
		}
		for n, r := range cred.Registries {
			if r.Token != "" {
				c.Env = append(c.Env, fmt.Sprintf("CARGO_REGISTRIES_%s_TOKEN=%s", cargoRegistryKey(n), r.Token))
			}
		}
		break
	}
	for _, kv := range env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if k == "CARGO_REGISTRY_TOKEN" {
			u.tokens["CRATES_IO"] = true
		}
		if rest, ok := strings.CutPrefix(k, "CARGO_REGISTRIES_"); ok {
			if name, ok := strings.CutSuffix(rest, "_TOKEN"); ok {
				u.tokens[name] = true
			} else if name, ok := strings.CutSuffix(rest, "_INDEX"); ok {
				u.indexes[name] = true
			}
		}
	}
	for i := 0; i+1 < len(globals); i++ {
		if globals[i] != "--config" {
			continue
		}
		key, _, _ := strings.Cut(globals[i+1], "=")
		parts := strings.Split(strings.TrimSpace(key), ".")
		if len(parts) == 3 && parts[0] == "registries" && parts[2] == "index" {
			u.indexes[cargoRegistryKey(strings.Trim(parts[1], `"'`))] = true
		}
	}
	if len(c.Files) > 0 || len(c.Env) > 0 {
		u.creds = &c
	}
	return u
}
