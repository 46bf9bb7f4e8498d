package managers

// The pnpm project's own code and settings: its pnpmfile (which runs only in the
// offline hooks step, pnpmhooks.go) and the settings pnpm 10 reads from
// pnpm-workspace.yaml.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// pnpmNetworkedFlags go to every step that has the network and the user's
// credentials: no pnpmfile hook runs there (a project's is refused before, see
// pnpmfileOf; this also covers a pnpmfile named where phylum-box does not look).
var pnpmNetworkedFlags = []string{"--ignore-pnpmfile"}

// pnpmfileOf names the project's pnpmfile: the pnpmfile setting of its .npmrc or
// pnpm-workspace.yaml, a plugin among its configDependencies, else the default
// .pnpmfile.cjs (or .mjs) at the root, when it exists. "" when there is none.
// --ignore-pnpmfile turns all of them off (and the user's global-pnpmfile).
func pnpmfileOf(root string, cfg *NpmConfig) string {
	for _, f := range cfg.files {
		if !f.project {
			continue
		}
		for _, l := range f.lines {
			if !l.section && normalizeNpmKey(l.key) == "pnpmfile" && l.value != "" {
				return fmt.Sprintf("%s:%d (pnpmfile=%s)", f.path, l.no, l.value)
			}
		}
	}
	if b, err := readProjectFile(root, filepath.Join(root, "pnpm-workspace.yaml")); err == nil {
		var ws map[string]any
		if yaml.Unmarshal(b, &ws) == nil {
			if v, ok := ws["pnpmfile"]; ok {
				return fmt.Sprintf("%s (pnpmfile: %v)", filepath.Join(root, "pnpm-workspace.yaml"), v)
			}
			// pnpm 10 loads the pnpmfile.cjs of every config dependency named like a
			// plugin (pnpm-plugin-*, @pnpm/plugin-*, @scope/pnpm-plugin-*).
			deps, _ := ws["configDependencies"].(map[string]any)
			for name := range deps {
				if strings.HasPrefix(name, "pnpm-plugin-") || strings.HasPrefix(name, "@pnpm/plugin-") || strings.HasPrefix(name, "@") && strings.Contains(name, "/pnpm-plugin-") {
					return fmt.Sprintf("%s (configDependencies: %s, a plugin whose pnpmfile.cjs pnpm loads)", filepath.Join(root, "pnpm-workspace.yaml"), name)
				}
			}
		}
	}
	for _, name := range []string{".pnpmfile.cjs", ".pnpmfile.mjs"} {
		if _, err := os.Lstat(filepath.Join(root, name)); err == nil {
			return filepath.Join(root, name)
		}
	}
	return ""
}

// checkPnpmWorkspaceSettings reads the settings pnpm 10 takes from
// pnpm-workspace.yaml (every top-level key, camelCase) in every step: it expands
// ${VAR} in their keys and string values from its environment, which in the
// networked steps holds the variables your ~/.npmrc credentials reference
// (userAgent: "${NPM_TOKEN}" sent NPM_TOKEN to the project's registry as the
// User-Agent); and, as in a project .npmrc, a proxy, CA or strictSsl false would
// intercept the connections that carry your credentials.
func checkPnpmWorkspaceSettings(root string, cfg *NpmConfig) error {
	path := filepath.Join(root, "pnpm-workspace.yaml")
	b, err := readProjectFile(root, path)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil // pnpmProject reports YAML errors
	}
	creds := cfg.holdsCredentials()
	m := doc.Content[0]
	var problems []string
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		where := fmt.Sprintf("%s:%d: %s", path, k.Line, k.Value)
		if k.Kind != yaml.ScalarNode || v.Kind == yaml.AliasNode {
			problems = append(problems, fmt.Sprintf("%s:%d: a complex key or an alias; write each setting plainly", path, k.Line))
			continue
		}
		if strings.Contains(k.Value, "${") || v.Kind == yaml.ScalarNode && strings.Contains(v.Value, "${") {
			problems = append(problems, where+": reads an environment variable, which pnpm expands from the environment of the steps that hold your credentials "+
				"(move the setting to ~/.npmrc, which may use ${VAR})")
			continue
		}
		switch n := normalizeNpmKey(k.Value); {
		case !creds:
		case n == "proxy" || n == "https-proxy" || n == "http-proxy" || n == "ca" || n == "cafile":
			problems = append(problems, where+" would route or intercept the connections that carry your registry credentials (set it in ~/.npmrc)")
		case n == "strict-ssl" && v.Value != "true":
			problems = append(problems, where+" "+v.Value+" would let anyone on the way read your registry credentials (set it in ~/.npmrc)")
		}
	}
	if len(problems) > 0 {
		return &Refusal{Manager: "pnpm", Reason: "the project's pnpm-workspace.yaml is refused (a checkout's files are untrusted input):\n  " + strings.Join(problems, "\n  "),
			Advice: "remove these settings from pnpm-workspace.yaml; your own ~/.npmrc is trusted"}
	}
	return nil
}

// pnpmLockfileOnlyRefusal: `pnpm install --lockfile-only` runs on the host as it
// is (it installs and builds nothing), and pnpm runs a pnpmfile's hooks while it
// resolves — the project's code, with the network and the user's credentials.
func pnpmLockfileOnlyRefusal(hook string) *Refusal {
	return &Refusal{Manager: "pnpm",
		Reason: "the project has a pnpmfile, " + hook + ": --lockfile-only runs unsandboxed (it installs nothing), " +
			"and pnpm would run the project's hooks on this machine with the network and your credentials",
		Advice: "add --ignore-pnpmfile to write the lockfile without the hooks, or run `phylum-box pnpm install`, " +
			"which runs the hooks offline in its sandbox"}
}

func pnpmfileRefusal(hook string) *Refusal {
	return &Refusal{Manager: "pnpm",
		Reason: "the project has a pnpmfile, " + hook + ": its hooks are the project's code; phylum-box runs them only in an offline step after resolving, " +
			"which this command (or a frozen lockfile, pnpm's default in CI) cannot be driven through",
		Advice: "run `phylum-box pnpm install --no-frozen-lockfile`, which runs the hooks offline; " +
			"or, if the project installs correctly without its hooks, add --ignore-pnpmfile"}
}

// pnpmHostRelease is the version of the pnpm that env's PATH resolves to — the one
// every step runs — read from the package.json of its installation
// (/usr/lib/node_modules/pnpm/package.json for /usr/bin/pnpm →
// ../lib/node_modules/pnpm/bin/pnpm.cjs), as findYarnInstall reads yarn's: a
// LookPath, a readlink and one small file, no process (running `pnpm --version`
// on the host would follow the project's packageManager through corepack). ""
// when it cannot be told that way: corepack's shim (the project's packageManager
// picks the release), pnpm's standalone executable, a PATH entry that is
// relative or leads into the project.
func pnpmHostRelease(env Env, root string) string {
	return hostToolRelease(env, root, "pnpm", "pnpm", "@pnpm/exe")
}

// toolVersionRE is a release number a host tool's package.json may give.
var toolVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.+-]{0,40}$`)

// hostToolRelease is pnpmHostRelease for any JavaScript tool on env's PATH: cmd
// found there, its installation's package.json named one of names.
func hostToolRelease(env Env, root, cmd string, names ...string) string {
	bin, err := env.LookPath(cmd)
	if err != nil || !filepath.IsAbs(bin) {
		return ""
	}
	real, err := filepath.EvalSymlinks(bin)
	if err != nil {
		return ""
	}
	if rootReal, err := filepath.EvalSymlinks(root); err == nil {
		if rel, err := filepath.Rel(rootReal, real); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return ""
		}
	}
	if _, version := binPackage(real, names...); toolVersionRE.MatchString(version) {
		return version
	}
	return ""
}

// binPackage names the package a tool's binary (real, links resolved) belongs to:
// the first package.json up to four directories above it whose name is one of
// names — /usr/lib/node_modules/pnpm/package.json for
// /usr/lib/node_modules/pnpm/bin/pnpm.cjs. "" when there is none.
func binPackage(real string, names ...string) (name, version string) {
	dir := filepath.Dir(real)
	for range 4 {
		if b, err := os.ReadFile(filepath.Join(dir, "package.json")); err == nil {
			var pj struct{ Name, Version string }
			if json.Unmarshal(b, &pj) == nil && slices.Contains(names, pj.Name) {
				return pj.Name, pj.Version
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", ""
}

// pnpmHostBefore10 says whether the pnpm in env's PATH is known to be older than
// pnpm 10, which builds every dependency by default: then a project cannot be one
// where pnpm builds nothing, whatever its node_modules/.modules.yaml (project
// input) records. When the release cannot be told (pnpmHostRelease), the record's
// version decides, as before.
func pnpmHostBefore10(env Env, root string) bool {
	v := pnpmHostRelease(env, root)
	if v == "" {
		return false
	}
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	return err != nil || n < 10
}

// pnpmSwitchNotice is what to tell the user when the project's package.json names
// a pnpm release (packageManager, "pnpm@9.15.0") other than the one on their
// PATH: bare pnpm 10 would download that release and run it; phylum-box runs the
// user's own in every step (internal/install/pnpmswitch.go turns the switch off).
// "" when the field names no pnpm, the same release, or when the release on PATH
// cannot be told (corepack's shim picks the project's release itself, before
// pnpm starts). The field is project data: only a short printable version is
// shown.
func pnpmSwitchNotice(env Env, root, packageManager string) string {
	want, ok := strings.CutPrefix(packageManager, "pnpm@")
	want, _, _ = strings.Cut(want, "+") // "pnpm@9.15.0+sha512.…"
	if !ok || want == "" || len(want) > 64 || strings.ContainsFunc(want, func(c rune) bool { return c < ' ' || c > '~' }) {
		return ""
	}
	host := pnpmHostRelease(env, root)
	if host == "" || want == host {
		return ""
	}
	return fmt.Sprintf("pnpm: package.json's packageManager asks for pnpm %s; phylum-box ran your pnpm %s "+
		"(--config.manage-package-manager-versions=false): bare pnpm would download the release the project names "+
		"and run it with the network and your credentials. To use pnpm %s, install it yourself (npm install -g pnpm@%s)",
		want, host, want, want)
}
