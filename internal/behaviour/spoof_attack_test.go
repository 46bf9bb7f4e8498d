package behaviour

import (
	"strings"
	"testing"
)

// A package's script that names another package in its environment is still
// its own: the connect is evil's, not prisma's (a known downloader, a warning)
// nor that of a package the policy ignores.
func TestSpoofedLifecycleEnv(t *testing.T) {
	procs := fakeProcs{10: {parent: 1}, 20: {parent: 10}, 21: {parent: 20}}
	r := newTestRecorder("npm", procs)
	r.OnEvent(execEv(10, nil, "/p", "node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "rebuild"))
	r.OnEvent(execEv(20, nil, "/p/node_modules/evil", "sh", "-c", "npm_package_name=prisma node steal.js"))
	prisma := map[string]string{"npm_package_name": "prisma", "npm_package_version": "5.0.0"}
	r.OnEvent(execEv(21, evilEnv, "/p/node_modules/evil", "node", "steal.js"))
	ev := call(21, prisma, "connect", "198.51.100.7:443")
	ev.Cwd = "/"
	r.OnEvent(ev)
	got := summary(r.Findings())
	if !strings.Contains(got, "evil") || !strings.Contains(got, "PB-BEHAVIOUR-NETWORK high") || strings.Contains(got, "prisma") {
		t.Errorf("observations:\n%s", got)
	}
}

// A script's orphan (its parent gone, reparented to the step's first process)
// that runs a file named npm-cli.js is not the package manager.
func TestOrphanLookingLikeTheManager(t *testing.T) {
	npm := []string{"node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "rebuild"}
	procs := fakeProcs{10: {parent: 1, argv: npm}, 20: {parent: 10}, 21: {parent: 10, argv: []string{"sh", "-c", "(…) &"}}, 30: {parent: 10, argv: npm}}
	r := newTestRecorder("npm", procs)
	r.OnEvent(execEv(10, nil, "/p", npm...))
	r.OnEvent(execEv(20, nil, "/p/node_modules/evil", "sh", "hide.sh"))
	// 21: the subshell of `env -i sh -c '(…) &'`, its parent gone: now npm's child.
	r.OnEvent(execEv(21, map[string]string{"PATH": "/usr/bin"}, "/", "node", "/p/node_modules/evil/npm-cli.js"))
	r.OnEvent(call(21, nil, "connect", "203.0.113.9:443"))
	got := summary(r.Findings())
	if strings.Contains(got, "(manager)") || !strings.Contains(got, "PB-BEHAVIOUR-NETWORK high") {
		t.Errorf("observations:\n%s", got)
	}
	// The twin: npm's own fork starting npm again is npm.
	r = newTestRecorder("npm", procs)
	r.OnEvent(execEv(10, nil, "/p", npm...))
	r.OnEvent(execEv(30, nil, "/p", npm...))
	r.OnEvent(call(30, nil, "connect", "203.0.113.9:443"))
	if got := summary(r.Findings()); !strings.Contains(got, "(manager)") {
		t.Errorf("npm's own fork:\n%s", got)
	}
}
