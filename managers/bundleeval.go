package managers

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
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
src = lambda do |s|
  case s
  when nil then nil
  when Bundler::Source::Git then {"type" => "git", "uri" => s.uri.to_s}
  when Bundler::Source::Path then {"type" => "path", "path" => s.path.to_s}
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
    {"name" => d.name.to_s, "requirements" => d.requirement.requirements.map {|op, v| "#{op} #{v}" },
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
	Path    string   `json:"path"`
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
		Requirements []string          `json:"requirements"`
		Groups       []string          `json:"groups"`
		Platforms    []string          `json:"platforms"`
		Source       *bundleEvalSource `json:"source"`
	} `json:"dependencies"`
}

var (
	// gemNameRE: what RubyGems accepts as a gem name (letters, digits, ".", "_", "-").
	gemNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	// gemRequirementRE: one Gem::Requirement clause as Bundler prints it ("~> 2.0").
	gemRequirementRE = regexp.MustCompile(`^(?:(?:=|!=|>|<|>=|<=|~>) )?[0-9]+(?:\.[0-9A-Za-z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)
	// bundleSymbolRE: a group or platform name.
	bundleSymbolRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// bundleRemote checks a rubygems source URL from the evaluated Gemfile and returns
// it as Ruby source text (single-quoted: no interpolation).
func bundleRemote(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("source %q is not a URL", raw)
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("source %q is not an http(s) URL", raw)
	case u.User != nil:
		return "", fmt.Errorf("source %q has credentials in it; put them in ~/.bundle/config (`bundle config set --global %s USER:PASS`)", u.Redacted(), u.Hostname())
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "'\\ \t\r\n\"#?") || strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r > 0x7e }):
		return "", fmt.Errorf("source %q has characters a gem source URL does not have", raw)
	}
	return "'" + raw + "'", nil
}

// bundleEvaluated reads the evaluate step's JSON, checks every value as untrusted
// input and gives the resolve and download steps a declarative Gemfile written
// from it in place of the project's (whose Ruby they never run); the build step
// keeps the project's own Gemfile.
func bundleEvaluated(p *Plan, gemfile string, out []byte, read func(string) ([]byte, error)) error {
	refuse := func(format string, a ...any) error {
		return &Refusal{Manager: "bundle", Reason: gemfile + ": " + fmt.Sprintf(format, a...)}
	}
	var ev bundleEvalResult
	dec := json.NewDecoder(strings.NewReader(string(out)))
	if err := dec.Decode(&ev); err != nil || dec.More() {
		return refuse("evaluating it did not produce the expected description (%v)", err)
	}
	gen, err := bundleGemfile(&ev)
	if err != nil {
		return &Refusal{Manager: "bundle", Reason: gemfile + ": " + err.Error(),
			Advice: "phylum-box installs gems from rubygems sources; install this project without phylum-box only if you trust it and its git/path gems"}
	}
	// The build step gets the project's own Gemfile, as the host reads it (a
	// symlink is not followed: it is refused here).
	orig, err := read(gemfile)
	if err != nil {
		return refuse("reading it: %v", err)
	}
	if p.Credentials == nil {
		p.Credentials = &Credentials{}
	}
	// Secret: what the credential steps (resolve, download) see; Public: every other.
	p.Credentials.Files = append(p.Credentials.Files, ConfigFile{Project: gemfile, Secret: []byte(gen), Public: orig})
	p.Notes = append(p.Notes, "bundle: the Gemfile was evaluated offline; resolve and download read the plain Gemfile written from it")
	return nil
}

// bundleGemfile writes the declarative Gemfile of ev, or says why it cannot.
func bundleGemfile(ev *bundleEvalResult) (string, error) {
	var b strings.Builder
	b.WriteString("# Written by phylum-box from what the project's Gemfile declared when it was\n# evaluated offline; no Ruby from the project is in this file.\n")
	if len(ev.Gemspecs) > 0 {
		return "", fmt.Errorf("`gemspec` (%s) makes Bundler load the project's .gemspec, Ruby, while it resolves with the network", strings.Join(quoteAll(ev.Gemspecs), ", "))
	}
	for _, s := range ev.Sources {
		if s == nil {
			continue
		}
		switch s.Type {
		case "rubygems":
		case "git":
			return "", fmt.Errorf("git source %q: Bundler loads a git gem's gemspec, Ruby from that repository, while it resolves with the network", s.URI)
		case "path":
			return "", fmt.Errorf("path source %q: Bundler loads a path gem's gemspec, Ruby, while it resolves with the network", s.Path)
		default:
			return "", fmt.Errorf("source of type %q is not supported (plugin sources run plugin code)", s.Type)
		}
	}
	for _, r := range ev.GlobalRemotes {
		q, err := bundleRemote(r)
		if err != nil {
			return "", err
		}
		b.WriteString("source " + q + "\n")
	}
	if rv := ev.Ruby; rv != nil {
		line, err := bundleRubyLine(rv.Versions, rv.Engine, rv.EngineVersions, rv.Patchlevel)
		if err != nil {
			return "", err
		}
		b.WriteString(line)
	}
	scoped := map[string][]string{}
	var order []string
	for _, d := range ev.Dependencies {
		if !gemNameRE.MatchString(d.Name) {
			return "", fmt.Errorf("gem name %q is not a gem name", d.Name)
		}
		args := []string{"\"" + d.Name + "\""}
		for _, r := range d.Requirements {
			if !gemRequirementRE.MatchString(r) {
				return "", fmt.Errorf("gem %s: requirement %q is not a version requirement", d.Name, r)
			}
			if r != ">= 0" || len(d.Requirements) > 1 {
				args = append(args, "\""+r+"\"")
			}
		}
		for _, opt := range []struct {
			key  string
			vals []string
		}{{"groups", d.Groups}, {"platforms", d.Platforms}} {
			if len(opt.vals) == 0 {
				continue
			}
			var syms []string
			for _, v := range opt.vals {
				if !bundleSymbolRE.MatchString(v) {
					return "", fmt.Errorf("gem %s: %s %q is not a name", d.Name, opt.key, v)
				}
				syms = append(syms, ":"+v)
			}
			args = append(args, opt.key+": ["+strings.Join(syms, ", ")+"]")
		}
		line := "gem " + strings.Join(args, ", ") + "\n"
		switch {
		case d.Source == nil:
			b.WriteString(line)
		case d.Source.Type != "rubygems":
			return "", fmt.Errorf("gem %s comes from a %s source; only rubygems sources are supported", d.Name, d.Source.Type)
		case len(d.Source.Remotes) != 1:
			return "", fmt.Errorf("gem %s: a source block with %d remotes", d.Name, len(d.Source.Remotes))
		default:
			q, err := bundleRemote(d.Source.Remotes[0])
			if err != nil {
				return "", err
			}
			if _, seen := scoped[q]; !seen {
				order = append(order, q)
			}
			scoped[q] = append(scoped[q], "  "+line)
		}
	}
	for _, q := range order {
		b.WriteString("source " + q + " do\n" + strings.Join(scoped[q], "") + "end\n")
	}
	return b.String(), nil
}

// bundleRubyLine is the Gemfile's `ruby` directive, checked.
func bundleRubyLine(versions []string, engine string, engineVersions []string, patchlevel string) (string, error) {
	var args []string
	for _, v := range versions {
		if !gemRequirementRE.MatchString(v) {
			return "", fmt.Errorf("ruby version %q is not a version requirement", v)
		}
		args = append(args, "\""+v+"\"")
	}
	if len(args) == 0 {
		return "", nil
	}
	if engine != "" && engine != "ruby" {
		if !bundleSymbolRE.MatchString(engine) {
			return "", fmt.Errorf("ruby engine %q is not a name", engine)
		}
		args = append(args, "engine: \""+engine+"\"")
		var evs []string
		for _, v := range engineVersions {
			if !gemRequirementRE.MatchString(v) {
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

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
