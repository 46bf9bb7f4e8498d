package analysis

import (
	"bytes"
	"strings"
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
}

// patternKeys are each pattern's key ids in keyIdx.keys, in the order of its
// keys string.
var (
	keyIdx      = buildKeyIndex()
	patternKeys = func() [][]int32 {
		out := make([][]int32, len(patterns))
		for i := range patterns {
			if patterns[i].keys == "" {
				continue
			}
			for _, k := range strings.Split(patterns[i].keys, "|") {
				out[i] = append(out[i], keyIdx.id(k))
			}
		}
		return out
	}()
)

func buildKeyIndex() *keyIndex {
	x := &keyIndex{lists: [][]int32{nil}}
	seen := map[string]bool{}
	for i := range patterns {
		if patterns[i].keys == "" {
			continue
		}
		for _, k := range strings.Split(patterns[i].keys, "|") {
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			id := int32(len(x.keys))
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
	}
	return x
}

func (x *keyIndex) id(k string) int32 {
	for i, s := range x.keys {
		if s == k {
			return int32(i)
		}
	}
	panic("analysis: unknown key " + k)
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
