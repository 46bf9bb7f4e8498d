package behaviour

import (
	"testing"

	"github.com/phylum-box/phylum-box/container"
)

// A fetcher is the program or the script node runs, never a mere argument; and
// only its host-name lookup is a warning: a connect to an address is not what a
// fetcher without network ever reaches.
func TestFetcherDowngrade(t *testing.T) {
	if f := fetcherIn([]string{"node", "ping.js", "node_modules/prebuild-install/"}); f != "" {
		t.Errorf("an extra argument made %q the fetcher", f)
	}
	if f := fetcherIn([]string{"node", "/p/node_modules/.bin/prebuild-install"}); f != "prebuild-install" {
		t.Errorf("the fetcher's own bin: got %q", f)
	}
	// pnpm's shim reaches the bin through the package's own node_modules/.bin.
	pnpmShim := "/p/node_modules/.pnpm/better-sqlite3@12.5.0/node_modules/better-sqlite3/node_modules/.bin/../../../prebuild-install/bin.js"
	if f := fetcherIn([]string{"node", pnpmShim}); f != "prebuild-install" {
		t.Errorf("pnpm's shim path: got %q", f)
	}
	if f := fetcherIn([]string{"node", "/p/node_modules/prebuild-install/../../evil.js"}); f != "" {
		t.Errorf("a path through the fetcher's dir made %q the fetcher", f)
	}
	pkg := Package{Ecosystem: "npm", Name: "x", Version: "1.0.0"}
	for _, c := range []struct{ addr, sev string }{{"203.0.113.9:443", High}, {"127.0.0.53:53", Medium}, {"10.0.0.2:53", Medium}} {
		hs := netHits(container.SyscallEvent{Syscall: "connect", Addr: c.addr}, pkg, "prebuild-install", nil)
		if len(hs) != 1 || hs[0].severity != c.sev {
			t.Errorf("fetcher connect %s: %+v, want %s", c.addr, hs, c.sev)
		}
	}
}
