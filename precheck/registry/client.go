package registry

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/internal/redact"
)

// DefaultRegistry is npm's public registry.
const DefaultRegistry = "https://registry.npmjs.org/"

// Endpoint is a registry and the credentials for it. Token and Basic are secrets:
// they are sent only to this endpoint's host and never appear in errors or logs.
type Endpoint struct {
	URL   string // base URL, e.g. "https://registry.npmjs.org/"
	Token string // Bearer token (.npmrc _authToken)
	Basic string // base64 "user:password" (.npmrc _auth, username + _password)
}

// String keeps %v from printing secrets.
func (e Endpoint) String() string {
	s := e.URL
	if e.Token != "" || e.Basic != "" {
		s += " (with credentials)"
	}
	return s
}

// Client reads package metadata from an npm registry. The zero value reads the public
// registry with defaultHTTP and no cache.
type Client struct {
	Registry string // default registry URL ("" = DefaultRegistry)
	Token    string // Bearer token for Registry
	Basic    string // base64 user:password for Registry
	// Scopes maps "@scope" to the endpoint serving that scope's packages.
	Scopes map[string]Endpoint
	HTTP   *http.Client
	// CacheDir holds the per-package cache ("" = no cache). DefaultCacheDir is the
	// user's cache directory.
	CacheDir string
	// Concurrency bounds parallel requests in Lookup (0 = 16).
	Concurrency int
	// MaxBytes bounds one packument (0 = 256 MiB).
	MaxBytes int64
	// UserAgent is sent with each request ("" = "phylum-box").
	UserAgent string
	// Abbreviated reads the registry's install document (Accept:
	// application/vnd.npm.install-v1+json) instead of the full packument: a fraction
	// of the size, with the hashes and install-script flags but no publish times. For
	// callers that need no min_release_age. It has a cache of its own.
	Abbreviated bool
}

// defaultHTTP bounds a request and refuses redirects from https to http, where a
// credential for the same host would travel in clear (net/http already drops the
// Authorization header on redirects to other hosts).
var defaultHTTP = &http.Client{Timeout: 2 * time.Minute, CheckRedirect: RefuseDowngrade}

// RefuseDowngrade is an http.Client CheckRedirect policy: at most 10 redirects, never
// from https to http. Use it in a custom Client.HTTP too.
func RefuseDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("%w: stopped after 10 redirects", errRedirect)
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: refusing the redirect from %s to %s: it would drop TLS", errRedirect, via[0].URL.Host, redact.URL(req.URL.String()))
	}
	return nil
}

var errRedirect = errors.New("redirect policy")

// String describes the client without its credentials.
func (c Client) String() string {
	s := "registry.Client{" + c.endpoint("x").String()
	for _, scope := range sortedScopes(c.Scopes) {
		s += ", " + scope + ": " + c.Scopes[scope].String()
	}
	return s + "}"
}

// GoString keeps %#v from printing secrets.
func (c Client) GoString() string { return c.String() }

func sortedScopes(m map[string]Endpoint) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Version is what the precheck needs to know about one published version.
type Version struct {
	Version string `json:"-"`
	// Published is the publish time from the packument's "time" map; zero when the
	// registry does not say (a policy with min_release_age must treat it as unknown).
	Published time.Time `json:"t,omitzero"`
	// InstallScripts: the version runs code at install time (preinstall, install or
	// postinstall, or a binding.gyp that npm builds with node-gyp).
	InstallScripts bool `json:"s,omitempty"`
	// Scripts names the reasons for InstallScripts ("postinstall", "gypfile", …).
	Scripts []string `json:"r,omitempty"`
	// Integrity is the tarball's hash as the registry publishes it, in SRI form:
	// dist.integrity, and dist.shasum as "sha1-…"; "" when it gives neither.
	Integrity string `json:"i,omitempty"`
	// History places the version among the package's others (Lookup fills it;
	// not cached: it is worked out from the cached versions).
	History History `json:"-"`
}

// Packument is the metadata of one package: all its published versions.
type Packument struct {
	Name     string
	Registry string
	Versions map[string]Version
}

// NotFoundError: the registry does not have the package (or the version).
type NotFoundError struct {
	Name, Version, Registry string
}

func (e *NotFoundError) Error() string {
	if e.Version != "" {
		return fmt.Sprintf("%s@%s is not published on %s: check the version in the lockfile, or that this is the registry it came from (.npmrc registry / @scope:registry)", e.Name, e.Version, e.Registry)
	}
	return fmt.Sprintf("package %s not found on %s (HTTP 404): check the name, or configure the registry that serves it in .npmrc (registry=… or %s:registry=…)", e.Name, e.Registry, scopeOrExample(e.Name))
}

// AuthError: the registry wants (other) credentials.
type AuthError struct {
	Name, Registry string
	Status         int
}

func (e *AuthError) Error() string {
	host := e.Registry
	if u, err := url.Parse(e.Registry); err == nil {
		host = "//" + u.Host + u.Path
	}
	return fmt.Sprintf("%s refused metadata for %s (HTTP %d): add a token for it to .npmrc (%s:_authToken=${NPM_TOKEN}) or log in with `npm login --registry=%s`", e.Registry, e.Name, e.Status, host, e.Registry)
}

func scopeOrExample(name string) string {
	if scope, _, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		return scope
	}
	return "@scope"
}

// npm package names: optional @scope/, then URL-safe characters. Anything else could
// change the request path, so it is refused before any request.
var validName = lazyre.New(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-zA-Z0-9._~-][a-zA-Z0-9._~-]*$`)

func (c *Client) endpoint(name string) Endpoint {
	if scope, _, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		if ep, ok := c.Scopes[scope]; ok && ep.URL != "" {
			ep.URL = withSlash(ep.URL)
			return ep
		}
	}
	reg := c.Registry
	if reg == "" {
		reg = DefaultRegistry
	}
	return Endpoint{URL: withSlash(reg), Token: c.Token, Basic: c.Basic}
}

func withSlash(s string) string {
	if !strings.HasSuffix(s, "/") {
		return s + "/"
	}
	return s
}

// packumentURL is <registry><name>, with a scoped name's "/" escaped ("@s%2fn") as
// npm does, so registries that proxy by path see one segment.
func packumentURL(reg, name string) (string, error) {
	if !validName().MatchString(name) || strings.Contains(name, "..") {
		return "", fmt.Errorf("%q is not a valid npm package name", name)
	}
	return reg + strings.Replace(name, "/", "%2f", 1), nil
}

// packumentDoc is the part of a full packument the precheck reads.
type packumentDoc struct {
	Name     string                `json:"name"`
	Time     map[string]string     `json:"time"`
	Versions map[string]versionDoc `json:"versions"`
}

type versionDoc struct {
	Dist struct {
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
	} `json:"dist"`
	Scripts          map[string]json.RawMessage `json:"scripts"`
	Gypfile          bool                       `json:"gypfile"`
	HasInstallScript bool                       `json:"hasInstallScript"` // abbreviated documents
}

// integrity is the version's tarball hashes in SRI form.
func (d versionDoc) integrity() string {
	var out []string
	if d.Dist.Integrity != "" {
		out = append(out, d.Dist.Integrity)
	}
	if b, err := hex.DecodeString(d.Dist.Shasum); err == nil && len(b) == sha1.Size {
		out = append(out, "sha1-"+base64.StdEncoding.EncodeToString(b))
	}
	return strings.Join(out, " ")
}

var installScripts = []string{"preinstall", "install", "postinstall"}

func (d versionDoc) facts() (bool, []string) {
	var why []string
	for _, s := range installScripts {
		if raw, ok := d.Scripts[s]; ok {
			var body string
			if json.Unmarshal(raw, &body) != nil || strings.TrimSpace(body) != "" {
				why = append(why, s)
			}
		}
	}
	if d.Gypfile {
		why = append(why, "gypfile")
	}
	if len(why) == 0 && d.HasInstallScript {
		why = append(why, "hasInstallScript")
	}
	return len(why) > 0, why
}

// Versions fetches the packument of name and returns every published version.
func (c *Client) Versions(ctx context.Context, name string) (*Packument, error) {
	ep := c.endpoint(name)
	cached, _ := c.loadCache(ep.URL, name)
	p, err := c.fetch(ctx, ep, name, cached)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Version returns the facts of one version, from the cache when it has them.
func (c *Client) Version(ctx context.Context, name, version string) (Version, error) {
	res, err := c.versionsOf(ctx, name, []string{version})
	if err != nil {
		return Version{}, err
	}
	return res[0].Info, res[0].Err
}

// versionsOf answers for several versions of one package with at most one request.
func (c *Client) versionsOf(ctx context.Context, name string, versions []string) ([]Result, error) {
	ep := c.endpoint(name)
	out := make([]Result, len(versions))
	if c.loadAnswers(ep.URL, name, versions, out) {
		return out, nil
	}
	stamp, _ := c.stampOf(ep.URL, name) // before the entry is read (answers.go)
	cached, _ := c.loadCache(ep.URL, name)
	have := cached != nil
	for i, v := range versions {
		out[i].Spec = Spec{Name: name, Version: v}
		if cached != nil {
			info, ok := cached.Versions[v]
			have = have && ok
			info.Version = v
			info.History = historyOf(cached.Versions, v)
			out[i].Info = info
		}
	}
	if have {
		c.storeAnswers(ep.URL, name, stamp, out)
		return out, nil
	}
	p, err := c.fetch(ctx, ep, name, cached)
	if err != nil {
		return nil, err
	}
	for i, v := range versions {
		info, ok := p.Versions[v]
		if !ok {
			out[i].Info, out[i].Err = Version{}, &NotFoundError{Name: name, Version: v, Registry: ep.URL}
			continue
		}
		info.History = historyOf(p.Versions, v)
		out[i].Info, out[i].Err = info, nil
	}
	if stamp, ok := c.stampOf(ep.URL, name); ok {
		c.storeAnswers(ep.URL, name, stamp, out)
	}
	return out, nil
}

// Spec names one package version to look up.
type Spec struct{ Name, Version string }

// Result is the outcome of looking up one Spec.
type Result struct {
	Spec
	Info Version
	Err  error
}

// Lookup fetches the facts of many versions with bounded concurrency, one request
// per package name at most (none when the cache has every version asked for). The
// results are in the order of specs; failures are per result, never dropped.
func (c *Client) Lookup(ctx context.Context, specs []Spec) []Result {
	results := make([]Result, len(specs))
	byName := map[string][]int{}
	var names []string
	for i, s := range specs {
		results[i].Spec = s
		if _, ok := byName[s.Name]; !ok {
			names = append(names, s.Name)
		}
		byName[s.Name] = append(byName[s.Name], i)
	}
	n := c.Concurrency
	if n <= 0 {
		n = 16
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, name := range names {
		idx := byName[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				for _, i := range idx {
					results[i].Err = ctx.Err()
				}
				return
			}
			versions := make([]string, len(idx))
			for k, i := range idx {
				versions[k] = specs[i].Version
			}
			res, err := c.versionsOf(ctx, name, versions)
			for k, i := range idx {
				if err != nil {
					results[i].Err = err
				} else {
					results[i] = res[k]
				}
			}
		}()
	}
	wg.Wait()
	return results
}

func (c *Client) fetch(ctx context.Context, ep Endpoint, name string, cached *cacheEntry) (*Packument, error) {
	u, err := packumentURL(ep.URL, name)
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	var resp *http.Response
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		if c.Abbreviated {
			req.Header.Set("Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8")
		} else {
			req.Header.Set("Accept", "application/json")
		}
		req.Header.Set("User-Agent", firstNonEmpty(c.UserAgent, "phylum-box"))
		switch {
		case ep.Token != "":
			req.Header.Set("Authorization", "Bearer "+ep.Token)
		case ep.Basic != "":
			req.Header.Set("Authorization", "Basic "+ep.Basic)
		}
		if cached != nil && cached.ETag != "" {
			req.Header.Set("If-None-Match", cached.ETag)
		} else if cached != nil && cached.LastModified != "" {
			req.Header.Set("If-Modified-Since", cached.LastModified)
		}
		resp, err = hc.Do(req)
		retry := err != nil && ctx.Err() == nil && !errors.Is(err, errRedirect)
		if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
			retry = true
			resp.Body.Close()
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if !retry || attempt == 2 {
			if err != nil {
				// The URL carries no secret; the error from net/http names it.
				return nil, fmt.Errorf("fetching metadata of %s from %s: %w (check the network and the registry setting)", name, ep.URL, err)
			}
			break
		}
		select {
		case <-time.After(time.Duration(200*(attempt+1)) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && cached != nil:
		return cached.packument(name, ep.URL), nil
	case resp.StatusCode == http.StatusNotFound:
		return nil, &NotFoundError{Name: name, Registry: ep.URL}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, &AuthError{Name: name, Registry: ep.URL, Status: resp.StatusCode}
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("fetching metadata of %s from %s: HTTP %d", name, ep.URL, resp.StatusCode)
	}
	limit := c.MaxBytes
	if limit <= 0 {
		limit = 256 << 20
	}
	var doc packumentDoc
	body := io.LimitReader(resp.Body, limit+1)
	cr := &countingReader{r: body}
	if err := json.NewDecoder(cr).Decode(&doc); err != nil {
		if cr.n > limit {
			return nil, fmt.Errorf("metadata of %s from %s is larger than %d bytes", name, ep.URL, limit)
		}
		return nil, fmt.Errorf("reading metadata of %s from %s: %w", name, ep.URL, err)
	}
	if doc.Name != "" && doc.Name != name {
		return nil, fmt.Errorf("%s answered for %q with the metadata of %q", ep.URL, name, doc.Name)
	}
	p := &Packument{Name: name, Registry: ep.URL, Versions: make(map[string]Version, len(doc.Versions))}
	for v, vd := range doc.Versions {
		has, why := vd.facts()
		info := Version{Version: v, InstallScripts: has, Scripts: why, Integrity: vd.integrity()}
		if ts, ok := doc.Time[v]; ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				info.Published = t.UTC()
			}
		}
		p.Versions[v] = info
	}
	c.storeCache(ep.URL, name, p, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"))
	return p, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// SortedVersions lists p's versions by publish time, then by version string.
func (p *Packument) SortedVersions() []Version {
	out := make([]Version, 0, len(p.Versions))
	for _, v := range p.Versions {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Published.Equal(out[j].Published) {
			return out[i].Published.Before(out[j].Published)
		}
		return out[i].Version < out[j].Version
	})
	return out
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
