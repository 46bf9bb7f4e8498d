package lockfile

import "testing"

// A local tarball is a file dependency however it is spelt (yarn 1 writes
// "./vendor/x-1.0.0.tgz#sha1" with no file: prefix); a path without one is a
// directory.
func TestNpmOriginLocal(t *testing.T) {
	for ref, want := range map[string]string{
		"./vendor/failer-1.0.0.tgz#c4731165": "local file dependency (./vendor/failer-1.0.0.tgz#c4731165)",
		"../x.tar.gz":                        "local file dependency (../x.tar.gz)",
		"file:deps/x.tgz":                    "local file dependency (file:deps/x.tgz)",
		"./packages/lib":                     "local directory dependency (./packages/lib)",
		"link:../lib":                        "linked local directory (link:../lib)",
	} {
		if got := npmOrigin(ref); got != want {
			t.Errorf("npmOrigin(%q) = %q, want %q", ref, got, want)
		}
	}
}
