package behaviour

import (
	"strconv"
	"strings"
)

// Data sent out through DNS: a script that cannot reach any host can still ask
// the resolver for <encoded data>.attacker.example, and the attacker's name
// server receives the question. A name built that way looks like no host name:
// a long label of hex, base32 or base64, bytes that are not letters, or very
// many labels.

const (
	exfilLabel  = 30  // a label this long in an encoding's alphabet
	exfilLabels = 10  // more labels than a host name has
	exfilName   = 120 // a name this long
)

// dnsExfil says why name (as the monitor prints it: dotted, other bytes
// escaped as \DDD) carries data rather than naming a host; "" when it looks
// like a host name.
func dnsExfil(name string) string {
	if strings.Contains(name, `\`) {
		return "bytes that are not letters or digits in its labels"
	}
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	if len(labels) > exfilLabels {
		return strconv.Itoa(len(labels)) + " labels"
	}
	for _, l := range labels {
		if len(l) < exfilLabel {
			continue
		}
		if enc := encoding(l); enc != "" {
			return "a " + strconv.Itoa(len(l)) + "-character " + enc + " label"
		}
	}
	if len(name) >= exfilName {
		return "a " + strconv.Itoa(len(name)) + "-character name"
	}
	return ""
}

// encoding names the alphabet a long label is written in, "" for one that
// reads like words (hyphens and letters without digits).
func encoding(l string) string {
	var lower, upper, digit, hexOnly, other int
	for _, c := range l {
		switch {
		case c >= 'a' && c <= 'z':
			lower++
			if c <= 'f' {
				hexOnly++
			}
		case c >= 'A' && c <= 'Z':
			upper++
			if c <= 'F' {
				hexOnly++
			}
		case c >= '0' && c <= '9':
			digit++
			hexOnly++
		default:
			other++ // '-', '_'
		}
	}
	switch {
	case hexOnly == len(l):
		return "hex"
	case digit == 0:
		return "" // letters and hyphens: words, however long
	case other == 0 && (lower == 0 || upper == 0) && !strings.ContainsAny(l, "0189"):
		return "base32"
	case digit*10 >= len(l) || (lower > 0 && upper > 0):
		return "base64"
	}
	return ""
}
