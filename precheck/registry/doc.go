// Package registry fetches the npm registry metadata the precheck needs and a
// lockfile does not carry, or carries only as the project's claim: when each version
// was published (for the policy's min_release_age), whether it runs install scripts,
// and the hash of its tarball (dist.integrity and dist.shasum, as SRI), which a
// lockfile's pinned hash must equal.
//
// It reads the full packument (GET <registry>/<name>, Accept: application/json)
// because only the full document has the "time" map. A Client with Abbreviated set
// reads the "application/vnd.npm.install-v1+json" document instead — hashes and
// hasInstallScript, no publish times, a fraction of the size — for callers that only
// compare hashes; it has a cache of its own. The decoder keeps only "time" and each
// version's scripts/gypfile flags and dist hashes, so a 20 MB packument costs its
// transfer and one streaming parse, not its size in memory.
//
// Facts about a published version never change (npm forbids republishing a version),
// so the on-disk cache keeps them per package and a lookup whose versions are all
// cached does not touch the network; a package with a version not yet cached is
// fetched again, conditionally (If-None-Match / If-Modified-Since) when the registry
// sent an ETag or Last-Modified. Entries written before the cache kept hashes (an
// older schema) are fetched again in full.
package registry
