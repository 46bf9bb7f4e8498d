package install

import (
	"context"
	"errors"
	"strings"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
)

// resolved hands what the resolve left to the plan's Resolved, on the host, before
// the precheck: the paths the run has written so far and a reader of its view. The
// lockfile entries it returns are blocked (exit 3) before anything is fetched; it
// may give the later steps files of its own (Credentials.Files), which are
// prepared again here.
func (r *runner) resolved(ctx context.Context) (done bool, err error) {
	p := r.o.Plan
	cs, err := r.sess.Scratch().Changes()
	if err != nil {
		return true, err
	}
	changed := make([]string, 0, len(cs.Changes))
	for _, c := range cs.Changes {
		changed = append(changed, c.Path)
	}
	bad, err := p.Steps.Resolved(changed, r.sess.Scratch().ReadFile)
	if err != nil {
		if code, ok := planErrorCode(err); ok {
			r.out.Code, r.out.Reason = code, err.Error()+"; nothing was installed"
			return true, nil
		}
		return true, err
	}
	if len(bad) > 0 {
		return true, r.blockMismatched(ctx, bad)
	}
	cred, err := r.prepareCredentials()
	if err != nil {
		return true, err
	}
	r.cred.cleanup()
	r.cred = cred
	return false, nil
}

// stepLabel is how the log names a step's command: its Name, else its argv.
func stepLabel(s *managers.Step) string {
	if s.Name != "" {
		return s.Name
	}
	return strings.Join(s.Args, " ")
}

// stepProgram is what a failure message says exited: the step's Name, else its
// program.
func stepProgram(s *managers.Step) string {
	if s.Name != "" {
		return s.Name
	}
	return s.Args[0]
}

// stepDir is the step's working directory: its own Dir, else def.
func stepDir(s *managers.Step, def string) string {
	if s.Dir != "" {
		return s.Dir
	}
	return def
}

// planErrorCode is the exit code of a plan callback's plain error
// (managers/errors.go), the orchestration's one mapping of them; ok is false for
// any other error.
func planErrorCode(err error) (code int, ok bool) {
	var (
		ref      *managers.Refusal
		invalid  *managers.InvalidProject
		unusable *managers.UnusableResult
		write    *managers.ForbiddenWrite
	)
	switch {
	case errors.As(err, &ref), errors.As(err, &invalid):
		return exitcode.Usage, true
	case errors.As(err, &unusable):
		return exitcode.Incomplete, true
	case errors.As(err, &write):
		return exitcode.Sandbox, true
	}
	return 0, false
}
