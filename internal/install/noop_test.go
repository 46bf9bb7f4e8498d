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
	h := &heldOutput{w: &w, words: heldRelease, limit: heldLimit}
	h.Write([]byte("error: the lock file /p/Cargo.lock needs to be updated but --frozen was passed to prevent this\n"))
	if w.Len() != 0 || !strings.Contains(h.held(), "--frozen") {
		t.Fatalf("a resolution error was passed through: %q (held %q)", w.String(), h.held())
	}

	w.Reset()
	h = &heldOutput{w: &w, words: heldRelease, limit: heldLimit}
	h.Write([]byte("   Compiling proj v0.1.0 (/p)\n"))
	h.Write([]byte("error[E0425]: cannot find value `x`\n"))
	if !strings.Contains(w.String(), "Compiling") || !strings.Contains(w.String(), "E0425") || h.held() != "" {
		t.Fatalf("a compile was held back: %q", w.String())
	}

	w.Reset()
	h = &heldOutput{w: &w, words: heldRelease, limit: heldLimit}
	h.Write([]byte("warning: something\n"))
	h.flush()
	h.Write([]byte("more\n"))
	if w.String() != "warning: something\nmore\n" {
		t.Fatalf("flush: %q", w.String())
	}
	big := &heldOutput{w: &w, words: heldRelease, limit: heldLimit}
	big.Write(bytes.Repeat([]byte("x"), 5000))
	if big.held() != "" {
		t.Fatal("more than 4 KiB is held back")
	}
}

// The two streams of a build tried first are released together: `cargo run`'s
// program writes its prompt to stdout after cargo's "Running" on stderr, and must
// not wait for 4 KiB or its exit; a stream with nothing to say yet stays held
// until either speaks.
func TestHeldOutputPeers(t *testing.T) {
	var out, errw bytes.Buffer
	stdout, stderr := heldPair(&out, &errw, heldRelease, heldLimit, true)
	stdout.Write([]byte("early\n"))
	stderr.Write([]byte("    Updating index\n"))
	if out.Len() != 0 || errw.Len() != 0 {
		t.Fatalf("released before cargo got past resolving: %q %q", out.String(), errw.String())
	}
	stderr.Write([]byte("     Running `target/debug/app`\n"))
	stdout.Write([]byte("Name? "))
	if out.String() != "early\nName? " || !strings.Contains(errw.String(), "Running") {
		t.Fatalf("the program's stdout was held back after cargo ran it: stdout %q stderr %q", out.String(), errw.String())
	}
	if !stdout.released() || !stderr.released() {
		t.Fatal("a released pair still says held")
	}
}

// A word that comes in two writes releases the output as one write would; a plan
// tried first holds each stream on its own, up to its limit.
func TestHeldOutputWordAcrossWrites(t *testing.T) {
	var out, errw bytes.Buffer
	stdout, stderr := heldPair(&out, &errw, []string{"Fetch step"}, maxAttemptOutput, false)
	stdout.Write([]byte("➤ YN0000: ┌ Resolution step\n➤ YN0000: ┌ Fetch st"))
	stderr.Write([]byte("a warning\n"))
	if out.Len() != 0 || errw.Len() != 0 {
		t.Fatalf("released before the word: %q %q", out.String(), errw.String())
	}
	stdout.Write([]byte("ep\n"))
	if !strings.Contains(out.String(), "Resolution step") || !strings.HasSuffix(out.String(), "Fetch step\n") {
		t.Fatalf("the word split over two writes did not release: %q", out.String())
	}
	if errw.Len() != 0 || stderr.released() {
		t.Fatalf("an attempt's other stream was released with it: %q", errw.String())
	}
}
