// Package behaviour notices what package code tries inside the sandbox: it plants
// decoy credentials and persistence files in the container's empty $HOME and watches
// them (inotify on the host side of the binds), takes the seccomp listener's events
// (network attempts, execs, detaching, refused calls — see container.Monitor),
// attributes each to the package whose script made it, and turns them into
// Observations with a rule id, a severity and evidence. It decides nothing: the
// policy (package precheck) turns observations into a verdict.
package behaviour
