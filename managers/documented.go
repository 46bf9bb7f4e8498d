package managers

import (
	"sort"
	"strings"
)

// Documented is implemented by managers that describe their command lines for the
// reference pages (docs/reference/<manager>.md): which are intercepted, which are
// refused and what passes through. Doc is built from the tables Plan reads, and
// TestManagerDocsMatchPlan runs every documented form through Plan.
type Documented interface {
	Doc() ManagerDoc
}

// ManagerDoc is what a manager's reference page says about its command lines.
type ManagerDoc struct {
	// Intercepted are the subcommands planned in the steps (resolve, precheck,
	// download, build, and run for scratch plans).
	Intercepted []DocCommand
	// Refused are command lines Plan answers with a *Refusal.
	Refused []DocRefusal
	// PassThrough are examples of command lines (argv after the tool name, separated
	// by spaces) that run the real tool unchanged; everything not intercepted does.
	PassThrough []string
	// Notes are short facts that are not one command: conditions on the project,
	// how the subcommand is found.
	Notes []string
}

// DocCommand is one intercepted subcommand.
type DocCommand struct {
	Name    string   // as typed; "" for the bare tool (`yarn`, `npx PKG`)
	Aliases []string // other spellings Plan accepts for it
	Args    []string // arguments it needs to be intercepted ("fix" for npm audit); placeholders in capitals
	How     string   // what phylum-box does with it
	Variant string   // the flavour it applies to (yarn's "classic", "berry"); "" for all
}

// DocRefusal is one refused form.
type DocRefusal struct {
	Form    string   // the form, for the reader
	Example []string // a command line (after the tool name) Plan refuses
	Advice  string   // what to do instead, from the refusal Plan returns
	Variant string
}

// What intercepted commands go through, in the words of the reference pages.
const (
	docInstall = "resolved, prechecked, then downloaded and built in the sandbox"
	// docNpmInstall: npm fetches registry-only changes in its resolve run (scripts
	// off) and prechecks what that run left before anything is built or synced.
	docNpmInstall = "resolved and fetched with scripts off, prechecked (lockfile and installed tree), then built in the sandbox; a git, file or tarball dependency, overrides, bundled dependencies or workspaces keep resolve, precheck, then download"
	docScratch    = "write-back run: installed into an empty project, prechecked, built, then run in the sandbox with the network off and no terminal input; what it writes to the project is synced back under the rules in the notes"
)

// docCreate is what `npm init NAME`, `yarn create NAME`, `pnpm create NAME` do.
func docCreate(name string) string { return "runs create-" + name + " as a " + docScratch }

// aliasesOf lists the keys of an alias table that name cmd, sorted.
func aliasesOf(aliases map[string]string, cmd string) []string {
	var out []string
	for a, c := range aliases {
		if c == cmd && a != cmd {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// docAlso appends "(also a, b)" to form when there are aliases.
func docAlso(form string, aliases []string) string {
	if len(aliases) == 0 {
		return form
	}
	return form + " (also " + strings.Join(aliases, ", ") + ")"
}
