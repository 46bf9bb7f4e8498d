package install

import (
	"bytes"
	"strings"
	"testing"
)

// A build tried first keeps its output back until cargo is past resolving: the
// error of an attempt that is thrown away is never shown, a compile is streamed.
func TestHeldOutput(t *testing.T) {
	var w bytes.Buffer
	h := &heldOutput{w: &w}
	h.Write([]byte("error: the lock file /p/Cargo.lock needs to be updated but --frozen was passed to prevent this\n"))
	if w.Len() != 0 || !strings.Contains(h.held(), "--frozen") {
		t.Fatalf("a resolution error was passed through: %q (held %q)", w.String(), h.held())
	}

	w.Reset()
	h = &heldOutput{w: &w}
	h.Write([]byte("   Compiling proj v0.1.0 (/p)\n"))
	h.Write([]byte("error[E0425]: cannot find value `x`\n"))
	if !strings.Contains(w.String(), "Compiling") || !strings.Contains(w.String(), "E0425") || h.held() != "" {
		t.Fatalf("a compile was held back: %q", w.String())
	}

	w.Reset()
	h = &heldOutput{w: &w}
	h.Write([]byte("warning: something\n"))
	h.flush()
	h.Write([]byte("more\n"))
	if w.String() != "warning: something\nmore\n" {
		t.Fatalf("flush: %q", w.String())
	}
	big := &heldOutput{w: &w}
	big.Write(bytes.Repeat([]byte("x"), 5000))
	if big.held() != "" {
		t.Fatal("more than 4 KiB is held back")
	}
}
