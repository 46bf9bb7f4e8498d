package analysis

import (
	"regexp"
	"testing"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// The package's expressions are compiled on first use, not at start-up: a typo
// in a rarely used one must still fail here.
func TestExpressionsCompile(t *testing.T) {
	if err := lazyre.CompileAll(); err != nil {
		t.Fatal(err)
	}
	for _, p := range patternSources {
		if _, err := regexp.Compile(p.expr); err != nil {
			t.Errorf("pattern %d: %v", p.kind, err)
		}
	}
	if got, want := len(patterns()), len(patternSources); got != want {
		t.Fatalf("%d compiled patterns, want %d", got, want)
	}
}
