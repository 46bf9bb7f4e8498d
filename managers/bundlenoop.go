package managers

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/rootfs"
)

// `bundle install` with nothing to do (issue 12): the Gemfile — when it is plainly
// declarative, read as data and never run — asks for exactly the dependencies
// and sources the lockfile records, the lockfile covers this platform, and every
// gem of it is installed in BUNDLE_PATH at its locked version. The lockfile is
// prechecked and no step runs (not even the offline evaluation of the Gemfile).
//
// What a hostile checkout can plant: gem specifications under vendor/bundle that
// claim the locked versions over other code. The decision compares that record
// with the lockfile, so a record that lies makes phylum-box skip the install and
// nothing else: no step runs, nothing is synced back, vendor/bundle stays as the
// checkout brought it, and the lockfile — what the record says is installed — is
// prechecked as always. A Gemfile that does anything but declare (a method call
// outside the DSL below, string interpolation, eval_gemfile, gemspec, git or path
// gems) means the full steps, where it is evaluated offline.

// bundleNoopKeys are Bundler settings (.bundle/config, ~/.bundle/config,
// BUNDLE_* variables) that leave `bundle install` of an installed lockfile alone.
var bundleNoopKeys = map[string]bool{
	"BUNDLE_PATH": true, "BUNDLE_GEMFILE": true, "BUNDLE_APP_CONFIG": true, "BUNDLE_JOBS": true, "BUNDLE_RETRY": true,
	"BUNDLE_SILENCE_ROOT_WARNING": true, "BUNDLE_DISABLE_VERSION_CHECK": true, "BUNDLE_SILENCE_DEPRECATIONS": true,
	"BUNDLE_TIMEOUT": true, "BUNDLE_USER_HOME": true, "BUNDLE_USER_CACHE": true, "BUNDLE_USER_CONFIG": true,
	"BUNDLE_BIN_PATH": true, "BUNDLE_DISABLE_SHARED_GEMS": true,
}

// bundleNoopCheck returns Plan.Steps.UpToDate for a bundle command line, or nil when the
// command could change the installed gems whatever the files say: anything but a
// bare `bundle install`, a setting outside bundleNoopKeys (groups left out,
// deployment, frozen, …).
func bundleNoopCheck(cmd string, rest []string, env Env, root, gemfile, lock, gemPath string, cfg []bundleConfigLine) func() (bool, string) {
	if cmd != "install" || len(rest) > 0 {
		return nil
	}
	for _, l := range cfg {
		if !bundleNoopKeys[l.Key] {
			return nil
		}
	}
	for _, kv := range env.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "BUNDLE_") && !bundleNoopKeys[k] && !bundleIsCredentialKey(k) {
			return nil
		}
	}
	if data, err := os.ReadFile(filepath.Join(env.Home, ".bundle", "config")); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			k, _, ok := strings.Cut(l, ":")
			k = strings.TrimSpace(k)
			if ok && strings.HasPrefix(k, "BUNDLE_") && !bundleNoopKeys[k] && !bundleIsCredentialKey(k) {
				return nil
			}
		}
	}
	abi := bundleRubyABI(env)
	if abi == "" {
		return nil
	}
	rel, err := filepath.Rel(root, gemPath)
	if err != nil || !filepath.IsLocal(rel) {
		return nil
	}
	return func() (bool, string) {
		return BundleUpToDate(root, gemfile, lock, filepath.ToSlash(rel), abi, bundleLocalPlatforms())
	}
}

// bundleRubyABI is the ruby in PATH's library version (RbConfig ruby_version,
// "3.1.0"), read from its installation's lib/ruby/X.Y.0 without running it; ""
// when it is not one directory.
func bundleRubyABI(env Env) string {
	ruby, err := env.LookPath("ruby")
	if err != nil {
		return ""
	}
	real, err := filepath.EvalSymlinks(ruby)
	if err != nil {
		return ""
	}
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(real)), "lib", "ruby", "[0-9]*.[0-9]*.0"))
	if len(m) != 1 {
		return ""
	}
	return filepath.Base(m[0])
}

// bundleLocalPlatforms are the PLATFORMS names of this machine one of which the
// lockfile must list (else Bundler adds it, rewriting the lockfile).
func bundleLocalPlatforms() []string {
	cpu := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "x86"}[runtime.GOARCH]
	if cpu == "" {
		cpu = runtime.GOARCH
	}
	return []string{cpu + "-linux", cpu + "-linux-gnu"}
}

// bundleGemfileLine are the Gemfile lines read as data: source, ruby, gem with
// version requirements and require/group options, group blocks.
var (
	bundleSourceRE = lazyre.New(`^source\s+(?:"([^"#\\]*)"|'([^'\\]*)')$`)
	bundleRubyRE   = lazyre.New(`^ruby\s+(?:"[^"#\\]*"|'[^'\\]*')$`)
	bundleGroupRE  = lazyre.New(`^group\s+:[a-z_]+(?:\s*,\s*:[a-z_]+)*\s+do$`)
	bundleGemRE    = lazyre.New(`^gem\s+(?:"([A-Za-z0-9._-]+)"|'([A-Za-z0-9._-]+)')((?:\s*,\s*(?:"[^"#\\]*"|'[^'\\]*'))*)((?:\s*,\s*(?:require|group|groups):\s*(?:false|true|:[a-z_]+|\[[:a-z_,\s]*\]|"[^"#\\]*"|'[^'\\]*'))*)$`)
	bundleReqRE    = lazyre.New(`"([^"]*)"|'([^']*)'`)
)

// bundleGemfileDeps reads a declarative Gemfile: its sources and its gems with
// their requirements (normalised, sorted); why says which line it does not read.
func bundleGemfileDeps(data []byte) (sources []string, deps map[string][]string, why string) {
	deps = map[string][]string{}
	depth := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimSpace(bundleStripComment(sc.Text()))
		switch {
		case l == "":
		case bundleSourceRE().MatchString(l):
			m := bundleSourceRE().FindStringSubmatch(l)
			sources = append(sources, strings.TrimSuffix(m[1]+m[2], "/"))
		case bundleRubyRE().MatchString(l):
		case bundleGroupRE().MatchString(l):
			depth++
		case l == "end" && depth > 0:
			depth--
		case bundleGemRE().MatchString(l):
			m := bundleGemRE().FindStringSubmatch(l)
			name := m[1] + m[2]
			if _, dup := deps[name]; dup {
				return nil, nil, fmt.Sprintf("line %d: %s twice", n, name)
			}
			reqs := []string{}
			for _, r := range bundleReqRE().FindAllStringSubmatch(m[3], -1) {
				reqs = append(reqs, bundleNormReq(r[1]+r[2]))
			}
			slices.Sort(reqs)
			deps[name] = reqs
		default:
			return nil, nil, fmt.Sprintf("line %d is not a plain declaration phylum-box reads", n)
		}
	}
	if depth != 0 {
		return nil, nil, "a group block is not closed"
	}
	return sources, deps, ""
}

// bundleStripComment cuts a line at a "#" outside quotes (one inside a
// double-quoted string is interpolation, which the patterns refuse).
func bundleStripComment(l string) string {
	var quote rune
	for i, r := range l {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
		case r == '"' || r == '\'':
			quote = r
		case r == '#':
			return l[:i]
		}
	}
	return l
}

// bundleNormReq writes a requirement as the lockfile does: "1.0" is "= 1.0".
func bundleNormReq(r string) string {
	r = strings.TrimSpace(r)
	for _, op := range []string{"~>", ">=", "<=", "!=", ">", "<", "="} {
		if rest, ok := strings.CutPrefix(r, op); ok {
			return op + " " + strings.TrimSpace(rest)
		}
	}
	return "= " + r
}

// bundleLock is the part of Gemfile.lock the decision reads.
type bundleLock struct {
	remotes   []string
	specs     []bundleSpec
	platforms []string
	deps      map[string][]string
}

// bundleSpec is a locked gem: its name and version, "-platform" after it for a
// platform gem.
type bundleSpec struct{ name, version string }

var bundleSpecRE = lazyre.New(`^    ([A-Za-z0-9._-]+) \(([^() ,]+)\)$`)

func parseBundleLock(data []byte) (*bundleLock, string) {
	l := &bundleLock{deps: map[string][]string{}}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, " ") {
			section = line
			switch section {
			case "GEM", "PLATFORMS", "DEPENDENCIES", "BUNDLED WITH", "RUBY VERSION":
			default:
				return nil, "the lockfile has a " + section + " section"
			}
			continue
		}
		switch section {
		case "GEM":
			switch {
			case strings.HasPrefix(line, "  remote: "):
				l.remotes = append(l.remotes, strings.TrimSuffix(strings.TrimPrefix(line, "  remote: "), "/"))
			case line == "  specs:" || strings.HasPrefix(line, "      "):
			default:
				m := bundleSpecRE().FindStringSubmatch(line)
				if m == nil {
					return nil, "lockfile line not understood: " + strings.TrimSpace(line)
				}
				l.specs = append(l.specs, bundleSpec{m[1], m[2]})
			}
		case "PLATFORMS":
			l.platforms = append(l.platforms, strings.TrimSpace(line))
		case "DEPENDENCIES":
			d := strings.TrimSpace(line)
			if strings.HasSuffix(d, "!") {
				return nil, "the lockfile has a dependency from another source: " + d
			}
			name, reqs, _ := strings.Cut(d, " ")
			list := []string{}
			if reqs != "" {
				for _, r := range strings.Split(strings.Trim(reqs, "()"), ",") {
					list = append(list, bundleNormReq(r))
				}
			}
			slices.Sort(list)
			l.deps[name] = list
		}
	}
	return l, ""
}

// BundleUpToDate says whether `bundle install` at root has nothing to do: the
// Gemfile (read as data) declares the lockfile's sources and dependencies, the
// lockfile lists one of platforms, and every locked gem's specification is
// installed under gemPath/ruby/abi (relative to root). Files are read beneath
// root without following a symbolic link.
func BundleUpToDate(root, gemfile, lockName, gemPath, abi string, platforms []string) (bool, string) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false, err.Error()
	}
	defer r.Close()
	gf, err := readNoLink(r, gemfile)
	if err != nil {
		return false, err.Error()
	}
	lockData, err := readNoLink(r, lockName)
	if err != nil {
		return false, err.Error()
	}
	lock, _, _, why := bundleLockCurrent(gemfile, lockName, gf, lockData, platforms)
	if why != "" {
		return false, why
	}
	specDir := path.Join(gemPath, "ruby", abi, "specifications")
	if st, err := r.Lstat(specDir); err != nil || !st.IsDir() {
		return false, specDir + " is not a directory"
	}
	f, err := r.Open(specDir)
	if err != nil {
		return false, err.Error()
	}
	installed, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return false, err.Error()
	}
	have := map[string]bool{}
	for _, n := range installed {
		if base, ok := strings.CutSuffix(n, ".gemspec"); ok {
			if st, err := r.Lstat(path.Join(specDir, n)); err == nil && st.Mode().IsRegular() {
				have[base] = true
			}
		}
	}
	// A gem locked for several platforms is installed in the one variant that
	// fits: any variant of a name and version counts.
	variants := map[string][]string{}
	var order []string
	for _, s := range lock.specs {
		base, _, _ := strings.Cut(s.version, "-")
		k := s.name + "-" + base
		if _, ok := variants[k]; !ok {
			order = append(order, k)
		}
		variants[k] = append(variants[k], s.name+"-"+s.version)
	}
	for _, k := range order {
		if !slices.ContainsFunc(variants[k], func(v string) bool { return have[v] }) {
			return false, k + " is not installed in " + gemPath
		}
	}
	// gemPath may come from the project's .bundle/config (a directory name the
	// checkout chose, escape sequences and all); this line is printed as it is.
	return true, fmt.Sprintf("%s holds the %d gem(s) of %s", rootfs.Printable(gemPath), len(order), rootfs.Printable(lockName))
}

// bundleLockCurrent says whether the lockfile is the resolution of the Gemfile as
// it is (both read as data): the Gemfile declares the lockfile's sources and
// dependencies, and the lockfile lists one of platforms. It returns the parsed
// lockfile and the Gemfile's sources (in its order) and requirements, or why not.
func bundleLockCurrent(gemfile, lockName string, gf, lockData []byte, platforms []string) (*bundleLock, []string, map[string][]string, string) {
	sources, deps, why := bundleGemfileDeps(gf)
	if why != "" {
		return nil, nil, nil, gemfile + ": " + why
	}
	lock, why := parseBundleLock(lockData)
	if why != "" {
		return nil, nil, nil, why
	}
	sorted := slices.Clone(sources)
	slices.Sort(sorted)
	remotes := slices.Clone(lock.remotes)
	slices.Sort(remotes)
	if !slices.Equal(slices.Compact(sorted), slices.Compact(remotes)) {
		return nil, nil, nil, gemfile + "'s sources are not the lockfile's"
	}
	if len(deps) != len(lock.deps) {
		return nil, nil, nil, gemfile + "'s gems are not the lockfile's dependencies"
	}
	for name, reqs := range deps {
		if got, ok := lock.deps[name]; !ok || !slices.Equal(got, reqs) {
			return nil, nil, nil, fmt.Sprintf("%s's %s %s is not what %s was resolved from", gemfile, name, strings.Join(reqs, ", "), lockName)
		}
	}
	if !slices.ContainsFunc(platforms, func(p string) bool { return slices.Contains(lock.platforms, p) }) {
		return nil, nil, nil, lockName + " does not list this platform (" + platforms[0] + ")"
	}
	return lock, sources, deps, ""
}
