package managers

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPipEgress(t *testing.T) {
	pipSiteConfig = filepath.Join(t.TempDir(), "none")
	pypi := []string{"pypi.org:443", "files.pythonhosted.org:443"}
	tests := []struct {
		name    string
		files   map[string]string // relative to the project; "~/" to the home
		environ []string
		args    []string
		want    []string
	}{
		{"nothing configured: PyPI", nil, nil, []string{"install", "x"}, pypi},
		{"-i replaces PyPI", nil, nil, []string{"install", "-i", "https://mirror.example/simple", "x"}, []string{"mirror.example:443"}},
		{"--index-url= with a port and credentials", nil, nil, []string{"install", "--index-url=http://u:p@Idx.Example:8080/simple", "x"}, []string{"idx.example:8080"}},
		{"--extra-index-url adds", nil, nil, []string{"install", "--extra-index-url", "https://extra.example/simple", "x"}, append([]string{"extra.example:443"}, pypi...)},
		{"--no-index with find-links", nil, nil, []string{"install", "--no-index", "-f", "https://links.example/", "-f", "./wheels", "x"}, []string{"links.example:443"}},
		{"environment", nil, []string{"PIP_INDEX_URL=http://127.0.0.1:3141/simple/", "PIP_EXTRA_INDEX_URL=https://a.example/s https://b.example:8443/s"}, []string{"install", "x"},
			[]string{"127.0.0.1:3141", "a.example:443", "b.example:8443"}},
		{"PIP_NO_INDEX", nil, []string{"PIP_NO_INDEX=yes"}, []string{"install", "./local"}, nil},
		{"user config with continuation lines", map[string]string{"~/.config/pip/pip.conf": "[global]\nindex-url = https://cfg.example/simple\nextra-index-url =\n    https://c1.example/s\n    https://c2.example/s\n[freeze]\nindex-url = https://other-section.example/\n"},
			nil, []string{"install", "x"}, []string{"cfg.example:443", "c1.example:443", "c2.example:443"}},
		{"venv config", map[string]string{".venv/pip.conf": "[install]\nindex_url = https://venv.example/simple\n"}, nil, []string{"install", "x"}, []string{"venv.example:443"}},
		{"requirements file and nested files", map[string]string{
			"requirements.txt": "--index-url https://req.example/simple\n-r more/dev.txt # comment\nfoo @ https://direct.example/foo-1.0.tar.gz\n",
			"more/dev.txt":     "--extra-index-url=https://nested.example/s\n-e git+https://git.example/x.git#egg=x\nbar==1 \\\n  --hash=sha256:00\n-r ../requirements.txt\n",
		}, nil, []string{"install", "-r", "requirements.txt"}, []string{"req.example:443", "nested.example:443", "git.example:443", "direct.example:443"}},
		{"URL requirements on the command line", nil, nil, []string{"install", "https://files.example/p-1.tar.gz", "q@git+https://git.example:8443/q", "-e", "./local"},
			append([]string{"files.example:443", "git.example:8443"}, pypi...)},
		{"pypi.org as a mirror keeps its file host", nil, nil, []string{"install", "-i", "https://pypi.org/simple", "x"}, pypi},
		// pip asks no index with --no-index: an index the venv's pip.conf (a project
		// file) names must not be reachable either, from a step that runs the venv's
		// code with the user's credentials.
		{"--no-index: no index reachable, whoever names it", map[string]string{
			".venv/pip.conf":         "[global]\nindex-url = http://127.0.0.1:9/simple/\nextra-index-url = https://venv-extra.example/s\nfind-links = https://venv-links.example/\n",
			"~/.config/pip/pip.conf": "[global]\nindex-url = https://user.example/simple\n",
			"requirements.txt":       "--extra-index-url https://req.example/s\nfoo @ https://direct.example/foo-1.0.tar.gz\n",
		}, []string{"PIP_EXTRA_INDEX_URL=https://env.example/s"}, []string{"install", "--no-index", "-i", "https://cli.example/simple", "-r", "requirements.txt"},
			[]string{"direct.example:443", "venv-links.example:443"}},
		{"no-index in the venv's pip.conf", map[string]string{".venv/pip.conf": "[install]\nno-index = true\nextra-index-url = https://venv-extra.example/s\n"}, nil, []string{"install", "-f", "https://links.example/", "x"}, []string{"links.example:443"}},
	}
	pip, _ := Lookup("pip")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{".venv/pyvenv.cfg": "home = /usr/bin\n"}
			var home map[string]string
			for k, v := range tc.files {
				if rel, ok := strings.CutPrefix(k, "~/"); ok {
					if home == nil {
						home = map[string]string{}
					}
					home[rel] = v
				} else {
					files[k] = v
				}
			}
			env := testEnv(t, files)
			for rel, v := range home {
				writeFile(t, filepath.Join(env.Home, rel), v)
			}
			env.Environ = append(env.Environ, tc.environ...)
			p, err := pip.Plan(tc.args, env)
			if err != nil {
				t.Fatal(err)
			}
			if p.Steps.Resolve.Network {
				t.Error("the resolve step has the network")
			}
			if !slices.Equal(p.Steps.Resolve.Egress, tc.want) {
				t.Errorf("Egress = %q, want %q", p.Steps.Resolve.Egress, tc.want)
			}
		})
	}
}

func TestPipResolveDropsProxyOption(t *testing.T) {
	pip, _ := Lookup("pip")
	env := testEnv(t, map[string]string{".venv/pyvenv.cfg": ""})
	p, err := pip.Plan([]string{"install", "--proxy", "http://corp:3128", "x"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(p.Steps.Resolve.Args, "--proxy") || slices.Contains(p.Steps.Resolve.Args, "http://corp:3128") {
		t.Errorf("resolve keeps --proxy, which would bypass the egress proxy: %q", p.Steps.Resolve.Args)
	}
}

func TestPoetryEgress(t *testing.T) {
	head := "[tool.poetry]\nname = \"p\"\nversion = \"0.1.0\"\n"
	tests := []struct {
		name      string
		pyproject string
		config    string
		environ   []string
		args      []string
		want      []string
	}{
		{"no sources: PyPI", head, "", nil, []string{"lock"}, []string{"pypi.org:443", "files.pythonhosted.org:443"}},
		{"default source replaces PyPI", head + "[[tool.poetry.source]]\nname = \"x\"\nurl = \"http://127.0.0.1:8080/simple/\"\ndefault = true\n", "", nil, []string{"lock"}, []string{"127.0.0.1:8080"}},
		{"priority default", head + "[[tool.poetry.source]]\nname = \"x\"\nurl = \"https://x.example/simple/\"\npriority = \"default\"\n", "", nil, []string{"install"}, []string{"x.example:443"}},
		{"secondary source, url and git deps", head + "[tool.poetry.dependencies]\na = { url = \"https://u.example/a.tar.gz\" }\nb = [{ git = \"https://g.example/b.git\" }]\n[tool.poetry.group.dev.dependencies]\nc = { git = \"https://d.example/c.git\" }\n[[tool.poetry.source]]\nname = \"s\"\nurl = \"https://s.example/simple/\"\nsecondary = true\n",
			"", nil, []string{"update"}, nil},
		{"config and environment repositories, add with a URL", head, "[repositories.corp]\nurl = \"https://corp.example/simple/\"\n", []string{"POETRY_REPOSITORIES_ENV_URL=https://env.example/simple/"}, []string{"add", "git+https://add.example/x.git"},
			[]string{"add.example:443", "corp.example:443", "env.example:443", "pypi.org:443", "files.pythonhosted.org:443"}},
	}
	poetry, _ := Lookup("poetry")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, map[string]string{"pyproject.toml": tc.pyproject})
			if tc.config != "" {
				writeFile(t, filepath.Join(env.Home, ".config", "pypoetry", "config.toml"), tc.config)
			}
			env.Environ = append(env.Environ, tc.environ...)
			p, err := poetry.Plan(tc.args, env)
			if err != nil {
				t.Fatal(err)
			}
			if p.Steps.Resolve.Network {
				t.Error("the resolve step has the network")
			}
			want := tc.want
			if want == nil {
				want = []string{"s.example:443", "u.example:443", "g.example:443", "d.example:443", "pypi.org:443", "files.pythonhosted.org:443"}
				// Map iteration: compare as sets.
				got := slices.Clone(p.Steps.Resolve.Egress)
				slices.Sort(got)
				want = slices.Clone(want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("Egress = %q, want %q", p.Steps.Resolve.Egress, want)
				}
				return
			}
			if !slices.Equal(p.Steps.Resolve.Egress, want) {
				t.Errorf("Egress = %q, want %q", p.Steps.Resolve.Egress, want)
			}
		})
	}
}
