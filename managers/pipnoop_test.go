package managers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func pipNoopProject(t *testing.T, edit func(files, links map[string]string)) string {
	t.Helper()
	const site = ".venv/lib/python3.11/site-packages/"
	files := map[string]string{
		".venv/pyvenv.cfg": "home = /usr/bin\nversion = 3.11.7\n",
		"requirements.txt": "# pinned by pip-compile\nrequests==2.31.0 \\\n    --hash=sha256:aa\nidna==3.6  # via requests\nurllib3 == 2.1.0\n",
		site + "requests-2.31.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n" +
			"Requires-Dist: idna (<4,>=2.5)\nRequires-Dist: urllib3<3,>=1.21.1\n" +
			"Requires-Dist: PySocks!=1.5.7,>=1.5.6; extra == \"socks\"\n" +
			"Requires-Dist: colorama; sys_platform == \"win32\"\n" +
			"Requires-Dist: importlib-metadata; python_version < \"3.8\"\n\nLong description: Requires-Dist: evil\n",
		site + "idna-3.6.dist-info/METADATA":      "Metadata-Version: 2.1\nName: idna\nVersion: 3.6\n",
		site + "urllib3-2.1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: urllib3\nVersion: 2.1.0\n",
		site + "pip-23.0.dist-info/METADATA":      "Metadata-Version: 2.1\nName: pip\nVersion: 23.0\n",
	}
	links := map[string]string{}
	if edit != nil {
		edit(files, links)
	}
	return writeNoopTree(t, files, links)
}

func TestPipUpToDate(t *testing.T) {
	const site = ".venv/lib/python3.11/site-packages/"
	tests := []struct {
		name string
		edit func(files, links map[string]string)
		want bool
		why  string
	}{
		{name: "every pin installed", want: true},
		{name: "a requirement added", edit: func(f, _ map[string]string) {
			f["requirements.txt"] += "six==1.16.0\n"
		}, why: "six is not installed"},
		{name: "a pin changed", edit: func(f, _ map[string]string) {
			f["requirements.txt"] = strings.Replace(f["requirements.txt"], "idna==3.6", "idna==3.7", 1)
		}, why: "idna 3.6 is installed, the requirements pin 3.7"},
		{name: "an unpinned requirement", edit: func(f, _ map[string]string) {
			f["requirements.txt"] += "six>=1\n"
		}, why: "not a pinned requirement"},
		{name: "an extra", edit: func(f, _ map[string]string) {
			f["requirements.txt"] = strings.Replace(f["requirements.txt"], "requests==", "requests[socks]==", 1)
		}, why: "not a pinned requirement"},
		{name: "a marker", edit: func(f, _ map[string]string) {
			f["requirements.txt"] += "six==1.16.0; python_version > \"3\"\n"
		}, why: "not a pinned requirement"},
		{name: "an option line", edit: func(f, _ map[string]string) {
			f["requirements.txt"] = "--extra-index-url https://x.example/simple\n" + f["requirements.txt"]
		}, why: "not a pinned requirement"},
		{name: "an editable", edit: func(f, _ map[string]string) {
			f["requirements.txt"] += "-e .\n"
		}, why: "not a pinned requirement"},
		{name: "a URL", edit: func(f, _ map[string]string) {
			f["requirements.txt"] += "six @ https://x.example/six.whl\n"
		}, why: "not a pinned requirement"},
		{name: "a dependency not pinned", edit: func(f, _ map[string]string) {
			f["requirements.txt"] = strings.Replace(f["requirements.txt"], "idna==3.6  # via requests\n", "", 1)
		}, why: "dependency idna is not pinned"},
		{name: "a dependency pinned outside its range", edit: func(f, _ map[string]string) {
			f["requirements.txt"] = strings.Replace(f["requirements.txt"], "idna==3.6", "idna==4.0", 1)
			f[site+"idna-3.6.dist-info/METADATA"] = "Name: idna\nVersion: 4.0\n"
		}, why: "does not accept the pinned 4.0"},
		{name: "a dependency marker for this python", edit: func(f, _ map[string]string) {
			f[site+"requests-2.31.0.dist-info/METADATA"] = strings.Replace(f[site+"requests-2.31.0.dist-info/METADATA"], `python_version < "3.8"`, `python_version >= "3.8"`, 1)
		}, why: "dependency importlib-metadata is not pinned"},
		{name: "a marker it does not read", edit: func(f, _ map[string]string) {
			f[site+"requests-2.31.0.dist-info/METADATA"] = strings.Replace(f[site+"requests-2.31.0.dist-info/METADATA"], `sys_platform == "win32"`, `implementation_name == "pypy"`, 1)
		}, why: "marker"},
		{name: "installed record missing", edit: func(f, _ map[string]string) {
			delete(f, site+"urllib3-2.1.0.dist-info/METADATA")
		}, why: "urllib3 is not installed"},
		{name: "PEP 440 equal versions", edit: func(f, _ map[string]string) {
			f["requirements.txt"] = strings.Replace(f["requirements.txt"], "idna==3.6", "idna==3.6.0", 1)
		}, want: true},
		{name: "no venv", edit: func(f, _ map[string]string) {
			for k := range f {
				if strings.HasPrefix(k, site) {
					delete(f, k)
				}
			}
		}, why: "not a directory"},
		// A hostile checkout: records that claim the pins over something else.
		{name: "hostile: dist-info is a link out of the project", edit: func(f, l map[string]string) {
			delete(f, site+"idna-3.6.dist-info/METADATA")
			l[site+"idna-3.6.dist-info"] = "/usr/lib/python3/dist-packages"
		}, why: "not a directory"},
		{name: "hostile: METADATA is a link", edit: func(f, l map[string]string) {
			delete(f, site+"idna-3.6.dist-info/METADATA")
			l[site+"idna-3.6.dist-info/METADATA"] = "/etc/passwd"
		}, why: "not a regular file"},
		{name: "hostile: requirements file is a link", edit: func(f, l map[string]string) {
			delete(f, "requirements.txt")
			l["requirements.txt"] = "/etc/passwd"
		}, why: "not a regular file"},
		{name: "hostile: a package recorded twice", edit: func(f, _ map[string]string) {
			f[site+"idna-9.9.dist-info/METADATA"] = "Name: IDNA\nVersion: 9.9\n"
		}, why: "installed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := pipNoopProject(t, tt.edit)
			got, why := PipUpToDate(dir, ".venv", []string{"requirements.txt"})
			if got != tt.want || !strings.Contains(why, tt.why) {
				t.Errorf("PipUpToDate = %v, %q; want %v, containing %q", got, why, tt.want, tt.why)
			}
		})
	}
}

func TestPipMarkerEval(t *testing.T) {
	e := pipMarkerEnv{python: "3.11"}
	for marker, want := range map[string]string{
		`extra == "socks"`:                                    "false",
		`sys_platform == "win32"`:                             "false",
		`platform_system != "Windows"`:                        "true",
		`python_version < "3.8"`:                              "false",
		`python_version >= "3.8" and os_name == "posix"`:      "true",
		`sys_platform == "win32" or python_version >= "3.10"`: "true",
		`"win32" == sys_platform`:                             "false",
		`implementation_name == "cpython"`:                    "unknown",
		`(python_version < "3.8")`:                            "unknown",
		`python_full_version >= "3.11.2"`:                     "unknown",
	} {
		v, known := e.eval(marker)
		got := "unknown"
		if known {
			got = map[bool]string{true: "true", false: "false"}[v]
		}
		if got != want {
			t.Errorf("eval(%s) = %s, want %s", marker, got, want)
		}
	}
}

func TestPipNoopCheck(t *testing.T) {
	dir := pipNoopProject(t, nil)
	home := t.TempDir()
	env := Env{Dir: dir, Home: home, Environ: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "PIP_INDEX_URL=http://127.0.0.1:1/simple/"}}
	pip, _ := Lookup("pip")
	for _, tc := range []struct {
		args []string
		env  string
		conf string
		want bool
	}{
		{args: []string{"install", "-r", "requirements.txt"}, want: true},
		{args: []string{"install", "--quiet", "--requirement=requirements.txt", "--require-hashes"}, want: true},
		{args: []string{"install", "-r", "requirements.txt", "-U"}},
		{args: []string{"install", "-r", "requirements.txt", "six"}},
		{args: []string{"install", "-r", "requirements.txt", "--extra-index-url", "http://x/"}, want: true},
		{args: []string{"install", "-r", "requirements.txt", "--pre"}},
		{args: []string{"install", "-r", "requirements.txt", "-c", "constraints.txt"}},
		{args: []string{"install", "-r", "requirements.txt", "--force-reinstall"}},
		{args: []string{"install", "-r", "requirements.txt"}, env: "PIP_UPGRADE=1"},
		{args: []string{"install", "-r", "requirements.txt"}, conf: "[install]\nupgrade = true\n"},
		{args: []string{"install", "-r", "requirements.txt"}, conf: "[global]\nindex-url = http://127.0.0.1:1/simple/\n", want: true},
	} {
		e := env
		if tc.env != "" {
			e.Environ = append(e.Environ[:len(e.Environ):len(e.Environ)], tc.env)
		}
		_ = os.RemoveAll(filepath.Join(home, ".config"))
		if tc.conf != "" {
			if err := os.MkdirAll(filepath.Join(home, ".config", "pip"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(home, ".config", "pip", "pip.conf"), []byte(tc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		p, err := pip.Plan(tc.args, e)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if (p.Steps.UpToDate != nil) != tc.want {
			t.Errorf("pip %v (%s %q): UpToDate set = %v, want %v", tc.args, tc.env, tc.conf, p.Steps.UpToDate != nil, tc.want)
			continue
		}
		if tc.want {
			if ok, why := p.Steps.UpToDate(); !ok || len(p.Project.Lockfiles) != 1 || p.Project.Lockfiles[0] != "requirements.txt" {
				t.Errorf("pip %v: UpToDate() = %v %q, Lockfiles %v", tc.args, ok, why, p.Project.Lockfiles)
			}
		}
	}
}
