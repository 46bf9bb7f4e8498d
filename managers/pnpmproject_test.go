package managers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHostPnpm installs a package.json-only pnpm (name, version) under dir as npm
// -g does, and returns its bin directory (dir/bin, with pnpm linked to the script).
func fakeHostPnpm(t *testing.T, dir, name, version string) string {
	t.Helper()
	pkg := filepath.Join(dir, "lib", "node_modules", "pnpm")
	for p, body := range map[string]string{
		filepath.Join(pkg, "package.json"):    `{"name":"` + name + `","version":"` + version + `"}`,
		filepath.Join(pkg, "bin", "pnpm.cjs"): "#!/usr/bin/env node\n",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../lib/node_modules/pnpm/bin/pnpm.cjs", filepath.Join(bin, "pnpm")); err != nil {
		t.Fatal(err)
	}
	return bin
}

// The pnpm release every step runs is read from the files of the pnpm in PATH,
// never from the project.
func TestPnpmHostRelease(t *testing.T) {
	for _, tc := range []struct {
		name, pkgName, version string
		inProject, relative    bool
		want                   string
		before10               bool
	}{
		{name: "pnpm 10", pkgName: "pnpm", version: "10.34.9", want: "10.34.9"},
		{name: "pnpm 9 builds every dependency", pkgName: "pnpm", version: "9.15.0", want: "9.15.0", before10: true},
		{name: "pnpm's standalone package", pkgName: "@pnpm/exe", version: "10.1.0", want: "10.1.0"},
		{name: "corepack's shim: unknown, the record decides", pkgName: "corepack", version: "0.31.0"},
		// A project that ships its own pnpm: never read.
		{name: "a PATH entry inside the project", pkgName: "pnpm", version: "9.0.0", inProject: true},
		{name: "a relative PATH entry", pkgName: "pnpm", version: "9.0.0", inProject: true, relative: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			where := t.TempDir()
			if tc.inProject {
				where = filepath.Join(root, "tools")
			}
			bin := fakeHostPnpm(t, where, tc.pkgName, tc.version)
			path := bin
			if tc.relative {
				path = "tools/bin"
				t.Chdir(root)
			}
			env := Env{Dir: root, Environ: []string{"PATH=" + path}}
			if got := pnpmHostRelease(env, root); got != tc.want {
				t.Errorf("pnpmHostRelease = %q, want %q", got, tc.want)
			}
			if got := pnpmHostBefore10(env, root); got != tc.before10 {
				t.Errorf("pnpmHostBefore10 = %v, want %v", got, tc.before10)
			}
		})
	}
	if _, err := os.Stat("/usr/lib/node_modules/pnpm/package.json"); err == nil {
		if v := pnpmHostRelease(Env{Environ: []string{"PATH=/usr/bin"}}, t.TempDir()); v == "" {
			t.Errorf("this machine's pnpm: no release read")
		}
	}
}

// The one-run pnpm add goes by the pnpm that runs: a project whose record says
// pnpm 10 installed it still takes the two steps under a pnpm 9 in PATH; the twin,
// pnpm 10 in PATH, takes the one run.
func TestPnpmOneRunUsesHostPnpm(t *testing.T) {
	for _, tc := range []struct {
		version string
		oneRun  bool
	}{{"9.15.0", false}, {"10.34.9", true}} {
		t.Run(tc.version, func(t *testing.T) {
			env := testEnv(t, map[string]string{
				"package.json":               `{"name":"p"}`,
				"node_modules/.modules.yaml": `{"layoutVersion": 5, "nodeLinker": "isolated", "packageManager": "pnpm@10.34.9"}`,
			})
			needNodeHeaders(t, env)
			fake := t.TempDir()
			pkg := filepath.Join(fake, "lib", "node_modules", "pnpm")
			if err := os.MkdirAll(filepath.Join(pkg, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(fake, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"name":"pnpm","version":"`+tc.version+`"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(pkg, "bin", "pnpm.cjs"), []byte("#!/usr/bin/env node\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../lib/node_modules/pnpm/bin/pnpm.cjs", filepath.Join(fake, "bin", "pnpm")); err != nil {
				t.Fatal(err)
			}
			env.Environ = append(env.Environ, "PATH="+filepath.Join(fake, "bin")+string(os.PathListSeparator)+env.Getenv("PATH"))
			pnpm, _ := Lookup("pnpm")
			p, err := pnpm.Plan([]string{"add", "is-odd@3.0.1"}, env)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Steps.Resolve != nil && p.Steps.Resolve.Installs && p.Steps.Download == nil
			if got != tc.oneRun {
				t.Errorf("pnpm %s in PATH: one run = %v, want %v (resolve %v)", tc.version, got, tc.oneRun, p.Steps.Resolve.Args)
			}
		})
	}
}

// The notice names the release the project asked for when it is not the one on
// PATH; nothing for the same release (a "+sha512" suffix aside), for no pnpm
// field, for another manager, or for a value that is not a plain version.
func TestPnpmSwitchNotice(t *testing.T) {
	bin := fakeHostPnpm(t, t.TempDir(), "pnpm", "10.34.9")
	for _, tc := range []struct{ field, want string }{
		{`"pnpm@9.15.0"`, "asks for pnpm 9.15.0; phylum-box ran your pnpm 10.34.9"},
		{`"pnpm@10.0.0+sha512.abc"`, "asks for pnpm 10.0.0; phylum-box ran your pnpm 10.34.9"},
		{`"pnpm@10.34.9"`, ""},
		{`"pnpm@10.34.9+sha512.abc"`, ""},
		{`"yarn@4.1.0"`, ""},
		{`"pnpm@9.0.0\u001b[2J"`, ""},
		{`null`, ""},
	} {
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "package.json"), []byte(`{"name":"p","packageManager":`+tc.field+`}`), 0o644); err != nil {
			t.Fatal(err)
		}
		pm, err := readProjectManifest(root, ".") // as the plan reads it
		if err != nil {
			t.Fatal(err)
		}
		got := pnpmSwitchNotice(Env{Dir: root, Environ: []string{"PATH=" + bin}}, root, pm.PackageManager)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("packageManager %s: notice %q, want %q", tc.field, got, tc.want)
		}
	}
	// A package.json that is a link is not read.
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "package.json")
	if err := os.WriteFile(outside, []byte(`{"packageManager":"pnpm@9.15.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "package.json")); err != nil {
		t.Fatal(err)
	}
	if pm, err := readProjectManifest(root, "."); err == nil {
		t.Errorf("a package.json link out of the project was followed: packageManager %q", pm.PackageManager)
	}
}
