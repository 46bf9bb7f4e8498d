package install

// The policy's scripts mode and script_network applied to a plan's build step.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/policy"
)

// scriptsUnenforceable says why the policy's scripts mode cannot be honoured by
// this plan, before anything runs: a build step that is the install itself (pip's
// offline install, cargo build, bundle install) cannot be limited to some packages
// or left out, so "none" or "allowlist" would either run every package's code or
// install nothing.
func (r *runner) scriptsUnenforceable() string {
	pol, b := r.o.Engine.Policy, r.o.Plan.Steps.Build
	if pol == nil || b == nil || b.AppendChanged || pol.Scripts == policy.ScriptsSandbox || pol.Scripts == "" {
		return ""
	}
	return fmt.Sprintf("the policy says scripts: %s, but %s %s cannot install without running the packages' build code (%s); "+
		"set scripts: sandbox in this project's .phylum-box.yaml if you trust its dependencies (their build still runs without network, secrets or write access outside the project)",
		pol.Scripts, r.o.Plan.Manager, r.o.Plan.Subcommand, strings.Join(b.Args, " "))
}

// scriptNetworkUnenforceable says why the policy's script_network cannot be
// honoured by this plan: only a build step that takes package names can run the
// listed packages' scripts in a step of their own, behind the egress proxy. A
// build that is the install itself would have to give every package the hosts,
// or none of them; neither is what the policy says.
func (r *runner) scriptNetworkUnenforceable(pkgs []precheck.Package) string {
	pol, b := r.o.Engine.Policy, r.o.Plan.Steps.Build
	if pol == nil || b == nil || b.AppendChanged || len(pol.ScriptNetwork) == 0 || pol.Scripts == policy.ScriptsNone {
		return ""
	}
	var matched []string
	for _, pk := range pkgs {
		if pol.ScriptHosts(pk.Ecosystem, pk.Name, pk.Version) != nil {
			matched = append(matched, pk.Name+"@"+pk.Version)
		}
	}
	if len(matched) == 0 {
		return ""
	}
	slices.Sort(matched)
	return fmt.Sprintf("the policy's script_network names %s, but %s %s cannot run one package's install script apart from the others (%s), "+
		"so it cannot give that script the network without giving it to all; remove the entry to build with no network, or install without phylum-box only if you trust every dependency",
		strings.Join(slices.Compact(matched), ", "), r.o.Plan.Manager, r.o.Plan.Subcommand, strings.Join(b.Args, " "))
}

// buildSteps applies the policy's scripts mode and script_network to the plan's
// build step: the steps to run, in order, and notes on what was left out.
//
// Without script_network entries for an installed package this is the plan's
// step (scripts: sandbox) or the step limited to allow_scripts (allowlist). With
// them, and a step that takes package names (AppendChanged), the build is split:
// first every other package whose scripts may run, with no network; then the
// listed ones, behind the egress proxy that reaches exactly the union of their
// hosts. scripts: allowlist still decides which scripts run at all, and
// scripts: none runs none.
func (r *runner) buildSteps(b *managers.Step, pkgs []precheck.Package) ([]*managers.Step, []string) {
	pol := r.o.Engine.Policy
	if pol == nil {
		return []*managers.Step{r.limited(b)}, nil
	}
	type byName struct {
		allowed    bool
		hosts      []string
		net, plain []string // versions with and without script_network entries
	}
	var order []string
	names := map[string]*byName{}
	for _, pk := range pkgs {
		n := names[pk.Name]
		if n == nil {
			n = &byName{}
			names[pk.Name] = n
			order = append(order, pk.Name)
		}
		switch pol.Scripts {
		case policy.ScriptsAllowlist:
			n.allowed = n.allowed || !pk.Uncheckable && pol.ScriptsAllowed(pk.Ecosystem, pk.Name, pk.Version)
		case policy.ScriptsNone:
		default:
			n.allowed = true
		}
		if h := pol.ScriptHosts(pk.Ecosystem, pk.Name, pk.Version); h != nil {
			n.hosts = append(n.hosts, h...)
			n.net = append(n.net, pk.Version)
		} else {
			n.plain = append(n.plain, pk.Version)
		}
	}
	var notes, mainNames, netNames, hosts, unused []string
	for _, name := range order {
		n := names[name]
		switch {
		case !n.allowed:
			if len(n.hosts) > 0 {
				unused = append(unused, name)
			}
		case len(n.hosts) == 0:
			mainNames = append(mainNames, name)
		case len(n.plain) > 0:
			notes = append(notes, fmt.Sprintf("script_network lists %s@%s but not %s@%s, also installed: the scripts of %s run without network",
				name, strings.Join(n.net, ","), name, strings.Join(n.plain, ","), name))
			mainNames = append(mainNames, name)
		default:
			netNames = append(netNames, name)
			hosts = append(hosts, n.hosts...)
		}
	}
	switch pol.Scripts {
	case policy.ScriptsNone:
		notes = append(notes, "the policy says scripts: none")
		if len(unused) > 0 {
			notes = append(notes, "script_network for "+strings.Join(unused, ", ")+" is not used: scripts: none runs no install script")
		}
		return nil, notes
	case policy.ScriptsAllowlist:
		if len(unused) > 0 {
			notes = append(notes, "script_network for "+strings.Join(unused, ", ")+" is not used: not in the policy's allow_scripts (scripts: allowlist)")
		}
	}
	withNames := func(names []string) *managers.Step {
		s := *b
		s.Args = append(slices.Clone(b.Args), names...)
		return &s
	}
	if len(netNames) == 0 {
		if pol.Scripts != policy.ScriptsAllowlist {
			return []*managers.Step{r.limited(b)}, notes
		}
		if len(mainNames) == 0 {
			return nil, append(notes, "no installed package is in the policy's allow_scripts")
		}
		return []*managers.Step{withNames(mainNames)}, notes
	}
	if !b.AppendChanged {
		// scriptNetworkUnenforceable stopped the install before the download.
		return nil, append(notes, "this build cannot leave packages out")
	}
	var steps []*managers.Step
	if len(mainNames) > 0 {
		steps = append(steps, withNames(mainNames))
	}
	net := withNames(netNames)
	slices.Sort(hosts)
	net.Egress = slices.Compact(hosts)
	net.Network = false
	// The plan keeps its package manager offline in the build; the listed
	// packages' downloaders may read that setting too (npm passes its config on
	// to scripts), and their only way out is the proxy anyway.
	net.Env = slices.DeleteFunc(slices.Clone(b.Env), func(kv string) bool {
		return strings.HasPrefix(kv, "npm_config_offline=")
	})
	return append(steps, net), notes
}
