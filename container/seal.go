package container

import (
	"fmt"
	"os"
	"strings"

	"github.com/opencontainers/runc/libcontainer/exeseal"
	"golang.org/x/sys/unix"
)

// sealedEnv marks a process already re-executed by ReexecSealed, so a failure
// to recognise the seal can never loop.
const sealedEnv = "_PHYLUM_BOX_SEALED"

// exeEnv carries the binary's real path across the sealed re-exec, after which
// /proc/self/exe is an anonymous memfd (see Executable).
const exeEnv = "_PHYLUM_BOX_EXE"

// sealedExe is exeEnv's value, taken by ReexecSealed in the re-executed process.
var sealedExe string

// Executable is the path of this binary on the host, usable after ReexecSealed
// (which os.Executable is not: it names the sealed memfd). Steps that run
// phylum-box itself inside a container bind it from here.
func Executable() (string, error) {
	if sealedExe != "" && exeseal.IsSelfExeCloned() {
		return sealedExe, nil
	}
	p, err := os.Executable()
	if err != nil {
		return "", err
	}
	if strings.HasSuffix(p, " (deleted)") || strings.HasPrefix(p, "/memfd:") {
		return "", fmt.Errorf("this binary has no path on disk (%s)", p)
	}
	return p, nil
}

// ReexecWanted says whether ReexecSealed would re-execute: rootless, not yet
// re-executed, /proc/self/exe not sealed already.
func ReexecWanted() bool {
	return os.Getenv(sealedEnv) == "" && os.Geteuid() != 0 && !exeseal.IsSelfExeCloned()
}

// ReexecSealed re-executes this binary from a sealed in-memory copy, once, when
// running rootless. libcontainer must start every container's init from a copy
// of the binary the container cannot write to (CVE-2019-5736); as root it uses
// a cheap read-only overlayfs, but rootless it copies the whole binary into a
// memfd for every container — tens of milliseconds for phylum-box. After this
// re-exec, /proc/self/exe is already a sealed memfd and libcontainer skips the
// copy. Worth it for a process that starts more than one container (resolve,
// download and build of one install); call it first thing in main. It returns
// only if no re-exec was needed or it failed. In the re-executed process it takes
// its two variables out of the environment, so the package managers and scripts
// that process starts do not inherit them.
func ReexecSealed() error {
	if os.Getenv(sealedEnv) != "" {
		sealedExe = os.Getenv(exeEnv)
		os.Unsetenv(sealedEnv)
		os.Unsetenv(exeEnv)
		return nil
	}
	if os.Geteuid() == 0 || exeseal.IsSelfExeCloned() {
		return nil
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer self.Close()
	st, err := self.Stat()
	if err != nil {
		return err
	}
	sealed, err := exeseal.CloneBinary(self, st.Size(), "/proc/self/exe", os.TempDir())
	if err != nil {
		return fmt.Errorf("sealed copy of this binary: %w", err)
	}
	defer sealed.Close()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, exeEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, sealedEnv+"=1")
	if p, err := os.Executable(); err == nil {
		env = append(env, exeEnv+"="+p)
	}
	return unix.Exec(fmt.Sprintf("/proc/self/fd/%d", sealed.Fd()), os.Args, env)
}
