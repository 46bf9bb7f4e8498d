package install

// Quiet by default (issue 11 item 9), and a next step for every refusal.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/managers"
)

// quietStep runs a resolve step with its standard output held back: what the
// manager prints there ("up to date in 278ms", pnpm's progress, yarn's "Saved
// lockfile") describes a throwaway copy of the project before anything is
// checked or installed, and the download step prints the same again. The held
// output (its last 64 KiB) is printed when the step fails or stops, and with -v
// it passes through. Standard error (npm's warnings and errors) is never held.
func (r *runner) quietStep(ctx context.Context, phase managers.Phase, s *managers.Step) (bool, error) {
	if verbose(r.o.Log) || r.stdout != nil {
		return r.step(ctx, phase, s)
	}
	held := newTail(64 << 10)
	r.stdout = held
	done, err := r.step(ctx, phase, s)
	r.stdout = nil
	if done || err != nil {
		_, _ = io.WriteString(r.o.Stdout, held.String())
	} else if s.Installs {
		r.heldResolve = held // printed once what it installed is checked (fetchinresolve.go)
	}
	return done, err
}

// verbose: phylum-box's log shows debug lines (-v).
func verbose(l logrus.FieldLogger) bool {
	switch v := l.(type) {
	case *logrus.Logger:
		return v.IsLevelEnabled(logrus.DebugLevel)
	case *logrus.Entry:
		return v.Logger.IsLevelEnabled(logrus.DebugLevel)
	}
	return false
}

// homeProjectRefusal turns the sandbox's refusal of a project that is, or
// holds, the home directory into a usage error (exit 2) with what to do: run
// it in the project's own directory. nil for any other error.
func homeProjectRefusal(p *managers.Plan, err error) error {
	if !errors.Is(err, sandbox.ErrProjectHoldsHome) {
		return nil
	}
	cmd := strings.TrimSpace("phylum-box " + p.Manager + " " + strings.Join(p.Args, " "))
	return exitcode.With(exitcode.Usage, fmt.Errorf("%w; phylum-box never makes your home directory the project its package manager writes to (your keys and tokens would be in the sandbox): "+
		"run it in the project's directory (cd ~/myproject && %s), or make one first (mkdir ~/myproject && cd ~/myproject && %s)", err, cmd, cmd))
}
