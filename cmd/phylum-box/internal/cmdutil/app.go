// Package cmdutil is the command framework every command package shares (cli/cli's
// cmdutil): the I/O streams and global settings (App), the Factory that resolves
// the configuration, policy and database after all flags are parsed, the root
// command with the global flags, help and flag errors, and the one place errors
// become exit codes.
package cmdutil

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/term"
)

// App carries the I/O streams and the global settings every command shares. Colour,
// TTY and progress decisions are made here, once.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    *logrus.Logger

	Verbose bool
	Quiet   bool
	CI      bool
	NoColor bool
	// ConfigPath is an explicit --config; empty means the default location.
	ConfigPath string
	// ReportFile receives a JSON report of a wrapped install (--report).
	ReportFile string
	// Format is the global --format: "json" makes a wrapped install print its report
	// on stdout (the manager's own output goes to stderr). check, db status and doctor
	// define a --format of their own, which takes the value wherever it is given.
	// Empty: text.
	Format string
	// KeepEnv are the global --keep-env NAMEs: more variables for the steps of a
	// wrapped install that run package code (install.KeepEnvNames; `run` has its own --keep-env).
	KeepEnv []string

	stderrTTY bool
	stdoutTTY bool
}

// NewApp returns an App bound to the process's standard streams.
func NewApp() *App {
	a := &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	a.stderrTTY = term.IsTerminal(int(os.Stderr.Fd()))
	a.stdoutTTY = term.IsTerminal(int(os.Stdout.Fd()))
	a.Log = NewLogger(a.Stderr)
	return a
}

// Color reports whether output to a terminal may use colour.
func (a *App) Color() bool {
	if a.NoColor || a.CI || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return a.stdoutTTY
}

// Progress reports whether progress bars may be drawn on stderr.
func (a *App) Progress() bool { return a.stderrTTY && !a.Quiet && !a.CI }

// initTime is when this package was initialised, a few milliseconds after the
// process started (the runtime's and most packages' init come first).
var initTime = time.Now()

// processStart is the origin of PHYLUM_BOX_DEBUG=times's times.
func processStart() time.Time { return initTime }

// prefixFormatter writes "[phylum-box] message"; with a start time
// (PHYLUM_BOX_DEBUG=times, for profiling), "[phylum-box 0.123s] message", the
// seconds since start.
type prefixFormatter struct{ start time.Time }

func (f prefixFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b strings.Builder
	if f.start.IsZero() {
		b.WriteString("[phylum-box] ")
	} else {
		fmt.Fprintf(&b, "[phylum-box %.3fs] ", e.Time.Sub(f.start).Seconds())
	}
	switch e.Level {
	case logrus.ErrorLevel, logrus.FatalLevel, logrus.PanicLevel:
		b.WriteString("error: ")
	case logrus.WarnLevel:
		b.WriteString("warning: ")
	}
	b.WriteString(logSafe(e.Message))
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(logSafe(fmt.Sprintf(" %s=%v", k, e.Data[k])))
	}
	b.WriteByte('\n')
	return []byte(b.String()), nil
}

// logSafe writes the control characters of a log message (C0 but newline and
// tab, DEL, C1, bidi controls) as escapes: messages quote lockfile lines, paths
// and settings a checkout chose, and a terminal would act on their escape
// sequences (found by the attacker review: a Gemfile.lock line printed with -v).
func logSafe(s string) string {
	if !strings.ContainsFunc(s, logUnsafe) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80 && logUnsafe(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case logUnsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func logUnsafe(r rune) bool {
	return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

func NewLogger(w io.Writer) *logrus.Logger {
	l := logrus.New()
	l.Out = w
	l.Formatter = prefixFormatter{}
	if DebugTimes(os.Getenv("PHYLUM_BOX_DEBUG")) {
		l.Formatter = prefixFormatter{start: processStart()}
	}
	l.Level = logrus.InfoLevel
	return l
}

// TestApp is an App writing to buffers (stdout, stderr), not a terminal.
func TestApp() (*App, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	a := &App{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr}
	a.Log = NewLogger(&stderr)
	return a, &stdout, &stderr
}
