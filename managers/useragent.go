package managers

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The user agent a starter kit reads (found trying phylum-box as a new user):
// bare `pnpm create vite` and `yarn create vite` run the kit with
// npm_config_user_agent naming pnpm or yarn ("pnpm/10.34.9 npm/? node/v20.20.2
// linux x64"), and kits choose by it which manager their instructions name and,
// for some (create-next-app), which one installs the new project's dependencies.
// The run step of a scratch plan runs the kit itself, not through the manager, so
// without this create-vite told a pnpm user to run `npm install`. The value is made
// the way each manager makes it, from the host's tools: the manager's release
// from its installation's package.json (hostToolRelease) and node's from the
// headers the build uses; an install the kit starts is still skipped in the run
// (writeback_dirs.go's shims), whichever manager it names.

// userAgentPackages are the package names each manager's installation may have.
var userAgentPackages = map[string][]string{
	"npm": {"npm"}, "pnpm": {"pnpm", "@pnpm/exe"}, "yarn": {"yarn", "@yarnpkg/cli-dist", "@yarnpkg/cli"},
}

// userAgentEnv is the run step's npm_config_user_agent for manager ("npm",
// "pnpm" or "yarn").
func userAgentEnv(env Env, root, manager, nodedir string) []string {
	release := hostToolRelease(env, root, manager, userAgentPackages[manager]...)
	ua := manager
	if release != "" {
		ua += "/" + release
	}
	if manager != "npm" {
		ua += " npm/?"
	}
	if v := nodeRelease(nodedir); v != "" {
		ua += " node/v" + v
	}
	ua += " " + runtime.GOOS + " " + nodeArch()
	if manager == "npm" {
		ua += " workspaces/false"
	}
	return []string{"npm_config_user_agent=" + ua}
}

// nodeRelease is the version of the node whose headers are at nodedir
// ("20.20.2"), "" when unknown.
func nodeRelease(nodedir string) string {
	v := nodeVersionDefines(nodedir)
	if v["NODE_MAJOR_VERSION"] == "" || v["NODE_MINOR_VERSION"] == "" || v["NODE_PATCH_VERSION"] == "" {
		return ""
	}
	return v["NODE_MAJOR_VERSION"] + "." + v["NODE_MINOR_VERSION"] + "." + v["NODE_PATCH_VERSION"]
}

// nodeVersionDefines reads node_version.h of the headers at nodedir: its
// numeric NODE_*_VERSION macros (NODE_MAJOR_VERSION, NODE_MODULE_VERSION, …).
func nodeVersionDefines(nodedir string) map[string]string {
	v := map[string]string{}
	if nodedir == "" {
		return v
	}
	data, err := os.ReadFile(filepath.Join(nodedir, "include", "node", "node_version.h"))
	if err != nil {
		return v
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "#define" && strings.HasPrefix(f[1], "NODE_") && strings.HasSuffix(f[1], "_VERSION") && f[2] != "" && strings.Trim(f[2], "0123456789") == "" && v[f[1]] == "" {
			v[f[1]] = f[2] // the first numeric definition (the header also defines some from others)
		}
	}
	return v
}
