package egress

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
)

func TestParseBridgeArgs(t *testing.T) {
	sock, listen, argv, err := ParseBridgeArgs([]string{"--socket", "/s", "--listen=127.0.0.1:9", "--", "pip", "--socket", "x"})
	if err != nil || sock != "/s" || listen != "127.0.0.1:9" || strings.Join(argv, " ") != "pip --socket x" {
		t.Fatalf("got %q %q %q %v", sock, listen, argv, err)
	}
	_, listen, _, err = ParseBridgeArgs(BridgeArgs("/s", []string{"true"})[1:])
	if err != nil || listen != "127.0.0.1:0" {
		t.Fatalf("BridgeArgs round trip: %q %v", listen, err)
	}
	for _, bad := range [][]string{nil, {"--socket", "/s"}, {"--", "true"}, {"--socket"}, {"pip"}, {"--socket", "/s", "pip"}} {
		if _, _, _, err := ParseBridgeArgs(bad); err == nil {
			t.Errorf("ParseBridgeArgs(%q) accepted", bad)
		}
	}
}

func TestBridgeExitStatusAndEnv(t *testing.T) {
	p := startProxy(t, Options{Allow: []string{"example.com:443"}})
	var out bytes.Buffer
	code, err := Bridge(p.Socket(), "127.0.0.1:0", []string{"sh", "-c", `echo "$HTTPS_PROXY|$http_proxy|$PIP_PROXY|${NO_PROXY-unset}"; exit 7`}, nil, &out, &out)
	if err != nil || code != 7 {
		t.Fatalf("code %d err %v out %s", code, err, out.String())
	}
	line := strings.TrimSpace(out.String())
	parts := strings.Split(line, "|")
	if len(parts) != 4 || !strings.HasPrefix(parts[0], "http://127.0.0.1:") || parts[1] != parts[0] || parts[2] != parts[0] || parts[3] != "" {
		t.Errorf("proxy env = %q", line)
	}
	code, err = Bridge(p.Socket(), "127.0.0.1:0", []string{"sh", "-c", `kill -TERM $$`}, nil, &out, &out)
	if err != nil || code != 128+15 {
		t.Errorf("killed by SIGTERM: code %d err %v", code, err)
	}
	if _, err := Bridge(p.Dir(), "127.0.0.1:0", []string{"true"}, nil, &out, &out); err == nil {
		t.Error("Bridge accepted a directory as the socket")
	}
}

// TestBridgeRelaysToTheProxy: a client using only the proxy variables reaches an
// allowed server and is refused elsewhere, through the bridge's loopback port.
func TestBridgeRelaysToTheProxy(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "through the bridge") }))
	defer srv.Close()
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "LEAKED") }))
	defer denied.Close()
	p := startProxy(t, Options{Allow: []string{hostPort(t, srv.URL)}})
	script := `
import sys, urllib.request, urllib.error
print(urllib.request.urlopen(sys.argv[1]).read().decode())
try:
    print(urllib.request.urlopen(sys.argv[2]).read().decode())
except urllib.error.HTTPError as e:
    print("refused", e.code)
`
	var out bytes.Buffer
	code, err := Bridge(p.Socket(), "127.0.0.1:0", []string{py, "-c", script, srv.URL + "/a", denied.URL + "/b"}, nil, &out, &out)
	if err != nil || code != 0 {
		t.Fatalf("code %d err %v\n%s", code, err, out.String())
	}
	if got := out.String(); !strings.Contains(got, "through the bridge") || !strings.Contains(got, "refused 403") || strings.Contains(got, "LEAKED") {
		t.Errorf("output:\n%s", got)
	}
	if r := p.Refused(); len(r) != 1 || r[0] != hostPort(t, denied.URL) {
		t.Errorf("Refused() = %v", r)
	}
}
