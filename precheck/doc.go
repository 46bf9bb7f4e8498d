// Package precheck decides whether a resolved set of packages may be installed.
//
// Sub-packages own the parts: lockfile turns lockfiles into Packages, osvdb is the
// offline OSV database (import, update, lookup and version matching), policy reads
// and evaluates .phylum-box.yaml, and report renders verdicts as text, JSON and SARIF.
// This package holds the shared types and the engine that ties them together.
package precheck
