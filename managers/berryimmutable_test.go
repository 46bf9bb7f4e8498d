package managers

import (
	"slices"
	"testing"
)

// yarn refuses --immutable, --frozen-lockfile (its deprecated spelling) and
// --immutable-cache together with the resolve step's --mode=update-lockfile (a
// usage error, exit 1, where bare yarn installs): the first two have no resolve
// step, the cache flag moves to the download, which fills the cache.
func TestYarnBerryImmutableFlags(t *testing.T) {
	env := testEnv(t, map[string]string{
		"package.json": `{"name":"b","packageManager":"yarn@4.18.1"}`,
		"yarn.lock":    berryLock,
	})
	needNodeHeaders(t, env)
	env = withTrustedBerry(t, env)
	release := env.Getenv(trustedBerryEnv)
	yarn, _ := Lookup("yarn")
	for _, c := range []struct {
		args     []string
		resolve  []string // nil: no resolve step
		download []string
	}{
		{[]string{"install"}, []string{"node", release, "install", "--mode=update-lockfile"},
			[]string{"node", release, "install", "--immutable", "--mode=skip-build"}},
		{[]string{"install", "--immutable"}, nil,
			[]string{"node", release, "install", "--immutable", "--mode=skip-build"}},
		{[]string{"install", "--frozen-lockfile"}, nil,
			[]string{"node", release, "install", "--immutable", "--mode=skip-build"}},
		{[]string{"install", "--immutable-cache"}, []string{"node", release, "install", "--mode=update-lockfile"},
			[]string{"node", release, "install", "--immutable", "--mode=skip-build", "--immutable-cache"}},
		{[]string{"install", "--immutable", "--immutable-cache"}, nil,
			[]string{"node", release, "install", "--immutable", "--mode=skip-build", "--immutable-cache"}},
	} {
		p, err := yarn.Plan(c.args, env)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		switch {
		case c.resolve == nil && p.Steps.Resolve != nil:
			t.Errorf("%q: resolve step %q, want none", c.args, p.Steps.Resolve.Args)
		case c.resolve != nil && (p.Steps.Resolve == nil || !slices.Equal(p.Steps.Resolve.Args, c.resolve)):
			t.Errorf("%q: resolve step %v, want %q", c.args, p.Steps.Resolve, c.resolve)
		}
		if p.Steps.Download == nil || !slices.Equal(p.Steps.Download.Args, c.download) {
			t.Errorf("%q: download step %v, want %q", c.args, p.Steps.Download, c.download)
		}
	}
}
