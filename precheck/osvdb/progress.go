package osvdb

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress receives what an import or update is doing. A nil *Progress, or nil
// fields, disable the corresponding output.
type Progress struct {
	// Bars is where progress bars are drawn. Leave it nil unless stderr is a
	// terminal and the user is not in CI or --quiet mode (App.Progress decides).
	Bars io.Writer
	// Logf receives one-line status messages ("downloaded npm: 219 MB").
	Logf func(format string, args ...any)
}

func (p *Progress) logf(format string, args ...any) {
	if p != nil && p.Logf != nil {
		p.Logf(format, args...)
	}
}

// bar is a progress bar that may be absent.
type bar struct{ pb *progressbar.ProgressBar }

func (p *Progress) newBar(max int64, bytes bool, desc string) *bar {
	if p == nil || p.Bars == nil {
		return &bar{}
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(p.Bars),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.Bars) }),
		progressbar.OptionSetRenderBlankState(true),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionSetItsString("records"), progressbar.OptionShowIts())
	}
	return &bar{pb: progressbar.NewOptions64(max, opts...)}
}

func (b *bar) add(n int64) {
	if b.pb != nil {
		_ = b.pb.Add64(n)
	}
}

func (b *bar) finish() {
	if b.pb != nil {
		_ = b.pb.Finish()
	}
}

// writer adapts the bar to io.Writer for io.Copy through a TeeReader.
func (b *bar) Write(p []byte) (int, error) {
	b.add(int64(len(p)))
	return len(p), nil
}
