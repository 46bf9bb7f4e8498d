package managers

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPipOneRunEligibility(t *testing.T) {
	venv := map[string]string{".venv/pyvenv.cfg": "home = /usr/bin\n", "requirements.txt": "x\n", "localdir/setup.py": ""}
	tests := []struct {
		name    string
		files   map[string]string
		environ []string
		args    []string
		one     bool
	}{
		{"a name", venv, nil, []string{"install", "x"}, true},
		{"pinned", venv, nil, []string{"install", "x==1.0"}, true},
		{"extras and a range", venv, nil, []string{"install", "x[socks, y] >=1.0, <2"}, true},
		{"several, -U, --pre, an index", venv, []string{"PIP_TIMEOUT=5"}, []string{"install", "-U", "--pre", "-i", "https://idx.example/simple", "x", "y~=2.1"}, true},
		{"-r file", venv, nil, []string{"install", "-r", "requirements.txt"}, false},
		{"-e .", venv, nil, []string{"install", "-e", "."}, false},
		{"a local dir", venv, nil, []string{"install", "./localdir"}, false},
		{"a name that is a dir here", venv, nil, []string{"install", "localdir"}, false},
		{"a URL", venv, nil, []string{"install", "git+https://example.com/x.git"}, false},
		{"name @ URL", venv, nil, []string{"install", "x @ https://example.com/x-1.0.tar.gz"}, false},
		{"a marker", venv, nil, []string{"install", "x; python_version > '3'"}, false},
		{"--no-binary", venv, nil, []string{"install", "--no-binary", ":all:", "x"}, false},
		{"--only-binary", venv, nil, []string{"install", "--only-binary", "x", "x"}, false},
		{"--prefer-binary", venv, nil, []string{"install", "--prefer-binary", "x"}, false},
		{"--require-hashes", venv, nil, []string{"install", "--require-hashes", "x==1"}, false},
		{"--target", nil, nil, []string{"install", "--target", "lib", "x"}, false},
		{"--upgrade-strategy eager", venv, nil, []string{"install", "-U", "--upgrade-strategy", "eager", "x"}, false},
		{"PIP_NO_BINARY", venv, []string{"PIP_NO_BINARY=:all:"}, []string{"install", "x"}, false},
		{"PIP_FIND_LINKS", venv, []string{"PIP_FIND_LINKS=/tmp/wheels"}, []string{"install", "x"}, false},
		{"the venv's pip.conf", map[string]string{".venv/pyvenv.cfg": "", ".venv/pip.conf": "[install]\nno-binary = :all:\n"}, nil, []string{"install", "x"}, false},
		{"the venv's pip.conf names an index", map[string]string{".venv/pyvenv.cfg": "", ".venv/pip.conf": "[global]\nindex-url = https://idx.example/simple\n"}, nil, []string{"install", "x"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pipTestPlan(t, tc.files, tc.environ, tc.args)
			if (p.TryFirst != nil) != tc.one {
				t.Fatalf("Plan(%q): one run %v, want %v; notes %q", tc.args, p.TryFirst != nil, tc.one, p.Notes)
			}
			if p.Steps.Download == nil || p.Steps.Build == nil {
				t.Fatal("the plan itself must keep the three steps")
			}
			if !tc.one {
				return
			}
			one := p.TryFirst
			s := one.Steps.Resolve
			args := strings.Join(s.Args, " ")
			if !s.Installs || one.Steps.Download != nil || one.Steps.Build != nil || one.Steps.Fetched != "" || one.Steps.ResolveOutput == nil || one.TryFirst != nil {
				t.Errorf("the one run must be a resolve step that installs, nothing else: %+v", one.Steps)
			}
			if !strings.Contains(args, "--only-binary :all: --report - --quiet") || strings.Contains(args, "--dry-run") ||
				strings.Contains(args, "--ignore-installed") || slices.Contains(s.Args, "setuptools") {
				t.Errorf("one-run args: %s", args)
			}
			if s.Network || !slices.Equal(s.Egress, p.Steps.Resolve.Egress) || !s.Credentials {
				t.Errorf("the one run keeps the resolve step's egress proxy and credentials: network %v egress %q", s.Network, s.Egress)
			}
			if p.Sandbox.Credentials != nil && one.Sandbox.Credentials == p.Sandbox.Credentials {
				t.Error("the attempt shares the plan's credentials (its checks add files to them)")
			}
		})
	}
}

func TestPipFileVersion(t *testing.T) {
	for _, tc := range []struct{ file, name, want string }{
		{"pbox_multi-2.0-py3-none-any.whl", "pbox-multi", "2.0"},
		{"pbox_multi-2.0.tar.gz", "pbox-multi", "2.0"},
		{"pbox-multi-2.0rc1.zip", "pbox-multi", "2.0rc1"},
		{"other-1.0.tar.gz", "pbox-multi", ""},
	} {
		got, _ := pipFileVersion(tc.file, tc.name)
		if got != tc.want {
			t.Errorf("pipFileVersion(%q, %q) = %q, want %q", tc.file, tc.name, got, tc.want)
		}
	}
}

func TestPipOneRunNewer(t *testing.T) {
	const ix = "https://idx.example/simple/"
	files := func(names ...string) []pipLink {
		var out []pipLink
		for _, n := range names {
			out = append(out, pipLink{url: "https://idx.example/f/" + n, file: n, hashes: map[string]string{"sha256": "00"}})
		}
		return out
	}
	report := func(items ...string) *pipOneRunReport {
		// items: "name version [requires_dist;…]"
		var doc pipOneRunReport
		for _, it := range items {
			f := strings.SplitN(it, " ", 3)
			var e pipOneRunItem
			e.Metadata.Name, e.Metadata.Version = f[0], f[1]
			if len(f) == 3 {
				e.Metadata.RequiresDist = strings.Split(f[2], ";;")
			}
			doc.Install = append(doc.Install, e)
		}
		return &doc
	}
	pages := map[string][]pipLink{
		ix + "a/": files("a-1.0-py3-none-any.whl", "a-2.0.tar.gz", "a-3.0b1.tar.gz"),
		ix + "b/": files("b-1.0-py3-none-any.whl", "b-1.0.tar.gz"),
	}
	tests := []struct {
		name  string
		args  []string
		flags map[string]bool
		doc   *pipOneRunReport
		want  string // substring of the reason; "" none
	}{
		{"newer sdist", []string{"a"}, nil, report("a 1.0"), "a 2.0"},
		{"excluded by the requirement", []string{"a<2"}, nil, report("a 1.0"), ""},
		{"excluded by a dependent's requirement", []string{"b"}, nil, report("b 1.0 a (<2)", "a 1.0"), ""},
		{"a dependent's requirement with a marker is not read", []string{"b"}, nil, report("b 1.0 a<2; python_version < \"3\"", "a 1.0"), "a 2.0"},
		{"the newest", []string{"b"}, nil, report("b 1.0"), ""},
		{"a pre-release only with --pre", []string{"a"}, map[string]bool{"pre": true}, report("a 2.0"), "a 3.0b1"},
		{"no pre-release without it", []string{"a"}, nil, report("a 2.0"), ""},
		{"--upgrade of a name not installed by the run", []string{"b"}, map[string]bool{"upgrade": true}, report(), "installed already"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flags := tc.flags
			if flags == nil {
				flags = map[string]bool{}
			}
			pr := &pipResolver{src: &pipSources{indexes: []string{ix}}, pages: pages}
			c := &pipOneRunCheck{pr: pr, a: &pipArgv{args: tc.args, flags: flags, opts: map[string][]string{}}, pre: flags["pre"]}
			got := c.newer(context.Background(), tc.doc)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("newer = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPipOneRunHashMismatch(t *testing.T) {
	const ix = "https://idx.example/simple/"
	pr := &pipResolver{src: &pipSources{indexes: []string{ix}}, pages: map[string][]pipLink{
		ix + "a/": {{url: "https://idx.example/f/a-1.0-py3-none-any.whl", file: "a-1.0-py3-none-any.whl", hashes: map[string]string{"sha256": "aa"}}},
	}}
	c := &pipOneRunCheck{pr: pr}
	if why := c.sameHash(context.Background(), "a", "https://idx.example/f/a-1.0-py3-none-any.whl", "sha256=AA", nil); why != "" {
		t.Errorf("the index's own hash: %s", why)
	}
	if why := c.sameHash(context.Background(), "a", "https://idx.example/f/a-1.0-py3-none-any.whl#sha256=aa", "sha256=bb", nil); !strings.Contains(why, "the index lists aa") {
		t.Errorf("another hash than the index's: %q", why)
	}
}

// pipTestPlan is pip's plan for args in a project of files, with environ added
// to the environment and no site-wide pip.conf.
func pipTestPlan(t *testing.T, files map[string]string, environ, args []string) *Plan {
	t.Helper()
	pipSiteConfig = filepath.Join(t.TempDir(), "none")
	env := testEnv(t, files)
	env.Environ = append(env.Environ, environ...)
	pip, _ := Lookup("pip")
	p, err := pip.Plan(args, env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
