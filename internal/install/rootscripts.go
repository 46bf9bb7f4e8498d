package install

// The project's own lifecycle scripts (Plan.Steps.ProjectScripts): the root package's
// preinstall … prepare and its workspace packages' scripts, which the bare
// manager runs after installing (issue 11 item 2). They run in a step of their
// own after the dependencies' build — the same sandbox: no network, no
// credentials, $HOME an empty tmpfs — so that what they write can be told apart
// from what the dependencies' scripts wrote: a project script may generate files
// anywhere in the project (a generated client, husky's .husky/_), a dependency's
// script only the manager's outputs. Writes under .git/ are never synced: husky's
// `git config core.hooksPath .husky/_` is left out with the command the user can
// run themselves (the install still succeeds, as the user's `npm install` would);
// any other .git/ write (a hook) stops the sync, exit 4.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck/policy"
	"github.com/phylum-box/phylum-box/rootfs"
)

// projectRun is what the project scripts step wrote, for the sync back.
type projectRun struct {
	// writes are the paths (relative to the project) the step added, changed or
	// deleted that no earlier step had: synced back besides the plan's outputs.
	writes []string
	// git are the .git/ paths the step wrote.
	git []string
	// policy are the writes to phylum-box's project policy (.phylum-box.yaml),
	// which the next install would read: refused like .git/.
	policy []string
	// hooksPath, when the step's only .git/ write is core.hooksPath in
	// .git/config, is the value it set.
	hooksPath string
}

// projectScripts runs Plan.Steps.ProjectScripts after the build, under the policy's
// scripts mode by the project's name. done is true when the install must stop.
func (r *runner) projectScripts(ctx context.Context, checked map[string]bool) (done bool, err error) {
	p := r.o.Plan
	s := p.Steps.ProjectScripts
	if s == nil {
		return false, nil
	}
	log := r.o.Log
	if pol := r.o.Engine.Policy; pol != nil {
		switch pol.Scripts {
		case policy.ScriptsNone:
			log.Infof("the project's own scripts do not run: the policy says scripts: none")
			return false, nil
		case policy.ScriptsAllowlist:
			if p.Project.Name == "" || !pol.ScriptsAllowed(p.Ecosystem, p.Project.Name, p.Project.Version) {
				name := p.Project.Name
				if name == "" {
					name = "the project (package.json has no name)"
				}
				log.Infof("the project's own scripts do not run: %s is not in the policy's allow_scripts (scripts: allowlist)", rootfs.Printable(name))
				return false, nil
			}
		}
	}
	before, err := r.sess.Scratch().Changes()
	if err != nil {
		return true, err
	}
	sealed, err := r.hashSealed()
	if err != nil {
		return true, err
	}
	log.Infof("running the project's own scripts in the sandbox (no network): %s", stepLabel(s))
	if done, err := r.step(ctx, managers.PhaseBuild, s); err != nil || done {
		return done, err
	}
	changed, err := r.sealedChanged(sealed)
	if err != nil {
		return true, err
	}
	if len(changed) > 0 {
		r.out.Code = exitcode.Sandbox
		r.out.Reason = "the project's own scripts changed " + strings.Join(changed, ", ") + ", which only the resolve and download steps may write; nothing was synced back"
		return true, nil
	}
	if done, err := r.checkInstalledTree(ctx, managers.PhaseBuild, checked); err != nil || done {
		return done, err
	}
	after, err := r.sess.Scratch().Changes()
	if err != nil {
		return true, err
	}
	r.project = r.projectWrites(before.Changes, after.Changes)
	return false, nil
}

// projectWrites are the changes of after that before does not have. A dir that
// only changed its mode is not taken whole (an output prefix covers everything
// below it, and an earlier step's refused writes may be there).
func (r *runner) projectWrites(before, after []rootfs.Change) *projectRun {
	had := make(map[string]bool, len(before))
	for _, c := range before {
		had[c.Path] = true
	}
	pr := &projectRun{}
	for _, c := range after {
		switch {
		case had[c.Path]:
		case isGitPath(c.Path):
			pr.git = append(pr.git, c.Path)
		case c.Path == ".phylum-box.yaml":
			pr.policy = append(pr.policy, c.Path)
		case slices.Contains(r.o.Plan.Project.Sealed, c.Path):
		case c.Kind == rootfs.Modified && c.Type == rootfs.TypeDir && c.Prev == rootfs.TypeDir && !c.Opaque:
		default:
			pr.writes = append(pr.writes, c.Path)
		}
	}
	if len(pr.git) == 1 && pr.git[0] == ".git/config" {
		run, err1 := r.sess.Scratch().ReadFile(".git/config")
		host, err2 := readProjectGitConfig(r.root)
		if err1 == nil && err2 == nil {
			pr.hooksPath = hooksPathOnly(run, host)
		}
	}
	return pr
}

// projectOnly adds what the project scripts step wrote to the sync's paths.
func (r *runner) projectOnly(only []string) []string {
	if r.project == nil {
		return only
	}
	return append(only, r.project.writes...)
}

// projectValidate adds to validate the refusal of the project scripts' .git/
// writes, which stops the sync; husky's core.hooksPath alone is let through to
// the generic rules, which leave it out (projectGitAdvice).
func (r *runner) projectValidate(validate func(allowed, all []rootfs.Change) []rootfs.RefusedChange) func(allowed, all []rootfs.Change) []rootfs.RefusedChange {
	pr := r.project
	if pr == nil || (len(pr.git) == 0 || pr.hooksPath != "") && len(pr.policy) == 0 {
		return validate
	}
	return func(allowed, all []rootfs.Change) []rootfs.RefusedChange {
		var out []rootfs.RefusedChange
		if validate != nil {
			out = validate(allowed, all)
		}
		if pr.hooksPath == "" {
			for _, g := range pr.git {
				out = append(out, rootfs.RefusedChange{Path: g, Reason: "written under .git/ by the project's own scripts; git hooks and settings run code, so phylum-box never writes them"})
			}
		}
		for _, g := range pr.policy {
			out = append(out, rootfs.RefusedChange{Path: g, Reason: "phylum-box's project policy, written by the project's own scripts (or a dependency they ran); the next install would read it"})
		}
		return out
	}
}

// projectGitAdvice drops the refusal of husky's .git/config write from the
// report (the install did what the user asked; only that setting is left to
// them) and prints the command that makes it.
func (r *runner) projectGitAdvice(rep *rootfs.SyncReport) {
	pr := r.project
	if pr == nil || pr.hooksPath == "" || rep == nil {
		return
	}
	rep.Refused = slices.DeleteFunc(rep.Refused, func(rf rootfs.RefusedChange) bool {
		return rf.Path == ".git/config" && rf.OutsideOnly
	})
	r.o.Log.Warnf("the project's scripts set core.hooksPath in .git/config; phylum-box never writes .git/ (git hooks run code). "+
		"To use the project's git hooks, run: git config core.hooksPath %s", shellQuote(pr.hooksPath))
}

// isGitPath: a path with a .git component (git is case-insensitive about it on
// some file systems, so is this).
func isGitPath(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if strings.EqualFold(c, ".git") {
			return true
		}
	}
	return false
}

// readProjectGitConfig reads .git/config of the project on the host, beneath it
// and never through a symlink.
func readProjectGitConfig(root string) ([]byte, error) {
	rt, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	for _, p := range []string{".git", ".git/config"} {
		st, err := rt.Lstat(p)
		if err != nil {
			return nil, err
		}
		if st.Mode()&os.ModeSymlink != 0 {
			return nil, errors.New(p + " is a symlink")
		}
	}
	return rt.ReadFile(filepath.FromSlash(".git/config"))
}

// gitEntry is one "section.key=value" line of a git config file.
type gitEntry struct{ key, value string }

// parseGitConfig reads the simple form of a git config file (what `git config`
// writes): [section] and [section "sub"] headers, key = value lines, comments.
// ok is false for anything else (continuation lines, includes stay entries).
func parseGitConfig(data []byte) (entries []gitEntry, ok bool) {
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || l[0] == '#' || l[0] == ';':
			continue
		case l[0] == '[':
			end := strings.IndexByte(l, ']')
			if end < 0 || strings.TrimSpace(l[end+1:]) != "" && !strings.HasPrefix(strings.TrimSpace(l[end+1:]), "#") {
				return nil, false
			}
			name, sub, hasSub := strings.Cut(l[1:end], " ")
			section = strings.ToLower(name)
			if hasSub {
				section += "." + strings.TrimSpace(sub)
			}
			continue
		}
		if strings.HasSuffix(l, "\\") || section == "" {
			return nil, false
		}
		k, v, _ := strings.Cut(l, "=")
		entries = append(entries, gitEntry{key: section + "." + strings.ToLower(strings.TrimSpace(k)), value: strings.TrimSpace(v)})
	}
	return entries, sc.Err() == nil
}

// hooksPathOnly returns the core.hooksPath the run set when that is the only
// difference between the run's .git/config and the host's, and its value is a
// plain relative path inside the project (husky's ".husky/_"); "" otherwise.
func hooksPathOnly(run, host []byte) string {
	re, ok1 := parseGitConfig(run)
	he, ok2 := parseGitConfig(host)
	if !ok1 || !ok2 {
		return ""
	}
	value := ""
	other := func(es []gitEntry, keep bool) []gitEntry {
		var out []gitEntry
		for _, e := range es {
			if e.key == "core.hookspath" {
				if keep {
					value = e.value
				}
				continue
			}
			out = append(out, e)
		}
		return out
	}
	ro, ho := other(re, true), other(he, false)
	if !slices.Equal(ro, ho) || value == "" {
		return ""
	}
	v := strings.Trim(value, `"`)
	clean := path.Clean(v)
	if v == "" || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "~") || clean == ".." || strings.HasPrefix(clean, "../") ||
		isGitPath(clean) || strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '\\' || c == '$' || c == '`' }) {
		return ""
	}
	return v
}

// shellQuote quotes s for a shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/+:@=", c))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
