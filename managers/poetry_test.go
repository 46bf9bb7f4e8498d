package managers

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPoetryPlan(t *testing.T) {
	project := map[string]string{"pyproject.toml": "[tool.poetry]\nname = \"p\"\nversion = \"0.1.0\"\n"}
	tests := []struct {
		name    string
		args    []string
		want    string
		resolve string // substring of Resolve.Args
		outputs []string
		build   bool
	}{
		{"install", []string{"install"}, "plan", "lock --no-update", []string{"poetry.lock", ".venv/"}, true},
		{"sync", []string{"sync"}, "plan", "lock --no-update", []string{"poetry.lock", ".venv/"}, true},
		{"add", []string{"add", "requests"}, "plan", "add requests --lock", []string{"poetry.lock", ".venv/", "pyproject.toml"}, true},
		{"remove", []string{"remove", "requests"}, "plan", "remove requests --lock", []string{"poetry.lock", ".venv/", "pyproject.toml"}, true},
		{"update", []string{"update"}, "plan", "update --lock", []string{"poetry.lock", ".venv/"}, true},
		{"lock", []string{"lock"}, "plan", "lock", []string{"poetry.lock"}, false},
		{"show passes through", []string{"show"}, "passthrough", "", nil, false},
		{"run passes through", []string{"run", "pytest"}, "passthrough", "", nil, false},
		{"dry run passes through", []string{"install", "--dry-run"}, "passthrough", "", nil, false},
		{"--directory", []string{"-C", "x", "install"}, "refused: -C", "", nil, false},
	}
	poetry, _ := Lookup("poetry")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, project)
			p, err := poetry.Plan(tc.args, env)
			got := planOutcome(p, err)
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("Plan(%q) = %s, want %s…", tc.args, got, tc.want)
			}
			if tc.want != "plan" {
				return
			}
			if r := strings.Join(p.Steps.Resolve.Args, " "); !strings.Contains(r, tc.resolve) || !strings.HasPrefix(p.Steps.Resolve.Name, "poetry ") {
				t.Errorf("Resolve = %s, want %s", r, tc.resolve)
			}
			if !slices.Equal(p.Project.Outputs, tc.outputs) {
				t.Errorf("Outputs = %q, want %q", p.Project.Outputs, tc.outputs)
			}
			if (p.Steps.Build != nil) != tc.build {
				t.Fatalf("Build = %+v", p.Steps.Build)
			}
			if p.Steps.Build != nil && (p.Steps.Build.Network || p.Steps.Build.Credentials || !p.Steps.Download.Network || !p.Steps.Download.Credentials) {
				t.Error("network and credentials belong to the download only")
			}
			if !slices.Contains(p.Steps.Resolve.Env, "POETRY_VIRTUALENVS_CREATE=false") {
				t.Error("the resolve step must not create a venv")
			}
		})
	}
}

func TestPoetryActiveVenvOutside(t *testing.T) {
	env := testEnv(t, map[string]string{"pyproject.toml": ""})
	env.Environ = append(env.Environ, "VIRTUAL_ENV=/home/x/.cache/pypoetry/virtualenvs/p-abc")
	poetry, _ := Lookup("poetry")
	if got := planOutcome(poetry.Plan([]string{"install"}, env)); !strings.HasPrefix(got, "refused: the active virtualenv") {
		t.Errorf("got %s", got)
	}
}

// TestPoetryNetworkStepsRunNoProjectProgram: the download runs the system python3,
// isolated (-I -S), outside the project; no networked step finds a program of the
// project on PATH, even with the project's .venv activated (case 2 of issue 14).
func TestPoetryNetworkStepsRunNoProjectProgram(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	env := testEnv(t, map[string]string{
		"pyproject.toml":        "[tool.poetry]\nname = \"p\"\nversion = \"0.1.0\"\n",
		".venv/pyvenv.cfg":      "home = /usr/bin\n",
		".venv/bin/python3":     "#!/bin/sh\n",
		".venv/bin/poetry":      "#!/bin/sh\n",
		"base64.py":             "raise SystemExit('imported')\n",
		"sub/.python-version":   "3.11\n",
		"sub/pyproject.toml.no": "",
		"poetry.toml":           "[virtualenvs]\nin-project = true\n[certificates.private]\ncert = false\n",
	})
	venvBin := filepath.Join(env.Dir, ".venv", "bin")
	env.Environ = append(env.Environ, "VIRTUAL_ENV="+filepath.Join(env.Dir, ".venv"),
		"PATH="+venvBin+":bin:"+os.Getenv("PATH"))
	poetry, _ := Lookup("poetry")
	p, err := poetry.Plan([]string{"install"}, env)
	if err != nil {
		t.Fatal(err)
	}
	d := p.Steps.Download
	if !filepath.IsAbs(d.Args[0]) || within(env.Dir, d.Args[0]) || !isELF(d.Args[0]) {
		t.Errorf("download interpreter = %s, want the system python3", d.Args[0])
	}
	if !slices.Equal(d.Args[1:3], []string{"-I", "-S"}) || d.Dir != "/" {
		t.Errorf("download = %q in %q, want -I -S outside the project", d.Args, d.Dir)
	}
	if strings.Contains(strings.Join(d.Args, " "), "poetry.lock") {
		t.Errorf("the download must read phylum-box's fetch list, not the lockfile: %q", d.Args)
	}
	if p.Steps.Resolve.Args[0] != "/bin/sh" || within(env.Dir, p.Steps.Resolve.Args[3]) {
		t.Errorf("resolve = %q: poetry must be found outside the project", p.Steps.Resolve.Args)
	}
	if !slices.Contains(p.Steps.Resolve.Env, "POETRY_VIRTUALENVS_IN_PROJECT=false") {
		t.Error("poetry lock would take the project's .venv as its environment and run its python")
	}
	hidden := false
	for _, f := range p.Sandbox.Credentials.Files {
		if f.Project == "poetry.toml" {
			hidden = !strings.Contains(string(f.Secret), "certificates") && strings.Contains(string(f.Public), "certificates")
		}
	}
	if !hidden {
		t.Error("the networked steps must not read the project's poetry.toml; the build does")
	}
	for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download} {
		for _, kv := range s.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				for _, dir := range filepath.SplitList(v) {
					if !filepath.IsAbs(dir) || within(env.Dir, dir) {
						t.Errorf("a networked step's PATH has %s", dir)
					}
				}
			}
		}
	}
}

func TestPoetryRefusesCommittedWorkDir(t *testing.T) {
	env := testEnv(t, map[string]string{"pyproject.toml": "", ".phylum-box-poetry/dist/x-1.0-py3-none-any.whl": "x"})
	poetry, _ := Lookup("poetry")
	if got := planOutcome(poetry.Plan([]string{"install"}, env)); !strings.Contains(got, "phylum-box's download dir") {
		t.Errorf("got %s", got)
	}
}

const (
	testHashA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	testHashB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func testPoetryLock(url, reference, files string) string {
	return `# comment
[[package]]
name = "pbox-dep"
version = "1.0"
description = ""
optional = false
python-versions = "*"
files = [
    {file = "pbox_dep-1.0-py3-none-any.whl", hash = "` + testHashA + `"},
]

[[package]]
name = "private-pkg"
version = "2.0"
description = ""
optional = false
python-versions = "*"
files = [` + files + `]

[package.source]
type = "legacy"
url = "` + url + `"
reference = "` + reference + `"

[metadata]
lock-version = "2.0"
`
}

// TestPoetryLockSourceURL: an entry's source URL must be the configured URL of
// its source (the user's config pins it; else the pyproject's), since the
// source's credentials go with its name (case 5 of issue 14).
func TestPoetryLockSourceURL(t *testing.T) {
	okFiles := `{file = "private_pkg-2.0.tar.gz", hash = "` + testHashB + `"}`
	pyproject := "[tool.poetry]\nname = \"p\"\n\n[[tool.poetry.source]]\nname = \"private\"\nurl = \"https://pkgs.example/simple/\"\n"
	tests := []struct {
		name      string
		userCfg   string // config.toml
		lock      string
		mismatch  string // substring of the blocked entry's Mismatch; "" = passes
		wantLine  string
		wantAuth  bool
		pyproject string
	}{
		{name: "configured in pyproject", lock: testPoetryLock("https://pkgs.example/simple", "private", okFiles), wantAuth: true},
		{name: "same URL, other spelling", lock: testPoetryLock("HTTPS://PKGS.example:443/simple/", "Private", okFiles), wantAuth: true},
		{name: "user config pins it", userCfg: "[repositories.private]\nurl = \"https://pkgs.example/simple\"\n", lock: testPoetryLock("https://pkgs.example/simple/", "private", okFiles), wantAuth: true},
		{name: "attacker URL", lock: testPoetryLock("http://127.0.0.1:9/simple", "private", okFiles),
			mismatch: "poetry.lock gives http://127.0.0.1:9/simple", wantLine: "poetry.lock:12"},
		{name: "attacker host, same path", lock: testPoetryLock("https://evil.example/simple", "private", okFiles), mismatch: "credentials go only"},
		{name: "unknown source", lock: testPoetryLock("https://pkgs.example/simple", "other", okFiles), mismatch: "not a source of this project"},
		{name: "no hash", lock: testPoetryLock("https://pkgs.example/simple", "private", `{file = "private_pkg-2.0.tar.gz", hash = ""}`), mismatch: "no sha256 hash"},
		{name: "no files", lock: testPoetryLock("https://pkgs.example/simple", "private", ``), mismatch: "no file hash"},
		{name: "another package's file", lock: testPoetryLock("https://pkgs.example/simple", "private", `{file = "evil-2.0.tar.gz", hash = "`+testHashB+`"}`), mismatch: "not a distribution of private-pkg 2.0"},
		{name: "another version's file", lock: testPoetryLock("https://pkgs.example/simple", "private", `{file = "private_pkg-2.1-py3-none-any.whl", hash = "`+testHashB+`"}`), mismatch: "not a distribution"},
		{name: "an old release's .egg is skipped", lock: testPoetryLock("https://pkgs.example/simple", "private", okFiles+`, {file = "private_pkg-2.0-py2.7.egg", hash = "md5:x"}`), wantAuth: true},
		{name: "a path as file name", lock: testPoetryLock("https://pkgs.example/simple", "private", `{file = "../private_pkg-2.0.tar.gz", hash = "`+testHashB+`"}`), mismatch: "not a distribution"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, map[string]string{"pyproject.toml": pyproject})
			dir := filepath.Join(env.Home, ".config", "pypoetry")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "auth.toml"), []byte("[http-basic.private]\nusername = \"u\"\npassword = \"s3cret\"\n"), 0o600)
			if tc.userCfg != "" {
				os.WriteFile(filepath.Join(dir, "config.toml"), []byte(tc.userCfg), 0o600)
			} else {
				// A step holding credentials reaches only servers the user names (credhosts.go).
				env.Environ = append(env.Environ, "POETRY_REPOSITORIES_PRIVATE_URL=https://pkgs.example/simple/")
			}
			poetry, _ := Lookup("poetry")
			p, err := poetry.Plan([]string{"install"}, env)
			if err != nil {
				t.Fatal(err)
			}
			read := func(rel string) ([]byte, error) {
				switch rel {
				case "poetry.lock":
					return []byte(tc.lock), nil
				case "pyproject.toml":
					return []byte(pyproject), nil
				}
				return nil, os.ErrNotExist
			}
			bad, err := p.Steps.Resolved([]string{"poetry.lock"}, read)
			if err != nil {
				t.Fatal(err)
			}
			if tc.mismatch == "" {
				if len(bad) > 0 {
					t.Fatalf("blocked: %+v", bad)
				}
				var list *poetryFetchPlan
				for _, f := range p.Sandbox.Credentials.Files {
					if f.Home == poetryFetchList {
						if f.Public != nil {
							t.Error("the fetch list holds credentials: the build must not see it")
						}
						if err := json.Unmarshal(f.Secret, &list); err != nil {
							t.Fatal(err)
						}
					}
				}
				if list == nil || len(list.Packages) != 2 {
					t.Fatalf("fetch list = %+v", list)
				}
				src := list.Sources[list.Packages[1].Source]
				if src.URL != "https://pkgs.example/simple/" || src.HasAuth != tc.wantAuth || src.Password != "s3cret" {
					t.Errorf("private source = %+v", src)
				}
				if pypi := list.Sources[list.Packages[0].Source]; pypi.URL != pypiSimple || pypi.HasAuth {
					t.Errorf("PyPI source = %+v", pypi)
				}
				return
			}
			if len(bad) != 1 || bad[0].Name != "private-pkg" || !strings.Contains(bad[0].Mismatch, tc.mismatch) {
				t.Fatalf("blocked = %+v, want private-pkg: …%s…", bad, tc.mismatch)
			}
			if tc.wantLine != "" && bad[0].Source != tc.wantLine {
				t.Errorf("source = %s, want %s", bad[0].Source, tc.wantLine)
			}
			if strings.Contains(bad[0].Mismatch, "s3cret") {
				t.Error("the message shows the password")
			}
		})
	}
}

// TestPoetryPyprojectMovesPinnedSource: a pyproject that moves a source the user
// pinned and holds credentials for is refused before anything runs.
func TestPoetryPyprojectMovesPinnedSource(t *testing.T) {
	pyproject := "[tool.poetry]\nname = \"p\"\n\n[[tool.poetry.source]]\nname = \"private\"\nurl = \"http://127.0.0.1:9/simple/\"\n"
	for _, creds := range []bool{true, false} {
		env := testEnv(t, map[string]string{"pyproject.toml": pyproject})
		env.Environ = append(env.Environ, "POETRY_REPOSITORIES_PRIVATE_URL=https://pkgs.example/simple/")
		if creds {
			env.Environ = append(env.Environ, "POETRY_HTTP_BASIC_PRIVATE_USERNAME=u", "POETRY_HTTP_BASIC_PRIVATE_PASSWORD=s3cret")
		}
		poetry, _ := Lookup("poetry")
		got := planOutcome(poetry.Plan([]string{"install"}, env))
		if creds && !strings.HasPrefix(got, "refused: pyproject.toml:4: source \"private\" is http://127.0.0.1:9/simple/") {
			t.Errorf("with credentials: %s", got)
		}
		if !creds && got != "plan" {
			t.Errorf("without credentials: %s", got)
		}
	}
}

// TestPoetryResolveWritesConfined: the resolve may write poetry.lock (and
// pyproject.toml for add and remove) and nothing else.
func TestPoetryResolveWritesConfined(t *testing.T) {
	pyproject := "[tool.poetry]\nname = \"p\"\n"
	read := func(rel string) ([]byte, error) {
		if rel == "poetry.lock" {
			return []byte("[metadata]\nlock-version = \"2.0\"\n"), nil
		}
		return []byte(pyproject), nil
	}
	poetry, _ := Lookup("poetry")
	for _, tc := range []struct {
		args    []string
		changed []string
		ok      bool
	}{
		{[]string{"install"}, []string{"poetry.lock"}, true},
		{[]string{"install"}, nil, true},
		{[]string{"add", "x"}, []string{"poetry.lock", "pyproject.toml"}, true},
		{[]string{"install"}, []string{"poetry.lock", "pyproject.toml"}, false},
		{[]string{"install"}, []string{"base64.py"}, false},
		{[]string{"install"}, []string{".venv", ".venv/lib/python3.11/site-packages/x.pth"}, false},
		{[]string{"install"}, []string{".phylum-box-poetry", ".phylum-box-poetry/dist/pbox_dep-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"}, false},
	} {
		env := testEnv(t, map[string]string{"pyproject.toml": pyproject})
		p, err := poetry.Plan(tc.args, env)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Steps.Resolved(tc.changed, read)
		var write *ForbiddenWrite
		if tc.ok && err != nil || !tc.ok && !errors.As(err, &write) {
			t.Errorf("%q changing %q: %v", tc.args, tc.changed, err)
		}
	}
}

func TestPoetryBuildInputs(t *testing.T) {
	pyproject := `[tool.poetry]
name = "p"
packages = []
[tool.poetry.dependencies]
python = "^3.9"
requests = {version = "*", extras = ["socks"]}
local = {path = "../local"}
opt = {version = "*", optional = true}
[tool.poetry.group.test.dependencies]
pytest = "*"
[tool.poetry.group.docs]
optional = true
[tool.poetry.group.docs.dependencies]
sphinx = "*"
`
	lock := testPoetryLock("https://x/simple", "x", "") + "\n[[package]]\nname = \"local\"\nversion = \"0.1\"\n[package.source]\ntype = \"directory\"\nurl = \"../local\"\n"
	for _, tc := range []struct {
		opts      []string
		reqs, pin string
	}{
		{nil, "pytest\nrequests[socks]\n", "pbox-dep==1.0\nprivate-pkg==2.0\n"},
		{[]string{"--with=docs"}, "pytest\nrequests[socks]\nsphinx\n", ""},
		{[]string{"--only=test"}, "pytest\n", ""},
		{[]string{"--without=test"}, "requests[socks]\n", ""},
		{[]string{"--only-root"}, "", ""},
	} {
		reqs, pins, root, err := poetryBuildInputs([]byte(pyproject), []byte(lock), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if reqs != tc.reqs || tc.pin != "" && pins != tc.pin || root != "" {
			t.Errorf("%q: reqs %q pins %q root %q", tc.opts, reqs, pins, root)
		}
	}
	if _, _, root, _ := poetryBuildInputs([]byte("[tool.poetry]\nname = \"p\"\n"), nil, nil); root != "1" {
		t.Error("a package project installs its root")
	}
}

func TestDistOf(t *testing.T) {
	for _, tc := range []struct {
		file, name, version string
		ok                  bool
	}{
		{"pbox_dep-1.0-py3-none-any.whl", "pbox-dep", "1.0", true},
		{"Django-4.2.tar.gz", "django", "4.2", true},
		{"zope.interface-6.0-cp311-cp311-manylinux_2_17_x86_64.whl", "zope-interface", "6.0", true},
		{"pbox-dep-1.0.zip", "pbox_dep", "1.0", true},
		{"pbox_dep-1.1-py3-none-any.whl", "pbox-dep", "1.0", false},
		{"evil-1.0.tar.gz", "pbox-dep", "1.0", false},
		{"pbox_dep-1.0.exe", "pbox-dep", "1.0", false},
		{"sub/pbox_dep-1.0.tar.gz", "pbox-dep", "1.0", false},
	} {
		if got := distOf(tc.file, tc.name, tc.version); got != tc.ok {
			t.Errorf("distOf(%s, %s, %s) = %v", tc.file, tc.name, tc.version, got)
		}
	}
}

// TestPoetryBuildEnvIndex: with a default source, the pip Poetry runs for an
// sdist's build requirements asks that source (and Debian's wheels), not PyPI,
// which the resolve step cannot reach (issue 16: `poetry lock` retried it).
func TestPoetryBuildEnvIndex(t *testing.T) {
	src := "[tool.poetry]\nname = \"p\"\n\n[[tool.poetry.source]]\nname = \"Local\"\nurl = \"http://u:pw@127.0.0.1:9/simple\"\n"
	poetry, _ := Lookup("poetry")
	for _, tc := range []struct {
		pyproject, env, want string
	}{
		{src + "default = true\n", "", "PIP_INDEX_URL=http://127.0.0.1:9/simple/"},
		{src + "priority = \"default\"\n", "", "PIP_INDEX_URL=http://127.0.0.1:9/simple/"},
		{src + "secondary = true\n", "", ""},
		{src + "default = true\n", "PIP_INDEX_URL=https://mirror.example/simple/", ""},
	} {
		env := testEnv(t, map[string]string{"pyproject.toml": tc.pyproject})
		if tc.env != "" {
			env.Environ = append(env.Environ, tc.env)
		}
		p, err := poetry.Plan([]string{"lock"}, env)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, kv := range p.Steps.Resolve.Env {
			if strings.HasPrefix(kv, "PIP_INDEX_URL=") {
				got = kv
			}
		}
		if tc.env != "" && got == tc.env {
			got = "" // the user's own, passed through
		}
		if got != tc.want {
			t.Errorf("%q: PIP_INDEX_URL = %q, want %q", tc.pyproject, got, tc.want)
		}
	}
}

// TestPoetryCredentialsOfUsedSources: the networked steps get the http-basic
// credentials of the sources the project uses only — by name, or a source of the
// user's config at the same URL — and no PyPI upload token, from auth.toml,
// config.toml and the environment alike (code `poetry lock` runs could send the
// rest to a server the project names). The twin: the used source's credentials
// are all there.
func TestPoetryCredentialsOfUsedSources(t *testing.T) {
	pyproject := "[tool.poetry]\nname = \"p\"\n\n[[tool.poetry.source]]\nname = \"private\"\nurl = \"https://pkgs.example/simple/\"\n\n" +
		"[[tool.poetry.source]]\nname = \"mirror\"\nurl = \"https://mirror.example/simple\"\n"
	env := testEnv(t, map[string]string{"pyproject.toml": pyproject})
	cfg := filepath.Join(env.Home, ".config", "pypoetry")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"auth.toml": "[http-basic.private]\nusername = \"u\"\npassword = \"priv-s3cret\"\n\n[http-basic.corp]\nusername = \"c\"\npassword = \"corp-s3cret\"\n\n" +
			"[http-basic.byurl]\nusername = \"m\"\npassword = \"byurl-s3cret\"\n\n[pypi-token]\npypi = \"pypi-upload-s3cret\"\n",
		"config.toml": "[repositories.byurl]\nurl = \"https://mirror.example/simple/\"\n\n[repositories.private]\nurl = \"https://pkgs.example/simple/\"\n\n[http-basic.other]\nusername = \"o\"\npassword = \"other-s3cret\"\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(cfg, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env.Environ = append(env.Environ, "POETRY_HTTP_BASIC_CORP_PASSWORD=corp-env-s3cret", "POETRY_PYPI_TOKEN_PYPI=pypi-env-s3cret",
		"POETRY_HTTP_BASIC_PRIVATE_PASSWORD=priv-env-s3cret")
	poetry, _ := Lookup("poetry")
	p, err := poetry.Plan([]string{"install"}, env)
	if err != nil || p.Sandbox.Credentials == nil {
		t.Fatalf("Plan: %v %+v", err, p)
	}
	var secret strings.Builder
	for _, f := range p.Sandbox.Credentials.Files {
		secret.Write(f.Secret)
		secret.WriteString("\n")
	}
	secret.WriteString(strings.Join(p.Sandbox.Credentials.Env, "\n"))
	for _, s := range []string{"corp-s3cret", "other-s3cret", "pypi-upload-s3cret", "corp-env-s3cret", "pypi-env-s3cret"} {
		if strings.Contains(secret.String(), s) {
			t.Errorf("the networked steps get %s, of a source the project does not use or a PyPI token:\n%s", s, secret.String())
		}
	}
	for _, s := range []string{"priv-s3cret", "byurl-s3cret", "priv-env-s3cret", "https://mirror.example/simple/"} {
		if !strings.Contains(secret.String(), s) {
			t.Errorf("the networked steps lack %s, which the project's sources need:\n%s", s, secret.String())
		}
	}
}
