package behaviour

import (
	"os"
	"path/filepath"

	"github.com/phylum-box/phylum-box/internal/sandbox"
)

// resolverConf names the container's own loopback as its only DNS server. In a
// step without a network the host's server is unreachable, and a resolver
// (glibc, c-ares, Go's) connects to it first: the connect fails and the name
// asked for is never sent, so never seen. Pointed at the loopback, the
// resolver sends its query, the monitor reads the name, and the query fails at
// once (nothing listens there), as it did before.
const resolverConf = `# phylum-box: this step has no network; DNS queries go nowhere, and are watched
nameserver 127.0.0.1
options timeout:1 attempts:1
`

// ResolverBind writes the resolv.conf of a step without a network into d.Dir and
// returns its bind over /etc/resolv.conf (for sandbox.Exec.Files); false when
// the host has no /etc/resolv.conf to bind over, or taken binds one already.
func (d *Decoys) ResolverBind(taken []sandbox.FileBind) (sandbox.FileBind, bool, error) {
	const target = "/etc/resolv.conf"
	for _, b := range taken {
		if filepath.Clean(b.Target) == target {
			return sandbox.FileBind{}, false, nil
		}
	}
	if _, err := os.Stat(target); err != nil {
		return sandbox.FileBind{}, false, nil
	}
	src := filepath.Join(d.Dir, "resolv.conf")
	if err := os.WriteFile(src, []byte(resolverConf), 0o644); err != nil {
		return sandbox.FileBind{}, false, err
	}
	return sandbox.FileBind{Source: src, Target: target}, true, nil
}
