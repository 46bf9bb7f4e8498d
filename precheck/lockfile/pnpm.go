package lockfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/phylum-box/phylum-box/precheck"
)

// pnpm-lock.yaml, lockfileVersion 5.x (keys "/name/1.2.3_peer"), 6–8 ("/name@1.2.3(peer)")
// and 9 ("name@1.2.3", peers moved to "snapshots").
//
// Hand-written rather than wrapping scalibr's pnpmlock: scalibr silently drops "file:" keys
// and any entry whose version does not start with a digit (git and tarball entries of
// lockfile v5 without a name field), keeps git/tarball entries as registry packages, and
// ignores importers, so `link:` dependencies vanish.
//
// Speed: yaml.v3 needs ~35 ms for vite's 500 kB lockfile on these machines, most of the
// 50 ms budget of a whole check. pnpm writes its lockfile in a small, regular subset of YAML,
// so pnpmFast reads that subset line by line (~2 ms) and gives up at the first thing outside
// it (anchors, block scalars, multi-line values, odd indentation, duplicate keys …); then the
// document is read with yaml.v3. FuzzParsePNPM checks that both readers agree whenever the
// fast one accepts an input.
type pnpmPackage struct {
	Resolution struct {
		Tarball   string `yaml:"tarball"`
		Integrity string `yaml:"integrity"`
		Commit    string `yaml:"commit"`
		Repo      string `yaml:"repo"`
		Type      string `yaml:"type"`
		Directory string `yaml:"directory"`
	} `yaml:"resolution"`
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
	Dev     bool   `yaml:"dev"`
}

// pnpmDoc is what the parser needs from a pnpm-lock.yaml.
type pnpmDoc struct {
	empty     bool // nothing but comments
	version   string
	packages  []pnpmRaw
	importers []pnpmImporter // for v5 single-project lockfiles, "." from the top level
	// snapshots maps a snapshot key to its dependencies' snapshot keys; nil when the
	// lockfile has no snapshots section (before v9).
	snapshots map[string][]string
}

type pnpmRaw struct {
	key  string
	line int
	pkg  pnpmPackage
}

type pnpmImporter struct {
	dir  string
	deps []pnpmDep
}

type pnpmDep struct {
	group, name, version string
	line                 int
}

var errNotPNPM = errors.New("not a pnpm-lock.yaml: expected a YAML mapping with lockfileVersion; regenerate it with `pnpm install --lockfile-only`")

func parsePNPM(in *input) ([]precheck.Package, error) {
	doc, ok := pnpmFast(in.data)
	if !ok {
		var err error
		if doc, err = pnpmYAML(in.data); err != nil {
			return nil, err
		}
	}
	if err := in.ctx.Err(); err != nil {
		return nil, err
	}
	return pnpmPackages(in, doc)
}

func pnpmPackages(in *input, doc *pnpmDoc) ([]precheck.Package, error) {
	if doc.empty {
		return nil, nil
	}
	if doc.version == "" {
		return nil, errors.New("not a pnpm-lock.yaml: no lockfileVersion; regenerate it with `pnpm install --lockfile-only`")
	}
	v := doc.version
	atStyle := !strings.HasPrefix(v, "5") && !strings.HasPrefix(v, "4") && !strings.HasPrefix(v, "3")
	out := make([]precheck.Package, 0, len(doc.packages))
	for i := range doc.packages {
		r := &doc.packages[i]
		out = append(out, pnpmEntry(in, r.key, r.line, atStyle, &r.pkg))
	}
	if doc.snapshots != nil {
		pnpmDevFromSnapshots(out, doc)
	}
	return append(out, pnpmLinks(in, doc)...), nil
}

// pnpmYAML reads the document with yaml.v3.
func pnpmYAML(data []byte) (*pnpmDoc, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return &pnpmDoc{empty: true}, nil
		}
		return nil, fmt.Errorf("not a valid pnpm-lock.yaml: %w", err)
	}
	if len(root.Content) == 0 {
		return &pnpmDoc{empty: true}, nil
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, errNotPNPM
	}
	doc := &pnpmDoc{}
	haveImporters := false
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "lockfileVersion":
			doc.version = v.Value
		case "packages":
			if v.Kind != yaml.MappingNode {
				continue
			}
			doc.packages = make([]pnpmRaw, 0, len(v.Content)/2)
			for j := 0; j+1 < len(v.Content); j += 2 {
				r := pnpmRaw{key: v.Content[j].Value, line: v.Content[j].Line}
				if err := v.Content[j+1].Decode(&r.pkg); err != nil {
					return nil, fmt.Errorf("line %d: package %q: %w", r.line, r.key, err)
				}
				doc.packages = append(doc.packages, r)
			}
		case "importers":
			haveImporters = true
			if v.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				doc.importers = append(doc.importers, pnpmImporter{dir: v.Content[j].Value, deps: yamlDeps(v.Content[j+1])})
			}
		case "snapshots":
			doc.snapshots = map[string][]string{}
			if v.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				var keys []string
				for _, d := range yamlDeps(v.Content[j+1]) {
					if d.group != "devDependencies" {
						keys = appendDepKey(keys, d.name, d.version)
					}
				}
				doc.snapshots[v.Content[j].Value] = keys
			}
		}
	}
	if !haveImporters {
		doc.importers = []pnpmImporter{{dir: ".", deps: yamlDeps(top)}}
	}
	return doc, nil
}

// yamlDeps reads the dependency groups of an importer or snapshot: name: version, or
// name: {specifier, version}.
func yamlDeps(n *yaml.Node) []pnpmDep {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var out []pnpmDep
	for i := 0; i+1 < len(n.Content); i += 2 {
		group, deps := n.Content[i].Value, n.Content[i+1]
		if (group != "dependencies" && group != "devDependencies" && group != "optionalDependencies") || deps.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(deps.Content); j += 2 {
			v := deps.Content[j+1]
			ver := v.Value
			if v.Kind == yaml.MappingNode {
				ver = ""
				for m := 0; m+1 < len(v.Content); m += 2 {
					if v.Content[m].Value == "version" {
						ver = v.Content[m+1].Value
					}
				}
			}
			out = append(out, pnpmDep{group: group, name: deps.Content[j].Value, version: ver, line: deps.Content[j].Line})
		}
	}
	return out
}

// pnpmDevFromSnapshots sets Dev for lockfile v9, which no longer writes `dev:` on packages:
// a package is development-only if it is reachable from some importer's devDependencies
// and from no importer's dependencies or optionalDependencies, following "snapshots".
func pnpmDevFromSnapshots(pkgs []precheck.Package, doc *pnpmDoc) {
	walk := func(roots []string) map[string]bool {
		seen := map[string]bool{}
		for len(roots) > 0 {
			k := roots[len(roots)-1]
			roots = roots[:len(roots)-1]
			if seen[k] {
				continue
			}
			seen[k] = true
			roots = append(roots, doc.snapshots[k]...)
		}
		reached := make(map[string]bool, len(seen))
		for k := range seen {
			if i := strings.IndexByte(k, '('); i > 0 {
				k = k[:i]
			}
			reached[k] = true
		}
		return reached
	}
	var prodRoots, devRoots []string
	for _, imp := range doc.importers {
		for _, d := range imp.deps {
			if d.group == "devDependencies" {
				devRoots = appendDepKey(devRoots, d.name, d.version)
			} else {
				prodRoots = appendDepKey(prodRoots, d.name, d.version)
			}
		}
	}
	prod, dev := walk(prodRoots), walk(devRoots)
	for i := range pkgs {
		k := pkgs[i].Name + "@" + pkgs[i].Version
		pkgs[i].Dev = dev[k] && !prod[k]
	}
}

// appendDepKey turns a dependency (name, version) into a snapshot key: "name@1.0.0(peer@2)",
// or the alias/URL target as written ("real@1.0.0"). Links have no snapshot.
func appendDepKey(keys []string, name, ver string) []string {
	switch {
	case strings.HasPrefix(ver, "link:"):
		return keys
	case startsWithDigit(ver):
		return append(keys, name+"@"+ver)
	}
	return append(keys, ver)
}

func pnpmEntry(in *input, key string, line int, atStyle bool, p *pnpmPackage) precheck.Package {
	name, version := pnpmKey(key, atStyle)
	if p.Name != "" {
		name = p.Name
	}
	if p.Version != "" {
		version = p.Version
	}
	pkg := precheck.Package{Ecosystem: precheck.NPM, Name: name, Version: version, Source: in.at(line), Dev: p.Dev}
	r := p.Resolution
	switch {
	case strings.HasPrefix(key, "file:") || r.Type == "directory" || r.Directory != "":
		pkg.Reason = "local file dependency (" + key + ")"
	case r.Type == "git" || r.Commit != "":
		pkg.Reason = "git dependency (" + cmpOr(r.Repo, key) + "#" + r.Commit + ")"
	case r.Tarball != "":
		pkg.Reason = npmOrigin(r.Tarball)
		pkg.Resolved = r.Tarball
	case !startsWithDigit(version):
		pkg.Reason = "not a registry version (" + key + ")"
		if p.Name == "" {
			pkg.Name = key // the key could not be read as name and version
		}
	}
	if pkg.Reason == "" {
		pkg.Integrity = r.Integrity
	} else {
		pkg.Resolved = ""
		pkg.Uncheckable = true
		if pkg.Name == "" {
			pkg.Name = key
		}
		if !startsWithDigit(pkg.Version) {
			pkg.Version = "" // a URL or path out of the key, not a version
		}
	}
	return pkg
}

// pnpmKey reads the name and version out of a packages key.
func pnpmKey(key string, atStyle bool) (name, version string) {
	k := strings.TrimPrefix(key, "/")
	if i := strings.IndexByte(k, '('); i > 0 {
		k = k[:i] // v6+ peer suffix: /a@1.0.0(b@2.0.0)
	}
	if atStyle || !strings.Contains(k, "/") || (strings.HasPrefix(k, "@") && strings.Count(k, "/") == 1 && strings.Contains(k[1:], "@")) {
		return splitNameAt(k)
	}
	segs := strings.Split(k, "/")
	// v5 keys from a non-default registry start with its host: registry.npmjs.org/foo/1.1.0.
	if !strings.HasPrefix(key, "/") && len(segs) > 2 && strings.Contains(segs[0], ".") {
		segs = segs[1:]
	}
	if strings.HasPrefix(segs[0], "@") && len(segs) >= 2 {
		name = segs[0] + "/" + segs[1]
		segs = segs[2:]
	} else {
		name = segs[0]
		segs = segs[1:]
	}
	if len(segs) > 0 {
		version = segs[0]
	}
	if i := strings.IndexByte(version, '_'); i > 0 {
		version = version[:i] // v5 peer suffix: 1.0.0_react@18.2.0
	}
	return name, version
}

// pnpmLinks reports `link:` dependencies of the importers (and, in v5 single-project
// lockfiles, of the top level). A link to another importer is a workspace package of the
// project and not a dependency; any other link points at a directory pnpm never fetched.
func pnpmLinks(in *input, doc *pnpmDoc) []precheck.Package {
	isImporter := map[string]bool{".": true}
	for _, imp := range doc.importers {
		isImporter[imp.dir] = true
	}
	var out []precheck.Package
	for _, imp := range doc.importers {
		for _, d := range imp.deps {
			rel, ok := strings.CutPrefix(d.version, "link:")
			if !ok {
				continue
			}
			if isImporter[path.Clean(path.Join(imp.dir, rel))] {
				continue
			}
			out = append(out, precheck.Package{
				Ecosystem: precheck.NPM, Name: d.name, Source: in.at(d.line),
				Uncheckable: true, Reason: "linked local directory (" + d.version + " from " + imp.dir + ")",
				Dev: d.group == "devDependencies",
			})
		}
	}
	return out
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
