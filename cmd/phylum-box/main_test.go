package main

import (
	"testing"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// Regular expressions are compiled on first use, not when the binary starts
// (internal/lazyre): a typo in one a rare path uses must still fail a test.
// This package imports every package of the binary, so all of them are here.
func TestLazyExpressionsCompile(t *testing.T) {
	if err := lazyre.CompileAll(); err != nil {
		t.Fatal(err)
	}
}
