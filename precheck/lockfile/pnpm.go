package lockfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/phylum-box/phylum-box/precheck"
)

// pnpm-lock.yaml, lockfileVersion 5.x (keys "/name/1.2.3_peer"), 6–8 ("/name@1.2.3(peer)")
// and 9 ("name@1.2.3", peers moved to "snapshots").
//
// Hand-written rather than wrapping scalibr's pnpmlock: scalibr silently drops "file:" keys
// and any entry whose version does not start with a digit (git and tarball entries of
// lockfile v5 without a name field), keeps git/tarball entries as registry packages, and
// ignores importers, so `link:` dependencies vanish. It also decodes the document twice
// (node tree, then struct); here the node tree is walked once and only each package's small
// value is decoded, which matters for the 50 ms budget of a 1,400-package check.
type pnpmPackage struct {
	Resolution struct {
		Tarball   string `yaml:"tarball"`
		Commit    string `yaml:"commit"`
		Repo      string `yaml:"repo"`
		Type      string `yaml:"type"`
		Directory string `yaml:"directory"`
	} `yaml:"resolution"`
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
	Dev     bool   `yaml:"dev"`
}

func parsePNPM(in *input) ([]precheck.Package, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(in.data)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("not a valid pnpm-lock.yaml: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // nothing but comments: no packages
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a pnpm-lock.yaml: expected a YAML mapping with lockfileVersion; regenerate it with `pnpm install --lockfile-only`")
	}
	root := doc.Content[0]
	var version string
	var packages, importers, snapshots *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "lockfileVersion":
			version = root.Content[i+1].Value
		case "packages":
			packages = root.Content[i+1]
		case "importers":
			importers = root.Content[i+1]
		case "snapshots":
			snapshots = root.Content[i+1]
		}
	}
	if version == "" {
		return nil, errors.New("not a pnpm-lock.yaml: no lockfileVersion; regenerate it with `pnpm install --lockfile-only`")
	}
	atStyle := !strings.HasPrefix(version, "5") && !strings.HasPrefix(version, "4") && !strings.HasPrefix(version, "3")

	var out []precheck.Package
	if packages != nil && packages.Kind == yaml.MappingNode {
		out = make([]precheck.Package, 0, len(packages.Content)/2)
		for i := 0; i+1 < len(packages.Content); i += 2 {
			if i%512 == 0 {
				if err := in.ctx.Err(); err != nil {
					return nil, err
				}
			}
			k := packages.Content[i]
			var p pnpmPackage
			if err := packages.Content[i+1].Decode(&p); err != nil {
				return nil, fmt.Errorf("line %d: package %q: %w", k.Line, k.Value, err)
			}
			out = append(out, pnpmEntry(in, k.Value, k.Line, atStyle, &p))
		}
	}
	if snapshots != nil {
		pnpmDevFromSnapshots(out, importers, snapshots)
	}
	out = append(out, pnpmLinks(in, root, importers)...)
	return out, nil
}

// pnpmDevFromSnapshots sets Dev for lockfile v9, which no longer writes `dev:` on packages:
// a package is development-only if it is reachable from some importer's devDependencies
// and from no importer's dependencies or optionalDependencies, following "snapshots".
func pnpmDevFromSnapshots(pkgs []precheck.Package, importers, snapshots *yaml.Node) {
	if importers == nil || importers.Kind != yaml.MappingNode || snapshots.Kind != yaml.MappingNode {
		return
	}
	// snapshot key → its dependency snapshot keys
	graph := make(map[string][]string, len(snapshots.Content)/2)
	for i := 0; i+1 < len(snapshots.Content); i += 2 {
		var deps []string
		v := snapshots.Content[i+1]
		for j := 0; j+1 < len(v.Content); j += 2 {
			if g := v.Content[j].Value; g == "dependencies" || g == "optionalDependencies" {
				deps = appendDepKeys(deps, v.Content[j+1])
			}
		}
		graph[snapshots.Content[i].Value] = deps
	}
	walk := func(roots []string) map[string]bool {
		seen := map[string]bool{}
		for len(roots) > 0 {
			k := roots[len(roots)-1]
			roots = roots[:len(roots)-1]
			if seen[k] {
				continue
			}
			seen[k] = true
			roots = append(roots, graph[k]...)
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
	for i := 0; i+1 < len(importers.Content); i += 2 {
		imp := importers.Content[i+1]
		for j := 0; j+1 < len(imp.Content); j += 2 {
			switch imp.Content[j].Value {
			case "dependencies", "optionalDependencies":
				prodRoots = appendDepKeys(prodRoots, imp.Content[j+1])
			case "devDependencies":
				devRoots = appendDepKeys(devRoots, imp.Content[j+1])
			}
		}
	}
	prod, dev := walk(prodRoots), walk(devRoots)
	for i := range pkgs {
		k := pkgs[i].Name + "@" + pkgs[i].Version
		pkgs[i].Dev = dev[k] && !prod[k]
	}
}

// appendDepKeys turns a dependency map (name: version, or name: {specifier, version}) into
// snapshot keys: "name@1.0.0(peer@2)", or the alias target "real@1.0.0" as written.
func appendDepKeys(keys []string, deps *yaml.Node) []string {
	if deps.Kind != yaml.MappingNode {
		return keys
	}
	for i := 0; i+1 < len(deps.Content); i += 2 {
		name, v := deps.Content[i].Value, deps.Content[i+1]
		ver := v.Value
		if v.Kind == yaml.MappingNode {
			for m := 0; m+1 < len(v.Content); m += 2 {
				if v.Content[m].Value == "version" {
					ver = v.Content[m+1].Value
				}
			}
		}
		switch {
		case strings.HasPrefix(ver, "link:"):
		case startsWithDigit(ver):
			keys = append(keys, name+"@"+ver)
		default:
			keys = append(keys, ver) // alias or URL: the value is the key
		}
	}
	return keys
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
	case !startsWithDigit(version):
		pkg.Reason = "not a registry version (" + key + ")"
		if p.Name == "" {
			pkg.Name = key // the key could not be read as name and version
		}
	}
	if pkg.Reason != "" {
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
func pnpmLinks(in *input, root, importers *yaml.Node) []precheck.Package {
	isImporter := map[string]bool{".": true}
	type imp struct {
		dir  string
		node *yaml.Node
	}
	var imps []imp
	if importers != nil && importers.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(importers.Content); i += 2 {
			isImporter[importers.Content[i].Value] = true
			imps = append(imps, imp{importers.Content[i].Value, importers.Content[i+1]})
		}
	} else {
		imps = append(imps, imp{".", root})
	}
	var out []precheck.Package
	for _, im := range imps {
		if im.node.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(im.node.Content); i += 2 {
			group := im.node.Content[i].Value
			deps := im.node.Content[i+1]
			if (group != "dependencies" && group != "devDependencies" && group != "optionalDependencies") || deps.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(deps.Content); j += 2 {
				v := deps.Content[j+1]
				ver := v.Value
				if v.Kind == yaml.MappingNode {
					for m := 0; m+1 < len(v.Content); m += 2 {
						if v.Content[m].Value == "version" {
							ver = v.Content[m+1].Value
						}
					}
				}
				rel, ok := strings.CutPrefix(ver, "link:")
				if !ok {
					continue
				}
				target := path.Clean(path.Join(im.dir, rel))
				if isImporter[target] {
					continue
				}
				out = append(out, precheck.Package{
					Ecosystem: precheck.NPM, Name: deps.Content[j].Value, Source: in.at(deps.Content[j].Line),
					Uncheckable: true, Reason: "linked local directory (" + ver + " from " + im.dir + ")",
					Dev: group == "devDependencies",
				})
			}
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
