//go:build !seccomp

package container

// monitorListener is empty without the seccomp tag: there is no filter to
// send notifications.
type monitorListener struct{}

// monitorUnavailable says why this host cannot run the behaviour monitor, or
// "" when it can (for diagnostics; Run reports the same in MonitorNote).
func monitorUnavailable() string {
	return "the behaviour monitor needs seccomp user notification, and this phylum-box was built without the seccomp tag (rebuild with `make build`, which needs libseccomp-dev)"
}

func startMonitor(m *Monitor, runDir, runID string, useSeccomp bool, log logger) (*monitorListener, string) {
	return nil, monitorUnavailable()
}

func (l *monitorListener) listenerPath() string { return "" }

func (l *monitorListener) stop() bool { return false }
