// Package report renders a precheck.Verdict for people (text), for programs (JSON,
// documented in docs/check-json.md) and for code-scanning tools (SARIF 2.1.0).
//
// The renderers only present; every decision (what blocks, what is ignored, what
// could not be checked) is the engine's and arrives in the Verdict. Text output
// strips control characters from everything that came from a lockfile or an
// advisory, so a crafted package name cannot drive the terminal; colour is used
// only when the caller says so (App.Color decides: NO_COLOR, --ci, not a TTY).
package report
