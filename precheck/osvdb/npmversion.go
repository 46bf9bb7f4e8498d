package osvdb

import (
	"strconv"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// npmLooseVersion is node-semver's LOOSE version (re.js): leading "v", "=" and
// white space, numbers that may have leading zeros, a prerelease with or without
// its "-", build metadata. npm reads lockfile and manifest versions this way, and
// real lockfiles hold "v1.2.3" and "=1.2.3".
var npmLooseVersion = lazyre.New(`^[v=\s]*(\d+)\.(\d+)\.(\d+)(?:-?([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\s*$`)

// npmCleanVersion is the version npm means by v (semver.clean with loose: true):
// "v1.2.3", "=1.2.3", " 1.2.3 " and "01.2.3" are 1.2.3, "1.2.3beta" is
// 1.2.3-beta; build metadata, which orders nothing, is dropped. A string that is not
// a version is returned unchanged (and matched as written).
func npmCleanVersion(v string) string {
	m := npmLooseVersion().FindStringSubmatch(v)
	if m == nil {
		return v
	}
	nums := make([]string, 3)
	for i := range nums {
		n, err := strconv.ParseUint(m[i+1], 10, 64)
		if err != nil {
			return v
		}
		nums[i] = strconv.FormatUint(n, 10)
	}
	out := strings.Join(nums, ".")
	if m[4] != "" {
		out += "-" + m[4]
	}
	return out
}

// targetVersion is the version to match as the ecosystem's own tool reads it.
func targetVersion(eco, v string) string {
	if strings.EqualFold(eco, "npm") {
		return npmCleanVersion(v)
	}
	return v
}
