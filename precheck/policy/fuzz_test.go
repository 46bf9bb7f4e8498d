package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input may panic, and every rejection must be a *policy.Error that
// names the file, so the CLI can always print where the problem is.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(designExample))
	f.Add([]byte("block: {vulnerability: none}\nignore: [{id: A, reason: r, until: 2027-01-01}]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("ignore:\n- &e {id: A, reason: r}\n- *e\n"))
	f.Add([]byte("\t- :"))
	f.Add([]byte("script_network:\n  - package: puppeteer\n    hosts: [\"storage.googleapis.com:443\", \"[::1]:8080\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "fuzz.yaml" {
				t.Fatalf("error %v (%T) is not a *policy.Error naming the file", err, err)
			}
			return
		}
		for _, ig := range p.Ignore {
			if ig.ID == "" || ig.Reason == "" {
				t.Fatalf("accepted an ignore without id or reason: %+v", ig)
			}
		}
		for _, sn := range p.ScriptNetwork {
			if len(sn.Hosts) == 0 || sn.Package == "" {
				t.Fatalf("accepted a script_network entry without package or hosts: %+v", sn)
			}
		}
	})
}
