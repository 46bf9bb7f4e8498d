package managers

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseNpmArgv: any argv parses without panicking, every argument is either an
// option token or a positional (in order), and the classification is stable.
func FuzzParseNpmArgv(f *testing.F) {
	for _, seed := range []string{"install lodash", "--prefix d i x", "-gD i", "--reg=u isnt", "-- install", "--tag -- i", "exec -p a -- b -c", "--no-no-global i", "-C"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		a := parseNpmArgv(args)
		if len(a.optTokens)+len(a.positionals) != len(args)-count(args, a) {
			t.Fatalf("%q: %d option tokens + %d positionals from %d args", args, len(a.optTokens), len(a.positionals), len(args))
		}
		b := parseNpmArgv(slices.Clone(args))
		if !slices.Equal(a.positionals, b.positionals) {
			t.Fatalf("unstable parse of %q", args)
		}
		npmCommand(a)
		pnpmSpec.parse(args)
		parseYarnArgv(args)
	})
}

// count is the number of "--" terminators that are neither options nor positionals.
func count(args []string, a *npmArgv) int {
	if a.afterDashes < 0 {
		return 0
	}
	for _, x := range args {
		if len(x) >= 2 && strings.Trim(x, "-") == "" {
			return 1
		}
	}
	return 0
}

// FuzzNpmrcPublic: no secret value ever survives into the public rendering.
func FuzzNpmrcPublic(f *testing.F) {
	f.Add("//r.example/:_authToken", "tok123")
	f.Add("_auth", "dXNlcjpw")
	f.Add("//h/p/:_password", "cGFzcw==")
	f.Fuzz(func(t *testing.T, key, secret string) {
		if len(secret) < 4 || strings.ContainsAny(key+secret, "\n\r=") || !isSecretKey(key) {
			return
		}
		f := parseNpmrc([]byte("registry=https://r.example/\n"+key+"="+secret+"\n"), "x", Env{})
		_, public, _ := renderNpmrc(f, true)
		if strings.Contains(string(public), secret) {
			t.Fatalf("public npmrc leaks %q:\n%s", secret, public)
		}
	})
}
