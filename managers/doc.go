// Package managers describes each supported package manager in one file: which
// subcommands install or run package code, how to resolve without running code,
// which lockfiles to read, the download and build commands, the expected outputs
// and the caches. A manager describes; the shared orchestration runs the steps.
package managers
