//go:build seccomp

package container

// InstallListenerFilter exposes installListenerFilter: a test puts an outer
// seccomp agent's listener on phylum-box's own process.
var InstallListenerFilter = installListenerFilter
