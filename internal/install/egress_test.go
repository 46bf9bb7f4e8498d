package install

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/phylum-box/phylum-box/precheck/policy"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/testutil"
)

// egressScript is a resolve step that behaves like pip resolving an sdist: it
// fetches the lockfile from the allowed "index" through the proxy variables, then,
// as hostile setup code would, tries a host loopback service directly and another
// server through the proxy. It prints what happened and exits 0 either way.
const egressScript = `
import json, os, socket, sys, urllib.request, urllib.error
index, canary, other = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open("package-lock.json", "wb") as f:
    f.write(urllib.request.urlopen(index + "/package-lock.json", timeout=20).read())
def attempt(name, fn):
    try:
        fn()
        print("EGRESS %s=OK" % name, flush=True)
    except Exception as e:
        print("EGRESS %s=FAIL %s" % (name, type(e).__name__), flush=True)
attempt("direct", lambda: socket.create_connection(("127.0.0.1", canary), timeout=3).sendall(b"direct\n"))
attempt("proxied", lambda: urllib.request.urlopen(other, timeout=10).read())
def raw_connect():
    s = socket.create_connection(("127.0.0.1", int(os.environ["HTTPS_PROXY"].rsplit(":", 1)[1])), timeout=5)
    s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % canary)
    line = s.recv(100)
    if b" 200 " not in line:
        raise ConnectionRefusedError(line.decode(errors="replace").splitlines()[0])
attempt("connect", raw_connect)
print("EGRESS proxy=" + os.environ.get("HTTPS_PROXY", ""), flush=True)
`

// A step with Egress has no network of its own: it reaches the allowed server
// through the proxy and nothing else — not a host loopback listener directly, not
// another server through the proxy — and the refusals are in the outcome.
func TestInstallEgress(t *testing.T) {
	testutil.NeedRootContainers(t)
	const py = "/usr/bin/python3"
	if _, err := exec.LookPath(py); err != nil {
		t.Skip("needs /usr/bin/python3 (visible inside the sandbox)")
	}
	var lock strings.Builder
	lockSh := lockScript("package-lock.json", nil)
	lock.WriteString(lockSh[strings.Index(lockSh, "\n")+1 : strings.LastIndex(lockSh, "EOF\n")])
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/package-lock.json" {
			fmt.Fprint(w, lock.String())
			return
		}
		http.NotFound(w, r)
	}))
	defer index.Close()
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	defer other.Close()
	canary, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer canary.Close()
	var canaryHits atomic.Int32
	go func() {
		for {
			c, err := canary.Accept()
			if err != nil {
				return
			}
			canaryHits.Add(1)
			c.Close()
		}
	}()
	indexHP, otherHP := mustHost(t, index.URL), mustHost(t, other.URL)
	canaryPort := canary.Addr().(*net.TCPAddr).Port

	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
	plan := npmLikePlan(proj)
	plan.Steps.Resolve.Network = true // Egress wins
	plan.Steps.Resolve.Egress = []string{indexHP}
	plan.Steps.Resolve.Args = []string{py, "-c", egressScript, index.URL, fmt.Sprint(canaryPort), other.URL + "/loot"}
	var out syncBuffer
	res := install(t, plan, openDB(t), standInPolicy(t), &out)
	t.Logf("output:\n%s", out.String())
	if res.Code != exitcode.OK {
		t.Fatalf("Code = %d (%s), want 0", res.Code, res.Reason)
	}
	if _, err := os.Stat(filepath.Join(proj, "package-lock.json")); err != nil {
		t.Errorf("the lockfile fetched through the proxy was not synced back: %v", err)
	}
	got := out.String()
	for _, want := range []string{"EGRESS direct=FAIL", "EGRESS proxied=FAIL HTTPError", "EGRESS connect=FAIL", "EGRESS proxy=http://127.0.0.1:"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := canaryHits.Load(); n != 0 {
		t.Errorf("the host's loopback listener was reached %d time(s)", n)
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("a server outside the allowlist was reached %d time(s)", n)
	}
	s := res.Steps[0]
	if s.Network || !slices.Equal(s.Egress, []string{indexHP}) {
		t.Errorf("resolve outcome: network %v, egress %v", s.Network, s.Egress)
	}
	canaryHP := net.JoinHostPort("127.0.0.1", fmt.Sprint(canaryPort))
	if !slices.Contains(s.EgressRefused, otherHP) || !slices.Contains(s.EgressRefused, canaryHP) {
		t.Errorf("EgressRefused = %v, want %s and %s", s.EgressRefused, otherHP, canaryHP)
	}
	if strings.Join(s.Args, " ") != strings.Join(plan.Steps.Resolve.Args, " ") {
		t.Errorf("the outcome shows the bridge's argv: %q", s.Args)
	}
}

// Behind a corporate proxy the egress step's index is reached through the
// caller's HTTP_PROXY, with its credentials, which stay on the host: the step
// sees only the bridge's proxy.
func TestInstallEgressThroughUpstreamProxy(t *testing.T) {
	testutil.NeedRootContainers(t)
	const py = "/usr/bin/python3"
	if _, err := exec.LookPath(py); err != nil {
		t.Skip("needs /usr/bin/python3 (visible inside the sandbox)")
	}
	lockSh := lockScript("package-lock.json", nil)
	lock := lockSh[strings.Index(lockSh, "\n")+1 : strings.LastIndex(lockSh, "EOF\n")]
	const index = "http://index.invalid:8080" // resolvable by the upstream only
	var mu sync.Mutex
	var seen []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.RequestURI+" "+r.Header.Get("Proxy-Authorization"))
		mu.Unlock()
		if r.RequestURI == index+"/package-lock.json" {
			fmt.Fprint(w, lock)
			return
		}
		http.NotFound(w, r)
	}))
	defer upstream.Close()
	const script = `
import os, sys, urllib.request
with open("package-lock.json", "wb") as f:
    f.write(urllib.request.urlopen(sys.argv[1] + "/package-lock.json", timeout=20).read())
env = "\n".join("%s=%s" % kv for kv in os.environ.items())
print("EGRESS credentials-inside=%s" % ("s3cret" in env or "corpuser" in env), flush=True)
`
	proj := testutil.NewProject(t, map[string]string{"package.json": packageJSON})
	plan := npmLikePlan(proj)
	plan.Steps.Resolve.Egress = []string{"index.invalid:8080"}
	plan.Steps.Resolve.Args = []string{py, "-c", script, index}
	var out syncBuffer
	res := installEnv(t, plan, openDB(t), standInPolicy(t), &out, "HTTP_PROXY=http://corpuser:s3cret@"+mustHost(t, upstream.URL))
	t.Logf("output:\n%s", out.String())
	if res.Code != exitcode.OK {
		t.Fatalf("Code = %d (%s), want 0", res.Code, res.Reason)
	}
	if _, err := os.Stat(filepath.Join(proj, "package-lock.json")); err != nil {
		t.Errorf("the lockfile fetched through the upstream proxy was not synced back: %v", err)
	}
	if !strings.Contains(out.String(), "EGRESS credentials-inside=False") {
		t.Error("the step saw the upstream proxy's credentials (or did not run)")
	}
	mu.Lock()
	defer mu.Unlock()
	want := "GET " + index + "/package-lock.json Basic " + base64.StdEncoding.EncodeToString([]byte("corpuser:s3cret"))
	if !slices.Equal(seen, []string{want}) {
		t.Errorf("the upstream proxy saw %q, want %q", seen, want)
	}
}

func mustHost(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// standInPolicy is the default policy without the behaviour monitor: these tests'
// resolve step is a python script standing in for pip, which the monitor rightly
// does not know as a package manager (its use of the egress proxy would be
// package code's). The proxy's own enforcement is what they test.
func standInPolicy(t *testing.T) *policy.Policy {
	pol := defaultPolicy(t)
	pol.Behaviour.Monitor = false
	return pol
}
