package install

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
)

// The sealed files (manifests and lockfiles only the resolve and download steps
// may write), checked around the build; and the one-line reason of a verdict.

func (r *runner) hashSealed() (map[string][32]byte, error) {
	m := map[string][32]byte{}
	for _, rel := range r.o.Plan.Project.Sealed {
		data, err := r.sess.Scratch().ReadFile(rel)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m[rel] = sha256.Sum256(data)
	}
	return m, nil
}

func (r *runner) sealedChanged(before map[string][32]byte) ([]string, error) {
	var changed []string
	for _, rel := range r.o.Plan.Project.Sealed {
		data, err := r.sess.Scratch().ReadFile(rel)
		h, had := before[rel]
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if had {
				changed = append(changed, rel)
			}
		case err != nil:
			changed = append(changed, rel)
		case !had || sha256.Sum256(data) != h:
			changed = append(changed, rel)
		}
	}
	return changed, nil
}

func verdictReason(v *precheck.Verdict) string {
	switch v.Result {
	case precheck.Blocked:
		n := 0
		for _, p := range v.Packages {
			if p.Blocked {
				n++
			}
		}
		return fmt.Sprintf("blocked by the policy: %d package(s); nothing was installed", n)
	case precheck.Incomplete:
		return "precheck incomplete: " + strings.Join(v.Problems, "; ") + "; nothing was installed"
	}
	return ""
}
