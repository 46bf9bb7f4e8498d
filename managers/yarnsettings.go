package managers

import (
	"fmt"
	"sort"
	"strings"
)

// YarnSettingClass says what phylum-box does with a setting when it comes from a
// PROJECT's .yarnrc (yarn classic) or .yarnrc.yml (berry); the user's own files
// (~/.yarnrc, ~/.yarnrc.yml) and YARN_* variables are trusted and pass as they are.
type YarnSettingClass string

const (
	// YarnData changes how yarn resolves, links or prints; honoured in every step.
	YarnData YarnSettingClass = "data"
	// YarnPathSetting names a file or directory: honoured only inside the project,
	// refused otherwise (yarn resolves it relative to the file it is written in).
	YarnPathSetting YarnSettingClass = "path"
	// YarnExec names code yarn loads or runs itself (a release, plugins, environment
	// files, constraints): left out of the copy the networked steps (resolve,
	// download) see, honoured in the build step, which has no network and no
	// credential; a path must be inside the project.
	YarnExec YarnSettingClass = "exec"
	// YarnCredential is a secret: only the steps that need the registry see it.
	YarnCredential YarnSettingClass = "credential"
	// YarnNetworkTarget names a host yarn talks to (registry, proxy) or how it
	// trusts it; only the networked steps, which run no code, reach it.
	YarnNetworkTarget YarnSettingClass = "network-target"
	// YarnUserOnly is the user's or phylum-box's to decide (the global folder,
	// telemetry, which yarn runs): a project's value is ignored or overridden.
	YarnUserOnly YarnSettingClass = "user-only"
)

// yarnSetting is one row of the classification.
type yarnSetting struct {
	Class YarnSettingClass
	// Path: the value (or each value of a list) is a path that must be inside the
	// project when a project file sets it.
	Path bool
	Note string
}

// berrySettings classifies every setting yarn berry 4.18.1 knows: the output of
// `yarn config --json` (core and bundled plugins; testdata/berry-4.18.1-settings.txt)
// plus plugins, which that command does not list.
var berrySettings = withYarnData(map[string]yarnSetting{
	"approvedGitRepositories": {Class: YarnNetworkTarget},
	"cacheFolder":             {Class: YarnPathSetting, Path: true, Note: "used only with enableGlobalCache: false; then it is an output"},
	"constraintsPath":         {Class: YarnPathSetting, Path: true},
	"deferredVersionFolder":   {Class: YarnPathSetting, Path: true},
	"enableConstraintsChecks": {Class: YarnExec, Note: "runs the project's yarn.config.cjs during installs"},
	"enableScripts":           {Class: YarnData, Note: "scripts run only in the build step, with the network off"},
	"enableStrictSsl":         {Class: YarnNetworkTarget},
	"enableTelemetry":         {Class: YarnUserOnly, Note: "phylum-box turns telemetry off"},
	"globalFolder":            {Class: YarnUserOnly, Path: true, Note: "replaced by the user's (YARN_GLOBAL_FOLDER, ~/.yarnrc.yml, or ~/.yarn/berry)"},
	"httpProxy":               {Class: YarnNetworkTarget},
	"httpsCaFilePath":         {Class: YarnNetworkTarget, Path: true},
	"httpsCertFilePath":       {Class: YarnCredential, Path: true},
	"httpsKeyFilePath":        {Class: YarnCredential, Path: true},
	"httpsProxy":              {Class: YarnNetworkTarget},
	"ignorePath":              {Class: YarnUserOnly, Note: "phylum-box sets YARN_IGNORE_PATH=1 in the networked steps"},
	"injectEnvironmentFiles":  {Class: YarnExec, Path: true, Note: "variables for the processes yarn starts"},
	"installStatePath":        {Class: YarnPathSetting, Path: true},
	"lastUpdateCheck":         {Class: YarnUserOnly},
	"networkSettings":         {Class: YarnNetworkTarget, Note: "its file paths must be inside the project"},
	"npmAuditRegistry":        {Class: YarnNetworkTarget},
	"npmAuthIdent":            {Class: YarnCredential},
	"npmAuthToken":            {Class: YarnCredential},
	"npmPublishRegistry":      {Class: YarnNetworkTarget},
	"npmRegistries":           {Class: YarnCredential, Note: "per-registry tokens"},
	"npmRegistryServer":       {Class: YarnNetworkTarget},
	"npmScopes":               {Class: YarnNetworkTarget, Note: "per-scope registries; their tokens are credentials"},
	"patchFolder":             {Class: YarnPathSetting, Path: true},
	"plugins":                 {Class: YarnExec, Path: true, Note: "JavaScript yarn loads in every command"},
	"pnpUnpluggedFolder":      {Class: YarnPathSetting, Path: true},
	"pnpmStoreFolder":         {Class: YarnPathSetting, Path: true},
	"rcFilename":              {Class: YarnUserOnly, Note: "read from YARN_RC_FILENAME only"},
	"telemetryInterval":       {Class: YarnUserOnly},
	"telemetryUserId":         {Class: YarnUserOnly},
	"unsafeHttpWhitelist":     {Class: YarnNetworkTarget},
	"virtualFolder":           {Class: YarnPathSetting, Path: true},
	"yarnPath":                {Class: YarnExec, Path: true, Note: "the project's committed yarn release; the networked steps run the user's yarn"},
}, `
	cacheMigrationMode catalog catalogs changesetBaseRefs changesetIgnorePatterns checksumBehavior
	cloneConcurrency compressionLevel defaultLanguageName defaultProtocol defaultSemverRangePrefix
	enableCacheClean enableColors enableGlobalCache enableHardenedMode enableHyperlinks
	enableImmutableCache enableImmutableInstalls enableInlineBuilds enableInlineHunks
	enableMessageNames enableMirror enableNetwork enableOfflineMode enableProgressBars
	enableStrictSettings enableTimers enableTips enableTransparentWorkspaces httpRetry httpTimeout
	immutablePatterns initEditorConfig initFields initScope logFilters minizip networkConcurrency
	nmHoistingLimits nmMode nmSelfReferences nodeExperimentalPackageMap nodeLinker
	nodePackageMapType npmAlwaysAuth npmAuditExcludePackages npmAuditIgnoreAdvisories
	npmMinimalAgeGate npmPreapprovedPackages npmPublishAccess npmPublishProvenance
	packageExtensions pnpEnableEsmLoader pnpEnableInlining pnpFallbackMode pnpIgnorePatterns
	pnpMode pnpShebang pnpZipBackend pnpmInstallConcurrency preferDeferredVersions
	preferInteractive preferReuse preferTruncatedLines progressBarStyle supportedArchitectures
	taskPoolConcurrency taskPoolMode tsEnableAutoTypes winLinkType
`)

// classicSettings classifies yarn 1.22's .yarnrc settings: every key yarn reads with
// getOption, the keys it resolves relative to the .yarnrc (src/rc.js PATH_KEYS,
// yarn-registry.js RELATIVE_KEYS), and the npm settings it reads from a .yarnrc
// too (testdata/yarn-1.22-settings.txt). A line "--flag value" or
// "--command.flag value" is a command-line flag yarn adds; it is classified by
// its flag name.
var classicSettings = withYarnData(map[string]yarnSetting{
	"ca":                     {Class: YarnNetworkTarget},
	"cache-folder":           {Class: YarnPathSetting, Path: true, Note: "replaced by the user's cache (YARN_CACHE_FOLDER, ~/.yarnrc, or yarn's default)"},
	"cafile":                 {Class: YarnNetworkTarget, Path: true},
	"cert":                   {Class: YarnCredential},
	"cwd":                    {Class: YarnPathSetting, Path: true},
	"email":                  {Class: YarnCredential},
	"env":                    {Class: YarnExec, Note: "variables for lifecycle scripts (build step only)"},
	"global-folder":          {Class: YarnPathSetting, Path: true},
	"https-proxy":            {Class: YarnNetworkTarget},
	"key":                    {Class: YarnCredential},
	"lastUpdateCheck":        {Class: YarnUserOnly},
	"link-folder":            {Class: YarnPathSetting, Path: true},
	"modules-folder":         {Class: YarnPathSetting, Path: true},
	"offline-cache-folder":   {Class: YarnPathSetting, Path: true},
	"preferred-cache-folder": {Class: YarnPathSetting, Path: true},
	"prefix":                 {Class: YarnPathSetting, Path: true},
	"proxy":                  {Class: YarnNetworkTarget},
	"registry":               {Class: YarnNetworkTarget},
	"script-shell":           {Class: YarnExec, Note: "the shell for lifecycle scripts (build step only)"},
	"strict-ssl":             {Class: YarnNetworkTarget},
	"username":               {Class: YarnCredential},
	"yarn-offline-mirror":    {Class: YarnPathSetting, Path: true},
	"yarn-path":              {Class: YarnExec, Path: true, Note: "the project's committed yarn release; the networked steps run the user's yarn (YARN_IGNORE_PATH=1)"},
	"_auth":                  {Class: YarnCredential},
	"_authToken":             {Class: YarnCredential},
	"_password":              {Class: YarnCredential},
}, `
	always-auth bin-links child-concurrency disable-self-update-check enable-meta-folder
	experimental-pack-script-packages-in-mirror force ignore-engines ignore-optional
	ignore-platform ignore-scripts init-author-email init-author-name init-author-url init-license
	init-private init-version network-concurrency network-timeout no-progress plugnplay-blacklist
	plugnplay-override plugnplay-shebang production save-exact save-prefix
	unsafe-disable-integrity-migration user-agent version-commit-hooks version-git-message
	version-git-tag version-sign-git-tag version-tag-prefix workspaces-experimental
	workspaces-nohoist-experimental yarn-enable-lockfile-versions yarn-link-file-dependencies
	yarn-offline-mirror-pruning
`)

// withYarnData is table plus each of the space-separated names in data as a plain
// YarnData setting (most settings are: listing them apart keeps the rows that
// matter readable). A name in both is a mistake in the table.
func withYarnData(table map[string]yarnSetting, data string) map[string]yarnSetting {
	for _, name := range strings.Fields(data) {
		if _, dup := table[name]; dup {
			panic("yarn setting classified twice: " + name)
		}
		table[name] = yarnSetting{Class: YarnData}
	}
	return table
}

// classicSettingName is the setting a .yarnrc key stands for: "--install.cache-folder"
// and "--cache-folder" are cache-folder; "//host/:_authToken" is _authToken;
// "@scope:registry" is registry.
func classicSettingName(key string) string {
	key = strings.Trim(key, `"`)
	if rest, ok := strings.CutPrefix(key, "--"); ok {
		if i := strings.LastIndex(rest, "."); i >= 0 {
			rest = rest[i+1:]
		}
		return rest
	}
	if strings.HasPrefix(key, "//") {
		if i := strings.LastIndex(key, ":"); i >= 0 {
			return key[i+1:]
		}
	}
	if strings.HasPrefix(key, "@") && strings.HasSuffix(key, ":registry") {
		return "registry"
	}
	return key
}

// classicSettingFor returns the classification of a .yarnrc key; unknown keys are
// data (yarn 1 ignores keys it does not read).
func classicSettingFor(key string) (yarnSetting, bool) {
	s, ok := classicSettings[classicSettingName(key)]
	if !ok {
		return yarnSetting{Class: YarnData}, false
	}
	return s, true
}

func init() { RegisterSettingsPage("yarnrc-settings.md", YarnSettingsReference) }

// YarnSettingsReference renders the classification tables as the Markdown page
// docs/reference/yarnrc-settings.md.
func YarnSettingsReference() string {
	var b strings.Builder
	b.WriteString("# yarn settings in a project\n\n")
	b.WriteString("A project's `.yarnrc` (yarn classic) and `.yarnrc.yml` (yarn berry) are untrusted: they came\n")
	b.WriteString("with the checkout. phylum-box reads them as data and treats every setting by its class.\n")
	b.WriteString("Your own `~/.yarnrc`, `~/.yarnrc.yml` and `YARN_*` variables are trusted and pass as they are.\n\n")
	b.WriteString("| class | in a project file |\n| --- | --- |\n")
	b.WriteString("| data | honoured in every step |\n")
	b.WriteString("| path | honoured only when it names a path inside the project; otherwise refused (exit 2) with the file, line and setting |\n")
	b.WriteString("| exec | code yarn runs itself: left out of the resolve and download steps (network, credentials), where your own yarn runs with `YARN_IGNORE_PATH=1`; honoured in the build step (no network, no credential); a path must be inside the project |\n")
	b.WriteString("| credential | seen only by the resolve and download steps |\n")
	b.WriteString("| network-target | a host or how it is trusted: used by the resolve and download steps, which run no code; when your own config holds a registry token, a project registry that would receive it (berry: a top-level or scope token; classic: a token without `//host/:`), a proxy, a CA or turning TLS checks off is refused |\n")
	b.WriteString("| user-only | yours or phylum-box's to decide: a project's value is ignored or overridden |\n\n")
	b.WriteString("In a project file, `${VAR}` is never expanded from your environment: such a line is refused; move\n")
	b.WriteString("it to your `~/.yarnrc.yml` (or `~/.yarnrc`). A setting not listed here is treated as data.\n\n")
	b.WriteString("A project `.yarnrc` is read the way yarn 1 tokenizes it (`key:value`, JSON escapes in quoted keys and a lone\n")
	b.WriteString("carriage return count); a line yarn 1 reads several settings from (`a, registry \"URL\"`, `a \"b\" registry \"URL\"`)\n")
	b.WriteString("or cannot parse (an unquoted URL) is refused. A project `.yarnrc.yml` with YAML anchors or aliases, complex\n")
	b.WriteString("keys (`? [key]`) or a `# yarn lockfile v1` header (berry then parses it as yarn 1 syntax) is refused.\n\n")
	section := func(title, source string, table map[string]yarnSetting) {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n| setting | class | path | note |\n| --- | --- | --- | --- |\n", title, source)
		keys := make([]string, 0, len(table))
		for k := range table {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := table[k]
			path := ""
			if s.Path {
				path = "inside the project"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k, s.Class, path, s.Note)
		}
		b.WriteString("\n")
	}
	section("yarn berry (.yarnrc.yml)", "Every setting of yarn 4.18.1 (`yarn config --json`) and `plugins`.", berrySettings)
	section("yarn classic (.yarnrc)", "Every setting yarn 1.22 reads. A `--flag value` or `--command.flag value` line is classified by its flag name; `//host/:_authToken` as `_authToken`; `@scope:registry` as `registry`.", classicSettings)
	return b.String()
}
