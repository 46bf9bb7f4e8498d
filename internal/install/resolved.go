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
	bad, err := p.Resolved(changed, r.sess.Scratch().ReadFile)
	if err != nil {
		var ref *managers.Refusal
		var coded *exitcode.Error
		switch {
		case errors.As(err, &ref):
			r.out.Code, r.out.Reason = exitcode.Usage, ref.Error()+"; nothing was installed"
			return true, nil
		case errors.As(err, &coded):
			r.out.Code, r.out.Reason = coded.Code, err.Error()+"; nothing was installed"
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
