package managers

// Which yarn the user has, found without running it (detection must not start a
// process with project input on the host), and which yarn runs each step of a berry
// plan.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// yarnInstall is the yarn the user's PATH resolves to, described from its files.
type yarnInstall struct {
	bin      string // as found in PATH
	version  string // from the package.json of its installation; "" when unknown
	corepack bool   // corepack's shim: the version comes from packageManager
}

// berry reports whether the installed yarn is yarn 2 or later.
func (y yarnInstall) berry() bool {
	return y.version != "" && !strings.HasPrefix(y.version, "0.") && !strings.HasPrefix(y.version, "1.")
}

// findYarnInstall reads the version of the yarn in env's PATH from the package.json
// of the package its binary belongs to (/usr/lib/node_modules/yarn/package.json for
// /usr/bin/yarn → ../lib/node_modules/yarn/bin/yarn.js). Nothing is executed: running
// `yarn --version` would follow the project's yarn-path (yarn classic) or yarnPath,
// and corepack's packageManager download — project input, on the host.
func findYarnInstall(env Env) (yarnInstall, error) {
	bin, err := env.LookPath("yarn")
	if err != nil {
		return yarnInstall{}, err
	}
	real, err := filepath.EvalSymlinks(bin)
	if err != nil {
		real = bin
	}
	switch name, version := binPackage(real, "yarn", "@yarnpkg/cli-dist", "@yarnpkg/cli", "corepack"); name { // pnpmproject.go
	case "corepack":
		return yarnInstall{bin: bin, corepack: true}, nil
	case "":
		return yarnInstall{bin: bin}, nil
	default:
		return yarnInstall{bin: bin, version: version}, nil
	}
}

// trustedBerryEnv names a yarn berry release (a yarn.js / .cjs file) the user trusts,
// for the networked steps of berry projects when the yarn in PATH is yarn classic.
const trustedBerryEnv = "PHYLUM_BOX_YARN_BERRY"

// berryRunner is how each step of a berry plan starts yarn.
type berryRunner struct {
	net       []string // resolve, download: the user's yarn, never the project's release
	build     []string // build, run: may be the project's release (no network)
	hostPaths []string
	note      string
}

// newBerryRunner picks the yarn the networked steps run: the user's yarn when it is
// berry (or corepack, which runs an official release of the packageManager version),
// else the release PHYLUM_BOX_YARN_BERRY names. A berry project with only yarn
// classic in PATH would run the project's committed release with the network and
// the user's registry credentials (classic follows yarnPath): refused.
func newBerryRunner(env Env, rc *yarnProjectRC) (*berryRunner, error) {
	inst, err := findYarnInstall(env)
	if err == nil && (inst.berry() || inst.corepack) {
		return &berryRunner{net: []string{"yarn"}, build: []string{"yarn"}}, nil
	}
	if rel := env.Getenv(trustedBerryEnv); rel != "" {
		p, err := filepath.Abs(rel)
		if err != nil {
			return nil, err
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return nil, &Refusal{Manager: "yarn", Reason: fmt.Sprintf("%s=%s is not a yarn release file", trustedBerryEnv, rel),
				Advice: "point it at a yarn berry release (the bin/yarn.js of @yarnpkg/cli-dist)"}
		}
		r := &berryRunner{net: []string{"node", p}, build: []string{"node", p}, hostPaths: []string{filepath.Dir(p)},
			note: "the networked steps run the yarn berry release " + p + " (" + trustedBerryEnv + ")"}
		if rc != nil && rc.yarnPath != "" {
			// The global yarn (classic) follows yarnPath to the project's release in
			// the build step, which has no network.
			r.build = []string{"yarn"}
		}
		return r, nil
	}
	have := "no yarn"
	if err == nil {
		have = "yarn " + firstNonEmpty(inst.version, "of unknown version") + " (" + inst.bin + ")"
	}
	reason := "this is a yarn berry project and the yarn in your PATH is " + have
	if rc != nil && rc.yarnPath != "" {
		reason += fmt.Sprintf("; running the project's committed release (%s:%d yarnPath %s) would give project code the network and your registry credentials",
			rc.path, rc.yarnPathLine, rc.yarnPath)
	}
	return nil, &Refusal{Manager: "yarn", Reason: reason,
		Advice: "install yarn berry for yourself (`corepack enable`, or `npm install -g @yarnpkg/cli-dist`), or set " + trustedBerryEnv + " to a yarn berry release you trust (bin/yarn.js of @yarnpkg/cli-dist); the project's release then runs only in the build step, with the network off"}
}
