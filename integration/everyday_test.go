package integration

// Everyday workflows (issue 11): a package manager installed as a project tool is
// not a way around the checks; the managers' own environment switches reach the
// install scripts (credentials never); a passing install says which advisories it
// let through; the advice for a script that needs the network names the server;
// npm's loose version strings are matched.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fakeProjectManagers puts yarn and pnpm into the project's node_modules/.bin, as
// `npm install -D yarn pnpm` would: run on the host they append to the returned
// marker file.
func fakeProjectManagers(t *testing.T, b *pmBox) (marker string) {
	t.Helper()
	marker = filepath.Join(b.Project, "HOST-RAN")
	for _, bin := range []string{"yarn", "pnpm"} {
		writeFile(t, filepath.Join(b.Project, "node_modules", ".bin", bin), "#!/bin/sh\necho \"$0 $*\" >> '"+marker+"'\n", 0o755)
	}
	writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"app","version":"1.0.0","private":true}`+"\n", 0o644)
	chownTree(t, b.Mode, b.Project)
	return marker
}

func installedVersion(t *testing.T, dir, pkg string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json"))
	if err != nil {
		return ""
	}
	var pj struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(data, &pj)
	return pj.Version
}

// `npx yarn add` with yarn installed in the project ran that yarn on the host and
// installed a version phylum-box blocks. Now npx, npm exec and pnpm exec of a
// package manager are planned as `phylum-box yarn …`: the blocked version is
// blocked, the project's yarn never runs; a pinned release is refused with the
// command to run; the same command with a clean version installs.
func TestEverydayNpxManagerIntercepted(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"npm", "yarn", "pnpm"} {
		requireTool(t, tool)
	}
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		marker := fakeProjectManagers(t, b)
		before := projectState(t, b.Project)
		for _, argv := range [][]string{
			{"npx", "yarn", "add", "lodash@4.17.11"},
			{"npm", "exec", "yarn", "--", "add", "lodash@4.17.11"},
			{"pnpm", "exec", "yarn", "add", "lodash@4.17.11"},
			{"yarn", "exec", "pnpm", "add", "lodash@4.17.11"},
		} {
			r := b.tool("", argv[0], argv[1:]...)
			wantCode(t, r, 3, strings.Join(argv, " ")+": the blocked version")
			wantStderr(t, r, "lodash")
			if data, err := os.ReadFile(marker); err == nil {
				t.Fatalf("%s ran the project's own manager on the host: %s\n%s", strings.Join(argv, " "), data, r)
			}
			assertSameTree(t, before, projectState(t, b.Project), strings.Join(argv, " ")+" (blocked)")
		}

		r := b.tool("", "npx", "yarn@1.22.19", "add", "lodash@4.17.21")
		wantCode(t, r, 2, "a pinned release of the manager")
		wantStderr(t, r, "phylum-box yarn add lodash@4.17.21")
		assertSameTree(t, before, projectState(t, b.Project), "a refused npx yarn@1.22.19")

		// The legitimate twin: the same command installs, protected.
		r = b.tool("", "npx", "yarn", "add", "lodash@4.17.21")
		wantCode(t, r, 0, "npx yarn add lodash@4.17.21")
		if v := installedVersion(t, b.Project, "lodash"); v != "4.17.21" {
			t.Errorf("node_modules/lodash is %q, want 4.17.21\n%s", v, r)
		}
		if !pathExists(filepath.Join(b.Project, "yarn.lock")) {
			t.Errorf("no yarn.lock: yarn did not run as phylum-box yarn\n%s", r)
		}
		if data, err := os.ReadFile(marker); err == nil {
			t.Errorf("the project's own yarn ran on the host: %s", data)
		}
	})
}

type envSeen map[string]*string

func readEnvSeen(t *testing.T, b *pmBox) envSeen {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.Project, "node_modules", "pbox-env-print", "env-seen.json"))
	if err != nil {
		t.Fatalf("the install script's record: %v", err)
	}
	var s envSeen
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("env-seen.json: %v\n%s", err, data)
	}
	return s
}

func (s envSeen) want(t *testing.T, why string, want map[string]string) {
	t.Helper()
	for k, w := range want {
		got := "<unset>"
		if v := s[k]; v != nil {
			got = *v
		}
		if got != w {
			t.Errorf("%s: the install script saw %s=%s, want %s", why, k, got, w)
		}
	}
}

// PUPPETEER_SKIP_DOWNLOAD-style switches reach the install script with nothing to
// configure; another variable only when named (--keep-env, keep_env in the
// config); a credential never, and naming one is refused.
func TestEverydayInstallScriptEnv(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		tgz := packFixture(t, b, "env-print", nil)
		b.Env = append(b.Env, "PUPPETEER_SKIP_DOWNLOAD=1", "CYPRESS_INSTALL_BINARY=0", "PBOX_IT_FLAG=on",
			"PBOX_IT_SECRET_TOKEN=sekrit1", "AWS_SECRET_ACCESS_KEY=sekrit2", "PBOX_IT_UNNAMED=x")

		before := projectState(t, b.Project)
		r := b.tool("", "--keep-env", "PBOX_IT_SECRET_TOKEN", "npm", "install", tgz)
		wantCode(t, r, 2, "--keep-env naming a credential")
		wantStderr(t, r, "--keep-env PBOX_IT_SECRET_TOKEN", "credential")
		assertSameTree(t, before, projectState(t, b.Project), "a refused --keep-env")

		r = b.tool("", "--keep-env", "PBOX_IT_FLAG", "npm", "install", tgz)
		wantCode(t, r, 0, "npm install with --keep-env PBOX_IT_FLAG")
		readEnvSeen(t, b).want(t, "--keep-env PBOX_IT_FLAG", map[string]string{
			"PUPPETEER_SKIP_DOWNLOAD": "1", "CYPRESS_INSTALL_BINARY": "0", "PBOX_IT_FLAG": "on",
			"PBOX_IT_SECRET_TOKEN": "<unset>", "AWS_SECRET_ACCESS_KEY": "<unset>", "PBOX_IT_UNNAMED": "<unset>",
		})

		// Not named: not passed (the built-in switches still are).
		r = b.tool("", "npm", "rebuild", "pbox-env-print")
		wantCode(t, r, 0, "npm rebuild without --keep-env")
		readEnvSeen(t, b).want(t, "no --keep-env", map[string]string{"PUPPETEER_SKIP_DOWNLOAD": "1", "PBOX_IT_FLAG": "<unset>"})

		// keep_env in the user's config does what --keep-env does; a credential
		// there is left out with a warning.
		cfg := filepath.Join(b.Home, ".config", "phylum-box", "config.yaml")
		writeFile(t, cfg, "keep_env: [PBOX_IT_FLAG, AWS_SECRET_ACCESS_KEY]\n", 0o644)
		chownTree(t, m, filepath.Join(b.Home, ".config"))
		r = b.tool("", "npm", "rebuild", "pbox-env-print")
		wantCode(t, r, 0, "npm rebuild with keep_env in the config")
		wantStderr(t, r, "not passing AWS_SECRET_ACCESS_KEY")
		readEnvSeen(t, b).want(t, "keep_env", map[string]string{"PBOX_IT_FLAG": "on", "AWS_SECRET_ACCESS_KEY": "<unset>"})
	})
}

// A passing install ends with the advisories it let through (semver 7.5.1 has a
// moderate one), also in the JSON report; a blocked install has its own report and
// no such summary.
func TestEverydayFindingsSummary(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		rep := b.reportPath("summary.json")
		r := b.tool(rep, "npm", "install", "semver@7.5.1")
		wantCode(t, r, 0, "npm install semver@7.5.1")
		wantStderr(t, r, "did not block", "GHSA-c2qf-rxjj-qqgw  medium  semver@7.5.1  semver vulnerable to Regular Expression Denial of Service")
		data, err := os.ReadFile(rep)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			NotBlocking []struct {
				ID, Package, Severity string
			} `json:"findings_not_blocking"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.NotBlocking) != 1 || doc.NotBlocking[0].ID != "GHSA-c2qf-rxjj-qqgw" || doc.NotBlocking[0].Package != "semver@7.5.1" || doc.NotBlocking[0].Severity != "medium" {
			t.Errorf("findings_not_blocking = %+v", doc.NotBlocking)
		}

		r = b.tool("", "npm", "install", "lodash@4.17.11")
		wantCode(t, r, 3, "the blocked twin")
		if strings.Contains(r.Stderr, "did not block") {
			t.Errorf("a blocked install printed the not-blocking summary:\n%s", r)
		}
	})
}

var completeLogRE = regexp.MustCompile(`complete log of this run can be found in:\s*(\S+)`)

// A build script that fails for want of the network: the advice names the server
// it tried (not HOST:443), its output is printed once, and the complete log npm
// names is a file on the host. The twin without a download installs, leaving no
// log behind.
func TestEverydayNetworkAdviceNamesHost(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		containmentOnly(t, m, b.Home) // the sandbox alone: a hostile fixture
		url := "http://downloads.pbox-it.example/chrome.zip"
		tgz := packFixture(t, b, "net-pkg", map[string]any{"urls": []string{url}})
		r := b.tool("", "npm", "install", tgz)
		if r.Code == 0 || r.Code == 3 {
			t.Fatalf("a downloading install script: want the build's failure, got\n%s", r)
		}
		wantStderr(t, r, "it tried to reach downloads.pbox-it.example:80",
			`script_network: [{package: "pbox-net-pkg", hosts: ["downloads.pbox-it.example:80"]}]`)
		if strings.Contains(r.Stderr, "HOST:443") {
			t.Errorf("the advice still has the placeholder:\n%s", r)
		}
		if n := strings.Count(r.Stderr, "downloading "+url+" failed"); n != 1 {
			t.Errorf("the script's failure printed %d times, want once:\n%s", n, r)
		}
		logs := completeLogRE.FindAllStringSubmatch(r.Stderr, -1)
		if len(logs) == 0 {
			t.Fatalf("npm named no complete log:\n%s", r)
		}
		for _, l := range logs {
			if !strings.HasPrefix(l[1], filepath.Join(b.Home, ".cache", "phylum-box", "logs")+"/") || !pathExists(l[1]) {
				t.Errorf("npm's complete log %s is not a file on the host under ~/.cache/phylum-box/logs", l[1])
			}
		}
		wantStderr(t, r, "npm's complete log: "+logs[len(logs)-1][1])

		// The twin: a script that downloads nothing installs; no log is kept.
		b2 := newPMBox(t, m)
		containmentOnly(t, m, b2.Home) // the sandbox alone: a hostile fixture
		tgz = packFixture(t, b2, "net-pkg", map[string]any{"urls": []string{}})
		r = b2.tool("", "npm", "install", tgz)
		wantCode(t, r, 0, "the install script that downloads nothing")
		if ents, _ := os.ReadDir(filepath.Join(b2.Home, ".cache", "phylum-box", "logs")); len(ents) != 0 {
			t.Errorf("a successful install left %d log dir(s)", len(ents))
		}
	})
}

// npm reads "v4.17.11" and "=4.17.11" in a lockfile as 4.17.11: check blocks them
// like the plain version; the v-prefixed fixed version passes.
func TestEverydayLooseLockfileVersions(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		lock := func(v string) {
			writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"app","version":"1.0.0","dependencies":{"lodash":"^4.17.0"}}`+"\n", 0o644)
			writeFile(t, filepath.Join(b.Project, "package-lock.json"), `{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","version":"1.0.0","dependencies":{"lodash":"^4.17.0"}},"node_modules/lodash":{"version":"`+v+`","resolved":"https://registry.npmjs.org/lodash/-/lodash-`+strings.TrimLeft(v, "v=")+`.tgz"}}}`+"\n", 0o644)
			chownTree(t, m, b.Project)
		}
		check := func() result {
			return invocation{Mode: m, Args: []string{"check", b.Project}, Dir: b.Project, Home: b.Home,
				Env: []string{"PHYLUM_BOX_DB=" + b.DB}}.exec(t)
		}
		for _, v := range []string{"4.17.11", "v4.17.11", "=4.17.11"} {
			lock(v)
			r := check()
			wantCode(t, r, 3, "lodash "+v)
			if !strings.Contains(r.Stdout+r.Stderr, "GHSA-jf85-cpcp-j695") {
				t.Errorf("lodash %s: the advisory is not named:\n%s", v, r)
			}
		}
		lock("v4.17.21")
		wantCode(t, check(), 0, "lodash v4.17.21")
	})
}
