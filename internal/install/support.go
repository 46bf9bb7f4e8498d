package install

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/phylum-box/phylum-box/internal/sandbox"
)

// credentials are the plan's secret files, written once per install to a private
// dir: the secret version is bound into the steps that need registry credentials
// (resolve, download), the public version into every other step, so a build script
// never sees a token.
type credentials struct {
	dir    string
	secret []sandbox.FileBind
	public []sandbox.FileBind
	env    []string
}

func (r *runner) prepareCredentials() (*credentials, error) {
	c := &credentials{}
	pc := r.o.Plan.Sandbox.Credentials
	if pc == nil || len(pc.Files) == 0 && len(pc.Env) == 0 {
		return c, nil
	}
	c.env = pc.Env
	if len(pc.Files) == 0 {
		return c, nil
	}
	dir, err := os.MkdirTemp("", "phylum-box-cred-")
	if err != nil {
		return nil, err
	}
	c.dir = dir
	id := r.sess.Identity()
	if !id.Rootless {
		// The container's root is an unprivileged mapped uid: it must be able to
		// traverse the dir and read the files, nobody else may.
		if err := os.Chmod(dir, 0o711); err != nil {
			c.cleanup()
			return nil, err
		}
	}
	for i, f := range pc.Files {
		var target string
		switch {
		case f.Home != "":
			target = filepath.Join(r.o.Home, filepath.Clean("/"+f.Home))
		case f.Project != "":
			target = filepath.Join(r.root, filepath.Clean("/"+f.Project))
		default:
			continue
		}
		for _, v := range []struct {
			data []byte
			list *[]sandbox.FileBind
			kind string
		}{{f.Secret, &c.secret, "secret"}, {f.BuildCopy(), &c.public, "public"}} {
			if v.data == nil && (v.kind == "secret" || f.Home != "") {
				continue // nothing to show; a project file's public version is bound even when empty
			}
			p := filepath.Join(dir, fmt.Sprintf("%d-%s", i, v.kind))
			if err := os.WriteFile(p, v.data, 0o600); err != nil {
				c.cleanup()
				return nil, err
			}
			if !id.Rootless {
				if err := os.Lchown(p, id.RootUID, id.RootGID); err != nil {
					c.cleanup()
					return nil, err
				}
			}
			*v.list = append(*v.list, sandbox.FileBind{Source: p, Target: target})
		}
	}
	return c, nil
}

func (c *credentials) binds(secret bool) []sandbox.FileBind {
	if secret {
		return c.secret
	}
	return c.public
}

func (c *credentials) cleanup() {
	if c != nil && c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func (t *tail) lastLines(n int) string {
	lines := strings.Split(strings.TrimRight(t.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// failedPatterns find the package whose build failed in a build step's output, one
// per manager family; the last match in the output wins (the first failure may have
// been retried or be a dependency's):
//
//	npm error path /proj/node_modules/evil-pkg
//	Failed building wheel for evil-pkg                         (pip)
//	error: failed to run custom build command for `evil v0.1.0 (…)`   (cargo)
//	An error occurred while installing evil (0.1.0), and Bundler cannot continue.
//	error /proj/node_modules/evil-pkg: Command failed.        (yarn 1)
var failedPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?m)(?:error path|ERR! path)\s+.*node_modules/((?:@[^/\s]+/)?[^/\s]+)\s*$`),
	regexp.MustCompile(`(?m)Failed building wheel for ([A-Za-z0-9._-]+)`),
	regexp.MustCompile(`(?m)Failed to build ([A-Za-z0-9._-]+)\s*$`),
	regexp.MustCompile("(?m)failed to run custom build command for `([A-Za-z0-9_-]+) v"),
	regexp.MustCompile(`(?m)An error occurred while installing ([A-Za-z0-9._-]+) \(`),
	regexp.MustCompile(`(?m)^error .*node_modules/((?:@[^/\s]+/)?[^/\s:]+): Command failed\.\s*$`),
}

// failedPackage names the package whose build script failed, from the step's output.
func failedPackage(output string) string {
	best, at := "", -1
	for _, re := range failedPatterns {
		for _, m := range re.FindAllStringSubmatchIndex(output, -1) {
			if m[0] > at {
				best, at = output[m[2]:m[3]], m[0]
			}
		}
	}
	return best
}
