package behaviour

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/container"
)

// startReal starts a real process (WaitExited watches real pids) and returns it
// as the container would list it.
func startReal(t *testing.T, argv ...string) container.Process {
	t.Helper()
	c := exec.Command(argv[0], argv[1:]...)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.Process.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return container.Process{Pid: c.Process.Pid, PPid: 10, StartTime: start, Argv: argv}
}

// scriptEv is npm's fork starting a package's script: the lifecycle variables
// are in the environment it gives the script, not in its own.
func scriptEv(pid int, argv ...string) container.SyscallEvent {
	return container.SyscallEvent{Pid: pid, Syscall: "execve", Path: argv[0], Argv: argv, ExecEnv: evilEnv, Cwd: "/p/node_modules/evil"}
}

func exitEv(pid int, init bool, running ...container.Process) container.SyscallEvent {
	return container.SyscallEvent{Pid: pid, Syscall: "exit_group", Init: init,
		Running: func() []container.Process { return running }}
}

func TestSurvivors(t *testing.T) {
	npm := []string{"node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "rebuild"}
	setup := func(t *testing.T, extra fakeProcs) *Recorder {
		// 10 is npm, the init; 20 its fork that runs the package's script.
		procs := fakeProcs{10: {parent: 1, argv: npm}, 20: {parent: 10, argv: npm}}
		for k, v := range extra {
			procs[k] = v
		}
		r := newTestRecorder("npm", procs)
		r.OnEvent(execEv(10, nil, "/p", npm...))
		r.OnEvent(scriptEv(20, "sh", "-c", "nohup node payload.js &"))
		return r
	}
	t.Run("left running until the step ends", func(t *testing.T) {
		sleeper := startReal(t, "sleep", "30")
		r := setup(t, fakeProcs{sleeper.Pid: {parent: 10, argv: sleeper.Argv}})
		r.OnEvent(execEv(sleeper.Pid, evilEnv, "/p/node_modules/evil", "sleep", "30"))
		r.OnEvent(exitEv(20, false, sleeper))
		r.OnEvent(exitEv(10, true, sleeper))
		obs := r.Findings()
		if got := summary(obs); got != "evil@6.6.6 PB-BEHAVIOUR-DETACH medium\n" {
			t.Fatalf("findings:\n%s", got)
		}
		if ev := obs[0].Evidence[0]; !strings.Contains(ev, "still running after its script (sh -c nohup node payload.js &) ended") {
			t.Errorf("evidence %q", ev)
		}
	})
	t.Run("went on after its script and reached for the network", func(t *testing.T) {
		sleeper := startReal(t, "sleep", "30")
		r := setup(t, fakeProcs{sleeper.Pid: {parent: 20, argv: sleeper.Argv}})
		// Never exec'd: a fork of the script, known by its environment only.
		r.OnEvent(exitEv(20, false, container.Process{Pid: sleeper.Pid, PPid: 20, StartTime: sleeper.StartTime, Env: evilEnv}))
		r.OnEvent(call(sleeper.Pid, evilEnv, "connect", "203.0.113.9:443"))
		got := summary(r.Findings())
		if got != "evil@6.6.6 PB-BEHAVIOUR-DETACH high\nevil@6.6.6 PB-BEHAVIOUR-NETWORK high\n" {
			t.Fatalf("findings:\n%s", got)
		}
	})
	t.Run("twins", func(t *testing.T) {
		quick := startReal(t, "sleep", "0.05")
		helper := startReal(t, npm[0], "-e", "setTimeout(()=>{}, 30000)")
		helper.Argv = npm // the manager's own helper, under its command line
		r := setup(t, fakeProcs{quick.Pid: {parent: 20}, helper.Pid: {parent: 10, argv: npm}})
		r.OnEvent(exitEv(30, false, quick)) // not a script root: nothing is listed
		r.OnEvent(exitEv(20, false))        // the script's children ended before it
		r.OnEvent(exitEv(10, true, helper)) // quick ended in the listener's grace
		if got := summary(r.Findings()); got != "" {
			t.Fatalf("findings:\n%s", got)
		}
		// A setsid warning stays medium beside a high finding: yarn 1 starts
		// every script detached.
		r.OnEvent(call(20, evilEnv, "setsid", ""))
		r.OnEvent(call(20, evilEnv, "connect", "203.0.113.9:443"))
		if got := summary(r.Findings()); got != "evil@6.6.6 PB-BEHAVIOUR-NETWORK high\nevil@6.6.6 PB-BEHAVIOUR-DETACH medium\n" {
			t.Fatalf("findings:\n%s", got)
		}
	})
	t.Run("an orphan that clears its environment and execs after its reparenting", func(t *testing.T) {
		sleeper := startReal(t, "sleep", "30")
		// Forked by the script (its command line is the script's), reparented
		// to the init, then exec'd with env -i from /: no package, and not
		// the init's own child.
		r := setup(t, fakeProcs{sleeper.Pid: {parent: 10, argv: []string{"sh", "-c", "nohup node payload.js &"}}})
		r.OnEvent(container.SyscallEvent{Pid: sleeper.Pid, Syscall: "execve", Path: "/usr/bin/npm", Argv: []string{"npm", "x"}, Cwd: "/"})
		r.OnEvent(exitEv(10, true, container.Process{Pid: sleeper.Pid, PPid: 10, StartTime: sleeper.StartTime, Argv: []string{"npm", "x"}, Cwd: "/"}))
		if got := summary(r.Findings()); got != "an unidentified process PB-BEHAVIOUR-DETACH medium\n" {
			t.Fatalf("findings:\n%s", got)
		}
		// The init's own helper, forked and exec'd by it, is not reported.
		r = setup(t, fakeProcs{sleeper.Pid: {parent: 10, argv: npm}})
		r.OnEvent(container.SyscallEvent{Pid: sleeper.Pid, Syscall: "execve", Path: "/usr/bin/esbuild", Argv: []string{"esbuild", "--service"}, Cwd: "/p"})
		r.OnEvent(exitEv(10, true, container.Process{Pid: sleeper.Pid, PPid: 10, StartTime: sleeper.StartTime, Argv: []string{"esbuild", "--service"}, Cwd: "/p"}))
		if got := summary(r.Findings()); got != "" {
			t.Fatalf("findings:\n%s", got)
		}
	})
	t.Run("another script's process is not this one's survivor", func(t *testing.T) {
		sleeper := startReal(t, "sleep", "30")
		// cargo runs two scripts of one crate at once: 20 and 21 are both
		// started by the manager; 21's child outlives 20, not 21.
		r := setup(t, fakeProcs{21: {parent: 10, argv: npm}, sleeper.Pid: {parent: 21, argv: sleeper.Argv}})
		r.OnEvent(scriptEv(21, "sh", "-c", "sleep 30"))
		r.OnEvent(exitEv(20, false, container.Process{Pid: 21, PPid: 10, StartTime: 1}, container.Process{Pid: sleeper.Pid, PPid: 21, StartTime: sleeper.StartTime}))
		if len(r.pending) != 0 {
			t.Fatalf("pending %v", r.pending)
		}
	})
}

func TestDNSExfil(t *testing.T) {
	for name, want := range map[string]string{
		"registry.npmjs.org":                                     "",
		"github.com":                                             "",
		"objects.githubusercontent.com":                          "",
		"d1a2b3c4d5e6f7.cloudfront.net":                          "",
		"this-is-a-very-long-but-wordy-label.example.com":        "",
		"ec2-54-123-12-3.compute-1.amazonaws.com":                "",
		"6170695f6b65793d7365637265742d746f6b656e.exfil.example": "a 40-character hex label",
		"MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPI.x.example":   "a 42-character base32 label",
		"YXBpX2tleT1zZWNyZXQtdG9rZW4tYWJjZGVmZ2g.x.example":      "a 39-character base64 label",
		"a.b.c.d.e.f.g.h.i.j.k.example":                          "12 labels",
		`bin\000\255.example`:                                    "bytes that are not letters or digits in its labels",
	} {
		if got := dnsExfil(name); got != want {
			t.Errorf("dnsExfil(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestDNSHits(t *testing.T) {
	ev := container.SyscallEvent{Syscall: "sendto", Addr: "127.0.0.1:53", DNSName: "github.com", DNSType: "A"}
	h := netHits(ev, Package{Ecosystem: "npm", Name: "ffmpeg-static"}, "", nil)
	if len(h) != 1 || h[0].severity != Medium || !strings.Contains(h[0].summary, "github.com") || h[0].evidence != "dns query github.com A to 127.0.0.1:53 (sendto)" {
		t.Fatalf("a known downloader's lookup: %+v", h)
	}
	ev.DNSName = "6170695f6b65793d7365637265742d746f6b656e.exfil.example"
	h = netHits(ev, Package{Ecosystem: "npm", Name: "ffmpeg-static"}, "", nil)
	if len(h) != 1 || h[0].severity != High || !strings.Contains(h[0].summary, "DNS exfiltration") {
		t.Fatalf("a known downloader's exfiltration: %+v", h)
	}
	h = netHits(ev, Package{Ecosystem: "npm", Name: "x"}, "node-pre-gyp", nil)
	if len(h) != 1 || h[0].severity != High {
		t.Fatalf("a fetcher's exfiltration: %+v", h)
	}
	// The named query is what the observation says, whatever came first.
	r := newTestRecorder("npm", fakeProcs{20: {parent: 10}})
	r.OnEvent(call(20, evilEnv, "connect", "127.0.0.1:53"))
	r.OnEvent(container.SyscallEvent{Pid: 20, Syscall: "sendto", Addr: "127.0.0.1:53", DNSName: ev.DNSName, DNSType: "A", Env: evilEnv, Cwd: "/p"})
	obs := r.Findings()
	if len(obs) != 1 || !strings.Contains(obs[0].Summary, "DNS exfiltration") || !strings.Contains(obs[0].Evidence[0], "dns query 6170") {
		t.Fatalf("findings %+v", obs)
	}
}
