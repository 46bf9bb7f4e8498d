package analysis

import (
	"bytes"
	"strings"
	"sync"
)

// keyIndex finds the key literals of every pattern (pattern.keys) in one pass
// over a text, where a bytes.Index per key meant a few hundred passes over
// every file (most of the analysis's cost on a minified bundle). Each key's
// occurrences are the ones successive bytes.Index calls would find (the next
// search starts after the previous occurrence's end), so the windows findAll
// builds from them, and its matches, are the same.
type keyIndex struct {
	keys []string
	// byFirst2 lists the keys of two or more bytes by their first two bytes
	// (index first<<8|second into lists, 0 for none); byFirst1 the keys of one byte.
	byFirst2 [1 << 16]uint16
	byFirst1 [256]uint16
	lists    [][]int32
	// patternKeys are each pattern's key ids, in the order of its keys
	// string; nil for a pattern of other languages.
	patternKeys [][]int32
}

// keyIndexes are the indexes of the patterns of each language set, built when
// first asked for: a JavaScript file is not searched for Python's keys.
var (
	keyIndexes    [langAll + 1]*keyIndex
	keyIndexesMu  sync.Mutex
	keyIndexesAll = func() *keyIndex { return keysFor(langAll) }
)

// keysFor is the index of the keys of the patterns whose langs meet langs.
func keysFor(langs lang) *keyIndex {
	keyIndexesMu.Lock()
	defer keyIndexesMu.Unlock()
	if keyIndexes[langs] == nil {
		keyIndexes[langs] = buildKeyIndex(langs)
	}
	return keyIndexes[langs]
}

func buildKeyIndex(langs lang) *keyIndex {
	pats := patterns()
	x := &keyIndex{lists: [][]int32{nil}, patternKeys: make([][]int32, len(pats))}
	ids := map[string]int32{}
	for i := range pats {
		if pats[i].keys == "" || pats[i].langs&langs == 0 {
			continue
		}
		for _, k := range strings.Split(pats[i].keys, "|") {
			if k == "" {
				continue
			}
			id, ok := ids[k]
			if !ok {
				id = int32(len(x.keys))
				ids[k] = id
				x.keys = append(x.keys, k)
				slot := &x.byFirst1[k[0]]
				if len(k) >= 2 {
					slot = &x.byFirst2[uint16(k[0])<<8|uint16(k[1])]
				}
				if *slot == 0 {
					*slot = uint16(len(x.lists))
					x.lists = append(x.lists, nil)
				}
				x.lists[*slot] = append(x.lists[*slot], id)
			}
			x.patternKeys[i] = append(x.patternKeys[i], id)
		}
	}
	return x
}

// find returns, per key id, the offsets where it occurs in text, ascending and
// not overlapping one another (as bytes.Index from the end of the previous one).
func (x *keyIndex) find(text []byte) [][]int {
	occ := make([][]int, len(x.keys))
	next := make([]int, len(x.keys)) // first offset a key may occur at again
	add := func(l uint16, i int) {
		for _, id := range x.lists[l] {
			k := x.keys[id]
			if i < next[id] || !bytes.HasPrefix(text[i:], []byte(k)) {
				continue
			}
			occ[id] = append(occ[id], i)
			next[id] = i + len(k)
		}
	}
	n := len(text)
	for i := 0; i < n; i++ {
		c := text[i]
		if l := x.byFirst1[c]; l != 0 {
			add(l, i)
		}
		if i+1 < n {
			if l := x.byFirst2[uint16(c)<<8|uint16(text[i+1])]; l != 0 {
				add(l, i)
			}
		}
	}
	return occ
}
