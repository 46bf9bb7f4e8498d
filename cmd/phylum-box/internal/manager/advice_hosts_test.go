package manager

import (
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/internal/install"
	"github.com/phylum-box/phylum-box/managers"
)

// The advice for a script that needs the network names the servers it tried (from
// the failing output), and does not repeat that output.
func TestBuildAdviceNamesTriedHosts(t *testing.T) {
	plan := &managers.Plan{Steps: managers.Steps{Build: &managers.Step{AppendChanged: true}}}
	out := &install.Outcome{FailedPackage: "pkg", OutputTail: "Error: getaddrinfo EAI_AGAIN storage.example.com",
		TriedHosts: []string{"storage.example.com:443"},
		Steps:      []install.StepOutcome{{Phase: managers.PhaseBuild, ExitCode: 1}}}
	got := strings.Join(buildAdvice(plan, out), "\n")
	for _, w := range []string{"it tried to reach storage.example.com:443", `script_network: [{package: "pkg", hosts: ["storage.example.com:443"]}]`} {
		if !strings.Contains(got, w) {
			t.Errorf("advice lacks %q:\n%s", w, got)
		}
	}
	for _, a := range []string{"HOST:443", "EAI_AGAIN", "last output"} {
		if strings.Contains(got, a) {
			t.Errorf("advice has %q:\n%s", a, got)
		}
	}
}
