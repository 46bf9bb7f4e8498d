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
// interrupted or corrupt import leaves the old one untouched. Updates and imports
// of one database are serialised by a lock file; readers never wait for it.
//
// Import streams: zip entries are inflated and decoded by one worker per CPU (the
// zip's central directory is read first, so a truncated download fails before any
// work, and every entry's CRC-32 is checked); records become compact stored
// entries at once; those are sorted in a bounded arena, spilled to run files when
// it fills, merged and written in key order in small transactions. Memory therefore
// does not grow with the export (a 250,000-record npm export peaks at ~150 MB RSS,
// most of it archive/zip's directory), and leaf pages are packed full.
//
// Import merges the sources over the current database (air-gapped updates, adding
// a directory of records); Update replaces the requested ecosystems wholesale,
// because an OSV export is complete for its ecosystem, and carries the others over.
//
// Matching follows the OSV schema's evaluation algorithm exactly (see match.go),
// with each ecosystem's version ordering from osv-scalibr's semantic package.
package osvdb
