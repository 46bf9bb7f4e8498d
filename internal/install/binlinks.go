package install

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/policy"
	"github.com/phylum-box/phylum-box/rootfs"
)

// The links a run may leave in the project. npm (and yarn, pnpm) put
// node_modules/.bin first in PATH for every script, so whatever lands there is what
// the next plain `npm test` on the host runs as `node`, `git` or `sh`; and a link
// from node_modules into .git or src lets the next tool that writes through
// node_modules write the project's own files. Both are checked over the whole
// change set before the sync applies anything (rootfs.SyncOptions.Validate), so a
// refusal leaves the project as it was.

// linkView reads the run's view of the project without following symlinks
// (rootfs.Scratch).
type linkView interface {
	ReadFile(rel string) ([]byte, error)
	Readlink(rel string) (string, error)
}

// linkRules checks the symlinks and node_modules/.bin entries of a change set.
type linkRules struct {
	// root is the project's absolute path, the same inside the steps and on the
	// host (pnpm writes it into its shims' NODE_PATH).
	root string
	// outputDirs are the plan's directory outputs ("node_modules", "packages/a/node_modules").
	outputDirs []string
	// node: a node manager's plan, whose .bin entries must be declared bins.
	node      bool
	manager   string
	ecosystem string
	policy    *policy.Policy
	view      linkView
	// changed are the paths the run added, replaced or deleted (a dir that only got
	// new entries is not among them).
	changed map[string]bool
	// outside are the local dependencies outside the project that a package entry
	// may link to (localdeps.go).
	outside []string
}

// linkValidator is the sync back's check for the plan (see linkRules).
func (r *runner) linkValidator() func(allowed, all []rootfs.Change) []rootfs.RefusedChange {
	p := r.o.Plan
	lr := &linkRules{root: r.root, node: p.Ecosystem == precheck.NPM, manager: p.Manager,
		ecosystem: p.Ecosystem, policy: r.o.Engine.Policy, view: r.sess.Scratch()}
	lr.outputDirs = outputDirs(p.Project.Outputs)
	lr.outside = r.outsideLinkDirs()
	return lr.check
}

// outputDirs are the directory entries of a plan's Outputs (those with a trailing "/").
func outputDirs(outputs []string) []string {
	var dirs []string
	for _, op := range outputs {
		if d, ok := strings.CutSuffix(op, "/"); ok && d != "" {
			dirs = append(dirs, path.Clean(d))
		}
	}
	return dirs
}

// check returns a refusal for each of the changes to sync (allowed) that breaks the
// rules; all (every change of the run) tells which project files the run wrote.
func (lr *linkRules) check(allowed, all []rootfs.Change) []rootfs.RefusedChange {
	lr.changed = make(map[string]bool, len(all))
	for _, c := range all {
		if c.Type != rootfs.TypeDir || c.Kind != rootfs.Modified || c.Prev != rootfs.TypeDir || c.Opaque {
			lr.changed[c.Path] = true
		}
	}
	var out []rootfs.RefusedChange
	for _, c := range allowed {
		if c.Kind == rootfs.Deleted {
			continue
		}
		var why string
		switch {
		case lr.node && isBinEntry(c.Path):
			why = lr.binProblem(c)
		case lr.node && c.Type == rootfs.TypeSymlink && (path.Base(c.Path) == "node_modules" || path.Base(c.Path) == ".bin"):
			why = "a " + path.Base(c.Path) + " dir that is a symlink (to " + c.Linkname + ") would bring in bins that are never checked"
		case c.Type == rootfs.TypeSymlink:
			why = lr.linkProblem(c.Path, c.Linkname)
		}
		if why != "" {
			out = append(out, rootfs.RefusedChange{Path: c.Path, Reason: why})
		}
	}
	return out
}

// isBinEntry: p is an entry of a node_modules/.bin dir, at any depth.
func isBinEntry(p string) bool {
	dir := path.Dir(p)
	return path.Base(dir) == ".bin" && path.Base(path.Dir(dir)) == "node_modules"
}

// isPackageEntry: p is where a manager puts a package, node_modules/<name> or
// node_modules/@scope/<name>.
func isPackageEntry(p string) bool {
	dir := path.Dir(p)
	if path.Base(dir) == "node_modules" {
		return true
	}
	return strings.HasPrefix(path.Base(dir), "@") && path.Base(path.Dir(dir)) == "node_modules"
}

func hasGitDir(p string) bool {
	return slices.ContainsFunc(strings.Split(p, "/"), func(c string) bool { return strings.EqualFold(c, ".git") })
}

// linkProblem says why a symlink at linkPath may not be synced, or "". Its target
// must lie in one of the manager's output dirs; for a node manager a package entry
// may also point at a package of the project's own (a workspace, a file: or link:
// dependency): a dir whose package.json the run did not write.
func (lr *linkRules) linkProblem(linkPath, target string) string {
	if isPackageEntry(linkPath) && lr.isOutsideDep(linkPath, target) {
		return "" // a local dependency outside the project, checked and shown read-only
	}
	if path.IsAbs(target) {
		return "symlink to " + target + ", an absolute path (outside the project)"
	}
	t := path.Join(path.Dir(linkPath), target)
	if t == ".." || strings.HasPrefix(t, "../") {
		return "symlink to " + target + " leaves the project"
	}
	if underAny(t, lr.outputDirs...) {
		return ""
	}
	if lr.node && isPackageEntry(linkPath) && lr.isProjectPackage(t, true) {
		return ""
	}
	return fmt.Sprintf("symlink to %s (%s) points outside %s's output dirs (%s): a write through it after the sync would change the project's own files",
		target, t, lr.manager, strings.Join(lr.outputDirs, ", "))
}

// isProjectPackage: dir is a package dir the project itself has (its package.json
// was not written by the run, and no symlink is on the way to it). For a package
// entry's link (workspaceLink), one of the plan's workspaces — known from the
// host's root package.json before the run — counts even when the command changed
// its package.json (`npm install X -w a`, or in a's dir: the first install of a
// new workspace was refused its own link; found by an attacker review). A bin is
// still only ever one its package declared before the run.
func (lr *linkRules) isProjectPackage(dir string, workspaceLink bool) bool {
	if dir == "." || hasGitDir(dir) || lr.changed[dir] {
		return false
	}
	if lr.changed[dir+"/package.json"] && !(workspaceLink && slices.Contains(lr.outputDirs, dir+"/node_modules")) {
		return false
	}
	_, err := lr.view.ReadFile(dir + "/package.json")
	return err == nil
}

// binProblem checks one node_modules/.bin entry: a symlink (npm, yarn) or pnpm's
// shell shim for a bin that the package it points into declares, under the name it
// declares; a name that shadows a system command only for a package the policy's
// allow_bins names.
func (lr *linkRules) binProblem(c rootfs.Change) string {
	name := path.Base(c.Path)
	var target string
	var shim *pnpmShim
	switch c.Type {
	case rootfs.TypeSymlink:
		target = c.Linkname
	case rootfs.TypeRegular:
		data, err := lr.view.ReadFile(c.Path)
		if err != nil {
			return "cannot read it: " + err.Error()
		}
		if shim = parsePnpmShim(string(data)); shim == nil {
			return "a file that is neither a link nor the shim pnpm writes for a package's bin" + lr.shadowNote(name) +
				"; node_modules/.bin may only hold the links the package manager makes for the bins installed packages declare"
		}
		target = shim.target
		if why := lr.shimPaths(shim); why != "" {
			return why
		}
	default:
		return "a " + c.Type.String() + " in node_modules/.bin, where only bin links belong"
	}
	if path.IsAbs(target) {
		return "bin link to " + target + ", an absolute path (outside the project)"
	}
	if !leadingDotDots(target) {
		return "bin target " + target + " has '..' after a name"
	}
	file := path.Join(path.Dir(c.Path), target)
	if file == ".." || strings.HasPrefix(file, "../") {
		return "bin target " + target + " leaves the project"
	}
	var pkg binOwner
	var why string
	if underAny(file, lr.outputDirs...) {
		pkg, why = lr.declaredBin(name, file)
	} else {
		pkg, why = lr.projectBin(name, file)
	}
	if why != "" {
		return why + lr.shadowNote(name)
	}
	if shim != nil {
		if why := lr.shimRuns(shim, pkg.realFile); why != "" {
			return why
		}
	}
	if reason, ok := shadowedCommands[name]; ok && (lr.policy == nil || !lr.policy.BinsAllowed(lr.ecosystem, pkg.name, pkg.version)) {
		return fmt.Sprintf("bin %q of %s@%s shadows the system command %s (%s): npm scripts and npx would run it instead of the real one; "+
			"if you trust %s, add allow_bins: [\"%s@%s\"] to the policy (.phylum-box.yaml, or ~/.config/phylum-box/policy.yaml for every project)",
			name, pkg.name, pkg.version, name, reason, pkg.name, pkg.name, pkg.version)
	}
	return ""
}

func (lr *linkRules) shadowNote(name string) string {
	if reason, ok := shadowedCommands[name]; ok {
		return fmt.Sprintf(" (and %q would shadow the system command %s: %s)", name, name, reason)
	}
	return ""
}

// leadingDotDots: ".." appears only as a leading run of components (the rule
// rootfs applies to every synced symlink; a shim's path is followed the same way).
func leadingDotDots(p string) bool {
	named := false
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "..":
			if named {
				return false
			}
		case "", ".":
		default:
			named = true
		}
	}
	return true
}

// binOwner is the package a bin entry points into.
type binOwner struct {
	name, version string
	realFile      string // the bin's file, symlinks resolved, project-relative
}

// declaredBin finds the package that file (a bin entry's target, project-relative,
// lexical) lies in — the dir after the last node_modules component — and checks
// that its package.json declares bin name as exactly that file.
func (lr *linkRules) declaredBin(name, file string) (binOwner, string) {
	comps := strings.Split(file, "/")
	end := -1
	for i := len(comps) - 3; i >= 0; i-- {
		if comps[i] != "node_modules" {
			continue
		}
		if strings.HasPrefix(comps[i+1], "@") {
			if i+3 < len(comps) {
				end = i + 3
			}
		} else {
			end = i + 2
		}
		if end > 0 {
			break
		}
	}
	if end < 0 {
		return binOwner{}, "links to " + file + ", which is not in a package under node_modules"
	}
	pkgDir, rel := strings.Join(comps[:end], "/"), strings.Join(comps[end:], "/")
	real, err := lr.resolve(pkgDir)
	if err != nil {
		return binOwner{}, fmt.Sprintf("links into %s: %v", pkgDir, err)
	}
	return lr.manifestBin(name, pkgDir, real, rel)
}

// projectBin is declaredBin for a bin file outside the output dirs: yarn links a
// workspace's bins straight into the workspace (node_modules/.bin/tool ->
// ../../packages/a/cli.js). The file must be in a package of the project's own
// (isProjectPackage, not the root), which declares it.
func (lr *linkRules) projectBin(name, file string) (binOwner, string) {
	for d := path.Dir(file); d != "." && d != "/"; d = path.Dir(d) {
		if lr.isProjectPackage(d, false) {
			return lr.manifestBin(name, d, d, strings.TrimPrefix(file, d+"/"))
		}
	}
	return binOwner{}, fmt.Sprintf("links to %s, outside %s's output dirs (%s) and in no package of the project", file, lr.manager, strings.Join(lr.outputDirs, ", "))
}

// manifestBin checks that the package at pkgDir (real: its path without symlinks)
// declares bin name as its file rel.
func (lr *linkRules) manifestBin(name, pkgDir, real, rel string) (binOwner, string) {
	data, err := lr.view.ReadFile(real + "/package.json")
	if err != nil {
		return binOwner{}, fmt.Sprintf("links into %s, which has no readable package.json", pkgDir)
	}
	m, err := parseBinManifest(data)
	if err != nil {
		return binOwner{}, fmt.Sprintf("links into %s, whose package.json does not parse: %v", pkgDir, err)
	}
	o := binOwner{name: m.name, version: m.version, realFile: real + "/" + rel}
	id := m.name + "@" + m.version
	if want, ok := m.bins[name]; ok {
		if want != rel {
			return o, fmt.Sprintf("links to %s in %s, but %s declares bin %q as %s", rel, id, id, name, want)
		}
		return o, ""
	}
	if m.binDir != "" && len(m.bins) == 0 && path.Base(rel) == name && strings.HasPrefix(rel, m.binDir+"/") {
		return o, "" // directories.bin: every file in it is a bin named like the file
	}
	declared := slices.Sorted(func(yield func(string) bool) {
		for k := range m.bins {
			if !yield(k) {
				return
			}
		}
	})
	what := "no bin"
	if len(declared) > 0 {
		what = "only " + strings.Join(declared, ", ")
	}
	return o, fmt.Sprintf("not a bin that %s declares (its package.json declares %s); node_modules/.bin may only hold the links the package manager makes for declared bins", id, what)
}

// resolve follows the symlinks of a project-relative path in the run's view, the
// way the kernel would, and returns the path without any. Links must stay relative
// and inside the project.
func (lr *linkRules) resolve(p string) (string, error) {
	todo := strings.Split(p, "/")
	var done []string
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", fmt.Errorf("%s leaves the project", p)
			}
			done = done[:len(done)-1]
			continue
		}
		cur := strings.Join(append(slices.Clone(done), c), "/")
		t, err := lr.view.Readlink(cur)
		if err != nil { // not a symlink (or absent: the read that follows fails)
			done = append(done, c)
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symlinks", p)
		}
		if path.IsAbs(t) {
			return "", fmt.Errorf("%s is a symlink to the absolute path %s", cur, t)
		}
		todo = append(strings.Split(t, "/"), todo...)
	}
	if len(done) == 0 {
		return "", fmt.Errorf("%s is the project itself", p)
	}
	return strings.Join(done, "/"), nil
}

// binManifest is what a package.json says about bins.
type binManifest struct {
	name, version string
	bins          map[string]string // bin name → package-relative file, normalised
	binDir        string            // directories.bin, when bin is absent
}

// parseBinManifest reads name, version, bin and directories.bin, normalised the way
// npm does (npm-normalize-package-bin): a string bin is named after the package
// without its scope; a name is the last component of the key, a file is cleaned
// below the package dir.
func parseBinManifest(data []byte) (*binManifest, error) {
	var raw struct {
		Name        string          `json:"name"`
		Version     string          `json:"version"`
		Bin         json.RawMessage `json:"bin"`
		Directories json.RawMessage `json:"directories"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	m := &binManifest{name: raw.Name, version: raw.Version, bins: map[string]string{}}
	var one string
	var many map[string]any
	switch {
	case len(raw.Bin) == 0 || string(raw.Bin) == "null":
	case json.Unmarshal(raw.Bin, &one) == nil:
		if f := cleanBinFile(one); f != "" {
			if n := cleanBinName(raw.Name); n != "" {
				m.bins[n] = f
			}
		}
	case json.Unmarshal(raw.Bin, &many) == nil:
		for k, v := range many {
			s, ok := v.(string)
			if !ok {
				continue
			}
			if n, f := cleanBinName(k), cleanBinFile(s); n != "" && f != "" {
				m.bins[n] = f
			}
		}
	}
	var dirs struct {
		Bin string `json:"bin"`
	}
	if len(raw.Bin) == 0 && len(raw.Directories) > 0 && json.Unmarshal(raw.Directories, &dirs) == nil {
		m.binDir = cleanBinFile(dirs.Bin)
	}
	return m, nil
}

func cleanBinName(k string) string {
	k = strings.NewReplacer("\\", "/", ":", "/").Replace(k)
	return strings.TrimPrefix(path.Join("/", path.Base(k)), "/")
}

func cleanBinFile(f string) string {
	return strings.TrimPrefix(path.Join("/", strings.ReplaceAll(f, "\\", "/")), "/")
}

// shadowedCommands are bin names refused by default: a package that ships one
// replaces that command for every npm script and npx run in the project, which is
// where developers type secrets, push code and run builds. Names legitimate
// packages commonly ship under their own name (which@1's `which`, `node-gyp`) are left out.
var shadowedCommands = func() map[string]string {
	m := map[string]string{}
	for reason, names := range map[string][]string{
		"the JavaScript runtime and package managers every script and npx runs through": {
			"node", "nodejs", "npm", "npx", "yarn", "yarnpkg", "pnpm", "pnpx", "corepack", "bun", "bunx", "deno",
		},
		"a shell, or the program that starts commands": {
			"sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "env", "exec", "nohup", "xargs",
		},
		"it handles credentials, keys or privileges": {
			"git", "ssh", "scp", "sftp", "ssh-add", "ssh-agent", "gpg", "gpg2", "sudo", "su", "doas",
			"gh", "aws", "gcloud", "az", "docker", "podman", "kubectl", "op", "pass", "security",
		},
		"it fetches from or sends to the network": {
			"curl", "wget", "nc", "ncat", "netcat", "rsync", "ftp", "telnet",
		},
		"a toolchain that builds and scripts call": {
			"python", "python3", "pip", "pip3", "ruby", "gem", "bundle", "bundler", "perl", "php",
			"cargo", "rustc", "rustup", "go", "java", "javac", "make", "cmake", "cc", "gcc", "g++", "c++",
			"clang", "clang++", "ld", "as", "ar", "pkg-config",
		},
		"a core utility that scripts call": {
			"ls", "cat", "cp", "mv", "rm", "ln", "mkdir", "rmdir", "chmod", "chown", "find", "grep",
			"sed", "awk", "tar", "gzip", "gunzip", "unzip", "zip", "tee", "sort", "head", "tail",
			"test", "[", "true", "false", "echo", "printf", "kill", "ps", "id", "whoami", "uname",
			"dirname", "basename", "readlink", "realpath", "date", "install", "patch", "diff", "less",
			"more", "vi", "vim", "nano", "code", "open", "xdg-open",
		},
	} {
		for _, n := range names {
			m[n] = reason
		}
	}
	return m
}()

// pnpmShim is the parsed form of the shell script pnpm writes into .bin
// (@zkochan/cmd-shim's generateShShim).
type pnpmShim struct {
	text     string
	pathDirs []string // export PATH="…:$PATH"
	nodePath []string // export NODE_PATH="…"
	target   string   // relative to the .bin dir
	body     string   // from the exec lines on
}

const pnpmShimHeader = `#!/bin/sh
basedir=$(dirname "$(echo "$0" | sed -e 's,\\,/,g')")

case ` + "`uname`" + ` in
    *CYGWIN*|*MINGW*|*MSYS*)
        if command -v cygpath > /dev/null 2>&1; then
            basedir=` + "`cygpath -w \"$basedir\"`" + `
        fi
    ;;
esac

`

var shimTargetRE = regexp.MustCompile(`"\$basedir/([^"$` + "`" + `\\]+)"`)

// parsePnpmShim takes the shim apart, or returns nil for anything else.
func parsePnpmShim(text string) *pnpmShim {
	rest, ok := strings.CutPrefix(text, pnpmShimHeader)
	if !ok {
		return nil
	}
	s := &pnpmShim{text: text}
	if after, ok := strings.CutPrefix(rest, `export PATH="`); ok {
		v, tail, ok := strings.Cut(after, ":$PATH\"\n")
		if !ok || strings.Contains(v, "\n") {
			return nil
		}
		s.pathDirs, rest = strings.Split(v, ":"), tail
	}
	if after, ok := strings.CutPrefix(rest, "if [ -z \"$NODE_PATH\" ]; then\n  export NODE_PATH=\""); ok {
		v, _, ok := strings.Cut(after, "\"\n")
		if !ok || strings.Contains(v, "\n") {
			return nil
		}
		block := "if [ -z \"$NODE_PATH\" ]; then\n  export NODE_PATH=\"" + v + "\"\nelse\n  export NODE_PATH=\"" + v + ":$NODE_PATH\"\nfi\n"
		if rest, ok = strings.CutPrefix(rest, block); !ok {
			return nil
		}
		s.nodePath = strings.Split(v, ":")
	}
	m := shimTargetRE.FindAllStringSubmatch(rest, -1)
	if len(m) == 0 {
		return nil
	}
	s.target, s.body = m[len(m)-1][1], rest
	return s
}

// shimPaths checks the directories the shim puts in PATH and NODE_PATH. pnpm's
// shims for a project's dependencies set no PATH (its link-bins never asks
// cmd-shim for one): a PATH line is a package's, putting its own node or git
// before the system's for every program the bin starts (found by an attacker
// review: a script rewrote another package's shim after pnpm's rebuild). NODE_PATH
// may name only node_modules directories in the project's output dirs, absolute,
// nothing a shell would expand.
func (lr *linkRules) shimPaths(s *pnpmShim) string {
	if len(s.pathDirs) > 0 {
		return fmt.Sprintf("a pnpm shim that puts %s first in PATH, which pnpm's shims never do", strings.Join(s.pathDirs, ":"))
	}
	for _, d := range s.nodePath {
		rel, ok := strings.CutPrefix(d, lr.root+"/")
		if !ok || path.Clean(d) != d || path.Base(d) != "node_modules" || strings.ContainsAny(d, "\"$`\\") || !underAny(rel, lr.outputDirs...) {
			return fmt.Sprintf("a pnpm shim whose NODE_PATH names %s, not a node_modules directory in %s's output dirs", d, lr.manager)
		}
	}
	return ""
}

// shimRuns checks that the shim runs the bin's file the way pnpm would write it for
// that file: the program its #! line names (or its extension implies), with the
// #! line's arguments, and nothing else.
func (lr *linkRules) shimRuns(s *pnpmShim, realFile string) string {
	data, err := readShebangLine(lr.view, realFile)
	if err != nil {
		return "a pnpm shim for " + s.target + ", which cannot be read"
	}
	prog, args := shimRuntime(data, s.target)
	if !safeShimWords.MatchString(prog) || !safeShimWords.MatchString(args) {
		return fmt.Sprintf("the bin's #! line (%q) is not one a shim may run safely", firstLine(data))
	}
	for _, a := range []string{args, strings.TrimPrefix(args+" --preserve-symlinks", " ")} {
		if s.body == shimBody(prog, a, s.target) {
			return ""
		}
	}
	return "not the shim pnpm writes for " + s.target + " (it runs something else)"
}

var safeShimWords = regexp.MustCompile(`^[A-Za-z0-9_./+=:,@ -]*$`)

var shebangRE = regexp.MustCompile(`^#!\s*(?:/usr/bin/env(?:\s+-S\s*)?)?\s*([^ \t]+)(.*)$`)
