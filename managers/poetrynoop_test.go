package managers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// poetryNoopPyproject was locked by Poetry 1.3.2, whose poetry.lock said
// content-hash = "10878250928419d15f764337ad77dc23898eb98d411d1d29157162f9d5729bde".
const poetryNoopPyproject = `[tool.poetry]
name = "proj"
version = "0.1.0"
description = "Ünïcode \"q\""
authors = ["pbox <pbox@example.invalid>"]
packages = []

[tool.poetry.dependencies]
python = "^3.9"
pboxbench-alpha = "*"
pboxbench-beta = {version = ">=1.0", markers = "sys_platform == 'linux'"}

[tool.poetry.group.dev.dependencies]
pboxbench-gamma = "1.0.0"

[[tool.poetry.source]]
name = "pbox"
url = "http://127.0.0.1:38123/simple/"
default = true

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
`

const poetryNoopHash = "10878250928419d15f764337ad77dc23898eb98d411d1d29157162f9d5729bde"

func poetryNoopLockText(hash string) string {
	pkg := func(name, category, deps string) string {
		return "[[package]]\nname = \"" + name + "\"\nversion = \"1.0.0\"\ndescription = \"\"\ncategory = \"" + category + "\"\noptional = false\npython-versions = \"*\"\nfiles = []\n" +
			deps + "\n[package.source]\ntype = \"legacy\"\nurl = \"http://127.0.0.1:38123/simple\"\nreference = \"pbox\"\n\n"
	}
	return pkg("pboxbench-alpha", "main", "\n[package.dependencies]\npboxbench-delta = \">=1\"\ncolorama = {version = \"*\", markers = \"sys_platform == \\\"win32\\\"\"}\n") +
		pkg("pboxbench-beta", "main", "") + pkg("pboxbench-gamma", "dev", "") + pkg("pboxbench-delta", "main", "") +
		"[metadata]\nlock-version = \"2.0\"\npython-versions = \"^3.9\"\ncontent-hash = \"" + hash + "\"\n"
}

func TestPoetryContentHash(t *testing.T) {
	var py map[string]any
	if _, err := toml.Decode(poetryNoopPyproject, &py); err != nil {
		t.Fatal(err)
	}
	got, ok := poetryContentHash(py["tool"].(map[string]any)["poetry"].(map[string]any))
	if !ok || got != poetryNoopHash {
		t.Errorf("poetryContentHash = %s %v, want Poetry's %s", got, ok, poetryNoopHash)
	}
	var b strings.Builder
	pyJSONString(&b, "é\"\x01😀")
	if want := `"\u00e9\"\u0001\ud83d\ude00"`; b.String() != want {
		t.Errorf("pyJSONString = %s, want %s", b.String(), want)
	}
}

func TestPoetryUpToDate(t *testing.T) {
	const site = ".venv/lib/python3.11/site-packages/"
	dist := func(name string) string { return "Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0.0\n" }
	tests := []struct {
		name    string
		edit    func(files, links map[string]string)
		noRoot  bool
		pyNewer bool
		want    bool
		why     string
	}{
		{name: "installed as locked, no root", noRoot: true, want: true},
		{name: "installed as locked, the root too", want: true},
		{name: "pyproject.toml changed after the root was installed", pyNewer: true, why: "changed since the project itself"},
		{name: "root not installed", edit: func(f, _ map[string]string) {
			delete(f, site+"proj-0.1.0.dist-info/METADATA")
		}, why: "not installed"},
		{name: "a dependency added to pyproject.toml", noRoot: true, edit: func(f, _ map[string]string) {
			f["pyproject.toml"] = strings.Replace(f["pyproject.toml"], `pboxbench-alpha = "*"`, `pboxbench-alpha = "*"`+"\nsix = \"*\"", 1)
		}, why: "content-hash"},
		{name: "a locked package not installed", noRoot: true, edit: func(f, _ map[string]string) {
			delete(f, site+"pboxbench_delta-1.0.0.dist-info/METADATA")
		}, why: "pboxbench-delta is not installed"},
		{name: "a locked package at another version", noRoot: true, edit: func(f, _ map[string]string) {
			f[site+"pboxbench_gamma-1.0.0.dist-info/METADATA"] = strings.Replace(dist("pboxbench-gamma"), "1.0.0", "0.9", 1)
		}, why: "pboxbench-gamma 0.9 is installed"},
		{name: "an optional group", noRoot: true, edit: func(f, _ map[string]string) {
			f["pyproject.toml"] = strings.Replace(f["pyproject.toml"], "[tool.poetry.group.dev.dependencies]", "[tool.poetry.group.dev]\noptional = true\n\n[tool.poetry.group.dev.dependencies]", 1)
		}, why: "content-hash"},
		{name: "a Poetry 2 [project] table", noRoot: true, edit: func(f, _ map[string]string) {
			f["pyproject.toml"] = "[project]\nname = \"proj\"\n\n" + f["pyproject.toml"]
		}, why: "[project]"},
		{name: "no venv", noRoot: true, edit: func(f, _ map[string]string) {
			for k := range f {
				if strings.HasPrefix(k, ".venv/") {
					delete(f, k)
				}
			}
		}, why: "not a directory"},
		{name: "hostile: a dist-info that is a link", noRoot: true, edit: func(f, l map[string]string) {
			delete(f, site+"pboxbench_beta-1.0.0.dist-info/METADATA")
			l[site+"pboxbench_beta-1.0.0.dist-info"] = "/usr/lib/python3/dist-packages"
		}, why: "not a directory"},
		{name: "hostile: poetry.lock is a link", noRoot: true, edit: func(f, l map[string]string) {
			delete(f, "poetry.lock")
			l["poetry.lock"] = "/etc/passwd"
		}, why: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{
				"pyproject.toml":                       poetryNoopPyproject,
				"poetry.lock":                          poetryNoopLockText(poetryNoopHash),
				site + "proj-0.1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: proj\nVersion: 0.1.0\n",
			}
			for _, n := range []string{"alpha", "beta", "gamma", "delta"} {
				files[site+"pboxbench_"+n+"-1.0.0.dist-info/METADATA"] = dist("pboxbench-" + n)
			}
			links := map[string]string{}
			if tt.edit != nil {
				tt.edit(files, links)
			}
			dir := writeNoopTree(t, files, links)
			old := time.Now().Add(-time.Hour)
			py := filepath.Join(dir, "pyproject.toml")
			if err := os.Chtimes(py, old, old); err != nil {
				t.Fatal(err)
			}
			if tt.pyNewer {
				later := time.Now().Add(time.Hour)
				if err := os.Chtimes(py, later, later); err != nil {
					t.Fatal(err)
				}
			}
			got, why := PoetryUpToDate(dir, tt.noRoot)
			if got != tt.want || !strings.Contains(why, tt.why) {
				t.Errorf("PoetryUpToDate = %v, %q; want %v, containing %q", got, why, tt.want, tt.why)
			}
		})
	}
}

func TestPoetryPythonApplies(t *testing.T) {
	for c, want := range map[string]string{
		"*": "true", "^3.9": "true", "^2.7": "false", "~3.11": "true", "~3.10": "false",
		">=3.8,<4": "true", "<3.8": "false", "3.9 || 3.11": "unknown",
	} {
		ok, known := poetryPythonApplies(c, "3.11")
		got := "unknown"
		if known {
			got = map[bool]string{true: "true", false: "false"}[ok]
		}
		if got != want {
			t.Errorf("poetryPythonApplies(%q, 3.11) = %s, want %s", c, got, want)
		}
	}
}
