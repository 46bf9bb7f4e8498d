package managers

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A starter kit or a dlx'd tool runs with the user agent of the manager that
// runs it, as bare: its release from the host's installation, node's from its
// headers.
func TestRunUserAgent(t *testing.T) {
	env := testEnv(t, nil)
	needNodeHeaders(t, env)
	nodedir, _ := NodeHeadersDir(env)
	node := nodeRelease(nodedir)
	if node == "" {
		t.Fatalf("no node release in %s's headers", nodedir)
	}
	bin := fakeHostPnpm(t, t.TempDir(), "pnpm", "10.99.1")
	env.Environ = append(env.Environ, "PATH="+bin+":"+env.Getenv("PATH"))
	for _, tc := range []struct {
		manager string
		args    []string
		want    string
	}{
		{"pnpm", []string{"create", "vite", "app"}, `^pnpm/10\.99\.1 npm/\? node/v` + regexp.QuoteMeta(node) + ` linux \S+$`},
		{"pnpm", []string{"dlx", "cowsay", "hi"}, `^pnpm/10\.99\.1 npm/\? node/v`},
		{"npm", []string{"create", "vite@latest", "app"}, `^npm(/[0-9][^ ]*)? node/v` + regexp.QuoteMeta(node) + ` linux \S+ workspaces/false$`},
		{"yarn", []string{"create", "vite", "app"}, `^yarn(/[0-9][^ ]*)? npm/\? node/v`},
	} {
		m, _ := Lookup(tc.manager)
		p, err := m.Plan(tc.args, env)
		if err != nil {
			if tc.manager == "yarn" && strings.Contains(err.Error(), "yarn") {
				t.Logf("skipped yarn: %v", err)
				continue
			}
			t.Fatalf("%s %v: %v", tc.manager, tc.args, err)
		}
		if p.Steps.Run == nil {
			t.Fatalf("%s %v: no run step", tc.manager, tc.args)
		}
		i := slices.IndexFunc(p.Steps.Run.Env, func(e string) bool { return strings.HasPrefix(e, "npm_config_user_agent=") })
		if i < 0 {
			t.Errorf("%s %v: the run has no user agent: %q", tc.manager, tc.args, p.Steps.Run.Env)
			continue
		}
		if ua := strings.TrimPrefix(p.Steps.Run.Env[i], "npm_config_user_agent="); !regexp.MustCompile(tc.want).MatchString(ua) {
			t.Errorf("%s %v: user agent %q, want %s", tc.manager, tc.args, ua, tc.want)
		}
	}
}
