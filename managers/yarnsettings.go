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
var berrySettings = map[string]yarnSetting{
	"approvedGitRepositories":     {Class: YarnNetworkTarget},
	"cacheFolder":                 {Class: YarnPathSetting, Path: true, Note: "used only with enableGlobalCache: false; then it is an output"},
	"cacheMigrationMode":          {Class: YarnData},
	"catalog":                     {Class: YarnData},
	"catalogs":                    {Class: YarnData},
	"changesetBaseRefs":           {Class: YarnData},
	"changesetIgnorePatterns":     {Class: YarnData},
	"checksumBehavior":            {Class: YarnData},
	"cloneConcurrency":            {Class: YarnData},
	"compressionLevel":            {Class: YarnData},
	"constraintsPath":             {Class: YarnPathSetting, Path: true},
	"defaultLanguageName":         {Class: YarnData},
	"defaultProtocol":             {Class: YarnData},
	"defaultSemverRangePrefix":    {Class: YarnData},
	"deferredVersionFolder":       {Class: YarnPathSetting, Path: true},
	"enableCacheClean":            {Class: YarnData},
	"enableColors":                {Class: YarnData},
	"enableConstraintsChecks":     {Class: YarnExec, Note: "runs the project's yarn.config.cjs during installs"},
	"enableGlobalCache":           {Class: YarnData},
	"enableHardenedMode":          {Class: YarnData},
	"enableHyperlinks":            {Class: YarnData},
	"enableImmutableCache":        {Class: YarnData},
	"enableImmutableInstalls":     {Class: YarnData},
	"enableInlineBuilds":          {Class: YarnData},
	"enableInlineHunks":           {Class: YarnData},
	"enableMessageNames":          {Class: YarnData},
	"enableMirror":                {Class: YarnData},
	"enableNetwork":               {Class: YarnData},
	"enableOfflineMode":           {Class: YarnData},
	"enableProgressBars":          {Class: YarnData},
	"enableScripts":               {Class: YarnData, Note: "scripts run only in the build step, with the network off"},
	"enableStrictSettings":        {Class: YarnData},
	"enableStrictSsl":             {Class: YarnNetworkTarget},
	"enableTelemetry":             {Class: YarnUserOnly, Note: "phylum-box turns telemetry off"},
	"enableTimers":                {Class: YarnData},
	"enableTips":                  {Class: YarnData},
	"enableTransparentWorkspaces": {Class: YarnData},
	"globalFolder":                {Class: YarnUserOnly, Path: true, Note: "replaced by the user's (YARN_GLOBAL_FOLDER, ~/.yarnrc.yml, or ~/.yarn/berry)"},
	"httpProxy":                   {Class: YarnNetworkTarget},
	"httpRetry":                   {Class: YarnData},
	"httpTimeout":                 {Class: YarnData},
	"httpsCaFilePath":             {Class: YarnNetworkTarget, Path: true},
	"httpsCertFilePath":           {Class: YarnCredential, Path: true},
	"httpsKeyFilePath":            {Class: YarnCredential, Path: true},
	"httpsProxy":                  {Class: YarnNetworkTarget},
	"ignorePath":                  {Class: YarnUserOnly, Note: "phylum-box sets YARN_IGNORE_PATH=1 in the networked steps"},
	"immutablePatterns":           {Class: YarnData},
	"initEditorConfig":            {Class: YarnData},
	"initFields":                  {Class: YarnData},
	"initScope":                   {Class: YarnData},
	"injectEnvironmentFiles":      {Class: YarnExec, Path: true, Note: "variables for the processes yarn starts"},
	"installStatePath":            {Class: YarnPathSetting, Path: true},
	"lastUpdateCheck":             {Class: YarnUserOnly},
	"logFilters":                  {Class: YarnData},
	"minizip":                     {Class: YarnData},
	"networkConcurrency":          {Class: YarnData},
	"networkSettings":             {Class: YarnNetworkTarget, Note: "its file paths must be inside the project"},
	"nmHoistingLimits":            {Class: YarnData},
	"nmMode":                      {Class: YarnData},
	"nmSelfReferences":            {Class: YarnData},
	"nodeExperimentalPackageMap":  {Class: YarnData},
	"nodeLinker":                  {Class: YarnData},
	"nodePackageMapType":          {Class: YarnData},
	"npmAlwaysAuth":               {Class: YarnData},
	"npmAuditExcludePackages":     {Class: YarnData},
	"npmAuditIgnoreAdvisories":    {Class: YarnData},
	"npmAuditRegistry":            {Class: YarnNetworkTarget},
	"npmAuthIdent":                {Class: YarnCredential},
	"npmAuthToken":                {Class: YarnCredential},
	"npmMinimalAgeGate":           {Class: YarnData},
	"npmPreapprovedPackages":      {Class: YarnData},
	"npmPublishAccess":            {Class: YarnData},
	"npmPublishProvenance":        {Class: YarnData},
	"npmPublishRegistry":          {Class: YarnNetworkTarget},
	"npmRegistries":               {Class: YarnCredential, Note: "per-registry tokens"},
	"npmRegistryServer":           {Class: YarnNetworkTarget},
	"npmScopes":                   {Class: YarnNetworkTarget, Note: "per-scope registries; their tokens are credentials"},
	"packageExtensions":           {Class: YarnData},
	"patchFolder":                 {Class: YarnPathSetting, Path: true},
	"plugins":                     {Class: YarnExec, Path: true, Note: "JavaScript yarn loads in every command"},
	"pnpEnableEsmLoader":          {Class: YarnData},
	"pnpEnableInlining":           {Class: YarnData},
	"pnpFallbackMode":             {Class: YarnData},
	"pnpIgnorePatterns":           {Class: YarnData},
	"pnpMode":                     {Class: YarnData},
	"pnpShebang":                  {Class: YarnData},
	"pnpUnpluggedFolder":          {Class: YarnPathSetting, Path: true},
	"pnpZipBackend":               {Class: YarnData},
	"pnpmInstallConcurrency":      {Class: YarnData},
	"pnpmStoreFolder":             {Class: YarnPathSetting, Path: true},
	"preferDeferredVersions":      {Class: YarnData},
	"preferInteractive":           {Class: YarnData},
	"preferReuse":                 {Class: YarnData},
	"preferTruncatedLines":        {Class: YarnData},
	"progressBarStyle":            {Class: YarnData},
	"rcFilename":                  {Class: YarnUserOnly, Note: "read from YARN_RC_FILENAME only"},
	"supportedArchitectures":      {Class: YarnData},
	"taskPoolConcurrency":         {Class: YarnData},
	"taskPoolMode":                {Class: YarnData},
	"telemetryInterval":           {Class: YarnUserOnly},
	"telemetryUserId":             {Class: YarnUserOnly},
	"tsEnableAutoTypes":           {Class: YarnData},
	"unsafeHttpWhitelist":         {Class: YarnNetworkTarget},
	"virtualFolder":               {Class: YarnPathSetting, Path: true},
	"winLinkType":                 {Class: YarnData},
	"yarnPath":                    {Class: YarnExec, Path: true, Note: "the project's committed yarn release; the networked steps run the user's yarn"},
}

// classicSettings classifies yarn 1.22's .yarnrc settings: every key yarn reads with
// getOption, the keys it resolves relative to the .yarnrc (src/rc.js PATH_KEYS,
// yarn-registry.js RELATIVE_KEYS), and the npm settings it reads from a .yarnrc
// too (testdata/yarn-1.22-settings.txt). A line "--flag value" or
// "--command.flag value" is a command-line flag yarn adds; it is classified by
// its flag name.
var classicSettings = map[string]yarnSetting{
	"always-auth":               {Class: YarnData},
	"bin-links":                 {Class: YarnData},
	"ca":                        {Class: YarnNetworkTarget},
	"cache-folder":              {Class: YarnPathSetting, Path: true, Note: "replaced by the user's cache (YARN_CACHE_FOLDER, ~/.yarnrc, or yarn's default)"},
	"cafile":                    {Class: YarnNetworkTarget, Path: true},
	"cert":                      {Class: YarnCredential},
	"child-concurrency":         {Class: YarnData},
	"cwd":                       {Class: YarnPathSetting, Path: true},
	"disable-self-update-check": {Class: YarnData},
	"email":                     {Class: YarnCredential},
	"enable-meta-folder":        {Class: YarnData},
	"env":                       {Class: YarnExec, Note: "variables for lifecycle scripts (build step only)"},
	"experimental-pack-script-packages-in-mirror": {Class: YarnData},
	"force":                              {Class: YarnData},
	"global-folder":                      {Class: YarnPathSetting, Path: true},
	"https-proxy":                        {Class: YarnNetworkTarget},
	"ignore-engines":                     {Class: YarnData},
	"ignore-optional":                    {Class: YarnData},
	"ignore-platform":                    {Class: YarnData},
	"ignore-scripts":                     {Class: YarnData},
	"init-author-email":                  {Class: YarnData},
	"init-author-name":                   {Class: YarnData},
	"init-author-url":                    {Class: YarnData},
	"init-license":                       {Class: YarnData},
	"init-private":                       {Class: YarnData},
	"init-version":                       {Class: YarnData},
	"key":                                {Class: YarnCredential},
	"lastUpdateCheck":                    {Class: YarnUserOnly},
	"link-folder":                        {Class: YarnPathSetting, Path: true},
	"modules-folder":                     {Class: YarnPathSetting, Path: true},
	"network-concurrency":                {Class: YarnData},
	"network-timeout":                    {Class: YarnData},
	"no-progress":                        {Class: YarnData},
	"offline-cache-folder":               {Class: YarnPathSetting, Path: true},
	"plugnplay-blacklist":                {Class: YarnData},
	"plugnplay-override":                 {Class: YarnData},
	"plugnplay-shebang":                  {Class: YarnData},
	"preferred-cache-folder":             {Class: YarnPathSetting, Path: true},
	"prefix":                             {Class: YarnPathSetting, Path: true},
	"production":                         {Class: YarnData},
	"proxy":                              {Class: YarnNetworkTarget},
	"registry":                           {Class: YarnNetworkTarget},
	"save-exact":                         {Class: YarnData},
	"save-prefix":                        {Class: YarnData},
	"script-shell":                       {Class: YarnExec, Note: "the shell for lifecycle scripts (build step only)"},
	"strict-ssl":                         {Class: YarnNetworkTarget},
	"unsafe-disable-integrity-migration": {Class: YarnData},
	"user-agent":                         {Class: YarnData},
	"username":                           {Class: YarnCredential},
	"version-commit-hooks":               {Class: YarnData},
	"version-git-message":                {Class: YarnData},
	"version-git-tag":                    {Class: YarnData},
	"version-sign-git-tag":               {Class: YarnData},
	"version-tag-prefix":                 {Class: YarnData},
	"workspaces-experimental":            {Class: YarnData},
	"workspaces-nohoist-experimental":    {Class: YarnData},
	"yarn-enable-lockfile-versions":      {Class: YarnData},
	"yarn-link-file-dependencies":        {Class: YarnData},
	"yarn-offline-mirror":                {Class: YarnPathSetting, Path: true},
	"yarn-offline-mirror-pruning":        {Class: YarnData},
	"yarn-path":                          {Class: YarnExec, Path: true, Note: "the project's committed yarn release; the networked steps run the user's yarn (YARN_IGNORE_PATH=1)"},
	"_auth":                              {Class: YarnCredential},
	"_authToken":                         {Class: YarnCredential},
	"_password":                          {Class: YarnCredential},
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
