package container

import (
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer/exeseal"
	"golang.org/x/sys/unix"
)

// sealedEnv marks a process already re-executed by ReexecSealed, so a failure
// to recognise the seal can never loop.
const sealedEnv = "_PHYLUM_BOX_SEALED"

// ReexecSealed re-executes this binary from a sealed in-memory copy, once, when
// running rootless. libcontainer must start every container's init from a copy
// of the binary the container cannot write to (CVE-2019-5736); as root it uses
// a cheap read-only overlayfs, but rootless it copies the whole binary into a
// memfd for every container — tens of milliseconds for phylum-box. After this
// re-exec, /proc/self/exe is already a sealed memfd and libcontainer skips the
// copy. Worth it for a process that starts more than one container (resolve,
// download and build of one install); call it first thing in main. It returns
// only if no re-exec was needed or it failed.
func ReexecSealed() error {
	if os.Geteuid() == 0 || os.Getenv(sealedEnv) != "" || exeseal.IsSelfExeCloned() {
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
	env := append(os.Environ(), sealedEnv+"=1")
	return unix.Exec(fmt.Sprintf("/proc/self/fd/%d", sealed.Fd()), os.Args, env)
}
