package lockfile

import "testing"

// npm reads "v1.2.3" and "=1.2.3" as the version 1.2.3 (node-semver loose); such
// a lockfile entry is a registry package to check, not a local directory.
func TestNpmLooseVersionIsAVersion(t *testing.T) {
	for _, v := range []string{"1.2.3", "v1.2.3", "=1.2.3", "v=1.2.3-beta.1", "1.2.3beta"} {
		if r := npmVersionOrigin(v); r != "" {
			t.Errorf("%q: %s", v, r)
		}
	}
	for _, v := range []string{"file:../x", "github:a/b", "vendor", "v1", "../v1.2.3"} {
		if r := npmVersionOrigin(v); r == "" {
			t.Errorf("%q taken for a version", v)
		}
	}
}

func TestNpmLockVersion(t *testing.T) {
	for in, want := range map[string]string{"v4.17.11": "4.17.11", "=4.17.11": "4.17.11", " v=1.0.0-rc.1 ": "1.0.0-rc.1", "4.17.11": "4.17.11", "file:x": "file:x", "vendor": "vendor"} {
		if got := npmLockVersion(in); got != want {
			t.Errorf("npmLockVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
