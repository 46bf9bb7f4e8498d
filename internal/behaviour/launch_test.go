package behaviour

import (
	"testing"

	"github.com/phylum-box/phylum-box/container"
)

// yarn 1 starts each lifecycle script detached: its fork (still yarn: the same
// command line, yarn's environment and directory) calls setsid, then execs the
// script. That is no package detaching; a package's own setsid still is.
func TestManagerLaunchIsNotDetach(t *testing.T) {
	yarn := []string{"node", "/usr/bin/yarn", "install", "--frozen-lockfile", "--offline"}
	esbuild := map[string]string{"npm_package_name": "esbuild", "npm_package_version": "0.21.5", "npm_lifecycle_event": "postinstall"}
	yarnEnv := map[string]string{"PATH": "/usr/bin"}
	for _, tt := range []struct {
		name   string
		procs  fakeProcs
		events func(r *Recorder)
		want   string
	}{
		{"yarn's detached spawn of a postinstall", fakeProcs{10: {parent: 1, argv: yarn}, 11: {parent: 10, argv: yarn}}, func(r *Recorder) {
			r.OnEvent(execEv(10, yarnEnv, "/p", yarn...))
			r.OnEvent(container.SyscallEvent{Pid: 11, Syscall: "setsid", Env: yarnEnv, Cwd: "/p"})
			r.OnEvent(container.SyscallEvent{Pid: 11, Syscall: "execve", Path: "/bin/sh", Argv: []string{"/bin/sh", "-c", "node install.js"},
				Env: yarnEnv, ExecEnv: esbuild, Cwd: "/p/node_modules/esbuild"})
		}, ""},
		{"the same, yarn started through phylum-box's setpriv and sh wrapper", fakeProcs{10: {parent: 1, argv: yarn}, 11: {parent: 10, argv: yarn}}, func(r *Recorder) {
			r.OnEvent(execEv(10, yarnEnv, "/p", "/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "sh", "-c", "exec \"$@\"", "yarn", "install"))
			r.OnEvent(execEv(10, yarnEnv, "/p", "sh", "-c", "exec \"$@\"", "yarn", "install"))
			r.OnEvent(execEv(10, yarnEnv, "/p", yarn...))
			r.OnEvent(container.SyscallEvent{Pid: 11, Syscall: "setsid", Env: yarnEnv, Cwd: "/p"})
			r.OnEvent(container.SyscallEvent{Pid: 11, Syscall: "execve", Path: "/bin/sh", Argv: []string{"/bin/sh", "-c", "node install.js"},
				Env: yarnEnv, ExecEnv: esbuild, Cwd: "/p/node_modules/esbuild"})
		}, ""},
		// The twins.
		{"yarn's fork detaching without running a script is the manager's", fakeProcs{10: {parent: 1, argv: yarn}, 11: {parent: 10, argv: yarn}}, func(r *Recorder) {
			r.OnEvent(execEv(10, yarnEnv, "/p", yarn...))
			r.OnEvent(container.SyscallEvent{Pid: 11, Syscall: "setsid", Env: yarnEnv, Cwd: "/p"})
		}, "the package manager PB-BEHAVIOUR-DETACH medium (manager)\n"},
		{"the script's own setsid", fakeProcs{10: {parent: 1, argv: yarn}, 11: {parent: 10, argv: yarn}, 12: {parent: 11, argv: []string{"sh", "-c", "setsid node daemon.js &"}}}, func(r *Recorder) {
			r.OnEvent(execEv(10, yarnEnv, "/p", yarn...))
			r.OnEvent(container.SyscallEvent{Pid: 11, Syscall: "setsid", Env: yarnEnv, Cwd: "/p"})
			r.OnEvent(container.SyscallEvent{Pid: 11, Syscall: "execve", Path: "/bin/sh", Argv: []string{"/bin/sh", "-c", "setsid node daemon.js &"},
				Env: yarnEnv, ExecEnv: esbuild, Cwd: "/p/node_modules/esbuild"})
			r.OnEvent(container.SyscallEvent{Pid: 12, Syscall: "setsid", Env: esbuild, Cwd: "/p/node_modules/esbuild"})
		}, "esbuild@0.21.5 PB-BEHAVIOUR-DETACH medium\n"},
		{"a package's fork detaching before it execs", fakeProcs{10: {parent: 1, argv: yarn}, 11: {parent: 10, argv: yarn}, 12: {parent: 11, argv: []string{"node", "install.js"}}}, func(r *Recorder) {
			r.OnEvent(execEv(10, yarnEnv, "/p", yarn...))
			r.OnEvent(container.SyscallEvent{Pid: 11, Syscall: "execve", Path: "/usr/bin/node", Argv: []string{"node", "install.js"},
				Env: yarnEnv, ExecEnv: esbuild, Cwd: "/p/node_modules/esbuild"})
			// spawn(..., {detached: true}) from install.js, clearing the environment and leaving the package's dir.
			r.OnEvent(container.SyscallEvent{Pid: 12, Syscall: "setsid", Cwd: "/"})
			r.OnEvent(container.SyscallEvent{Pid: 12, Syscall: "execve", Path: "/usr/bin/node", Argv: []string{"node", "payload.js"}, Cwd: "/"})
		}, "esbuild@0.21.5 PB-BEHAVIOUR-DETACH medium\n"},
		{"an orphan reparented to yarn is not yarn's fork", fakeProcs{10: {parent: 1, argv: yarn}, 13: {parent: 10, argv: []string{"node", "payload.js"}}}, func(r *Recorder) {
			r.OnEvent(execEv(10, yarnEnv, "/p", yarn...))
			r.OnEvent(container.SyscallEvent{Pid: 13, Syscall: "setsid", Cwd: "/"})
			r.OnEvent(container.SyscallEvent{Pid: 13, Syscall: "execve", Path: "/usr/bin/node", Argv: []string{"node", "x.js"}, ExecEnv: esbuild, Cwd: "/"})
		}, "esbuild@0.21.5 PB-BEHAVIOUR-DETACH medium\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecorder("npm", tt.procs)
			tt.events(r)
			if got := summary(r.Findings()); got != tt.want {
				t.Errorf("findings:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
