// Package integration holds the end-to-end tests that drive the built phylum-box
// binary, as root and as an unprivileged user the test setup creates.
//
// Every test is an attack with its legitimate twin: the attack must fail (or its
// effect must vanish with the container) and the twin must work, so a sandbox that
// simply breaks everything does not pass. The hostile workloads are small Go
// programs in testdata/attacks, built with CGO_ENABLED=0 and copied into the project
// directory — the one place the container sees at the same path as the host.
//
// Run with `make integration` (as root, to get both the root and rootless halves) or
// `go test -tags seccomp ./integration/`; the binary is $PHYLUM_BOX_BIN or built into
// a temporary directory. Every skipped half says why, and TestMain prints a summary
// of skips at the end so CI output shows what did not run.
//
// Tests run side by side (t.Parallel; `make integration` passes -parallel 3): each
// has its own projects, homes, registries and databases under the suite's scratch
// root. A test that watches what all runs share — the host's temporary and state
// directories, its process table, cgroups, /etc, or a duration — does not call
// t.Parallel, so it runs alone, before the parallel ones. Invocation time limits
// are doubled when tests run side by side (timeoutScale).
package integration
