// Package registry fetches the npm registry metadata the precheck needs and a
// lockfile does not carry: when each version was published (for the policy's
// min_release_age) and whether it runs install scripts.
//
// It reads the full packument (GET <registry>/<name>, Accept: application/json)
// because only the full document has the "time" map; the abbreviated
// "application/vnd.npm.install-v1+json" document has hasInstallScript but no publish
// times. The decoder keeps only "time" and each version's scripts/gypfile flags, so a
// 20 MB packument costs its transfer and one streaming parse, not its size in memory.
//
// Facts about a published version never change (npm forbids republishing a version),
// so the on-disk cache keeps them per package and a lookup whose versions are all
// cached does not touch the network; a package with a version not yet cached is
// fetched again, conditionally (If-None-Match / If-Modified-Since) when the registry
// sent an ETag or Last-Modified.
package registry
