package managers

import "net/url"

// What `phylum-box analyze` shares with the pip and cargo plans: one reading of
// a Python simple index, of a project name and of the user's cargo home, so the
// two paths cannot drift apart.

// PyPISimpleAccept asks an index for PEP 691 JSON, PEP 503 HTML otherwise.
const PyPISimpleAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

// PyPIFile is one distribution file a simple-index page lists: its URL (without
// user info or fragment), its file name and the strong hashes the page gives
// for it (algorithm → lower-case hex).
type PyPIFile struct {
	URL, File string
	Hashes    map[string]string
}

// ParsePyPISimple reads a simple-index page served with contentType (PEP 691
// JSON, else PEP 503 HTML); relative links resolve against base, the URL the
// page was served from.
func ParsePyPISimple(base *url.URL, contentType string, body []byte) []PyPIFile {
	links := pipParseSimple(base, contentType, body)
	out := make([]PyPIFile, 0, len(links))
	for _, l := range links {
		out = append(out, PyPIFile{URL: l.url, File: l.file, Hashes: l.hashes})
	}
	return out
}

// PyPINormName is PEP 503's normalised project name.
func PyPINormName(name string) string { return pipNormName(name) }

// CargoHome is the user's $CARGO_HOME, or ~/.cargo.
func CargoHome(env Env) string { return cargoUserHome(env) }
