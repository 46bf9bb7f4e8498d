package install

import (
	"slices"
	"testing"
)

func TestTriedHosts(t *testing.T) {
	for _, tc := range []struct {
		refused []string
		output  string
		want    []string
	}{
		{nil, "Error: getaddrinfo ENOTFOUND storage.googleapis.com\n    at GetAddrInfoReqWrap.onlookup", []string{"storage.googleapis.com:443"}},
		{nil, "npm error Error: getaddrinfo EAI_AGAIN github.com", []string{"github.com:443"}},
		{nil, "curl: (6) Could not resolve host: downloads.example.org", []string{"downloads.example.org:443"}},
		{nil, "curl: (7) Failed to connect to cdn.example.com port 8443 after 0 ms: Couldn't connect", []string{"cdn.example.com:8443"}},
		{nil, "Error: connect ECONNREFUSED 93.184.216.34:80", []string{"93.184.216.34:80"}},
		{nil, "downloading http://mirror.example.net/x.tgz failed; see https://docs.example.com/help", []string{"mirror.example.net:80", "docs.example.com:443"}},
		{[]string{"objects.githubusercontent.com:443"}, "Error: getaddrinfo ENOTFOUND github.com", []string{"objects.githubusercontent.com:443", "github.com:443"}},
		{nil, "connect ECONNREFUSED 127.0.0.1:3000 and getaddrinfo ENOTFOUND localhost and ENOTFOUND x", nil},
		{nil, "nothing to see here", nil},
		{nil, "getaddrinfo ENOTFOUND evil.example\x1b[31m.com", nil},
	} {
		if got := triedHosts(tc.refused, tc.output); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.output, got, tc.want)
		}
	}
}
