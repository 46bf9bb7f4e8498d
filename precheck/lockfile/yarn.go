package lockfile

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
)

// yarn.lock, v1 (yarn classic's own format) and berry (v2+, YAML with __metadata).
//
// Hand-written rather than wrapping scalibr's yarnlock: scalibr keeps only the name from the
// first specifier of the header, the version and a commit; it drops the resolution, so file:,
// link:, portal: and workspace: entries come out as registry packages (the babel lockfile's
// 90 workspaces would each be looked up on npm). The block grammar is the same line-based
// one scalibr uses — a header at column 0, properties indented by two spaces — and berry's
// `resolution: "name@npm:1.2.3"` gives the real name of an alias.
func parseYarn(in *input) ([]precheck.Package, error) {
	var out []precheck.Package
	berry := false
	var cur *yarnBlock
	flush := func() {
		if cur != nil {
			if p, ok := cur.pkg(in, berry); ok {
				out = append(out, p)
			}
		}
		cur = nil
	}
	data := in.data
	for n := 1; len(data) > 0; n++ {
		if n%4096 == 0 {
			if err := in.ctx.Err(); err != nil {
				return nil, err
			}
		}
		var raw []byte
		raw, data, _ = bytes.Cut(data, []byte{'\n'})
		line := strings.TrimRight(string(raw), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if line[0] != ' ' {
			flush()
			if line == "__metadata:" {
				berry = true
				continue // its properties are read into a block that is never reported
			}
			if !strings.HasSuffix(line, ":") {
				return nil, fmt.Errorf("line %d: expected an entry header ending in ':', got %q; is this a yarn.lock?", n, clip(line))
			}
			cur = &yarnBlock{header: strings.TrimSuffix(line, ":"), line: n}
			continue
		}
		if cur == nil {
			if berry {
				continue // __metadata properties
			}
			return nil, fmt.Errorf("line %d: indented line before any entry; is this a yarn.lock?", n)
		}
		if !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   ") {
			continue // nested maps (dependencies) are not needed
		}
		k, v, _ := strings.Cut(trimmed, " ")
		k = unquote(strings.TrimSuffix(k, ":"))
		v = unquote(strings.TrimSpace(v))
		switch k {
		case "version":
			cur.version = v
		case "resolved", "resolution":
			cur.resolution = v
		case "integrity":
			cur.integrity = v
		}
	}
	flush()
	return out, nil
}

type yarnBlock struct {
	header, version, resolution, integrity string
	line                                   int
}

func (b *yarnBlock) pkg(in *input, berry bool) (precheck.Package, bool) {
	p := precheck.Package{Ecosystem: precheck.NPM, Version: b.version, Source: in.at(b.line)}
	specs := strings.Split(b.header, ",")
	for i := range specs {
		specs[i] = unquote(strings.TrimSpace(specs[i]))
	}
	name, rng := splitNameAt(specs[0])
	p.Name = name
	if real, ok := strings.CutPrefix(rng, "npm:"); ok {
		// Alias: string-width-cjs@npm:string-width@^4.2.0.
		if n, _ := splitNameAt(real); n != "" && strings.Contains(real[1:], "@") {
			p.Name = n
		}
	}
	if berry {
		rname, ref := splitNameAt(b.resolution)
		if rname != "" {
			p.Name = rname
		}
		if strings.HasPrefix(ref, "workspace:") {
			return p, false // the project's own workspace, not a dependency
		}
		if inner, ok := strings.CutPrefix(ref, "patch:"); ok {
			// patch:name@npm%3A1.2.3#./.yarn/patches/x.patch — a local patch over a registry
			// (or other) package; the base decides what can be looked up.
			inner, _, _ = strings.Cut(inner, "#")
			if dec, err := url.PathUnescape(inner); err == nil {
				inner = dec
			}
			_, ref = splitNameAt(inner)
		}
		if strings.HasPrefix(ref, "npm:") {
			return p, true
		}
		p.Uncheckable, p.Reason = true, yarnReason(ref)
		return p, true
	}
	for _, s := range specs {
		_, r := splitNameAt(s)
		if strings.HasPrefix(r, "file:") || strings.HasPrefix(r, "link:") || strings.HasPrefix(r, "portal:") {
			p.Uncheckable, p.Reason = true, npmOrigin(r)
			return p, true
		}
	}
	if b.resolution == "" {
		// yarn 1 records where it fetched every package it fetched; an entry without
		// a resolved URL is a directory of the project (file:, or a range such as
		// "vendor" that names one: yarn's implicit file:), not the registry's.
		p.Uncheckable, p.Reason = true, "local directory dependency ("+clip(rng)+", no resolved URL)"
		return p, true
	}
	if r := npmOrigin(b.resolution); r != "" {
		p.Uncheckable, p.Reason = true, r
	}
	// yarn classic verifies a download against `integrity`, or else the sha1 in the
	// URL's fragment (resolved "…/x-1.0.0.tgz#<sha1 hex>").
	if !p.Uncheckable {
		p.Resolved, p.Integrity = b.resolution, b.integrity
		if _, frag, ok := strings.Cut(b.resolution, "#"); ok && p.Integrity == "" {
			p.Integrity = sha1Hex(frag)
		}
	}
	return p, true
}

func yarnReason(ref string) string {
	if r := npmOrigin(ref); r != "" {
		return r
	}
	return "not a registry package (" + ref + ")"
}

// splitNameAt splits "name@range" and "@scope/name@range" at the '@' after the name.
func splitNameAt(s string) (name, rest string) {
	start := 0
	if strings.HasPrefix(s, "@") {
		start = 1
	}
	i := strings.IndexByte(s[start:], '@')
	if i < 0 {
		return s, ""
	}
	return s[:start+i], s[start+i+1:]
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
