// Package lockfile turns package-manager lockfiles into the packages they would install.
//
// It owns one question: given a lockfile, which (ecosystem, name, version) triples does it
// pin, and is each one what will really be fetched? The answer feeds the precheck;
// nothing here looks anything up.
//
//	pkgs, err := lockfile.Parse("pnpm-lock.yaml")        // format from the name (or content)
//	paths, err := lockfile.Find(projectDir)               // the lockfiles a project has
//	pkgs, err := lockfile.ParseWith(path, lockfile.Options{NPM: &lockfile.Registries{…}})
//
// # Checked as fetched
//
// A lockfile is project input. Every package carries the URL and hash its entry pins
// (Resolved, Integrity: npm `resolved`/`integrity`, yarn `resolved`/`integrity` or the
// URL's sha1 fragment, pnpm `resolution`, Cargo.lock `checksum`, Gemfile.lock
// `CHECKSUMS`). An npm-family URL with the registry layout must be the tarball of exactly
// its name and version, on a registry Options names (origin.go); one that is not, and a
// Cargo.lock registry crate without a checksum, gets Mismatch, which the precheck blocks.
// Entries of one name and version that differ in hash or mismatch are kept apart by the
// dedupe, so a second, smuggled copy is not hidden behind a clean first one.
//
// # What counts as a package
//
//   - Every entry a package manager would fetch from a registry is a Package with the real
//     registry name: npm aliases (`string-width-cjs` → `npm:string-width@4.2.0`) are reported
//     as `string-width`, scoped npm names are kept as they are.
//   - Entries that cannot be looked up by name and version — git, file, path, link, tarball
//     URL, editable and direct-URL dependencies, and requirements.txt lines that are not pinned
//     with `==` — are reported with Uncheckable set and a Reason saying what they are. They are
//     never dropped: the precheck must see them to report an incomplete verdict. This includes
//     file:/link: directories inside the project tree that are not declared workspaces (vite's
//     109 playground fixtures, for instance) and, in a pip report, the local project directory
//     itself (pip does not say which directory is "the project").
//   - The project's own packages are not dependencies and are left out: the root of a
//     package-lock.json and its workspaces (keys matched by the root's `workspaces` globs),
//     yarn `workspace:` resolutions, pnpm importers and `link:` to another importer, uv's
//     project and `[manifest] members`, a Gemfile.lock `PATH` with `remote: .`, a Pipfile.lock
//     editable `path: "."`, and Cargo.lock crates without a `source` (Cargo writes no source
//     exactly for workspace members and path crates: code in the user's tree, never fetched;
//     Cargo.lock does not say which of the two a crate is).
//   - Identical (ecosystem, name, version) entries are reported once, at their first line;
//     uncheckable entries stay apart when their Reason differs (one package at two git
//     commits is two things to see). A package is Dev only if every occurrence is
//     development-only, and only where the lockfile records it (npm, pnpm — for v9 computed
//     from importers' devDependencies through snapshots —, Pipfile.lock, poetry and pdm
//     groups other than main/default). yarn.lock, Gemfile.lock, Cargo.lock, uv.lock and pip
//     reports do not record it.
//
// # Formats and libraries
//
// google/osv-scalibr's extractors are the reference. Two are wrapped directly:
// requirements.txt (scalibr follows -r includes, continuations, hashes, markers; we add the
// lines it skips and refuse unpinned ones) and Gemfile.lock (scalibr's spec-line grammar,
// post-processed to know each entry's section). The others are decoded here with the same
// decoders scalibr uses (encoding/json, BurntSushi/toml, yaml.v3), because scalibr's
// extractors discard the field that says where a package comes from (npm `resolved` and
// workspace keys, yarn `resolution`, pnpm `resolution` and importers, poetry/uv/pdm/Cargo
// `source`, Pipfile.lock git/path entries): without it git, file and workspace entries are
// dropped silently or reported as registry packages. TestScalibrAgreement runs scalibr over
// every fixture and real lockfile and checks that each package it reports is reported here
// too, except the project's own packages listed above. pip's `--report` JSON has no scalibr
// extractor. pnpm-lock.yaml is read by a line reader for the YAML subset pnpm writes, with
// yaml.v3 as the fallback (see pnpm.go); it keeps a 1,400-package check within budget.
//
// Every parser has a fuzz target (`make fuzz`); panics in third-party decoders are turned
// into errors naming the file.
package lockfile
