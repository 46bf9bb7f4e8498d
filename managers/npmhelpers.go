package managers

import "strings"

// Small helpers of the npm planner: argv lookups and step naming.

func lastOr(a *npmArgv, name, def string) string {
	if v, ok := a.last(name); ok {
		return v
	}
	return def
}

func restIf(cond bool, rest []string) []string {
	if cond {
		return rest
	}
	return nil
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// nameSteps names a plan's resolve and download steps (and a build that is
// phylum-box's own shell line) by the command the user ran: the log says
// "resolving: npm i lodash"; each step's own argv (npm's --package-lock-only,
// pnpm's store flags, cargo's shell wrapper) is shown only with -v. A step the
// manager already named keeps its name, except npm's (npmKeepHidden names it by
// npm's argv).
func nameSteps(p *Plan, err error, tool string, args []string) {
	if err != nil || p == nil || p.Passthrough {
		return
	}
	name := strings.TrimSpace(tool + " " + strings.Join(args, " "))
	for _, s := range []*Step{p.Steps.Resolve, p.Steps.Download, p.Steps.Build} {
		if s == nil || len(s.Args) == 0 {
			continue
		}
		if s == p.Steps.Build && s.Args[0] != "sh" {
			continue // "building: npm rebuild esbuild" says what runs
		}
		if s.Name == "" || tool == "npm" && s != p.Steps.Build {
			s.Name = name
		}
	}
}
