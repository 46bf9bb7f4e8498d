package managers

import (
	"errors"
	"strings"
	"testing"
)

// docTestEnv is a minimal project each manager plans in: the forms a Doc lists
// must behave as documented there.
func docTestEnv(t *testing.T, manager, variant string) Env {
	t.Helper()
	var env Env
	switch manager {
	case "npm", "npx", "pnpm", "pnpx":
		env = testEnv(t, nil)
		needNodeHeaders(t, env)
	case "yarn":
		pm, lock := "yarn@1.22.22", classicLock
		switch variant {
		case string(YarnClassic):
		case string(YarnBerry):
			pm, lock = "yarn@4.5.0", berryLock
		default:
			t.Fatalf("yarn variant %q: want %q or %q", variant, YarnClassic, YarnBerry)
		}
		env = testEnv(t, map[string]string{"package.json": `{"name":"p","packageManager":"` + pm + `"}`, "yarn.lock": lock})
		needNodeHeaders(t, env)
		env = withTrustedBerry(t, env) // berry's networked steps need a yarn berry of the user's
	case "pip", "pip3":
		env = testEnv(t, map[string]string{".venv/pyvenv.cfg": "home = /usr/bin\n", "requirements.txt": "x\n"})
	case "poetry":
		env = testEnv(t, map[string]string{"pyproject.toml": "[tool.poetry]\nname = \"p\"\nversion = \"0.1.0\"\n"})
	case "bundle", "bundler":
		env = testEnv(t, map[string]string{"Gemfile": "source \"https://rubygems.org\"\n"})
	case "cargo":
		env = testEnv(t, map[string]string{"Cargo.toml": "[package]\nname = \"p\"\nversion = \"0.1.0\"\n", "src/main.rs": "fn main() {}\n"})
	default:
		t.Fatalf("no test project for %s: add one to docTestEnv", manager)
	}
	return env
}

// TestManagerDocsMatchPlan: every registered manager documents itself, and what the
// reference says is what Plan does — each intercepted subcommand and alias is
// planned, each refused form is refused with advice, each pass-through example
// passes through.
func TestManagerDocsMatchPlan(t *testing.T) {
	for _, name := range Names() {
		m, _ := Lookup(name)
		t.Run(name, func(t *testing.T) {
			d, ok := m.(Documented)
			if !ok {
				t.Fatalf("%s does not implement Documented", name)
			}
			doc := d.Doc()
			if len(doc.Intercepted) == 0 {
				t.Fatal("no intercepted commands documented")
			}
			envs := map[string]Env{}
			envFor := func(variant string) Env {
				if _, ok := envs[variant]; !ok {
					envs[variant] = docTestEnv(t, name, variant)
				}
				return envs[variant]
			}
			variants := map[string]bool{}
			for _, c := range doc.Intercepted {
				variants[c.Variant] = true
				if c.How == "" {
					t.Errorf("%s %s: no explanation", name, c.Name)
				}
				for _, sub := range append([]string{c.Name}, c.Aliases...) {
					var args []string
					if sub != "" {
						args = append(args, sub)
					}
					args = append(args, c.Args...)
					p, err := m.Plan(args, envFor(c.Variant))
					if err != nil || p == nil || p.Passthrough {
						t.Errorf("%s %s%s: documented as intercepted, Plan gives %s", name, strings.Join(args, " "), inVariant(c.Variant), planOutcome(p, err))
					}
				}
			}
			for _, r := range doc.Refused {
				if r.Form == "" || r.Advice == "" || len(r.Example) == 0 {
					t.Errorf("refused %q: form, example and advice are all needed", r.Form)
					continue
				}
				p, err := m.Plan(r.Example, envFor(r.Variant))
				var ref *Refusal
				if !errors.As(err, &ref) {
					t.Errorf("%s %s%s: documented as refused (%s), Plan gives %s", name, strings.Join(r.Example, " "), inVariant(r.Variant), r.Form, planOutcome(p, err))
				} else if ref.Advice == "" {
					t.Errorf("%s %s: refused without advice", name, strings.Join(r.Example, " "))
				}
			}
			for _, ex := range doc.PassThrough {
				for v := range variants {
					p, err := m.Plan(strings.Fields(ex), envFor(v))
					if err != nil || p == nil || !p.Passthrough {
						t.Errorf("%s %s%s: documented as passing through, Plan gives %s", name, ex, inVariant(v), planOutcome(p, err))
					}
				}
			}
		})
	}
}

func inVariant(v string) string {
	if v == "" {
		return ""
	}
	return " (" + v + ")"
}
