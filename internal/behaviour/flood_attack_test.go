package behaviour

import (
	"strings"
	"testing"
)

// A flood of medium hits from many processes fills the recorder; the high one
// that follows is still judged.
func TestFloodKeepsNewKinds(t *testing.T) {
	procs := fakeProcs{}
	r := newTestRecorder("npm", procs)
	for pid := 100; pid < 100+maxHits+100; pid++ {
		procs[pid] = fakeProc{parent: 1}
		r.OnEvent(execEv(pid, evilEnv, "/p", "setsid", "true"))
		r.OnEvent(call(pid, evilEnv, "setsid", ""))
	}
	procs[50] = fakeProc{parent: 1}
	r.OnEvent(execEv(50, evilEnv, "/p", "node", "ping.js"))
	r.OnEvent(call(50, evilEnv, "connect", "203.0.113.9:443"))
	got := summary(r.Findings())
	if !strings.Contains(got, "evil@6.6.6 PB-BEHAVIOUR-NETWORK high") || !strings.Contains(got, "PB-BEHAVIOUR-DETACH medium") {
		t.Errorf("observations after the flood:\n%s", got)
	}
}
