package managers

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"deps.dev/util/semver"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// `pip install -r requirements.txt` with nothing to do (issue 12): the venv
// already holds every requirement of a fully pinned requirements file, and every
// dependency those packages declare is one of them at a version it accepts, so
// pip would install nothing. The requirements file is prechecked (it becomes the
// plan's lockfile) and no step runs.
//
// What a hostile checkout can plant: a .venv whose *.dist-info METADATA claims the
// pinned versions over code that is something else. The decision compares that
// record with the requirements file, so a record that lies makes phylum-box skip
// the install and nothing else: no step runs, nothing is synced back, the venv
// stays as the checkout brought it (phylum-box put nothing unchecked there), and
// the requirements file — the complete set the record says is installed — is
// prechecked as always.

// pipNoopOptions are the install options that leave a nothing-to-do install
// alone: how pip talks and what it prints, and where it would fetch from (with
// every requirement satisfied pip fetches nothing, so the indexes do not matter;
// in a requirements file such a line still means the full steps). Any other
// (-U, --force-reinstall, -c, -e, --pre, a package argument, …) means the full
// steps.
var pipNoopOptions = map[string]bool{
	"requirement": true, "index-url": true, "extra-index-url": true, "find-links": true, "no-index": true,
	"default-timeout": true, "timeout": true, "retries": true, "cert": true, "client-cert": true,
	"trusted-host": true, "progress-bar": true, "root-user-action": true, "cache-dir": true, "proxy": true,
	"quiet": true, "verbose": true, "no-input": true, "disable-pip-version-check": true, "require-hashes": true,
	"no-cache-dir": true, "no-color": true, "require-virtualenv": true, "no-python-version-warning": true,
	"isolated": true, "no-warn-script-location": true, "no-warn-conflicts": true, "prefer-binary": true,
	"no-compile": true, "compile": true, "use-pep517": true, "no-build-isolation": true, "keyring-provider": true,
	"log": true, "log-file": true, "config-file": true,
	"global": true, "install": true, // pip.conf section names
}

// pipNoopCheck returns Plan.Steps.UpToDate for a pip command line, or nil when the
// command could install something whatever the venv holds. When it answers up to
// date it also makes the requirements files the plan's Lockfiles: they are what
// the answer rests on, and what is prechecked.
func pipNoopCheck(p *Plan, a *pipArgv, env Env, root, venv string) func() (bool, string) {
	reqs := a.opts["requirement"]
	if venv == "" || len(a.args) > 0 || len(reqs) == 0 {
		return nil
	}
	for name := range a.opts {
		if !pipNoopOptions[name] {
			return nil
		}
	}
	for name := range a.flags {
		if !pipNoopOptions[name] {
			return nil
		}
	}
	var files []string
	for _, r := range reqs {
		if !filepath.IsAbs(r) {
			r = filepath.Join(env.Dir, r)
		}
		rel, err := filepath.Rel(root, filepath.Clean(r))
		base := filepath.Base(rel)
		if err != nil || !filepath.IsLocal(rel) || !strings.HasSuffix(base, ".txt") || !strings.Contains(base, "requirements") {
			return nil // outside the project, or a name the precheck does not read as requirements
		}
		files = append(files, filepath.ToSlash(rel))
	}
	venvRel, err := filepath.Rel(root, venv)
	if err != nil || !filepath.IsLocal(venvRel) {
		return nil
	}
	// pip's settings: the environment and every configuration file it reads.
	var confs []string
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if rest, ok := strings.CutPrefix(k, "PIP_"); ok {
			if !pipNoopOptions[strings.ReplaceAll(strings.ToLower(rest), "_", "-")] {
				return nil
			}
			if rest == "CONFIG_FILE" {
				confs = append(confs, v)
			}
		}
	}
	xdg := env.Getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		xdg = filepath.Join(env.Home, ".config")
	}
	confs = append(confs, "/etc/pip.conf", "/etc/xdg/pip/pip.conf", filepath.Join(env.Home, ".pip", "pip.conf"), filepath.Join(xdg, "pip", "pip.conf"))
	for _, c := range confs {
		if data, err := os.ReadFile(c); err == nil && pipConfNoop(data) != "" {
			return nil
		}
	}
	if data, err := readProjectFile(root, filepath.Join(venv, "pip.conf")); err == nil && pipConfNoop(data) != "" {
		return nil
	}
	return func() (bool, string) {
		ok, why := PipUpToDate(root, filepath.ToSlash(venvRel), files)
		if ok {
			p.Project.Lockfiles = files
		}
		return ok, why
	}
}

// pipConfNoop names the first setting of a pip.conf that may change what an
// install does; "" when there is none.
func pipConfNoop(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if strings.HasPrefix(l, "[") {
			if !pipNoopOptions[strings.Trim(l, "[] ")] {
				return l
			}
			continue
		}
		k, _, _ := strings.Cut(l, "=")
		if k = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(k)), "_", "-"); !pipNoopOptions[k] {
			return k
		}
	}
	return ""
}

// pipPinRE is a requirement pinned to one version: no extras, no marker, no URL.
var pipPinRE = lazyre.New(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*==\s*([A-Za-z0-9.+!_-]+)$`)

// pipPins reads a requirements file that pins every line to one version (hashes
// allowed); why says which line is not such a pin.
func pipPins(data []byte, rel string, pins map[string]string) (why string) {
	text := strings.ReplaceAll(string(data), "\\\r\n", " ")
	text = strings.ReplaceAll(text, "\\\n", " ")
	for i, line := range strings.Split(text, "\n") {
		if c := strings.Index(line, "#"); c >= 0 && (c == 0 || line[c-1] == ' ' || line[c-1] == '\t') {
			line = line[:c]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		req := fields[0]
		rest := fields[1:]
		if len(rest) > 0 && (rest[0] == "==" || strings.HasPrefix(rest[0], "==")) {
			// "name == 1.0": the pin split by spaces.
			req += rest[0]
			rest = rest[1:]
			if req[len(req)-1] == '=' && len(rest) > 0 {
				req += rest[0]
				rest = rest[1:]
			}
		}
		for _, o := range rest {
			if !strings.HasPrefix(o, "--hash=") {
				return fmt.Sprintf("%s:%d is not a pinned requirement", rel, i+1)
			}
		}
		m := pipPinRE().FindStringSubmatch(req)
		if m == nil {
			return fmt.Sprintf("%s:%d is not a pinned requirement", rel, i+1)
		}
		name := pipNormName(m[1])
		if v, dup := pins[name]; dup && v != m[2] {
			return fmt.Sprintf("%s pins %s twice", rel, name)
		}
		pins[name] = m[2]
	}
	if len(pins) == 0 {
		return rel + " pins nothing"
	}
	return ""
}

// pipDist is an installed distribution's METADATA, the parts the decision reads.
type pipDist struct {
	version  string
	requires []string
}

// PipUpToDate says whether `pip install -r` of files (relative to root) into the
// venv at venvRel has nothing to do: every line of the files pins one version,
// each pinned package is installed in the venv at that version, and every
// dependency its METADATA declares (that applies here) is a pinned package whose
// pinned version it accepts. Files are read beneath root without following a
// symbolic link; a link among the venv's dist-info means not up to date.
func PipUpToDate(root, venvRel string, files []string) (bool, string) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false, err.Error()
	}
	defer r.Close()
	pins := map[string]string{}
	for _, f := range files {
		data, err := readNoLink(r, f)
		if err != nil {
			return false, err.Error()
		}
		if why := pipPins(data, f, pins); why != "" {
			return false, why
		}
	}
	site, pyVersion, why := pipSitePackages(r, venvRel)
	if why != "" {
		return false, why
	}
	dists, why := pipInstalled(r, site)
	if why != "" {
		return false, why
	}
	env := pipMarkerEnv{python: pyVersion}
	for name, want := range pins {
		d, ok := dists[name]
		if !ok {
			return false, name + " is not installed in " + venvRel
		}
		if !pipSameVersion(d.version, want) {
			return false, fmt.Sprintf("%s %s is installed, the requirements pin %s", name, d.version, want)
		}
		for _, req := range d.requires {
			dep, spec, marker, ok := pipSplitRequirement(req)
			if !ok {
				return false, fmt.Sprintf("%s's dependency %q not understood", name, req)
			}
			if marker != "" {
				applies, known := env.eval(marker)
				if !known {
					return false, fmt.Sprintf("%s's dependency %q has a marker phylum-box does not evaluate", name, req)
				}
				if !applies {
					continue
				}
			}
			v, pinned := pins[dep]
			if !pinned {
				return false, fmt.Sprintf("%s's dependency %s is not pinned in the requirements (pip would resolve it)", name, dep)
			}
			if spec != "" {
				c, err := semver.PyPI.ParseConstraint(spec)
				if err != nil || !c.Match(v) {
					return false, fmt.Sprintf("%s's dependency %s%s does not accept the pinned %s", name, dep, spec, v)
				}
			}
		}
	}
	return true, fmt.Sprintf("%s holds the %d pinned requirement(s) of %s", venvRel, len(pins), strings.Join(files, ", "))
}

// pipSitePackages finds the venv's one lib/pythonX.Y/site-packages, and X.Y.
func pipSitePackages(r *os.Root, venvRel string) (site, pyVersion, why string) {
	lib := path.Join(venvRel, "lib")
	if st, err := r.Lstat(lib); err != nil || !st.IsDir() {
		return "", "", lib + " is not a directory"
	}
	f, err := r.Open(lib)
	if err != nil {
		return "", "", err.Error()
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return "", "", err.Error()
	}
	for _, n := range names {
		if v, ok := strings.CutPrefix(n, "python"); ok {
			if site != "" {
				return "", "", lib + " has more than one python"
			}
			site, pyVersion = path.Join(lib, n, "site-packages"), v
		}
	}
	if site == "" {
		return "", "", lib + " has no python"
	}
	if st, err := r.Lstat(site); err != nil || !st.IsDir() {
		return "", "", site + " is not a directory"
	}
	return site, pyVersion, ""
}

// pipInstalled reads every *.dist-info/METADATA of site, by normalised name.
func pipInstalled(r *os.Root, site string) (map[string]pipDist, string) {
	f, err := r.Open(site)
	if err != nil {
		return nil, err.Error()
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err.Error()
	}
	out := map[string]pipDist{}
	for _, n := range names {
		if !strings.HasSuffix(n, ".dist-info") {
			continue
		}
		if len(out) > maxNoopTree {
			return nil, site + " is too large to check"
		}
		dir := path.Join(site, n)
		if st, err := r.Lstat(dir); err != nil || !st.IsDir() {
			return nil, dir + " is not a directory"
		}
		data, err := readNoLink(r, dir+"/METADATA")
		if err != nil {
			return nil, err.Error()
		}
		name, d := pipParseMetadata(data)
		if name == "" || d.version == "" {
			return nil, dir + "/METADATA has no name or version"
		}
		if _, dup := out[name]; dup {
			return nil, name + " is installed twice"
		}
		out[name] = d
	}
	return out, ""
}

// pipParseMetadata reads the header of a METADATA file (RFC 822 style, up to the
// first blank line).
func pipParseMetadata(data []byte) (name string, d pipDist) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" {
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "name":
			name = pipNormName(v)
		case "version":
			d.version = v
		case "requires-dist":
			d.requires = append(d.requires, v)
		}
	}
	return name, d
}

// pipReqRE is a Requires-Dist value: a name, no extras, a specifier (optionally in
// parentheses), a marker after ";".
var pipReqRE = lazyre.New(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\(([^()]*)\)|([<>=!~][^;]*))?\s*(?:;\s*(.*))?$`)

// pipSplitRequirement splits a Requires-Dist value; ok is false for extras, URLs
// and anything else it does not read.
func pipSplitRequirement(req string) (name, spec, marker string, ok bool) {
	m := pipReqRE().FindStringSubmatch(strings.TrimSpace(req))
	if m == nil {
		return "", "", "", false
	}
	spec = strings.TrimSpace(m[2] + m[3])
	return pipNormName(m[1]), spec, strings.TrimSpace(m[4]), true
}

// pipSameVersion: PEP 440 equality (1.0 == 1.0.0), falling back to the strings.
func pipSameVersion(a, b string) bool {
	if a == b {
		return true
	}
	va, err1 := semver.PyPI.Parse(a)
	vb, err2 := semver.PyPI.Parse(b)
	return err1 == nil && err2 == nil && va.Compare(vb) == 0
}

// pipMarkerEnv evaluates the environment markers of dependencies for this
// machine's Linux and the venv's python (X.Y). No extra is requested.
type pipMarkerEnv struct{ python string }

var pipMarkerAtomRE = lazyre.New(`^\s*(?:([a-z_]+)\s*(==|!=|<=|>=|<|>|not in|in)\s*(?:"([^"]*)"|'([^']*)')|(?:"([^"]*)"|'([^']*)')\s*(==|!=|<=|>=|<|>|not in|in)\s*([a-z_]+))\s*$`)

// eval returns the marker's value; known is false for anything it does not read
// (parentheses, variables it does not know the value of).
func (e pipMarkerEnv) eval(marker string) (value, known bool) {
	if strings.ContainsAny(marker, "()") {
		return false, false
	}
	for _, alt := range strings.Split(marker, " or ") {
		all := true
		for _, atom := range strings.Split(alt, " and ") {
			v, ok := e.atom(atom)
			if !ok {
				return false, false
			}
			all = all && v
		}
		if all {
			return true, true
		}
	}
	return false, true
}

func (e pipMarkerEnv) atom(s string) (bool, bool) {
	m := pipMarkerAtomRE().FindStringSubmatch(s)
	if m == nil {
		return false, false
	}
	variable, op, lit := m[1], m[2], m[3]+m[4]
	if variable == "" {
		// "lit OP var": only equality reads the same both ways.
		variable, op, lit = m[8], m[7], m[5]+m[6]
		if op != "==" && op != "!=" {
			return false, false
		}
	}
	var have string
	isVersion := false
	switch variable {
	case "extra":
		have = ""
	case "sys_platform":
		have = "linux"
	case "platform_system":
		have = "Linux"
	case "os_name":
		have = "posix"
	case "platform_machine":
		have = map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
		if have == "" {
			return false, false
		}
	case "python_version":
		have, isVersion = e.python, true
	default:
		return false, false
	}
	if isVersion && op != "in" && op != "not in" {
		c, err := semver.PyPI.ParseConstraint(op + lit)
		if err != nil {
			return false, false
		}
		return c.Match(have), true
	}
	switch op {
	case "==":
		return have == lit, true
	case "!=":
		return have != lit, true
	case "in":
		return strings.Contains(lit, have), true
	case "not in":
		return !strings.Contains(lit, have), true
	}
	return false, false
}
