package cmdutil

import (
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
)

// QuietLibcontainer keeps libcontainer's own logging (the global logrus logger)
// to errors, or to debug with -v: its warnings ("getting OOM notifications may
// fail ...") are about its internals, and the run reports what matters.
func QuietLibcontainer(app *App) {
	if app.Verbose {
		logrus.SetLevel(logrus.DebugLevel)
		return
	}
	logrus.SetLevel(logrus.ErrorLevel)
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
