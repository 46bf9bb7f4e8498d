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

func coreMetadata(name, version string) string {
	return fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: x\n\nName: not-a-header\n", name, version)
}

func TestInstalledDists(t *testing.T) {
	site := ".venv/lib/python3.11/site-packages/"
	for _, tc := range []struct {
		name    string
		files   map[string]string
		other   []rootfs.Change
		own     pyOwn
		seeds   pyOwn
		want    []string // name@version source
		skipped []string
		err     string
	}{{
		name: "dist-info, egg-info dir and file, egg, nested vendored dist-info",
		files: map[string]string{
			site + "pbox_carrier-1.0.dist-info/METADATA":                  coreMetadata("pbox-carrier", "1.0"),
			site + "pbox_carrier-1.0.dist-info/RECORD":                    "x",
			site + "evil-1.0.dist-info/METADATA":                          coreMetadata("evil", "1.0"),
			site + "Old_Pkg-2.0-py3.11.egg-info/PKG-INFO":                 coreMetadata("Old-Pkg", "2.0"),
			site + "distutils_pkg-0.5-py3.11.egg-info":                    coreMetadata("distutils-pkg", "0.5"),
			site + "eggy-3.0-py3.11.egg/EGG-INFO/PKG-INFO":                coreMetadata("eggy", "3.0"),
			site + "setuptools/_vendor/packaging-24.2.dist-info/METADATA": coreMetadata("packaging", "24.2"),
			site + "pbox_carrier/__init__.py":                             "",
			site + "pbox_carrier/METADATA":                                coreMetadata("not-a-dist", "9"),
			"src/pbox.egg-info/PKG-INFO":                                  coreMetadata("outside-outputs", "1.0"),
		},
		want: []string{
			"pbox-carrier@1.0 " + site + "pbox_carrier-1.0.dist-info/METADATA",
			"evil@1.0 " + site + "evil-1.0.dist-info/METADATA",
			"Old-Pkg@2.0 " + site + "Old_Pkg-2.0-py3.11.egg-info/PKG-INFO",
			"distutils-pkg@0.5 " + site + "distutils_pkg-0.5-py3.11.egg-info",
			"eggy@3.0 " + site + "eggy-3.0-py3.11.egg/EGG-INFO/PKG-INFO",
			"packaging@24.2 " + site + "setuptools/_vendor/packaging-24.2.dist-info/METADATA",
		},
	}, {
		name: "a directory named for another distribution is checked under both names",
		files: map[string]string{
			site + "requests-2.31.0.dist-info/METADATA": coreMetadata("evil", "6.6.6"),
			site + "Six-1.16.0.dist-info/METADATA":      "name: six\r\nVERSION: 1.16.0\r\n\r\n",
		},
		want: []string{
			"evil@6.6.6 " + site + "requests-2.31.0.dist-info/METADATA",
			"requests@2.31.0 " + site + "requests-2.31.0.dist-info/METADATA",
			"six@1.16.0 " + site + "Six-1.16.0.dist-info/METADATA",
		},
	}, {
		name: "what importlib.metadata finds: any case of the suffix, METADATA or PKG-INFO in either kind of dir, a lone file, lines ended by \\r",
		files: map[string]string{
			site + "pbox_s1.dist-info/METADATA":               "Metadata-Version: 2.1\rName: pbox-s1\rVersion: 1.0\r",
			site + "pbox_s2-1.0.DIST-INFO/METADATA":           coreMetadata("pbox-s2", "1.0"),
			site + "pbox_s3-1.0.dist-info/PKG-INFO":           coreMetadata("pbox-s3", "1.0"),
			site + "pbox_s4-1.0.egg-info/METADATA":            coreMetadata("pbox-s4", "1.0"),
			site + "pbox_s5-1.0.Egg-Info":                     coreMetadata("pbox-s5", "1.0"),
			site + "pbox_s6-1.0.dist-info":                    coreMetadata("pbox-s6", "1.0"),
			site + "pbox_s7-1.0-py3.11.EGG/egg-info/METADATA": coreMetadata("pbox-s7", "1.0"),
			site + "pbox_s8.dist-info/METADATA":               "Name: pbox-s8\r\nVersion: 1.0\r\n\r\nVersion: 9.9\n",
		},
		want: []string{
			"pbox-s1@1.0 " + site + "pbox_s1.dist-info/METADATA",
			"pbox-s2@1.0 " + site + "pbox_s2-1.0.DIST-INFO/METADATA",
			"pbox-s3@1.0 " + site + "pbox_s3-1.0.dist-info/PKG-INFO",
			"pbox-s4@1.0 " + site + "pbox_s4-1.0.egg-info/METADATA",
			"pbox-s5@1.0 " + site + "pbox_s5-1.0.Egg-Info",
			"pbox-s6@1.0 " + site + "pbox_s6-1.0.dist-info",
			"pbox-s7@1.0 " + site + "pbox_s7-1.0-py3.11.EGG/egg-info/METADATA",
			"pbox-s8@1.0 " + site + "pbox_s8.dist-info/METADATA",
		},
	}, {
		name: "the first Name and Version win, as in Python's email parser",
		files: map[string]string{
			site + "x-1.0.dist-info/METADATA": "Name: x\nVersion: 1.0\nVersion: 9.9\nName: y\n",
		},
		want: []string{"x@1.0 " + site + "x-1.0.dist-info/METADATA"},
	}, {
		name: "metadata without a version, and a holder without one, are skipped",
		files: map[string]string{
			site + "x.egg-info/PKG-INFO": "Name: x\n",
		},
		skipped: []string{site + "x.egg-info/PKG-INFO"},
	}, {
		name:  "the project's own editable dist-info and, in a venv the run created, the interpreter's seeds are not registry packages",
		own:   pyOwn{"myproj": {"0.1"}},
		seeds: pyOwn{"pip": {"23.0.1"}, "setuptools": {"66.1.1"}},
		files: map[string]string{
			".venv/pyvenv.cfg":                       "home = /usr/bin\n",
			site + "myproj-0.1.0.dist-info/METADATA": coreMetadata("MyProj", "0.1.0"),
			site + "other-0.1.0.dist-info/METADATA":  coreMetadata("other", "0.1.0"),
			site + "pip-23.0.1.dist-info/METADATA":   coreMetadata("pip", "23.0.1"),
			site + "pip-24.0.dist-info/METADATA":     coreMetadata("pip", "24.0"),
			// A seed's name and version elsewhere in the new venv is checked.
			site + "x/_vendor/setuptools-66.1.1.dist-info/METADATA": coreMetadata("setuptools", "66.1.1"),
		},
		want: []string{"other@0.1.0 " + site + "other-0.1.0.dist-info/METADATA", "pip@24.0 " + site + "pip-24.0.dist-info/METADATA",
			"setuptools@66.1.1 " + site + "x/_vendor/setuptools-66.1.1.dist-info/METADATA"},
	}, {
		name:  "a seed's name and version in a venv that was there before the run is checked",
		seeds: pyOwn{"setuptools": {"66.1.1"}},
		files: map[string]string{
			site + "setuptools-66.1.1.dist-info/METADATA": coreMetadata("setuptools", "66.1.1"),
		},
		other: []rootfs.Change{{Path: ".venv/pyvenv.cfg", Kind: rootfs.Modified, Type: rootfs.TypeRegular, Size: 1}},
		want:  []string{"setuptools@66.1.1 " + site + "setuptools-66.1.1.dist-info/METADATA"},
	}, {
		name:  "a deleted dist-info is not installed",
		other: []rootfs.Change{{Path: site + "gone-1.0.dist-info/METADATA", Kind: rootfs.Deleted, Prev: rootfs.TypeRegular}},
	}, {
		name:  "a METADATA that is a symlink is refused",
		other: []rootfs.Change{{Path: site + "evil-1.0.dist-info/METADATA", Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: "/etc/passwd"}},
		err:   "evil-1.0.dist-info/METADATA is a symlink, not a file",
	}, {
		name:  "an oversized METADATA is refused",
		other: []rootfs.Change{{Path: site + "big-1.0.dist-info/METADATA", Kind: rootfs.Added, Type: rootfs.TypeRegular, Size: maxDistMetadata + 1}},
		err:   "more than a distribution's metadata may be",
	}, {
		name:  "an egg-info directory entry is not itself read",
		other: []rootfs.Change{{Path: site + "x-1.0.egg-info", Kind: rootfs.Added, Type: rootfs.TypeDir}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			v := memView{files: tc.files}
			pkgs, skipped, err := installedDists(treeChanges(v, tc.other...), v, []string{".venv/"}, tc.own, tc.seeds)
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
				if p.Ecosystem != precheck.PyPI {
					t.Errorf("%s: ecosystem %q", p.Name, p.Ecosystem)
				}
				got = append(got, p.Name+"@"+p.Version+" "+p.Source)
			}
			slices.Sort(got)
			if want := slices.Sorted(slices.Values(tc.want)); !slices.Equal(got, want) {
				t.Errorf("dists:\n got %q\nwant %q", got, want)
			}
			if !slices.Equal(skipped, tc.skipped) {
				t.Errorf("skipped:\n got %q\nwant %q", skipped, tc.skipped)
			}
		})
	}
}

func TestPyOwn(t *testing.T) {
	v := memView{files: map[string]string{
		"pyproject.toml":     "[project]\nname = \"My.Proj\"\nversion = \"1.0\"\n\n[tool.poetry]\nname = \"poetry_name\"\n",
		"bad/pyproject.toml": "[project\n",
	}}
	own := pyOwn{}
	pyProjectSelf(own, v, "pyproject.toml")
	pyProjectSelf(own, v, "bad/pyproject.toml")
	pyProjectSelf(own, v, "none/pyproject.toml")
	wheels := t.TempDir()
	for _, f := range []string{"pip-23.0.1-py3-none-any.whl", "setuptools-66.1.1-py3-none-any.whl", "README"} {
		if err := os.WriteFile(filepath.Join(wheels, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pySeeds(own, []string{filepath.Join(wheels, "*.whl"), filepath.Join(wheels, "none", "*.whl")})
	want := pyOwn{"my-proj": {"1.0"}, "poetry-name": {""}, "pip": {"23.0.1"}, "setuptools": {"66.1.1"}}
	if fmt.Sprint(own) != fmt.Sprint(want) {
		t.Errorf("own = %v, want %v", own, want)
	}
	for p, is := range map[precheck.Package]bool{
		{Name: "my_proj", Version: "1.0.0"}:        true,
		{Name: "my-proj", Version: "2.0"}:          false,
		{Name: "Poetry.Name", Version: "9"}:        true,
		{Name: "setuptools", Version: "66.1.1"}:    true,
		{Name: "setuptools", Version: "65.5.0"}:    false,
		{Name: "pbox-stowaway", Version: "23.0.1"}: false,
	} {
		if own.has(p) != is {
			t.Errorf("own.has(%s@%s) = %v", p.Name, p.Version, !is)
		}
	}
}

// A report's name and version meet the installed dist-info's under PEP 503 and
// PEP 440 normalisation: nothing is "on disk only" that pip was asked for.
func TestNotCheckedNormalises(t *testing.T) {
	checked := packageSet([]precheck.Package{
		{Ecosystem: precheck.PyPI, Name: "Zope.Interface", Version: "6.0"},
		{Ecosystem: precheck.PyPI, Name: "pbox-dep", Version: "1.0a1"},
		{Ecosystem: precheck.RubyGems, Name: "rack", Version: "3.0"},
		{Ecosystem: precheck.CratesIO, Name: "serde_json", Version: "1.0.0"},
		{Ecosystem: precheck.NPM, Name: "minimist", Version: "1.2.8"},
	})
	pk := func(eco, name, version string) precheck.Package {
		return precheck.Package{Ecosystem: eco, Name: name, Version: version, Source: "x"}
	}
	got := notChecked([]precheck.Package{
		pk(precheck.PyPI, "zope_interface", "6.0.0"),
		pk(precheck.PyPI, "PBOX_DEP", "1.0.0-alpha.1"),
		pk(precheck.PyPI, "pbox-dep", "1.0"),
		pk(precheck.RubyGems, "rack", "3.0.0"),
		pk(precheck.RubyGems, "Rack", "3.0"),
		pk(precheck.CratesIO, "serde-json", "1.0.0"),
		pk(precheck.NPM, "minimist", "v1.2.8"),
	}, checked)
	var names []string
	for _, p := range got {
		names = append(names, p.Ecosystem+"/"+p.Name+"@"+p.Version)
	}
	if want := []string{"PyPI/pbox-dep@1.0", "RubyGems/Rack@3.0", "npm/minimist@v1.2.8"}; !slices.Equal(names, want) {
		t.Errorf("not checked: %q, want %q", names, want)
	}
}

func TestUnderOutputs(t *testing.T) {
	outs := []string{"Gemfile.lock", "vendor/bundle/", "target/"}
	for p, want := range map[string]bool{
		"Gemfile.lock":                         true,
		"Gemfile.lock.bak":                     false,
		"vendor/bundle":                        true,
		"vendor/bundle/ruby/3.1.0/x":           true,
		"vendor/bundler/x":                     false,
		"target/lib/x-1.0.dist-info/METADATA":  true,
		"src/x.egg-info/PKG-INFO":              false,
		"targets/lib/x-1.0.dist-info/METADATA": false,
	} {
		if got := underOutputs(p, outs); got != want {
			t.Errorf("underOutputs(%q) = %v", p, got)
		}
	}
	if !underOutputs("anything", []string{"./"}) {
		t.Error("an output of the whole project holds everything")
	}
}

// hostProject reads the project on the host as itself: a regular file beneath the
// root, never through a symlink.
func TestHostProject(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "pyproject.toml"), []byte("[project]\nname = \"p\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "pyproject.toml")
	if err := os.WriteFile(outside, []byte("[project]\nname = \"evil\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "linked"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "linked", "pyproject.toml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(root, "up")); err != nil {
		t.Fatal(err)
	}
	if data, err := hostProject(root).ReadFile("pyproject.toml"); err != nil || !strings.Contains(string(data), `"p"`) {
		t.Errorf("pyproject.toml: %q, %v", data, err)
	}
	for _, rel := range []string{"linked/pyproject.toml", "up/pyproject.toml", "../pyproject.toml", "none/pyproject.toml"} {
		if data, err := hostProject(root).ReadFile(rel); err == nil {
			t.Errorf("%s read: %q", rel, data)
		}
	}
	own := pyOwn{}
	pyProjectSelf(own, hostProject(root), "linked/pyproject.toml")
	if len(own) != 0 {
		t.Errorf("a linked pyproject.toml named the project: %v", own)
	}
}
