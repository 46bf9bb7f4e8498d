package managers

import (
	"strings"
	"sync"
)

// npm's command line, read the way npm 11 reads it (nopt + cmd-list.js), so that
// flags before the subcommand cannot hide it: "npm --prefix dir install x",
// "npm -C dir i x", "npm --reg=URL isntall x" all resolve to install.

// npmCommands is npm 11's command list (lib/utils/cmd-list.js).
var npmCommands = []string{
	"access", "adduser", "approve-scripts", "audit", "bugs", "cache", "ci", "completion",
	"config", "dedupe", "deny-scripts", "deprecate", "diff", "dist-tag", "docs", "doctor",
	"edit", "exec", "explain", "explore", "find-dupes", "fund", "get", "help",
	"help-search", "init", "install", "install-ci-test", "install-scripts", "install-test",
	"link", "ll", "login", "logout", "ls", "org", "outdated", "owner", "pack", "ping",
	"pkg", "prefix", "profile", "prune", "publish", "query", "rebuild", "repo", "restart",
	"root", "run", "sbom", "search", "set", "shrinkwrap", "stage", "star", "stars",
	"start", "stop", "team", "test", "token", "trust", "undeprecate", "uninstall",
	"unpublish", "unstar", "update", "version", "view", "whoami",
}

// npmAliases is npm 11's alias and typo table (lib/utils/cmd-list.js).
var npmAliases = map[string]string{
	"author": "owner", "home": "docs", "issues": "bugs", "info": "view", "show": "view",
	"find": "search", "add": "install", "unlink": "uninstall", "remove": "uninstall",
	"rm": "uninstall", "r": "uninstall", "un": "uninstall", "rb": "rebuild", "list": "ls",
	"ln": "link", "create": "init", "i": "install", "it": "install-test",
	"cit": "install-ci-test", "u": "update", "up": "update", "c": "config", "s": "search",
	"se": "search", "tst": "test", "t": "test", "ddp": "dedupe", "v": "view",
	"run-script": "run", "clean-install": "ci", "clean-install-test": "install-ci-test",
	"x": "exec", "why": "explain", "la": "ll", "verison": "version", "ic": "ci",
	"innit": "init", "in": "install", "ins": "install", "inst": "install",
	"insta": "install", "instal": "install", "isnt": "install", "isnta": "install",
	"isntal": "install", "isntall": "install", "install-clean": "ci",
	"isntall-clean": "ci", "hlep": "help", "dist-tags": "dist-tag", "upgrade": "update",
	"udpate": "update", "rum": "run", "sit": "install-ci-test", "urn": "run",
	"ogr": "org", "add-user": "adduser",
}

// npmDeref turns what the user typed into an npm command, as npm's deref does:
// camelCase to kebab-case, exact command, alias, then a unique prefix of any command
// or alias (resolved through the aliases). "" when npm would say "Unknown command".
func npmDeref(c string) string {
	if c == "" {
		return ""
	}
	if strings.ContainsAny(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		var b strings.Builder
		for _, r := range c {
			if 'A' <= r && r <= 'Z' {
				b.WriteByte('-')
				r += 'a' - 'A'
			}
			b.WriteRune(r)
		}
		c = b.String()
	}
	for _, cmd := range npmCommands {
		if cmd == c {
			return c
		}
	}
	if a, ok := npmAliases[c]; ok {
		return a
	}
	words := append([]string(nil), npmCommands...)
	for a := range npmAliases {
		words = append(words, a)
	}
	a, ok := uniquePrefix(c, words)
	if !ok {
		return ""
	}
	for {
		next, ok := npmAliases[a]
		if !ok {
			return a
		}
		a = next
	}
}

// uniquePrefix is the abbrev package's rule: word names w when w is an exact entry, or
// when w is a prefix of exactly one entry.
func uniquePrefix(w string, words []string) (string, bool) {
	match, n := "", 0
	for _, x := range words {
		if x == w {
			return x, true
		}
		if strings.HasPrefix(x, w) {
			match, n = x, n+1
		}
	}
	return match, n == 1
}

// npm option kinds, from @npmcli/config's definitions: which options take a value
// (the next argument unless written --opt=value), which are boolean (they take a
// following "true"/"false" only) and the few mixed ones.
const (
	optBool = iota
	optValue
	optBoolOrString // [null, Boolean, String]: takes the next arg unless it looks like a flag
	optColor        // ["always", Boolean]
)

var npmOptions = func() map[string]int {
	m := map[string]int{}
	for _, k := range strings.Fields(`all allow-same-version audit bin-links bypass-2fa commit-hooks
		dangerously-allow-all-scripts description dev diff-ignore-all-space diff-name-only
		diff-no-prefix diff-text dry-run engine-strict force foreground-scripts
		format-package-lock fund git-tag-version global global-style if-present ignore-scripts
		include-staged include-workspace-root include-attestations init-private install-links
		json legacy-bundling legacy-peer-deps link long offline omit-lockfile-registry-resolved
		package-lock package-lock-only parseable allow-scripts-pending allow-scripts-pin
		prefer-dedupe prefer-offline prefer-online progress provenance read-only rebuild-bundle
		save save-bundle save-dev save-exact save-optional save-peer save-prod packages-all
		shrinkwrap sign-git-commit sign-git-tag strict-peer-deps strict-allow-scripts
		strict-ssl timing unicode update-notifier usage version versions workspaces-update
		expect-results optional production workspaces yes`) {
		m[k] = optBool
	}
	for _, k := range strings.Fields(`_auth access allow-directory allow-file allow-git
		allow-remote allow-scripts also audit-level auth-type before ca cache cache-max
		cache-min cafile call cert cidr cpu depth diff diff-dst-prefix diff-src-prefix
		diff-unified editor expect-result-count expires fetch-retries fetch-retry-factor
		fetch-retry-maxtimeout fetch-retry-mintimeout fetch-timeout git globalconfig heading
		https-proxy include init-author-email init-author-name init-author-url init-license
		init-module init-type init-version init.author.email init.author.name init.author.url
		init.license init.module init.version install-strategy key libc local-address
		location lockfile-version loglevel logs-dir logs-max name maxsockets message
		min-release-age min-release-age-exclude node-gyp node-options noproxy omit only orgs
		os otp package pack-destination packages prefix preid provenance-file proxy registry
		replace-registry-host save-prefix sbom-format sbom-type scope scopes
		packages-and-scopes-permission orgs-permission password token-description
		script-shell searchexclude searchlimit searchopts searchstaleness shell tag
		tag-version-prefix umask user-agent userconfig viewer which workspace`) {
		m[k] = optValue
	}
	m["browser"] = optBoolOrString
	m["color"] = optColor
	return m
}()

// npmShorthands is @npmcli/config's shorthand table.
var npmShorthands = map[string][]string{
	"enjoy-by": {"--before"}, "d": {"--loglevel", "info"}, "dd": {"--loglevel", "verbose"},
	"ddd": {"--loglevel", "silly"}, "quiet": {"--loglevel", "warn"}, "q": {"--loglevel", "warn"},
	"s": {"--loglevel", "silent"}, "silent": {"--loglevel", "silent"},
	"verbose": {"--loglevel", "verbose"}, "desc": {"--description"}, "help": {"--usage"},
	"local": {"--no-global"}, "n": {"--no-yes"}, "no": {"--no-yes"},
	"porcelain": {"--parseable"}, "readonly": {"--read-only"}, "reg": {"--registry"},
	"iwr": {"--include-workspace-root"}, "ws": {"--workspaces"}, "a": {"--all"},
	"c": {"--call"}, "f": {"--force"}, "g": {"--global"}, "L": {"--location"},
	"l": {"--long"}, "m": {"--message"}, "p": {"--parseable"}, "C": {"--prefix"},
	"S": {"--save"}, "B": {"--save-bundle"}, "D": {"--save-dev"}, "E": {"--save-exact"},
	"O": {"--save-optional"}, "P": {"--save-prod"}, "?": {"--usage"}, "H": {"--usage"},
	"h": {"--usage"}, "v": {"--version"}, "w": {"--workspace"}, "y": {"--yes"},
}

// npmArgv is a parsed npm command line.
type npmArgv struct {
	positionals []string            // command first, then its arguments, in order (npm takes the command from here even after "--")
	afterDashes int                 // index in positionals where "--" started (-1: none)
	opts        map[string][]string // canonical long name → values in order ("true"/"false" for booleans)
	optTokens   []string            // the option tokens as written, without positionals
	occurrences []optOccurrence     // each option as parsed, with the argv indices it came from
	args        []string
}

type optOccurrence struct {
	name string
	idx  []int // indices into args
}

// tokensFor returns the user's own option tokens (in argv order) for the options
// keep accepts: how a step passes on only the flags that mean the same to it.
func (a *npmArgv) tokensFor(keep func(name string) bool) []string {
	use := map[int]bool{}
	for _, o := range a.occurrences {
		if keep(o.name) {
			for _, i := range o.idx {
				use[i] = true
			}
		}
	}
	var out []string
	for i, t := range a.args {
		if use[i] {
			out = append(out, t)
		}
	}
	return out
}

func (a *npmArgv) last(name string) (string, bool) {
	v := a.opts[name]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

func (a *npmArgv) isTrue(name string) bool {
	v, ok := a.last(name)
	return ok && v != "false" && v != "null" && v != ""
}

func (a *npmArgv) isFalse(name string) bool {
	v, ok := a.last(name)
	return ok && (v == "false" || v == "null")
}

// parseNpmArgv follows nopt's parse loop: "--" ends options; "--k=v"; shorthands,
// glued single-letter shorthands and abbreviated shorthands; "no-" prefixes;
// unique-prefix abbreviations of long options; unknown options are boolean.
// noptSpec is one tool's option table for the nopt-style parse below (npm and pnpm
// both parse with nopt).
type noptSpec struct {
	options    map[string]int
	names      []string // sorted option names, for abbreviations
	shorthands map[string][]string
	shortNames []string
	// escape words end option parsing when met as a positional (pnpm's escapeArgs:
	// everything after "pnpm exec" belongs to the command).
	escape map[string]bool
}

func newNoptSpec(options map[string]int, shorthands map[string][]string, escape ...string) *noptSpec {
	s := &noptSpec{options: options, names: sortedKeys(options), shorthands: shorthands, shortNames: sortedKeys(shorthands), escape: map[string]bool{}}
	for _, e := range escape {
		s.escape[e] = true
	}
	return s
}

var npmSpec = sync.OnceValue(func() *noptSpec { return newNoptSpec(npmOptions, npmShorthands) })

func parseNpmArgv(args []string) *npmArgv { return npmSpec().parse(args) }

func (s *noptSpec) parse(args []string) *npmArgv {
	out := &npmArgv{opts: map[string][]string{}, afterDashes: -1, args: args}
	toks := append([]string(nil), args...)
	// origin maps each token to its index in args (-1: made by a shorthand), so that
	// optTokens can be the user's own spelling of the options.
	origin := make([]int, len(args))
	for i := range origin {
		origin[i] = i
	}
	positional := make([]bool, len(args))
	for i := 0; i < len(toks); i++ {
		arg := toks[i]
		if len(arg) >= 2 && strings.Trim(arg, "-") == "" {
			out.afterDashes = len(out.positionals)
			out.positionals = append(out.positionals, toks[i+1:]...)
			for j := i; j < len(toks); j++ {
				if origin[j] >= 0 {
					positional[origin[j]] = true
				}
			}
			break
		}
		if s.escape[arg] {
			out.afterDashes = len(out.positionals) + 1
			out.positionals = append(out.positionals, toks[i:]...)
			for j := i; j < len(toks); j++ {
				if origin[j] >= 0 {
					positional[origin[j]] = true
				}
			}
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			out.positionals = append(out.positionals, arg)
			if origin[i] >= 0 {
				positional[origin[i]] = true
			}
			continue
		}
		hadEq := false
		if k, v, ok := strings.Cut(arg, "="); ok {
			hadEq = true
			arg = k
			toks = splice(toks, i, 1, k, v)
			origin = spliceInts(origin, i, 1, origin[i], origin[i])
		}
		if exp := s.resolveShort(arg); exp != nil {
			toks = splice(toks, i, 1, exp...)
			orig := make([]int, len(exp))
			for j := range orig {
				orig[j] = -1
			}
			orig[0] = origin[i]
			origin = spliceInts(origin, i, 1, orig...)
			if arg != exp[0] {
				i--
				continue
			}
		}
		name := strings.TrimLeft(arg, "-")
		no := 0 // how many "no-" prefixes: an odd count negates
		for len(name) >= 3 && strings.EqualFold(name[:3], "no-") {
			no++
			name = name[3:]
		}
		if full, ok := uniquePrefix(name, s.names); ok {
			name = full
		}
		kind, known := s.options[name]
		occ := optOccurrence{name: name}
		if origin[i] >= 0 {
			occ.idx = append(occ.idx, origin[i])
		}
		consume := func() {
			if origin[i+1] >= 0 {
				occ.idx = append(occ.idx, origin[i+1])
			}
			i++
		}
		var la string
		hasLa := i+1 < len(toks)
		if hasLa {
			la = toks[i+1]
		}
		isBool := no > 0 || (known && kind == optBool) || (!known && !hadEq)
		if isBool || (known && (kind == optBoolOrString || kind == optColor)) {
			val := "true"
			if no%2 == 1 {
				val = "false"
			}
			switch {
			case hasLa && (la == "true" || la == "false"):
				val = la
				if no%2 == 1 {
					val = map[string]string{"true": "false", "false": "true"}[la]
				}
				consume()
			case hasLa && known && kind == optColor && la == "always":
				val = la
				consume()
			case hasLa && known && kind == optBoolOrString && no == 0 && !(len(la) > 1 && la[0] == '-' && la[1] != '-'):
				val = la
				consume()
			}
			out.opts[name] = append(out.opts[name], val)
			out.occurrences = append(out.occurrences, occ)
			continue
		}
		// A value option takes the next argument. "--" is never a value: it stays to
		// end the options. A string option followed by another option gets "" (nopt).
		val := ""
		if hasLa && !(len(la) >= 2 && strings.Trim(la, "-") == "") && !(len(la) > 1 && la[0] == '-') {
			val = la
			consume()
		}
		out.opts[name] = append(out.opts[name], val)
		out.occurrences = append(out.occurrences, occ)
	}
	for i, a := range args {
		if !positional[i] {
			out.optTokens = append(out.optTokens, a)
		}
	}
	return out
}

func spliceInts(s []int, i, n int, repl ...int) []int {
	out := make([]int, 0, len(s)-n+len(repl))
	out = append(out, s[:i]...)
	out = append(out, repl...)
	return append(out, s[i+n:]...)
}

// resolveShort mirrors nopt's resolveShort: the expansion of a shorthand, or nil.
func (s *noptSpec) resolveShort(arg string) []string {
	a := strings.TrimLeft(arg, "-")
	if a == "" {
		return nil
	}
	if full, ok := uniquePrefix(a, s.names); ok && full == a {
		return nil
	}
	if exp, ok := s.shorthands[a]; ok {
		return exp
	}
	// Glued single-letter shorthands ("-gD"), only when every letter is one.
	var glued []string
	all := true
	for _, r := range a {
		exp, ok := s.shorthands[string(r)]
		if !ok {
			all = false
			break
		}
		glued = append(glued, exp...)
	}
	if all {
		return glued
	}
	if _, ok := uniquePrefix(a, s.names); ok {
		return nil
	}
	if full, ok := uniquePrefix(a, s.shortNames); ok {
		return s.shorthands[full]
	}
	return nil
}

func splice(s []string, i, n int, repl ...string) []string {
	out := make([]string, 0, len(s)-n+len(repl))
	out = append(out, s[:i]...)
	out = append(out, repl...)
	return append(out, s[i+n:]...)
}
