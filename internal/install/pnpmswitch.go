package install

import "slices"

// pnpmNoSwitchFlag turns off pnpm's switch to the release a project names. pnpm 10
// has manage-package-manager-versions on by default: a package.json
// "packageManager": "pnpm@X" that is not the running pnpm makes it download pnpm X
// and run it instead — in the resolve and download steps, with the network and
// the user's credentials, a release the project picks (an old one with known
// script bugs included), which could also write pnpm's code cache (nodecc.go).
// The project's .npmrc and pnpm-workspace.yaml can turn the switch on, and they
// outrank the environment: only the command line outranks them. Every pnpm step
// runs the user's own pnpm; the plan tells the user when the project asked for
// another (managers.pnpmSwitchNotice).
const pnpmNoSwitchFlag = "--config.manage-package-manager-versions=false"

// pnpmNoSwitch returns the argv a pnpm plan's step runs: the flag right after the
// word pnpm — the step's first word, or the first after a shell wrapper's script
// ("sh -c SCRIPT sh pnpm …", the pnpmfile hooks) — and nil for any other argv.
func pnpmNoSwitch(manager string, args []string) []string {
	if manager != "pnpm" {
		return nil
	}
	i := pnpmAt(args)
	if i < 0 {
		return nil
	}
	return slices.Concat(args[:i+1], []string{pnpmNoSwitchFlag}, args[i+1:])
}

// pnpmAt is the index of the word pnpm a pnpm step's argv runs: its first word,
// or the first "pnpm" after a shell wrapper's script and its $0 (the pnpmfile's
// link script, the relinking of shims after a build); -1 for any other argv.
func pnpmAt(args []string) int {
	switch {
	case len(args) > 0 && args[0] == "pnpm":
		return 0
	case len(args) > 4 && args[0] == "sh" && args[1] == "-c":
		if j := slices.Index(args[4:], "pnpm"); j >= 0 {
			return 4 + j
		}
	}
	return -1
}
