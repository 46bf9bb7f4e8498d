package cmdutil

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// QuietLibcontainer keeps libcontainer's own logging (the global logrus logger)
// to errors: its warnings ("getting OOM notifications may fail ...") and its
// debug lines (nsexec's stages, every mount of the container, about 180 lines
// per step) are about its internals; -v shows phylum-box's own debug lines.
// PHYLUM_BOX_DEBUG=runc (a comma-separated list) turns libcontainer's debug
// lines on, for debugging the container itself.
func QuietLibcontainer(app *App) {
	if DebugRunc(os.Getenv("PHYLUM_BOX_DEBUG")) {
		logrus.SetLevel(logrus.DebugLevel)
		return
	}
	logrus.SetLevel(logrus.ErrorLevel)
}

// DebugRunc reports whether a PHYLUM_BOX_DEBUG value names runc (or libcontainer).
func DebugRunc(v string) bool { return debugNames(v, "runc", "libcontainer") }

// DebugTimes reports whether a PHYLUM_BOX_DEBUG value names times: every line
// phylum-box logs then says when, in seconds since it started, for profiling.
func DebugTimes(v string) bool { return debugNames(v, "times") }

// debugNames: the comma-separated list v names one of names, or "all".
func debugNames(v string, names ...string) bool {
	for _, w := range strings.Split(v, ",") {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "all" || slices.Contains(names, w) {
			return true
		}
	}
	return false
}

// MaxRefusedLines bounds the refusals printed as warnings: a run that writes
// 300,000 refused files must not print 300,000 lines. The rest are printed with -v
// and are all in --report.
const MaxRefusedLines = 50

func PrintRefused[T any](app *App, refused []T, prefix string) {
	for i, r := range refused {
		if i == MaxRefusedLines {
			app.Log.Warnf("%s… and %d more (all of them with -v, or in --report)", prefix, len(refused)-MaxRefusedLines)
		}
		if i >= MaxRefusedLines {
			app.Log.Debugf("%s%v", prefix, r)
			continue
		}
		app.Log.Warnf("%s%v", prefix, r)
	}
}

// RoundAge prints an age at a precision a person cares about.
func RoundAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
