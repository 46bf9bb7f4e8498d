package install

import (
	"bytes"
	"io"
	"sync"
)

// heldOutput holds a step's output back while the attempt it belongs to may still
// be thrown away unseen: until a word says the step got past that point (cargo's
// "Compiling", yarn's "Fetch step") or more than limit bytes have come; from then
// on it passes everything through, and flush passes what is held. A build tried
// first (buildFirst) releases a step's two streams together: cargo's status lines
// go to stderr, and `cargo run`'s program writes to stdout — its prompt or
// progress must not wait for 4 KiB or its exit. A plan tried first (tryFirst)
// holds each stream on its own.
type heldOutput struct {
	w      io.Writer
	words  []string // any of them in the output releases it
	limit  int      // more than this many bytes held releases it
	mu     sync.Mutex
	buf    bytes.Buffer
	passed bool
	peer   *heldOutput // the step's other stream, released with this one
}

// heldRelease are the words of cargo's status lines that come after resolution,
// heldLimit what a build tried first holds back at most.
var heldRelease = []string{"Compiling ", "Checking ", "Finished ", "Running ", "Documenting ", "Fresh ", "Dirty "}

const heldLimit = 4 << 10

// heldPair holds a step's standard output and error (heldOutput); peers releases
// them together.
func heldPair(stdout, stderr io.Writer, words []string, limit int, peers bool) (*heldOutput, *heldOutput) {
	o, e := &heldOutput{w: stdout, words: words, limit: limit}, &heldOutput{w: stderr, words: words, limit: limit}
	if peers {
		o.peer, e.peer = e, o
	}
	return o, e
}

func (h *heldOutput) Write(p []byte) (int, error) {
	h.mu.Lock()
	if h.passed {
		h.mu.Unlock()
		return h.w.Write(p)
	}
	from := h.buf.Len()
	h.buf.Write(p)
	release := h.buf.Len() > h.limit
	for _, w := range h.words {
		// Only where a word could end in what just came: the held bytes before
		// it had none (they would have released it).
		release = release || bytes.Contains(h.buf.Bytes()[max(0, from-len(w)+1):], []byte(w))
	}
	if !release {
		h.mu.Unlock()
		return len(p), nil
	}
	h.passed = true
	_, err := h.w.Write(h.buf.Bytes())
	h.buf.Reset()
	h.mu.Unlock()
	if h.peer != nil {
		h.peer.flush() // never under h.mu: the peer may be releasing this one
	}
	return len(p), err
}

func (h *heldOutput) released() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.passed
}

func (h *heldOutput) held() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.String()
}

func (h *heldOutput) flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.passed {
		h.passed = true
		_, _ = h.w.Write(h.buf.Bytes())
		h.buf.Reset()
	}
}
