package managers

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/internal/redact"
)

// bundleEvaluator is the Ruby program the evaluate step runs (ruby -e): it loads the
// project's Gemfile (BUNDLE_GEMFILE) with Bundler's DSL, resolving nothing, and prints
// what it declares as one JSON object on the standard output it had before the
// Gemfile ran; whatever the Gemfile itself prints goes to stderr. The Gemfile runs
// here with no network, no credentials and the project read-only; the JSON is
// untrusted data that bundleEvaluated checks on the host.
const bundleEvaluator = `
require "json"
out = $stdout.dup
$stdout.reopen($stderr)
require "bundler"
dsl = Bundler::Dsl.new
dsl.eval_gemfile(Pathname.new(ENV.fetch("BUNDLE_GEMFILE")).expand_path)
deps = lambda do |list|
  list.map {|d| {"name" => d.name.to_s, "type" => d.type.to_s, "requirements" => d.requirement.requirements.map {|op, v| "#{op} #{v}" }} }
end
src = lambda do |s|
  case s
  when nil then nil
  when Bundler::Source::Git then {"type" => "git", "uri" => s.uri.to_s}
  when Bundler::Source::Path
    glob = s.instance_variable_get(:@glob).to_s
    dir = s.send(:expanded_path).to_s
    files = File.directory?(dir) ? Gem::Util.glob_files_in_dir(glob, dir) : []
    {"type" => "path", "path" => s.path.to_s, "glob" => glob, "dir" => dir,
     "files" => files.map {|f|
       sp = (Bundler.load_gemspec(f) rescue nil)
       sp = nil unless sp.is_a?(Gem::Specification)
       {"file" => f.to_s, "spec" => sp && {"name" => sp.name.to_s, "version" => sp.version.to_s,
                                          "platform" => sp.platform.to_s, "dependencies" => deps.(sp.dependencies)}}
     }}
  when Bundler::Source::Rubygems then {"type" => "rubygems", "remotes" => s.remotes.map(&:to_s)}
  else {"type" => s.class.name.to_s}
  end
end
sl = dsl.instance_variable_get(:@sources)
rv = dsl.instance_variable_get(:@ruby_version)
res = {
  "global_remotes" => sl.global_rubygems_source.remotes.map(&:to_s),
  "sources" => sl.all_sources.reject {|s| defined?(Bundler::Source::Metadata) && s.is_a?(Bundler::Source::Metadata) }.map {|s| src.(s) },
  "ruby" => rv && {"versions" => rv.versions.map(&:to_s), "engine" => rv.engine.to_s,
                   "engine_versions" => rv.engine_versions.map(&:to_s), "patchlevel" => rv.patchlevel.to_s},
  "gemspecs" => dsl.gemspecs.map {|g| g.name.to_s },
  "dependencies" => dsl.dependencies.map {|d|
    {"name" => d.name.to_s, "type" => d.type.to_s, "requirements" => d.requirement.requirements.map {|op, v| "#{op} #{v}" },
     "groups" => d.groups.map(&:to_s), "platforms" => d.platforms.map(&:to_s), "source" => src.(d.source)}
  },
}
out.write(JSON.generate(res))
out.flush
`

type bundleEvalSource struct {
	Type    string   `json:"type"`
	Remotes []string `json:"remotes"`
	URI     string   `json:"uri"`
	// A path source: Path as the Gemfile gave it, Dir expanded, the Glob Bundler
	// loads gemspecs with and every file it matches, with the spec it declared
	// (nil when it declared none).
	Path  string `json:"path"`
	Glob  string `json:"glob"`
	Dir   string `json:"dir"`
	Files []struct {
		File string          `json:"file"`
		Spec *bundleEvalSpec `json:"spec"`
	} `json:"files"`
}

type bundleEvalDep struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Requirements []string `json:"requirements"`
}

type bundleEvalSpec struct {
	Name         string          `json:"name"`
	Version      string          `json:"version"`
	Platform     string          `json:"platform"`
	Dependencies []bundleEvalDep `json:"dependencies"`
}

type bundleEvalResult struct {
	GlobalRemotes []string            `json:"global_remotes"`
	Sources       []*bundleEvalSource `json:"sources"`
	Ruby          *struct {
		Versions       []string `json:"versions"`
		Engine         string   `json:"engine"`
		EngineVersions []string `json:"engine_versions"`
		Patchlevel     string   `json:"patchlevel"`
	} `json:"ruby"`
	Gemspecs     []string `json:"gemspecs"`
	Dependencies []struct {
		Name         string            `json:"name"`
		Type         string            `json:"type"`
		Requirements []string          `json:"requirements"`
		Groups       []string          `json:"groups"`
		Platforms    []string          `json:"platforms"`
		Source       *bundleEvalSource `json:"source"`
	} `json:"dependencies"`
}

var (
	// gemNameRE: what RubyGems accepts as a gem name (letters, digits, ".", "_", "-").
	gemNameRE = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	// gemRequirementRE: one Gem::Requirement clause as Bundler prints it ("~> 2.0").
	gemRequirementRE = lazyre.New(`^(?:(?:=|!=|>|<|>=|<=|~>) )?[0-9]+(?:\.[0-9A-Za-z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)
	// bundleSymbolRE: a group or platform name.
	bundleSymbolRE = lazyre.New(`^[a-z][a-z0-9_]{0,63}$`)
)

// bundleRemote checks a rubygems source URL from the evaluated Gemfile and returns
// it as Ruby source text (single-quoted: no interpolation).
func bundleRemote(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("source %q is not a URL", redact.URL(raw))
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("source %q is not an http(s) URL", redact.URL(raw))
	case u.User != nil:
		return "", fmt.Errorf("source %q has credentials in it; put them in ~/.bundle/config (`bundle config set --global %s USER:PASS`)", redact.URL(raw), u.Hostname())
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "'\\ \t\r\n\"#?") || strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r > 0x7e }):
		return "", fmt.Errorf("source %q has characters a gem source URL does not have", raw)
	}
	return "'" + raw + "'", nil
}

// bundleEvaluated reads the evaluate step's JSON, checks every value as untrusted
// input and gives the resolve and download steps a declarative Gemfile written
// from it in place of the project's (whose Ruby they never run), and a declarative
// gemspec in place of every gemspec file a path source would load; the build step
// keeps the project's own files.
func bundleEvaluated(p *Plan, root, gemfile string, out []byte, read func(string) ([]byte, error)) error {
	refuse := func(format string, a ...any) error {
		return &Refusal{Manager: "bundle", Reason: gemfile + ": " + fmt.Sprintf(format, a...)}
	}
	var ev bundleEvalResult
	dec := json.NewDecoder(strings.NewReader(string(out)))
	if err := dec.Decode(&ev); err != nil || dec.More() {
		return refuse("evaluating it did not produce the expected description (%v)", err)
	}
	gen, specs, err := bundleGemfile(&ev, root, filepath.Join(root, filepath.Dir(filepath.FromSlash(gemfile))))
	if err != nil {
		return &Refusal{Manager: "bundle", Reason: gemfile + ": " + err.Error(),
			Advice: "phylum-box installs gems from rubygems sources and path gems inside the project; install this project without phylum-box only if you trust it and its git gems"}
	}
	if p.Sandbox.Credentials == nil {
		p.Sandbox.Credentials = &Credentials{}
	}
	// The build step gets the project's own files, as the host reads them (a
	// symlink is not followed: it is refused here). Secret: what the credential
	// steps (resolve, download) see.
	for _, rel := range append([]string{gemfile}, sortedKeys(specs)...) {
		orig, err := read(rel)
		if err != nil {
			return refuse("reading %s: %v", rel, err)
		}
		secret := []byte(gen)
		if rel != gemfile {
			secret = []byte(specs[rel])
		}
		p.Sandbox.Credentials.Files = append(p.Sandbox.Credentials.Files, ConfigFile{Project: rel, Secret: secret, Public: orig})
	}
	p.Notes = append(p.Notes, "bundle: the Gemfile was evaluated offline; resolve and download read the plain Gemfile (and gemspecs) written from it")
	return nil
}

var (
	// gemVersionRE: a Gem::Version as RubyGems prints it.
	gemVersionRE = lazyre.New(`^[0-9]+(?:\.[0-9A-Za-z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)
	// gemPlatformRE: a Gem::Platform as a string ("ruby", "x86_64-linux", "java").
	gemPlatformRE = lazyre.New(`^[A-Za-z0-9_.-]{1,64}$`)
	// bundlePathRE, bundleGlobRE: a path gem's directory and gemspec glob as Ruby
	// single-quoted text may carry them.
	bundlePathRE = lazyre.New(`^[A-Za-z0-9._/+@-]{1,400}$`)
	bundleGlobRE = lazyre.New(`^[A-Za-z0-9._/*{},+@-]{1,200}$`)
)

// bundleDefaultGlob is Bundler's Source::Path::DEFAULT_GLOB.
const bundleDefaultGlob = "{,*,*/*}.gemspec"

// bundleRequirements checks requirement strings and returns them as Ruby
// arguments (none for the bare ">= 0").
func bundleRequirements(name string, reqs []string) ([]string, error) {
	var out []string
	for _, r := range reqs {
		if !gemRequirementRE().MatchString(r) {
			return nil, fmt.Errorf("gem %s: requirement %q is not a version requirement", name, r)
		}
		if r != ">= 0" || len(reqs) > 1 {
			out = append(out, "\""+r+"\"")
		}
	}
	return out, nil
}

// bundleGemspec writes the declarative gemspec of a path gem.
func bundleGemspec(sp *bundleEvalSpec) (string, error) {
	switch {
	case !gemNameRE().MatchString(sp.Name):
		return "", fmt.Errorf("path gem name %q is not a gem name", sp.Name)
	case !gemVersionRE().MatchString(sp.Version):
		return "", fmt.Errorf("path gem %s: version %q is not a version", sp.Name, sp.Version)
	case sp.Platform != "" && !gemPlatformRE().MatchString(sp.Platform):
		return "", fmt.Errorf("path gem %s: platform %q is not a platform", sp.Name, sp.Platform)
	}
	var b strings.Builder
	b.WriteString("# Written by phylum-box from what the project's gemspec declared when it was\n# evaluated offline; no Ruby from the project is in this file.\n")
	fmt.Fprintf(&b, "Gem::Specification.new do |s|\n  s.name = \"%s\"\n  s.version = \"%s\"\n", sp.Name, sp.Version)
	if sp.Platform != "" && sp.Platform != "ruby" {
		fmt.Fprintf(&b, "  s.platform = \"%s\"\n", sp.Platform)
	}
	b.WriteString("  s.summary = \"declared\"\n  s.authors = [\"declared\"]\n  s.files = []\n")
	for _, d := range sp.Dependencies {
		if !gemNameRE().MatchString(d.Name) {
			return "", fmt.Errorf("path gem %s: dependency %q is not a gem name", sp.Name, d.Name)
		}
		reqs, err := bundleRequirements(d.Name, d.Requirements)
		if err != nil {
			return "", err
		}
		kind := "add_runtime_dependency"
		if d.Type == "development" {
			kind = "add_development_dependency"
		}
		fmt.Fprintf(&b, "  s.%s %s\n", kind, strings.Join(append([]string{"\"" + d.Name + "\""}, reqs...), ", "))
	}
	b.WriteString("end\n")
	return b.String(), nil
}

// bundlePathSource checks a path source: its directory inside root, the path the
// Gemfile (in gemfileDir) names that very directory, and every file its glob
// matches a .gemspec inside it. The JSON is the project's to write: the files the
// glob matches are listed again here, on the host, and each must have been
// evaluated (one left out would be loaded, as Ruby, by the networked steps). It
// returns the Gemfile's path text and glob option, and adds a declarative
// replacement for every gemspec file to specs (project-relative path → content;
// empty for a file that declared no spec).
func bundlePathSource(s *bundleEvalSource, root, gemfileDir string, specs map[string]string) (pathOpt string, err error) {
	dir := filepath.Clean(s.Dir)
	if !filepath.IsAbs(dir) || !within(root, dir) {
		return "", fmt.Errorf("path source %q is outside the project", s.Path)
	}
	if !bundlePathRE().MatchString(s.Path) || strings.Contains("/"+s.Path+"/", "/../") {
		return "", fmt.Errorf("path source %q: phylum-box takes path gems by plain relative paths inside the project", s.Path)
	}
	named := filepath.Clean(s.Path)
	if !filepath.IsAbs(named) {
		named = filepath.Join(gemfileDir, s.Path)
	}
	if named != dir {
		return "", fmt.Errorf("path source %q is not the directory %q it was evaluated as", s.Path, s.Dir)
	}
	glob := s.Glob
	if glob == "" {
		glob = bundleDefaultGlob
	}
	matched, err := bundleGlobFiles(dir, glob)
	if err != nil {
		return "", fmt.Errorf("path source %q: %v", s.Path, err)
	}
	listed := map[string]bool{}
	for _, f := range s.Files {
		listed[filepath.Clean(f.File)] = true
	}
	for _, f := range matched {
		if !listed[f] {
			return "", fmt.Errorf("path source %q: %s matches its glob but was not evaluated", s.Path, f)
		}
	}
	pathOpt = "path: '" + s.Path + "'"
	if s.Glob != "" && s.Glob != bundleDefaultGlob {
		if !bundleGlobRE().MatchString(s.Glob) {
			return "", fmt.Errorf("path source %q: glob %q", s.Path, s.Glob)
		}
		pathOpt += ", glob: '" + s.Glob + "'"
	}
	for _, f := range s.Files {
		file := filepath.Clean(f.File)
		rel, rerr := filepath.Rel(root, file)
		if !filepath.IsAbs(file) || !within(dir, file) || rerr != nil || !strings.HasSuffix(file, ".gemspec") {
			return "", fmt.Errorf("path source %q: gemspec %q is not a .gemspec inside it", s.Path, f.File)
		}
		content := ""
		if f.Spec != nil {
			if content, err = bundleGemspec(f.Spec); err != nil {
				return "", err
			}
		}
		specs[filepath.ToSlash(rel)] = content
	}
	return pathOpt, nil
}

// bundleGlobFiles lists, on the host, every file under dir that Bundler's
// Dir.glob(glob, base: dir) could match, or more: braces are expanded and each
// alternative is matched with filepath.Glob, whose * also matches a leading dot.
// A recursive ** is refused.
func bundleGlobFiles(dir, glob string) ([]string, error) {
	if strings.Contains(glob, "**") {
		return nil, fmt.Errorf("glob %q: a recursive ** is not supported", glob)
	}
	alts, err := bundleBraces(glob, 0)
	if err != nil {
		return nil, fmt.Errorf("glob %q: %v", glob, err)
	}
	var out []string
	for _, a := range alts {
		m, err := filepath.Glob(filepath.Join(dir, a))
		if err != nil {
			return nil, fmt.Errorf("glob %q: %v", glob, err)
		}
		for _, f := range m {
			if st, err := os.Stat(f); err == nil && st.IsDir() {
				continue // Bundler skips what is not a file
			}
			out = append(out, filepath.Clean(f))
		}
	}
	return out, nil
}

// bundleBraces expands Ruby glob braces ("{,*,*/*}.gemspec", nested too).
func bundleBraces(s string, depth int) ([]string, error) {
	if depth > 8 {
		return nil, fmt.Errorf("braces nested too deeply")
	}
	open := strings.IndexByte(s, '{')
	if open < 0 {
		if strings.ContainsAny(s, "},") {
			return nil, fmt.Errorf("unbalanced braces")
		}
		return []string{s}, nil
	}
	level, close := 0, -1
	var cuts []int
	for i := open; i < len(s) && close < 0; i++ {
		switch s[i] {
		case '{':
			level++
		case '}':
			level--
			if level == 0 {
				close = i
			}
		case ',':
			if level == 1 {
				cuts = append(cuts, i)
			}
		}
	}
	if close < 0 || strings.ContainsAny(s[:open], "},") {
		return nil, fmt.Errorf("unbalanced braces")
	}
	var parts []string
	start := open + 1
	for _, c := range cuts {
		parts = append(parts, s[start:c])
		start = c + 1
	}
	parts = append(parts, s[start:close])
	var out []string
	for _, p := range parts {
		exp, err := bundleBraces(s[:open]+p+s[close+1:], depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, exp...)
		if len(out) > 256 {
			return nil, fmt.Errorf("too many alternatives")
		}
	}
	return out, nil
}

// bundleGemfile writes the declarative Gemfile of ev and the gemspecs that stand
// in for the project's, or says why it cannot. gemfileDir is the Gemfile's
// directory, against which Bundler resolves a relative path source.
func bundleGemfile(ev *bundleEvalResult, root, gemfileDir string) (string, map[string]string, error) {
	var b strings.Builder
	b.WriteString("# Written by phylum-box from what the project's Gemfile declared when it was\n# evaluated offline; no Ruby from the project is in this file.\n")
	specs := map[string]string{}
	paths := map[string]string{} // Dir → the Gemfile's path options
	for _, s := range ev.Sources {
		if s == nil {
			continue
		}
		switch s.Type {
		case "rubygems":
		case "path":
			opt, err := bundlePathSource(s, root, gemfileDir, specs)
			if err != nil {
				return "", nil, err
			}
			paths[filepath.Clean(s.Dir)] = opt
		case "git":
			return "", nil, fmt.Errorf("git source %q: Bundler loads a git gem's gemspec, Ruby from that repository, while it resolves with the network", s.URI)
		default:
			return "", nil, fmt.Errorf("source of type %q is not supported (plugin sources run plugin code)", s.Type)
		}
	}
	for _, r := range ev.GlobalRemotes {
		q, err := bundleRemote(r)
		if err != nil {
			return "", nil, err
		}
		b.WriteString("source " + q + "\n")
	}
	if rv := ev.Ruby; rv != nil {
		line, err := bundleRubyLine(rv.Versions, rv.Engine, rv.EngineVersions, rv.Patchlevel)
		if err != nil {
			return "", nil, err
		}
		b.WriteString(line)
	}
	scoped := map[string][]string{}
	var order []string
	for _, d := range ev.Dependencies {
		if !gemNameRE().MatchString(d.Name) {
			return "", nil, fmt.Errorf("gem name %q is not a gem name", d.Name)
		}
		reqs, err := bundleRequirements(d.Name, d.Requirements)
		if err != nil {
			return "", nil, err
		}
		args := append([]string{"\"" + d.Name + "\""}, reqs...)
		for _, opt := range []struct {
			key  string
			vals []string
		}{{"groups", d.Groups}, {"platforms", d.Platforms}} {
			if len(opt.vals) == 0 {
				continue
			}
			var syms []string
			for _, v := range opt.vals {
				if !bundleSymbolRE().MatchString(v) {
					return "", nil, fmt.Errorf("gem %s: %s %q is not a name", d.Name, opt.key, v)
				}
				syms = append(syms, ":"+v)
			}
			args = append(args, opt.key+": ["+strings.Join(syms, ", ")+"]")
		}
		if d.Type == "development" {
			args = append(args, "type: :development")
		}
		switch {
		case d.Source == nil:
			b.WriteString("gem " + strings.Join(args, ", ") + "\n")
		case d.Source.Type == "path":
			opt, ok := paths[filepath.Clean(d.Source.Dir)]
			if !ok {
				return "", nil, fmt.Errorf("gem %s: its path source %q is not among the Gemfile's sources", d.Name, d.Source.Path)
			}
			b.WriteString("gem " + strings.Join(append(args, opt), ", ") + "\n")
		case d.Source.Type != "rubygems":
			return "", nil, fmt.Errorf("gem %s comes from a %s source; only rubygems and path sources are supported", d.Name, d.Source.Type)
		case len(d.Source.Remotes) != 1:
			return "", nil, fmt.Errorf("gem %s: a source block with %d remotes", d.Name, len(d.Source.Remotes))
		default:
			q, err := bundleRemote(d.Source.Remotes[0])
			if err != nil {
				return "", nil, err
			}
			if _, seen := scoped[q]; !seen {
				order = append(order, q)
			}
			scoped[q] = append(scoped[q], "  gem "+strings.Join(args, ", ")+"\n")
		}
	}
	for _, q := range order {
		b.WriteString("source " + q + " do\n" + strings.Join(scoped[q], "") + "end\n")
	}
	return b.String(), specs, nil
}

// bundleRubyLine is the Gemfile's `ruby` directive, checked.
func bundleRubyLine(versions []string, engine string, engineVersions []string, patchlevel string) (string, error) {
	var args []string
	for _, v := range versions {
		if !gemRequirementRE().MatchString(v) {
			return "", fmt.Errorf("ruby version %q is not a version requirement", v)
		}
		args = append(args, "\""+v+"\"")
	}
	if len(args) == 0 {
		return "", nil
	}
	if engine != "" && engine != "ruby" {
		if !bundleSymbolRE().MatchString(engine) {
			return "", fmt.Errorf("ruby engine %q is not a name", engine)
		}
		args = append(args, "engine: \""+engine+"\"")
		var evs []string
		for _, v := range engineVersions {
			if !gemRequirementRE().MatchString(v) {
				return "", fmt.Errorf("ruby engine version %q is not a version requirement", v)
			}
			evs = append(evs, "\""+v+"\"")
		}
		if len(evs) > 0 {
			args = append(args, "engine_version: ["+strings.Join(evs, ", ")+"]")
		}
	}
	if patchlevel != "" {
		if !regexp.MustCompile(`^-?[0-9]{1,6}$`).MatchString(patchlevel) {
			return "", fmt.Errorf("ruby patchlevel %q is not a number", patchlevel)
		}
		args = append(args, "patchlevel: \""+patchlevel+"\"")
	}
	return "ruby " + strings.Join(args, ", ") + "\n", nil
}
