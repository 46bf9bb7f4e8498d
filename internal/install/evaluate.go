package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
)

// maxEvaluateOutput caps what the evaluate step may print for the plan.
const maxEvaluateOutput = 4 << 20

// evaluate runs the plan's Evaluate step (no network, no credentials, the project
// bound read-only so nothing it writes reaches a later step) and hands its output
// to the plan's Evaluated, which may add files for the later steps.
func (r *runner) evaluate(ctx context.Context) (done bool, err error) {
	p := r.o.Plan
	s := *p.Steps.Evaluate
	s.Network, s.Credentials, s.Egress = false, false, nil
	r.o.Log.Infof("evaluating the project's %s manifest in the sandbox (no network, no credentials, project read-only)", p.Manager)
	buf := &capped{max: maxEvaluateOutput}
	r.stdout = buf
	done, err = r.step(ctx, managers.PhaseEvaluate, &s)
	r.stdout = nil
	if err != nil || done {
		return done, err
	}
	if buf.over {
		r.out.Code, r.out.Reason = exitcode.Sandbox, fmt.Sprintf("the evaluate step printed more than %d bytes; nothing was installed", maxEvaluateOutput)
		return true, nil
	}
	if p.Steps.Evaluated != nil {
		if err := p.Steps.Evaluated(buf.Bytes(), r.sess.Scratch().ReadFile); err != nil {
			var ref *managers.Refusal
			if errors.As(err, &ref) {
				r.out.Code, r.out.Reason = exitcode.Usage, ref.Error()+"; nothing was installed"
				return true, nil
			}
			return true, err
		}
	}
	cred, err := r.prepareCredentials()
	if err != nil {
		return true, err
	}
	r.cred.cleanup()
	r.cred = cred
	return false, nil
}

// capped keeps up to max bytes and notes whether more came.
type capped struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if room := c.max - c.Len(); n > room {
		c.over = true
		p = p[:max(room, 0)]
	}
	c.Buffer.Write(p)
	return n, nil
}
