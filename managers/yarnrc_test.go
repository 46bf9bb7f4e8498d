package managers

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeYarnInstall lays out a yarn installation the way npm -g does
// (prefix/bin/yarn → prefix/lib/node_modules/NAME/bin/yarn.js) and returns its bin
// dir. The script would leave a marker if anything ran it.
func fakeYarnInstall(t *testing.T, name, version string) string {
	t.Helper()
	prefix := t.TempDir()
	pkg := filepath.Join(prefix, "lib", "node_modules", filepath.FromSlash(name))
	writeFile(t, filepath.Join(pkg, "package.json"), `{"name":"`+name+`","version":"`+version+`"}`)
	script := filepath.Join(pkg, "bin", "yarn.js")
	writeFile(t, script, "#!/bin/sh\ntouch \"$(dirname \"$0\")/ran\"\necho "+version+"\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(prefix, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(script, filepath.Join(bin, "yarn")); err != nil {
		t.Fatal(err)
	}
	return bin
}

// withTrustedBerry points PHYLUM_BOX_YARN_BERRY at a release file outside the project.
func withTrustedBerry(t *testing.T, env Env) Env {
	t.Helper()
	release := filepath.Join(t.TempDir(), "yarn.js")
	writeFile(t, release, "// a yarn berry release the user trusts\n")
	env.Environ = append(append([]string(nil), env.Environ...), trustedBerryEnv+"="+release)
	return env
}

// TestYarnDetectRunsNothing: detection reads files; the yarn in PATH is not run,
// whatever the project's yarn-path says (yarn classic would follow it).
func TestYarnDetectRunsNothing(t *testing.T) {
	bin := fakeYarnInstall(t, "yarn", "1.22.22")
	env := testEnv(t, map[string]string{"package.json": `{}`, ".yarnrc": "yarn-path \"./evil.js\"\n", "evil.js": "require('fs').writeFileSync('/tmp/owned', 'x')\n"})
	env.Environ = []string{"PATH=" + bin}
	_, flavor, why, err := detectYarn(env, env.Dir)
	if err != nil || flavor != YarnClassic || !strings.Contains(why, "1.22.22") {
		t.Fatalf("got %q (%s) %v", flavor, why, err)
	}
	real, _ := filepath.EvalSymlinks(filepath.Join(bin, "yarn"))
	if _, err := os.Stat(filepath.Join(filepath.Dir(real), "ran")); err == nil {
		t.Fatal("detection ran the yarn in PATH")
	}

	// packageManager naming a yarn by URL (corepack would fetch and run it).
	url := testEnv(t, map[string]string{"package.json": `{"packageManager":"yarn@https://evil.example/yarn.tgz#sha224.abc"}`})
	_, _, _, err = detectYarn(url, url.Dir)
	wantYarnRefusal(t, err, "packageManager", "URL")

	// A yarn whose installation says nothing: ask for packageManager, do not run it.
	odd := t.TempDir()
	writeFile(t, filepath.Join(odd, "yarn"), "#!/bin/sh\ntouch "+filepath.Join(odd, "ran")+"\n")
	os.Chmod(filepath.Join(odd, "yarn"), 0o755)
	env.Environ = []string{"PATH=" + odd}
	_, _, _, err = detectYarn(env, env.Dir)
	var ref *Refusal
	if !errors.As(err, &ref) || !strings.Contains(ref.Advice, "packageManager") {
		t.Fatalf("want a refusal naming packageManager, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(odd, "ran")); err == nil {
		t.Fatal("detection ran the yarn in PATH")
	}
}

// TestYarnSettingsClassified: every setting of the source lists (yarn 4.18.1's
// `yarn config --json` plus plugins; yarn 1.22's getOption keys) has a class, and
// the tables name nothing else.
func TestYarnSettingsClassified(t *testing.T) {
	for _, tc := range []struct {
		file  string
		table map[string]yarnSetting
	}{{"testdata/berry-4.18.1-settings.txt", berrySettings}, {"testdata/yarn-1.22-settings.txt", classicSettings}} {
		f, err := os.Open(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		listed := map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k := strings.TrimSpace(sc.Text())
			if k == "" || strings.HasPrefix(k, "#") {
				continue
			}
			listed[k] = true
			s, ok := tc.table[k]
			if !ok {
				t.Errorf("%s: %s is not classified", tc.file, k)
				continue
			}
			switch s.Class {
			case YarnData, YarnPathSetting, YarnExec, YarnCredential, YarnNetworkTarget, YarnUserOnly:
			default:
				t.Errorf("%s: unknown class %q", k, s.Class)
			}
		}
		f.Close()
		for k := range tc.table {
			if !listed[k] {
				t.Errorf("%s: the table classifies %s, which the source list does not have", tc.file, k)
			}
		}
	}
	for _, k := range []string{"yarnPath", "plugins", "injectEnvironmentFiles", "enableConstraintsChecks"} {
		if berrySettings[k].Class != YarnExec {
			t.Errorf("berry %s must be exec", k)
		}
	}
	for _, k := range []string{"yarn-path", "env", "script-shell"} {
		if classicSettings[k].Class != YarnExec {
			t.Errorf("classic %s must be exec", k)
		}
	}
	for key, want := range map[string]string{"--install.cache-folder": "cache-folder", "--cwd": "cwd", "//r.example/:_authToken": "_authToken", "@corp:registry": "registry", `"yarn-path"`: "yarn-path"} {
		if got := classicSettingName(key); got != want {
			t.Errorf("classicSettingName(%q) = %q, want %q", key, got, want)
		}
	}
	page := YarnSettingsReference()
	for _, k := range []string{"`yarnPath` | exec", "`globalFolder` | user-only", "`yarn-path` | exec", "`npmAuthToken` | credential"} {
		if !strings.Contains(page, k) {
			t.Errorf("the reference page lacks %q", k)
		}
	}
}

// berryEnv is a berry project with files, the trusted release set.
func berryEnv(t *testing.T, files map[string]string) Env {
	t.Helper()
	if files["package.json"] == "" {
		files["package.json"] = `{"name":"b","packageManager":"yarn@4.18.1"}`
	}
	files["yarn.lock"] = berryLock
	env := testEnv(t, files)
	needNodeHeaders(t, env)
	return withTrustedBerry(t, env)
}

func planYarn(t *testing.T, env Env, args ...string) (*Plan, error) {
	t.Helper()
	yarn, _ := Lookup("yarn")
	return yarn.Plan(args, env)
}

func wantYarnRefusal(t *testing.T, err error, parts ...string) {
	t.Helper()
	var ref *Refusal
	if !errors.As(err, &ref) || ref.Advice == "" {
		t.Fatalf("want a refusal with advice, got %v", err)
	}
	for _, p := range parts {
		if !strings.Contains(ref.Error(), p) {
			t.Errorf("refusal %q lacks %q", ref.Error(), p)
		}
	}
}

// TestBerryProjectConfig: the attack and its legitimate twin for each rule.
func TestBerryProjectConfig(t *testing.T) {
	outside := t.TempDir()
	for _, tc := range []struct {
		name, rc string
		want     []string // refusal parts; nil = planned
	}{
		{"env reference", "npmRegistryServer: https://r.example\nnpmAuthToken: ${AWS_SECRET_ACCESS_KEY}\n", []string{".yarnrc.yml:2", "AWS_SECRET_ACCESS_KEY", "~/.yarnrc.yml"}},
		{"env reference in a path", "cacheFolder: ${HOME}/.ssh\n", []string{".yarnrc.yml:1", "environment variable"}},
		{"globalFolder outside", "globalFolder: " + outside + "\n", []string{".yarnrc.yml:1", "globalFolder " + outside, "outside the project"}},
		{"globalFolder relative outside", "globalFolder: ../../../root/.ssh\n", []string{"globalFolder", "outside the project"}},
		{"globalFolder inside", "globalFolder: ./.yarn/global\n", nil},
		{"cacheFolder outside", "enableGlobalCache: false\ncacheFolder: /etc\n", []string{".yarnrc.yml:2", "cacheFolder /etc"}},
		{"cacheFolder inside", "enableGlobalCache: false\ncacheFolder: ./deps-cache\n", nil},
		{"virtualFolder outside", "virtualFolder: /tmp/x/__virtual__\n", []string{"virtualFolder"}},
		{"installStatePath outside", "installStatePath: /root/.bashrc\n", []string{"installStatePath"}},
		{"pnpUnpluggedFolder outside", "pnpUnpluggedFolder: /usr/local\n", []string{"pnpUnpluggedFolder"}},
		{"deferredVersionFolder outside", "deferredVersionFolder: /var/tmp\n", []string{"deferredVersionFolder"}},
		{"yarnPath outside", "yarnPath: /usr/lib/evil.cjs\n", []string{"yarnPath"}},
		{"plugin outside", "plugins:\n  - path: /opt/evil.cjs\n", []string{".yarnrc.yml:2", "plugins"}},
		{"plugin inside", "plugins:\n  - path: .yarn/plugins/x.cjs\n    spec: x\n", nil},
		{"injectEnvironmentFiles outside", "injectEnvironmentFiles:\n  - /etc/environment\n", []string{"injectEnvironmentFiles"}},
		{"networkSettings CA outside", "networkSettings:\n  \"*.example\":\n    httpsCaFilePath: /home/u/ca.pem\n", []string{"networkSettings httpsCaFilePath"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := berryEnv(t, map[string]string{".yarnrc.yml": tc.rc})
			p, err := planYarn(t, env, "install")
			if tc.want != nil {
				wantYarnRefusal(t, err, tc.want...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Sandbox.Caches {
				if !strings.HasPrefix(c.Path, env.Home) {
					t.Errorf("cache %s is not the user's", c.Path)
				}
			}
			if tc.name == "cacheFolder inside" && !slices.Contains(p.Project.Outputs, "deps-cache/") {
				t.Errorf("outputs %q lack the project's cache", p.Project.Outputs)
			}
		})
	}

	// A symlink inside the project that leads out counts as outside.
	env := berryEnv(t, map[string]string{".yarnrc.yml": "enableGlobalCache: false\ncacheFolder: ./link/cache\n"})
	if err := os.Symlink(outside, filepath.Join(env.Dir, "link")); err != nil {
		t.Fatal(err)
	}
	_, err := planYarn(t, env, "install")
	wantYarnRefusal(t, err, "cacheFolder ./link/cache", "outside the project")
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("planning created %v outside the project", entries)
	}
}

// TestBerryProjectCodeNotNetworked: the project's release and plugins are in the
// build step's copy of .yarnrc.yml only; the networked steps run the user's yarn
// with YARN_IGNORE_PATH=1 and a copy without them.
func TestBerryProjectCodeNotNetworked(t *testing.T) {
	rc := "yarnPath: .yarn/releases/yarn-4.18.1.cjs\nplugins:\n  - path: .yarn/plugins/evil.cjs\nenableConstraintsChecks: true\nnodeLinker: node-modules\nnpmAuthToken: committed-secret\n"
	env := berryEnv(t, map[string]string{".yarnrc.yml": rc, ".yarn/releases/yarn-4.18.1.cjs": "// release\n"})
	p, err := planYarn(t, env, "add", "lodash")
	if err != nil {
		t.Fatal(err)
	}
	release := env.Getenv(trustedBerryEnv)
	for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download} {
		if !slices.Equal(s.Args[:2], []string{"node", release}) || !slices.Contains(s.Env, "YARN_IGNORE_PATH=1") ||
			!slices.Contains(s.Env, "YARN_INJECT_ENVIRONMENT_FILES=/dev/null") || !slices.Contains(s.Env, "YARN_ENABLE_CONSTRAINTS_CHECKS=false") {
			t.Errorf("networked step %q env %q: want the trusted release and YARN_IGNORE_PATH=1", s.Args, s.Env)
		}
	}
	// The global yarn (classic here) follows yarnPath in the offline build step.
	if !slices.Equal(p.Steps.Build.Args, []string{"yarn", "rebuild"}) || slices.Contains(p.Steps.Build.Env, "YARN_IGNORE_PATH=1") ||
		slices.Contains(p.Steps.Build.Env, "YARN_INJECT_ENVIRONMENT_FILES=/dev/null") || p.Steps.Build.Network {
		t.Errorf("build %q %q", p.Steps.Build.Args, p.Steps.Build.Env)
	}
	if !slices.Contains(p.Sandbox.HostPaths, filepath.Dir(release)) {
		t.Errorf("host paths %q lack the release's directory", p.Sandbox.HostPaths)
	}
	var f *ConfigFile
	for i := range p.Sandbox.Credentials.Files {
		if p.Sandbox.Credentials.Files[i].Project == ".yarnrc.yml" {
			f = &p.Sandbox.Credentials.Files[i]
		}
	}
	if f == nil {
		t.Fatalf("no project .yarnrc.yml copies in %v", p.Sandbox.Credentials)
	}
	for _, k := range []string{"yarnPath", "plugins", "evil.cjs", "enableConstraintsChecks"} {
		if strings.Contains(string(f.Secret), k) {
			t.Errorf("the networked copy has %s:\n%s", k, f.Secret)
		}
	}
	if !strings.Contains(string(f.Secret), "nodeLinker") || !strings.Contains(string(f.Secret), "committed-secret") {
		t.Errorf("the networked copy lost data or the project's credential:\n%s", f.Secret)
	}
	if !strings.Contains(string(f.Public), "yarnPath") || !strings.Contains(string(f.Public), "evil.cjs") || strings.Contains(string(f.Public), "committed-secret") {
		t.Errorf("the build copy:\n%s", f.Public)
	}

	// With only yarn classic in PATH and no trusted berry, refuse: classic would
	// follow yarnPath to the project's release with the network.
	env.Environ = []string{"PATH=" + fakeYarnInstall(t, "yarn", "1.22.22") + ":" + os.Getenv("PATH")}
	_, err = planYarn(t, env, "install")
	wantYarnRefusal(t, err, ".yarnrc.yml:1 yarnPath", trustedBerryEnv)
	// A user's berry in PATH runs itself (YARN_IGNORE_PATH=1).
	env.Environ = []string{"PATH=" + fakeYarnInstall(t, "@yarnpkg/cli-dist", "4.18.1") + ":" + os.Getenv("PATH")}
	p, err = planYarn(t, env, "install")
	if err != nil {
		t.Fatal(err)
	}
	if p.Steps.Resolve.Args[0] != "yarn" || !slices.Contains(p.Steps.Resolve.Env, "YARN_IGNORE_PATH=1") {
		t.Errorf("resolve %q %q", p.Steps.Resolve.Args, p.Steps.Resolve.Env)
	}
}

// TestBerryCredentialTargets: a project may not point the user's tokens elsewhere.
func TestBerryCredentialTargets(t *testing.T) {
	for _, tc := range []struct {
		name, home, project string
		want                []string
	}{
		{"registry takes the top-level token", "npmAuthToken: secret\n", "npmRegistryServer: http://127.0.0.1:9/\n", []string{".yarnrc.yml:1", "npmRegistryServer"}},
		{"scope registry takes the top-level token", "npmAuthToken: secret\n", "npmScopes:\n  x:\n    npmRegistryServer: http://127.0.0.1:9/\n", []string{".yarnrc.yml:3", "npmScopes.x"}},
		{"scope registry takes the scope token", "npmScopes:\n  corp:\n    npmRegistryServer: https://corp.example\n    npmAuthToken: s\n", "npmScopes:\n  corp:\n    npmRegistryServer: http://127.0.0.1:9/\n", []string{"npmScopes.corp"}},
		{"proxy", "npmAuthToken: secret\n", "httpsProxy: http://127.0.0.1:9\n", []string{"httpsProxy"}},
		{"strict ssl off", "npmAuthToken: secret\n", "enableStrictSsl: false\n", []string{"enableStrictSsl"}},
		{"same registry", "npmRegistryServer: https://r.example\nnpmAuthToken: secret\n", "npmRegistryServer: https://r.example/\n", nil},
		{"no token", "", "npmRegistryServer: http://127.0.0.1:9/\nhttpsProxy: http://127.0.0.1:9\n", nil},
		// Spellings berry (js-yaml) reads as the checked settings (measured with
		// yarn 4.18: the corp token reached a loopback listener through the alias).
		{"scope by alias", "npmScopes:\n  corp:\n    npmRegistryServer: https://corp.example\n    npmAuthToken: s\n",
			"npmScopes:\n  decoy: &s\n    npmRegistryServer: http://127.0.0.1:9/\n  corp: *s\n", []string{".yarnrc.yml:2", "anchor or alias"}},
		{"registry as a complex key", "npmAuthToken: secret\n", "? [npmRegistryServer]\n: http://127.0.0.1:9/\n", []string{".yarnrc.yml:1", "complex mapping key"}},
		{"scope as a complex key", "npmScopes:\n  corp:\n    npmRegistryServer: https://corp.example\n    npmAuthToken: s\n",
			"npmScopes:\n  ? [corp]\n  : npmRegistryServer: http://127.0.0.1:9/\n", []string{".yarnrc.yml:2", "complex mapping key"}},
		{"plugins as a complex key", "", "? [plugins]\n: [.yarn/plugins/evil.cjs]\n", []string{".yarnrc.yml:1", "complex mapping key"}},
		{"yarn 1 syntax header", "npmAuthToken: secret\n", "# yarn lockfile v1\nenableTelemetry: false\n", []string{".yarnrc.yml:1", "yarn lockfile v1"}},
		{"the scope, plainly, same registry", "npmScopes:\n  corp:\n    npmRegistryServer: https://corp.example\n    npmAuthToken: s\n",
			"# settings\nnpmScopes:\n  corp:\n    npmRegistryServer: \"https://corp.example\"\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := berryEnv(t, map[string]string{".yarnrc.yml": tc.project})
			if tc.home != "" {
				writeFile(t, filepath.Join(env.Home, ".yarnrc.yml"), tc.home)
			}
			_, err := planYarn(t, env, "install")
			if tc.want != nil {
				wantYarnRefusal(t, err, tc.want...)
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestClassicProjectConfig: .yarnrc's yarn-path never runs with the network, paths
// stay inside the project, ${VAR} is refused.
func TestClassicProjectConfig(t *testing.T) {
	outside := t.TempDir()
	classic := func(rc string) Env {
		env := testEnv(t, map[string]string{"package.json": `{"name":"c","packageManager":"yarn@1.22.22"}`, "yarn.lock": classicLock, ".yarnrc": rc,
			".yarn/releases/yarn-1.22.22.cjs": "// release\n"})
		needNodeHeaders(t, env)
		return env
	}
	for _, tc := range []struct {
		name, rc string
		want     []string
	}{
		{"yarn-path outside", "yarn-path \"" + outside + "/evil.js\"\n", []string{".yarnrc:1", "yarn-path", "outside the project"}},
		{"cache-folder outside", "registry \"https://registry.npmjs.org\"\ncache-folder /root/.ssh\n", []string{".yarnrc:2", "cache-folder /root/.ssh"}},
		{"rc flag outside", "--install.modules-folder /etc\n", []string{"--install.modules-folder /etc"}},
		{"offline mirror outside", "yarn-offline-mirror \"../../mirror\"\n", []string{"yarn-offline-mirror"}},
		{"prefix outside", "prefix /usr/local\n", []string{"prefix"}},
		{"env reference", "\"//r.example/:_authToken\" \"${NPM_TOKEN}\"\n", []string{".yarnrc:1", "NPM_TOKEN", "~/.yarnrc"}},
		{".yarnrc.yml yarnPath outside", "", []string{".yarnrc.yml:1", "yarnPath /usr/lib/evil.cjs"}},
		{"yarn-path inside", "yarn-path \".yarn/releases/yarn-1.22.22.cjs\"\nenv:\n  FOO bar\nnetwork-timeout 60000\n", nil},
		{"cache-folder inside", "cache-folder \"./.yarn-cache\"\n", nil},
		{"yarn-path:value outside", "yarn-path:\"" + outside + "/evil.js\"\n", []string{".yarnrc:1", "yarn-path", "outside the project"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := classic(tc.rc)
			if tc.rc == "" {
				writeFile(t, filepath.Join(env.Dir, ".yarnrc.yml"), "yarnPath: /usr/lib/evil.cjs\n")
			}
			p, err := planYarn(t, env, "install")
			if tc.want != nil {
				wantYarnRefusal(t, err, tc.want...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download} {
				if s == nil {
					continue // a registry-only yarn.lock is the resolution: no resolve step (yarnfetchinstall.go)
				}
				if !slices.Contains(s.Env, "YARN_IGNORE_PATH=1") {
					t.Errorf("networked step %q lacks YARN_IGNORE_PATH=1: %q", s.Args, s.Env)
				}
			}
			if slices.Contains(p.Steps.Build.Env, "YARN_IGNORE_PATH=1") {
				t.Errorf("the build step may run the project's release")
			}
			if strings.HasPrefix(p.Sandbox.Caches[0].Path, env.Dir) {
				t.Errorf("cache %s: a project's cache-folder is replaced by the user's", p.Sandbox.Caches[0].Path)
			}
			var f *ConfigFile
			for i := range p.Sandbox.Credentials.Files {
				if p.Sandbox.Credentials.Files[i].Project == ".yarnrc" {
					f = &p.Sandbox.Credentials.Files[i]
				}
			}
			if f == nil {
				t.Fatalf("no project .yarnrc copies")
			}
			if strings.Contains(string(f.Secret), "yarn-path \"") || strings.Contains(string(f.Secret), "FOO bar") {
				t.Errorf("networked copy:\n%s", f.Secret)
			}
			if !strings.Contains(string(f.Public), tc.rc) {
				t.Errorf("build copy:\n%s", f.Public)
			}
		})
	}
}

// TestYarnRCBetweenCwdAndRoot: yarn reads the rc files from its working directory
// up; one in a workspace counts when the command runs there.
func TestYarnRCBetweenCwdAndRoot(t *testing.T) {
	env := berryEnv(t, map[string]string{
		"package.json":         `{"name":"b","packageManager":"yarn@4.18.1","workspaces":["pkgs/*"]}`,
		"pkgs/a/package.json":  `{"name":"a"}`,
		"pkgs/a/.yarnrc.yml":   "plugins:\n  - /opt/evil.cjs\n",
		"pkgs/b/package.json":  `{"name":"b2"}`,
		"pkgs/b/.yarnrc.yml":   "plugins:\n  - ../../.yarn/plugins/ok.cjs\n",
		".yarn/plugins/ok.cjs": "module.exports = {name: 'ok', factory: () => ({})};\n",
	})
	_, err := planYarn(t, env, "--cwd", "pkgs/a", "add", "x")
	wantYarnRefusal(t, err, filepath.Join("pkgs", "a", ".yarnrc.yml")+":2", "plugins /opt/evil.cjs")
	if _, err := planYarn(t, env, "add", "x"); err != nil {
		t.Errorf("from the root, pkgs/a/.yarnrc.yml is not read by yarn: %v", err)
	}
	p, err := planYarn(t, env, "--cwd", "pkgs/b", "add", "x")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, f := range p.Sandbox.Credentials.Files {
		if f.Project == "pkgs/b/.yarnrc.yml" {
			found = !strings.Contains(string(f.Secret), "ok.cjs") && strings.Contains(string(f.Public), "ok.cjs")
		}
	}
	if !found {
		t.Errorf("pkgs/b/.yarnrc.yml: want a networked copy without the plugin, got %v", p.Sandbox.Credentials)
	}
}

// TestClassicCredentialTargets: yarn 1 sends an unbound token to any registry.
func TestClassicCredentialTargets(t *testing.T) {
	for _, tc := range []struct {
		name, home, project string
		want                []string
	}{
		{"registry takes the unbound ~/.yarnrc token", ".yarnrc:_authToken secret\n", "registry \"http://127.0.0.1:9/\"\n", []string{".yarnrc:1", "registry http://127.0.0.1:9/"}},
		{"registry takes the unbound ~/.npmrc token", ".npmrc:_authToken=secret\n", "--add.registry http://127.0.0.1:9/\n", []string{".yarnrc:1", "--add.registry"}},
		{"proxy", ".npmrc://registry.npmjs.org/:_authToken=secret\n", "https-proxy \"http://127.0.0.1:9\"\n", []string{"https-proxy"}},
		{"strict-ssl off", ".npmrc://registry.npmjs.org/:_authToken=secret\n", "strict-ssl false\n", []string{"strict-ssl false"}},
		{"bound token, other registry", ".npmrc://registry.npmjs.org/:_authToken=secret\n", "registry \"https://mirror.example/\"\n", nil},
		{"unbound token, default registry", ".yarnrc:_authToken secret\n", "registry \"https://registry.npmjs.org\"\n", nil},
		{"no token", "", "registry \"http://127.0.0.1:9/\"\nhttps-proxy \"http://127.0.0.1:9\"\n", nil},
		// Spellings yarn 1's tokenizer reads as registry (measured with yarn config get).
		{"key:value", ".npmrc:_authToken=secret\n", "registry:\"http://127.0.0.1:9/\"\n", []string{".yarnrc:1", "registry http://127.0.0.1:9/"}},
		{"escaped key", ".npmrc:_authToken=secret\n", "\"\\u0072egistry\" \"http://127.0.0.1:9/\"\n", []string{".yarnrc:1", "registry http://127.0.0.1:9/"}},
		{"after a carriage return", ".npmrc:_authToken=secret\n", "network-timeout 60000\rregistry \"http://127.0.0.1:9/\"\n", []string{".yarnrc:2", "registry http://127.0.0.1:9/"}},
		{"two keys, one value", ".npmrc:_authToken=secret\n", "a, registry \"http://127.0.0.1:9/\"\n", []string{".yarnrc:1", "not one `key value` setting"}},
		{"two settings on a line", ".npmrc:_authToken=secret\n", "a \"b\" registry \"http://127.0.0.1:9/\"\n", []string{".yarnrc:1", "not one `key value` setting"}},
		{"proxy key:value", ".npmrc://registry.npmjs.org/:_authToken=secret\n", "https-proxy:\"http://127.0.0.1:9\"\n", []string{"https-proxy"}},
		{"strict-ssl key:value", ".npmrc://registry.npmjs.org/:_authToken=secret\n", "strict-ssl:false\n", []string{"strict-ssl false"}},
		{"key:value, default registry, CRLF", ".npmrc:_authToken=secret\n", "registry:\"https://registry.npmjs.org\"\r\nnetwork-timeout 60000\r\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, map[string]string{"package.json": `{"name":"c","packageManager":"yarn@1.22.22"}`, "yarn.lock": classicLock, ".yarnrc": tc.project})
			needNodeHeaders(t, env)
			if tc.home != "" {
				name, body, _ := strings.Cut(tc.home, ":")
				writeFile(t, filepath.Join(env.Home, name), body)
			}
			_, err := planYarn(t, env, "install")
			if tc.want != nil {
				wantYarnRefusal(t, err, tc.want...)
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// yarn 1 reads the project's .npmrc as well: its registry lines may not receive
// an unbound token either (measured: registry= and always-auth=true there sent the
// ~/.npmrc _authToken to a loopback listener). The twins: the default registry, or
// no unbound token.
func TestClassicCredentialTargetsNpmrc(t *testing.T) {
	for _, tc := range []struct {
		name, home, npmrc string
		want              []string
	}{
		{"registry", "_authToken=secret\n", "registry=http://127.0.0.1:9/\nalways-auth=true\n", []string{".npmrc:1", "registry=http://127.0.0.1:9/"}},
		{"scope registry", "_authToken=secret\n", "@corp:registry=http://127.0.0.1:9/\n", []string{".npmrc:1", "@corp:registry"}},
		{"default registry", "_authToken=secret\n", "registry=https://registry.npmjs.org/\nalways-auth=true\n", nil},
		{"bound token", "//registry.npmjs.org/:_authToken=secret\n", "registry=http://127.0.0.1:9/\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, map[string]string{"package.json": `{"name":"c","packageManager":"yarn@1.22.22"}`, "yarn.lock": classicLock, ".npmrc": tc.npmrc})
			needNodeHeaders(t, env)
			writeFile(t, filepath.Join(env.Home, ".npmrc"), tc.home)
			_, err := planYarn(t, env, "install")
			if tc.want != nil {
				wantYarnRefusal(t, err, tc.want...)
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}
