package osvdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/phylum-box/phylum-box/precheck"
)

// entry is what the database stores for one (advisory, package) pair: the union of
// every affected[] entry of the advisory that names this package (the OSV evaluation
// is "any affected entry matches", so concatenating their ranges and versions is
// exact), plus the advisory-level facts a finding reports.
type entry struct {
	ID       string
	Aliases  []string
	Summary  string
	Kind     precheck.FindingKind
	Severity precheck.Severity
	Score    float64
	Ranges   []vrange
	Versions []string
}

type rangeType uint8

const (
	rangeSemver rangeType = iota + 1
	rangeEcosystem
)

type eventKind uint8

const (
	evIntroduced eventKind = iota + 1
	evFixed
	evLastAffected
	evLimit
)

type vrange struct {
	Type   rangeType
	Events []event
}

type event struct {
	Kind    eventKind
	Version string
}

// entryFormat is the first byte of every stored value. Bump it (and formatVersion in
// meta) when the encoding changes; Open refuses a database of another format and
// tells the user to run `phylum-box db update`.
const entryFormat = 1

const flagMalicious = 1

// appendEntry encodes e compactly: a format byte, flags, severity, score×10, then
// length-prefixed strings. Binary rather than JSON or gob because a check decodes
// only the handful of entries that exist for its packages, but an import encodes
// hundreds of thousands; this costs no reflection and about a third of JSON's bytes.
func appendEntry(b []byte, e *entry) []byte {
	b = append(b, entryFormat)
	var flags byte
	if e.Kind == precheck.Malicious {
		flags |= flagMalicious
	}
	b = append(b, flags, byte(e.Severity))
	b = binary.AppendUvarint(b, uint64(math.Round(e.Score*10)))
	b = appendString(b, e.ID)
	b = appendString(b, e.Summary)
	b = appendStrings(b, e.Aliases)
	b = appendStrings(b, e.Versions)
	b = binary.AppendUvarint(b, uint64(len(e.Ranges)))
	for _, r := range e.Ranges {
		b = append(b, byte(r.Type))
		b = binary.AppendUvarint(b, uint64(len(r.Events)))
		for _, ev := range r.Events {
			b = append(b, byte(ev.Kind))
			b = appendString(b, ev.Version)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

var errCorruptEntry = errors.New("corrupt database entry")

// decoder reads an encoded entry. Values come from the mmap, so every string is
// copied out (string(b[...])) before the read transaction ends.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.err = errCorruptEntry
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorruptEntry
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length and bounds it by the bytes left, so a corrupt value cannot
// make us allocate a huge slice.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errCorruptEntry
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) skipString() {
	n := d.count()
	if d.err == nil {
		d.b = d.b[n:]
	}
}

func (d *decoder) skipStrings() {
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		d.skipString()
	}
}

func (d *decoder) strings() []string {
	n := d.count()
	if n == 0 || d.err != nil {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.string()
	}
	return out
}

// decodeEntry decodes a stored value. With full false, the reporting fields (id,
// summary, aliases) are skipped: a lookup decodes every advisory of a package but
// needs those only for the ones that match.
func decodeEntry(b []byte) (*entry, error) { return decodeEntryPart(b, true) }

func decodeEntryPart(b []byte, full bool) (*entry, error) {
	d := decoder{b: b}
	if f := d.byte(); d.err == nil && f != entryFormat {
		return nil, fmt.Errorf("database entry format %d, want %d", f, entryFormat)
	}
	e := &entry{Kind: precheck.Vulnerability}
	if d.byte()&flagMalicious != 0 {
		e.Kind = precheck.Malicious
	}
	if e.Severity = precheck.Severity(d.byte()); e.Severity > precheck.SeverityCritical {
		d.err = errCorruptEntry
	}
	e.Score = float64(d.uvarint()) / 10
	if full {
		e.ID = d.string()
		e.Summary = d.string()
		e.Aliases = d.strings()
	} else {
		d.skipString()
		d.skipString()
		d.skipStrings()
	}
	e.Versions = d.strings()
	nr := d.count()
	if nr > 0 && d.err == nil {
		e.Ranges = make([]vrange, nr)
		for i := range e.Ranges {
			e.Ranges[i].Type = rangeType(d.byte())
			if t := e.Ranges[i].Type; t != rangeSemver && t != rangeEcosystem {
				d.err = errCorruptEntry
			}
			ne := d.count()
			if d.err != nil {
				break
			}
			e.Ranges[i].Events = make([]event, ne)
			for j := range e.Ranges[i].Events {
				k := eventKind(d.byte())
				if k < evIntroduced || k > evLimit {
					d.err = errCorruptEntry
				}
				e.Ranges[i].Events[j] = event{Kind: k, Version: d.string()}
			}
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, errCorruptEntry
	}
	return e, nil
}

func (e *entry) finding() precheck.Finding {
	return precheck.Finding{
		ID:       e.ID,
		Kind:     e.Kind,
		Severity: e.Severity,
		Summary:  e.Summary,
		Aliases:  e.Aliases,
		Score:    e.Score,
	}
}

// entriesFor turns one record into the entries to store, keyed by (ecosystem,
// normalized name). keep filters ecosystems. GIT ranges and events with an empty
// version (real records carry `"fixed": ""`) are dropped here, so lookups never see
// them; a range left with no events is dropped too.
func entriesFor(r *osvRecord, keep func(eco string) bool) map[pkgKey]*entry {
	var out map[pkgKey]*entry
	var kind precheck.FindingKind
	var sev precheck.Severity
	var score float64
	classified := false
	for i := range r.Affected {
		a := &r.Affected[i]
		eco, ok := CanonicalEcosystem(a.Package.Ecosystem)
		if !ok || eco != a.Package.Ecosystem || a.Package.Name == "" || !keep(eco) {
			continue
		}
		if !classified {
			kind, sev, score = r.classify()
			classified = true
		}
		k := pkgKey{eco, NormalizeName(eco, a.Package.Name)}
		if out == nil {
			out = make(map[pkgKey]*entry, 1)
		}
		e := out[k]
		if e == nil {
			e = &entry{ID: r.ID, Aliases: r.Aliases, Summary: r.Summary, Kind: kind, Severity: sev, Score: score}
			out[k] = e
		}
		for _, v := range a.Versions {
			if v != "" {
				e.Versions = append(e.Versions, v)
			}
		}
		for _, rg := range a.Ranges {
			var t rangeType
			switch rg.Type {
			case "SEMVER":
				t = rangeSemver
			case "ECOSYSTEM":
				t = rangeEcosystem
			default: // GIT: commit ranges cannot be evaluated against a version.
				continue
			}
			vr := vrange{Type: t}
			for _, ev := range rg.Events {
				switch {
				case ev.Introduced != nil && *ev.Introduced != "":
					vr.Events = append(vr.Events, event{evIntroduced, *ev.Introduced})
				case ev.Fixed != nil && *ev.Fixed != "":
					vr.Events = append(vr.Events, event{evFixed, *ev.Fixed})
				case ev.LastAffected != nil && *ev.LastAffected != "":
					vr.Events = append(vr.Events, event{evLastAffected, *ev.LastAffected})
				case ev.Limit != nil && *ev.Limit != "":
					vr.Events = append(vr.Events, event{evLimit, *ev.Limit})
				}
			}
			if len(vr.Events) > 0 {
				e.Ranges = append(e.Ranges, vr)
			}
		}
	}
	return out
}

type pkgKey struct {
	Ecosystem string
	Name      string
}
