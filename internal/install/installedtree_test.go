package install

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/rootfs"
)

func manifest(name, version string) string {
	return fmt.Sprintf(`{"name": %q, "version": %q, "main": "index.js"}`, name, version)
}

// treeChanges is a change set of added regular files (and the given other changes).
func treeChanges(v memView, other ...rootfs.Change) []rootfs.Change {
	var cs []rootfs.Change
	for p, s := range v.files {
		cs = append(cs, rootfs.Change{Path: p, Kind: rootfs.Added, Type: rootfs.TypeRegular, Size: int64(len(s))})
	}
	cs = append(cs, other...)
	slices.SortFunc(cs, func(a, b rootfs.Change) int { return strings.Compare(a.Path, b.Path) })
	return cs
}

func TestInstalledPackages(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		other   []rootfs.Change
		want    []string // name@version source
		skipped []string
		err     string
	}{{
		name: "top-level, nested, scoped and pnpm package roots",
		files: map[string]string{
			"node_modules/a/package.json":                                       manifest("a", "1.0.0"),
			"node_modules/a/node_modules/minimist/package.json":                 manifest("minimist", "1.2.5"),
			"node_modules/@s/b/package.json":                                    manifest("@s/b", "2.0.0"),
			"node_modules/@s/b/node_modules/@t/c/package.json":                  manifest("@t/c", "3.0.0"),
			"node_modules/.pnpm/d@4.0.0/node_modules/d/package.json":            manifest("d", "4.0.0"),
			"packages/w/node_modules/e/package.json":                            manifest("e", "5.0.0"),
			"node_modules/a/lib/package.json":                                   manifest("not-a-root", "9.9.9"),
			"node_modules/a/package.json.bak":                                   manifest("bak", "1.0.0"),
			"package.json":                                                      manifest("app", "1.0.0"),
			"node_modules/.package-lock.json":                                   "{}",
			"node_modules/.pnpm/d@4.0.0/node_modules/d/test/x/package.json":     manifest("fixture", "0.0.0"),
			"node_modules/.pnpm/d@4.0.0/node_modules/d/node_modules/f/index.js": "x",
		},
		want: []string{
			"@s/b@2.0.0 node_modules/@s/b/package.json",
			"@t/c@3.0.0 node_modules/@s/b/node_modules/@t/c/package.json",
			"a@1.0.0 node_modules/a/package.json",
			"minimist@1.2.5 node_modules/a/node_modules/minimist/package.json",
			"d@4.0.0 node_modules/.pnpm/d@4.0.0/node_modules/d/package.json",
			"e@5.0.0 packages/w/node_modules/e/package.json",
		},
	}, {
		name: "manifests without a name or version, or not JSON, are skipped",
		files: map[string]string{
			"node_modules/a/test/node_modules/fix/package.json": `{"main": "x.js"}`,
			"node_modules/b/package.json":                       `{"name": "b"}`,
			"node_modules/c/package.json":                       `{"name": "c", "version": 1}`,
			"node_modules/d/package.json":                       `not json`,
			"node_modules/e/package.json":                       manifest("e", "1.0.0"),
			"node_modules/f/package.json":                       `{"name": "f", "version": "1.2.5", "Version": "1.2.8", "NAME": "g"}`,
			"node_modules/h/package.json":                       `{"name": "h", "version": "1.2.8", "version": "1.2.5"}`,
		},
		want:    []string{"e@1.0.0 node_modules/e/package.json", "f@1.2.5 node_modules/f/package.json", "h@1.2.5 node_modules/h/package.json"},
		skipped: []string{"node_modules/a/test/node_modules/fix/package.json", "node_modules/b/package.json", "node_modules/c/package.json", "node_modules/d/package.json"},
	}, {
		name: "a byte order mark before the JSON is read past, as npm and node do",
		files: map[string]string{
			"node_modules/a/node_modules/minimist/package.json": "\uFEFF" + manifest("minimist", "1.2.5"),
		},
		want: []string{"minimist@1.2.5 node_modules/a/node_modules/minimist/package.json"},
	}, {
		name: "nesting deeper than Go's decoder takes is read, as JSON.parse reads it; what JSON.parse refuses is not",
		files: map[string]string{
			"node_modules/a/package.json": `{"name": "minimist", "version": "1.2.8", "x": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) +
				`, "version": "1.2.5", "y": {"version": "9.9.9", "z": ` + strings.Repeat(`{"a":`, 12000) + `1` + strings.Repeat("}", 12000) + `}}`,
			"node_modules/b/package.json": `{"name": "b", "x": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `, "version": 1}`,
			"node_modules/c/package.json": `{"name": "c", "version": "1.0.0", "x": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `} trailing`,
			"node_modules/d/package.json": `{"name": "d", "version": "1.0.0", "x": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 19999) + `}`,
		},
		want:    []string{"minimist@1.2.5 node_modules/a/package.json"},
		skipped: []string{"node_modules/b/package.json", "node_modules/c/package.json", "node_modules/d/package.json"},
	}, {
		name: "a package entry linked to a dir of node_modules that is no package root is read there",
		files: map[string]string{
			"node_modules/.cache/x/package.json":          manifest("minimist", "1.2.5"),
			"node_modules/a/lib/m/package.json":           manifest("ms", "0.7.0"),
			"node_modules/.pnpm/d@4.0.0/node_modules/d/x": "",
		},
		other: []rootfs.Change{
			{Path: "node_modules/minimist", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: ".cache/x"},
			{Path: "node_modules/@s/ms", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: "../a/lib/m"},
			{Path: "node_modules/nomanifest", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: ".cache/none"},
			// pnpm's links to package roots, a workspace and a link out: not read here.
			{Path: "node_modules/d", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: ".pnpm/d@4.0.0/node_modules/d"},
			{Path: "node_modules/ws", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: "../packages/ws"},
			{Path: "node_modules/abs", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: "/usr/lib/node_modules/npm"},
			{Path: "node_modules/.bin/x", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: "../.cache/x/bin.js"},
		},
		want: []string{"minimist@1.2.5 node_modules/.cache/x/package.json", "ms@0.7.0 node_modules/a/lib/m/package.json"},
	}, {
		name:  "a node_modules directory that is a symlink is refused",
		other: []rootfs.Change{{Path: "node_modules/a/node_modules", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: "../.cache/nm"}},
		err:   "node_modules/a/node_modules is a symlink to ../.cache/nm",
	}, {
		name:  "a scope directory that is a symlink is refused",
		other: []rootfs.Change{{Path: "node_modules/@s", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: ".cache/s"}},
		err:   "node_modules/@s is a symlink",
	}, {
		name:  "a deleted manifest is not installed",
		other: []rootfs.Change{{Path: "node_modules/gone/package.json", Kind: rootfs.Deleted, Prev: rootfs.TypeRegular}},
	}, {
		name:  "a manifest that is a symlink is refused",
		other: []rootfs.Change{{Path: "node_modules/minimist/package.json", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: "../x/fake.json"}},
		err:   "node_modules/minimist/package.json is a symlink, not a file",
	}, {
		name:  "an oversized manifest is refused",
		other: []rootfs.Change{{Path: "node_modules/big/package.json", Kind: rootfs.Added, Type: rootfs.TypeRegular, Size: maxManifest + 1}},
		err:   "more than a package manifest may be",
	}, {
		name:  "an unreadable manifest is refused",
		other: []rootfs.Change{{Path: "node_modules/gone/package.json", Kind: rootfs.Modified, Type: rootfs.TypeRegular, Size: 10}},
		err:   "reading node_modules/gone/package.json",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			v := memView{files: tc.files}
			pkgs, skipped, err := installedPackages(treeChanges(v, tc.other...), v)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pkgs {
				if p.Ecosystem != precheck.NPM {
					t.Errorf("%s: ecosystem %q", p.Name, p.Ecosystem)
				}
				got = append(got, p.Name+"@"+p.Version+" "+p.Source)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("packages:\n got %q\nwant %q", got, want)
			}
			if !slices.Equal(skipped, tc.skipped) {
				t.Errorf("skipped:\n got %q\nwant %q", skipped, tc.skipped)
			}
		})
	}
}

func TestNotChecked(t *testing.T) {
	pk := func(name, version, src string) precheck.Package {
		return precheck.Package{Ecosystem: precheck.NPM, Name: name, Version: version, Source: src}
	}
	checked := packageSet([]precheck.Package{pk("a", "1.0.0", "package-lock.json:5"), pk("minimist", "1.2.8", "package-lock.json:9")})
	got := notChecked([]precheck.Package{
		pk("a", "1.0.0", "node_modules/a/package.json"),
		pk("minimist", "1.2.8", "node_modules/minimist/package.json"),
		pk("minimist", "1.2.5", "node_modules/a/node_modules/minimist/package.json"),
		pk("minimist", "1.2.5", "node_modules/b/node_modules/minimist/package.json"),
		pk("minimist", "1.2.5", "node_modules/c/node_modules/minimist/package.json"),
		pk("b", "2.0.0", "node_modules/b/package.json"),
	}, checked)
	want := []precheck.Package{
		pk("minimist", "1.2.5", "node_modules/a/node_modules/minimist/package.json and 2 more (on disk only)"),
		pk("b", "2.0.0", "node_modules/b/package.json (on disk only)"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("notChecked:\n got %+v\nwant %+v", got, want)
	}
	if got := notChecked(nil, checked); got != nil {
		t.Errorf("nothing installed: %+v", got)
	}
}

func TestMergeVerdict(t *testing.T) {
	base := &precheck.Verdict{Result: precheck.Pass, Packages: []precheck.PackageResult{{Package: precheck.Package{Name: "a"}}}, Warnings: []string{"w"}}
	out := &Outcome{Verdict: base}
	mergeVerdict(out, &precheck.Verdict{Result: precheck.Blocked, Warnings: []string{"w", "x"},
		Packages: []precheck.PackageResult{{Package: precheck.Package{Name: "minimist"}, Blocked: true}}})
	if out.Verdict.Result != precheck.Blocked || len(out.Verdict.Packages) != 2 || !slices.Equal(out.Verdict.Warnings, []string{"w", "x"}) {
		t.Errorf("merged: %+v", out.Verdict)
	}
	mergeVerdict(out, &precheck.Verdict{Result: precheck.Incomplete, Problems: []string{"p"}})
	if out.Verdict.Result != precheck.Blocked || !slices.Equal(out.Verdict.Problems, []string{"p"}) {
		t.Errorf("an incomplete verdict after a block: %+v", out.Verdict)
	}
}

// dirView reads files under a real dir, like rootfs.Scratch reads the run's view.
type dirView string

func (d dirView) ReadFile(rel string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(rel)))
}

// BenchmarkInstalledPackages: a 1,500-package node_modules (each package with a
// package.json of a realistic size and 20 other files, a third with a nested
// dependency) as the change set of a fresh install, read from disk.
func BenchmarkInstalledPackages(b *testing.B) {
	dir := b.TempDir()
	var cs []rootfs.Change
	add := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
		cs = append(cs, rootfs.Change{Path: rel, Kind: rootfs.Added, Type: rootfs.TypeRegular, Size: int64(len(content))})
	}
	pad := strings.Repeat(`"description": "a package of the benchmark tree, padded to a realistic manifest size",`, 20)
	for i := range 1500 {
		name := fmt.Sprintf("pkg%d", i)
		if i%10 == 0 {
			name = fmt.Sprintf("@scope%d/pkg%d", i%7, i)
		}
		base := "node_modules/" + name
		add(base+"/package.json", `{"name": "`+name+`", `+pad+` "version": "1.0.`+fmt.Sprint(i)+`"}`)
		for j := range 20 {
			add(fmt.Sprintf("%s/lib/f%d.js", base, j), "module.exports = 1\n")
		}
		if i%3 == 0 {
			add(base+"/node_modules/dep/package.json", `{"name": "dep", "version": "2.0.`+fmt.Sprint(i)+`"}`)
		}
	}
	b.ResetTimer()
	b.ReportAllocs()
	for range b.N {
		pkgs, _, err := installedPackages(cs, dirView(dir))
		if err != nil || len(pkgs) != 2000 {
			b.Fatalf("%d packages, %v", len(pkgs), err)
		}
	}
}
