// Package osvdb is phylum-box's offline OSV database: it imports OSV exports
// (OSV's per-ecosystem all.zip files, or directories of OSV JSON records) into an
// embedded bbolt store keyed by (ecosystem, normalized package name), keeps it up to
// date by downloading the exports, and answers "which advisories affect this package
// version?" without network access and without parsing the export at check time.
//
// Storage. One bbolt bucket per ecosystem; key = normalized name + 0x00 + advisory
// id; value = a compact binary encoding of only what matching and reporting need
// (id, aliases, summary, kind, severity and score computed at import time, the
// ranges and versions that apply to that package). A lookup is one cursor seek and a
// short scan, so checking 1,405 packages is a handful of B+tree descents inside one
// read transaction. A "meta" bucket holds the format version, per-ecosystem counts
// and the time of the last successful import.
//
// Why bbolt and not SQLite: the access pattern is a pure key-prefix lookup with no
// queries, joins or concurrent writers; bbolt is pure Go (no second C library next
// to cgo/libseccomp), opens read-only with a shared flock and serves reads straight
// from the mmap without copying, so a warm check costs microseconds per package.
// Updates never write the live file: a new file is built next to it and renamed
// into place after an fsync, so readers always see a complete database and an
// interrupted or corrupt import leaves the old one untouched.
//
// Matching follows the OSV schema's evaluation algorithm exactly (see match.go),
// with each ecosystem's version ordering from osv-scalibr's semantic package.
package osvdb
