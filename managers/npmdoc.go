package managers

// npm's reference page, from the planner's tables (split out of npm.go, code moved
// unchanged).

// npmDocHow says, for each command of npmIntercepted that is not refused, the
// arguments it needs to be intercepted and what phylum-box does with it.
var npmDocHow = map[string]struct {
	args []string
	how  string
}{
	"install":         {nil, docNpmInstall},
	"update":          {nil, docNpmInstall},
	"uninstall":       {nil, docNpmInstall},
	"dedupe":          {nil, docInstall},
	"install-test":    {nil, docNpmInstall + "; then `npm test` runs on the host"},
	"ci":              {nil, "the committed lockfile is prechecked, then installed in the sandbox (npm ci)"},
	"install-ci-test": {nil, "as ci; then `npm test` runs on the host"},
	"prune":           {nil, "prechecked, then pruned in the sandbox without the network"},
	"rebuild":         {nil, "what node_modules holds is prechecked, then rebuilt in the sandbox with the network off"},
	"audit":           {[]string{"fix"}, "resolved with `audit fix --package-lock-only`, prechecked, then downloaded and built in the sandbox; other audit commands pass through"},
	"exec":            {[]string{"PKG"}, docScratch + "; a bin already in node_modules/.bin passes through"},
	"init":            {[]string{"INITIALIZER"}, docCreate("INITIALIZER") + "; bare `npm init` passes through"},
}

// Doc describes npm (or npx) from npmIntercepted, npmRefused and npmAliases.
func (m npmManager) Doc() ManagerDoc {
	if m.name == "npx" {
		return ManagerDoc{
			Intercepted: []DocCommand{{Args: []string{"PKG"}, How: docScratch + " (as `npm exec`; -p/--package and -c/--call work as there)"}},
			Refused: []DocRefusal{{Form: "npx --global PKG (-g)", Example: []string{"--global", "PKG"},
				Advice: npmExecGlobalRefusal(m.name).Advice}},
			Notes: []string{"A bin already in node_modules/.bin (looking up from the working directory) runs without installing anything, as npx does; so does npx without a package.",
				ExecManagerNote, WriteBackNote},
		}
	}
	var d ManagerDoc
	for _, cmd := range sortedKeys(npmIntercepted) {
		if npmRefused[cmd] {
			d.Refused = append(d.Refused, DocRefusal{Form: docAlso("npm "+cmd, aliasesOf(npmAliases, cmd)),
				Example: []string{cmd}, Advice: npmGlobalRefusal(cmd).Advice})
			continue
		}
		h := npmDocHow[cmd]
		d.Intercepted = append(d.Intercepted, DocCommand{Name: cmd, Aliases: aliasesOf(npmAliases, cmd), Args: h.args, How: h.how})
	}
	d.Refused = append([]DocRefusal{
		{Form: "-g, --global or --location=global with any intercepted command", Example: []string{"install", "-g", "PKG"}, Advice: npmGlobalRefusal("install").Advice},
		{Form: "--no-package-lock (or package-lock=false in .npmrc)", Example: []string{"install", "--no-package-lock"}, Advice: npmNoLockRefusal().Advice},
		{Form: "install, update or uninstall with --no-save and package names", Example: []string{"install", "--no-save", "PKG"}, Advice: npmNoSaveRefusal().Advice},
	}, d.Refused...)
	d.PassThrough = []string{"run build", "test", "ls", "publish", "install --dry-run", "install --package-lock-only", "install --help"}
	d.Notes = []string{"The command is found as npm finds it: options anywhere, unique prefixes (upd) and camelCase spellings; if the first word is not an npm command, a later intercepted word counts.", WriteBackNote}
	return d
}

func npmGlobalWhat(cmd string) string {
	if cmd == "link" {
		return "npm link symlinks into and installs from the global prefix"
	}
	return "-g/--global or --location=global"
}
