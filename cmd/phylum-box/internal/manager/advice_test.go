package manager

import (
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/internal/install"
	"github.com/phylum-box/phylum-box/managers"
)

func TestBuildAdvice(t *testing.T) {
	appendable := &managers.Plan{Steps: managers.Steps{Build: &managers.Step{AppendChanged: true}}}
	whole := &managers.Plan{Steps: managers.Steps{Build: &managers.Step{}}}
	build := install.StepOutcome{Phase: managers.PhaseBuild, ExitCode: 1}
	net := build
	net.Egress = []string{"cdn.example.com:443"}
	refused := net
	refused.EgressRefused = []string{"other.example:443"}
	tests := []struct {
		name  string
		plan  *managers.Plan
		step  install.StepOutcome
		want  []string
		avoid []string
	}{
		{"no network", appendable, build, []string{"(no network", `script_network: [{package: "pkg", hosts: ["HOST:443"]}]`, "HTTPS_PROXY", "scripts: allowlist", "leave pkg out of allow_scripts"}, nil},
		{"build is the install", whole, build, []string{"vendor what it needs"}, []string{"script_network"}},
		{"network refused", appendable, refused, []string{"network only to cdn.example.com:443", "tried to reach other.example:443",
			`script_network: [{package: "pkg", hosts: ["cdn.example.com:443", "other.example:443"]}]`, "scripts: allowlist"}, []string{"HOST:443"}},
		{"network allowed", appendable, net, []string{"network only to cdn.example.com:443", "scripts: allowlist"}, []string{"HOST:443", "tried to reach"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &install.Outcome{FailedPackage: "pkg", Steps: []install.StepOutcome{{Phase: managers.PhaseDownload}, tt.step}}
			got := strings.Join(buildAdvice(tt.plan, out), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("advice lacks %q:\n%s", w, got)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(got, a) {
					t.Errorf("advice has %q:\n%s", a, got)
				}
			}
		})
	}
}
