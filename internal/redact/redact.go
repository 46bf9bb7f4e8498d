// Package redact keeps credentials out of what phylum-box prints and stores: a
// URL's user info (a user name can be a token as well as a password) is dropped,
// whether or not the rest of the URL parses.
package redact

import (
	"net/url"
	"strings"
)

// URL is raw without its user info. A URL that does not parse loses everything
// between "//" and the last "@" of its authority, so a password never reaches a
// message through a parse error.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return stripUserinfo(raw)
	}
	if u.User == nil {
		if at := strings.LastIndex(u.Opaque, "@"); at >= 0 {
			// "user:pw@host" parses as scheme "user" with an opaque rest
			return u.Opaque[at+1:]
		}
		return raw
	}
	u.User = nil
	return u.String()
}

// stripUserinfo removes a user info part by text alone.
func stripUserinfo(raw string) string {
	start := 0
	if i := strings.Index(raw, "//"); i >= 0 {
		start = i + 2
	}
	end := len(raw)
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndex(raw[start:end], "@"); at >= 0 {
		return raw[:start] + raw[start+at+1:]
	}
	return raw
}
