// Package osvgen writes synthetic OSV exports shaped like OSV's real npm all.zip, for
// benchmarks and load tests of the offline database. The data is deterministic for a
// seed, so figures from different machines describe the same input.
//
// Shape, taken from the real records in ../shared/corpus/osv: most records are
// ossf/malicious-packages MAL- records affecting one package (introduced "0", or a
// short versions list), with a details text, CWE-506 entries and one to three
// malicious-packages-origins carrying sha256 digests; the rest are GitHub-reviewed
// GHSA advisories with CVSS vectors, several references and one to four affected
// entries with ECOSYSTEM introduced/fixed ranges.
package osvgen
