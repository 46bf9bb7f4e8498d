package container

// Abandon drops a reservation's lock without removing its files, as a killed
// phylum-box would.
func Abandon(r *Reservation) {
	r.f.Close()
	r.f = nil
}

// CgroupLimits reports whether a run here gets a cgroup that enforces limits:
// as root, or with a cgroup delegated to this user (the decision Run makes).
func CgroupLimits() bool {
	id, err := CurrentIdentity()
	if err != nil {
		return false
	}
	p, err := planLimits(Limits{}, &id, "probe")
	return err == nil && p.cgroup
}

// CleanStale exposes cleanStale, which Reserve calls: a test checks that a live
// run is never cleaned.
var CleanStale = cleanStale

// MonitorUnavailable exposes monitorUnavailable: tests skip or expect a note by it.
var MonitorUnavailable = monitorUnavailable
