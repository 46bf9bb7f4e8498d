package managers

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// npmNoopProject writes an installed project: package.json depending on a@1.0.0,
// its lockfile and hidden lockfile, node_modules/a; edit changes it first.
func npmNoopProject(t *testing.T, edit func(files map[string]string)) string {
	t.Helper()
	const a = `"node_modules/a":{"version":"1.0.0","resolved":"https://registry.npmjs.org/a/-/a-1.0.0.tgz","integrity":"sha512-a"}`
	const other = `"node_modules/@x/darwin":{"version":"1.0.0","resolved":"https://registry.npmjs.org/@x/darwin/-/darwin-1.0.0.tgz","integrity":"sha512-d","optional":true,"os":["darwin"]}`
	files := map[string]string{
		"package.json":                    `{"name":"p","version":"1.0.0","dependencies":{"a":"^1.0.0"},"optionalDependencies":{"@x/darwin":"1.0.0"},"scripts":{"test":"x"}}`,
		"package-lock.json":               `{"name":"p","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"p","version":"1.0.0","dependencies":{"a":"^1.0.0"},"optionalDependencies":{"@x/darwin":"1.0.0"}},` + a + `,` + other + `}}`,
		"node_modules/a/package.json":     `{"name":"a","version":"1.0.0"}`,
		"node_modules/.package-lock.json": `{"name":"p","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{` + a + `}}`,
	}
	if edit != nil {
		edit(files)
	}
	dir := t.TempDir()
	for rel, data := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// npm writes the hidden lockfile last.
	later := time.Now().Add(time.Second)
	if err := os.Chtimes(filepath.Join(dir, "node_modules/.package-lock.json"), later, later); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return dir
}

// npmSkippedOptional makes a depend optionally on @x/wasm, a wasm32 package
// (sharp's @img/sharp-wasm32) npm skips here, which needs @x/rt, which needs
// tslib, and bundles @x/wasm/node_modules/b (@tailwindcss/oxide-wasm32-wasi's
// @napi-rs/wasm-runtime): all marked optional and none installed, as npm leaves
// them; then edit.
func npmSkippedOptional(edit func(files map[string]string)) func(files map[string]string) {
	return func(f map[string]string) {
		const reg = `"resolved":"https://registry.npmjs.org/`
		f["package-lock.json"] = strings.Replace(f["package-lock.json"], `"integrity":"sha512-a"}`, `"integrity":"sha512-a","optionalDependencies":{"@x/wasm":"1.0.0"}},`+
			`"node_modules/@x/wasm":{"version":"1.0.0",`+reg+`@x/wasm/-/wasm-1.0.0.tgz","integrity":"sha512-w","optional":true,"cpu":["wasm32"],"dependencies":{"@x/rt":"^1.0.0","b":"1.0.0"},"bundleDependencies":["b"]},`+
			`"node_modules/@x/wasm/node_modules/b":{"version":"1.0.0","inBundle":true,"optional":true,"dependencies":{"tslib":"^2.4.0"}},`+
			`"node_modules/@x/rt":{"version":"1.0.0",`+reg+`@x/rt/-/rt-1.0.0.tgz","integrity":"sha512-r","optional":true,"dependencies":{"tslib":"^2.4.0"}},`+
			`"node_modules/tslib":{"version":"2.8.1",`+reg+`tslib/-/tslib-2.8.1.tgz","integrity":"sha512-t","optional":true}`, 1)
		if edit != nil {
			edit(f)
		}
	}
}

// npmNoopTouchLater creates node_modules/name, a tool's dot dir, an hour after
// the hidden lockfile, as a later change of node_modules.
func npmNoopTouchLater(t *testing.T, dir, name string) {
	t.Helper()
	p := filepath.Join(dir, "node_modules", name)
	if err := os.MkdirAll(filepath.Join(p, "deps"), 0o755); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	for _, q := range []string{p, filepath.Join(dir, "node_modules")} {
		if err := os.Chtimes(q, later, later); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNpmUpToDate(t *testing.T) {
	tests := []struct {
		name         string
		edit         func(files map[string]string)
		after        func(t *testing.T, dir string)
		omitResolved bool
		want         bool
		why          string
	}{
		{name: "installed as locked", want: true},
		{name: "a dependency added to package.json", edit: func(f map[string]string) {
			f["package.json"] = strings.Replace(f["package.json"], `"a":"^1.0.0"`, `"a":"^1.0.0","b":"1"`, 1)
		}, why: "dependencies"},
		{name: "root postinstall script", edit: func(f map[string]string) {
			f["package.json"] = strings.Replace(f["package.json"], `"test":"x"`, `"postinstall":"x"`, 1)
		}, why: "postinstall"},
		{name: "overrides", edit: func(f map[string]string) {
			f["package.json"] = strings.Replace(f["package.json"], `{"name"`, `{"overrides":{"a":"1.0.1"},"name"`, 1)
		}, why: "overrides"},
		{name: "hidden lockfile at another version", edit: func(f map[string]string) {
			f["node_modules/.package-lock.json"] = strings.Replace(f["node_modules/.package-lock.json"], `"version":"1.0.0","resolved"`, `"version":"1.0.1","resolved"`, 1)
		}, why: "another version"},
		{name: "package.json on disk at another version", edit: func(f map[string]string) {
			f["node_modules/a/package.json"] = `{"name":"a","version":"0.9.0"}`
		}, why: "not version"},
		{name: "no hidden lockfile", edit: func(f map[string]string) {
			delete(f, "node_modules/.package-lock.json")
		}, why: "no such file"},
		{name: "extraneous package on disk", edit: func(f map[string]string) {
			f["node_modules/evil/package.json"] = `{"name":"evil","version":"1.0.0"}`
		}, why: "node_modules/evil"},
		{name: "optional package for this platform missing", edit: func(f map[string]string) {
			f["package-lock.json"] = strings.Replace(f["package-lock.json"], `"os":["darwin"]`, `"os":["linux"],"cpu":["!ia32"]`, 1)
		}, why: "not installed"},
		{name: "a skipped platform optional and what only it needs", edit: npmSkippedOptional(nil), want: true},
		{name: "a skipped platform optional's dependency not marked optional", edit: npmSkippedOptional(func(f map[string]string) {
			f["package-lock.json"] = strings.Replace(f["package-lock.json"], `tslib-2.8.1.tgz","integrity":"sha512-t","optional":true`, `tslib-2.8.1.tgz","integrity":"sha512-t"`, 1)
		}), why: "node_modules/@x/rt is not installed"},
		{name: "a skipped platform optional not marked optional", edit: npmSkippedOptional(func(f map[string]string) {
			f["package-lock.json"] = strings.Replace(f["package-lock.json"], `"optional":true,"cpu":["wasm32"]`, `"cpu":["wasm32"]`, 1)
		}), why: "node_modules/@x/rt is not installed"},
		{name: "a skipped optional's dependency another package needs", edit: npmSkippedOptional(func(f map[string]string) {
			f["package-lock.json"] = strings.Replace(f["package-lock.json"], `"optionalDependencies":{"@x/wasm":"1.0.0"}`, `"optionalDependencies":{"@x/wasm":"1.0.0"},"dependencies":{"tslib":"^2.0.0"}`, 1)
		}), why: "node_modules/tslib is not installed"},
		{name: "a skipped optional's dependency installed", edit: npmSkippedOptional(func(f map[string]string) {
			f["node_modules/.package-lock.json"] = strings.Replace(f["node_modules/.package-lock.json"], `"packages":{`, `"packages":{"node_modules/tslib":{"version":"2.8.1","resolved":"https://registry.npmjs.org/tslib/-/tslib-2.8.1.tgz","integrity":"sha512-t","optional":true},`, 1)
			f["node_modules/tslib/package.json"] = `{"name":"tslib","version":"2.8.1"}`
		}), why: "npm leaves it out"},
		{name: "a .vite dir newer than the hidden lockfile", after: func(t *testing.T, dir string) {
			npmNoopTouchLater(t, dir, ".vite")
		}, want: true},
		{name: "node_modules newer than its dot dirs", after: func(t *testing.T, dir string) {
			npmNoopTouchLater(t, dir, ".cache")
			later := time.Now().Add(2 * time.Hour)
			if err := os.Chtimes(filepath.Join(dir, "node_modules"), later, later); err != nil {
				t.Fatal(err)
			}
		}, why: "node_modules changed after"},
		{name: "node_modules newer with no dot dir", after: func(t *testing.T, dir string) {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(filepath.Join(dir, "node_modules"), later, later); err != nil {
				t.Fatal(err)
			}
		}, why: "node_modules changed after"},
		{name: "a package dir newer than the hidden lockfile, with a .vite dir", after: func(t *testing.T, dir string) {
			npmNoopTouchLater(t, dir, ".vite")
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(filepath.Join(dir, "node_modules/a"), later, later); err != nil {
				t.Fatal(err)
			}
		}, why: "node_modules/a changed after"},
		{name: "a locked version outside package.json's range", edit: func(f map[string]string) {
			for _, k := range []string{"package-lock.json", "node_modules/.package-lock.json"} {
				f[k] = strings.Replace(f[k], `"version":"1.0.0","resolved":"https://registry.npmjs.org/a/`, `"version":"2.0.0","resolved":"https://registry.npmjs.org/a/`, 1)
			}
			f["node_modules/a/package.json"] = `{"name":"a","version":"2.0.0"}`
		}, why: "not satisfied by 2.0.0"},
		{name: "lockfile entry without integrity", edit: func(f map[string]string) {
			f["package-lock.json"] = strings.Replace(f["package-lock.json"], `"integrity":"sha512-a"`, `"integrity":""`, 1)
		}, why: "integrity"},
		{name: "resolved URLs npm would drop", omitResolved: true, why: "omit-lockfile-registry-resolved"},
		{name: "a package dir newer than the hidden lockfile", after: func(t *testing.T, dir string) {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(filepath.Join(dir, "node_modules/a"), later, later); err != nil {
				t.Fatal(err)
			}
		}, why: "changed after"},
		{name: "a symlinked package", after: func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, "node_modules/a"), filepath.Join(dir, "a")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../a", filepath.Join(dir, "node_modules/a")); err != nil {
				t.Fatal(err)
			}
		}, why: "symbolic link"},
		{name: "a hidden lockfile linked from outside", after: func(t *testing.T, dir string) {
			out := filepath.Join(t.TempDir(), "lock.json")
			data, _ := os.ReadFile(filepath.Join(dir, "node_modules/.package-lock.json"))
			if err := os.WriteFile(out, data, 0o644); err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(dir, "node_modules/.package-lock.json"))
			if err := os.Symlink(out, filepath.Join(dir, "node_modules/.package-lock.json")); err != nil {
				t.Fatal(err)
			}
		}, why: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := npmNoopProject(t, tt.edit)
			if tt.after != nil {
				tt.after(t, dir)
			}
			got, why := NpmUpToDate(dir, tt.omitResolved)
			if got != tt.want || !strings.Contains(why, tt.why) {
				t.Errorf("NpmUpToDate = %v (%s), want %v (%s)", got, why, tt.want, tt.why)
			}
		})
	}
}

func TestNpmNoopCheckArgs(t *testing.T) {
	dir := npmNoopProject(t, nil)
	home := t.TempDir()
	env := Env{Dir: dir, Home: home, Environ: []string{"PATH=/usr/bin", "npm_config_globalconfig=" + filepath.Join(home, "none")}}
	tests := []struct {
		args    []string
		npmrc   string
		environ []string
		want    bool
	}{
		{args: []string{"install"}, want: true},
		{args: []string{"i", "--no-audit", "--no-fund", "--loglevel=error"}, want: true},
		{args: []string{"install", "lodash"}},
		{args: []string{"install", "--omit=dev"}},
		{args: []string{"install", "--legacy-peer-deps"}},
		{args: []string{"ci"}},
		{args: []string{"update"}},
		{args: []string{"install"}, npmrc: "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=x\n", want: true},
		{args: []string{"install"}, npmrc: "install-strategy=nested\n"},
		{args: []string{"install"}, environ: []string{"npm_config_omit=dev"}},
		{args: []string{"install"}, environ: []string{"NODE_ENV=production"}},
		{args: []string{"install"}, environ: []string{"NODE_ENV=development"}, want: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+tt.npmrc+strings.Join(tt.environ, " "), func(t *testing.T) {
			os.Remove(filepath.Join(dir, ".npmrc"))
			if tt.npmrc != "" {
				if err := os.WriteFile(filepath.Join(dir, ".npmrc"), []byte(tt.npmrc), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			e := env
			e.Environ = append(slices.Clone(env.Environ), tt.environ...)
			p, err := npmManager{name: "npm"}.plan(tt.args, e)
			if err != nil {
				t.Fatal(err)
			}
			if (p.Steps.UpToDate != nil) != tt.want {
				t.Fatalf("UpToDate set = %v, want %v", p.Steps.UpToDate != nil, tt.want)
			}
			if tt.want {
				if ok, why := p.Steps.UpToDate(); !ok {
					t.Errorf("UpToDate() = false (%s)", why)
				}
			}
		})
	}
}

func TestNpmBuildChanged(t *testing.T) {
	const reg = `"version":"1.0.0","integrity":"sha512-x"`
	hidden := `{"lockfileVersion":3,"packages":{"":{"name":"root"},"node_modules/esbuild":{` + reg + `,"hasInstallScript":true},"node_modules/is-odd":{` + reg + `},"node_modules/@s/gyp":{` + reg + `},"node_modules/b/node_modules/esbuild":{` + reg + `}}}`
	files := map[string]string{
		"package.json":                                     `{"name":"root","scripts":{"test":"x"}}`,
		"node_modules/.package-lock.json":                  hidden,
		"node_modules/esbuild/package.json":                `{"scripts":{"postinstall":"node install.js"}}`,
		"node_modules/is-odd/package.json":                 `{}`,
		"node_modules/@s/gyp/package.json":                 `{}`,
		"node_modules/@s/gyp/binding.gyp":                  `{}`,
		"node_modules/b/node_modules/esbuild/package.json": `{"scripts":{"install":"x"}}`,
	}
	read := func(files map[string]string) func(string) ([]byte, error) {
		return func(rel string) ([]byte, error) {
			if d, ok := files[rel]; ok {
				return []byte(d), nil
			}
			return nil, fmt.Errorf("read %s: %w", rel, fs.ErrNotExist)
		}
	}
	tests := []struct {
		name  string
		dirs  []string
		edit  func(map[string]string)
		names []string
		ok    bool
	}{
		{"nothing changed", nil, nil, nil, true},
		{"one without scripts", []string{"node_modules/is-odd"}, nil, nil, true},
		{"scripts and a binding.gyp", []string{"node_modules/is-odd", "node_modules/@s/gyp", "node_modules/b/node_modules/esbuild"}, nil, []string{"@s/gyp", "esbuild"}, true},
		{"root install script", []string{"node_modules/is-odd"}, func(f map[string]string) {
			f["package.json"] = `{"scripts":{"install":"x"}}`
		}, nil, false},
		{"a workspace link", []string{"node_modules/is-odd"}, func(f map[string]string) {
			f["node_modules/.package-lock.json"] = strings.Replace(hidden, `"":{"name":"root"}`, `"":{"name":"root"},"node_modules/w":{"link":true,"resolved":"w"}`, 1)
		}, nil, false},
		{"a dir the hidden lockfile does not name", []string{"node_modules/evil"}, nil, nil, false},
		{"an option-looking folder", []string{"node_modules/--script-shell=x"}, func(f map[string]string) {
			f["node_modules/.package-lock.json"] = strings.Replace(hidden, `"":{"name":"root"}`, `"":{"name":"root"},"node_modules/--script-shell=x":{`+reg+`}`, 1)
			f["node_modules/--script-shell=x/package.json"] = `{"scripts":{"install":"x"}}`
		}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := map[string]string{}
			for k, v := range files {
				f[k] = v
			}
			if tt.edit != nil {
				tt.edit(f)
			}
			names, why, ok := NpmBuildChanged(read(f), tt.dirs)
			if ok != tt.ok || !slices.Equal(names, tt.names) || why == "" {
				t.Errorf("NpmBuildChanged = %v, %q, %v; want %v, %v", names, why, ok, tt.names, tt.ok)
			}
			if strings.Contains(why, " 0 package") { // "none of the 0 package(s) …" after an uninstall
				t.Errorf("NpmBuildChanged says %q", why)
			}
		})
	}
}
