package managers

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
)

// Yarn berry.
//
// Resolve: `--mode=update-lockfile` writes yarn.lock (and fetches only what it needs
// for checksums) without linking or building. Download: `install --immutable
// --mode=skip-build` fetches and links against that lockfile, builds nothing.
// Build: `yarn rebuild` runs the build scripts (it also unplugs the packages it
// builds and rewrites .pnp.cjs, so .pnp.cjs is an output, not sealed).
var yarnBerryIntercepted = map[string]string{
	"": "install", "install": "install", "add": "install", "up": "install",
	"remove": "install", "dedupe": "install", "rebuild": "build", "dlx": "exec",
	"create": "exec", "unplug": "refuse", "patch-commit": "refuse", "link": "refuse",
	"unlink": "refuse", "workspaces": "workspaces",
}

func (m yarnManager) planBerry(args []string, y yarnArgv, prefix []string, cmd string, rest []string, root, dir, why string, env Env) (*Plan, error) {
	kind := yarnBerryIntercepted[cmd]
	switch kind {
	case "":
		return passthrough(m, cmd, args), nil
	case "workspaces":
		pos := positionals(rest)
		installs := len(pos) > 0 && pos[0] == "focus"
		for i := 1; len(pos) > 0 && pos[0] == "foreach" && i < len(pos); i++ {
			if k := yarnBerryIntercepted[pos[i]]; k != "" && k != "workspaces" {
				installs = true
			}
		}
		if installs {
			return nil, yarnWorkspacesRefusal(pos[0])
		}
		return passthrough(m, cmd, args), nil
	case "refuse":
		return nil, yarnBerryRefusal(cmd)
	}
	if hasFlag(rest, "--interactive", "-i") {
		return nil, yarnInteractiveRefusal()
	}
	rcs, rcFiles, err := yarnProjectConfig(root, dir, YarnBerry)
	if err != nil {
		return nil, err
	}
	prc := rootRC(root, rcs)
	rc, err := loadBerryConfig(env, root, prc)
	if err != nil {
		return nil, err
	}
	for _, r := range rcs {
		if err := rc.checkCredentialTargets(r); err != nil {
			return nil, err
		}
	}
	var released *yarnProjectRC // the rc file whose yarnPath yarn would follow
	for _, r := range rcs {
		if r.yarnPath != "" && released == nil {
			released = r
		}
	}
	run, runErr := newBerryRunner(env, released)
	man, _ := readNodeManifest(root)
	workspaces, err := workspaceDirs(root, man.workspacePatterns())
	if err != nil {
		return nil, err
	}
	nodedir, err := NodeHeadersDir(env)
	if err != nil {
		return nil, err
	}
	sub := cmd
	if sub == "" {
		sub = "install"
	}
	p := &Plan{
		Manager:    "yarn",
		Ecosystem:  precheck.NPM,
		Subcommand: sub,
		Args:       args,
		Project: Project{
			Root:      root,
			Cwd:       relOrDot(root, dir),
			Lockfiles: []string{"yarn.lock"},
			Sealed:    append(nodeManifests(workspaces), "yarn.lock"),
		},
		Sandbox: Sandbox{
			Caches:      rc.caches(),
			Credentials: rc.credentials(),
		},
		Registries: rc.metadataClient(),
		Notes:      []string{"yarn berry (" + why + ")"},
	}
	if len(rcFiles) > 0 {
		if p.Sandbox.Credentials == nil {
			p.Sandbox.Credentials = &Credentials{}
		}
		p.Sandbox.Credentials.Files = append(p.Sandbox.Credentials.Files, rcFiles...)
	}
	for _, r := range rcs {
		if _, ok := r.inside["globalFolder"]; ok {
			p.Notes = append(p.Notes, r.rel+": globalFolder is replaced by your own ("+rc.globalDir+")")
		}
	}
	outputs := nodeOutputs(workspaces, "yarn.lock", ".pnp.cjs", ".pnp.loader.mjs", ".pnp.data.json",
		".yarn/install-state.gz", ".yarn/unplugged/", ".yarn/build-state.yml")
	if !rc.globalCache {
		// The project keeps its own cache (zero-installs); never .yarn/releases or
		// .yarn/plugins: those are code yarn itself runs.
		outputs = append(outputs, ".yarn/cache/")
		if rel := relOrDot(root, rc.cacheDir); within(root, rc.cacheDir) && rel != "." && rel != ".yarn/cache" {
			outputs = append(outputs, filepath.ToSlash(rel)+"/")
		}
	}
	p.Project.Outputs = outputs
	env2 := rc.env()
	netEnv := append(append(append([]string(nil), env2...), yarnNetworkEnv...), berryNetworkEnv...)
	buildEnv := append(append([]string(nil), env2...), "npm_config_nodedir="+nodedir, "YARN_ENABLE_NETWORK=0")
	lead := y.leadWithoutCwd() // the steps already run in the --cwd directory
	if sub == "rebuild" {
		// No network: the project's own yarn may run.
		yarnCmd := []string{"yarn"}
		if runErr == nil {
			yarnCmd = run.build
			p.Sandbox.HostPaths = append(p.Sandbox.HostPaths, run.hostPaths...)
		}
		p.Steps.Build = &Step{Args: concat(yarnCmd, lead, prefix, []string{"rebuild"}, rest), Env: buildEnv}
		return p, nil
	}
	if runErr != nil {
		return nil, runErr
	}
	if run.note != "" {
		p.Notes = append(p.Notes, run.note)
	}
	p.Sandbox.HostPaths = append(p.Sandbox.HostPaths, run.hostPaths...)
	if kind == "exec" {
		return m.planBerryDlx(p, run, cmd, rest, netEnv, buildEnv, man, userAgentEnv(env, root, "yarn", nodedir)) // useragent.go
	}
	p.Steps.Resolve = &Step{Args: concat(run.net, lead, prefix, []string{sub}, rest, []string{"--mode=update-lockfile"}), Env: netEnv, Network: true, Credentials: true}
	p.Steps.Download = &Step{Args: concat(run.net, lead, []string{"install", "--immutable", "--mode=skip-build"}), Env: netEnv, Network: true, Credentials: true}
	p.Steps.Build = &Step{Args: concat(run.build, lead, []string{"rebuild"}), Env: buildEnv, AppendChanged: true}
	if sub == "install" && berryFlag(rest, "--immutable-cache") {
		// yarn refuses --immutable-cache with --mode=update-lockfile too: the resolve
		// step goes without it, and the download, which fills the cache, keeps it.
		p.Steps.Resolve.Args = slices.DeleteFunc(p.Steps.Resolve.Args, func(a string) bool { return a == "--immutable-cache" })
		p.Steps.Download.Args = append(p.Steps.Download.Args, "--immutable-cache")
	}
	if sub == "install" && (berryFlag(rest, "--immutable") || berryFlag(rest, "--frozen-lockfile")) {
		// yarn refuses --immutable (and --frozen-lockfile, its deprecated spelling)
		// with --mode=update-lockfile (a usage error, exit 1, where bare yarn
		// installs). The committed lockfile may not change: it is prechecked as it is
		// and the download, install --immutable, fails as bare yarn does when it is
		// out of date (newuser7_test.go).
		p.Steps.Resolve = nil
		p.Notes = append(p.Notes, "yarn: install --immutable: no resolve step; the committed yarn.lock is prechecked as it is")
	}
	// Nothing to do (berrynoop.go).
	p.Steps.UpToDate = berryNoopCheck(env, y, prefix, cmd, rest, root, dir, workspaces, rc)
	if err := berryProjectScripts(p, workspaces, concat(run.build, lead)); err != nil { // rootscripts_berry.go
		return nil, err
	}
	if berryScriptsOff(env, rc, rcs, root) { // berryfirst.go
		p.Steps.BuildNeeded = berryBuildNeeded(root, workspaces)
	}
	berryLockFirst(p, sub, rest)
	return p, nil
}

func yarnWorkspacesRefusal(sub string) *Refusal {
	return &Refusal{Manager: "yarn", Reason: "`yarn workspaces " + sub + "` installs across workspaces in one go, which phylum-box does not plan yet",
		Advice: "run it per workspace (`phylum-box yarn workspace NAME add PKG`) or at the root (`phylum-box yarn install`)"}
}

func yarnBerryRefusal(cmd string) *Refusal {
	return &Refusal{Manager: "yarn", Reason: fmt.Sprintf("`yarn %s` re-installs with build scripts as part of the command", cmd),
		Advice: "make the change in package.json (dependenciesMeta, resolutions, a link:/portal: dependency), then run `phylum-box yarn install`"}
}

func yarnInteractiveRefusal() *Refusal {
	return &Refusal{Manager: "yarn", Reason: "interactive choices cannot be checked before they are made", Advice: "name the versions: `phylum-box yarn up PKG@VERSION`"}
}

func (m yarnManager) planBerryDlx(p *Plan, yr *berryRunner, cmd string, rest, env, buildEnv []string, man *nodeManifest, ua []string) (*Plan, error) {
	pkgs := []string{}
	var run []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case (a == "-p" || a == "--package") && i+1 < len(rest):
			pkgs = append(pkgs, rest[i+1])
			i++
		case strings.HasPrefix(a, "--package="):
			pkgs = append(pkgs, strings.TrimPrefix(a, "--package="))
		case a == "-q" || a == "--quiet":
		default:
			run = rest[i:]
			i = len(rest)
		}
	}
	if len(run) == 0 && len(pkgs) == 0 {
		return nil, &Refusal{Manager: "yarn", Reason: "`yarn " + cmd + "` needs a package to run", Advice: "name it: `phylum-box yarn dlx PKG`"}
	}
	p.Scratch = &ScratchProject{}
	switch {
	case cmd == "create":
		pkgs = []string{npmInitializer(run[0])}
		p.Scratch.RunBinOf, run = npmSpecName(pkgs[0]), run[1:]
	case len(pkgs) == 0:
		pkgs = []string{run[0]}
		p.Scratch.RunBinOf, run = npmSpecName(run[0]), run[1:]
	}
	manifest := map[string]string{"name": "phylum-box-dlx"}
	if man != nil && man.PackageManager != "" {
		manifest["packageManager"] = man.PackageManager // the same yarn as the project
	}
	mj, _ := json.Marshal(manifest)
	// node_modules linker so that the bin is a file the orchestration can run.
	scratchEnv := append(append([]string(nil), env...), "YARN_NODE_LINKER=node-modules", "YARN_ENABLE_SCRIPTS=true")
	p.Subcommand = "dlx"
	p.Scratch.Files = map[string]string{"package.json": string(mj), "yarn.lock": ""}
	if err := berryScratchRelease(p); err != nil {
		return nil, err
	}
	p.Project.Outputs, p.Project.Sealed = nil, nil
	p.Steps.Resolve = &Step{Args: concat(yr.net, []string{"add"}, pkgs, []string{"--mode=update-lockfile"}), Env: scratchEnv, Network: true, Credentials: true}
	p.Steps.Download = &Step{Args: concat(yr.net, []string{"install", "--immutable", "--mode=skip-build"}), Env: scratchEnv, Network: true, Credentials: true}
	p.Steps.Build = &Step{Args: concat(yr.build, []string{"rebuild"}), Env: append(append([]string(nil), buildEnv...), "YARN_NODE_LINKER=node-modules", "YARN_ENABLE_SCRIPTS=true")}
	p.Steps.Run = &Step{Args: run, Env: ua}
	p.Notes = append(p.Notes, "dlx: the package is installed into a scratch project and run with the network off")
	return p, nil
}

// maxYarnRelease bounds the yarnPath file copied into a dlx scratch project.
const maxYarnRelease = 64 << 20

// berryScratchRelease gives a dlx scratch project the project's yarn: with a
// packageManager field but no yarnPath, the global yarn (often 1.x, or corepack
// with no network in the build step) refuses to run. The release named by the
// project's yarnPath is copied to the same relative path in the scratch project
// (so a project .yarnrc.yml bound over the scratch one still points at it).
func berryScratchRelease(p *Plan) error {
	rc, err := readBerryRC(filepath.Join(p.Project.Root, ".yarnrc.yml"))
	if err != nil || rc == nil {
		return err
	}
	yp := rc.get("yarnPath")
	if yp == "" {
		return nil
	}
	src := yp
	if !filepath.IsAbs(src) {
		src = filepath.Join(p.Project.Root, src)
	}
	rel, err := filepath.Rel(p.Project.Root, src)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		rel = filepath.Join(".yarn", "releases", filepath.Base(src))
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("yarnPath %s: %w", yp, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxYarnRelease+1))
	if err != nil {
		return fmt.Errorf("yarnPath %s: %w", yp, err)
	}
	if len(data) > maxYarnRelease {
		return fmt.Errorf("yarnPath %s: larger than %d MiB; is it a yarn release?", yp, maxYarnRelease>>20)
	}
	p.Scratch.Files[filepath.ToSlash(rel)] = string(data)
	p.Scratch.Files[".yarnrc.yml"] = "yarnPath: " + filepath.ToSlash(rel) + "\n"
	return nil
}

// berryFlag: the install's own arguments hold flag (before any "--").
func berryFlag(rest []string, flag string) bool {
	for _, a := range rest {
		if a == "--" {
			return false
		}
		if a == flag {
			return true
		}
	}
	return false
}
