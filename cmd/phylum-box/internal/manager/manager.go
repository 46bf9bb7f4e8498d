// Package manager is the package-manager commands (`phylum-box npm install …`):
// the manager's argv, untouched, planned by managers and run by internal/install.
package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/config"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/install"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/policy"
	"github.com/phylum-box/phylum-box/precheck/registry"
	"github.com/phylum-box/phylum-box/precheck/report"
	"github.com/phylum-box/phylum-box/rootfs"
)

// ManagerOptions are a package-manager command's: its name and its own argv.
type ManagerOptions struct {
	App  *cmdutil.App
	Name string
	Args []string
}

// NewCmdManagers makes a command of every registered package manager:
// `phylum-box npm install lodash`. Their arguments are the manager's own, untouched.
func NewCmdManagers(f *cmdutil.Factory, runF func(*ManagerOptions) error) []*cobra.Command {
	var out []*cobra.Command
	for _, name := range managers.Names() {
		out = append(out, &cobra.Command{
			Use:                name + " ARGS...",
			Short:              "run " + name + " with the precheck and the sandbox (commands that install nothing pass through)",
			DisableFlagParsing: true,
			// The description (commandLong) is built from the planner's table on demand.
			Annotations: map[string]string{cmdutil.RawAnnotation: "manager"},
			RunE: func(cmd *cobra.Command, args []string) error {
				o := &ManagerOptions{App: f.App, Name: name, Args: args}
				if runF != nil {
					return runF(o)
				}
				return runManager(cmd.Context(), f, o)
			},
		})
	}
	return out
}

func runManager(ctx context.Context, f *cmdutil.Factory, o *ManagerOptions) error {
	app, name, args := o.App, o.Name, o.Args
	m, _ := managers.Lookup(name)
	env, err := managers.FromProcess()
	if err != nil {
		return err
	}
	plan, err := m.Plan(args, env)
	if err != nil {
		var ref *managers.Refusal
		if errors.As(err, &ref) {
			return exitcode.With(exitcode.Usage, err)
		}
		return exitcode.With(exitcode.Usage, fmt.Errorf("%s: %w", name, err))
	}
	if plan.Passthrough || os.Getenv("PHYLUM_BOX_DISABLE") == "1" {
		app.Log.Debugf("%s %s installs nothing: passing through", name, plan.Subcommand)
		if plan.Passthrough && plan.Manager != "" && plan.Manager != name {
			// npx yarn why x: this machine's yarn, not the project's
			// node_modules/.bin copy (managers/execmanager.go).
			return execTool(plan.Manager, plan.Args)
		}
		return execTool(name, args)
	}
	// An install starts two or three containers; rootless, libcontainer would copy
	// this binary into a sealed memfd for each. Re-executing once from a sealed copy
	// pays that once (the new process plans again from the same argv). A project
	// its plan finds up to date starts none: the copy and the second start of this
	// binary (tens of milliseconds of CPU, more than the check) would be paid for
	// nothing. This look is only a hint, taken without the project's lock; the
	// install decides under the lock, and if it finds work after all, libcontainer
	// seals each container's copy itself (slower, as safe).
	if upToDateAtFirstLook(plan) {
		app.Log.Debugf("up to date at first look: not re-executing from a sealed copy")
	} else if err := container.ReexecSealed(); err != nil {
		app.Log.Debugf("not re-executing from a sealed copy: %v", err)
	}
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	pol, err := f.Policy(plan.Project.Root)
	if err != nil {
		return err
	}
	db, dbPath, closeDB, err := f.Database()
	if err != nil {
		return err
	}
	defer closeDB()
	eng := &precheck.Engine{Policy: pol, DB: db, DBPath: dbPath, DBFlag: cmdutil.DBFlag(dbPath)}
	if plan.Ecosystem == precheck.NPM {
		// Registry metadata for min_release_age and for comparing the lockfile's
		// hashes with the registry's; without min_release_age the small install
		// document is enough.
		md := newNpmMetadata(plan, cfg)
		md.client.Abbreviated = pol.MinReleaseAge <= 0
		eng.Metadata = md
	}
	home, _ := os.UserHomeDir()
	userName := ""
	if u, err := user.Current(); err == nil {
		userName = u.Username
	}
	lim := limitsFrom(cfg, pol)
	id, err := container.CurrentIdentity()
	if err != nil {
		return err
	}
	for _, e := range container.PlanLimits(lim, &id) {
		if !e.Enforced {
			app.Log.Debugf("%s limit not enforced: %s", e.Limit, e.How)
		}
	}
	cmdutil.QuietLibcontainer(app)
	owner, group := os.Getuid(), os.Getgid()
	if owner == 0 {
		// Root installing into someone's project (a devcontainer user's workspace):
		// what the install adds belongs to the project's owner, as with `run`.
		owner, group = -1, -1
	}
	stdout := app.Stdout
	if app.Format == "json" {
		// stdout carries only the report; the manager's own output goes to stderr.
		stdout = app.Stderr
	}
	keep, err := install.KeepEnvNames(app.KeepEnv, cfg.KeepEnv, pol.KeepEnv) // --keep-env, keep_env
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	out, err := install.Install(ctx, install.Options{
		Plan: plan, Engine: eng, Limits: lim, KeepEnv: keep,
		Home: home, User: userName, Environ: os.Environ(), Mode: rootfs.ModeAuto,
		OwnerUID: owner, OwnerGID: group,
		Log: app.Log, Stdin: app.Stdin, Stdout: stdout, Stderr: app.Stderr,
	})
	if err != nil {
		if ctx.Err() != nil {
			app.Log.Warn("interrupted; the project is as it was")
			return cmdutil.ExitSilently(exitcode.Sandbox)
		}
		return err
	}
	if out.Verdict != nil && (out.Verdict.Result != precheck.Pass || app.Verbose) {
		_ = report.Write(app.Stderr, report.Text, out.Verdict, report.Options{Color: app.Color()})
	} else if out.Verdict != nil {
		// A passing install still says what the policy only warns about
		// (uncheckable local packages, expired ignores, …).
		for _, w := range out.Verdict.Warnings {
			app.Log.Warn(w)
		}
	}
	if app.ReportFile != "" {
		if err := writeInstallReport(app.ReportFile, out); err != nil {
			app.Log.Warnf("writing the report: %v", err)
		}
	}
	if app.Format == "json" {
		data, err := installReportJSON(out)
		if err != nil {
			return err
		}
		if _, err := app.Stdout.Write(data); err != nil {
			return err
		}
	}
	printOutcome(app, plan, out)
	if out.Code != 0 {
		return cmdutil.ExitSilently(out.Code)
	}
	if len(plan.Then) > 0 {
		if app.Format == "json" {
			// The report is out; what follows (npm test) is the manager's output.
			if err := unix.Dup3(int(os.Stderr.Fd()), int(os.Stdout.Fd()), 0); err != nil {
				return err
			}
		}
		return execTool(plan.Then[0], plan.Then[1:])
	}
	return nil
}

func printOutcome(app *cmdutil.App, plan *managers.Plan, out *install.Outcome) {
	cmdutil.PrintRefused(app, out.Refused, "refused: ")
	if out.Code == 0 {
		checked := 0
		if out.Verdict != nil {
			checked = len(out.Verdict.Packages)
		}
		app.Log.Infof("done: %d package(s) checked, %d change(s) synced to %s in %s",
			checked, out.Synced, out.Project, out.Duration.Round(100*time.Millisecond))
		return
	}
	if out.FailedPackage != "" {
		for _, line := range buildAdvice(plan, out) {
			app.Log.Error(line)
		}
	}
	app.Log.Error(out.Reason)
}

// buildAdvice explains a failed install script and how to let it through if the
// user trusts the package: script_network for a script that needs to download,
// or scripts: allowlist to install the package without its script.
func buildAdvice(plan *managers.Plan, out *install.Outcome) []string {
	name := out.FailedPackage
	var last install.StepOutcome
	if len(out.Steps) > 0 {
		last = out.Steps[len(out.Steps)-1]
	}
	var lines []string
	if len(last.Egress) > 0 {
		lines = append(lines, fmt.Sprintf("the install script of %s failed in the sandbox (no access to your home directory; network only to %s, from the policy's script_network)",
			name, strings.Join(last.Egress, ", ")))
	} else {
		lines = append(lines, fmt.Sprintf("the install script of %s failed in the sandbox (no network, no access to your home directory)", name))
	}
	// The step's output was shown as it ran (on stderr with --format json): not
	// again here; it is in the report's output_tail.
	if plan.Steps.Build == nil || !plan.Steps.Build.AppendChanged {
		return append(lines, fmt.Sprintf("%s's build needs something the sandbox does not give (the network, files outside the project); vendor what it needs into the project, or build it outside phylum-box only if you trust it", name))
	}
	leaveOut := fmt.Sprintf("to install %s without its script instead, use scripts: allowlist in .phylum-box.yaml and leave %s out of allow_scripts", name, name)
	if len(last.Egress) > 0 {
		if len(last.EgressRefused) > 0 {
			hosts := slices.Concat(last.Egress, last.EgressRefused)
			slices.Sort(hosts)
			lines = append(lines, fmt.Sprintf("it tried to reach %s, which script_network does not list; if you trust %s and those servers, add them to its hosts in the policy:\n  %s",
				rootfs.Printable(strings.Join(last.EgressRefused, ", ")), name, scriptNetworkSnippet(name, slices.Compact(hosts))))
		}
		return append(lines, leaveOut)
	}
	// The servers it tried, as the failing output names them (install.Outcome.TriedHosts).
	hosts, tried := out.TriedHosts, "it tried to reach "+strings.Join(out.TriedHosts, ", ")+"; "
	if len(hosts) == 0 {
		hosts, tried = []string{"HOST:443"}, ""
	}
	return append(lines,
		fmt.Sprintf("%sif it failed because it downloads something and you trust %s, let its script reach those servers (only them, through phylum-box's proxy: the script must honour HTTPS_PROXY/HTTP_PROXY or npm_config_proxy) with this in the policy:\n  %s",
			tried, name, scriptNetworkSnippet(name, hosts)),
		leaveOut)
}

// scriptNetworkSnippet is a script_network entry in the policy's YAML.
func scriptNetworkSnippet(name string, hosts []string) string {
	q := make([]string, len(hosts))
	for i, h := range hosts {
		q[i] = strconv.Quote(h)
	}
	return fmt.Sprintf("script_network: [{package: %s, hosts: [%s]}]", strconv.Quote(name), strings.Join(q, ", "))
}

// installReport is the --report JSON of a wrapped install: the outcome plus the
// precheck verdict in check's JSON form.
type installReport struct {
	*install.Outcome
	Precheck json.RawMessage `json:"precheck,omitempty"`
}

func writeInstallReport(path string, out *install.Outcome) error {
	data, err := installReportJSON(out)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func installReportJSON(out *install.Outcome) ([]byte, error) {
	rep := installReport{Outcome: out}
	if out.Verdict != nil {
		var b strings.Builder
		if err := report.WriteJSON(&b, out.Verdict, report.Options{}); err != nil {
			return nil, err
		}
		rep.Precheck = json.RawMessage(b.String())
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// limitsFrom merges the configuration's limits with the policy's (the policy wins
// where it sets one).
func limitsFrom(cfg *config.Config, pol *policy.Policy) container.Limits {
	l := cmdutil.ConfigLimits(cfg)
	if pol.Limits.Memory > 0 {
		l.Memory = int64(pol.Limits.Memory)
	}
	if pol.Limits.Pids > 0 {
		l.Pids = int64(pol.Limits.Pids)
	}
	if pol.Limits.CPUs > 0 {
		l.CPUs = pol.Limits.CPUs
	}
	if pol.Limits.Timeout > 0 {
		l.Timeout = pol.Limits.Timeout
	}
	return l
}

// execTool replaces phylum-box with the real tool (commands that install nothing).
func execTool(name string, args []string) error {
	path, err := exec.LookPath(name)
	if err != nil {
		return exitcode.With(127, fmt.Errorf("%s: not found in PATH", name))
	}
	err = syscall.Exec(path, append([]string{name}, args...), os.Environ())
	return fmt.Errorf("exec %s: %w", path, err)
}

// npmMetadata answers the engine's per-package metadata questions from batched
// registry lookups (Prefetch), each package looked up once per run.
type npmMetadata struct {
	client *registry.Client
	mu     sync.Mutex // the install may prefetch in the background (internal/install/prewarm.go)
	done   bool
	facts  map[string]registry.Result
}

func newNpmMetadata(plan *managers.Plan, cfg *config.Config) *npmMetadata {
	// The plan's client carries the .npmrc credentials of each registry (a private
	// registry answers nothing without them); the default registry is the fallback
	// for a plan without one.
	c := plan.Registries
	if c == nil {
		c = &registry.Client{Scopes: map[string]registry.Endpoint{}}
	}
	// HTTP stays nil: the registry package's default client (proxy from the
	// environment, no https→http redirects, a timeout).
	if dir, err := registry.DefaultCacheDir(); err == nil {
		c.CacheDir = dir
	}
	return &npmMetadata{client: c}
}

func (m *npmMetadata) Metadata(ctx context.Context, pkg precheck.Package) (precheck.Metadata, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.done {
		return precheck.Metadata{}, errors.New("registry metadata was not prefetched")
	}
	r, ok := m.facts[pkg.Name+"@"+pkg.Version]
	if !ok {
		return precheck.Metadata{}, fmt.Errorf("no registry metadata for %s@%s", pkg.Name, pkg.Version)
	}
	if r.Err != nil {
		return precheck.Metadata{}, r.Err
	}
	md := precheck.Metadata{Published: r.Info.Published, InstallScripts: r.Info.InstallScripts, Integrity: r.Info.Integrity, OnlyVersion: r.Info.History.Only}
	if r.Info.History.ScriptsAdded {
		md.ScriptsAddedAfter = r.Info.History.Previous
	}
	return md, nil
}

// hashLookupTimeout bounds the registry lookups made only to compare lockfile hashes.
const hashLookupTimeout = 30 * time.Second

// Prefetch looks every package up at once (bounded concurrency) before the engine
// asks one by one; a package an earlier Prefetch of this run looked up is not looked
// up again (a published version's facts do not change; a failure is not waited for
// twice — an unreachable registry costs its timeout once, as before the prewarm).
func (m *npmMetadata) Prefetch(ctx context.Context, pkgs []precheck.Package) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var specs []registry.Spec
	for _, p := range pkgs {
		// Without min_release_age (the abbreviated documents) only the hashes a
		// lockfile pins are compared: a lockfile that pins none needs no request.
		if !p.Uncheckable && (!m.client.Abbreviated || p.Integrity != "") {
			if _, ok := m.facts[p.Name+"@"+p.Version]; ok {
				continue
			}
			specs = append(specs, registry.Spec{Name: p.Name, Version: p.Version})
		}
	}
	if m.client.Abbreviated && len(specs) > 0 {
		// Only the hash comparison waits on this, and it falls back to a warning:
		// an unreachable registry must not hold an install (a cached `npm ci`) for
		// minutes of retries.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, hashLookupTimeout)
		defer cancel()
	}
	if m.facts == nil {
		m.facts = map[string]registry.Result{}
	}
	for _, r := range m.client.Lookup(ctx, specs) {
		m.facts[r.Name+"@"+r.Version] = r
	}
	m.done = true
}

// upToDateAtFirstLook is the plan's nothing-to-do check taken before the sealed
// re-exec, without the project's lock, where the re-exec would happen at all. It
// leaves the plan as it was (a check may record what it read, as pip's sets the
// lockfiles: only the check under the lock may) and is not taken for a project
// that is or holds the home directory, which the install refuses anyway.
func upToDateAtFirstLook(plan *managers.Plan) bool {
	if plan.Steps.UpToDate == nil || !container.ReexecWanted() {
		return false
	}
	home, err := os.UserHomeDir()
	return err == nil && firstLook(plan, home)
}

// firstLook is upToDateAtFirstLook's check, for the caller's home.
func firstLook(plan *managers.Plan, home string) bool {
	if plan.Steps.UpToDate == nil || !filepath.IsAbs(home) || home == "/" {
		return false
	}
	if root, err := filepath.EvalSymlinks(plan.Project.Root); err != nil || sandbox.HoldsHome(root, home) != nil {
		return false
	}
	project := plan.Project
	project.Lockfiles = slices.Clone(project.Lockfiles)
	ok, _ := plan.Steps.UpToDate()
	plan.Project = project
	return ok
}
