// Package lockfile turns package-manager lockfiles into the packages they would install.
//
// It owns one question: given a lockfile, which (ecosystem, name, version) triples does it
// pin? The answer feeds the precheck; nothing here looks anything up.
//
// # What counts as a package
//
//   - Every entry that a package manager would fetch from a registry is a Package with the
//     real registry name (npm aliases such as `string-width-cjs@npm:string-width@4.2.0` are
//     reported as `string-width`), scoped npm names kept as they are.
//   - Entries that cannot be looked up by name and version — git, file, path, link, tarball
//     URL, editable and direct-URL dependencies, and requirements.txt lines that are not pinned
//     with `==` — are reported with Uncheckable set and a Reason. They are never dropped: the
//     precheck must see them to report an incomplete verdict.
//   - The project's own packages are not dependencies and are left out: the root package of a
//     package-lock.json, npm workspaces (keys matched by the root's `workspaces` globs), yarn
//     `workspace:` resolutions, pnpm importers and `link:` to an importer, uv's virtual/editable
//     workspace members (`[manifest] members` or source "."), a Gemfile.lock `PATH` section
//     with `remote: .`, Pipfile.lock editable `path: "."`, and Cargo.lock crates without a
//     `source` (Cargo writes no source exactly for workspace members and path crates, which
//     are files in the user's own tree, not something fetched).
//   - Identical (ecosystem, name, version) entries are reported once; a package is Dev only if
//     every occurrence is development-only, and only where the lockfile records it.
//
// # Formats and libraries
//
// google/osv-scalibr's extractors are the reference. Two are wrapped directly:
// requirements.txt (scalibr follows -r includes, continuations, hashes, markers) and
// Gemfile.lock (scalibr's spec-line grammar, post-processed to know each entry's section).
// The others are decoded here with the same decoders scalibr uses (encoding/json,
// BurntSushi/toml, yaml.v3) because scalibr's extractors discard the field that says where a
// package comes from (npm `resolved`/workspace keys, yarn `resolution`, pnpm `resolution`,
// poetry/uv/pdm/Cargo `source`, Pipfile.lock git/path entries), and without it git, file and
// workspace entries are either dropped silently or reported as registry packages. The tests
// run scalibr's extractors over the same files and check that every registry package they
// report is also reported here. pip's `--report` JSON has no scalibr extractor.
package lockfile
