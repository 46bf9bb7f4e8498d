// Package behaviour notices what package code tries inside the sandbox: it plants
// decoy credentials and persistence files in the container's empty $HOME and watches
// them (inotify on the host side of the binds), takes the seccomp listener's events
// (network attempts, execs, detaching, refused calls — see container.Monitor),
// attributes each to the package whose script made it, and turns them into
// Observations with a rule id, a severity and evidence. It decides nothing: the
// policy (package precheck) turns observations into a verdict.
//
// Use, per install: NewDecoys in a directory private to the run, NewRecorder, then
// for each step that runs package code Decoys.Binds (into sandbox.Exec.Files and
// .Writable) and Recorder.Monitor (sandbox.Exec.Monitor); after the last step
// Recorder.Close, Recorder.Findings, Decoys.Remove.
//
// What is seen, and what is not:
//   - A network attempt is a connect, sendto or sendmsg with a destination. A
//     DNS query (to port 53, or on a socket connected there) is named by its
//     question; an offline step's resolv.conf points at the loopback so that a
//     resolver sends it (ResolverBind). A name that carries data is DNS
//     exfiltration (dns.go). Loopback other than port 53, unix sockets and
//     netlink are not network.
//   - A process left running after its script (nohup, a double fork) is seen
//     at the script's end and at the step's (survivors.go).
//   - A secret read is an open of a decoy; inotify names no process, so the read
//     goes to the package whose script is running then (several: all, as
//     candidates). Other paths in $HOME do not exist (it is an empty tmpfs).
//   - Persistence is a write to a shell startup file or a file created in the
//     autostart or systemd user dirs. Writes elsewhere in $HOME go to the tmpfs and
//     are not seen; a rename over a decoy fails (it is a mount point).
//   - Attribution believes the process's lifecycle environment and cwd (a script
//     can lie about both, but only to name another package), then its nearest
//     known parent. A process that clears its environment and is reparented away
//     from its script is "an unidentified process", never the manager. Proc-macro
//     code runs inside rustc with the crate that uses it named; pip's
//     pip-req-build dirs (a direct URL or local path) name no package.
package behaviour
