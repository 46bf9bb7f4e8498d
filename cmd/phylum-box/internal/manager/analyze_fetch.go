package manager

// The downloads of `phylum-box analyze pypi:|rubygems:|crates:NAME@VERSION`:
// phylum-box's own HTTP requests, on the host, to the index the user configured
// (never a project's: analyze reads no project file). The bytes are kept in
// memory and read as data; a hash the index gives is checked.

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/internal/redact"
	"github.com/phylum-box/phylum-box/managers"
	"github.com/phylum-box/phylum-box/precheck"
)

const (
	defaultPyPIIndex   = "https://pypi.org/simple/"
	defaultGemSource   = "https://rubygems.org/"
	defaultCratesIndex = "https://index.crates.io/"
	// maxIndexPage bounds an index page or a sparse index file.
	maxIndexPage = 32 << 20
)

var analyzeHTTP = &http.Client{Timeout: 5 * time.Minute}

// npmPacked says whether a gzipped tar's first entry is under npm's package/.
func npmPacked(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return false
	}
	h, err := tar.NewReader(gz).Next()
	return err == nil && (strings.HasPrefix(h.Name, "package/") || strings.HasPrefix(h.Name, "./package/"))
}

func httpGet(ctx context.Context, raw string, limit int64) ([]byte, error) {
	page, err := httpFetch(ctx, raw, "", limit)
	if err != nil {
		return nil, err
	}
	return page.body, nil
}

// fetched is a response read whole: its body, its Content-Type and the URL it
// came from (after redirects).
type fetched struct {
	body        []byte
	contentType string
	url         *url.URL
}

// httpFetch GETs raw (its user info sent as basic auth, never printed), asking
// for accept when it is not "".
func httpFetch(ctx context.Context, raw, accept string, limit int64) (fetched, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" {
		return fetched{}, fmt.Errorf("%s: only http(s) URLs are fetched", redact.URL(raw))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return fetched{}, err
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), pw)
		req.URL.User = nil
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := analyzeHTTP.Do(req)
	if err != nil {
		return fetched{}, fmt.Errorf("GET %s: %v", redact.URL(raw), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fetched{}, fmt.Errorf("GET %s: %s", redact.URL(raw), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fetched{}, fmt.Errorf("GET %s: %w", redact.URL(raw), err)
	}
	if int64(len(data)) > limit {
		return fetched{}, fmt.Errorf("GET %s: larger than %d MiB", redact.URL(raw), limit>>20)
	}
	return fetched{body: data, contentType: resp.Header.Get("Content-Type"), url: resp.Request.URL}, nil
}

func downloadArchives(ctx context.Context, job archiveJob, home, index string) ([]archiveFile, error) {
	switch job.Ecosystem {
	case precheck.PyPI:
		if index == "" {
			index = pipUserIndex(home)
		}
		return downloadPyPI(ctx, index, job.Name, job.Version)
	case precheck.RubyGems:
		if index == "" {
			index = gemUserSource(home)
		}
		u := strings.TrimRight(index, "/") + "/gems/" + url.PathEscape(job.Name+"-"+job.Version) + ".gem"
		data, err := httpGet(ctx, u, maxLocalPackage)
		if err != nil {
			return nil, err
		}
		return []archiveFile{{name: job.Name + "-" + job.Version + ".gem", data: data}}, nil
	case precheck.CratesIO:
		if index == "" {
			var err error
			if index, err = cargoUserIndex(home); err != nil {
				return nil, err
			}
		}
		return downloadCrate(ctx, index, job.Name, job.Version)
	}
	return nil, fmt.Errorf("no download for %s", job.Ecosystem)
}

// pipUserIndex is pip's index URL from the user's own settings: PIP_INDEX_URL,
// then index-url in PIP_CONFIG_FILE, ~/.config/pip/pip.conf, ~/.pip/pip.conf.
func pipUserIndex(home string) string {
	if v := strings.Fields(os.Getenv("PIP_INDEX_URL")); len(v) > 0 {
		return v[0]
	}
	files := []string{}
	if v := os.Getenv("PIP_CONFIG_FILE"); v != "" && v != os.DevNull {
		files = append(files, v)
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".config", "pip", "pip.conf"), filepath.Join(home, ".pip", "pip.conf"))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		section := ""
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "[") {
				section = strings.Trim(l, "[] ")
				continue
			}
			k, v, ok := strings.Cut(l, "=")
			if !ok || section != "global" && section != "install" && section != "download" {
				continue
			}
			if k = strings.TrimSpace(k); k == "index-url" || k == "index" || k == "i" {
				if f := strings.Fields(v); len(f) > 0 {
					return f[0]
				}
			}
		}
	}
	return defaultPyPIIndex
}

// gemUserSource is the first of ~/.gemrc's :sources:, else rubygems.org.
func gemUserSource(home string) string {
	data, err := os.ReadFile(filepath.Join(home, ".gemrc"))
	if err != nil {
		return defaultGemSource
	}
	in := false
	for _, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, ":sources:") {
			in = true
			continue
		}
		if in {
			if item, ok := strings.CutPrefix(t, "- "); ok {
				if s := strings.Trim(strings.TrimSpace(item), `"'`); strings.HasPrefix(s, "http") {
					return s
				}
				continue
			}
			break
		}
	}
	return defaultGemSource
}

// cargoUserIndex is the sparse index crates.io is replaced with in the user's
// $CARGO_HOME/config.toml, else crates.io's.
func cargoUserIndex(home string) (string, error) {
	ch := managers.CargoHome(managers.Env{Home: home, Environ: os.Environ()})
	var cfg struct {
		Source map[string]struct {
			ReplaceWith string `toml:"replace-with"`
			Registry    string `toml:"registry"`
		} `toml:"source"`
	}
	for _, n := range []string{"config.toml", "config"} {
		data, err := os.ReadFile(filepath.Join(ch, n))
		if err != nil {
			continue
		}
		if _, err := toml.Decode(string(data), &cfg); err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Join(ch, n), err)
		}
		break
	}
	name := "crates-io"
	for range 8 {
		s, ok := cfg.Source[name]
		if !ok || s.ReplaceWith == "" {
			break
		}
		name = s.ReplaceWith
	}
	if name == "crates-io" {
		return defaultCratesIndex, nil
	}
	reg := cfg.Source[name].Registry
	if u, ok := strings.CutPrefix(reg, "sparse+"); ok {
		return u, nil
	}
	return "", fmt.Errorf("crates.io is replaced by source %q (%s): analyze reads sparse registries only (pass --index URL)", name, reg)
}

// downloadPyPI fetches the release's sdist and one wheel (a pure one when there
// is one) from a simple index (PEP 691 JSON or PEP 503 HTML, read the way the
// pip plan reads it).
func downloadPyPI(ctx context.Context, index, name, version string) ([]archiveFile, error) {
	base := strings.TrimRight(index, "/") + "/" + managers.PyPINormName(name) + "/"
	page, err := httpFetch(ctx, base, managers.PyPISimpleAccept, maxIndexPage)
	if err != nil {
		return nil, err
	}
	baseURL, _ := url.Parse(base)
	var sdist, wheel *managers.PyPIFile
	for _, f := range managers.ParsePyPISimple(page.url, page.contentType, page.body) {
		n, v := nameFromFile(precheck.PyPI, f.File)
		if managers.PyPINormName(n) != managers.PyPINormName(name) || v != version {
			continue
		}
		if strings.HasSuffix(strings.ToLower(f.File), ".whl") {
			if wheel == nil || strings.HasSuffix(f.File, "-none-any.whl") && !strings.HasSuffix(wheel.File, "-none-any.whl") {
				wheel = &f
			}
		} else if archiveEcosystemName(f.File) && sdist == nil {
			sdist = &f
		}
	}
	var out []archiveFile
	for _, c := range []*managers.PyPIFile{sdist, wheel} {
		if c == nil {
			continue
		}
		u, err := url.Parse(c.URL)
		if err != nil {
			continue
		}
		if sameHost(u, baseURL) {
			u.User = baseURL.User // credentials go only to the index's own host
		}
		data, err := httpGet(ctx, u.String(), maxLocalPackage)
		if err != nil {
			return nil, err
		}
		if err := checkIndexHashes(c.Hashes, data); err != nil {
			return nil, fmt.Errorf("%s: %w", c.File, err)
		}
		out = append(out, archiveFile{name: c.File, data: data})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no sdist or wheel of %s %s", redact.URL(base), name, version)
	}
	return out, nil
}

// sameHost says whether a and b name one host and port (case and a default
// port aside).
func sameHost(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "http") {
			return "80"
		}
		return "443"
	}
	return strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// checkIndexHashes compares data with every hash the index lists for it.
func checkIndexHashes(hashes map[string]string, data []byte) error {
	for alg, want := range hashes {
		var got []byte
		switch alg {
		case "sha256":
			s := sha256.Sum256(data)
			got = s[:]
		case "sha384":
			s := sha512.Sum384(data)
			got = s[:]
		case "sha512":
			s := sha512.Sum512(data)
			got = s[:]
		default:
			continue
		}
		if hex.EncodeToString(got) != want {
			return fmt.Errorf("%s differs from the index's", alg)
		}
	}
	return nil
}

func archiveEcosystemName(file string) bool {
	l := strings.ToLower(file)
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"} {
		if strings.HasSuffix(l, ext) {
			return true
		}
	}
	return false
}

// sparsePath is a crate's file in a sparse index.
func sparsePath(name string) string {
	n := strings.ToLower(name)
	switch len(n) {
	case 1:
		return "1/" + n
	case 2:
		return "2/" + n
	case 3:
		return "3/" + n[:1] + "/" + n
	}
	return n[:2] + "/" + n[2:4] + "/" + n
}

var crateNameRE = lazyre.New(`^[A-Za-z0-9_-]{1,64}$`)

// downloadCrate fetches a crate from a sparse registry, its checksum checked
// against the index entry.
func downloadCrate(ctx context.Context, index, name, version string) ([]archiveFile, error) {
	if !crateNameRE().MatchString(name) {
		return nil, fmt.Errorf("%q is not a crate name", name)
	}
	index = strings.TrimRight(index, "/") + "/"
	cfgData, err := httpGet(ctx, index+"config.json", maxIndexPage)
	if err != nil {
		return nil, err
	}
	var cfg struct {
		DL string `json:"dl"`
	}
	if err := json.Unmarshal(cfgData, &cfg); err != nil || cfg.DL == "" {
		return nil, fmt.Errorf("%sconfig.json names no dl URL", redact.URL(index))
	}
	entries, err := httpGet(ctx, index+sparsePath(name), maxIndexPage)
	if err != nil {
		return nil, err
	}
	cksum := ""
	for _, l := range strings.Split(string(entries), "\n") {
		var e struct {
			Name  string `json:"name"`
			Vers  string `json:"vers"`
			Cksum string `json:"cksum"`
		}
		if json.Unmarshal([]byte(l), &e) == nil && e.Vers == version && strings.EqualFold(e.Name, name) {
			cksum, name = strings.ToLower(e.Cksum), e.Name
		}
	}
	if cksum == "" {
		return nil, fmt.Errorf("%s lists no version %s of %s", redact.URL(index), version, name)
	}
	dl := cfg.DL
	if !strings.Contains(dl, "{") {
		dl = strings.TrimRight(dl, "/") + "/{crate}/{version}/download"
	}
	prefix := sparsePath(name)
	prefix = prefix[:strings.LastIndex(prefix, "/")]
	dl = strings.NewReplacer("{crate}", name, "{version}", url.PathEscape(version), "{prefix}", prefix, "{lowerprefix}", strings.ToLower(prefix), "{sha256-checksum}", cksum).Replace(dl)
	data, err := httpGet(ctx, dl, maxLocalPackage)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != cksum {
		return nil, fmt.Errorf("%s-%s.crate: sha256 differs from the index's", name, version)
	}
	return []archiveFile{{name: name + "-" + version + ".crate", data: data}}, nil
}
