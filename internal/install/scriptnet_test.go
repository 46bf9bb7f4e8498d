package install

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/testutil"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
)

// scriptNetBuild is a build step shaped like `npm rebuild NAMES...`: for each
// package name it is given, it records which step ran it (net when the proxy
// variables are set) and tries the allowed URL and another one, writing what
// happened into the package's dir.
const scriptNetBuild = `
import os, sys, urllib.request
allowed, other = sys.argv[1], sys.argv[2]
kind = "net" if os.environ.get("HTTP_PROXY") else "main"
def fetch(url):
    try:
        return "OK " + urllib.request.urlopen(url, timeout=10).read().decode()
    except Exception as e:
        return "FAIL " + type(e).__name__
for name in sys.argv[3:]:
    d = os.path.join("node_modules", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "ran-" + kind), "w") as f:
        f.write("allowed=%s\nother=%s\nnpm_proxy=%s\noffline=%s\n" % (fetch(allowed), fetch(other),
            os.environ.get("npm_config_proxy", ""), os.environ.get("npm_config_offline", "")))
`

// scriptNetPlan is npmLikePlan with two more packages installed, netpkg and other,
// and a build step that takes package names.
func scriptNetPlan(proj, py, allowedURL, otherURL string) *managers.Plan {
	plan := npmLikePlan(proj)
	plan.Steps.Resolve.Args = sh(lockScript("package-lock.json", map[string]string{"netpkg": "1.0.0", "other": "2.0.0"}))
	plan.Steps.Download.Args = sh(`mkdir -p node_modules/left-pad node_modules/netpkg node_modules/other`)
	plan.Steps.Build = &managers.Step{
		Args:          []string{py, "-c", scriptNetBuild, allowedURL, otherURL},
		AppendChanged: true,
		Env:           []string{"npm_config_offline=true"},
	}
	return plan
}

// A package script_network names runs its script in a step of its own after the
// main build, reaching its allowed host:port through the proxy and nothing else;
// the main build leaves it out and has no network at all.
func TestInstallScriptNetwork(t *testing.T) {
	testutil.NeedRootContainers(t)
	const py = "/usr/bin/python3"
	if _, err := exec.LookPath(py); err != nil {
		t.Skip("needs /usr/bin/python3 (visible inside the sandbox)")
	}
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "prebuilt-binary") }))
	defer allowed.Close()
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1); fmt.Fprint(w, "loot") }))
	defer other.Close()
	allowedHP, otherHP := mustHost(t, allowed.URL), mustHost(t, other.URL)

	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
	plan := scriptNetPlan(proj, py, allowed.URL+"/bin", other.URL+"/loot")
	pol := policyFile(t, fmt.Sprintf("script_network:\n  - package: netpkg\n    hosts: [%q]\n", allowedHP))
	res := install(t, plan, openDB(t), pol, nil)
	if res.Code != exitcode.OK {
		t.Fatalf("Code = %d (%s), want 0", res.Code, res.Reason)
	}
	if got := fmt.Sprint(phases(res)); got != "[resolve download build build]" {
		t.Fatalf("steps = %s, want the main build and the script_network build", got)
	}
	mainStep, netStep := res.Steps[2], res.Steps[3]
	if mainStep.Network || len(mainStep.Egress) != 0 || slices.Contains(mainStep.Args, "netpkg") ||
		!slices.Contains(mainStep.Args, "other") || !slices.Contains(mainStep.Args, "left-pad") {
		t.Errorf("main build: %+v, want left-pad and other with no network", mainStep)
	}
	if netStep.Network || !slices.Equal(netStep.Egress, []string{allowedHP}) || !slices.Equal(netStep.Args[len(netStep.Args)-1:], []string{"netpkg"}) ||
		slices.Contains(netStep.Args, "other") {
		t.Errorf("network build: %+v, want netpkg only, egress %s", netStep, allowedHP)
	}
	if !slices.Contains(netStep.EgressRefused, otherHP) {
		t.Errorf("EgressRefused = %v, want %s", netStep.EgressRefused, otherHP)
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("a server outside script_network was reached %d time(s)", n)
	}
	ran := func(pkg, kind string) string {
		data, err := os.ReadFile(filepath.Join(proj, "node_modules", pkg, "ran-"+kind))
		if err != nil {
			return ""
		}
		return string(data)
	}
	if got := ran("netpkg", "net"); !strings.Contains(got, "allowed=OK prebuilt-binary") || !strings.Contains(got, "other=FAIL") ||
		!strings.Contains(got, "npm_proxy=http://127.0.0.1:") || !strings.Contains(got, "offline=\n") {
		t.Errorf("netpkg's script behind the proxy:\n%s", got)
	}
	if got := ran("netpkg", "main"); got != "" {
		t.Errorf("the main build ran netpkg's script:\n%s", got)
	}
	if got := ran("other", "main"); !strings.Contains(got, "allowed=FAIL") || !strings.Contains(got, "other=FAIL") || !strings.Contains(got, "offline=true") {
		t.Errorf("other's script without script_network:\n%s", got)
	}
	if got := ran("other", "net"); got != "" {
		t.Errorf("other's script ran behind the proxy:\n%s", got)
	}

	t.Run("build is the install", func(t *testing.T) {
		// pip/cargo/bundler-like: the listed package cannot be built apart.
		proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
		before := testutil.TreeHash(t, proj)
		plan := scriptNetPlan(proj, py, allowed.URL, other.URL)
		plan.Steps.Build.AppendChanged = false
		res := install(t, plan, openDB(t), pol, nil)
		if res.Code != exitcode.Blocked || !strings.Contains(res.Reason, "script_network names netpkg@1.0.0") {
			t.Fatalf("Code = %d (%s), want %d naming netpkg", res.Code, res.Reason, exitcode.Blocked)
		}
		if got := fmt.Sprint(phases(res)); got != "[resolve]" {
			t.Errorf("steps = %s, want nothing after the resolve", got)
		}
		assertUnchanged(t, proj, before)
	})
}

// buildSteps combines script_network with the scripts mode: allowlist intersects,
// none wins.
func TestBuildSteps(t *testing.T) {
	pkgs := []precheck.Package{
		{Ecosystem: precheck.NPM, Name: "left-pad", Version: "1.3.0"},
		{Ecosystem: precheck.NPM, Name: "netpkg", Version: "1.0.0"},
		{Ecosystem: precheck.NPM, Name: "dual", Version: "1.0.0"},
		{Ecosystem: precheck.NPM, Name: "dual", Version: "2.0.0"},
		{Ecosystem: precheck.NPM, Name: "local", Version: "0.1.0", Uncheckable: true},
	}
	const entries = `script_network:
  - {package: netpkg, hosts: ["a.example:443"]}
  - {package: netpkg@1.0.0, hosts: ["b.example:443", "a.example:443"]}
  - {package: dual@1.0.0, hosts: ["c.example:443"]}
  - {package: local, hosts: ["d.example:443"]}
`
	tests := []struct {
		name, policy string
		append       bool
		want         []string // each step: args after "rebuild", then "| egress" when set
		note         string
	}{
		{"no entries", "", true, []string{""}, ""},
		{"sandbox", entries, true, []string{"left-pad dual", "netpkg local | a.example:443 b.example:443 d.example:443"}, "dual@1.0.0 but not dual@2.0.0"},
		{"allowlist intersects", entries + "scripts: allowlist\nallow_scripts: [netpkg, left-pad, local]\n", true,
			[]string{"left-pad", "netpkg | a.example:443 b.example:443"}, "script_network for dual, local is not used: not in the policy's allow_scripts"},
		{"allowlist without the listed package", entries + "scripts: allowlist\nallow_scripts: [left-pad]\n", true,
			[]string{"left-pad"}, "script_network for netpkg, dual, local is not used"},
		{"only network packages", "script_network: [{package: left-pad, hosts: ['a.example:443']}]\nscripts: allowlist\nallow_scripts: [left-pad]\n", true,
			[]string{"left-pad | a.example:443"}, ""},
		{"none wins", entries + "scripts: none\n", true, nil, "scripts: none runs no install script"},
		{"cannot leave out", entries, false, nil, "cannot leave packages out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &managers.Step{Args: []string{"npm", "rebuild"}, Env: []string{"X=1", "npm_config_offline=true"}, AppendChanged: tt.append}
			r := &runner{o: Options{Plan: &managers.Plan{Steps: managers.Steps{Build: b}}, Engine: &precheck.Engine{Policy: policyFile(t, tt.policy)}}}
			steps, notes := r.buildSteps(b, pkgs)
			var got []string
			for _, s := range steps {
				d := strings.Join(s.Args[2:], " ")
				if len(s.Egress) > 0 {
					d += " | " + strings.Join(s.Egress, " ")
					if s.Network || slices.Contains(s.Env, "npm_config_offline=true") || !slices.Contains(s.Env, "X=1") {
						t.Errorf("network step: network %v, env %q", s.Network, s.Env)
					}
				} else if !slices.Equal(s.Env, b.Env) {
					t.Errorf("main step env %q", s.Env)
				}
				got = append(got, d)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("steps = %q, want %q", got, tt.want)
			}
			if !strings.Contains(strings.Join(notes, "\n"), tt.note) {
				t.Errorf("notes = %q, want %q", notes, tt.note)
			}
			if !slices.Equal(b.Args, []string{"npm", "rebuild"}) {
				t.Errorf("the plan's step was changed: %q", b.Args)
			}
		})
	}
}
