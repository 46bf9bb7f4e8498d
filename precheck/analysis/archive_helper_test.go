package analysis

import (
	"context"
	"fmt"
	"strings"

	"github.com/phylum-box/phylum-box/internal/safefs"
)

// archiveIn opens dir/name as the install's detection does (beneath dir, no
// symlink followed) and reads it with ReadArchive.
func archiveIn(ctx context.Context, pkg Package, dir, name string) ([]Finding, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("%q: not a file name", name)
	}
	f, err := safefs.Open(dir, name, safefs.Options{})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return ReadArchive(ctx, pkg, f, st.Size(), name)
}
