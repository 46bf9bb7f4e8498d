package managers

import "testing"

// npm-package-arg takes a spec ending in .tgz, .tar.gz or .tar as a file (a
// tarball in the project, which is attacker input): `npm install x.tgz` on the
// command line, or `"x": "x.tgz"` in package.json, is a file dependency and keeps
// the two steps, as `file:` does. The twin: a registry name and range still fetch
// in the resolve step.
func TestNpmFetchesInResolveTarballNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		args  []string
		want  bool
	}{
		{"tarball name on the command line", map[string]string{"package.json": `{}`, "evil.tgz": "x"}, []string{"install", "evil.tgz"}, false},
		{"tar name on the command line", map[string]string{"package.json": `{}`}, []string{"install", "evil.tar"}, false},
		{"tarball in package.json", map[string]string{"package.json": `{"dependencies":{"x":"evil.tgz"}}`}, []string{"install", "a"}, false},
		{"tar.gz in package.json", map[string]string{"package.json": `{"dependencies":{"x":"evil.TAR.GZ"}}`}, []string{"install", "a"}, false},
		{"twin: registry names", map[string]string{"package.json": `{"dependencies":{"x":"^1.0.0"}}`}, []string{"install", "tgz@1.0.0", "a"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, tc.files)
			got := npmFetchesInResolve(tc.args[0], tc.args[1:], env.Dir, "package-lock.json", nil, nil)
			if got != tc.want {
				t.Errorf("fetches in resolve = %v, want %v", got, tc.want)
			}
		})
	}
}
