// Package doctor is what `phylum-box doctor` and `phylum-box setup` know about a
// host: GatherHostFacts reads what the sandbox depends on (user namespaces and
// the knobs that forbid them, newuidmap/newgidmap, subordinate ids, cgroups and
// their delegation, seccomp, Landlock, the project's file system) and changes
// nothing; Diagnose grades those facts into Checks, each with the fix, and is
// pure so every branch is tested with fabricated facts; Summarize condenses the
// checks. Delegate and the subordinate-id helpers are what setup changes, as
// root. The runtime itself is package container, which this package only reads
// through a few exported names; cmd/phylum-box/internal/doctor prints the result.
package doctor
