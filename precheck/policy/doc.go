// Package policy reads phylum-box's install policy (.phylum-box.yaml) and answers the
// questions the precheck engine asks of it: does this finding block, is it ignored,
// may this package run its install scripts.
//
// A policy is built from layers, each overriding the one before key by key:
//
//	built-in defaults
//	< the user's file   ($XDG_CONFIG_HOME/phylum-box/policy.yaml, ~/.config/... when unset)
//	< the project file  (.phylum-box.yaml in the project directory only — not searched
//	                     upward, so a file in a parent directory or a home directory
//	                     can never silently apply to a project)
//	< --policy FILE
//
// Lists concatenate instead of replacing (ignore, allow_scripts), so a project can add
// ignores without repeating the user's. Because a project file arrives with the code
// being installed, every way it loosens the user's settings (block.malicious: false,
// a higher vulnerability threshold, when_stale: warn, ignoring a MAL- advisory, ...)
// is recorded in Policy.Weakened and surfaced as a warning in every report. The
// behaviour: and analysis: sections (detection.go) go further: a project file may
// only make them stricter, and what it tried that would loosen them is not applied
// but recorded in Policy.Refused.
//
// Parsing goes through yaml.Node so that every error names the file, line and column;
// unknown keys are errors rather than silently ignored, because a misspelt "blok:"
// would otherwise quietly turn a protection off.
package policy
