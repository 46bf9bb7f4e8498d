package managers

import (
	"strings"
	"testing"
)

// A Gemfile source with credentials is refused without printing them — a token
// given as the user name included, and also when the URL does not parse; the
// twin, a plain source, is accepted.
func TestBundleRemoteKeepsCredentialsOut(t *testing.T) {
	for _, raw := range []string{
		"https://tok3n@gems.example/",
		"https://bob:hunter2@gems.example/",
		"https://bob:hunter2@gems.example/%zz",
		"ftp://tok3n:hunter2@gems.example/",
	} {
		_, err := bundleRemote(raw)
		if err == nil {
			t.Errorf("%s: accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "tok3n") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the message keeps a credential: %v", raw, err)
		}
	}
	if got, err := bundleRemote("https://gems.example/"); err != nil || !strings.Contains(got, "https://gems.example/") {
		t.Errorf("plain source: %q, %v", got, err)
	}
}
