package managers

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// A project's pnpmfile is code that takes part in resolution (readPackage can add a
// dependency). pnpm would run it in the resolve and download steps, with the network
// and the user's token; phylum-box runs those with --ignore-pnpmfile and applies the
// hooks in a step of their own (Plan.Steps.Hooks) with no network and no credentials:
//
//	resolve  (network)  pnpm add x --lockfile-only --ignore-pnpmfile   caches metadata
//	hooks    (offline)  pnpm install --lockfile-only --offline         runs the hooks
//	fetch    (network)  pnpm store add SPEC…                           what they asked for
//	hooks …             again, until the lockfile is written
//	download (network)  pnpm fetch --ignore-pnpmfile                   into the store
//	build    (offline)  pnpm install --offline --frozen-lockfile, then pnpm rebuild
//
// Measured with pnpm 10.34: the offline pass fails with ERR_PNPM_NO_OFFLINE_META
// ("Failed to resolve is-odd@3.0.1 in package mirror …") for a package the hooks add;
// `pnpm store add` caches its metadata; a frozen install without the hooks refuses
// the hooked lockfile (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH on pnpmfileChecksum, then
// ERR_PNPM_OUTDATED_LOCKFILE on the importers), pnpm fetch does not read manifests.

// pnpmHookMarker prefixes the lines the hooks step prints for phylum-box.
const pnpmHookMarker = "PHYLUM-BOX-HOOKS"

// pnpmHooksScript runs "$@" (the offline pnpm), shows its output on stderr and
// reports on stdout the specs it could not resolve offline and its exit status.
const pnpmHooksScript = `out=$(mktemp) || exit 1; "$@" >"$out" 2>&1; rc=$?; cat "$out" >&2; ` +
	`if [ "$rc" != 0 ]; then sed -n 's/.*Failed to resolve \(.*\) in package mirror.*/` + pnpmHookMarker + ` missing \1/p' "$out"; ` +
	`echo "` + pnpmHookMarker + ` exit $rc"; fi; exit 0`

// pnpmLinkScript installs node_modules from the store with the hooks, offline, then
// runs "$@" (the build's rebuild, with the names the orchestration appends).
// (Never a switch to the release the project names: internal/install/pnpmswitch.go
// puts the same flag into every pnpm argv.)
const pnpmLinkScript = `pnpm install --offline --frozen-lockfile --ignore-scripts --package-import-method=copy ` +
	`--config.side-effects-cache=false --config.manage-package-manager-versions=false "$1" && shift && exec "$@"`

// pnpmSpecRE is a registry package spec as pnpm prints it: name@range, no URL.
// The range may hold spaces (">=6.0.0 <7.0.0-0"); it stays one argument.
var pnpmSpecRE = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*@[A-Za-z0-9.^~<>=|*+_ -]*$`)

// pnpmHooks plans the offline hooks loop for a project with a pnpmfile.
func pnpmHooks(p *Plan, hook string, portable, storeFlags []string) {
	offline := concat([]string{"pnpm", "install"}, portable, []string{"--lockfile-only", "--offline", "--config.ignore-scripts=true"}, storeFlags)
	p.Steps.Hooks = &Step{Args: concat([]string{"sh", "-c", pnpmHooksScript, "sh"}, offline)}
	p.Steps.Hooked = pnpmHooked
	p.Steps.HooksFetch = func(missing []string) *Step {
		// store add loads the pnpmfile like any command unless told not to
		// (measured: without it the hook ran here, with the network).
		return &Step{Args: concat([]string{"pnpm", "store", "add"}, missing, storeFlags, []string{"--config.ignore-pnpmfile=true"}), Network: true, Credentials: true}
	}
	// A frozen install without the hooks refuses the hooked lockfile (its
	// importers list what readPackage added, the manifest does not): the download
	// fetches the lockfile's packages into the store only, and the build step links
	// them with the hooks, offline, before it runs the scripts.
	p.Steps.Download = &Step{Args: concat([]string{"pnpm", "fetch", "--ignore-pnpmfile", "--config.ignore-scripts=true"}, storeFlags), Network: true, Credentials: true}
	p.Steps.Build.Args = concat([]string{"sh", "-c", pnpmLinkScript, "sh", storeFlags[0]}, p.Steps.Build.Args)
	p.Notes = append(p.Notes, "pnpm: the project's pnpmfile ("+hook+") runs only without network and credentials: after resolving "+
		"(--ignore-pnpmfile), to write the lockfile, and in the build step, which links node_modules from the store; the download only fetches into the store")
}

// pnpmHooked reads the hooks step's report: the specs to fetch, or why it failed.
// The hooks themselves may print anything there; a spec is only ever fetched from
// the configured registries by a step that runs no project code.
func pnpmHooked(stdout []byte) ([]string, error) {
	var missing []string
	seen := map[string]bool{}
	exit := ""
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), pnpmHookMarker+" ")
		if !ok {
			continue
		}
		kind, arg, _ := strings.Cut(rest, " ")
		switch arg = strings.TrimSpace(arg); kind {
		case "missing":
			if pnpmSpecRE.MatchString(arg) && !seen[arg] && len(missing) < 500 {
				seen[arg] = true
				missing = append(missing, arg)
			}
		case "exit":
			exit = arg
		}
	}
	if exit != "" && len(missing) == 0 {
		return nil, fmt.Errorf("pnpm failed (exit %s) applying the project's pnpmfile offline; its output is above", exit)
	}
	return missing, nil
}
