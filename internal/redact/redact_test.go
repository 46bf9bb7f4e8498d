package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://example.test/simple/", "https://example.test/simple/"},
		{"https://bob:hunter2@example.test/simple/", "https://example.test/simple/"},
		{"https://tok3n@example.test/db.zip", "https://example.test/db.zip"},
		{"https://bob:hunter2@example.test/%zz", "https://example.test/%zz"},    // does not parse
		{"https://bob:hunt@er2@exa mple.test/x?y", "https://exa mple.test/x?y"}, // does not parse, "@" in the password
		{"http://bob:hunter2@[::1/x", "http://[::1/x"},                          // does not parse
		{"tok3n:hunter2@example.test", "example.test"},                          // scheme-less: an opaque "URL"
		{"/local/path/osv.zip", "/local/path/osv.zip"},
		{"", ""},
	} {
		got := URL(c.in)
		if got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Contains(got, "hunter2") || strings.Contains(got, "tok3n") {
			t.Errorf("URL(%q) = %q keeps a credential", c.in, got)
		}
	}
}
