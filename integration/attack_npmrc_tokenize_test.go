package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// npm's ini parser ends a line at a lone carriage return: "save-exact=true\rgit=X"
// in a project .npmrc was one data line to phylum-box, copied as written into the
// resolve step's .npmrc, where npm read git=X and ran the project's program with
// the network and the user's token (it reached a loopback listener). Now git= is a
// line of its own, left out of the networked steps. The twin: a CRLF .npmrc naming
// a registry installs from it.
func TestProjectNpmrcCarriageReturnGit(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		canary := regStartCanary(t)
		dead, _ := loopbackListener(t) // accepts and closes: the real git fails at once
		evil := fmt.Sprintf("#!/bin/sh\nexec node -e \"require('net').connect(%d,'127.0.0.1',function(){this.end('PBOX-EVIL-GIT '+process.argv.join(' '))})\" -- \"$@\"\n", canary.Port)
		writeFile(t, filepath.Join(b.Project, "evil-git"), evil, 0o755)
		writeProjectFile(t, b, ".npmrc", "fetch-retries=0\nsave-exact=true\rgit="+filepath.Join(b.Project, "evil-git")+"\n")
		r := b.tool("", "npm", "install", fmt.Sprintf("git+ssh://git@127.0.0.1:%d/x/y.git", dead))
		if r.Code == 0 {
			t.Fatalf("a git dependency on a dead host installed:\n%s", r)
		}
		for _, got := range canary.Got() {
			if strings.Contains(got, "PBOX-EVIL-GIT") {
				t.Errorf("the project's git= program, hidden after a carriage return, ran: %q", got)
			}
		}

		reg := startNpmLocalRegistry(t, "")
		reg.Add("pbox-crlf", "1.0.0", nil, nil)
		writeProjectFile(t, b, ".npmrc", "save-exact=true\r\nregistry="+reg.URL+"/\r\n")
		r = b.tool("", "npm", "install", "pbox-crlf@1.0.0")
		wantCode(t, r, 0, "a CRLF project .npmrc naming a registry")
		wantFile(t, filepath.Join(b.Project, "node_modules", "pbox-crlf", "package.json"), "pbox-crlf installed from the project's registry")
	})
}
