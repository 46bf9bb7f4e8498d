package analysis

import (
	"bytes"
	"math/rand"
	"regexp"
	"testing"
)

// randomCode is text made of the pieces the keys and the declarations are made
// of, so that occurrences overlap and touch one another.
func randomCode(r *rand.Rand, pieces []string, n int) []byte {
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(pieces[r.Intn(len(pieces))])
	}
	return b.Bytes()
}

// The one-pass key search finds what one bytes.Index loop per key found.
func TestKeyIndexIsBytesIndex(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	keyIdx := keyIndexesAll()
	pieces := append([]string{" ", "\n", "(", "'", `"`, ".", "a", "x", "$", "`", "i", "d", "e"}, keyIdx.keys...)
	for _, k := range keyIdx.keys {
		if len(k) > 2 {
			pieces = append(pieces, k[:len(k)/2], k[len(k)/2:])
		}
	}
	for round := 0; round < 300; round++ {
		text := randomCode(r, pieces, 50+r.Intn(3000))
		occ := keyIdx.find(text)
		for id, k := range keyIdx.keys {
			var want []int
			for off := 0; off < len(text); {
				i := bytes.Index(text[off:], []byte(k))
				if i < 0 {
					break
				}
				want = append(want, off+i)
				off += i + len(k)
			}
			if !equalInts(occ[id], want) {
				t.Fatalf("key %q in %q: got %v, want %v", k, text, occ[id], want)
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// declares answers what the regular expression it replaced answered.
func TestDeclaresIsTheRegexp(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for name := range shadowing {
		re := regexp.MustCompile(`(?:\bfunction\s+|\b(?:var|let|const)\s+)` + name + `\s*[(=]`)
		pieces := []string{name, name[:2], "function", "var", "let", "const", "con", "st", " ", "\t", "\n", "\f", "\v", "\r", "(", "=", "x", "_", "$", ";", ".",
			"function ", "var ", "const ", "let\n", name + "(", name + " =", " " + name}
		fixed := []string{"function " + name + "(", "xfunction " + name + "(", "$var " + name + "=", "let" + name + "=", "const\n\t" + name + " \n(",
			"var " + name + " ;", "var " + name, "function  x" + name + "(", "var " + name + name + "("}
		for _, s := range fixed {
			if got, want := declares([]byte(s), name), re.MatchString(s); got != want {
				t.Errorf("%q: declares %v, the expression %v", s, got, want)
			}
		}
		matched := 0
		for round := 0; round < 100000; round++ {
			s := randomCode(r, pieces, 1+r.Intn(40))
			got, want := declares(s, name), re.Match(s)
			if got != want {
				t.Fatalf("%q: declares %v, the expression %v", s, got, want)
			}
			if want {
				matched++
			}
		}
		if matched < 100 {
			t.Errorf("%s: only %d random texts declare it; the test proves little", name, matched)
		}
	}
}

// findRotation finds what rotationRE.FindIndex found.
func TestFindRotationIsTheRegexp(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	pieces := []string{"while", "while(!![])", "while (!! [ ] )", "!!", "[", "]", "(", ")", " ", "\n", "\v", "'", `"`, "push", "shift", "_0x", "_0x1a2b", "a", "[ 'push' ](_0x12ab[\"shift\"]())",
		"['push'](_0x1[", "'shift'](", "x"}
	matched := 0
	for round := 0; round < 100000; round++ {
		s := randomCode(r, pieces, 1+r.Intn(80))
		got, want := findRotation(s), rotationRE().FindIndex(s)
		if !equalInts(got, want) {
			t.Fatalf("%q: findRotation %v, the expression %v", s, got, want)
		}
		if want != nil {
			matched++
		}
	}
	if matched < 1000 {
		t.Errorf("only %d random texts have a rotation; the test proves little", matched)
	}
}
