package run

import (
	"os"
	"strings"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/behaviour"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/rootfs"
)

// runMonitor watches CMD with the behaviour monitor and decoys in its $HOME, as
// an install's build steps are watched (docs/detection.md).
type runMonitor struct {
	rec    *behaviour.Recorder
	decoys *behaviour.Decoys
}

// startRunMonitor adds the monitor and the decoys to e; nil (with a warning)
// when they cannot be set up: the sandbox still holds the command.
func startRunMonitor(app *cmdutil.App, sess *sandbox.Session, home, project string, e *sandbox.Exec) *runMonitor {
	dir, err := os.MkdirTemp("", "phylum-box-decoys-")
	if err != nil {
		app.Log.Warnf("behaviour monitor off: %v", err)
		return nil
	}
	id := sess.Identity()
	d, err := behaviour.NewDecoys(dir, home, id.RootUID, id.RootGID)
	if err == nil {
		var rec *behaviour.Recorder
		// Attribution by npm's lifecycle variables: `run -- npm test` is the
		// common way package code runs here.
		if rec, err = behaviour.NewRecorder(precheck.NPM, d); err == nil {
			rec.SetProject(project)
			ro, rw := d.Binds(e.Files)
			e.Files = append(e.Files, ro...)
			e.Writable = append(e.Writable, rw...)
			e.Monitor = rec.Monitor()
			return &runMonitor{rec: rec, decoys: d}
		}
	}
	os.RemoveAll(dir)
	app.Log.Warnf("behaviour monitor off: %v", err)
	return nil
}

// finish ends the recording, prints what was seen and says whether it stops
// the sync back: a high-severity observation of code that is not the package
// manager's own (a network attempt only when the run has no --network).
func (m *runMonitor) finish(app *cmdutil.App, network bool) (block bool) {
	m.rec.Close()
	defer func() { _ = m.decoys.Remove() }()
	for _, o := range m.rec.Findings() {
		if o.Manager || network && o.Rule == "PB-BEHAVIOUR-NETWORK" {
			app.Log.Debugf("behaviour monitor: %s: %s (%s)", o.Owner(), o.Summary, o.Rule)
			continue
		}
		high := o.Severity == "high"
		block = block || high
		line := rootfs.Printable(o.Owner() + ": " + o.Summary + " (" + o.Rule + ", " + o.Severity + ")")
		if len(o.Evidence) > 0 {
			line += "\n    " + rootfs.Printable(strings.Join(o.Evidence[:min(3, len(o.Evidence))], "\n    "))
		}
		if high {
			app.Log.Error("behaviour: " + line)
		} else {
			app.Log.Warn("behaviour: " + line)
		}
	}
	return block
}
