package install

import (
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/internal/safefs"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
	"github.com/phylum-box/phylum-box/rootfs"
)

// Python's installed tree. A wheel is unpacked into site-packages as it is: one
// that carries a second distribution's evil-1.0.dist-info next to its own
// installs that distribution as far as importlib.metadata and pip are concerned,
// and no resolution report names it; a setup.py or build backend can write one
// too. So every distribution metadata file the run wrote below the plan's outputs
// (the venv, --target, --prefix or --root), at any depth (a .pth file puts any
// directory on sys.path; setuptools' own _vendor holds real dist-infos), is read:
//
//	NAME-VERSION.dist-info/METADATA       wheels (PEP 376/427)
//	NAME[-VERSION…].egg-info/PKG-INFO     setuptools' egg-info directory
//	NAME-VERSION….egg-info                a lone egg-info file (distutils)
//	NAME-VERSION….egg/EGG-INFO/PKG-INFO   an unpacked egg
//
// Both identities a distribution shows are checked: the Name and Version of its
// metadata (what importlib.metadata.version() reports) and the name and version
// of its directory (what importlib.metadata.distribution() finds it by).
//
// Distributions already installed before the run are not in the change set and are
// not checked again: this run neither installed nor can roll them back, they were
// checked by the run that installed them (or are the user's own), and `phylum-box
// check` covers an existing environment. A pre-existing distribution whose
// metadata the run rewrote is in the change set and is checked.

// maxDistMetadata bounds a METADATA or PKG-INFO read: it holds the long
// description (the README), larger than a package.json.
const maxDistMetadata = 16 << 20

// distMetadataFile says whether p (a slash path) is a distribution's metadata file,
// and returns the name of the directory (or file) that carries its identity.
// importlib.metadata (and so pip) finds a distribution by a child of a sys.path
// entry whose name ends, in any case, in .dist-info or .egg-info (or EGG-INFO in a
// .egg), and reads its METADATA, else its PKG-INFO, else the entry itself when it is
// a file; so each of these is a metadata file here, in either kind of directory.
func distMetadataFile(p string) (holder string, ok bool) {
	dir, file := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	parent := path.Base(dir)
	if file == "METADATA" || file == "PKG-INFO" {
		switch {
		case dir != "" && isDistInfoName(parent):
			return parent, true
		case dir != "" && strings.EqualFold(parent, "EGG-INFO") && strings.HasSuffix(strings.ToLower(path.Base(path.Dir(dir))), ".egg"):
			return path.Base(path.Dir(dir)), true
		}
	}
	if isDistInfoName(file) {
		return file, true // a lone metadata file (distutils' NAME-VERSION.egg-info)
	}
	return "", false
}

// isDistInfoName: name ends in .dist-info or .egg-info, in any case, after a name.
func isDistInfoName(name string) bool {
	low := strings.ToLower(name)
	for _, suf := range []string{".dist-info", ".egg-info"} {
		if strings.HasSuffix(low, suf) && len(low) > len(suf) {
			return true
		}
	}
	return false
}

// distHolderIdentity is the name and version a .dist-info, .egg-info or .egg name
// carries ("NAME-VERSION.dist-info", "NAME-VERSION-py3.11.egg-info"; a name has
// its "-" escaped to "_" there). version is empty when the name carries none.
func distHolderIdentity(holder string) (name, version string) {
	base := holder[:strings.LastIndexByte(holder, '.')]
	name, rest, ok := strings.Cut(base, "-")
	if !ok {
		return name, ""
	}
	version, _, _ = strings.Cut(rest, "-") // -pyX.Y, -PLATFORM of eggs
	return name, version
}

// distHeaders returns the first Name and Version header of core metadata (an RFC
// 822 header block, ended by the first empty line), as Python's email parser and
// so importlib.metadata read them: field names are case-insensitive, and the
// first of duplicates wins.
func distHeaders(data []byte) (name, version string) {
	var haveName, haveVersion bool
	for len(data) > 0 {
		// Lines end in \r\n, \r or \n: Python reads the file with universal
		// newlines, and its email parser splits on all three.
		line := data
		if i := bytes.IndexAny(data, "\r\n"); i < 0 {
			data = nil
		} else {
			line = data[:i]
			if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			data = data[i+1:]
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // a continuation of the previous field
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch strings.ToLower(string(bytes.TrimSpace(k))) {
		case "name":
			if !haveName {
				name, haveName = string(bytes.TrimSpace(v)), true
			}
		case "version":
			if !haveVersion {
				version, haveVersion = string(bytes.TrimSpace(v)), true
			}
		}
	}
	return name, version
}

// installedDists lists the Python distributions whose metadata the run added or
// rewrote below outputs, except own (pyOwn). A metadata file
// that names no version is skipped (skipped names it); one that is not a regular
// file, or is too large, is an error, as for package.json.
//
// seeds (pySeeds) are skipped only in the site-packages of a venv the run created
// (its pyvenv.cfg added): elsewhere a wheel or a build script writing, say,
// setuptools-66.1.1.dist-info over a newer setuptools installs a version the
// database may block, which no new venv explains.
func installedDists(changes []rootfs.Change, view treeView, outputs []string, own, seeds pyOwn) (pkgs []precheck.Package, skipped []string, err error) {
	venvs := map[string]bool{}
	for i := range changes {
		if c := &changes[i]; c.Kind == rootfs.Added && c.Type == rootfs.TypeRegular && path.Base(c.Path) == "pyvenv.cfg" {
			venvs[path.Dir(c.Path)] = true
		}
	}
	for i := range changes {
		c := &changes[i]
		if c.Kind == rootfs.Deleted || !underOutputs(c.Path, outputs) {
			continue
		}
		holder, ok := distMetadataFile(c.Path)
		if !ok {
			continue
		}
		if c.Type == rootfs.TypeDir && isDistInfoName(path.Base(c.Path)) {
			continue // the metadata directory itself; its METADATA or PKG-INFO is read
		}
		if c.Type != rootfs.TypeRegular {
			return nil, nil, fmt.Errorf("%s is a %s, not a file: a distribution's metadata must be its own file", rootfs.Printable(c.Path), c.Type)
		}
		data, err := readChanged(view, c.Path, c.Size, maxDistMetadata, "a distribution's metadata")
		if err != nil {
			return nil, nil, err
		}
		name, version := distHeaders(data)
		ids := []precheck.Package{{Ecosystem: precheck.PyPI, Name: name, Version: version, Source: c.Path}}
		if dname, dversion := distHolderIdentity(holder); !sameIdentity(ids[0], precheck.Package{Ecosystem: precheck.PyPI, Name: dname, Version: dversion}) {
			ids = append(ids, precheck.Package{Ecosystem: precheck.PyPI, Name: dname, Version: dversion, Source: c.Path})
		}
		found := false
		for _, p := range ids {
			if p.Name == "" || p.Version == "" {
				continue
			}
			found = true
			if own.has(p) || seeds.has(p) && inNewVenv(c.Path, venvs) {
				continue
			}
			pkgs = append(pkgs, p)
		}
		if !found {
			skipped = append(skipped, c.Path)
		}
	}
	return pkgs, skipped, nil
}

// pyOwn are distributions a run installs that are not registry packages to look
// up, by PEP 503 name, each with its versions ("" is any version):
//
//   - the project itself: an editable install of the project (poetry install
//     --only-root) writes its dist-info, under the name in its pyproject.toml;
//   - the interpreter's own seeds: a venv the build creates (poetry's, when the
//     project has none) gets pip, and before Python 3.12 setuptools, from the
//     wheels the system Python bundles for ensurepip — part of the toolchain,
//     like python itself, and installed whatever the project asks for.
type pyOwn map[string][]string

func (o pyOwn) has(p precheck.Package) bool {
	for _, v := range o[osvdb.NormalizeName(precheck.PyPI, p.Name)] {
		if v == "" || sameVersion(precheck.PyPI, v, p.Version) {
			return true
		}
	}
	return false
}

// hostProject reads files of the project on the host, as it was before the run
// (the steps write only to the scratch), without following a symlink, beneath root
// (safefs), up to maxManifest bytes.
type hostProject string

func (root hostProject) ReadFile(rel string) ([]byte, error) {
	return safefs.ReadFile(string(root), rel, maxManifest, safefs.Options{})
}

// inNewVenv: p is the METADATA of a dist-info directly in
// VENV/lib/pythonX.Y/site-packages of a venv in venvs.
func inNewVenv(p string, venvs map[string]bool) bool {
	info, file := path.Split(p)
	info = strings.TrimSuffix(info, "/")
	sp := path.Dir(info)
	lib := path.Dir(sp)
	if file != "METADATA" || !strings.HasSuffix(info, ".dist-info") || path.Base(sp) != "site-packages" ||
		!strings.HasPrefix(path.Base(lib), "python") || path.Base(path.Dir(lib)) != "lib" {
		return false
	}
	return venvs[path.Dir(path.Dir(lib))]
}

// pyProjectSelf adds the project's own distribution name(s) and version from its
// pyproject.toml ([project] and [tool.poetry]), read as data, to own. view must be
// the project as it was before the run (hostProject): code that ran in a step could
// rewrite the scratch's pyproject.toml to give its own stowaway the project's name
// (the write itself is refused by the sync, the rest of the venv is not).
func pyProjectSelf(own pyOwn, view treeView, rel string) {
	data, err := view.ReadFile(rel)
	if err != nil || len(data) > maxManifest {
		return
	}
	var pp struct {
		Project struct {
			Name    string `toml:"name"`
			Version string `toml:"version"`
		} `toml:"project"`
		Tool struct {
			Poetry struct {
				Name    string `toml:"name"`
				Version string `toml:"version"`
			} `toml:"poetry"`
		} `toml:"tool"`
	}
	if _, err := toml.Decode(string(data), &pp); err != nil {
		return
	}
	for _, nv := range [][2]string{{pp.Project.Name, pp.Project.Version}, {pp.Tool.Poetry.Name, pp.Tool.Poetry.Version}} {
		if nv[0] != "" {
			n := osvdb.NormalizeName(precheck.PyPI, nv[0])
			own[n] = append(own[n], nv[1])
		}
	}
}

// pySeedWheels are where system Pythons keep the wheels ensurepip installs into a
// new venv (Debian's python3-venv: /usr/share/python-wheels; a python built from
// source: its ensurepip/_bundled). A Python under $HOME (pyenv) is not visible in
// the sandbox, so its seeds never reach a venv the build creates.
var pySeedWheels = []string{"/usr/share/python-wheels/*.whl", "/usr/lib/python3*/ensurepip/_bundled/*.whl", "/usr/local/lib/python3*/ensurepip/_bundled/*.whl"}

// pySeeds adds the seed wheels' names and versions (NAME-VERSION-TAGS.whl) to own.
func pySeeds(own pyOwn, globs []string) {
	for _, g := range globs {
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			name, rest, ok := strings.Cut(strings.TrimSuffix(filepath.Base(m), ".whl"), "-")
			version, _, _ := strings.Cut(rest, "-")
			if ok && version != "" {
				n := osvdb.NormalizeName(precheck.PyPI, name)
				own[n] = append(own[n], version)
			}
		}
	}
}

// underOutputs reports whether p (slash, relative to the project) is one of the
// plan's outputs or below an output directory ("dir/").
func underOutputs(p string, outputs []string) bool {
	for _, o := range outputs {
		if d, isDir := strings.CutSuffix(o, "/"); isDir {
			if d == "." || d == "" || p == d || strings.HasPrefix(p, d+"/") {
				return true
			}
		} else if p == o {
			return true
		}
	}
	return false
}
