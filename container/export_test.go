package container

// Abandon drops a reservation's lock without removing its files, as a killed
// phylum-box would.
func Abandon(r *Reservation) {
	r.f.Close()
	r.f = nil
}
