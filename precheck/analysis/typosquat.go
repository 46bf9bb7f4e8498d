package analysis

import (
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// How popular a target must be. A name at edit distance one from a name ranked
// below these is as likely a real, smaller package as an imitation (measured on
// the corpus lockfiles, see typosquat_test.go); the cheaper-to-fake techniques
// (separators, homoglyphs, scope tricks) reach further down the list.
var (
	editTargets  = map[string]int{"npm": 1500, "PyPI": 400, "crates.io": 400, "RubyGems": 400}
	cheapTargets = map[string]int{"npm": 3000, "PyPI": 400, "crates.io": 400, "RubyGems": 400}
)

const minEditLen = 5 // shorter names are one edit from many real names

type topList struct {
	names   []string       // normalised, most depended-on first
	spelled []string       // as the list spells them
	rank    map[string]int // normalised name -> index
	// keyed forms of the top names, to their index
	stripped map[string]int // separators and case removed
	skeleton map[string]int // homoglyphs folded
	unscoped map[string]int // @scope/name as scope-name, scopename, scope.name
}

// newTopList indexes names (most depended-on first, as the list spells them);
// a name whose normalised form is already there is skipped.
func newTopList(eco string, names []string) *topList {
	l := &topList{rank: make(map[string]int, len(names)), stripped: make(map[string]int, len(names)),
		skeleton: make(map[string]int, len(names)), unscoped: map[string]int{}}
	l.names, l.spelled = make([]string, 0, len(names)), make([]string, 0, len(names))
	for _, orig := range names {
		n := normName(eco, orig)
		if n == "" {
			continue
		}
		if _, dup := l.rank[n]; dup {
			continue
		}
		l.rank[n] = len(l.names)
		l.names = append(l.names, n)
		l.spelled = append(l.spelled, orig)
	}
	// The keyed forms, last name first: each key is left with the best-ranked
	// name that has it, one map write per key and no lookup (a third of the
	// time of building the 15,000-name npm list).
	for i := len(l.names) - 1; i >= 0; i-- {
		n := l.names[i]
		st := stripSep(n)
		l.stripped[st] = i
		l.skeleton[homoglyphs.Replace(st)] = i // skeleton(n), from the stripped form made above
		if scope, rest, ok := strings.Cut(strings.TrimPrefix(n, "@"), "/"); ok && strings.HasPrefix(n, "@") {
			l.unscoped[scope+"-"+rest] = i
			l.unscoped[scope+rest] = i
			l.unscoped[scope+"."+rest] = i
		}
	}
	return l
}

var pySepRE = lazyre.New(`[-_.]+`)

// normName is how the ecosystem's registry compares names: PEP 503 for PyPI,
// - and _ alike for crates, case-insensitive for all.
func normName(eco, n string) string {
	n = strings.ToLower(strings.TrimSpace(n))
	switch eco {
	case "PyPI":
		n = pySepRE().ReplaceAllString(n, "-")
	case "crates.io":
		n = strings.ReplaceAll(n, "_", "-")
	}
	return n
}

func stripSep(n string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' {
			return -1
		}
		return r
	}, n)
}

// homoglyphs fold what reads alike in a monospace or proportional font.
var homoglyphs = strings.NewReplacer("rn", "m", "vv", "w", "cl", "d", "1", "l", "0", "o")

func skeleton(n string) string { return homoglyphs.Replace(stripSep(n)) }

var qwertyRows = []string{"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"}

func keyboardAdjacent(a, b byte) bool {
	pos := func(c byte) (int, int) {
		for r, row := range qwertyRows {
			if i := strings.IndexByte(row, c); i >= 0 {
				return r, i
			}
		}
		return -9, -9
	}
	ra, ca := pos(a)
	rb, cb := pos(b)
	dr, dc := ra-rb, ca-cb
	return ra >= 0 && rb >= 0 && dr >= -1 && dr <= 1 && dc >= -1 && dc <= 1 && (dr != 0 || dc != 0)
}

// affixes that squatters add to a popular name.
var (
	suffixes = []string{"-js", ".js", "js", "-node", "node", "-cli", "-npm", "-py", "py", "-python", "-lib"}
	prefixes = []string{"node-", "nodejs-", "node", "python-", "py-", "py", "js-"}
)

// Typosquat reports whether name imitates a much more popular name of the same
// ecosystem in the lists built into phylum-box; see TopLists.Typosquat.
func Typosquat(ecosystem, name string) (target, technique string, ok bool) {
	return EmbeddedTopLists().Typosquat(ecosystem, name)
}

// Typosquat reports whether name imitates a much more popular name of the same
// ecosystem, which one (as the list spells it) and how. A name on the list is
// never a typosquat. A nil *TopLists uses the embedded lists.
func (t *TopLists) Typosquat(ecosystem, name string) (target, technique string, ok bool) {
	l := t.list(ecosystem)
	if l == nil {
		return "", "", false
	}
	n := normName(ecosystem, name)
	if i, in := l.rank[n]; in || n == "" {
		// npm names were case-sensitive once: "React" is not "react".
		if in && ecosystem == "npm" && strings.TrimSpace(name) != l.spelled[i] && i < cheapTargets[ecosystem] {
			return l.spelled[i], "separator or case confusion", true
		}
		return "", "", false
	}
	best := -1
	var how string
	cheap := cheapTargets[ecosystem]
	try := func(i int, t string) {
		if i >= 0 && i < cheap && (best < 0 || i < best) {
			best, how = i, t
		}
	}
	if i, ok := l.stripped[stripSep(n)]; ok {
		try(i, "separator or case confusion")
	}
	if i, ok := l.skeleton[skeleton(n)]; ok {
		try(i, "homoglyph (look-alike characters)")
	}
	if ecosystem == "npm" {
		try(scopeConfusion(l, n))
	}
	try(affix(l, n))
	if len(n) >= minEditLen {
		limit := min(editTargets[ecosystem], len(l.names))
		for i := 0; i < limit && (best < 0 || i < best); i++ {
			t := l.names[i]
			if len(t) < minEditLen {
				continue
			}
			if tech := oneEdit(n, t); tech != "" {
				try(i, tech)
				break
			}
		}
	}
	if best < 0 {
		return "", "", false
	}
	return l.spelled[best], how, true
}

// scopeConfusion: @types/foo imitated by foo-types, and a popular unscoped name
// republished under a scope named after itself (@lodash/lodash).
func scopeConfusion(l *topList, n string) (int, string) {
	if scope, rest, ok := strings.Cut(strings.TrimPrefix(n, "@"), "/"); ok && strings.HasPrefix(n, "@") {
		if i, ok := l.rank[rest]; ok && (stripSep(scope) == stripSep(rest) || stripSep(scope)+"js" == stripSep(rest) || stripSep(scope) == stripSep(rest)+"js") {
			return i, "scope confusion (a popular unscoped name under a look-alike scope)"
		}
		return -1, ""
	}
	for _, form := range []struct{ pre, suf string }{{"", "-types"}, {"types-", ""}, {"", "-typings"}, {"typings-", ""}} {
		if base, ok := cut(n, form.pre, form.suf); ok {
			if i, ok := l.rank["@types/"+base]; ok {
				return i, "scope confusion (imitates @types/" + base + ")"
			}
		}
	}
	// @scope/name imitated by scope-name (the scope dropped into the name); n is
	// not on the list itself, or Typosquat would not be here.
	if i, ok := l.unscoped[n]; ok {
		return i, "scope confusion (imitates " + l.names[i] + ")"
	}
	return -1, ""
}

func cut(n, pre, suf string) (string, bool) {
	if !strings.HasPrefix(n, pre) || !strings.HasSuffix(n, suf) || len(n) <= len(pre)+len(suf) {
		return "", false
	}
	return n[len(pre) : len(n)-len(suf)], true
}

func affix(l *topList, n string) (int, string) {
	best, how := -1, ""
	consider := func(base, what string) {
		if len(base) < 2 {
			return
		}
		if i, ok := l.rank[base]; ok && (best < 0 || i < best) {
			best, how = i, what
		}
	}
	for _, s := range suffixes {
		if base, ok := strings.CutSuffix(n, s); ok {
			what := "suffix " + strings.TrimLeft(s, "-.") + " added"
			if s != ".js" && len(base) < 3 {
				continue // ws-js, qs-node: too short a base to say
			}
			consider(base, what)
		}
	}
	for _, p := range prefixes {
		if base, ok := strings.CutPrefix(n, p); ok {
			consider(base, "prefix "+strings.TrimRight(p, "-")+" added")
		}
	}
	return best, how
}

// oneEdit names the single edit that turns target into n: a transposition, a
// keyboard-adjacent or other substitution, an insertion or a deletion; "" when
// they are further apart.
func oneEdit(n, t string) string {
	switch d := len(n) - len(t); d {
	case 0:
		var diff []int
		for i := 0; i < len(n); i++ {
			if n[i] != t[i] {
				diff = append(diff, i)
				if len(diff) > 2 {
					return ""
				}
			}
		}
		switch len(diff) {
		case 1:
			a, b := n[diff[0]], t[diff[0]]
			if homoglyphs.Replace(string(a)) == homoglyphs.Replace(string(b)) {
				return "homoglyph (look-alike characters)"
			}
			if keyboardAdjacent(a, b) {
				return "keyboard-adjacent substitution"
			}
			return "one character substituted"
		case 2:
			i, j := diff[0], diff[1]
			if j == i+1 && n[i] == t[j] && n[j] == t[i] {
				return "two characters transposed"
			}
		}
	case 1:
		if deletesTo(n, t) {
			return "one character inserted"
		}
	case -1:
		if deletesTo(t, n) {
			return "one character deleted"
		}
	}
	return ""
}

// deletesTo reports whether removing one byte of long gives short.
func deletesTo(long, short string) bool {
	i := 0
	for i < len(short) && long[i] == short[i] {
		i++
	}
	return long[i+1:] == short[i:]
}
